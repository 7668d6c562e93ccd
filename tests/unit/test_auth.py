"""SigV4 checking: requests signed by botocore (as boto3 and the aws CLI sign them)."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from faaslab.auth import (
    LOCAL_ACCESS_KEY_ID,
    LOCAL_SECRET_ACCESS_KEY,
    AuthError,
    InvalidSignature,
    MissingAuthenticationToken,
    UnrecognizedClient,
    Verifier,
)
from faaslab.http.server import Request

KEYS = {LOCAL_ACCESS_KEY_ID: LOCAL_SECRET_ACCESS_KEY}
BASE = "http://127.0.0.1:4566"


def signed(
    path: str,
    body: bytes = b'{"k": 1}',
    key: str = LOCAL_ACCESS_KEY_ID,
    secret: str = LOCAL_SECRET_ACCESS_KEY,
    token: str | None = None,
) -> Request:
    """A wire-level Request carrying exactly what botocore would send."""
    req = AWSRequest("POST", BASE + path, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(key, secret, token), "lambda", "us-east-1").add_auth(req)
    prepared = req.prepare()
    url = urlsplit(prepared.url)
    headers = {k.lower(): v for k, v in prepared.headers.items()}
    headers.setdefault("host", url.netloc)
    return Request("POST", url.path, url.query, headers, prepared.body or b"")


@pytest.mark.parametrize(
    "path",
    [
        "/2015-03-31/functions/echo/invocations",
        "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aecho/invocations",
        "/2015-03-31/functions/echo/invocations?Qualifier=%24LATEST",
    ],
)
def test_botocore_signatures_verify(path: str) -> None:
    assert Verifier(KEYS).verify(signed(path)) == LOCAL_ACCESS_KEY_ID


def test_session_token_is_part_of_the_signature() -> None:
    req = signed("/2015-03-31/functions/echo/invocations", token="session-token")
    assert req.headers["x-amz-security-token"] == "session-token"
    Verifier(KEYS).verify(req)
    req.headers["x-amz-security-token"] = "another"
    with pytest.raises(InvalidSignature):
        Verifier(KEYS).verify(req)


def test_tampered_body_or_path_is_refused() -> None:
    req = signed("/2015-03-31/functions/echo/invocations")
    req.body = b'{"k": 2}'
    with pytest.raises(InvalidSignature, match="does not match"):
        Verifier(KEYS).verify(req)
    req = signed("/2015-03-31/functions/echo/invocations")
    req.path = "/2015-03-31/functions/other/invocations"
    with pytest.raises(InvalidSignature):
        Verifier(KEYS).verify(req)


def test_wrong_secret_unknown_key_and_no_signature() -> None:
    with pytest.raises(InvalidSignature):
        Verifier(KEYS).verify(signed("/x", secret="not-the-secret"))
    with pytest.raises(UnrecognizedClient, match=LOCAL_ACCESS_KEY_ID):
        Verifier(KEYS, strict=True).verify(signed("/x", key="AKIAREALAWSKEY000000"))
    # not strict (the default): another key is accepted, as LocalStack accepts test/test
    assert Verifier(KEYS).verify(signed("/x", key="test", secret="test")) == "test"
    with pytest.raises(MissingAuthenticationToken):
        Verifier(KEYS).verify(Request("POST", "/x", "", {}, b""))
    with pytest.raises(AuthError):
        Verifier(KEYS).verify(Request("POST", "/x", "", {"authorization": "Basic Zm9v"}, b""))


def test_expired_signature() -> None:
    req = signed("/2015-03-31/functions/echo/invocations")
    later = Verifier(KEYS, now=lambda: time.time() + 16 * 60)
    with pytest.raises(InvalidSignature, match="Signature expired"):
        later.verify(req)
    Verifier(KEYS, now=lambda: time.time() + 14 * 60).verify(req)


def test_errors_carry_the_aws_error_type() -> None:
    resp = UnrecognizedClient("nope").response()
    assert resp.status == 403
    assert resp.headers["x-amzn-ErrorType"] == "UnrecognizedClientException"


@pytest.mark.parametrize(
    ("path", "query", "headers"),
    [
        ("/2015-03-31/functions/echo/invocations", "", {}),
        (
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Ae/invocations",
            "Qualifier=%24LATEST",
            {},
        ),
        ("/a/./b/../c", "b=2&a=1&a=0&flag", {"x-amz-meta-note": "  two   spaces  "}),
        ("/", "", {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}),
    ],
)
def test_canonical_request_matches_botocore(path: str, query: str, headers: dict[str, str]) -> None:
    from faaslab.auth import canonical_request

    body = b'{"k": 1}'
    all_headers = {"host": "127.0.0.1:4566", "x-amz-date": "20261127T040000Z", **headers}
    url = BASE + path + (f"?{query}" if query else "")
    req = AWSRequest("POST", url, data=body, headers=all_headers)
    req.context["timestamp"] = "20261127T040000Z"
    theirs = SigV4Auth(Credentials("k", "s"), "lambda", "us-east-1").canonical_request(req)
    ours = canonical_request("POST", path, query, list(all_headers), all_headers, body)
    assert ours == theirs


@pytest.mark.parametrize("value", ["Hello World\xe9", "à\xa0b", "日本 語"])
def test_non_ascii_header_verifies_as_botocore_sends_it(value: str) -> None:
    """botocore signs a str header value's UTF-8 and sends those bytes; the server reads
    header bytes as latin-1. The canonical request must see the UTF-8 text again (à is
    C3 A0: read as latin-1 its A0 would be whitespace to str.split)."""
    req = AWSRequest(
        "PUT", BASE + "/b/k", data=b"x", headers={"x-amz-meta-note": value, "Host": "h"}
    )
    SigV4Auth(
        Credentials(LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY), "s3", "us-east-1"
    ).add_auth(req)
    prepared = req.prepare()
    wire = {  # what the HTTP server hands over: botocore's UTF-8 bytes, decoded as latin-1
        k.lower(): (v.encode() if isinstance(v, str) else v).decode("latin-1")
        for k, v in prepared.headers.items()
    }
    request = Request("PUT", "/b/k", "", wire, b"x")
    assert Verifier(KEYS).verify(request) == LOCAL_ACCESS_KEY_ID
