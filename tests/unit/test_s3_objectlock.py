"""Object Lock's rules (faaslab/s3/objectlock.py): configurations, retention changes,
and which deletes a lock forbids."""

from __future__ import annotations

import pytest

from faaslab.s3 import objectlock
from faaslab.s3.errors import S3Error

NOW = 1_800_000_000.0
LATER = objectlock.iso(NOW + 3600)
MUCH_LATER = objectlock.iso(NOW + 7200)


def config(retention: str) -> bytes:
    return (
        "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled>"
        f"<Rule><DefaultRetention>{retention}</DefaultRetention></Rule>"
        "</ObjectLockConfiguration>"
    ).encode()


def code(fn: object, *args: object) -> str:
    with pytest.raises(S3Error) as e:
        fn(*args)  # type: ignore[operator]
    return e.value.code


def test_configuration_is_checked_as_s3_checks_it() -> None:
    ok = objectlock.parse_configuration(config("<Mode>GOVERNANCE</Mode><Days>1</Days>"))
    assert ok["Rule"]["DefaultRetention"] == {"Mode": "GOVERNANCE", "Days": 1}
    parse = objectlock.parse_configuration
    assert code(parse, config("<Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years>")) == (
        "MalformedXML"
    )
    assert code(parse, config("<Mode>governance</Mode><Days>1</Days>")) == "MalformedXML"
    assert code(parse, config("<Mode>COMPLIANCE</Mode><Days>0</Days>")) == (
        "InvalidRetentionPeriod"
    )
    assert code(parse, config("<Mode>COMPLIANCE</Mode><Years>-1</Years>")) == (
        "InvalidRetentionPeriod"
    )
    disabled = b"<ObjectLockConfiguration><ObjectLockEnabled>Disabled</ObjectLockEnabled>"
    assert code(parse, disabled + b"</ObjectLockConfiguration>") == "MalformedXML"


def test_new_versions_take_headers_or_the_default_retention() -> None:
    default = {"Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 2}}}
    assert objectlock.from_headers({}, default, NOW) == {
        "Mode": "COMPLIANCE",
        "RetainUntilDate": objectlock.iso(NOW + 2 * 86400),
    }
    headers = {
        "x-amz-object-lock-mode": "GOVERNANCE",
        "x-amz-object-lock-retain-until-date": LATER,
        "x-amz-object-lock-legal-hold": "ON",
    }
    assert objectlock.from_headers(headers, default, NOW) == {
        "Mode": "GOVERNANCE",
        "RetainUntilDate": LATER,
        "LegalHold": "ON",
    }
    assert objectlock.from_headers({}, None, NOW) == {}
    assert code(objectlock.from_headers, headers, None, NOW) == "InvalidRequest"
    past = {**headers, "x-amz-object-lock-retain-until-date": objectlock.iso(NOW - 1)}
    assert code(objectlock.from_headers, past, default, NOW) == "InvalidArgument"


@pytest.mark.parametrize(
    ("old_mode", "new_mode", "new_until", "bypass", "allowed"),
    [
        ("GOVERNANCE", "GOVERNANCE", MUCH_LATER, False, True),  # extend
        ("GOVERNANCE", "GOVERNANCE", objectlock.iso(NOW + 60), False, False),  # shorten
        ("GOVERNANCE", "GOVERNANCE", objectlock.iso(NOW + 60), True, True),
        ("GOVERNANCE", "COMPLIANCE", LATER, False, False),
        ("GOVERNANCE", "COMPLIANCE", LATER, True, True),
        ("COMPLIANCE", "COMPLIANCE", MUCH_LATER, False, True),
        ("COMPLIANCE", "COMPLIANCE", objectlock.iso(NOW + 60), True, False),
        ("COMPLIANCE", "GOVERNANCE", LATER, True, False),
    ],
)
def test_retention_changes(
    old_mode: str, new_mode: str, new_until: str, bypass: bool, allowed: bool
) -> None:
    old = {"Mode": old_mode, "RetainUntilDate": LATER, "LegalHold": "ON"}
    new = {"Mode": new_mode, "RetainUntilDate": new_until}
    if allowed:
        assert objectlock.change_retention(old, new, bypass, NOW) == {**new, "LegalHold": "ON"}
    else:
        assert code(objectlock.change_retention, old, new, bypass, NOW) == "AccessDenied"
    # once the old retention has passed, anything goes
    assert objectlock.change_retention(old, new, False, NOW + 10_000)["Mode"] == new_mode


def test_which_deletes_a_lock_forbids() -> None:
    governance = {"Mode": "GOVERNANCE", "RetainUntilDate": LATER}
    compliance = {"Mode": "COMPLIANCE", "RetainUntilDate": LATER}
    objectlock.check_delete({}, False, NOW)
    objectlock.check_delete({"LegalHold": "OFF"}, False, NOW)
    assert code(objectlock.check_delete, {"LegalHold": "ON"}, True, NOW) == "AccessDenied"
    assert code(objectlock.check_delete, governance, False, NOW) == "AccessDenied"
    objectlock.check_delete(governance, True, NOW)
    assert code(objectlock.check_delete, compliance, True, NOW) == "AccessDenied"
    objectlock.check_delete(compliance, False, NOW + 10_000)  # expired
