"""The S3 page's API: requests signed for the browser, and objects read in process.

The page lists, uploads (with the browser's own progress events), deletes and creates
buckets by calling faaslab's S3 API itself, with a request this module signs (SigV4,
Authorization header, `UNSIGNED-PAYLOAD`: the body is the browser's) with faaslab's local
key: `sign` answers the URL, the method and the headers to send, for one of a few
operations. The URL is under the console's own origin, `/_console/s3/<S3's path>`
(`passthrough` and `sink` hand it on to the S3 API, bodies streamed to disk as the
edge's are): the console's port is not the edge's, and S3 answers another origin only as
a bucket's CORS rules allow. Downloads and previews are plain links (`object`): the
console hands a signed GET to the S3 API in process and passes its answer on (an
mmap'ed body, not copied), with `response-content-disposition` asking S3 for an
attachment. Every S3 rule (names, listings, delimiters, bodies streamed to disk, errors)
stays in `faaslab/s3/`; the console only builds request lines.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable
from typing import Any
from urllib.parse import parse_qs, quote

from faaslab.auth import (
    LOCAL_ACCESS_KEY_ID,
    LOCAL_SECRET_ACCESS_KEY,
    canonical_request,
    signature,
    string_to_sign,
)
from faaslab.console.security import CSRF_HEADER, PREFIX
from faaslab.http.server import BodySink, Request, Response
from faaslab.s3.api import S3Api

UNSIGNED = "UNSIGNED-PAYLOAD"
S3_PREFIX = PREFIX + "/s3"  # the page's S3 requests: S3's own path after it
# the console's own headers, not S3's (nor the request log's)
CONSOLE_HEADERS = frozenset({"cookie", "origin", "referer", CSRF_HEADER})
# operation -> (method, needs a bucket, needs a key, query parameters it takes: ours -> S3's)
OPERATIONS: dict[str, tuple[str, bool, bool, dict[str, str]]] = {
    "ListBuckets": ("GET", False, False, {}),
    "ListObjectsV2": (
        "GET",
        True,
        False,
        {
            "Prefix": "prefix",
            "Delimiter": "delimiter",
            "ContinuationToken": "continuation-token",
            "StartAfter": "start-after",
            "MaxKeys": "max-keys",
        },
    ),
    "ListObjectVersions": (
        "GET",
        True,
        False,
        {
            "Prefix": "prefix",
            "KeyMarker": "key-marker",
            "VersionIdMarker": "version-id-marker",
            "MaxKeys": "max-keys",
        },
    ),
    "PutObject": ("PUT", True, True, {}),
    "DeleteObject": ("DELETE", True, True, {}),
    "CreateBucket": ("PUT", True, False, {}),
}
FIXED_QUERY = {"ListObjectsV2": {"list-type": "2"}, "ListObjectVersions": {"versions": ""}}


def _q(value: str) -> str:
    return quote(value, safe="-_.~")


def sign(
    method: str, path: str, query: str, host: str, region: str, now: float | None = None
) -> dict[str, str]:
    """The headers that make `method path?query` on `host` a SigV4-signed S3 request with
    the local key, its body unsigned. `path` and `query` exactly as they will be sent."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    headers = {"host": host, "x-amz-date": stamp, "x-amz-content-sha256": UNSIGNED}
    names = sorted(headers)
    canonical = canonical_request(method, path, query, names, headers, b"", "s3")
    scope = f"{stamp[:8]}/{region}/s3/aws4_request"
    signed = signature(LOCAL_SECRET_ACCESS_KEY, scope, string_to_sign(stamp, scope, canonical))
    return {
        "Authorization": f"AWS4-HMAC-SHA256 Credential={LOCAL_ACCESS_KEY_ID}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signed}",
        "X-Amz-Date": stamp,
        "X-Amz-Content-SHA256": UNSIGNED,
    }


def request_line(operation: str, params: dict[str, Any]) -> tuple[str, str, str]:
    """(method, path, query) of an operation; ValueError naming what is wrong."""
    if operation not in OPERATIONS:
        raise ValueError(f"operation must be one of {', '.join(OPERATIONS)}")
    method, needs_bucket, needs_key, accepted = OPERATIONS[operation]
    unknown = sorted(set(params) - set(accepted) - {"Bucket", "Key"})
    if unknown:
        raise ValueError(f"{operation} takes no parameter {unknown[0]}")
    if not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in params.values()):
        raise ValueError("parameter values are strings or numbers")
    bucket, key = str(params.get("Bucket", "")), str(params.get("Key", ""))
    if needs_bucket and not bucket:
        raise ValueError(f"{operation} needs a Bucket")
    if needs_key and not key:
        raise ValueError(f"{operation} needs a Key")
    path = "/" + quote(bucket, safe="") if bucket else "/"
    if key:
        path += "/" + quote(key, safe="/~")
    pairs = dict(FIXED_QUERY.get(operation, {}))
    pairs.update({accepted[k]: str(v) for k, v in params.items() if k in accepted})
    query = "&".join(f"{_q(k)}={_q(v)}" for k, v in sorted(pairs.items()))
    return method, path, query


class S3View:
    def __init__(self, s3: S3Api, region: str) -> None:
        self.s3 = s3
        self.region = region

    def buckets(self) -> Response:
        listed = self.s3.store.list_buckets()
        return Response.json({"buckets": [{"name": n, "created": c} for n, c in listed]})

    def sign(self, host: str, body: bytes, csrf: str) -> Response:
        """`host`: the page's Host header (checked by security.check_host): signed. The
        headers to send include the CSRF value (security.check_from_script)."""
        try:
            wanted: Any = json.loads(body or b"{}")
            if not isinstance(wanted, dict) or not isinstance(wanted.get("params", {}), dict):
                raise ValueError('body: {"operation": NAME, "params": {...}}')
            method, path, query = request_line(
                str(wanted.get("operation")), wanted.get("params", {})
            )
        except (ValueError, RecursionError) as e:
            return Response.json({"message": str(e)}, 400)
        url = S3_PREFIX + path + (f"?{query}" if query else "")
        headers = sign(method, path, query, host, self.region)
        headers["X-Faaslab-Csrf"] = csrf
        return Response.json({"url": url, "method": method, "headers": headers})

    def passthrough(self, req: Request) -> Response | Awaitable[Response]:
        """A request the page sent to `/_console/s3/...` (checked by the console), as S3's
        API answers it at S3's own path; the answer inert on the console's origin."""
        answer = self.s3.handle(_as_s3(req))
        if isinstance(answer, Response):
            return _inert(answer)

        async def later() -> Response:
            return _inert(await answer)

        return later()

    def sink(self, method: str, path: str, query: str, headers: dict[str, str]) -> BodySink | None:
        """Where an upload's body goes (the S3 API's sink: streamed to disk, off the loop)."""
        return self.s3.sink(method, path[len(S3_PREFIX) :], query, _s3_headers(headers))

    def object(self, req: Request) -> Response | Awaitable[Response]:
        """GET /_console/api/s3/object?bucket=B&key=K[&version=V][&download=1]: the object
        (or that version of it), as S3's GetObject answers it (Range and conditional
        headers passed on)."""
        q = parse_qs(req.query)
        bucket, key = q.get("bucket", [""])[0], q.get("key", [""])[0]
        if not bucket or not key:
            return Response.json({"message": "bucket and key are required"}, 400)
        path = f"/{quote(bucket, safe='')}/{quote(key, safe='/~')}"
        pairs = {}
        if q.get("download"):
            name = key.rsplit("/", 1)[-1].replace('"', "")
            pairs["response-content-disposition"] = f'attachment; filename="{name}"'
        if q.get("version"):
            pairs["versionId"] = q["version"][0]
        query = "&".join(f"{_q(k)}={_q(v)}" for k, v in sorted(pairs.items()))
        host = req.headers.get("host", "")
        headers = {k.lower(): v for k, v in sign("GET", path, query, host, self.region).items()}
        headers["host"] = host
        for passed in ("range", "if-none-match", "if-modified-since"):
            if passed in req.headers:
                headers[passed] = req.headers[passed]
        answer = self.s3.handle(
            Request("GET", path, query, headers, b"", req.peer, local=req.local)
        )
        if isinstance(answer, Response):
            return _inert(answer)

        async def later() -> Response:
            return _inert(await answer)

        return later()


def _s3_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k not in CONSOLE_HEADERS}


def _as_s3(req: Request) -> Request:
    """The request as S3 sees it: its path without the console's prefix, without the
    console's headers (an `Origin` would make S3 apply the bucket's CORS rules)."""
    return Request(
        req.method,
        req.path[len(S3_PREFIX) :],
        req.query,
        _s3_headers(req.headers),
        req.body,
        req.peer,
        sink=req.sink,
        local=req.local,
    )


def _inert(resp: Response) -> Response:
    """An object served on the console's origin must not run there (an HTML object's
    script could read the console's pages): a sandboxed, opaque origin, no sniffing."""
    resp.headers["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "no-store"
    return resp
