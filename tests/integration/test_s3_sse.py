"""S3's object data path beyond plain bytes, against a real `faaslab up` with boto3 and the
aws CLI: server-side encryption (SSE-S3, SSE-KMS with a local key, SSE-C, bucket default
encryption), the additional checksums, and UploadPartCopy."""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import sqlite3
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from awscrt import checksums as crt
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from faaslab.cliutil import LOCAL_KEYS
from tests.conftest import ROOT, Faaslab, start_faaslab

TEMPLATE = ROOT / "tests" / "contract" / "fixtures" / "s3.yaml"
MB = 1024 * 1024
KEY_A = os.urandom(16).hex().encode()  # 32 bytes (boto3 takes the key as text)
KEY_B = os.urandom(16).hex().encode()


def sse_c(key: bytes) -> dict[str, str]:
    """boto3's SSE-C parameters (it sends the key's MD5 itself)."""
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key.decode("latin-1")}


@pytest.fixture(scope="module")
def fl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faaslab]:
    f = start_faaslab(TEMPLATE, tmp_path_factory.mktemp("s3sse") / "state")
    yield f
    assert f.stop() == 0
    assert "Traceback" not in f.log_path.read_text(), f.log_path.read_text()


@pytest.fixture(scope="module")
def s3(fl: Faaslab) -> Any:
    return fl.aws("s3")


@pytest.fixture
def bucket(s3: Any, request: pytest.FixtureRequest) -> str:
    name = "sse-" + hashlib.md5(request.node.name.encode()).hexdigest()[:16]
    s3.create_bucket(Bucket=name)
    return name


def stored_bytes(fl: Faaslab, bucket: str, key: str) -> bytes:
    """The bytes faaslab keeps on disk for an object (its blob, or its index row)."""
    root = fl.state_dir / "s3"
    db = sqlite3.connect(root / "index.db")
    try:
        blob, data = db.execute(
            "SELECT blob, data FROM objects WHERE bucket=? AND key=?", (bucket, key)
        ).fetchone()
    finally:
        db.close()
    return (root / "blobs" / blob).read_bytes() if blob else bytes(data)


def error(e: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    r = e.value.response
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]


# -- SSE-S3
@pytest.mark.parametrize("size", [1000, 3 * MB])
def test_sse_s3_is_encrypted_at_rest_and_read_back(
    fl: Faaslab, s3: Any, bucket: str, size: int
) -> None:
    body = (b"plaintext-marker " * (size // 17 + 1))[:size]
    put = s3.put_object(Bucket=bucket, Key="k", Body=body, ServerSideEncryption="AES256")
    assert put["ServerSideEncryption"] == "AES256"
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'  # SSE-S3: still the MD5
    on_disk = stored_bytes(fl, bucket, "k")
    assert len(on_disk) == size and b"plaintext-marker" not in on_disk
    master = fl.state_dir / "s3" / "master.key"
    assert master.stat().st_mode & 0o777 == 0o600 and len(master.read_bytes()) == 32
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["ServerSideEncryption"] == "AES256"
    assert got["Body"].read() == body
    assert s3.head_object(Bucket=bucket, Key="k")["ServerSideEncryption"] == "AES256"
    # ranged reads decrypt from any offset, across AES blocks
    for first, last in [(0, 0), (5, 20), (17, 16 * 1024 + 3), (size - 7, size - 1)]:
        part = s3.get_object(Bucket=bucket, Key="k", Range=f"bytes={first}-{last}")
        assert part["Body"].read() == body[first : last + 1]


def test_sse_s3_multipart_copy_and_ranges(fl: Faaslab, s3: Any, bucket: str) -> None:
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp", ServerSideEncryption="AES256")
    assert up["ServerSideEncryption"] == "AES256"
    parts, whole = [], b""
    for n, size in [(1, 5 * MB + 1), (2, 123)]:
        data = os.urandom(size)
        whole += data
        r = s3.upload_part(
            Bucket=bucket, Key="mp", UploadId=up["UploadId"], PartNumber=n, Body=data
        )
        assert r["ServerSideEncryption"] == "AES256"
        parts.append({"PartNumber": n, "ETag": r["ETag"]})
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=up["UploadId"], MultipartUpload={"Parts": parts}
    )
    assert done["ServerSideEncryption"] == "AES256"
    assert whole[:4096] not in stored_bytes(fl, bucket, "mp")
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == whole
    edge = 5 * MB + 1
    r = s3.get_object(Bucket=bucket, Key="mp", Range=f"bytes={edge - 10}-{edge + 10}")
    assert r["Body"].read() == whole[edge - 10 : edge + 11]
    # copy: an encrypted source to a clear target and back
    s3.copy_object(Bucket=bucket, Key="clear", CopySource={"Bucket": bucket, "Key": "mp"})
    assert stored_bytes(fl, bucket, "clear") == whole
    assert "ServerSideEncryption" not in s3.head_object(Bucket=bucket, Key="clear")
    c = s3.copy_object(
        Bucket=bucket,
        Key="again",
        CopySource={"Bucket": bucket, "Key": "clear"},
        ServerSideEncryption="AES256",
    )
    assert c["ServerSideEncryption"] == "AES256"
    assert stored_bytes(fl, bucket, "again") != whole
    assert s3.get_object(Bucket=bucket, Key="again")["Body"].read() == whole


def test_sse_headers_on_reads_and_bad_values_are_refused(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="AES256")
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="AES512")
    assert error(e) == (400, "InvalidArgument")
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", SSEKMSKeyId="some-key")
    assert error(e) == (400, "InvalidArgument")

    def add_sse(params: Any, **_: Any) -> None:
        params["headers"]["x-amz-server-side-encryption"] = "AES256"

    s3.meta.events.register("before-call.s3.HeadObject", add_sse)
    try:
        with pytest.raises(ClientError) as e:
            s3.head_object(Bucket=bucket, Key="k")
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    finally:
        s3.meta.events.unregister("before-call.s3.HeadObject", add_sse)


# -- SSE-KMS (faaslab's local key)
def test_sse_kms_with_a_local_key(fl: Faaslab, s3: Any, bucket: str) -> None:
    body = b"kms plaintext " * 100
    put = s3.put_object(Bucket=bucket, Key="k", Body=body, ServerSideEncryption="aws:kms")
    assert put["ServerSideEncryption"] == "aws:kms"
    default_arn = put["SSEKMSKeyId"]
    assert default_arn.startswith("arn:aws:kms:us-east-1:123456789012:key/")
    assert put["ETag"] != f'"{hashlib.md5(body).hexdigest()}"'  # not the MD5, as S3
    assert b"kms plaintext" not in stored_bytes(fl, bucket, "k")
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == body and got["SSEKMSKeyId"] == default_arn
    put = s3.put_object(
        Bucket=bucket,
        Key="k2",
        Body=body,
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId="1234abcd-12ab-34cd-56ef-1234567890ab",
        BucketKeyEnabled=True,
    )
    arn = "1234abcd-12ab-34cd-56ef-1234567890ab"  # echoed as given (no KMS to resolve it)
    assert put["SSEKMSKeyId"] == arn and put["BucketKeyEnabled"] is True
    head = s3.head_object(Bucket=bucket, Key="k2")
    assert head["SSEKMSKeyId"] == arn and head["ServerSideEncryption"] == "aws:kms"


# -- SSE-C
def test_sse_c_needs_its_key_which_is_never_stored(fl: Faaslab, s3: Any, bucket: str) -> None:
    body = b"customer secret " * 5000
    put = s3.put_object(Bucket=bucket, Key="k", Body=body, **sse_c(KEY_A))
    md5 = base64.b64encode(hashlib.md5(KEY_A).digest()).decode()
    assert put["SSECustomerAlgorithm"] == "AES256" and put["SSECustomerKeyMD5"] == md5
    assert put["ETag"] != f'"{hashlib.md5(body).hexdigest()}"'
    assert b"customer secret" not in stored_bytes(fl, bucket, "k")
    for path in (fl.state_dir / "s3").rglob("*"):
        if path.is_file():
            assert KEY_A not in path.read_bytes(), path
    got = s3.get_object(Bucket=bucket, Key="k", Range="bytes=10-99", **sse_c(KEY_A))
    assert got["Body"].read() == body[10:100] and got["SSECustomerKeyMD5"] == md5
    assert s3.head_object(Bucket=bucket, Key="k", **sse_c(KEY_A))["ContentLength"] == len(body)
    with pytest.raises(ClientError) as e:
        s3.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=["ObjectSize"])
    assert error(e) == (400, "InvalidRequest")
    attrs = s3.get_object_attributes(  # (boto3 encodes the key for this one only if told)
        Bucket=bucket,
        Key="k",
        ObjectAttributes=["ObjectSize", "ETag"],
        SSECustomerAlgorithm="AES256",
        SSECustomerKey=base64.b64encode(KEY_A).decode(),
        SSECustomerKeyMD5=md5,
    )
    assert attrs["ObjectSize"] == len(body) and attrs["ETag"] == put["ETag"].strip('"')
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k")
    assert error(e) == (400, "InvalidRequest")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k", **sse_c(KEY_B))
    assert error(e) == (403, "AccessDenied")
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="k", **sse_c(KEY_B))
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # copy: the source's key as x-amz-copy-source-server-side-encryption-customer-*
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="c", CopySource={"Bucket": bucket, "Key": "k"})
    assert error(e) == (400, "InvalidRequest")
    s3.copy_object(
        Bucket=bucket,
        Key="c",
        CopySource={"Bucket": bucket, "Key": "k"},
        CopySourceSSECustomerAlgorithm="AES256",
        CopySourceSSECustomerKey=KEY_A.decode("latin-1"),
        **sse_c(KEY_B),
    )
    assert s3.get_object(Bucket=bucket, Key="c", **sse_c(KEY_B))["Body"].read() == body


def test_sse_c_key_md5_is_checked(fl: Faaslab, bucket: str) -> None:
    s3 = fl.aws("s3")
    wrong = {
        "x-amz-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-server-side-encryption-customer-key": base64.b64encode(KEY_A).decode(),
        "x-amz-server-side-encryption-customer-key-MD5": "AAAAAAAAAAAAAAAAAAAAAA==",
    }

    def add(params: Any, **_: Any) -> None:
        params["headers"].update(wrong)

    s3.meta.events.register("before-call.s3.PutObject", add)
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert error(e) == (400, "InvalidArgument")
    assert e.value.response["Error"]["Message"] == (
        "The calculated MD5 hash of the key did not match the hash that was provided."
    )


def test_sse_c_multipart_each_part_with_the_key(s3: Any, bucket: str) -> None:
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp", **sse_c(KEY_A))
    uid = up["UploadId"]
    data1, data2 = os.urandom(5 * MB), os.urandom(1000)
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=data1)
    assert error(e) == (400, "InvalidRequest")
    with pytest.raises(ClientError) as e:
        s3.upload_part(
            Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=data1, **sse_c(KEY_B)
        )
    assert error(e) == (400, "InvalidRequest")
    p1 = s3.upload_part(
        Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=data1, **sse_c(KEY_A)
    )
    p2 = s3.upload_part(
        Bucket=bucket, Key="mp", UploadId=uid, PartNumber=2, Body=data2, **sse_c(KEY_A)
    )
    parts = {
        "Parts": [{"PartNumber": 1, "ETag": p1["ETag"]}, {"PartNumber": 2, "ETag": p2["ETag"]}]
    }
    with pytest.raises(ClientError) as e:  # Complete gives the key again, as the parts did
        s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload=parts)
    assert error(e) == (400, "InvalidRequest")
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload=parts, **sse_c(KEY_A)
    )
    assert (
        done["ResponseMetadata"]["HTTPHeaders"]["x-amz-server-side-encryption-customer-algorithm"]
        == "AES256"
    )
    got = s3.get_object(Bucket=bucket, Key="mp", **sse_c(KEY_A))["Body"].read()
    assert got == data1 + data2
    with pytest.raises(ClientError):
        s3.get_object(Bucket=bucket, Key="mp")


def test_aws_cli_cp_with_sse_and_sse_c(fl: Faaslab, bucket: str, tmp_path: Path) -> None:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": LOCAL_KEYS["aws_access_key_id"]}
    env["AWS_SECRET_ACCESS_KEY"] = LOCAL_KEYS["aws_secret_access_key"]
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    aws = [str(Path(sys.executable).parent / "aws"), "--endpoint-url", fl.url, "s3"]

    def run(*args: str) -> None:
        done = subprocess.run(
            [*aws, *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr

    src = tmp_path / "f.bin"
    data = b"cli plaintext " * (700 * 1024)  # ~9.8 MB: the CLI uploads it in parts
    src.write_bytes(data)
    run("cp", str(src), f"s3://{bucket}/s3", "--sse", "AES256")
    assert b"cli plaintext" not in stored_bytes(fl, bucket, "s3")
    key = "k" * 32
    run("cp", str(src), f"s3://{bucket}/c", "--sse-c", "AES256", "--sse-c-key", key)
    run("cp", f"s3://{bucket}/c", str(tmp_path / "back"), "--sse-c", "AES256", "--sse-c-key", key)
    assert (tmp_path / "back").read_bytes() == data
    run("cp", f"s3://{bucket}/s3", str(tmp_path / "back2"))
    assert (tmp_path / "back2").read_bytes() == data


# -- default bucket encryption
def test_default_bucket_encryption(fl: Faaslab, s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as e:
        s3.get_bucket_encryption(Bucket=bucket)
    assert error(e) == (404, "ServerSideEncryptionConfigurationNotFoundError")
    s3.put_object(Bucket=bucket, Key="before", Body=b"clear bytes")
    assert stored_bytes(fl, bucket, "before") == b"clear bytes"
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    put = s3.put_object(Bucket=bucket, Key="after", Body=b"clear bytes")
    assert put["ServerSideEncryption"] == "AES256"
    assert stored_bytes(fl, bucket, "after") != b"clear bytes"
    assert s3.get_object(Bucket=bucket, Key="after")["Body"].read() == b"clear bytes"
    s3.delete_bucket_encryption(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_encryption(Bucket=bucket)
    assert error(e) == (404, "ServerSideEncryptionConfigurationNotFoundError")
    assert "ServerSideEncryption" not in s3.put_object(Bucket=bucket, Key="x", Body=b"y")


# -- checksums
def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


BODY = os.urandom(300 * 1024) + b"tail"


def _xxhash(make: Any) -> bytes:
    h = make()
    h.update(BODY)
    digest: bytes = h.finalize()
    return digest


EXPECTED = {
    "CRC32": _b64(zlib.crc32(BODY).to_bytes(4, "big")),
    "CRC32C": _b64(crt.crc32c(BODY).to_bytes(4, "big")),
    "CRC64NVME": _b64(crt.crc64nvme(BODY).to_bytes(8, "big")),
    "SHA1": _b64(hashlib.sha1(BODY).digest()),
    "SHA256": _b64(hashlib.sha256(BODY).digest()),
    "SHA512": _b64(hashlib.sha512(BODY).digest()),
    "XXHASH64": _b64(_xxhash(crt.XXHash.new_xxhash64)),
    "XXHASH3": _b64(_xxhash(crt.XXHash.new_xxhash3_64)),
    "XXHASH128": _b64(_xxhash(crt.XXHash.new_xxhash3_128)),
}


@pytest.mark.parametrize("algorithm", sorted(EXPECTED))
def test_checksum_round_trip(s3: Any, bucket: str, algorithm: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="k", Body=BODY, ChecksumAlgorithm=algorithm)
    assert put[f"Checksum{algorithm}"] == EXPECTED[algorithm]
    head = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == EXPECTED[algorithm]
    assert head["ChecksumType"] == "FULL_OBJECT"
    got = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got["Body"].read() == BODY and got[f"Checksum{algorithm}"] == EXPECTED[algorithm]
    wrong = _b64(b"\0" * len(base64.b64decode(EXPECTED[algorithm])))
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="k", Body=BODY, **{f"Checksum{algorithm}": wrong})
    assert error(e) == (400, "BadDigest")


@pytest.mark.parametrize(
    ("algorithm", "kind"),
    [("SHA256", "COMPOSITE"), ("CRC32C", "COMPOSITE"), ("CRC32", "FULL_OBJECT"),
     ("CRC64NVME", "FULL_OBJECT")],
)  # fmt: skip
def test_multipart_checksums(s3: Any, bucket: str, algorithm: str, kind: str) -> None:
    up = s3.create_multipart_upload(
        Bucket=bucket, Key="mp", ChecksumAlgorithm=algorithm, ChecksumType=kind
    )
    assert up["ChecksumAlgorithm"] == algorithm and up["ChecksumType"] == kind
    datas = [os.urandom(5 * MB), os.urandom(777)]
    parts = []
    for n, data in enumerate(datas, 1):
        r = s3.upload_part(
            Bucket=bucket,
            Key="mp",
            UploadId=up["UploadId"],
            PartNumber=n,
            Body=data,
            ChecksumAlgorithm=algorithm,
        )
        parts.append(
            {"PartNumber": n, "ETag": r["ETag"], f"Checksum{algorithm}": r[f"Checksum{algorithm}"]}
        )
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=up["UploadId"], MultipartUpload={"Parts": parts}
    )
    whole = b"".join(datas)
    if kind == "COMPOSITE":
        h = hashlib.sha256() if algorithm == "SHA256" else None
        raw = b"".join(base64.b64decode(p[f"Checksum{algorithm}"]) for p in parts)
        if h is not None:
            h.update(raw)
            expected = f"{_b64(h.digest())}-2"
        else:
            expected = f"{_b64(crt.crc32c(raw).to_bytes(4, 'big'))}-2"
    elif algorithm == "CRC32":
        expected = _b64(zlib.crc32(whole).to_bytes(4, "big"))
    else:
        expected = _b64(crt.crc64nvme(whole).to_bytes(8, "big"))
    assert done[f"Checksum{algorithm}"] == expected and done["ChecksumType"] == kind
    head = s3.head_object(Bucket=bucket, Key="mp", ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == expected and head["ChecksumType"] == kind
    attrs = s3.get_object_attributes(
        Bucket=bucket, Key="mp", ObjectAttributes=["Checksum", "ObjectParts", "ObjectSize"]
    )
    assert attrs["Checksum"] == {f"Checksum{algorithm}": expected, "ChecksumType": kind}
    assert attrs["ObjectSize"] == len(whole)
    assert attrs["ObjectParts"]["TotalPartsCount"] == 2
    got_parts = attrs["ObjectParts"]["Parts"]
    assert [p["Size"] for p in got_parts] == [len(d) for d in datas]
    assert [p[f"Checksum{algorithm}"] for p in got_parts] == [
        p[f"Checksum{algorithm}"] for p in parts
    ]
    assert "x-faaslab-parts" not in head["ResponseMetadata"]["HTTPHeaders"]


def test_multipart_checksum_mismatch_is_bad_digest(s3: Any, bucket: str) -> None:
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp", ChecksumAlgorithm="SHA256")
    r = s3.upload_part(
        Bucket=bucket,
        Key="mp",
        UploadId=up["UploadId"],
        PartNumber=1,
        Body=b"abc",
        ChecksumAlgorithm="SHA256",
    )
    part = {"PartNumber": 1, "ETag": r["ETag"], "ChecksumSHA256": r["ChecksumSHA256"]}
    with pytest.raises(ClientError) as e:  # a part of another algorithm
        s3.upload_part(
            Bucket=bucket,
            Key="mp",
            UploadId=up["UploadId"],
            PartNumber=2,
            Body=b"abc",
            ChecksumAlgorithm="CRC32",
        )
    assert error(e) == (400, "InvalidRequest")
    assert "expected checksum Type: sha256" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="mp",
            UploadId=up["UploadId"],
            ChecksumSHA256=_b64(b"\0" * 32),
            MultipartUpload={"Parts": [part]},
        )
    assert error(e) == (400, "BadDigest")
    with pytest.raises(ClientError) as e:
        s3.create_multipart_upload(
            Bucket=bucket, Key="x", ChecksumAlgorithm="SHA256", ChecksumType="FULL_OBJECT"
        )
    assert error(e) == (400, "InvalidRequest")


# -- UploadPartCopy
def test_upload_part_copy_with_ranges(fl: Faaslab, s3: Any, bucket: str) -> None:
    source = os.urandom(6 * MB + 100)
    s3.put_object(Bucket=bucket, Key="src", Body=source)
    s3.put_object(Bucket=bucket, Key="enc", Body=source, **sse_c(KEY_A))
    up = s3.create_multipart_upload(Bucket=bucket, Key="dst", ServerSideEncryption="AES256")
    uid = up["UploadId"]
    first = s3.upload_part_copy(
        Bucket=bucket,
        Key="dst",
        UploadId=uid,
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "src"},
        CopySourceRange=f"bytes=0-{5 * MB - 1}",
    )
    assert first["CopyPartResult"]["ETag"] == f'"{hashlib.md5(source[: 5 * MB]).hexdigest()}"'
    second = s3.upload_part_copy(
        Bucket=bucket,
        Key="dst",
        UploadId=uid,
        PartNumber=2,
        CopySource={"Bucket": bucket, "Key": "enc"},
        CopySourceRange="bytes=100-299",
        CopySourceSSECustomerAlgorithm="AES256",
        CopySourceSSECustomerKey=KEY_A.decode("latin-1"),
    )
    with pytest.raises(ClientError) as e:
        s3.upload_part_copy(
            Bucket=bucket,
            Key="dst",
            UploadId=uid,
            PartNumber=3,
            CopySource={"Bucket": bucket, "Key": "src"},
            CopySourceRange=f"bytes=0-{len(source)}",
        )
    assert error(e)[1] == "InvalidRange"
    with pytest.raises(ClientError) as e:
        s3.upload_part_copy(
            Bucket=bucket,
            Key="dst",
            UploadId=uid,
            PartNumber=3,
            CopySource={"Bucket": bucket, "Key": "src"},
            CopySourceRange="bytes=5-",
        )
    assert error(e) == (400, "InvalidArgument")
    with pytest.raises(ClientError) as e:
        s3.upload_part_copy(
            Bucket=bucket,
            Key="dst",
            UploadId=uid,
            PartNumber=3,
            CopySource={"Bucket": bucket, "Key": "src"},
            CopySourceIfMatch='"0123"',
        )
    assert error(e) == (412, "PreconditionFailed")
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="dst",
        UploadId=uid,
        MultipartUpload={
            "Parts": [
                {"PartNumber": 1, "ETag": first["CopyPartResult"]["ETag"]},
                {"PartNumber": 2, "ETag": second["CopyPartResult"]["ETag"]},
            ]
        },
    )
    expected = source[: 5 * MB] + source[100:300]
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == expected
    assert expected[:4096] not in stored_bytes(fl, bucket, "dst")


class _StreamingAuth(S3SigV4Auth):
    """SigV4 of an aws-chunked body whose chunks are not signed (the payload's hash is
    the streaming marker)."""

    def payload(self, request: Any) -> str:
        return "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


@pytest.mark.parametrize("algorithm", ["CRC32C", "CRC64NVME", "SHA1"])
def test_trailing_checksum_in_aws_chunked_body(
    fl: Faaslab, s3: Any, bucket: str, algorithm: str
) -> None:
    """What SDKs send over https: the body as aws-chunked, its checksum as a trailer."""
    name = f"x-amz-checksum-{algorithm.lower()}"
    chunks = [BODY[:65536], BODY[65536:]]
    framed = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks)

    def send(value: str) -> tuple[int, bytes]:
        body = framed + b"0\r\n" + f"{name}:{value}\r\n\r\n".encode()
        headers = {
            "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "Content-Encoding": "aws-chunked",
            "x-amz-decoded-content-length": str(len(BODY)),
            "x-amz-trailer": name,
            "x-amz-sdk-checksum-algorithm": algorithm,
            "Content-Length": str(len(body)),
        }
        req = AWSRequest("PUT", f"{fl.url}/{bucket}/t", headers=headers)
        creds = Credentials(LOCAL_KEYS["aws_access_key_id"], LOCAL_KEYS["aws_secret_access_key"])
        _StreamingAuth(creds, "s3", "us-east-1").add_auth(req)
        conn = http.client.HTTPConnection(fl.url.removeprefix("http://"))
        conn.request("PUT", f"/{bucket}/t", body, {k: str(v) for k, v in req.headers.items()})
        r = conn.getresponse()
        out = r.status, r.read()
        conn.close()
        return out

    status, answer = send(EXPECTED[algorithm])
    assert status == 200, answer
    head = s3.head_object(Bucket=bucket, Key="t", ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == EXPECTED[algorithm]
    assert s3.get_object(Bucket=bucket, Key="t")["Body"].read() == BODY
    wrong = _b64(b"\1" * len(base64.b64decode(EXPECTED[algorithm])))
    status, answer = send(wrong)
    assert status == 400 and b"<Code>BadDigest</Code>" in answer, answer


def test_checksum_headers_s3_refuses(fl: Faaslab, bucket: str) -> None:
    s3 = fl.aws("s3")
    extra: dict[str, str] = {}

    def add(params: Any, **_: Any) -> None:
        params["headers"].update(extra)

    s3.meta.events.register("before-call.s3.PutObject", add)
    for headers, message in [
        (
            {"x-amz-checksum-sha256": EXPECTED["SHA256"], "x-amz-checksum-sha1": EXPECTED["SHA1"]},
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        ),
        (
            {"x-amz-sdk-checksum-algorithm": "ADLER32"},
            "Value for x-amz-sdk-checksum-algorithm header is invalid.",
        ),
    ]:
        extra.clear()
        extra.update(headers)
        with pytest.raises(ClientError) as e:
            s3.put_object(Bucket=bucket, Key="k", Body=BODY, ChecksumAlgorithm="CRC32C")
        assert error(e) == (400, "InvalidRequest")
        assert e.value.response["Error"]["Message"] == message


def test_encrypted_versions_and_copies_of_a_version(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"v1 " * 4000, **sse_c(KEY_A))
    s3.put_object(Bucket=bucket, Key="k", Body=b"v2 " * 4000, ServerSideEncryption="AES256")
    old = s3.get_object(Bucket=bucket, Key="k", VersionId=first["VersionId"], **sse_c(KEY_A))
    assert old["Body"].read() == b"v1 " * 4000
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k", VersionId=first["VersionId"])
    assert error(e) == (400, "InvalidRequest")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v2 " * 4000
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp")
    part = s3.upload_part_copy(
        Bucket=bucket,
        Key="mp",
        UploadId=up["UploadId"],
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "k", "VersionId": first["VersionId"]},
        CopySourceRange="bytes=3-8",
        CopySourceSSECustomerAlgorithm="AES256",
        CopySourceSSECustomerKey=KEY_A.decode("latin-1"),
    )
    assert part["CopySourceVersionId"] == first["VersionId"]
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=up["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]},
    )
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"v1 v1 "


def test_a_form_post_to_a_bucket_with_default_encryption(s3: Any, bucket: str, fl: Faaslab) -> None:
    """A browser's POST upload is encrypted as a PUT is, and reads back as sent (it was
    stored encrypted with no record of its key: a GET answered ciphertext)."""
    import requests

    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    post = s3.generate_presigned_post(bucket, "posted.txt")
    r = requests.post(
        post["url"], data=post["fields"], files={"file": ("f", b"sent by a form")}, timeout=30
    )
    assert r.status_code == 204, r.text
    assert r.headers["x-amz-server-side-encryption"] == "AES256"
    got = s3.get_object(Bucket=bucket, Key="posted.txt")
    assert got["Body"].read() == b"sent by a form"
    assert got["ServerSideEncryption"] == "AES256"
    assert stored_bytes(fl, bucket, "posted.txt") != b"sent by a form"  # (at rest: encrypted)


def test_an_older_version_with_the_same_body_reads_as_itself(s3: Any, bucket: str) -> None:
    """Two encrypted versions with one body (one ETag, two data keys): the older one's
    bytes are its own (it was read from the current version's row)."""
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    ids = [
        s3.put_object(Bucket=bucket, Key="k", Body=b"same", ServerSideEncryption="AES256")[
            "VersionId"
        ]
        for _ in range(2)
    ]
    for version in ids:
        got = s3.get_object(Bucket=bucket, Key="k", VersionId=version)
        assert got["Body"].read() == b"same", version
