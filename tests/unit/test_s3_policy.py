"""The bucket policy evaluator (faaslab/s3/policy.py): parsing and decisions, no I/O."""

from __future__ import annotations

import json
from typing import Any

import pytest

from faaslab.s3.errors import S3Error
from faaslab.s3.policy import Context, parse

BUCKET = "pol"
OWNER = frozenset({"123456789012", "arn:aws:iam::123456789012:root"})


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def stmt(effect: str = "Allow", **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "Effect": effect,
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
    }
    base.update(kw)
    return {k: v for k, v in base.items() if v is not None}


def decide(doc: str, action: str = "s3:GetObject", key: str = "k", **ctx: Any) -> str | None:
    resource = f"arn:aws:s3:::{BUCKET}/{key}" if key else f"arn:aws:s3:::{BUCKET}"
    return parse(doc, BUCKET).evaluate(
        Context(action, resource, ctx.get("principals", frozenset()), ctx.get("keys", {}))
    )


def test_allow_deny_and_silence() -> None:
    assert decide(policy(stmt())) == "Allow"
    assert decide(policy(stmt()), action="s3:PutObject") is None
    # an explicit deny beats any allow, in any order
    both = policy(stmt(), stmt("Deny", Resource=f"arn:aws:s3:::{BUCKET}/secret/*"))
    assert decide(both, key="secret/x") == "Deny"
    assert decide(both, key="public/x") == "Allow"


def test_actions_and_resources_with_wildcards_and_negations() -> None:
    doc = policy(stmt(Action=["s3:Get*", "s3:List?ucket"]))
    assert decide(doc, "s3:GetObjectAcl") == "Allow"
    assert decide(doc, "s3:getobject") == "Allow"  # action names are case-insensitive
    assert decide(doc, "s3:ListBucket") == "Allow"
    assert decide(doc, "s3:PutObject") is None
    doc = policy(stmt(Action=None, NotAction="s3:Delete*"))
    assert decide(doc, "s3:PutObject") == "Allow"
    assert decide(doc, "s3:DeleteObject") is None
    doc = policy(stmt(Resource=None, NotResource=f"arn:aws:s3:::{BUCKET}/private/*"))
    assert decide(doc, key="a") == "Allow"
    assert decide(doc, key="private/a") is None
    doc = policy(stmt(Resource=f"arn:aws:s3:::{BUCKET}/a?c"))
    assert decide(doc, key="abc") == "Allow"
    assert decide(doc, key="abbc") is None
    assert decide(policy(stmt(Resource=f"arn:aws:s3:::{BUCKET}")), key="") == "Allow"


def test_principals() -> None:
    doc = policy(stmt(Principal={"AWS": "arn:aws:iam::123456789012:root"}))
    assert decide(doc) is None  # anonymous
    assert decide(doc, principals=OWNER) == "Allow"
    assert decide(policy(stmt(Principal={"AWS": "*"}))) == "Allow"
    doc = policy(stmt("Deny", Principal=None, NotPrincipal={"AWS": "123456789012"}))
    assert decide(doc) == "Deny"
    assert decide(doc, principals=OWNER) is None


@pytest.mark.parametrize(
    ("condition", "keys", "expected"),
    [
        ({"StringEquals": {"s3:prefix": "home/"}}, {"s3:prefix": ["home/"]}, "Allow"),
        ({"StringEquals": {"s3:prefix": "home/"}}, {"s3:prefix": ["other/"]}, None),
        ({"StringEquals": {"s3:prefix": "home/"}}, {}, None),  # key absent
        ({"StringNotEquals": {"s3:prefix": "home/"}}, {"s3:prefix": ["other/"]}, "Allow"),
        ({"StringNotEquals": {"s3:prefix": "home/"}}, {"s3:prefix": ["home/"]}, None),
        ({"StringLike": {"s3:prefix": ["a/*", "b/*"]}}, {"s3:prefix": ["b/c"]}, "Allow"),
        ({"StringNotLike": {"s3:prefix": "a/*"}}, {"s3:prefix": ["a/c"]}, None),
        ({"StringEqualsIgnoreCase": {"aws:UserAgent": "X"}}, {"aws:UserAgent": ["x"]}, "Allow"),
        ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": ["10.1.2.3"]}, "Allow"),
        ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": ["127.0.0.1"]}, None),
        (
            {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}},
            {"aws:SourceIp": ["127.0.0.1"]},
            "Allow",
        ),
        ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": ["false"]}, "Allow"),
        ({"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": ["false"]}, None),
        ({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": ["5"]}, "Allow"),
        ({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": ["50"]}, None),
        ({"NumericGreaterThanEquals": {"s3:max-keys": 10}}, {"s3:max-keys": ["10"]}, "Allow"),
        ({"NumericEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": ["ten"]}, None),
        ({"StringEqualsIfExists": {"s3:x-amz-acl": "private"}}, {}, "Allow"),
        ({"Null": {"s3:x-amz-acl": "true"}}, {}, "Allow"),
        ({"Null": {"s3:x-amz-acl": "false"}}, {}, None),
        (
            {"StringEquals": {"s3:ExistingObjectTag/team": "blue"}},
            {"s3:ExistingObjectTag/team": ["blue"]},
            "Allow",
        ),
        (  # two operators: both must hold
            {
                "StringEquals": {"s3:prefix": "a"},
                "IpAddress": {"aws:SourceIp": "127.0.0.0/8"},
            },
            {"s3:prefix": ["a"], "aws:SourceIp": ["10.0.0.1"]},
            None,
        ),
        (
            {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
            {"aws:CurrentTime": ["2026-12-04T00:00:00Z"]},
            "Allow",
        ),
    ],
)
def test_conditions(
    condition: dict[str, Any], keys: dict[str, list[str]], expected: str | None
) -> None:
    assert decide(policy(stmt(Condition=condition)), keys=keys) == expected


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("{not json", "Policies must be valid JSON and the first byte must be '{'"),
        ("[]", "Policies must be valid JSON and the first byte must be '{'"),
        (json.dumps({"Version": "2012-10-17"}), "Missing required field Statement"),
        (policy(stmt("Perhaps")), "Invalid effect: Perhaps"),
        (policy(stmt(Principal=None)), "Missing required field Principal"),
        (policy(stmt(Action=None)), "Missing required field Action"),
        (policy(stmt(Resource=None)), "Missing required field Resource"),
        (policy(stmt(Action="ec2:RunInstances")), "Policy has invalid action"),
        (policy(stmt(Principal=None, NotPrincipal="*")), "Invalid principal in policy"),
        (policy(stmt(Resource="arn:aws:s3:::another/*")), "Policy has invalid resource"),
        (
            policy(stmt(Condition={"StringSimilar": {"a": "b"}})),
            "Invalid Condition type : StringSimilar",
        ),
        (
            policy(stmt(Condition={"IpAddress": {"aws:SourceIp": "not-an-ip"}})),
            "Invalid IP address or range: not-an-ip",
        ),
        (
            json.dumps({"Version": "2011-01-01", "Statement": [stmt()]}),
            "Document is invalid: Invalid Version 2011-01-01",
        ),
    ],
)
def test_malformed(doc: str, message: str) -> None:
    with pytest.raises(S3Error) as e:
        parse(doc, BUCKET)
    assert e.value.code == "MalformedPolicy" and e.value.status == 400
    assert e.value.message == message


def test_public() -> None:
    assert parse(policy(stmt()), BUCKET).public
    assert not parse(policy(stmt("Deny")), BUCKET).public
    assert not parse(policy(stmt(Principal={"AWS": "123456789012"})), BUCKET).public
    narrowed = stmt(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})
    assert not parse(policy(narrowed), BUCKET).public
    assert parse(policy(stmt(Condition={"Bool": {"aws:SecureTransport": "true"}})), BUCKET).public
