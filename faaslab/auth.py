"""AWS Signature Version 4, checked on every AWS API request the edge serves.

A request must be signed, as `aws` and boto3 do. A key faaslab knows (the local pair
below, which functions also receive) must sign correctly; any other key is accepted as
LocalStack accepts it (`test`/`test`), unless `--strict-credentials` refuses it.
botocore computes signatures but has no verifier: this module rebuilds the canonical
request from the signed headers, the raw path and the body (checked against botocore's
own in the tests), signs it with the secret, and compares.
"""

from __future__ import annotations

import calendar
import functools
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from typing import ClassVar
from urllib.parse import quote

from botocore.utils import remove_dot_segments

from faaslab.http.server import Request, Response

LOCAL_ACCESS_KEY_ID = "AKIAFAASLABLOCAL0001"
LOCAL_SECRET_ACCESS_KEY = "faaslab/local/secret/key/0001"
MAX_SKEW_S = 15 * 60  # AWS refuses signatures more than 15 minutes off

_AUTH = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/"
    r"(?P<service>[^/,\s]+)/aws4_request,\s*SignedHeaders=(?P<headers>[^,\s]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})\s*$"
)


class AuthError(Exception):
    """A request the AWS API would refuse before looking at it (HTTP 403)."""

    error_type: ClassVar[str] = "IncompleteSignatureException"
    status: ClassVar[int] = 403

    def response(self, json_protocol: bool = False) -> Response:
        """The 403; `json_protocol` services (Secrets Manager) also name the error in the
        body's `__type`, which is where botocore looks for them."""
        body = {"message": str(self)}
        if json_protocol:
            body = {"__type": self.error_type, **body}
        return Response.json(body, self.status, {"x-amzn-ErrorType": self.error_type})


class MissingAuthenticationToken(AuthError):
    error_type = "MissingAuthenticationTokenException"


class UnrecognizedClient(AuthError):
    error_type = "UnrecognizedClientException"


class InvalidSignature(AuthError):
    error_type = "InvalidSignatureException"


class Verifier:
    """Checks SigV4 signatures against the access keys faaslab knows."""

    def __init__(
        self, keys: dict[str, str], now: Callable[[], float] = time.time, strict: bool = False
    ) -> None:
        self.keys = keys
        self.now = now
        # Not strict (the default, as LocalStack): a key faaslab does not know is accepted
        # unchecked (test/test, a real profile's key): without its secret there is nothing
        # to check the signature against. Known keys are always checked.
        self.strict = strict

    def verify(self, req: Request) -> str:
        """The access key id of a correctly signed request; AuthError otherwise."""
        header = req.headers.get("authorization")
        if not header:
            raise MissingAuthenticationToken("Missing Authentication Token")
        m = _AUTH.match(header)
        if m is None:
            raise AuthError(
                "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
                "parameters (AWS4-HMAC-SHA256)."
            )
        key = m["key"]
        secret = self.keys.get(key)
        if secret is None and not self.strict:
            return key
        if secret is None:
            known = ", ".join(sorted(self.keys))
            raise UnrecognizedClient(
                "The security token included in the request is invalid. "
                f"(faaslab accepts the access key {known}; export AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY accordingly.)"
            )
        stamp = req.headers.get("x-amz-date", "")
        try:
            signed_at = _parse_stamp(stamp)
        except ValueError:
            raise AuthError(
                "Authorization header requires existence of a 'X-Amz-Date' header."
            ) from None
        now = self.now()
        if abs(now - signed_at) > MAX_SKEW_S:
            raise InvalidSignature(
                f"Signature expired: {stamp} is now earlier than "
                f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now - MAX_SKEW_S))} "
                f"({time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now))} - 15 min.)"
            )
        names = m["headers"].split(";")
        region, service = m["region"], m["service"]
        canonical = canonical_request(
            req.method, req.path, req.query, names, req.headers, req.body, service
        )
        scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
        expected = signature(secret, scope, string_to_sign(stamp, scope, canonical))
        if not hmac.compare_digest(expected, m["signature"]):
            raise InvalidSignature(
                "The request signature we calculated does not match the signature you "
                "provided. Check your AWS Secret Access Key and signing method. Consult the "
                "service documentation for details."
            )
        return key


def canonical_request(
    method: str,
    path: str,
    query: str,
    names: list[str],
    headers: dict[str, str],
    body: bytes,
    service: str = "",
) -> str:
    """SigV4's canonical request, exactly as botocore builds it for the services faaslab
    serves (the raw path quoted once more — for S3 the raw path as it is — the raw query
    sorted, trimmed header values). Written out because botocore's version needs an
    AWSRequest and costs ~3x as much on every invoke; tests/unit/test_auth.py checks both
    give the same text. For S3 the payload hash is the x-amz-content-sha256 the client
    declared; the S3 layer checks it against the body it received."""
    uri = (path or "/") if service == "s3" else _canonical_uri(path)
    pairs = sorted(tuple(p.partition("=")[::2]) for p in query.split("&")) if query else []
    canonical_query = "&".join(f"{k}={v}" for k, v in pairs)
    signed = sorted({n.strip().lower() for n in names})
    canonical_headers = "".join(
        f"{n}:{' '.join(_header_text(headers.get(n, '')).split())}\n" for n in signed
    )
    payload = headers.get("x-amz-content-sha256") or hashlib.sha256(body).hexdigest()
    return "\n".join(
        (method.upper(), uri, canonical_query, canonical_headers, ";".join(signed), payload)
    )


def _header_text(value: str) -> str:
    """A header value as the client signed it. The server decodes header bytes as latin-1;
    botocore sends a str header value UTF-8 encoded (x-amz-meta-* with an é) and signs its
    UTF-8, so non-ASCII bytes that are valid UTF-8 are read back as UTF-8 (a client that
    sent latin-1 bytes signed their latin-1 reading, which stays as it is)."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


@functools.lru_cache(maxsize=256)
def _canonical_uri(path: str) -> str:
    """The path part of the canonical request (the same few paths come again and again)."""
    return quote(remove_dot_segments(path) if path else "/", safe="/~")


def string_to_sign(stamp: str, scope: str, canonical: str) -> str:
    """SigV4's string to sign: `scope` is DAY/REGION/SERVICE/aws4_request."""
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{digest}"


def signature(secret: str, scope: str, to_sign: str) -> str:
    """The hex SigV4 signature of `to_sign` (string_to_sign) under `scope`."""
    day, region, service, _ = scope.split("/")
    # (the signing key depends only on (secret, day, region, service): derived once a day)
    return hmac.digest(_signing_key(secret, day, region, service), to_sign.encode(), "sha256").hex()


@functools.lru_cache(maxsize=64)
def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    k = ("AWS4" + secret).encode()
    for part in (day, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


@functools.lru_cache(maxsize=64)
def _parse_stamp(stamp: str) -> int:
    """Seconds since the epoch of an X-Amz-Date (20261127T040000Z); ValueError if malformed."""
    if len(stamp) != 16 or stamp[8] != "T" or stamp[15] != "Z":
        raise ValueError(stamp)
    fields = (stamp[0:4], stamp[4:6], stamp[6:8], stamp[9:11], stamp[11:13], stamp[13:15])
    return calendar.timegm((*(int(f) for f in fields), 0, 0, 0))
