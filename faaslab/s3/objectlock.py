"""S3 Object Lock: a bucket's lock configuration, and each version's retention and legal
hold, and what they forbid (pure rules; the store keeps them, api.py calls them).

A bucket gets Object Lock when it is created with `x-amz-bucket-object-lock-enabled:
true` (versioning is then Enabled for good), or by PutObjectLockConfiguration on a bucket
whose versioning is Enabled. A version's lock (`ObjectInfo.lock`) is a dict with `Mode`
(GOVERNANCE | COMPLIANCE) and `RetainUntilDate` (ISO 8601, UTC) and/or `LegalHold`
(ON | OFF). While a retention date is in the future, or the legal hold is ON, the version
cannot be deleted for good (DELETE ?versionId): AccessDenied, except GOVERNANCE
retention with `x-amz-bypass-governance-retention: true`. A delete without a version id
only adds a delete marker, which any lock allows. COMPLIANCE retention can only be
extended; GOVERNANCE retention can be shortened or its mode changed with the bypass.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any
from xml.etree import ElementTree

from faaslab.awsapi import models
from faaslab.awsapi.wire_in import from_xml_element
from faaslab.awsapi.wire_out import xml_element
from faaslab.s3.errors import S3Error

XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
MODES = ("GOVERNANCE", "COMPLIANCE")
HOLDS = ("ON", "OFF")
BUCKET_HEADER = "x-amz-bucket-object-lock-enabled"
BYPASS_HEADER = "x-amz-bypass-governance-retention"
MISSING = "Bucket is missing Object Lock Configuration"


def _shape(name: str) -> Any:
    model = models.service_model("s3")
    assert model is not None
    return model.shape_for(name)


def _parse(shape: str, body: bytes) -> dict[str, Any]:
    try:
        value = from_xml_element(_shape(shape), ElementTree.fromstring(body))
    except (ElementTree.ParseError, ValueError, TypeError):
        raise S3Error("MalformedXML") from None
    if not isinstance(value, dict):
        raise S3Error("MalformedXML")
    return value


def document(shape: str, root: str, value: dict[str, Any]) -> bytes:
    xml = xml_element(_shape(shape), root, value)
    xml = xml.replace(f"<{root}>", f'<{root} xmlns="{XMLNS}">', 1)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{xml}'.encode()


def iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _seconds(value: Any) -> float:
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


# -- the bucket's configuration
def parse_configuration(body: bytes) -> dict[str, Any]:
    """A PutObjectLockConfiguration body, checked as S3 checks it."""
    config = _parse("ObjectLockConfiguration", body)
    if config.get("ObjectLockEnabled") != "Enabled":
        raise S3Error("MalformedXML")
    rule = config.get("Rule")
    if rule is not None:
        retention = rule.get("DefaultRetention") or {}
        if retention.get("Mode") not in MODES:
            raise S3Error("MalformedXML")
        days, years = retention.get("Days"), retention.get("Years")
        if (days is None) == (years is None):
            raise S3Error("MalformedXML")
        period = days if days is not None else years
        if not isinstance(period, int) or period <= 0:
            raise S3Error("InvalidRetentionPeriod")
    return config


def default_lock(config: dict[str, Any] | None, now: float) -> dict[str, str]:
    """The lock a new version gets from its bucket's default retention, if any."""
    retention = ((config or {}).get("Rule") or {}).get("DefaultRetention")
    if not retention:
        return {}
    days = retention.get("Days") or 365 * retention.get("Years", 0)
    return {"Mode": retention["Mode"], "RetainUntilDate": iso(now + 86400 * days)}


def from_headers(
    headers: dict[str, str], config: dict[str, Any] | None, now: float
) -> dict[str, str]:
    """The lock of a new version: x-amz-object-lock-* headers, else the bucket default."""
    mode = headers.get("x-amz-object-lock-mode")
    until = headers.get("x-amz-object-lock-retain-until-date")
    hold = headers.get("x-amz-object-lock-legal-hold")
    if mode is None and until is None and hold is None:
        return default_lock(config, now)
    if config is None:
        raise S3Error("InvalidRequest", MISSING)
    lock = default_lock(config, now)
    if (mode is None) != (until is None):
        raise S3Error(
            "InvalidArgument",
            "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied",
        )
    if mode is not None and until is not None:
        if mode not in MODES:
            raise S3Error("InvalidArgument", "Unknown wormMode directive.")
        try:
            when = _seconds(until)
        except ValueError:
            raise S3Error("InvalidArgument", "The retain until date must be ISO 8601") from None
        if when <= now:
            raise S3Error("InvalidArgument", "The retain until date must be in the future!")
        lock = {"Mode": mode, "RetainUntilDate": iso(when)}
    if hold is not None:
        if hold not in HOLDS:
            raise S3Error("InvalidArgument", "Legal Hold must be either of 'ON' or 'OFF'")
        lock["LegalHold"] = hold
    return lock


def response_headers(lock: dict[str, str]) -> dict[str, str]:
    """GET/HEAD headers naming a version's lock."""
    out = {}
    if "Mode" in lock:
        out["x-amz-object-lock-mode"] = lock["Mode"]
        out["x-amz-object-lock-retain-until-date"] = lock["RetainUntilDate"]
    if "LegalHold" in lock:
        out["x-amz-object-lock-legal-hold"] = lock["LegalHold"]
    return out


# -- a version's retention and legal hold
def parse_retention(body: bytes, now: float) -> dict[str, str]:
    value = _parse("ObjectLockRetention", body)
    mode, until = value.get("Mode"), value.get("RetainUntilDate")
    if mode not in MODES or until is None:
        raise S3Error("MalformedXML")
    when = _seconds(until)
    if when <= now:
        raise S3Error("InvalidArgument", "The retain until date must be in the future!")
    return {"Mode": str(mode), "RetainUntilDate": iso(when)}


def parse_legal_hold(body: bytes) -> str:
    status = _parse("ObjectLockLegalHold", body).get("Status")
    if status not in HOLDS:
        raise S3Error("MalformedXML")
    return str(status)


def _retained(lock: dict[str, str], now: float) -> bool:
    return "Mode" in lock and _seconds(lock["RetainUntilDate"]) > now


def change_retention(
    lock: dict[str, str], new: dict[str, str], bypass: bool, now: float
) -> dict[str, str]:
    """The lock after PutObjectRetention; AccessDenied for what the old one forbids."""
    if _retained(lock, now):
        shorter = _seconds(new["RetainUntilDate"]) < _seconds(lock["RetainUntilDate"])
        other_mode = new["Mode"] != lock["Mode"]
        if lock["Mode"] == "COMPLIANCE" and (shorter or other_mode):
            raise S3Error("AccessDenied")
        if lock["Mode"] == "GOVERNANCE" and (shorter or other_mode) and not bypass:
            raise S3Error("AccessDenied")
    out = {k: v for k, v in lock.items() if k == "LegalHold"}
    out.update(new)
    return out


def check_delete(lock: dict[str, str], bypass: bool, now: float | None = None) -> None:
    """AccessDenied if a version with `lock` may not be deleted for good."""
    now = time.time() if now is None else now
    if lock.get("LegalHold") == "ON":
        raise S3Error("AccessDenied")
    if _retained(lock, now) and (lock["Mode"] == "COMPLIANCE" or not bypass):
        raise S3Error("AccessDenied")
