"""Pure logic of S3's data path: CRC combination for FULL_OBJECT checksums, COMPOSITE
checksums, and AES-CTR decryption of any byte range of a multi-segment object."""

from __future__ import annotations

import base64
import hashlib
import os
import zlib
from pathlib import Path

import pytest
from awscrt import checksums as crt
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from faaslab.s3 import checksums, sse
from faaslab.s3.errors import S3Error

CRCS = {"crc32": (zlib.crc32, 4), "crc32c": (crt.crc32c, 4), "crc64nvme": (crt.crc64nvme, 8)}


@pytest.mark.parametrize("name", sorted(CRCS))
def test_full_object_crc_is_combined_from_the_parts(name: str) -> None:
    fn, width = CRCS[name]
    parts = [os.urandom(n) for n in (0, 1, 15, 4096, 100_003)]
    values = [(base64.b64encode(fn(p, 0).to_bytes(width, "big")).decode(), len(p)) for p in parts]
    whole = base64.b64encode(fn(b"".join(parts), 0).to_bytes(width, "big")).decode()
    assert checksums.full_object(name, values) == whole


def test_composite_checksum_hashes_the_parts_checksums() -> None:
    digests = [hashlib.sha256(p).digest() for p in (b"a", b"b", b"c")]
    values = [base64.b64encode(d).decode() for d in digests]
    expected = base64.b64encode(hashlib.sha256(b"".join(digests)).digest()).decode()
    assert checksums.composite("sha256", values) == f"{expected}-3"


def test_checksum_types_s3_refuses() -> None:
    checksums.check_type("crc32", "FULL_OBJECT")
    for name, kind in [("sha256", "FULL_OBJECT"), ("crc64nvme", "COMPOSITE"), ("crc32", "X")]:
        with pytest.raises(S3Error) as e:
            checksums.check_type(name, kind)
        assert e.value.code == "InvalidRequest"


def test_decrypt_any_range_of_a_multi_segment_object(tmp_path: Path) -> None:
    key = os.urandom(32)
    plain = [os.urandom(n) for n in (1000, 17, 33, 4097)]
    segs, cipher = [], b""
    for p in plain:
        iv = os.urandom(15) + b"\xff"  # near a counter wrap: the carry crosses bytes
        cipher += Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor().update(p)
        segs.append((iv, len(p)))
    whole = b"".join(plain)
    n = len(whole)
    for start, end in [(0, n), (0, 1), (999, 1001), (1016, 1051), (5, n - 3), (n - 1, n)]:
        assert bytes(sse.decrypt(key, segs, cipher, start, end)) == whole[start:end]
        spilled = sse.decrypt(key, segs, cipher, start, end, tmp_path / f"{start}-{end}")
        assert bytes(spilled) == whole[start:end]
    assert not list(tmp_path.iterdir())  # the spill files are unlinked at once
