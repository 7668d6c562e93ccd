"""S3's access-control contract (ACLs, bucket policies, public access block, ownership
controls, presigned URLs), run against moto's server and faaslab alike: the shapes and
errors of the configuration operations, which a single-account client can check on both.
Anonymous access (which moto does not enforce) is in tests/integration/test_s3_access.py."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from botocore.config import Config

from tests.contract.conftest import REGION, S3Endpoint
from tests.contract.test_s3_contract import fails, moto_differs

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"ca-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def grants_of(acl: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (
            g["Grantee"]["Type"],
            g["Grantee"].get("URI") or g["Grantee"].get("ID", ""),
            g["Permission"],
        )
        for g in acl["Grants"]
    }


def test_default_bucket_acl_is_owner_full_control(s3: Any, bucket: str) -> None:
    acl = s3.get_bucket_acl(Bucket=bucket)
    assert len(acl["Grants"]) == 1
    (grant,) = acl["Grants"]
    assert grant["Permission"] == "FULL_CONTROL" and grant["Grantee"]["Type"] == "CanonicalUser"
    assert grant["Grantee"]["ID"] == acl["Owner"]["ID"]


def test_canned_acls_become_grants(request: pytest.FixtureRequest, s3: Any, bucket: str) -> None:
    moto_differs(request, "leaves out public-read-write's WRITE grant")
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    got = grants_of(s3.get_bucket_acl(Bucket=bucket))
    assert {("Group", ALL_USERS, "READ"), ("Group", ALL_USERS, "WRITE")} <= got
    s3.put_object(Bucket=bucket, Key="k", Body=b"v", ACL="public-read")
    assert ("Group", ALL_USERS, "READ") in grants_of(s3.get_object_acl(Bucket=bucket, Key="k"))
    s3.put_object_acl(Bucket=bucket, Key="k", ACL="private")
    assert not any(t == "Group" for t, _, _ in grants_of(s3.get_object_acl(Bucket=bucket, Key="k")))


def test_object_acl_of_a_missing_key_is_no_such_key(s3: Any, bucket: str) -> None:
    fails(404, "NoSuchKey", s3.get_object_acl, Bucket=bucket, Key="absent")


def test_policy_round_trip_and_delete(s3: Any, bucket: str) -> None:
    fails(404, "NoSuchBucketPolicy", s3.get_bucket_policy, Bucket=bucket)
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                }
            ],
        }
    )
    assert s3.put_bucket_policy(Bucket=bucket, Policy=policy)["ResponseMetadata"][
        "HTTPStatusCode"
    ] in (200, 204)
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(policy)
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
    s3.delete_bucket_policy(Bucket=bucket)
    fails(404, "NoSuchBucketPolicy", s3.get_bucket_policy, Bucket=bucket)


def test_malformed_policy(request: pytest.FixtureRequest, s3: Any, bucket: str) -> None:
    moto_differs(request, "stores a policy that is not JSON")
    fails(400, "MalformedPolicy", s3.put_bucket_policy, Bucket=bucket, Policy="not json")


def test_public_access_block_round_trip(s3: Any, bucket: str) -> None:
    fails(
        404,
        "NoSuchPublicAccessBlockConfiguration",
        s3.get_public_access_block,
        Bucket=bucket,
    )
    conf = {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": False,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": False,
    }
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=conf)
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == conf
    s3.delete_public_access_block(Bucket=bucket)
    fails(
        404,
        "NoSuchPublicAccessBlockConfiguration",
        s3.get_public_access_block,
        Bucket=bucket,
    )


def test_block_public_acls_refuses_a_public_acl(
    request: pytest.FixtureRequest, s3: Any, bucket: str
) -> None:
    moto_differs(request, "accepts public ACLs under BlockPublicAcls")
    s3.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration={"BlockPublicAcls": True}
    )
    fails(403, "AccessDenied", s3.put_bucket_acl, Bucket=bucket, ACL="public-read")


def test_ownership_controls_round_trip(s3: Any, bucket: str) -> None:
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    rules = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "ObjectWriter"}]
    s3.delete_bucket_ownership_controls(Bucket=bucket)
    fails(
        404,
        "OwnershipControlsNotFoundError",
        s3.get_bucket_ownership_controls,
        Bucket=bucket,
    )


def test_bucket_owner_enforced_refuses_acls(
    request: pytest.FixtureRequest, s3: Any, bucket: str
) -> None:
    moto_differs(request, "accepts ACLs under BucketOwnerEnforced")
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )
    fails(400, "AccessControlListNotSupported", s3.put_bucket_acl, Bucket=bucket, ACL="public-read")


@pytest.mark.parametrize("version", ["s3v4", "s3"])
def test_presigned_get(
    request: pytest.FixtureRequest, s3_endpoint: S3Endpoint, bucket: str, version: str
) -> None:
    moto_differs(request, "does not check presigned URLs' signatures")
    import boto3

    from faaslab.cliutil import LOCAL_KEYS

    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint.url,
        region_name=REGION,
        config=Config(signature_version=version, s3={"addressing_style": "path"}),
        **LOCAL_KEYS,
    )
    client.put_object(Bucket=bucket, Key="p", Body=b"presigned")
    url = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p"})
    with urllib.request.urlopen(url, timeout=30) as r:
        assert r.read() == b"presigned"
    try:
        urllib.request.urlopen(url.replace("/p?", "/q?"), timeout=30)
        raise AssertionError("a URL signed for another key was accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 403
