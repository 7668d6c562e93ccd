"""Who may do what in faaslab's S3, as clients meet it: presigned URLs (SigV4 and SigV2,
boto3 and `aws s3 presign`), anonymous requests answered by ACLs and bucket policies,
public access blocks, ownership controls, and browser form uploads (POST object)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore import UNSIGNED
from botocore.exceptions import ClientError

from faaslab.cliutil import LOCAL_KEYS
from tests.conftest import FIXTURES, Faaslab, running_faaslab

TEMPLATE = FIXTURES / "s3_access.yaml"


@pytest.fixture(scope="module")
def fl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faaslab]:
    yield from running_faaslab(TEMPLATE, tmp_path_factory.mktemp("s3acc") / "state", "--no-build")


@pytest.fixture(scope="module")
def s3(fl: Faaslab) -> Any:
    return fl.aws("s3", signature_version="s3v4")  # (presigned URLs: SigV2 otherwise)


def fetch(url: str, method: str = "GET", data: bytes | None = None) -> tuple[int, bytes]:
    """(status, body) of a plain, unsigned-by-us HTTP request (errors included)."""
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def code(body: bytes) -> str:
    text = body.decode()
    return text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in text else text


def error_code(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as e:
        call(*args, **kwargs)
    return str(e.value.response["Error"]["Code"])


# -- presigned URLs
def test_presigned_get_put_head_delete(fl: Faaslab, s3: Any) -> None:
    s3.put_object(Bucket="acc-data", Key="pre/a.txt", Body=b"alpha")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "acc-data", "Key": "pre/a.txt"})
    assert "X-Amz-Signature=" in url
    assert fetch(url) == (200, b"alpha")
    put = s3.generate_presigned_url("put_object", Params={"Bucket": "acc-data", "Key": "pre/b"})
    status, _ = fetch(put, "PUT", b"bravo")
    assert status == 200
    assert s3.get_object(Bucket="acc-data", Key="pre/b")["Body"].read() == b"bravo"
    head = s3.generate_presigned_url(
        "head_object", Params={"Bucket": "acc-data", "Key": "pre/b"}, HttpMethod="HEAD"
    )
    assert fetch(head, "HEAD")[0] == 200
    delete = s3.generate_presigned_url(
        "delete_object", Params={"Bucket": "acc-data", "Key": "pre/b"}
    )
    assert fetch(delete, "DELETE")[0] == 204
    assert error_code(s3.head_object, Bucket="acc-data", Key="pre/b") == "404"
    # a large presigned PUT streams (past the edge's buffered-body limit)
    big = os.urandom(9 * 1024 * 1024)
    put = s3.generate_presigned_url("put_object", Params={"Bucket": "acc-data", "Key": "pre/big"})
    assert fetch(put, "PUT", big)[0] == 200
    assert s3.get_object(Bucket="acc-data", Key="pre/big")["Body"].read() == big


def test_presigned_url_tampered_or_expired_is_refused(fl: Faaslab, s3: Any) -> None:
    s3.put_object(Bucket="acc-data", Key="pre/c", Body=b"charlie")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "acc-data", "Key": "pre/c"})
    status, body = fetch(url.replace("pre/c", "pre/a.txt"))
    assert (status, code(body)) == (403, "SignatureDoesNotMatch")
    status, body = fetch(url.replace("X-Amz-Expires=3600", "X-Amz-Expires=7200"))
    assert (status, code(body)) == (403, "SignatureDoesNotMatch")
    short = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "acc-data", "Key": "pre/c"}, ExpiresIn=1
    )
    deadline = time.monotonic() + 30
    status, body = fetch(short)
    while status == 200 and time.monotonic() < deadline:
        status, body = fetch(short)
    assert status == 403 and code(body) == "AccessDenied"
    assert b"Request has expired" in body
    week = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "acc-data", "Key": "pre/c"}, ExpiresIn=604801
    )
    status, body = fetch(week)
    assert (status, code(body)) == (400, "AuthorizationQueryParametersError")


def test_sigv2_header_and_query(fl: Faaslab) -> None:
    v2 = fl.aws("s3", signature_version="s3")
    v2.put_object(Bucket="acc-data", Key="v2/obj", Body=b"two")
    assert v2.get_object(Bucket="acc-data", Key="v2/obj")["Body"].read() == b"two"
    url = v2.generate_presigned_url("get_object", Params={"Bucket": "acc-data", "Key": "v2/obj"})
    assert "AWSAccessKeyId=" in url and "Signature=" in url
    assert fetch(url) == (200, b"two")
    status, body = fetch(url.replace("Signature=", "Signature=x"))
    assert (status, code(body)) == (403, "SignatureDoesNotMatch")
    wrong = fl.aws("s3", secret="not-the-secret", signature_version="s3")
    assert error_code(wrong.get_object, Bucket="acc-data", Key="v2/obj") == "SignatureDoesNotMatch"


def test_aws_cli_presign_and_acl(fl: Faaslab, s3: Any, tmp_path: Path) -> None:
    s3.put_object(Bucket="acc-data", Key="cli/presigned.txt", Body=b"from the cli")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": LOCAL_KEYS["aws_access_key_id"]}
    env["AWS_SECRET_ACCESS_KEY"] = LOCAL_KEYS["aws_secret_access_key"]
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    aws = str(Path(sys.executable).parent / "aws")

    def run(*args: str) -> str:
        done = subprocess.run(
            [aws, "--endpoint-url", fl.url, "s3", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    url = run("presign", "s3://acc-data/cli/presigned.txt").strip()
    assert fetch(url) == (200, b"from the cli")
    (tmp_path / "page.html").write_text("<p>hi</p>")
    run("cp", str(tmp_path / "page.html"), "s3://acc-data/cli/page.html", "--acl", "public-read")
    assert fetch(f"{fl.url}/acc-data/cli/page.html") == (200, b"<p>hi</p>")


# -- anonymous requests, ACLs
def test_anonymous_requests_to_a_private_bucket_are_denied(fl: Faaslab, s3: Any) -> None:
    s3.put_object(Bucket="acc-data", Key="private.txt", Body=b"secret")
    for url, method in (
        (f"{fl.url}/acc-data", "GET"),
        (f"{fl.url}/acc-data/private.txt", "GET"),
        (f"{fl.url}/acc-data/private.txt", "DELETE"),
        (f"{fl.url}/acc-data/new.txt", "PUT"),
        (f"{fl.url}/", "GET"),  # ListBuckets
    ):
        status, body = fetch(url, method, b"x" if method == "PUT" else None)
        assert (status, code(body)) == (403, "AccessDenied"), (url, method)
    assert s3.get_object(Bucket="acc-data", Key="private.txt")["Body"].read() == b"secret"
    # an unsigned path that names no bucket is not S3's: the edge's 404 ...
    status, body = fetch(f"{fl.url}/no-such-thing/x")
    assert status == 404 and json.loads(body) == {"message": "Not Found"}
    # ... unless an AWS SDK sent it
    unsigned = fl.aws("s3", signature_version=UNSIGNED)
    assert error_code(unsigned.get_object, Bucket="no-such-thing", Key="x") == "NoSuchBucket"
    assert error_code(unsigned.list_objects_v2, Bucket="acc-data") == "AccessDenied"


def test_canned_acls(fl: Faaslab, s3: Any) -> None:
    s3.create_bucket(Bucket="acc-public", ACL="public-read")
    s3.put_object(Bucket="acc-public", Key="open.txt", Body=b"open", ACL="public-read")
    s3.put_object(Bucket="acc-public", Key="closed.txt", Body=b"closed")
    status, body = fetch(f"{fl.url}/acc-public?list-type=2")
    assert status == 200 and b"<Key>open.txt</Key>" in body
    assert fetch(f"{fl.url}/acc-public/open.txt") == (200, b"open")
    assert fetch(f"{fl.url}/acc-public/closed.txt")[0] == 403  # objects are private by default
    assert fetch(f"{fl.url}/acc-public/x", "PUT", b"x")[0] == 403  # read, not write
    grants = s3.get_bucket_acl(Bucket="acc-public")["Grants"]
    assert {
        "Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
        "Permission": "READ",
    } in grants
    # public-read-write lets anyone write
    s3.create_bucket(Bucket="acc-dropbox", ACL="public-read-write")
    assert fetch(f"{fl.url}/acc-dropbox/drop.txt", "PUT", b"dropped")[0] == 200
    assert s3.get_object(Bucket="acc-dropbox", Key="drop.txt")["Body"].read() == b"dropped"
    # an object's ACL changed later; an overwrite resets it
    s3.put_object_acl(Bucket="acc-public", Key="closed.txt", ACL="public-read")
    assert fetch(f"{fl.url}/acc-public/closed.txt") == (200, b"closed")
    s3.put_object(Bucket="acc-public", Key="closed.txt", Body=b"closed again")
    assert fetch(f"{fl.url}/acc-public/closed.txt")[0] == 403
    # grants as headers, and as the AccessControlPolicy document
    s3.put_object_acl(
        Bucket="acc-public",
        Key="closed.txt",
        GrantRead='uri="http://acs.amazonaws.com/groups/global/AllUsers"',
    )
    assert fetch(f"{fl.url}/acc-public/closed.txt") == (200, b"closed again")
    acl = s3.get_object_acl(Bucket="acc-public", Key="closed.txt")
    s3.put_object_acl(
        Bucket="acc-public",
        Key="open.txt",
        AccessControlPolicy={
            "Grants": [g for g in acl["Grants"] if g["Grantee"]["Type"] != "Group"],
            "Owner": acl["Owner"],
        },
    )
    assert fetch(f"{fl.url}/acc-public/open.txt")[0] == 403
    assert error_code(s3.put_object, Bucket="acc-public", Key="k", Body=b"", ACL="nope") == (
        "InvalidArgument"
    )


def test_acl_of_copies_and_multipart_uploads(fl: Faaslab, s3: Any) -> None:
    s3.create_bucket(Bucket="acc-mpu")
    s3.put_object(Bucket="acc-mpu", Key="src", Body=b"source")
    s3.copy_object(Bucket="acc-mpu", Key="copy", CopySource="acc-mpu/src", ACL="public-read")
    assert fetch(f"{fl.url}/acc-mpu/copy") == (200, b"source")
    up = s3.create_multipart_upload(Bucket="acc-mpu", Key="mpu", ACL="public-read")
    etag = s3.upload_part(
        Bucket="acc-mpu", Key="mpu", UploadId=up["UploadId"], PartNumber=1, Body=b"part"
    )["ETag"]
    s3.complete_multipart_upload(
        Bucket="acc-mpu",
        Key="mpu",
        UploadId=up["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    assert fetch(f"{fl.url}/acc-mpu/mpu") == (200, b"part")


# -- bucket policies
def test_bucket_policy_allows_and_denies(fl: Faaslab, s3: Any) -> None:
    s3.create_bucket(Bucket="acc-policy")
    s3.put_object(Bucket="acc-policy", Key="public/a", Body=b"a")
    s3.put_object(Bucket="acc-policy", Key="internal/b", Body=b"b")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::acc-policy/public/*",
            },
            {
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": ["s3:Delete*"],
                "Resource": "arn:aws:s3:::acc-policy/*",
            },
        ],
    }
    s3.put_bucket_policy(Bucket="acc-policy", Policy=json.dumps(policy))
    assert json.loads(s3.get_bucket_policy(Bucket="acc-policy")["Policy"]) == policy
    assert s3.get_bucket_policy_status(Bucket="acc-policy")["PolicyStatus"]["IsPublic"]
    assert fetch(f"{fl.url}/acc-policy/public/a") == (200, b"a")
    assert fetch(f"{fl.url}/acc-policy/internal/b")[0] == 403
    assert fetch(f"{fl.url}/acc-policy")[0] == 403  # no s3:ListBucket
    # an explicit Deny binds the owner too
    assert error_code(s3.delete_object, Bucket="acc-policy", Key="public/a") == "AccessDenied"
    # ... but never locks the owner out of the policy itself (AWS's guard)
    lockout = {
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["s3:*Policy", "s3:GetObject"],
                "Resource": ["arn:aws:s3:::acc-policy", "arn:aws:s3:::acc-policy/*"],
            }
        ]
    }
    s3.put_bucket_policy(Bucket="acc-policy", Policy=json.dumps(lockout))
    assert error_code(s3.get_object, Bucket="acc-policy", Key="public/a") == "AccessDenied"
    assert json.loads(s3.get_bucket_policy(Bucket="acc-policy")["Policy"]) == lockout
    s3.delete_bucket_policy(Bucket="acc-policy")
    assert error_code(s3.get_bucket_policy, Bucket="acc-policy") == "NoSuchBucketPolicy"
    s3.delete_object(Bucket="acc-policy", Key="public/a")
    assert fetch(f"{fl.url}/acc-policy/internal/b")[0] == 403
    # conditions: only from an address range
    cond = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": ["arn:aws:s3:::acc-policy", "arn:aws:s3:::acc-policy/*"],
                "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
            }
        ],
    }
    s3.put_bucket_policy(Bucket="acc-policy", Policy=json.dumps(cond))
    assert fetch(f"{fl.url}/acc-policy/internal/b")[0] == 403
    assert not s3.get_bucket_policy_status(Bucket="acc-policy")["PolicyStatus"]["IsPublic"]
    cond["Statement"][0]["Condition"] = {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}
    s3.put_bucket_policy(Bucket="acc-policy", Policy=json.dumps(cond))
    assert fetch(f"{fl.url}/acc-policy/internal/b") == (200, b"b")


def test_malformed_policies_are_refused_in_s3s_words(fl: Faaslab, s3: Any) -> None:
    for bad in (
        "not json",
        json.dumps({"Version": "2012-10-17"}),
        json.dumps(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::other-bucket/*",
                    }
                ]
            }
        ),
        json.dumps(
            {
                "Statement": [
                    {"Effect": "Maybe", "Principal": "*", "Action": "s3:*", "Resource": "*"}
                ]
            }
        ),
    ):
        with pytest.raises(ClientError) as e:
            s3.put_bucket_policy(Bucket="acc-data", Policy=bad)
        assert e.value.response["Error"]["Code"] == "MalformedPolicy", bad
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


# -- public access block, ownership controls
def test_public_access_block(fl: Faaslab, s3: Any) -> None:
    s3.create_bucket(Bucket="acc-pab", ACL="public-read")
    s3.put_object(Bucket="acc-pab", Key="o", Body=b"o", ACL="public-read")
    assert fetch(f"{fl.url}/acc-pab/o") == (200, b"o")
    assert error_code(s3.get_public_access_block, Bucket="acc-pab") == (
        "NoSuchPublicAccessBlockConfiguration"
    )
    conf = {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": False,
    }
    s3.put_public_access_block(Bucket="acc-pab", PublicAccessBlockConfiguration=conf)
    got = s3.get_public_access_block(Bucket="acc-pab")["PublicAccessBlockConfiguration"]
    assert got == conf
    assert fetch(f"{fl.url}/acc-pab/o")[0] == 403  # IgnorePublicAcls
    assert error_code(s3.put_object, Bucket="acc-pab", Key="p", Body=b"", ACL="public-read") == (
        "AccessDenied"
    )  # BlockPublicAcls
    public = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::acc-pab/*",
            }
        ]
    }
    assert error_code(s3.put_bucket_policy, Bucket="acc-pab", Policy=json.dumps(public)) == (
        "AccessDenied"
    )  # BlockPublicPolicy
    conf = {
        **conf,
        "BlockPublicPolicy": False,
        "IgnorePublicAcls": False,
        "RestrictPublicBuckets": True,
    }
    s3.put_public_access_block(Bucket="acc-pab", PublicAccessBlockConfiguration=conf)
    s3.put_bucket_policy(Bucket="acc-pab", Policy=json.dumps(public))
    s3.put_object(Bucket="acc-pab", Key="q", Body=b"q")
    assert fetch(f"{fl.url}/acc-pab/q")[0] == 403  # RestrictPublicBuckets
    s3.delete_public_access_block(Bucket="acc-pab")
    assert fetch(f"{fl.url}/acc-pab/q") == (200, b"q")


def test_ownership_controls_disable_acls(fl: Faaslab, s3: Any) -> None:
    s3.create_bucket(Bucket="acc-owned", ObjectOwnership="BucketOwnerEnforced")
    rules = s3.get_bucket_ownership_controls(Bucket="acc-owned")["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert error_code(s3.put_bucket_acl, Bucket="acc-owned", ACL="public-read") == (
        "AccessControlListNotSupported"
    )
    assert error_code(s3.put_object, Bucket="acc-owned", Key="k", Body=b"", ACL="public-read") == (
        "AccessControlListNotSupported"
    )
    s3.put_object(Bucket="acc-owned", Key="k", Body=b"", ACL="bucket-owner-full-control")
    assert (
        error_code(
            s3.create_bucket,
            Bucket="acc-owned2",
            ACL="public-read",
            ObjectOwnership="BucketOwnerEnforced",
        )
        == "InvalidBucketAclWithObjectOwnership"
    )
    s3.put_bucket_ownership_controls(
        Bucket="acc-owned", OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    s3.put_bucket_acl(Bucket="acc-owned", ACL="public-read")
    assert fetch(f"{fl.url}/acc-owned")[0] == 200
    s3.delete_bucket_ownership_controls(Bucket="acc-owned")
    assert error_code(s3.get_bucket_ownership_controls, Bucket="acc-owned") == (
        "OwnershipControlsNotFoundError"
    )


# -- POST object
def test_post_object_with_a_signed_policy(fl: Faaslab, s3: Any) -> None:
    post = s3.generate_presigned_post(
        "acc-data",
        "uploads/${filename}",
        Fields={"success_action_status": "201"},
        Conditions=[
            ["starts-with", "$key", "uploads/"],
            ["content-length-range", 1, 100],
            {"success_action_status": "201"},
        ],
        ExpiresIn=600,
    )
    r = requests.post(
        post["url"], data=post["fields"], files={"file": ("pic.txt", b"picture")}, timeout=30
    )
    assert r.status_code == 201, r.text
    assert "<Key>uploads/pic.txt</Key>" in r.text
    assert s3.get_object(Bucket="acc-data", Key="uploads/pic.txt")["Body"].read() == b"picture"
    # over the policy's size range
    r = requests.post(
        post["url"], data=post["fields"], files={"file": ("big", b"x" * 101)}, timeout=30
    )
    assert r.status_code == 400 and "<Code>EntityTooLarge</Code>" in r.text
    # a field the policy does not allow
    r = requests.post(
        post["url"],
        data={**post["fields"], "x-amz-meta-extra": "1"},
        files={"file": ("f", b"f")},
        timeout=30,
    )
    assert r.status_code == 403 and "Extra input fields: x-amz-meta-extra" in r.text
    # a tampered policy
    fields = {**post["fields"], "success_action_status": "200"}
    r = requests.post(post["url"], data=fields, files={"file": ("f", b"f")}, timeout=30)
    assert r.status_code == 403 and "Policy Condition failed" in r.text
    # anonymous (no policy): only where the bucket allows anyone to write
    r = requests.post(post["url"], data={"key": "anon"}, files={"file": ("f", b"f")}, timeout=30)
    assert r.status_code == 403 and "<Code>AccessDenied</Code>" in r.text
    s3.create_bucket(Bucket="acc-post-open", ACL="public-read-write")
    r = requests.post(
        f"{fl.url}/acc-post-open",
        data={"key": "anon"},
        files={"file": ("f", b"anonymous")},
        timeout=30,
    )
    assert r.status_code == 204, r.text
    assert s3.get_object(Bucket="acc-post-open", Key="anon")["Body"].read() == b"anonymous"


def test_access_settings_survive_a_restart(tmp_path: Path) -> None:
    from tests.conftest import start_faaslab

    state = tmp_path / "state"
    fl = start_faaslab(TEMPLATE, state, "--no-build")
    s3 = fl.aws("s3", signature_version="s3v4")
    s3.put_bucket_acl(Bucket="acc-data", ACL="public-read")
    s3.put_object(Bucket="acc-data", Key="kept", Body=b"kept", ACL="public-read")
    assert fl.stop() == 0
    fl = start_faaslab(TEMPLATE, state, "--no-build")
    try:
        assert fetch(f"{fl.url}/acc-data/kept") == (200, b"kept")
        assert fetch(f"{fl.url}/acc-data")[0] == 200
    finally:
        assert fl.stop() == 0


def test_each_version_has_its_own_acl(fl: Faaslab, s3: Any) -> None:
    s3.create_bucket(Bucket="acc-versions")
    s3.put_bucket_versioning(Bucket="acc-versions", VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket="acc-versions", Key="k", Body=b"one", ACL="public-read")["VersionId"]
    v2 = s3.put_object(Bucket="acc-versions", Key="k", Body=b"two")["VersionId"]
    assert fetch(f"{fl.url}/acc-versions/k")[0] == 403  # the current version is private
    assert fetch(f"{fl.url}/acc-versions/k?versionId={v1}") == (200, b"one")
    grants = s3.get_object_acl(Bucket="acc-versions", Key="k", VersionId=v1)["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("AllUsers") for g in grants)
    s3.put_object_acl(Bucket="acc-versions", Key="k", VersionId=v2, ACL="public-read")
    assert fetch(f"{fl.url}/acc-versions/k") == (200, b"two")
    assert error_code(
        s3.get_object_acl,
        Bucket="acc-versions",
        Key="k",
        VersionId="3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
    ) in ("NoSuchVersion", "InvalidArgument")


def test_template_buckets_access_properties(fl: Faaslab, s3: Any) -> None:
    status, body = fetch(f"{fl.url}/acc-tpl-public")  # AccessControl: PublicRead
    assert status == 200 and b"<ListBucketResult" in body
    pab = s3.get_public_access_block(Bucket="acc-tpl-locked")["PublicAccessBlockConfiguration"]
    assert all(pab.values()) and len(pab) == 4
    rules = s3.get_bucket_ownership_controls(Bucket="acc-tpl-locked")["OwnershipControls"]
    assert rules["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert error_code(s3.put_bucket_acl, Bucket="acc-tpl-locked", ACL="public-read") == (
        "AccessControlListNotSupported"
    )


def test_expected_bucket_owner(fl: Faaslab, s3: Any) -> None:
    s3.put_object(Bucket="acc-data", Key="owned", Body=b"o", ExpectedBucketOwner="123456789012")
    assert (
        error_code(
            s3.get_object, Bucket="acc-data", Key="owned", ExpectedBucketOwner="210987654321"
        )
        == "AccessDenied"
    )
    assert (
        error_code(s3.list_objects_v2, Bucket="acc-data", ExpectedBucketOwner="210987654321")
        == "AccessDenied"
    )
