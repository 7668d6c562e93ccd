"""Who sent an S3 request: the ways S3 accepts a request's credentials, checked.

S3 accepts more than the SigV4 `Authorization` header every other AWS API uses
(faaslab/auth.py checks that one):
  * SigV4 in the query string (a presigned URL: `X-Amz-Algorithm`, `X-Amz-Credential`,
    `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`, `X-Amz-Signature`), whose
    payload is `UNSIGNED-PAYLOAD` unless the client sent `x-amz-content-sha256`;
  * SigV2, still sent by older clients and by S3 presigners configured for it: the header
    `Authorization: AWS <key>:<signature>` or the query `AWSAccessKeyId`, `Signature`,
    `Expires` (HMAC-SHA1 over S3's "string to sign");
  * nothing at all: an anonymous request, which the bucket's policy and ACLs may allow
    (access.py decides).

As for SigV4 headers, a key faaslab knows must sign correctly, an unknown key is accepted
unchecked unless `--strict-credentials`. An expired presigned URL is refused whatever the
key: its expiry is in the URL, not behind a secret.
"""

from __future__ import annotations

import base64
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, quote, unquote, unquote_plus, urlsplit

from botocore.auth import HmacV1Auth

from faaslab.auth import _parse_stamp, canonical_request, signature, string_to_sign
from faaslab.http.server import Request
from faaslab.s3.errors import S3Error

MAX_PRESIGN_S = 7 * 24 * 3600  # X-Amz-Expires: at most a week (S3's limit)
MAX_SKEW_S = 15 * 60
UNSIGNED = "UNSIGNED-PAYLOAD"
_V2 = HmacV1Auth(None)  # for its canonical resource (the sub-resources S3 signs)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a request comes from: an access key, or nobody (anonymous)."""

    key: str | None

    @property
    def anonymous(self) -> bool:
        return self.key is None


ANONYMOUS = Caller(None)


def kind(query: str, headers: dict[str, str]) -> str | None:
    """Which of S3's own credential forms the request carries ("v4-query", "v2-header",
    "v2-query"), or None (a SigV4 header, or no credentials)."""
    auth = headers.get("authorization", "")
    if auth.startswith("AWS "):
        return "v2-header"
    if "X-Amz-Credential=" in query or "X-Amz-Signature=" in query:
        return "v4-query"
    if "AWSAccessKeyId=" in query and "Signature=" in query and "SignatureVersion" not in query:
        return "v2-query"  # (other services' SigV2 names its SignatureVersion; S3's does not)
    return None


def claimed_key(query: str, headers: dict[str, str]) -> str | None:
    """The access key a request names (not checked: for a request checked already)."""
    how = kind(query, headers)
    if how == "v2-header":
        return headers["authorization"][4:].strip().rpartition(":")[0]
    if how is not None:
        params = dict(parse_qsl(query))
        cred = params.get("X-Amz-Credential") or params.get("AWSAccessKeyId") or ""
        return cred.split("/", 1)[0]
    auth = headers.get("authorization", "")
    if not auth:
        return None
    _, _, rest = auth.partition("Credential=")
    return rest.split("/", 1)[0] or "?"


class QueryVerifier:
    """Checks presigned (query) SigV4 and SigV2 requests against faaslab's keys."""

    def __init__(self, keys: dict[str, str], now: Callable[[], float], strict: bool) -> None:
        self.keys = keys
        self.now = now
        self.strict = strict

    def _time(self) -> float:
        return self.now()

    def _secret(self, key: str) -> str | None:
        secret = self.keys.get(key)
        if secret is None and self.strict:
            raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=key)
        return secret

    def verify(self, req: Request, how: str, auth_path: str) -> Caller:
        if how == "v4-query":
            return self._v4_query(req)
        return self._v2(req, how, auth_path)

    # -- SigV4 in the query
    def _v4_query(self, req: Request) -> Caller:
        params = dict(parse_qsl(req.query, keep_blank_values=True))
        algorithm = params.get("X-Amz-Algorithm")
        if algorithm is None:
            raise S3Error(
                "AuthorizationQueryParametersError",
                "Query-string authentication version 4 requires the X-Amz-Algorithm, "
                "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
                "X-Amz-Expires parameters.",
            )
        if algorithm != "AWS4-HMAC-SHA256":
            raise S3Error(
                "AuthorizationQueryParametersError",
                'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"',
            )
        missing = [
            p
            for p in ("X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders")
            if p not in params
        ]
        if missing:
            raise S3Error(
                "AuthorizationQueryParametersError",
                "Query-string authentication version 4 requires the X-Amz-Algorithm, "
                "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
                "X-Amz-Expires parameters.",
            )
        cred = params["X-Amz-Credential"].split("/")
        if len(cred) != 5 or cred[4] != "aws4_request":
            raise S3Error(
                "AuthorizationQueryParametersError",
                "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
                'expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
            )
        key, day, region, service = cred[:4]
        stamp = params["X-Amz-Date"]
        try:
            signed_at = _parse_stamp(stamp)
        except ValueError:
            raise S3Error(
                "AuthorizationQueryParametersError",
                "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
            ) from None
        raw_expires = params.get("X-Amz-Expires", "")
        if raw_expires.startswith("-") and raw_expires[1:].isdigit():
            raise S3Error("AuthorizationQueryParametersError", "X-Amz-Expires must be non-negative")
        if not raw_expires.isdigit():
            raise S3Error(
                "AuthorizationQueryParametersError",
                "X-Amz-Expires should be a number",
            )
        expires = int(raw_expires)
        if expires > MAX_PRESIGN_S:
            raise S3Error(
                "AuthorizationQueryParametersError",
                "X-Amz-Expires must be less than a week (in seconds) that is; 604800",
            )
        now = self._time()
        if signed_at - now > MAX_SKEW_S:
            raise S3Error("AccessDenied", "Request is not valid yet")
        if now > signed_at + expires:
            raise S3Error(
                "AccessDenied",
                "Request has expired",
                **{
                    "X-Amz-Expires": raw_expires,
                    "Expires": _iso(signed_at + expires),
                    "ServerTime": _iso(now),
                },
            )
        secret = self._secret(key)
        if secret is None:
            return Caller(key)
        names = unquote(params["X-Amz-SignedHeaders"]).split(";")
        query = "&".join(
            p for p in req.query.split("&") if p and not p.startswith("X-Amz-Signature=")
        )
        headers = dict(req.headers)
        headers.setdefault("x-amz-content-sha256", UNSIGNED)
        scope = f"{day}/{region}/{service}/aws4_request"
        # The query as the client sent it (botocore signs it so), then in SigV4's own
        # normal form (each name and value percent-encoded once, RFC 3986), which SDKs
        # that encode the URL differently (a space as `+`) sign instead.
        for q in dict.fromkeys((query, _normal_query(query))):
            canonical = canonical_request(req.method, req.path, q, names, headers, b"", "s3")
            to_sign = string_to_sign(stamp, scope, canonical)
            if hmac.compare_digest(signature(secret, scope, to_sign), params["X-Amz-Signature"]):
                return Caller(key)
        raise S3Error("SignatureDoesNotMatch", AWSAccessKeyId=key, StringToSign=to_sign)

    # -- SigV2 (header or query)
    def _v2(self, req: Request, how: str, auth_path: str) -> Caller:
        h = req.headers
        if how == "v2-header":
            cred = h["authorization"][4:].strip()
            key, sep, signature = cred.rpartition(":")
            if not sep or not key:
                raise S3Error(
                    "InvalidArgument",
                    "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
                    ArgumentName="Authorization",
                    ArgumentValue=h["authorization"],
                )
            date = h.get("x-amz-date") or h.get("date", "")
            when = _http_time(date)
            if when is None:
                raise S3Error(
                    "AccessDenied",
                    "AWS authentication requires a valid Date or x-amz-date header",
                )
            if abs(self._time() - when) > MAX_SKEW_S:
                raise S3Error(
                    "RequestTimeTooSkewed",
                    RequestTime=date,
                    ServerTime=_iso(self._time()),
                    MaxAllowedSkewMilliseconds=str(MAX_SKEW_S * 1000),
                )
            # with x-amz-date present S3 signs an empty Date line; botocore signs Date's
            dates = [h.get("date", ""), ""] if "x-amz-date" in h else [h.get("date", "")]
        else:
            params = dict(parse_qsl(req.query, keep_blank_values=True))
            key, signature = params.get("AWSAccessKeyId", ""), params.get("Signature", "")
            raw = params.get("Expires", "")
            if not raw.isdigit():
                raise S3Error(
                    "AccessDenied",
                    "Query-string authentication requires the "
                    "Signature, Expires and AWSAccessKeyId parameters",
                )
            if self._time() > int(raw):
                raise S3Error(
                    "AccessDenied",
                    "Request has expired",
                    Expires=_iso(int(raw)),
                    ServerTime=_iso(self._time()),
                )
            dates = [raw]
        secret = self._secret(key)
        if secret is None:
            return Caller(key)
        resource = _V2.canonical_resource(urlsplit(f"{auth_path}?{req.query}"), auth_path)
        amz = _amz_headers(h)
        for date in dates:
            lines = [req.method.upper(), h.get("content-md5", ""), h.get("content-type", ""), date]
            string_to_sign = "\n".join(lines + amz + [resource])
            mac = hmac.digest(secret.encode(), string_to_sign.encode(), "sha1")
            if hmac.compare_digest(base64.b64encode(mac).decode(), signature):
                return Caller(key)
        raise S3Error("SignatureDoesNotMatch", AWSAccessKeyId=key)


def _normal_query(query: str) -> str:
    pairs = [p.partition("=") for p in query.split("&") if p]
    return "&".join(
        f"{quote(unquote_plus(k), safe='-_.~')}={quote(unquote_plus(v), safe='-_.~')}"
        for k, _, v in pairs
    )


def _amz_headers(h: dict[str, str]) -> list[str]:
    return [f"{k}:{h[k].strip()}" for k in sorted(h) if k.startswith("x-amz-")]


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _http_time(value: str) -> float | None:
    """An HTTP date (RFC 1123), or SigV4's basic ISO 8601 some SigV2 clients put in
    x-amz-date; None if neither."""
    if not value:
        return None
    try:
        return float(_parse_stamp(value))
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
