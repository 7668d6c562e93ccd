"""Answers ceph's s3-tests caught faaslab giving wrongly (issue 14), on moto and faaslab:
a repeated CompleteMultipartUpload, GET/HEAD of one part (`partNumber`), bucket names with
a period next to a hyphen, non-ASCII user metadata, a key that is not UTF-8."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.contract.conftest import S3Endpoint
from tests.contract.test_s3_contract import (
    MiB,
    fails,
    moto_differs,
    multipart_etag,
    unique_bucket,
)


@pytest.fixture
def bkt(s3: Any) -> str:
    """A new, empty bucket of this test's own."""
    name = unique_bucket()
    s3.create_bucket(Bucket=name)
    return name


def _multipart(s3: Any, bkt: str, key: str, parts: list[bytes]) -> tuple[str, Any, list[Any]]:
    upload = s3.create_multipart_upload(Bucket=bkt, Key=key)["UploadId"]
    done = [
        {
            "PartNumber": i,
            "ETag": s3.upload_part(Bucket=bkt, Key=key, UploadId=upload, PartNumber=i, Body=data)[
                "ETag"
            ],
        }
        for i, data in enumerate(parts, 1)
    ]
    return upload, {"Parts": done}, done


def test_repeated_complete_multipart_upload_answers_again(
    request: pytest.FixtureRequest, s3: Any, bkt: str
) -> None:
    """A client whose CompleteMultipartUpload answer was lost retries it: S3 answers the
    same ETag again rather than NoSuchUpload."""
    moto_differs(request, "answers 500 to CompleteMultipartUpload of another key's upload")
    parts = [os.urandom(5 * MiB), b"tail"]
    upload, layout, _ = _multipart(s3, bkt, "mp", parts)
    first = s3.complete_multipart_upload(
        Bucket=bkt, Key="mp", UploadId=upload, MultipartUpload=layout
    )
    again = s3.complete_multipart_upload(
        Bucket=bkt, Key="mp", UploadId=upload, MultipartUpload=layout
    )
    assert first["ETag"] == again["ETag"] == multipart_etag(parts)
    assert s3.get_object(Bucket=bkt, Key="mp")["Body"].read() == b"".join(parts)
    # another key's upload id is still unknown there
    fails(
        404,
        "NoSuchUpload",
        s3.complete_multipart_upload,
        Bucket=bkt,
        Key="other",
        UploadId=upload,
        MultipartUpload=layout,
    )


def test_get_and_head_one_part_of_a_multipart_object(
    request: pytest.FixtureRequest, s3: Any, bkt: str
) -> None:
    moto_differs(request, "answers a part with the part's ETag, not the object's")
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"last part"]
    upload, layout, _ = _multipart(s3, bkt, "mp", parts)
    fails(404, "NoSuchKey", s3.get_object, Bucket=bkt, Key="mp", PartNumber=1)
    etag = s3.complete_multipart_upload(
        Bucket=bkt, Key="mp", UploadId=upload, MultipartUpload=layout
    )["ETag"]
    for n, data in enumerate(parts, 1):
        head = s3.head_object(Bucket=bkt, Key="mp", PartNumber=n)
        assert (head["ContentLength"], head["PartsCount"], head["ETag"]) == (len(data), 3, etag)
        got = s3.get_object(Bucket=bkt, Key="mp", PartNumber=n)
        assert (got["PartsCount"], got["ETag"], got["ContentLength"]) == (3, etag, len(data))
        assert got["Body"].read() == data
    fails(400, "InvalidPart", s3.get_object, Bucket=bkt, Key="mp", PartNumber=4)


def test_part_one_of_an_object_put_whole_is_the_object(
    request: pytest.FixtureRequest, s3: Any, bkt: str
) -> None:
    moto_differs(request, "answers 416 to part 2 of an object PUT whole")
    etag = s3.put_object(Bucket=bkt, Key="k", Body=b"body")["ETag"]
    got = s3.get_object(Bucket=bkt, Key="k", PartNumber=1)
    assert (got["Body"].read(), got["ETag"]) == (b"body", etag)
    assert s3.head_object(Bucket=bkt, Key="k", PartNumber=1)["ContentLength"] == 4
    fails(400, "InvalidPart", s3.get_object, Bucket=bkt, Key="k", PartNumber=2)


@pytest.mark.parametrize("name", ["foo-.bar", "foo.-bar"])
def test_period_next_to_a_hyphen_is_an_invalid_bucket_name(
    request: pytest.FixtureRequest, s3: Any, name: str
) -> None:
    moto_differs(request, f"accepts the invalid bucket name {name!r}")
    fails(400, "InvalidBucketName", s3.create_bucket, Bucket=name)


def test_non_ascii_user_metadata_round_trips(s3: Any, bkt: str) -> None:
    """botocore sends a str header UTF-8 encoded and signs that (s3-tests'
    test_object_set_get_unicode_metadata sets the header itself, as here)."""

    def set_header(params: dict[str, Any], **_: Any) -> None:
        params["headers"]["x-amz-meta-meta1"] = "Hello World\xe9"

    s3.meta.events.register("before-call.s3.PutObject", set_header)
    try:
        s3.put_object(Bucket=bkt, Key="k", Body=b"bar")
    finally:
        s3.meta.events.unregister("before-call.s3.PutObject", set_header)
    meta = s3.head_object(Bucket=bkt, Key="k")["ResponseMetadata"]["HTTPHeaders"]
    assert meta["x-amz-meta-meta1"].encode("latin-1").decode() == "Hello World\xe9"


def test_key_that_is_not_utf8_is_invalid_uri(
    request: pytest.FixtureRequest,
    s3_endpoint: S3Endpoint,
    bkt: str,
) -> None:
    moto_differs(request, "answers 404 NoSuchKey")
    for method in ("GET", "PUT"):
        r = s3_endpoint.request(method, f"/{bkt}/%FF%FEkey", body=b"x" if method == "PUT" else b"")
        assert (r.status, r.error_code) == (400, "InvalidURI"), r


def test_large_put_whose_condition_fails_is_answered_412(s3: Any, bkt: str) -> None:
    """A body large enough to be received off the event loop (faaslab: from 1 MiB), whose
    If-Match no longer holds once it is in (s3-tests' test_atomic_dual_conditional_write_1mb):
    a 412 on the same connection, not a dropped connection; the object is unchanged."""
    first = s3.put_object(Bucket=bkt, Key="k", Body=b"A" * MiB)["ETag"]
    s3.put_object(Bucket=bkt, Key="k", Body=b"B" * MiB)
    for size in (MiB, 3 * MiB):
        fails(
            412,
            "PreconditionFailed",
            s3.put_object,
            Bucket=bkt,
            Key="k",
            Body=b"C" * size,
            IfMatch=first,
        )
    assert s3.get_object(Bucket=bkt, Key="k")["Body"].read() == b"B" * MiB
