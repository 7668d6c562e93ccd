"""S3's contract, run against moto's server and faaslab's object store alike.

Every test makes its own bucket, so tests are independent. Where moto departs from AWS's
documented behaviour the test says so (`moto_differs`): it is expected to fail on moto only,
strictly (a moto that starts agreeing with AWS makes it fail, to be looked at again), and the
assertion is the same for faaslab.
"""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.contract.conftest import TEMPLATE_BUCKET, S3Endpoint

MiB = 1024 * 1024


def unique_bucket() -> str:
    return f"ct-{uuid.uuid4().hex[:12]}"


def md5_etag(data: bytes) -> str:
    return '"' + hashlib.md5(data).hexdigest() + '"'


def multipart_etag(parts: list[bytes]) -> str:
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    return '"' + hashlib.md5(digests).hexdigest() + f'-{len(parts)}"'


def b64_md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def b64_crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def status(response: dict[str, Any]) -> int:
    return int(response["ResponseMetadata"]["HTTPStatusCode"])


def fails(http_status: int, code: str, op: Callable[..., Any], **kwargs: Any) -> ClientError:
    """Call `op(**kwargs)`; it must fail with exactly this HTTP status and S3 error code."""
    with pytest.raises(ClientError) as e:
        op(**kwargs)
    got = e.value.response
    assert (status(got), got["Error"]["Code"]) == (http_status, code), got
    return e.value


def moto_differs(request: pytest.FixtureRequest, reason: str) -> None:
    """moto departs from AWS's documented behaviour in this test: expect it to fail there."""
    if request.node.callspec.params["s3"] == "moto":
        request.applymarker(pytest.mark.xfail(reason=f"moto {reason}", strict=True))


def keys_of(listing: dict[str, Any]) -> list[str]:
    return [o["Key"] for o in listing.get("Contents", [])]


@pytest.fixture
def bucket(s3: Any) -> str:
    """A new, empty bucket of this test's own."""
    name = unique_bucket()
    s3.create_bucket(Bucket=name)
    return name


# --- buckets -------------------------------------------------------------------------------


def test_create_bucket_then_head_and_list(s3: Any) -> None:
    """CreateBucket: 200 with Location /name; HeadBucket 200 with the region; ListBuckets has it."""
    name = unique_bucket()
    r = s3.create_bucket(Bucket=name)
    assert status(r) == 200
    assert r["Location"] == f"/{name}"
    head = s3.head_bucket(Bucket=name)
    assert status(head) == 200
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    listed = {b["Name"]: b for b in s3.list_buckets()["Buckets"]}
    assert name in listed
    assert isinstance(listed[name]["CreationDate"], datetime)


def test_head_missing_bucket_is_404(s3: Any) -> None:
    """HeadBucket of a bucket that does not exist: 404 (no body, so the code is "404")."""
    fails(404, "404", s3.head_bucket, Bucket=unique_bucket())


def test_create_bucket_already_owned_in_us_east_1_is_200(s3: Any, bucket: str) -> None:
    """Re-creating a bucket you own in us-east-1 answers 200 (AWS's legacy exception to
    BucketAlreadyOwnedByYou, which every other region returns), and keeps its objects."""
    s3.put_object(Bucket=bucket, Key="kept", Body=b"still here")
    assert status(s3.create_bucket(Bucket=bucket)) == 200
    assert s3.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"still here"


def test_delete_bucket_refuses_non_empty_then_deletes(s3: Any, bucket: str) -> None:
    """DeleteBucket: 409 BucketNotEmpty while an object is in it; once empty 204, then gone."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    fails(409, "BucketNotEmpty", s3.delete_bucket, Bucket=bucket)
    assert s3.head_object(Bucket=bucket, Key="k")["ContentLength"] == 1
    s3.delete_object(Bucket=bucket, Key="k")
    assert status(s3.delete_bucket(Bucket=bucket)) == 204
    fails(404, "404", s3.head_bucket, Bucket=bucket)
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_delete_missing_bucket_is_no_such_bucket(s3: Any) -> None:
    """DeleteBucket of a bucket that does not exist: 404 NoSuchBucket."""
    fails(404, "NoSuchBucket", s3.delete_bucket, Bucket=unique_bucket())


# moto 5.2.5 checks a bucket name's length only (moto/s3/models.py create_bucket).
MOTO_ACCEPTS = {"UPPER", "has_underscore", "-dash", "a..b", "192.168.1.1"}


@pytest.mark.parametrize(
    "name", ["UPPER", "ab", "has_underscore", "-dash", "a..b", "192.168.1.1", "x" * 64]
)
def test_invalid_bucket_name_is_refused(request: pytest.FixtureRequest, s3: Any, name: str) -> None:
    """Names outside AWS's bucket naming rules (3-63 chars of a-z 0-9 . -, starting and ending
    with a letter or digit, no "..", not an IP address): 400 InvalidBucketName."""
    if name in MOTO_ACCEPTS:
        moto_differs(request, f"accepts the invalid bucket name {name!r}")
    fails(400, "InvalidBucketName", s3.create_bucket, Bucket=name)


def test_valid_bucket_names_are_accepted(s3: Any) -> None:
    """The edges of the naming rules are accepted: 3 and 63 characters, dots and hyphens."""
    hexa = uuid.uuid4().hex
    for name in [f"c{hexa[:2]}", f"ct.{hexa[:8]}.a-b", ("ct-" + hexa * 2)[:63]]:
        assert status(s3.create_bucket(Bucket=name)) == 200
        assert status(s3.head_bucket(Bucket=name)) == 200


def test_template_bucket_exists(s3: Any) -> None:
    """The bucket the template declares exists when the stack is up, and is empty."""
    assert status(s3.head_bucket(Bucket=TEMPLATE_BUCKET)) == 200
    assert TEMPLATE_BUCKET in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert s3.list_objects_v2(Bucket=TEMPLATE_BUCKET)["KeyCount"] == 0


# --- objects ---------------------------------------------------------------------------------


def test_put_get_binary_round_trip(s3: Any, bucket: str) -> None:
    """Every byte value survives PutObject/GetObject; the ETag is the quoted MD5 hex digest."""
    data = bytes(range(256)) * 64 + b"\r\n\x00\xff end"
    r = s3.put_object(Bucket=bucket, Key="bin", Body=data)
    assert status(r) == 200
    assert r["ETag"] == md5_etag(data)
    got = s3.get_object(Bucket=bucket, Key="bin")
    assert got["Body"].read() == data
    assert got["ContentLength"] == len(data)
    assert got["ETag"] == md5_etag(data)


def test_empty_object(s3: Any, bucket: str) -> None:
    """A zero-byte object: ETag of the empty MD5, ContentLength 0, empty body."""
    assert s3.put_object(Bucket=bucket, Key="empty", Body=b"")["ETag"] == md5_etag(b"")
    got = s3.get_object(Bucket=bucket, Key="empty")
    assert (got["ContentLength"], got["Body"].read()) == (0, b"")
    assert got["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'


def test_put_overwrites(s3: Any, bucket: str) -> None:
    """A second PutObject to a key replaces the object: content, length, ETag, metadata."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"first version", Metadata={"v": "1"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"second")
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"second"
    assert (got["ContentLength"], got["ETag"]) == (6, md5_etag(b"second"))
    assert got["Metadata"] == {}


def test_content_type_and_user_metadata_round_trip(s3: Any, bucket: str) -> None:
    """Content-Type and x-amz-meta-* come back as stored; user metadata names are lower-cased."""
    s3.put_object(
        Bucket=bucket,
        Key="doc.txt",
        Body=b"hi",
        ContentType="text/plain; charset=utf-8",
        Metadata={"a": "b", "Mixed-Case": "Value"},
    )
    for r in (
        s3.get_object(Bucket=bucket, Key="doc.txt"),
        s3.head_object(Bucket=bucket, Key="doc.txt"),
    ):
        assert r["ContentType"] == "text/plain; charset=utf-8"
        assert r["Metadata"] == {"a": "b", "mixed-case": "Value"}
        headers = r["ResponseMetadata"]["HTTPHeaders"]
        assert headers["x-amz-meta-a"] == "b"
        assert headers["content-type"] == "text/plain; charset=utf-8"


def test_default_content_type(s3: Any, bucket: str) -> None:
    """An object put without a Content-Type is served as binary/octet-stream."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert s3.get_object(Bucket=bucket, Key="k")["ContentType"] == "binary/octet-stream"


def test_head_object(s3: Any, bucket: str) -> None:
    """HeadObject: ContentLength, ETag, a LastModified of the upload's second, byte ranges."""
    before = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    s3.put_object(Bucket=bucket, Key="k", Body=b"0123456789")
    after = datetime.now(UTC) + timedelta(seconds=1)
    r = s3.head_object(Bucket=bucket, Key="k")
    assert status(r) == 200
    assert r["ContentLength"] == 10
    assert r["ETag"] == md5_etag(b"0123456789")
    assert before <= r["LastModified"] <= after
    assert r["AcceptRanges"] == "bytes"


def test_get_missing_key_is_no_such_key(s3: Any, bucket: str) -> None:
    """GetObject of a missing key: 404 NoSuchKey naming the key; HeadObject: bare 404."""
    e = fails(404, "NoSuchKey", s3.get_object, Bucket=bucket, Key="no/such.key")
    assert e.response["Error"]["Key"] == "no/such.key"
    fails(404, "404", s3.head_object, Bucket=bucket, Key="no/such.key")


@pytest.mark.parametrize("op", ["put_object", "get_object", "list_objects_v2"])
def test_missing_bucket_is_no_such_bucket(s3: Any, op: str) -> None:
    """Object operations in a bucket that does not exist: 404 NoSuchBucket naming it."""
    name = unique_bucket()
    kwargs: dict[str, Any] = {"Bucket": name}
    if op != "list_objects_v2":
        kwargs["Key"] = "k"
    if op == "put_object":
        kwargs["Body"] = b"x"
    e = fails(404, "NoSuchBucket", getattr(s3, op), **kwargs)
    assert e.response["Error"]["BucketName"] == name


# --- Content-MD5 -----------------------------------------------------------------------------


def test_correct_content_md5_is_stored(s3: Any, bucket: str) -> None:
    """A PutObject whose Content-MD5 matches the body is stored."""
    r = s3.put_object(Bucket=bucket, Key="k", Body=b"hello", ContentMD5=b64_md5(b"hello"))
    assert r["ETag"] == md5_etag(b"hello")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"hello"


def test_wrong_content_md5_is_bad_digest(
    request: pytest.FixtureRequest, s3: Any, s3_endpoint: S3Endpoint, bucket: str
) -> None:
    """A Content-MD5 of other bytes: 400 BadDigest, and nothing is stored."""
    moto_differs(request, "does not check Content-MD5 (it stores the object)")
    r = s3_endpoint.request(
        "PUT", f"/{bucket}/k", body=b"hello", headers={"Content-MD5": b64_md5(b"other")}
    )
    assert (r.status, r.error_code) == (400, "BadDigest")
    fails(404, "NoSuchKey", s3.get_object, Bucket=bucket, Key="k")


def test_wrong_content_md5_leaves_old_object(
    request: pytest.FixtureRequest, s3: Any, s3_endpoint: S3Endpoint, bucket: str
) -> None:
    """A refused overwrite (BadDigest) leaves the object that was there untouched."""
    moto_differs(request, "does not check Content-MD5 (it overwrites the object)")
    s3.put_object(Bucket=bucket, Key="k", Body=b"old")
    r = s3_endpoint.request(
        "PUT", f"/{bucket}/k", body=b"new!", headers={"Content-MD5": b64_md5(b"else")}
    )
    assert (r.status, r.error_code) == (400, "BadDigest")
    got = s3.get_object(Bucket=bucket, Key="k")
    assert (got["Body"].read(), got["ETag"]) == (b"old", md5_etag(b"old"))


def test_malformed_content_md5_is_invalid_digest(
    request: pytest.FixtureRequest, s3: Any, s3_endpoint: S3Endpoint, bucket: str
) -> None:
    """A Content-MD5 that is not the base64 of 16 bytes: 400 InvalidDigest, nothing stored."""
    moto_differs(request, "does not check Content-MD5 (it stores the object)")
    r = s3_endpoint.request(
        "PUT", f"/{bucket}/k", body=b"hello", headers={"Content-MD5": "bm90IGFuIG1kNQ=="}
    )
    assert (r.status, r.error_code) == (400, "InvalidDigest")
    fails(404, "NoSuchKey", s3.get_object, Bucket=bucket, Key="k")


def test_crc32_checksum_is_kept_and_returned_on_request(s3: Any, bucket: str) -> None:
    """boto3 sends x-amz-checksum-crc32 with every PutObject: S3 answers it back, keeps it,
    and returns it on HeadObject only when asked (x-amz-checksum-mode: ENABLED)."""
    data = b"checksummed bytes"
    r = s3.put_object(Bucket=bucket, Key="k", Body=data)
    assert r["ChecksumCRC32"] == b64_crc32(data)
    assert s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")["ChecksumCRC32"] == (
        b64_crc32(data)
    )
    assert "ChecksumCRC32" not in s3.head_object(Bucket=bucket, Key="k")


def test_wrong_crc32_checksum_is_bad_digest(
    request: pytest.FixtureRequest, s3: Any, s3_endpoint: S3Endpoint, bucket: str
) -> None:
    """An x-amz-checksum-crc32 of other bytes: 400 BadDigest, and nothing is stored."""
    moto_differs(request, "does not check x-amz-checksum-crc32 (it stores the object)")
    r = s3_endpoint.request(
        "PUT",
        f"/{bucket}/k",
        body=b"hello",
        headers={
            "x-amz-checksum-crc32": b64_crc32(b"other"),
            "x-amz-sdk-checksum-algorithm": "CRC32",
        },
    )
    assert (r.status, r.error_code) == (400, "BadDigest")
    fails(404, "NoSuchKey", s3.get_object, Bucket=bucket, Key="k")


# --- conditional writes ----------------------------------------------------------------------


def test_put_if_none_match_creates_when_absent(s3: Any, bucket: str) -> None:
    """PutObject with If-None-Match: * stores the object when the key is free."""
    r = s3.put_object(Bucket=bucket, Key="k", Body=b"v1", IfNoneMatch="*")
    assert (status(r), r["ETag"]) == (200, md5_etag(b"v1"))
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v1"


def test_put_if_none_match_is_412_when_present(s3: Any, bucket: str) -> None:
    """PutObject with If-None-Match: * on an existing key: 412 PreconditionFailed, unchanged."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"v1")
    fails(
        412,
        "PreconditionFailed",
        s3.put_object,
        Bucket=bucket,
        Key="k",
        Body=b"v2",
        IfNoneMatch="*",
    )
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v1"


def test_put_if_match_current_etag_succeeds(s3: Any, bucket: str) -> None:
    """PutObject with If-Match: the current ETag replaces the object."""
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"v1")["ETag"]
    r = s3.put_object(Bucket=bucket, Key="k", Body=b"v2", IfMatch=etag)
    assert (status(r), r["ETag"]) == (200, md5_etag(b"v2"))
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v2"


def test_put_if_match_other_etag_is_412(s3: Any, bucket: str) -> None:
    """PutObject with If-Match: an ETag that is not the current one: 412, object unchanged."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"v1")
    stale = md5_etag(b"v0")
    fails(
        412, "PreconditionFailed", s3.put_object, Bucket=bucket, Key="k", Body=b"v2", IfMatch=stale
    )
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v1"


def test_put_if_match_missing_key_is_no_such_key(s3: Any, bucket: str) -> None:
    """PutObject with If-Match on a key with no object: 404 NoSuchKey, and nothing stored."""
    fails(
        404,
        "NoSuchKey",
        s3.put_object,
        Bucket=bucket,
        Key="k",
        Body=b"v1",
        IfMatch=md5_etag(b"v1"),
    )
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


# --- conditional reads -----------------------------------------------------------------------


def test_get_if_none_match_current_etag_is_304(s3: Any, bucket: str) -> None:
    """GetObject/HeadObject with If-None-Match: the current ETag: 304 Not Modified; another
    ETag: 200 with the object."""
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"data")["ETag"]
    fails(304, "304", s3.get_object, Bucket=bucket, Key="k", IfNoneMatch=etag)
    fails(304, "304", s3.head_object, Bucket=bucket, Key="k", IfNoneMatch=etag)
    got = s3.get_object(Bucket=bucket, Key="k", IfNoneMatch=md5_etag(b"other"))
    assert got["Body"].read() == b"data"


def test_get_if_match(s3: Any, bucket: str) -> None:
    """GetObject with If-Match: another ETag: 412 PreconditionFailed; the current one: 200."""
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"data")["ETag"]
    fails(412, "PreconditionFailed", s3.get_object, Bucket=bucket, Key="k", IfMatch=md5_etag(b"x"))
    fails(412, "412", s3.head_object, Bucket=bucket, Key="k", IfMatch=md5_etag(b"x"))
    assert s3.get_object(Bucket=bucket, Key="k", IfMatch=etag)["Body"].read() == b"data"


def test_get_if_unmodified_since_before_upload_is_412(s3: Any, bucket: str) -> None:
    """GetObject with If-Unmodified-Since a date before the upload: 412 PreconditionFailed."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    since = datetime(2000, 1, 1, tzinfo=UTC)
    fails(412, "PreconditionFailed", s3.get_object, Bucket=bucket, Key="k", IfUnmodifiedSince=since)


# --- ranges ----------------------------------------------------------------------------------

DIGITS = b"0123456789"


def test_range_first_bytes(s3: Any, bucket: str) -> None:
    """Range bytes=0-4: 206 Partial Content, Content-Range bytes 0-4/10, those 5 bytes."""
    s3.put_object(Bucket=bucket, Key="k", Body=DIGITS)
    r = s3.get_object(Bucket=bucket, Key="k", Range="bytes=0-4")
    assert status(r) == 206
    assert r["ContentRange"] == "bytes 0-4/10"
    assert r["ContentLength"] == 5
    assert r["Body"].read() == b"01234"
    assert r["ETag"] == md5_etag(DIGITS)  # the whole object's


def test_range_suffix_and_open_ended(s3: Any, bucket: str) -> None:
    """Range bytes=-3 is the last 3 bytes; bytes=7- runs to the end; a suffix longer than the
    object is all of it."""
    s3.put_object(Bucket=bucket, Key="k", Body=DIGITS)
    for spec, content_range, body in [
        ("bytes=-3", "bytes 7-9/10", b"789"),
        ("bytes=7-", "bytes 7-9/10", b"789"),
        ("bytes=-100", "bytes 0-9/10", DIGITS),
    ]:
        r = s3.get_object(Bucket=bucket, Key="k", Range=spec)
        assert (status(r), r["ContentRange"], r["Body"].read()) == (206, content_range, body), spec


def test_range_end_past_size_is_clamped(s3: Any, bucket: str) -> None:
    """Range bytes=5-1000 on 10 bytes: 206 with bytes 5-9/10."""
    s3.put_object(Bucket=bucket, Key="k", Body=DIGITS)
    r = s3.get_object(Bucket=bucket, Key="k", Range="bytes=5-1000")
    assert (status(r), r["ContentRange"], r["ContentLength"]) == (206, "bytes 5-9/10", 5)
    assert r["Body"].read() == b"56789"


@pytest.mark.parametrize("spec", ["bytes=10-", "bytes=100-200"])
def test_range_start_past_end_is_416(s3: Any, bucket: str, spec: str) -> None:
    """A range that starts at or past the end of the object: 416 InvalidRange."""
    s3.put_object(Bucket=bucket, Key="k", Body=DIGITS)
    fails(416, "InvalidRange", s3.get_object, Bucket=bucket, Key="k", Range=spec)


def test_syntactically_invalid_range_is_ignored(s3: Any, bucket: str) -> None:
    """A Range whose last byte is before its first is invalid and ignored: 200, whole object."""
    s3.put_object(Bucket=bucket, Key="k", Body=DIGITS)
    r = s3.get_object(Bucket=bucket, Key="k", Range="bytes=5-2")
    assert status(r) == 200
    assert "ContentRange" not in r
    assert r["Body"].read() == DIGITS


# --- deletes ---------------------------------------------------------------------------------


def test_delete_object_is_204_and_idempotent(s3: Any, bucket: str) -> None:
    """DeleteObject: 204 and the object is gone; deleting a missing key is 204 too."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert status(s3.delete_object(Bucket=bucket, Key="k")) == 204
    fails(404, "NoSuchKey", s3.get_object, Bucket=bucket, Key="k")
    assert status(s3.delete_object(Bucket=bucket, Key="k")) == 204
    assert status(s3.delete_object(Bucket=bucket, Key="never-was")) == 204


def test_delete_objects_reports_each_key(s3: Any, bucket: str) -> None:
    """DeleteObjects (verbose): every requested key is reported Deleted, missing ones included;
    the others stay."""
    for key in ["a", "b", "c"]:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    r = s3.delete_objects(
        Bucket=bucket,
        Delete={"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "missing"}], "Quiet": False},
    )
    assert status(r) == 200
    assert sorted(d["Key"] for d in r["Deleted"]) == ["a", "b", "missing"]
    assert "Errors" not in r
    assert keys_of(s3.list_objects_v2(Bucket=bucket)) == ["c"]


def test_delete_objects_quiet_reports_only_errors(
    request: pytest.FixtureRequest, s3: Any, bucket: str
) -> None:
    """DeleteObjects in quiet mode deletes and reports only the keys that failed (none)."""
    moto_differs(request, "lists Deleted keys in quiet mode too")
    s3.put_object(Bucket=bucket, Key="a", Body=b"a")
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}], "Quiet": True})
    assert status(r) == 200
    assert "Deleted" not in r
    assert "Errors" not in r
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


# --- listing ---------------------------------------------------------------------------------


def test_list_prefix(s3: Any, bucket: str) -> None:
    """ListObjectsV2 with a Prefix: only the keys that start with it, each with Size, ETag and
    StorageClass; the Prefix is echoed."""
    for key in ["photos/2024/a.jpg", "photos/2025/b.jpg", "photosx", "docs/c.txt"]:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    r = s3.list_objects_v2(Bucket=bucket, Prefix="photos/")
    assert keys_of(r) == ["photos/2024/a.jpg", "photos/2025/b.jpg"]
    assert (r["KeyCount"], r["Prefix"], r["IsTruncated"]) == (2, "photos/", False)
    first = r["Contents"][0]
    assert first["Size"] == len(b"photos/2024/a.jpg")
    assert first["ETag"] == md5_etag(b"photos/2024/a.jpg")
    assert first["StorageClass"] == "STANDARD"
    assert isinstance(first["LastModified"], datetime)


def test_list_delimiter_rolls_up_common_prefixes(s3: Any, bucket: str) -> None:
    """ListObjectsV2 with Delimiter /: keys below a / are rolled up into CommonPrefixes, and
    KeyCount counts keys and prefixes."""
    for key in ["d/a/1", "d/a/2", "d/b/1", "d/c", "top"]:
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    r = s3.list_objects_v2(Bucket=bucket, Prefix="d/", Delimiter="/")
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["d/a/", "d/b/"]
    assert keys_of(r) == ["d/c"]
    assert (r["KeyCount"], r["Delimiter"]) == (3, "/")
    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["d/"]
    assert keys_of(top) == ["top"]


def test_list_pages_with_max_keys_and_continuation(s3: Any, bucket: str) -> None:
    """25 keys with MaxKeys=10: pages of 10, 10, 5 via ContinuationToken, each key exactly once
    in lexicographic (UTF-8 byte) order; IsTruncated and NextContinuationToken until the end."""
    keys = [f"k{i}" for i in range(25)]  # k10 sorts before k2
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    seen: list[str] = []
    counts: list[int] = []
    kwargs: dict[str, Any] = {"Bucket": bucket, "MaxKeys": 10}
    while True:
        r = s3.list_objects_v2(**kwargs)
        assert r["MaxKeys"] == 10
        seen += keys_of(r)
        counts.append(r["KeyCount"])
        if not r["IsTruncated"]:
            assert "NextContinuationToken" not in r
            break
        kwargs["ContinuationToken"] = r["NextContinuationToken"]
        assert len(counts) < 5
    assert counts == [10, 10, 5]
    assert seen == sorted(keys)


def test_list_start_after(s3: Any, bucket: str) -> None:
    """ListObjectsV2 with StartAfter: only keys after it (it need not exist); it is echoed."""
    for key in ["a", "b", "c", "d"]:
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    r = s3.list_objects_v2(Bucket=bucket, StartAfter="b")
    assert (keys_of(r), r["StartAfter"]) == (["c", "d"], "b")
    assert keys_of(s3.list_objects_v2(Bucket=bucket, StartAfter="bb")) == ["c", "d"]


def test_list_empty_bucket(s3: Any, bucket: str) -> None:
    """ListObjectsV2 of an empty bucket: KeyCount 0, no Contents, not truncated."""
    r = s3.list_objects_v2(Bucket=bucket)
    assert (status(r), r["KeyCount"], r["IsTruncated"], r["Name"]) == (200, 0, False, bucket)
    assert "Contents" not in r


# --- copies ----------------------------------------------------------------------------------


def test_copy_object_same_bucket(s3: Any, bucket: str) -> None:
    """CopyObject: the copy has the source's bytes, ETag, Content-Type and user metadata."""
    s3.put_object(
        Bucket=bucket, Key="src", Body=b"payload", ContentType="text/x", Metadata={"a": "b"}
    )
    r = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert status(r) == 200
    assert r["CopyObjectResult"]["ETag"] == md5_etag(b"payload")
    got = s3.get_object(Bucket=bucket, Key="dst")
    assert got["Body"].read() == b"payload"
    assert (got["ETag"], got["ContentType"], got["Metadata"]) == (
        md5_etag(b"payload"),
        "text/x",
        {"a": "b"},
    )


def test_copy_object_to_another_bucket(s3: Any, bucket: str) -> None:
    """CopyObject across buckets, through a key that needs escaping; the source stays."""
    other = unique_bucket()
    s3.create_bucket(Bucket=other)
    s3.put_object(Bucket=bucket, Key="dir/a b+c.txt", Body=b"across")
    r = s3.copy_object(
        Bucket=other, Key="copy", CopySource={"Bucket": bucket, "Key": "dir/a b+c.txt"}
    )
    assert r["CopyObjectResult"]["ETag"] == md5_etag(b"across")
    assert s3.get_object(Bucket=other, Key="copy")["Body"].read() == b"across"
    assert s3.get_object(Bucket=bucket, Key="dir/a b+c.txt")["Body"].read() == b"across"


def test_copy_object_replace_metadata(s3: Any, bucket: str) -> None:
    """CopyObject with MetadataDirective REPLACE takes the request's metadata, not the source's."""
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", ContentType="text/x", Metadata={"a": "b"})
    s3.copy_object(
        Bucket=bucket,
        Key="dst",
        CopySource={"Bucket": bucket, "Key": "src"},
        MetadataDirective="REPLACE",
        Metadata={"c": "d"},
        ContentType="text/y",
    )
    head = s3.head_object(Bucket=bucket, Key="dst")
    assert (head["Metadata"], head["ContentType"]) == ({"c": "d"}, "text/y")


def test_copy_object_onto_itself_unchanged_is_invalid(s3: Any, bucket: str) -> None:
    """Copying an object onto itself without changing anything: 400 InvalidRequest."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    fails(
        400,
        "InvalidRequest",
        s3.copy_object,
        Bucket=bucket,
        Key="k",
        CopySource={"Bucket": bucket, "Key": "k"},
    )


def test_copy_from_missing_source(s3: Any, bucket: str) -> None:
    """CopyObject from a missing key: 404 NoSuchKey; from a missing bucket: 404 NoSuchBucket."""
    fails(
        404,
        "NoSuchKey",
        s3.copy_object,
        Bucket=bucket,
        Key="dst",
        CopySource={"Bucket": bucket, "Key": "nope"},
    )
    fails(
        404,
        "NoSuchBucket",
        s3.copy_object,
        Bucket=bucket,
        Key="dst",
        CopySource={"Bucket": unique_bucket(), "Key": "nope"},
    )
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


# --- multipart uploads -----------------------------------------------------------------------


def test_multipart_upload_three_parts(s3: Any, bucket: str) -> None:
    """Create, UploadPart x3 (5 MiB, 5 MiB, a short last one), ListParts, Complete: the
    object is the concatenation, its ETag md5(part digests)-3, metadata from Create."""
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"the end"]
    up = s3.create_multipart_upload(
        Bucket=bucket, Key="mp", ContentType="text/x", Metadata={"m": "n"}
    )
    upload_id = up["UploadId"]
    assert (up["Bucket"], up["Key"]) == (bucket, "mp")
    listed = s3.list_multipart_uploads(Bucket=bucket)
    assert [(u["Key"], u["UploadId"]) for u in listed["Uploads"]] == [("mp", upload_id)]
    etags = []
    for number, part in enumerate(parts, 1):
        r = s3.upload_part(
            Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=number, Body=part
        )
        assert r["ETag"] == md5_etag(part)
        etags.append(r["ETag"])
    fails(404, "NoSuchKey", s3.get_object, Bucket=bucket, Key="mp")  # not an object yet
    lp = s3.list_parts(Bucket=bucket, Key="mp", UploadId=upload_id)
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in lp["Parts"]] == [
        (1, etags[0], 5 * MiB),
        (2, etags[1], 5 * MiB),
        (3, etags[2], len(b"the end")),
    ]
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]},
    )
    assert status(done) == 200
    assert (done["Bucket"], done["Key"]) == (bucket, "mp")
    assert done["ETag"] == multipart_etag(parts)
    got = s3.get_object(Bucket=bucket, Key="mp")
    assert got["Body"].read() == b"".join(parts)
    assert (got["ETag"], got["ContentLength"]) == (multipart_etag(parts), 10 * MiB + 7)
    assert (got["ContentType"], got["Metadata"]) == ("text/x", {"m": "n"})
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)


def test_multipart_part_too_small_is_entity_too_small(s3: Any, bucket: str) -> None:
    """Completing with a part under 5 MiB that is not the last: 400 EntityTooSmall, no object."""
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    parts = []
    for number, body in enumerate([b"a" * 1024, b"b" * 1024], 1):
        etag = s3.upload_part(
            Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=number, Body=body
        )["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    fails(
        400,
        "EntityTooSmall",
        s3.complete_multipart_upload,
        Bucket=bucket,
        Key="mp",
        UploadId=upload_id,
        MultipartUpload={"Parts": parts},
    )
    fails(404, "NoSuchKey", s3.get_object, Bucket=bucket, Key="mp")


def test_multipart_wrong_part_etag_is_invalid_part(s3: Any, bucket: str) -> None:
    """Completing with an ETag that is not the uploaded part's: 400 InvalidPart."""
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=1, Body=b"x")
    fails(
        400,
        "InvalidPart",
        s3.complete_multipart_upload,
        Bucket=bucket,
        Key="mp",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": md5_etag(b"y")}]},
    )


def test_abort_multipart_upload(s3: Any, bucket: str) -> None:
    """AbortMultipartUpload: 204; the upload is gone (ListParts 404 NoSuchUpload), no object."""
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=1, Body=b"x")
    assert status(s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload_id)) == 204
    fails(404, "NoSuchUpload", s3.list_parts, Bucket=bucket, Key="mp", UploadId=upload_id)
    fails(404, "NoSuchKey", s3.get_object, Bucket=bucket, Key="mp")
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)


def test_upload_part_after_abort_is_no_such_upload(
    request: pytest.FixtureRequest, s3: Any, bucket: str
) -> None:
    """UploadPart to an aborted upload: 404 NoSuchUpload."""
    moto_differs(request, "answers UploadPart to an unknown upload with 500 InternalError")
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload_id)
    fails(
        404,
        "NoSuchUpload",
        s3.upload_part,
        Bucket=bucket,
        Key="mp",
        UploadId=upload_id,
        PartNumber=1,
        Body=b"x",
    )


def test_upload_file_and_download_file_20_mib(s3: Any, bucket: str, tmp_path: Path) -> None:
    """boto3's managed transfer: upload_file of 20 MiB goes multipart (8 MiB parts: ETag -3)
    and download_file (ranged GETs) brings back the same bytes."""
    src, dst = tmp_path / "src.bin", tmp_path / "dst.bin"
    data = os.urandom(20 * MiB)
    src.write_bytes(data)
    config = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB)
    s3.upload_file(str(src), bucket, "big/file.bin", Config=config)
    head = s3.head_object(Bucket=bucket, Key="big/file.bin")
    chunks = [data[i : i + 8 * MiB] for i in range(0, len(data), 8 * MiB)]
    assert (head["ContentLength"], head["ETag"]) == (20 * MiB, multipart_etag(chunks))
    s3.download_file(bucket, "big/file.bin", str(dst), Config=config)
    assert hashlib.sha256(dst.read_bytes()).digest() == hashlib.sha256(data).digest()


# --- keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "ünïcödé/日本語.txt",
        "with space.txt",
        "a+b=c.txt",
        "100%.txt",
        "50%25off",
        "dir/sub/leaf.txt",
        "~t!*'()&$@=;:,?#[].txt",
        "a//b",
        "x/../y",
        "trailing/",
    ],
)
def test_key_round_trip(s3: Any, bucket: str, key: str) -> None:
    """Keys with unicode, spaces, + % and other reserved characters, and odd slashes are kept
    byte for byte: put, get, head, list (boto3 asks for url-encoded listings), delete."""
    body = key.encode()
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == len(body)
    assert keys_of(s3.list_objects_v2(Bucket=bucket)) == [key]
    assert keys_of(s3.list_objects_v2(Bucket=bucket, Prefix=key)) == [key]
    s3.delete_object(Bucket=bucket, Key=key)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


# --- virtual-hosted-style requests -----------------------------------------------------------


def test_virtual_hosted_style(s3: Any, s3_endpoint: S3Endpoint, bucket: str) -> None:
    """Requests with Host: <bucket>.localhost:<port> address the bucket: GetObject of
    /<key>, ListObjectsV2 of /, and NoSuchKey for a missing key."""
    key = "dir/a b.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=b"virtual")
    host = f"{bucket}.localhost:{s3_endpoint.port}"
    r = s3_endpoint.request("GET", "/" + quote(key, safe="/~"), host=host)
    assert (r.status, r.body) == (200, b"virtual")
    assert r.headers["etag"] == md5_etag(b"virtual")
    listing = s3_endpoint.request("GET", "/?list-type=2", host=host)
    assert listing.status == 200
    assert b"<Key>dir/a b.txt</Key>" in listing.body
    missing = s3_endpoint.request("GET", "/nope", host=host)
    assert (missing.status, missing.error_code) == (404, "NoSuchKey")
