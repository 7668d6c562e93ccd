"""The pure rules of S3's configuration sub-resources: tag limits, CORS matching,
lifecycle validation and expiry dates (no I/O)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from faaslab.s3 import cors, lifecycle, tagging
from faaslab.s3.errors import S3Error
from faaslab.s3.model import ObjectInfo


def _code(fn: Any, *args: Any) -> str:
    with pytest.raises(S3Error) as e:
        fn(*args)
    return e.value.code


def test_tag_header_and_limits() -> None:
    assert tagging.from_header("a=1&b=x%20y&c=") == {"a": "1", "b": "x y", "c": ""}
    assert tagging.from_header("") == {}
    assert _code(tagging.from_header, "a=1&a=2") == "InvalidTag"
    assert _code(tagging.validate, [("k", "v")] * 1 + [("é", "ü"), ("bad#", "v")], 10) == (
        "InvalidTag"
    )
    assert tagging.validate([("naïve key", "välue: +-=._/@")], 10) == {
        "naïve key": "välue: +-=._/@"
    }
    assert _code(tagging.validate, [("", "v")], 10) == "InvalidTag"
    assert _code(tagging.validate, [(f"k{i}", "") for i in range(51)], 50) == "InvalidTag"


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("*", "anything", True),
        ("https://*.example.com", "https://a.b.example.com", True),
        ("https://*.example.com", "https://example.com", False),
        ("start*end", "startend", True),
        ("start*end", "0startend", False),
        ("prefix*", "prefix", True),
        ("*suffix", "foo.suffix.get", False),
        ("exact", "exact", True),
        ("exact", "Exact", False),
    ],
)
def test_cors_origin_patterns(pattern: str, value: str, matches: bool) -> None:
    assert cors.wildcard_match(pattern, value) is matches


def test_cors_first_matching_rule_wins_and_headers_must_all_be_allowed() -> None:
    first = {"AllowedOrigins": ["https://a.test"], "AllowedMethods": ["PUT"]}
    rules = [
        {**first, "AllowedHeaders": ["x-amz-*"]},
        {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "PUT"]},
    ]
    assert cors.match(rules, "https://a.test", "PUT", ["x-amz-date", "X-AMZ-META-A"]) is rules[0]
    assert cors.match(rules, "https://a.test", "PUT", ["content-type"]) is None
    assert cors.match(rules, "https://a.test", "PUT") is rules[0]
    assert cors.match(rules, "https://b.test", "GET") is rules[1]
    assert cors.match(rules, "https://b.test", "DELETE") is None
    headers = cors.allow_headers(rules[1], "https://b.test", None)
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in headers
    # preflights without what S3 needs to evaluate them
    assert _code(cors.preflight, {"CORSRules": rules}, {}) == "BadRequest"
    assert _code(cors.preflight, {"CORSRules": rules}, {"origin": "x"}) == "BadRequest"
    asks = {"origin": "x", "access-control-request-method": "GET"}
    assert _code(cors.preflight, None, asks) == "AccessForbidden"
    assert cors.preflight({"CORSRules": rules}, asks).status == 200


def _rule(**kw: Any) -> dict[str, Any]:
    return {"ID": "r", "Status": "Enabled", "Filter": {"Prefix": ""}, **kw}


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        (_rule(Expiration={"Days": 1, "Date": "2030-01-01T00:00:00Z"}), "MalformedXML"),
        (_rule(Expiration={"Days": -1}), "InvalidArgument"),
        (_rule(Prefix="a", Expiration={"Days": 1}), "MalformedXML"),  # Prefix and Filter
        ({"ID": "r", "Status": "Enabled", "Expiration": {"Days": 1}}, "MalformedXML"),
        (_rule(Filter={"Prefix": "a", "Tag": {"Key": "k", "Value": "v"}}), "MalformedXML"),
        (_rule(NoncurrentVersionExpiration={"NoncurrentDays": 0}), "InvalidArgument"),
        (_rule(AbortIncompleteMultipartUpload={"DaysAfterInitiation": 0}), "InvalidArgument"),
        (
            _rule(
                Filter={"Tag": {"Key": "k", "Value": "v"}},
                AbortIncompleteMultipartUpload={"DaysAfterInitiation": 1},
            ),
            "InvalidRequest",
        ),
        (_rule(Expiration={"Days": 1}, Transitions=[{"Days": 1}]), "NotImplemented"),
        (_rule(Filter={"Tag": {"Key": "k"}}, Expiration={"Days": 1}), "MalformedXML"),
        (_rule(Filter={"And": {"Tags": [{"Value": "v"}]}}, Expiration={"Days": 1}), "MalformedXML"),
    ],
)
def test_lifecycle_rules_s3_refuses(rule: dict[str, Any], code: str) -> None:
    assert _code(lifecycle.validate, {"Rules": [rule]}) == code


def test_lifecycle_rules_get_ids_and_midnight_dates() -> None:
    midnight = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    doc = lifecycle.validate(
        {"Rules": [{"Status": "Enabled", "Prefix": "", "Expiration": {"Date": midnight}}]}
    )
    rule = doc["Rules"][0]
    assert rule["ID"] and rule["Expiration"]["Date"] == "2030-01-01T00:00:00Z"
    assert lifecycle.for_wire(doc)["Rules"][0]["Expiration"]["Date"] == midnight


def test_expiry_is_days_after_creation_rounded_up_to_midnight_utc() -> None:
    made = dt.datetime(2026, 3, 10, 15, 30, tzinfo=dt.UTC).timestamp()
    rule = _rule(Expiration={"Days": 2})
    want = dt.datetime(2026, 3, 13, tzinfo=dt.UTC).timestamp()
    assert lifecycle.aws_expiry(rule, made) == want
    info = ObjectInfo("b", "logs/x", "", 10, "e", made)
    doc = {"Rules": [rule, {**_rule(Expiration={"Days": 5}), "ID": "later"}]}
    header = lifecycle.expiration(doc, info, {})
    assert header == 'expiry-date="Fri, 13 Mar 2026 00:00:00 GMT", rule-id="r"'
    tagged = {"Rules": [_rule(Filter={"Tag": {"Key": "t", "Value": "1"}}, Expiration={"Days": 1})]}
    assert lifecycle.expiration(tagged, info, {}) is None
    assert lifecycle.expiration(tagged, info, {"t": "1"}) is not None
    forever = {"Rules": [_rule(Expiration={"Days": 2**31 - 1})]}
    assert lifecycle.expiration(forever, info, {}) is None  # past any HTTP date: no header
    sized = _rule(Filter={"And": {"Prefix": "logs/", "ObjectSizeGreaterThan": 10}})
    assert not lifecycle.matches(sized, "logs/x", 10, None)
    assert lifecycle.matches(sized, "logs/x", 11, None)
