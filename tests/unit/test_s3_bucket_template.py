"""CloudFormation's bucket properties as the S3 calls CloudFormation makes: names mapped,
and every mapped call valid for botocore's S3 model (what boto3 would send)."""

from __future__ import annotations

from typing import Any

import pytest

from faaslab.s3 import bucket_template as bt

KEYS = ("AKIAFAASLABLOCAL0001", "faaslab/local/secret/key/0001")
# CloudFormation's documented examples of each property
PROPERTIES: dict[str, Any] = {
    "VersioningConfiguration": {"Status": "Enabled"},
    "ObjectLockConfiguration": {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 1}},
    },
    "Tags": [{"Key": "course", "Value": "tcss562"}],
    "CorsConfiguration": {
        "CorsRules": [
            {
                "AllowedHeaders": ["*"],
                "AllowedMethods": ["GET", "PUT"],
                "AllowedOrigins": ["https://example.com"],
                "ExposedHeaders": ["ETag"],
                "Id": "browser",
                "MaxAge": 3000,
            }
        ]
    },
    "BucketEncryption": {
        "ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}
        ]
    },
    "LifecycleConfiguration": {
        "Rules": [
            {"Id": "logs", "Status": "Enabled", "Prefix": "logs/", "ExpirationInDays": 30},
            {
                "Id": "tagged",
                "Status": "Enabled",
                "Prefix": "tmp/",
                "TagFilters": [{"Key": "kind", "Value": "scratch"}],
                "NoncurrentVersionExpirationInDays": 7,
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                "Transitions": [{"StorageClass": "GLACIER", "TransitionInDays": 90}],
            },
        ]
    },
    "PublicAccessBlockConfiguration": {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    },
    "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
    "AccessControl": "PublicRead",
}


def test_every_mapping_is_a_valid_s3_call_signed_as_boto3_would() -> None:
    made = bt.calls("b", PROPERTIES)
    assert [prop for prop, _ in made] == list(bt.MAPPINGS)
    for _, (operation, params) in made:
        req = bt.signed_request(operation, params, KEYS, "us-east-1")
        assert req.path == "/b" and req.headers["authorization"].startswith("AWS4-HMAC-SHA256")
        assert req.query, operation  # every one is a bucket sub-resource (?cors, ?tagging ...)


def test_names_cloudformation_spells_otherwise() -> None:
    calls = dict(bt.calls("b", PROPERTIES))
    cors = calls["CorsConfiguration"][1]["CORSConfiguration"]["CORSRules"][0]
    assert (cors["ExposeHeaders"], cors["MaxAgeSeconds"], cors["ID"]) == (["ETag"], 3000, "browser")
    rules = calls["LifecycleConfiguration"][1]["LifecycleConfiguration"]["Rules"]
    assert rules[0] == {
        "Status": "Enabled", "ID": "logs", "Filter": {"Prefix": "logs/"},
        "Expiration": {"Days": 30},
    }  # fmt: skip
    assert rules[1]["Filter"] == {
        "And": {"Prefix": "tmp/", "Tags": [{"Key": "kind", "Value": "scratch"}]}
    }
    assert rules[1]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 7}
    assert rules[1]["Transitions"] == [{"StorageClass": "GLACIER", "Days": 90}]
    sse = calls["BucketEncryption"][1]["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert sse["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert calls["AccessControl"][1]["ACL"] == "public-read"


def test_object_lock_is_asked_for_at_creation_only() -> None:
    assert bt.creation_call("b", {"ObjectLockEnabled": True}) == (
        "CreateBucket",
        {"Bucket": "b", "ObjectLockEnabledForBucket": True},
    )
    assert bt.creation_call("b", {}) == ("CreateBucket", {"Bucket": "b"})


def test_a_shape_botocore_refuses_names_no_call() -> None:
    from botocore.exceptions import ParamValidationError

    [(_, (operation, params))] = bt.calls("b", {"Tags": [{"Key": 1}]})
    with pytest.raises(ParamValidationError):
        bt.signed_request(operation, params, KEYS, "us-east-1")
