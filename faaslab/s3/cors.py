"""CORS: a bucket's rules (PutBucketCors), preflight `OPTIONS`, and the
`Access-Control-*` headers on requests that carry an `Origin`.

The rules are the bucket's `cors` configuration document (bucket_config.py), kept as
botocore's shape gives them (`{"CORSRules": [{"AllowedOrigins": [...], ...}]}`). A
request matches the first rule whose AllowedOrigin matches its Origin (one `*` in a
pattern matches any run of characters), whose AllowedMethod has its method (a preflight:
Access-Control-Request-Method) and, for a preflight, whose AllowedHeader patterns cover
every name in Access-Control-Request-Headers (case-insensitively) — as S3 evaluates them.
"""

from __future__ import annotations

from typing import Any

from faaslab.http.server import Response
from faaslab.s3.errors import S3Error

METHODS = ("GET", "PUT", "HEAD", "POST", "DELETE")
MAX_RULES = 100
_VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
NOT_ALLOWED = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution "
    "of Origin, request method / Access-Control-Request-Method or "
    "Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."
)

Rule = dict[str, Any]


def validate(document: dict[str, Any]) -> dict[str, Any]:
    """A parsed `<CORSConfiguration>` as S3 accepts it (MalformedXML, InvalidRequest)."""
    rules = document.get("CORSRules")
    if not isinstance(rules, list) or not rules:
        raise S3Error("MalformedXML")
    if len(rules) > MAX_RULES:
        raise S3Error("MalformedXML", f"The CORS configuration can have at most {MAX_RULES} rules")
    for rule in rules:
        if not rule.get("AllowedOrigins") or not rule.get("AllowedMethods"):
            raise S3Error("MalformedXML")
        for method in rule["AllowedMethods"]:
            if method not in METHODS:
                raise S3Error(
                    "InvalidRequest",
                    "Found unsupported HTTP method in CORS config. Unsupported method is " + method,
                )
        for origin in rule["AllowedOrigins"]:
            if origin.count("*") > 1:
                raise S3Error(
                    "InvalidRequest",
                    f'AllowedOrigin "{origin}" can not have more than one wildcard.',
                )
        for header in rule.get("AllowedHeaders", []):
            if header.count("*") > 1:
                raise S3Error(
                    "InvalidRequest",
                    f'AllowedHeader "{header}" can not have more than one wildcard.',
                )
        if "MaxAgeSeconds" in rule and rule["MaxAgeSeconds"] < 0:
            raise S3Error("MalformedXML")
        if len(rule.get("ID", "")) > 255:
            raise S3Error("InvalidArgument", "ID length should not exceed allowed limit of 255")
    return {"CORSRules": rules}


def wildcard_match(pattern: str, value: str, fold: bool = False) -> bool:
    if fold:
        pattern, value = pattern.lower(), value.lower()
    head, star, tail = pattern.partition("*")
    if not star:
        return pattern == value
    return len(value) >= len(head) + len(tail) and value.startswith(head) and value.endswith(tail)


def match(
    rules: list[Rule], origin: str, method: str, request_headers: list[str] | None = None
) -> Rule | None:
    """The first rule allowing `origin` to use `method` (and send `request_headers`)."""
    for rule in rules:
        if method not in rule.get("AllowedMethods", []):
            continue
        if not any(wildcard_match(o, origin) for o in rule.get("AllowedOrigins", [])):
            continue
        allowed = rule.get("AllowedHeaders", [])
        if request_headers and not all(
            any(wildcard_match(a, h, fold=True) for a in allowed) for h in request_headers
        ):
            continue
        return rule
    return None


def allow_headers(rule: Rule, origin: str, request_headers: list[str] | None) -> dict[str, str]:
    """The Access-Control-* headers S3 answers a matched request with."""
    wildcard = "*" in rule.get("AllowedOrigins", [])
    out = {
        "Access-Control-Allow-Origin": "*" if wildcard else origin,
        "Access-Control-Allow-Methods": ", ".join(rule["AllowedMethods"]),
        "Vary": _VARY,
    }
    if not wildcard:
        out["Access-Control-Allow-Credentials"] = "true"
    if request_headers:
        out["Access-Control-Allow-Headers"] = ", ".join(request_headers)
    if rule.get("ExposeHeaders"):
        out["Access-Control-Expose-Headers"] = ", ".join(rule["ExposeHeaders"])
    if "MaxAgeSeconds" in rule:
        out["Access-Control-Max-Age"] = str(rule["MaxAgeSeconds"])
    return out


def _requested_headers(headers: dict[str, str]) -> list[str]:
    raw = headers.get("access-control-request-headers", "")
    return [h.strip().lower() for h in raw.split(",") if h.strip()]


def preflight(config: dict[str, Any] | None, headers: dict[str, str]) -> Response:
    """S3's answer to an `OPTIONS` preflight on a bucket or object."""
    origin = headers.get("origin")
    if not origin:
        raise S3Error("BadRequest", "Insufficient information. Origin request header needed.")
    method = headers.get("access-control-request-method")
    if method not in METHODS:
        raise S3Error("BadRequest", f"Invalid Access-Control-Request-Method: {method or 'null'}")
    if config is None:
        raise S3Error("AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.")
    wanted = _requested_headers(headers)
    rule = match(config["CORSRules"], origin, method, wanted)
    if rule is None:
        raise S3Error("AccessForbidden", NOT_ALLOWED)
    return Response(200, b"", allow_headers(rule, origin, wanted))


def actual_headers(
    config: dict[str, Any] | None, method: str, headers: dict[str, str]
) -> dict[str, str]:
    """The Access-Control-* headers for a (non-preflight) request with an Origin: those
    of the first rule allowing its method (or the Access-Control-Request-Method it
    names), none if no rule does."""
    if config is None:
        return {}
    origin = headers["origin"]
    method = headers.get("access-control-request-method", method)
    rule = match(config["CORSRules"], origin, method)
    return {} if rule is None else allow_headers(rule, origin, None)
