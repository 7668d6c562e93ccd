"""S3 versioning against a real `faaslab up`: version ids, delete markers, listing and
reading versions, suspended buckets, conditional deletes, the aws CLI, and durability of
versions across kill -9 and an index.db written before versioning existed."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from botocore.exceptions import ClientError

from tests.conftest import FIXTURES, LOCAL_KEYS, Faaslab, start_faaslab

TEMPLATE = FIXTURES / "s3.yaml"
BUCKET_ONLY = """AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Data:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: vers-template
"""


def bucket_only_template(tmp_path: Path) -> Path:
    """A template without functions: a faaslab killed with -9 leaves no sandboxes."""
    path = tmp_path / "template.yaml"
    path.write_text(BUCKET_ONLY)
    return path


@pytest.fixture(scope="module")
def fl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faaslab]:
    f = start_faaslab(TEMPLATE, tmp_path_factory.mktemp("s3v") / "state")
    yield f
    assert f.stop() == 0
    assert "Traceback" not in f.log_path.read_text(), f.log_path.read_text()


@pytest.fixture()
def s3(fl: Faaslab) -> Any:
    return fl.aws("s3")


_n = iter(range(10**6))


def versioned_bucket(s3: Any, status: str = "Enabled") -> str:
    name = f"vers-{os.getpid()}-{next(_n)}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
    return name


def error(call: Any, **kw: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as e:
        call(**kw)
    return dict(e.value.response)


def listing(s3: Any, bucket: str, **kw: Any) -> list[tuple[str, str, bool, bool]]:
    """(key, version id, is latest, is a delete marker) in the order S3 sent them
    (botocore's parsed answer splits versions from delete markers)."""
    return [(k, v, latest, marker) for k, v, latest, marker in _raw_listing(s3, bucket, **kw)[0]]


def _raw_listing(
    s3: Any, bucket: str, **kw: Any
) -> tuple[list[tuple[str, str, bool, bool]], dict[str, Any]]:
    raw: list[bytes] = []

    def keep(http_response: Any, **_: Any) -> None:
        raw.append(http_response.content)

    s3.meta.events.register("after-call.s3.ListObjectVersions", keep)
    try:
        parsed = s3.list_object_versions(Bucket=bucket, **kw)
    finally:
        s3.meta.events.unregister("after-call.s3.ListObjectVersions", keep)
    ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
    items = []
    for e in ElementTree.fromstring(raw[0]):
        tag = e.tag.removeprefix(ns)
        if tag in ("Version", "DeleteMarker"):
            items.append(
                (
                    e.findtext(ns + "Key") or "",
                    e.findtext(ns + "VersionId") or "",
                    e.findtext(ns + "IsLatest") == "true",
                    tag == "DeleteMarker",
                )
            )
    return items, parsed


def test_versioning_configuration_starts_empty_and_round_trips(s3: Any) -> None:
    s3.create_bucket(Bucket="vers-config")
    assert "Status" not in s3.get_bucket_versioning(Bucket="vers-config")
    for status in ("Enabled", "Suspended", "Enabled"):
        s3.put_bucket_versioning(Bucket="vers-config", VersioningConfiguration={"Status": status})
        assert s3.get_bucket_versioning(Bucket="vers-config")["Status"] == status
    err = error(
        s3.put_bucket_versioning,
        Bucket="vers-config",
        VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"},
        MFA="serial 123456",
    )
    assert err["Error"]["Code"] == "NotImplemented", err
    assert s3.get_bucket_versioning(Bucket="vers-config")["Status"] == "Enabled"
    err = error(s3.get_bucket_versioning, Bucket="vers-no-such-bucket")
    assert err["Error"]["Code"] == "NoSuchBucket"


def test_every_put_is_a_version_readable_by_id(s3: Any) -> None:
    b = versioned_bucket(s3)
    big = os.urandom(200 * 1024)  # a blob, not inline
    ids = [s3.put_object(Bucket=b, Key="doc", Body=body)["VersionId"] for body in (b"one", big)]
    ids.append(s3.put_object(Bucket=b, Key="doc", Body=b"three")["VersionId"])
    assert len(set(ids)) == 3
    assert s3.get_object(Bucket=b, Key="doc")["Body"].read() == b"three"
    assert s3.get_object(Bucket=b, Key="doc", VersionId=ids[0])["Body"].read() == b"one"
    got = s3.get_object(Bucket=b, Key="doc", VersionId=ids[1])
    assert got["Body"].read() == big and got["VersionId"] == ids[1]
    head = s3.head_object(Bucket=b, Key="doc", VersionId=ids[0])
    assert head["ContentLength"] == 3 and head["VersionId"] == ids[0]
    assert s3.head_object(Bucket=b, Key="doc")["VersionId"] == ids[2]
    assert [(k, v, latest) for k, v, latest, _ in listing(s3, b)] == [
        ("doc", ids[2], True),
        ("doc", ids[1], False),
        ("doc", ids[0], False),
    ]
    err = error(s3.get_object, Bucket=b, Key="doc", VersionId="no-such-version")
    assert err["Error"]["Code"] == "NoSuchVersion", err
    # ListObjectsV2 shows the current version only
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=b)["Contents"]] == ["doc"]


def test_delete_makes_a_marker_and_deleting_the_marker_restores_the_object(s3: Any) -> None:
    b = versioned_bucket(s3)
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"kept")["VersionId"]
    gone = s3.delete_object(Bucket=b, Key="k")
    assert gone["DeleteMarker"] is True
    marker = gone["VersionId"]
    err = error(s3.get_object, Bucket=b, Key="k")
    assert err["Error"]["Code"] == "NoSuchKey"
    assert err["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    err = error(s3.head_object, Bucket=b, Key="k", VersionId=marker)
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 405
    assert "Contents" not in s3.list_objects_v2(Bucket=b)
    assert listing(s3, b) == [("k", marker, True, True), ("k", v1, False, False)]
    # the old version is still there, by id
    assert s3.get_object(Bucket=b, Key="k", VersionId=v1)["Body"].read() == b"kept"
    # a second delete stacks a second marker
    marker2 = s3.delete_object(Bucket=b, Key="k")["VersionId"]
    assert [v for _, v, _, _ in listing(s3, b)] == [marker2, marker, v1]
    for m in (marker2, marker):
        out = s3.delete_object(Bucket=b, Key="k", VersionId=m)
        assert out["DeleteMarker"] is True and out["VersionId"] == m
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"kept"
    with pytest.raises(ClientError):  # not empty while versions remain
        s3.delete_bucket(Bucket=b)


def test_deleting_the_current_version_makes_the_previous_one_current(s3: Any) -> None:
    b = versioned_bucket(s3)
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"first")["VersionId"]
    v2 = s3.put_object(Bucket=b, Key="k", Body=b"second")["VersionId"]
    out = s3.delete_object(Bucket=b, Key="k", VersionId=v2)
    assert out["VersionId"] == v2 and "DeleteMarker" not in out
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"first"
    assert listing(s3, b) == [("k", v1, True, False)]
    s3.delete_object(Bucket=b, Key="k", VersionId=v1)
    assert listing(s3, b) == []
    s3.delete_bucket(Bucket=b)  # empty now


def test_objects_from_before_versioning_are_the_null_version(s3: Any) -> None:
    s3.create_bucket(Bucket="vers-null")
    assert "VersionId" not in s3.put_object(Bucket="vers-null", Key="old", Body=b"old")
    s3.put_bucket_versioning(Bucket="vers-null", VersioningConfiguration={"Status": "Enabled"})
    new = s3.put_object(Bucket="vers-null", Key="old", Body=b"new")["VersionId"]
    assert s3.get_object(Bucket="vers-null", Key="old", VersionId="null")["Body"].read() == b"old"
    assert listing(s3, "vers-null") == [("old", new, True, False), ("old", "null", False, False)]
    s3.delete_object(Bucket="vers-null", Key="old", VersionId="null")
    assert listing(s3, "vers-null") == [("old", new, True, False)]


def test_suspended_bucket_overwrites_the_null_version_and_keeps_the_others(s3: Any) -> None:
    b = versioned_bucket(s3)
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"versioned")["VersionId"]
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"})
    assert "VersionId" not in s3.put_object(Bucket=b, Key="k", Body=b"null 1")
    s3.put_object(Bucket=b, Key="k", Body=b"null 2")
    assert listing(s3, b) == [("k", "null", True, False), ("k", v1, False, False)]
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"null 2"
    assert s3.get_object(Bucket=b, Key="k")["VersionId"] == "null"
    # a delete while suspended: a null marker replaces the null version
    out = s3.delete_object(Bucket=b, Key="k")
    assert out["DeleteMarker"] is True and out["VersionId"] == "null"
    assert listing(s3, b) == [("k", "null", True, True), ("k", v1, False, False)]
    s3.put_object(Bucket=b, Key="k", Body=b"null 3")  # replaces the null marker
    assert listing(s3, b) == [("k", "null", True, False), ("k", v1, False, False)]


def test_list_object_versions_pages_by_key_and_version_marker(s3: Any) -> None:
    b = versioned_bucket(s3)
    for key in ("a", "b/1", "b/2", "c"):
        for i in range(3):
            s3.put_object(Bucket=b, Key=key, Body=f"{key}{i}".encode())
    s3.delete_object(Bucket=b, Key="c")
    everything = listing(s3, b)
    assert len(everything) == 13
    seen: list[tuple[str, str, bool, bool]] = []
    kw: dict[str, Any] = {}
    while True:
        items, page = _raw_listing(s3, b, MaxKeys=4, **kw)
        assert len(items) <= 4
        seen += items
        if not page["IsTruncated"]:
            break
        kw = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}
    assert seen == everything
    grouped = s3.list_object_versions(Bucket=b, Delimiter="/")
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["b/"]
    assert {v["Key"] for v in grouped["Versions"]} == {"a", "c"}
    under = s3.list_object_versions(Bucket=b, Prefix="b/")
    assert {v["Key"] for v in under["Versions"]} == {"b/1", "b/2"}
    encoded = s3.list_object_versions(Bucket=b, Prefix="b/", EncodingType="url")
    assert encoded["Versions"][0]["Key"] == "b/1"
    assert s3.list_object_versions(Bucket=b, MaxKeys=0)["IsTruncated"] is True


def test_delete_objects_with_version_ids(s3: Any) -> None:
    b = versioned_bucket(s3)
    v1 = s3.put_object(Bucket=b, Key="x", Body=b"1")["VersionId"]
    v2 = s3.put_object(Bucket=b, Key="x", Body=b"2")["VersionId"]
    s3.put_object(Bucket=b, Key="y", Body=b"y")
    out = s3.delete_objects(
        Bucket=b,
        Delete={"Objects": [{"Key": "x", "VersionId": v1}, {"Key": "y"}]},
    )
    deleted = {d["Key"]: d for d in out["Deleted"]}
    assert deleted["x"]["VersionId"] == v1 and "DeleteMarker" not in deleted["x"]
    assert deleted["y"]["DeleteMarker"] is True and deleted["y"]["DeleteMarkerVersionId"]
    assert listing(s3, b) == [
        ("x", v2, True, False),
        ("y", deleted["y"]["DeleteMarkerVersionId"], True, True),
        ("y", listing(s3, b)[2][1], False, False),
    ]


def test_copy_from_a_version(s3: Any) -> None:
    b = versioned_bucket(s3)
    v1 = s3.put_object(Bucket=b, Key="src", Body=b"old bytes")["VersionId"]
    s3.put_object(Bucket=b, Key="src", Body=b"new bytes")
    out = s3.copy_object(
        Bucket=b, Key="src", CopySource={"Bucket": b, "Key": "src", "VersionId": v1}
    )
    assert out["CopySourceVersionId"] == v1 and out["VersionId"] not in (v1, None)
    assert s3.get_object(Bucket=b, Key="src")["Body"].read() == b"old bytes"  # restored
    marker = s3.delete_object(Bucket=b, Key="src")["VersionId"]
    err = error(s3.copy_object, Bucket=b, Key="dst", CopySource={"Bucket": b, "Key": "src"})
    assert err["Error"]["Code"] == "NoSuchKey"
    err = error(
        s3.copy_object,
        Bucket=b,
        Key="dst",
        CopySource={"Bucket": b, "Key": "src", "VersionId": marker},
    )
    assert err["Error"]["Code"] == "InvalidRequest"


def test_multipart_upload_gets_a_version_id(s3: Any) -> None:
    b = versioned_bucket(s3)
    first = s3.put_object(Bucket=b, Key="mp", Body=b"before")["VersionId"]
    up = s3.create_multipart_upload(Bucket=b, Key="mp")["UploadId"]
    etag = s3.upload_part(Bucket=b, Key="mp", UploadId=up, PartNumber=1, Body=b"joined")["ETag"]
    done = s3.complete_multipart_upload(
        Bucket=b,
        Key="mp",
        UploadId=up,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    assert done["VersionId"] not in (None, first)
    assert s3.get_object(Bucket=b, Key="mp", VersionId=first)["Body"].read() == b"before"
    assert s3.get_object(Bucket=b, Key="mp")["Body"].read() == b"joined"


@pytest.mark.parametrize("versioned", [False, True])
def test_conditional_delete_refuses_a_wrong_etag_and_deletes_nothing(
    s3: Any, versioned: bool
) -> None:
    if versioned:
        b = versioned_bucket(s3)
    else:
        b = f"cond-del-{os.getpid()}"
        s3.create_bucket(Bucket=b)
    put = s3.put_object(Bucket=b, Key="guarded", Body=b"precious")
    err = error(s3.delete_object, Bucket=b, Key="guarded", IfMatch='"0123456789abcdef"')
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 412, err
    assert err["Error"]["Code"] == "PreconditionFailed"
    err = error(s3.delete_object, Bucket=b, Key="guarded", IfMatchSize=3)
    assert err["Error"]["Code"] == "PreconditionFailed"
    err = error(
        s3.delete_object,
        Bucket=b,
        Key="guarded",
        IfMatchLastModifiedTime=dt.datetime(2015, 1, 1, tzinfo=dt.UTC),
    )
    assert err["Error"]["Code"] == "PreconditionFailed"
    out = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "guarded", "ETag": '"bad"'}]})
    assert out["Errors"][0]["Code"] == "PreconditionFailed" and "Deleted" not in out
    assert s3.get_object(Bucket=b, Key="guarded")["Body"].read() == b"precious"
    modified = s3.head_object(Bucket=b, Key="guarded")["LastModified"]
    s3.delete_object(
        Bucket=b,
        Key="guarded",
        IfMatch=put["ETag"],
        IfMatchSize=8,
        IfMatchLastModifiedTime=modified,
    )
    assert error(s3.get_object, Bucket=b, Key="guarded")["Error"]["Code"] == "NoSuchKey"


def test_aws_cli_lists_and_reads_versions(fl: Faaslab, s3: Any, tmp_path: Path) -> None:
    b = versioned_bucket(s3)
    v1 = s3.put_object(Bucket=b, Key="cli.txt", Body=b"cli one")["VersionId"]
    s3.put_object(Bucket=b, Key="cli.txt", Body=b"cli two")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": LOCAL_KEYS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": LOCAL_KEYS["aws_secret_access_key"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }

    def aws(*args: str) -> str:
        done = subprocess.run(
            ["aws", "--endpoint-url", fl.url, "s3api", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    versions = json.loads(aws("list-object-versions", "--bucket", b))["Versions"]
    assert [v["IsLatest"] for v in versions] == [True, False]
    out = tmp_path / "old.txt"
    aws("get-object", "--bucket", b, "--key", "cli.txt", "--version-id", v1, str(out))
    assert out.read_bytes() == b"cli one"
    assert json.loads(aws("get-bucket-versioning", "--bucket", b))["Status"] == "Enabled"


def test_versions_survive_kill_9(tmp_path: Path) -> None:
    state = tmp_path / "state"
    template = bucket_only_template(tmp_path)
    fl = start_faaslab(template, state)
    s3 = fl.aws("s3")
    b = versioned_bucket(s3)
    big = os.urandom(300 * 1024)
    v1 = s3.put_object(Bucket=b, Key="k", Body=big)["VersionId"]
    v2 = s3.put_object(Bucket=b, Key="k", Body=b"small")["VersionId"]
    marker = s3.delete_object(Bucket=b, Key="k")["VersionId"]
    os.kill(fl.proc.pid, signal.SIGKILL)
    fl.proc.wait()
    fl = start_faaslab(template, state)
    try:
        s3 = fl.aws("s3")
        assert s3.get_bucket_versioning(Bucket=b)["Status"] == "Enabled"
        assert listing(s3, b) == [
            ("k", marker, True, True),
            ("k", v2, False, False),
            ("k", v1, False, False),
        ]
        assert s3.get_object(Bucket=b, Key="k", VersionId=v1)["Body"].read() == big
        assert s3.get_object(Bucket=b, Key="k", VersionId=v2)["Body"].read() == b"small"
    finally:
        fl.stop()


def test_an_index_from_before_versioning_is_migrated(tmp_path: Path) -> None:
    """A state dir written by the code before versioning (objects without a version
    column, no versions table) opens: its objects are the null versions."""
    state = tmp_path / "state"
    (state / "s3" / "blobs").mkdir(parents=True)
    db = sqlite3.connect(state / "s3" / "index.db")
    db.executescript(
        """
        CREATE TABLE buckets (name TEXT PRIMARY KEY, created REAL NOT NULL, region TEXT NOT NULL);
        CREATE TABLE objects (
            bucket TEXT NOT NULL, key TEXT NOT NULL, blob TEXT, data BLOB, size INTEGER NOT NULL,
            etag TEXT NOT NULL, modified REAL NOT NULL, content_type TEXT NOT NULL,
            metadata TEXT NOT NULL, headers TEXT NOT NULL, checksums TEXT NOT NULL,
            PRIMARY KEY (bucket, key)) WITHOUT ROWID;
        INSERT INTO buckets VALUES ('legacy', 0, 'us-east-1');
        INSERT INTO objects VALUES ('legacy', 'old', NULL, X'6f6c64', 3,
            'dc1d71bbb5c4d2a5e936db79ef10c19f', 0, 'text/plain', '{}', '{}', '{}');
        """
    )
    db.commit()
    db.close()
    fl = start_faaslab(bucket_only_template(tmp_path), state)
    try:
        s3 = fl.aws("s3")
        assert s3.get_object(Bucket="legacy", Key="old")["Body"].read() == b"old"
        s3.put_bucket_versioning(Bucket="legacy", VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket="legacy", Key="old", Body=b"new")
        assert s3.get_object(Bucket="legacy", Key="old", VersionId="null")["Body"].read() == b"old"
    finally:
        fl.stop()


def test_sqlite_s3_reads_an_older_version_of_the_database(s3: Any, tmp_path: Path) -> None:
    from faaslab.sqlite_s3 import S3Database

    b = versioned_bucket(s3)
    db = S3Database(b, "app.db", client=s3, cache_dir=tmp_path / "cache")
    made: list[str] = []
    for n in range(3):
        db.transact(
            lambda c, n=n: (
                c.execute(  # type: ignore[misc]
                    "CREATE TABLE IF NOT EXISTS t (n INTEGER)"
                )
                and c.execute("INSERT INTO t VALUES (?)", (n,))
            )
        )
        assert db.last_version_id is not None
        made.append(db.last_version_id)
    versions = db.versions()
    assert [v.version_id for v in versions] == made[::-1]
    assert [v.is_latest for v in versions] == [True, False, False]

    def rows(c: sqlite3.Connection) -> list[int]:
        return [r[0] for r in c.execute("SELECT n FROM t ORDER BY n")]

    assert db.read_version(made[0], rows) == [0]
    assert db.read_version(made[1], rows) == [0, 1]
    assert db.read(rows) == [0, 1, 2]
    with pytest.raises(sqlite3.OperationalError):  # read-only
        db.read_version(made[0], lambda c: c.execute("INSERT INTO t VALUES (9)"))
    s3.delete_object(Bucket=b, Key="app.db")
    assert db.versions()[0].delete_marker and db.versions()[0].is_latest
    assert db.read_version(made[2], rows) == [0, 1, 2]  # history outlives the delete


def locked_bucket(s3: Any) -> str:
    name = f"lock-{os.getpid()}-{next(_n)}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def test_object_lock_bucket_is_versioned_for_good(s3: Any) -> None:
    b = locked_bucket(s3)
    assert s3.get_bucket_versioning(Bucket=b)["Status"] == "Enabled"
    assert s3.get_object_lock_configuration(Bucket=b)["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled"
    }
    err = error(s3.put_bucket_versioning, Bucket=b, VersioningConfiguration={"Status": "Suspended"})
    assert err["Error"]["Code"] == "InvalidBucketState"
    plain = f"nolock-{os.getpid()}"
    s3.create_bucket(Bucket=plain)
    err = error(s3.get_object_lock_configuration, Bucket=plain)
    assert err["Error"]["Code"] == "ObjectLockConfigurationNotFoundError"
    conf = {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
    }
    err = error(s3.put_object_lock_configuration, Bucket=plain, ObjectLockConfiguration=conf)
    assert err["Error"]["Code"] == "InvalidBucketState"  # not versioned
    err = error(s3.put_object, Bucket=plain, Key="k", Body=b"x", ObjectLockLegalHoldStatus="ON")
    assert err["Error"]["Code"] == "InvalidRequest"  # never stored without its hold
    assert error(s3.head_object, Bucket=plain, Key="k")["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_retention_and_legal_hold_protect_a_version_from_deletion(s3: Any) -> None:
    b = locked_bucket(s3)
    conf = {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
    }
    s3.put_object_lock_configuration(Bucket=b, ObjectLockConfiguration=conf)
    v = s3.put_object(Bucket=b, Key="doc", Body=b"keep me")["VersionId"]
    head = s3.head_object(Bucket=b, Key="doc")
    assert head["ObjectLockMode"] == "GOVERNANCE"  # the default retention
    err = error(s3.delete_object, Bucket=b, Key="doc", VersionId=v)
    assert err["Error"]["Code"] == "AccessDenied", err
    out = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "doc", "VersionId": v}]})
    assert out["Errors"][0]["Code"] == "AccessDenied" and out["Errors"][0]["VersionId"] == v
    # a delete without a version only adds a marker: allowed
    assert s3.delete_object(Bucket=b, Key="doc")["DeleteMarker"] is True
    assert s3.get_object(Bucket=b, Key="doc", VersionId=v)["Body"].read() == b"keep me"
    # compliance cannot be shortened, even with the bypass
    until = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
    s3.put_object_retention(
        Bucket=b,
        Key="doc",
        VersionId=v,
        Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until},
        BypassGovernanceRetention=True,
    )
    assert s3.get_object_retention(Bucket=b, Key="doc", VersionId=v)["Retention"] == {
        "Mode": "COMPLIANCE",
        "RetainUntilDate": until,
    }
    err = error(
        s3.put_object_retention,
        Bucket=b,
        Key="doc",
        VersionId=v,
        Retention={"Mode": "COMPLIANCE", "RetainUntilDate": dt.datetime(2099, 1, 1, tzinfo=dt.UTC)},
        BypassGovernanceRetention=True,
    )
    assert err["Error"]["Code"] == "AccessDenied"
    err = error(s3.delete_object, Bucket=b, Key="doc", VersionId=v, BypassGovernanceRetention=True)
    assert err["Error"]["Code"] == "AccessDenied"
    # governance yields to the bypass; a legal hold to nothing until it is OFF
    g = s3.put_object(
        Bucket=b,
        Key="held",
        Body=b"x",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=until,
        ObjectLockLegalHoldStatus="ON",
    )["VersionId"]
    assert s3.get_object_legal_hold(Bucket=b, Key="held")["LegalHold"] == {"Status": "ON"}
    err = error(s3.delete_object, Bucket=b, Key="held", VersionId=g, BypassGovernanceRetention=True)
    assert err["Error"]["Code"] == "AccessDenied"
    s3.put_object_legal_hold(Bucket=b, Key="held", VersionId=g, LegalHold={"Status": "OFF"})
    s3.delete_object(Bucket=b, Key="held", VersionId=g, BypassGovernanceRetention=True)
    assert (
        error(s3.head_object, Bucket=b, Key="held", VersionId=g)["ResponseMetadata"][
            "HTTPStatusCode"
        ]
        == 404
    )
