"""S3's own credential forms (faaslab/s3/sigauth.py), checked against botocore's signers
with an injected clock: presigned SigV4, SigV2 header and query."""

from __future__ import annotations

import datetime as dt
from unittest import mock
from urllib.parse import urlsplit

import pytest
from botocore.auth import HmacV1Auth, HmacV1QueryAuth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from faaslab.http.server import Request
from faaslab.s3.errors import S3Error
from faaslab.s3.sigauth import QueryVerifier, kind

KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
T0 = 1_796_000_000.0  # when the requests are signed
CREDS = Credentials(KEY, SECRET)


def as_request(aws: AWSRequest, method: str = "GET") -> Request:
    url = urlsplit(aws.url)
    headers = {k.lower(): str(v) for k, v in aws.headers.items()}
    headers["host"] = url.netloc
    return Request(method, url.path, url.query, headers, b"")


def presigned(method: str = "GET", path: str = "/b/k", expires: int = 60) -> Request:
    aws = AWSRequest(method, f"http://127.0.0.1:4566{path}", headers={})
    when = dt.datetime.fromtimestamp(T0, dt.UTC).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        S3SigV4QueryAuth(CREDS, "s3", "us-east-1", expires=expires).add_auth(aws)
    return as_request(aws, method)


def verifier(now: float = T0, strict: bool = False) -> QueryVerifier:
    return QueryVerifier({KEY: SECRET}, lambda: now, strict)


def test_presigned_v4_is_checked_and_expires() -> None:
    req = presigned()
    assert kind(req.query, req.headers) == "v4-query"
    assert verifier().verify(req, "v4-query", req.path).key == KEY
    assert verifier(T0 + 60).verify(req, "v4-query", req.path).key == KEY
    with pytest.raises(S3Error) as e:
        verifier(T0 + 61).verify(req, "v4-query", req.path)
    assert (e.value.code, e.value.message) == ("AccessDenied", "Request has expired")
    other = Request("GET", "/b/other", req.query, req.headers, b"")
    with pytest.raises(S3Error) as e:
        verifier().verify(other, "v4-query", other.path)
    assert e.value.code == "SignatureDoesNotMatch"
    with pytest.raises(S3Error) as e:
        QueryVerifier({KEY: "wrong"}, lambda: T0, False).verify(req, "v4-query", req.path)
    assert e.value.code == "SignatureDoesNotMatch"
    # an unknown key: accepted unchecked, unless strict
    unknown = QueryVerifier({}, lambda: T0, False)
    assert unknown.verify(req, "v4-query", req.path).key == KEY
    with pytest.raises(S3Error) as e:
        QueryVerifier({}, lambda: T0, True).verify(req, "v4-query", req.path)
    assert e.value.code == "InvalidAccessKeyId"


def test_presigned_v4_limits() -> None:
    with pytest.raises(S3Error) as e:
        verifier().verify(presigned(expires=604801), "v4-query", "/b/k")
    assert e.value.code == "AuthorizationQueryParametersError"
    with pytest.raises(S3Error) as e:
        verifier(T0 - 3600).verify(presigned(), "v4-query", "/b/k")
    assert (e.value.code, e.value.message) == ("AccessDenied", "Request is not valid yet")


def test_sigv2_header() -> None:
    aws = AWSRequest("PUT", "http://127.0.0.1:4566/b/k?acl", headers={"Content-Type": "text/plain"})
    aws.headers["x-amz-meta-a"] = "b"
    HmacV1Auth(CREDS).add_auth(aws)
    req = as_request(aws, "PUT")
    now = dt.datetime.strptime(req.headers["date"], "%a, %d %b %Y %H:%M:%S GMT")
    t = now.replace(tzinfo=dt.UTC).timestamp()
    assert kind(req.query, req.headers) == "v2-header"
    assert verifier(t).verify(req, "v2-header", "/b/k").key == KEY
    changed = Request("PUT", req.path, req.query, {**req.headers, "x-amz-meta-a": "c"}, b"")
    with pytest.raises(S3Error) as e:
        verifier(t).verify(changed, "v2-header", "/b/k")
    assert e.value.code == "SignatureDoesNotMatch"
    with pytest.raises(S3Error) as e:
        verifier(t + 3600).verify(req, "v2-header", "/b/k")
    assert e.value.code == "RequestTimeTooSkewed"


def test_sigv2_query() -> None:
    aws = AWSRequest("GET", "http://127.0.0.1:4566/b/k", headers={})
    with mock.patch("time.time", return_value=T0):
        HmacV1QueryAuth(CREDS, expires=60).add_auth(aws)
    req = as_request(aws)
    assert kind(req.query, req.headers) == "v2-query"
    assert verifier().verify(req, "v2-query", "/b/k").key == KEY
    with pytest.raises(S3Error) as e:
        verifier(T0 + 61).verify(req, "v2-query", "/b/k")
    assert (e.value.code, e.value.message) == ("AccessDenied", "Request has expired")
    # other services' SigV2 (query APIs) names its version: not S3's
    assert kind("AWSAccessKeyId=a&Signature=b&SignatureVersion=2", {}) is None


def test_presigned_v4_query_in_another_encoding() -> None:
    """A client that sends a space as `+` but signed SigV4's normal form (%20)."""
    req = presigned(path="/b/k?response-content-type=text%2Fplain%3B%20charset")
    assert "%20" in req.query
    plus = Request("GET", req.path, req.query.replace("%20", "+"), req.headers, b"")
    assert verifier().verify(plus, "v4-query", plus.path).key == KEY
    other = Request("GET", req.path, req.query.replace("%20", "+x"), req.headers, b"")
    with pytest.raises(S3Error):
        verifier().verify(other, "v4-query", other.path)
