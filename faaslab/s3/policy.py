"""Bucket policies: parsing (S3's MalformedPolicy checks) and evaluation, without I/O.

A policy is a list of statements; a request is described by a `Context` (who, which
action, which resource ARN, the condition keys the request has). `Policy.evaluate` says
"Deny" if any statement with Effect Deny matches (an explicit deny beats every allow),
else "Allow" if an Allow statement matches, else None (the policy says nothing: ACLs and
ownership decide, access.py). A statement matches when its principal, action and resource
match and all of its conditions hold (operators AND, keys AND, values OR, as IAM does).
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from faaslab.s3.errors import S3Error

VERSIONS = ("2008-10-17", "2012-10-17")
ARN_PREFIX = "arn:aws:s3:::"


@dataclass(frozen=True, slots=True)
class Context:
    """What a policy is asked about. `principals`: the identities the caller has
    (empty for an anonymous request: only Principal "*" matches it)."""

    action: str  # "s3:GetObject"
    resource: str  # "arn:aws:s3:::bucket/key"
    principals: frozenset[str] = frozenset()
    keys: dict[str, list[str]] = field(default_factory=dict)  # aws:SourceIp -> ["127.0.0.1"]


@dataclass(frozen=True, slots=True)
class Statement:
    effect: str
    principals: tuple[str, ...] | None  # None: NotPrincipal is used instead
    not_principals: tuple[str, ...] | None
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    conditions: tuple[tuple[str, str, tuple[str, ...]], ...]  # (operator, key, values)

    def matches(self, ctx: Context) -> bool:
        if self.principals is not None and not _principal_in(self.principals, ctx):
            return False
        if self.not_principals is not None and _principal_in(self.not_principals, ctx):
            return False
        if self.actions is not None and not _any_like(self.actions, ctx.action, fold=True):
            return False
        if self.not_actions is not None and _any_like(self.not_actions, ctx.action, fold=True):
            return False
        if self.resources is not None and not _any_like(self.resources, ctx.resource):
            return False
        if self.not_resources is not None and _any_like(self.not_resources, ctx.resource):
            return False
        return all(_condition(op, key, values, ctx) for op, key, values in self.conditions)

    @property
    def public(self) -> bool:
        """An Allow to everyone that no fixed-value condition narrows (S3's "public")."""
        if self.effect != "Allow" or self.principals is None or "*" not in self.principals:
            return False
        return not any(key.lower() in _NARROWING_KEYS for _, key, _ in self.conditions)


@dataclass(frozen=True, slots=True)
class Policy:
    statements: tuple[Statement, ...]
    text: str

    def evaluate(self, ctx: Context) -> str | None:
        verdict = None
        for s in self.statements:
            if s.matches(ctx):
                if s.effect == "Deny":
                    return "Deny"
                verdict = "Allow"
        return verdict

    @property
    def public(self) -> bool:
        return any(s.public for s in self.statements)


# -- parsing
def parse(text: str | bytes, bucket: str) -> Policy:
    """A bucket policy as PutBucketPolicy receives it; S3Error MalformedPolicy otherwise."""
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    try:
        doc = json.loads(raw)
    except ValueError:
        raise S3Error("MalformedPolicy") from None
    if not isinstance(doc, dict):
        raise S3Error("MalformedPolicy")
    version = doc.get("Version")
    if version is not None and version not in VERSIONS:
        raise _malformed(f"Document is invalid: Invalid Version {version}")
    if "Statement" not in doc:
        raise _malformed("Missing required field Statement")
    raw_statements = doc["Statement"]
    if isinstance(raw_statements, dict):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list) or not raw_statements:
        raise _malformed("Missing required field Statement")
    return Policy(tuple(_statement(s, bucket) for s in raw_statements), raw)


def _malformed(message: str) -> S3Error:
    return S3Error("MalformedPolicy", message)


def _statement(s: Any, bucket: str) -> Statement:
    if not isinstance(s, dict):
        raise _malformed("Statement is not an object")
    effect = s.get("Effect")
    if effect is None:
        raise _malformed("Missing required field Effect")
    if effect not in ("Allow", "Deny"):
        raise _malformed(f"Invalid effect: {effect}")
    if "Principal" not in s and "NotPrincipal" not in s:
        raise _malformed("Missing required field Principal")
    principals = _principals(s["Principal"]) if "Principal" in s else None
    not_principals = _principals(s["NotPrincipal"]) if "NotPrincipal" in s else None
    if not_principals is not None and effect == "Allow":
        # AWS: NotPrincipal only with Effect Deny
        raise _malformed("Invalid principal in policy")
    if "Action" not in s and "NotAction" not in s:
        raise _malformed("Missing required field Action")
    actions = _strings(s["Action"], "Action") if "Action" in s else None
    not_actions = _strings(s["NotAction"], "NotAction") if "NotAction" in s else None
    for a in (actions or ()) + (not_actions or ()):
        if a != "*" and not a.lower().startswith("s3:"):
            raise _malformed("Policy has invalid action")
    if "Resource" not in s and "NotResource" not in s:
        raise _malformed("Missing required field Resource")
    resources = _strings(s["Resource"], "Resource") if "Resource" in s else None
    not_resources = _strings(s["NotResource"], "NotResource") if "NotResource" in s else None
    for r in (resources or ()) + (not_resources or ()):
        if not _resource_ok(r, bucket):
            raise _malformed("Policy has invalid resource")
    return Statement(
        effect,
        principals,
        not_principals,
        actions,
        not_actions,
        resources,
        not_resources,
        _conditions(s.get("Condition", {})),
    )


def _strings(value: Any, name: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        raise _malformed(f"Invalid {name}")
    return tuple(items)


def _principals(value: Any) -> tuple[str, ...]:
    """Principal "*", {"AWS": ...}, {"CanonicalUser": ...}, {"Service": ...} as a flat
    tuple of identities ("*" for everyone)."""
    if value == "*":
        return ("*",)
    if not isinstance(value, dict) or not value:
        raise _malformed("Invalid principal in policy")
    out: list[str] = []
    for kind, ids in value.items():
        if kind not in ("AWS", "CanonicalUser", "Service", "Federated"):
            raise _malformed("Invalid principal in policy")
        out += _strings(ids, "principal")
    return tuple(out)


def _resource_ok(pattern: str, bucket: str) -> bool:
    if pattern == "*":
        return True
    if not pattern.startswith(ARN_PREFIX):
        return False
    named = pattern[len(ARN_PREFIX) :].split("/", 1)[0]
    return bool(_like(named, bucket))


_OPERATORS = (
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
)


def _conditions(block: Any) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    if not isinstance(block, dict):
        raise _malformed("Invalid Condition block")
    out = []
    for op, keys in block.items():
        base = op.split(":", 1)[-1].removesuffix("IfExists")
        if base not in _OPERATORS or (":" in op and op.split(":")[0] not in _SET_OPERATORS):
            raise _malformed(f"Invalid Condition type : {op}")
        if not isinstance(keys, dict):
            raise _malformed(f"Invalid Condition block for {op}")
        for key, values in keys.items():
            vals = [values] if not isinstance(values, list) else values
            texts = tuple(
                ("true" if v else "false") if isinstance(v, bool) else str(v) for v in vals
            )
            if base in ("IpAddress", "NotIpAddress"):
                for t in texts:
                    try:
                        ipaddress.ip_network(t, strict=False)
                    except ValueError:
                        raise _malformed(f"Invalid IP address or range: {t}") from None
            out.append((op, key, texts))
    return tuple(out)


_SET_OPERATORS = ("ForAnyValue", "ForAllValues")

# Condition keys whose fixed values make an Allow-to-everyone non-public (S3's rule).
_NARROWING_KEYS = frozenset(
    k.lower()
    for k in (
        "aws:SourceIp",
        "aws:SourceArn",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:SourceAccount",
        "aws:SourceOwner",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:PrincipalOrgID",
        "aws:userid",
        "s3:DataAccessPointArn",
        "s3:DataAccessPointAccount",
    )
)


# -- evaluation
def _principal_in(principals: tuple[str, ...], ctx: Context) -> bool:
    return "*" in principals or any(p in ctx.principals for p in principals)


@functools.lru_cache(maxsize=1024)
def _pattern(pattern: str, fold: bool) -> re.Pattern[str]:
    """IAM's wildcards: `*` any run of characters, `?` one character, nothing else."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if fold else 0))


def _like(pattern: str, value: str, fold: bool = False) -> bool:
    return _pattern(pattern, fold).fullmatch(value) is not None


def _any_like(patterns: tuple[str, ...], value: str, fold: bool = False) -> bool:
    return any(_like(p, value, fold) for p in patterns)


def _condition(op: str, key: str, wanted: tuple[str, ...], ctx: Context) -> bool:
    qualifier, _, base = op.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    have = _lookup(ctx.keys, key)
    if base == "Null":
        return (have is None) == (wanted[0].lower() == "true")
    negated = "Not" in base
    if have is None:
        return if_exists or negated
    test = _TESTS[base.replace("Not", "")]
    if qualifier == "ForAllValues":
        return all(_matches_one(test, v, wanted, negated) for v in have)
    return any(_matches_one(test, v, wanted, negated) for v in have)


def _lookup(keys: dict[str, list[str]], key: str) -> list[str] | None:
    if key in keys:
        return keys[key]
    low = key.lower()
    for k, v in keys.items():
        if k.lower() == low:
            return v
    return None


def _matches_one(
    test: Callable[[str, str], bool], value: str, wanted: tuple[str, ...], negated: bool
) -> bool:
    hit = any(_safe(test, value, w) for w in wanted)
    return not hit if negated else hit


def _safe(test: Callable[[str, str], bool], value: str, wanted: str) -> bool:
    try:
        return test(value, wanted)
    except ValueError:
        return False


def _number(cmp: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    return lambda v, w: cmp(float(v), float(w))


def _date(cmp: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    return lambda v, w: cmp(_epoch(v), _epoch(w))


def _epoch(text: str) -> float:
    if text.isdigit():
        return float(text)
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _ip(value: str, wanted: str) -> bool:
    return ipaddress.ip_address(value) in ipaddress.ip_network(wanted, strict=False)


def _arn_like(value: str, wanted: str) -> bool:
    return _like(wanted, value)


_TESTS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda v, w: v == w,
    "StringEqualsIgnoreCase": lambda v, w: v.lower() == w.lower(),
    "StringLike": lambda v, w: _like(w, v),
    "NumericEquals": _number(lambda a, b: a == b),
    "NumericLessThan": _number(lambda a, b: a < b),
    "NumericLessThanEquals": _number(lambda a, b: a <= b),
    "NumericGreaterThan": _number(lambda a, b: a > b),
    "NumericGreaterThanEquals": _number(lambda a, b: a >= b),
    "DateEquals": _date(lambda a, b: a == b),
    "DateLessThan": _date(lambda a, b: a < b),
    "DateLessThanEquals": _date(lambda a, b: a <= b),
    "DateGreaterThan": _date(lambda a, b: a > b),
    "DateGreaterThanEquals": _date(lambda a, b: a >= b),
    "Bool": lambda v, w: v.lower() == w.lower(),
    "BinaryEquals": lambda v, w: v == w,
    "IpAddress": _ip,
    "ArnEquals": lambda v, w: v == w,
    "ArnLike": _arn_like,
}
