"""The web console's pure parts: who may use it (security.py), and the S3 requests it
signs for the browser (s3_view.py), checked by faaslab's own SigV4 verifier."""

from __future__ import annotations

import pytest

from faaslab.auth import LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY, Verifier
from faaslab.console import security
from faaslab.console.s3_view import request_line, sign
from faaslab.console.security import Keys, Refused
from faaslab.http.server import Request

KEYS = Keys("t0ken-of-this-instance", 4566)
COOKIE = {"cookie": f"other=1; faaslab_console_4566={KEYS.token}"}
OWN = "http://127.0.0.1:4566"


def test_the_printed_url_carries_the_token_and_the_cookie_is_strict() -> None:
    assert KEYS.url("127.0.0.1") == f"{OWN}/_console/?token={KEYS.token}"
    cookie = KEYS.set_cookie()
    assert cookie.startswith(f"faaslab_console_4566={KEYS.token};")
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/_console"):
        assert attribute in cookie
    assert Keys.generate(1).token != Keys.generate(1).token
    assert len(Keys.generate(1).token) >= 40


def test_a_session_needs_the_cookie_of_this_port() -> None:
    security.check_session(KEYS, COOKIE)
    # another local app's cookies, of shapes http.cookies refuses, do not hide ours
    odd = f'_xsrf=2|a|b|c; j={{"a": 1}}; faaslab_console_4566={KEYS.token}; x=a b'
    security.check_session(KEYS, {"cookie": odd})
    for headers in (
        {},
        {"cookie": "faaslab_console_4566=guess"},
        {"cookie": f"faaslab_console_4567={KEYS.token}"},  # another faaslab's
        {"cookie": '"unbalanced'},
    ):
        with pytest.raises(Refused, match="needs its token") as e:
            security.check_session(KEYS, headers)
        assert e.value.status == 403


def test_the_host_must_be_the_loopback_edge() -> None:
    for host in ("127.0.0.1:4566", "localhost:4566", "[::1]:4566"):
        security.check_host(KEYS, {"host": host})
    for host in ("evil.example:4566", "127.0.0.1:80", "", "bucket.localhost:4566"):
        with pytest.raises(Refused, match=r"127\.0\.0\.1:4566 only"):
            security.check_host(KEYS, {"host": host})


def test_changes_need_the_same_origin_and_the_csrf_header() -> None:
    good = {"origin": OWN, security.CSRF_HEADER: KEYS.csrf}
    security.check_same_origin(KEYS, "POST", good)
    security.check_same_origin(KEYS, "PUT", {**good, "origin": "http://localhost:4566"})
    security.check_same_origin(
        KEYS, "DELETE", {"sec-fetch-site": "same-origin", security.CSRF_HEADER: KEYS.csrf}
    )
    security.check_same_origin(KEYS, "GET", {"origin": "http://evil.example"})  # reads: cookie
    refused = [
        ({**good, "origin": "http://evil.example"}, "cross-origin"),
        ({**good, "origin": "http://127.0.0.1:4567"}, "cross-origin"),
        ({**good, "origin": "null"}, "cross-origin"),
        ({"sec-fetch-site": "cross-site", security.CSRF_HEADER: KEYS.csrf}, "cross-site"),
        ({"sec-fetch-site": "same-site", security.CSRF_HEADER: KEYS.csrf}, "cross-site"),
        ({"origin": OWN}, "CSRF"),
        ({"origin": OWN, security.CSRF_HEADER: KEYS.token}, "CSRF"),
    ]
    for headers, word in refused:
        with pytest.raises(Refused, match=word):
            security.check_same_origin(KEYS, "POST", headers)
    assert KEYS.csrf != Keys("another", 4566).csrf


@pytest.mark.parametrize(
    ("operation", "params", "line"),
    [
        ("ListBuckets", {}, ("GET", "/", "")),
        (
            "ListObjectsV2",
            {"Bucket": "b", "Prefix": "a b/", "Delimiter": "/", "MaxKeys": 500},
            ("GET", "/b", "delimiter=%2F&list-type=2&max-keys=500&prefix=a%20b%2F"),
        ),
        (
            "PutObject",
            {"Bucket": "b", "Key": "dir/naïve (1).txt"},
            ("PUT", "/b/dir/na%C3%AFve%20%281%29.txt", ""),
        ),
        ("DeleteObject", {"Bucket": "b", "Key": "k"}, ("DELETE", "/b/k", "")),
        (
            "ListObjectVersions",
            {"Bucket": "b", "Prefix": "k", "KeyMarker": "a"},
            ("GET", "/b", "key-marker=a&prefix=k&versions="),
        ),
        ("CreateBucket", {"Bucket": "new-bucket"}, ("PUT", "/new-bucket", "")),
    ],
)
def test_request_lines(
    operation: str, params: dict[str, object], line: tuple[str, str, str]
) -> None:
    assert request_line(operation, params) == line


@pytest.mark.parametrize(
    ("operation", "params", "message"),
    [
        ("GetBucketPolicy", {"Bucket": "b"}, "operation must be one of"),
        ("PutObject", {"Bucket": "b"}, "needs a Key"),
        ("ListObjectsV2", {}, "needs a Bucket"),
        ("ListObjectsV2", {"Bucket": "b", "Acl": "x"}, "no parameter Acl"),
        ("ListObjectsV2", {"Bucket": "b", "Prefix": ["x"]}, "strings or numbers"),
    ],
)
def test_request_lines_refused(operation: str, params: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        request_line(operation, params)


def test_signed_requests_pass_faaslabs_verifier() -> None:
    verifier = Verifier({LOCAL_ACCESS_KEY_ID: LOCAL_SECRET_ACCESS_KEY}, strict=True)
    for operation, params in [
        ("ListObjectsV2", {"Bucket": "b", "Prefix": "x y/", "Delimiter": "/"}),
        ("PutObject", {"Bucket": "b", "Key": "a/b c+d.txt"}),
    ]:
        method, path, query = request_line(operation, params)
        headers = {
            k.lower(): v
            for k, v in sign(method, path, query, "127.0.0.1:4566", "us-east-1").items()
        }
        headers["host"] = "127.0.0.1:4566"
        # the browser's own headers are not signed, and a body of any content is accepted
        req = Request(method, path, query, {**headers, "content-type": "text/plain"}, b"body")
        assert verifier.verify(req) == LOCAL_ACCESS_KEY_ID
        with pytest.raises(Exception, match="signature"):
            verifier.verify(Request(method, path + "x", query, headers, b""))
