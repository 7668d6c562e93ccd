"""Server-side encryption of object bytes at rest: SSE-S3, SSE-KMS (a local key), SSE-C.

Envelope encryption, as S3 describes it: every encrypted object has its own random 256-bit
data key; the bytes are AES-256-CTR under that key; the data key is stored wrapped
(AES-256-GCM, which also authenticates the unwrapping) by a key-encryption key:
- SSE-S3 and SSE-KMS: faaslab's master key, `<state>/s3/master.key` (32 random bytes,
  0600, made at first start). There is no KMS: any key id is accepted and echoed as given
  (S3 would echo a bare key id resolved to its ARN; there is nothing to resolve it
  against, and S3-compatible stores echo it as given); without one, the account's
  `aws/s3` key's ARN. Both encrypt the same way; only the headers differ.
- SSE-C: the customer's key itself, which is never stored: only its MD5 (which S3 echoes
  on every answer) and the data key wrapped by it. A read with another key fails to
  unwrap the data key (GCM's tag), which is the check (403 AccessDenied, as S3).

Why CTR: a ranged GET must decrypt from any byte offset, and CTR's keystream at offset o
is AES(key, IV + o // 16): one cipher set up per range, no reading from the start. (A
chunked GCM would add a tag per chunk to the blob and change its size; the blob's bytes
are not exposed, and CTR's lack of integrity is made up for by the object's checksums.)
A multipart object is one segment per part, each with its own IV under the upload's data
key, so Complete still joins the part blobs without re-encrypting them.

What an encrypted object stores (in its `headers` JSON, beside the public SSE headers S3
echoes): INTERNAL = {"k": wrapped data key, "s": [[IV, length], ...] segments}; never
returned to a client (`public_headers`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import mmap
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from faaslab.s3.errors import S3Error

SSE = "x-amz-server-side-encryption"
KMS_KEY_ID = "x-amz-server-side-encryption-aws-kms-key-id"
KMS_CONTEXT = "x-amz-server-side-encryption-context"
BUCKET_KEY = "x-amz-server-side-encryption-bucket-key-enabled"
C_ALGORITHM = "x-amz-server-side-encryption-customer-algorithm"
C_KEY = "x-amz-server-side-encryption-customer-key"
C_KEY_MD5 = "x-amz-server-side-encryption-customer-key-md5"
COPY_PREFIX = "x-amz-copy-source-"  # + the three customer headers: the copy source's key
_C_NAMES = (C_ALGORITHM, C_KEY, C_KEY_MD5)
_COPY_C_NAMES = tuple(n.replace("x-amz-", COPY_PREFIX, 1) for n in _C_NAMES)
INTERNAL = "x-faaslab-sse"  # ObjectInfo.headers key of the wrapped key and segments
# what S3 echoes on GET/HEAD of an encrypted object (stored under these names)
ECHOED = (SSE, KMS_KEY_ID, BUCKET_KEY, C_ALGORITHM, "x-amz-server-side-encryption-customer-key-MD5")
_STORED_C_MD5 = "x-amz-server-side-encryption-customer-key-MD5"

_WRAP_AAD = b"faaslab-s3-data-key"
_CHUNK = 4 << 20  # bytes decrypted per cipher call (CTR is ~2x faster in cache-sized runs)


@dataclass(frozen=True, slots=True)
class Spec:
    """The encryption a write asks for (or its bucket's default gives)."""

    algorithm: str  # "AES256" | "aws:kms" | "SSE-C"
    kms_key_id: str | None = None
    bucket_key: bool = False
    customer_key: bytes | None = field(default=None, repr=False)
    customer_key_md5: str | None = None
    context: str | None = None

    @property
    def opaque_etag(self) -> bool:
        """S3's ETag of an SSE-C or SSE-KMS object is not the MD5 of its bytes."""
        return self.algorithm != "AES256"

    def headers(self) -> dict[str, str]:
        """The public headers stored with the object and echoed on its answers."""
        if self.algorithm == "SSE-C":
            assert self.customer_key_md5 is not None
            return {C_ALGORITHM: "AES256", _STORED_C_MD5: self.customer_key_md5}
        h = {SSE: self.algorithm}
        if self.kms_key_id is not None:
            h[KMS_KEY_ID] = self.kms_key_id
        if self.bucket_key:
            h[BUCKET_KEY] = "true"
        return h


class Keyring:
    """The master key (SSE-S3/KMS key-encryption key) and the account's key ARNs."""

    def __init__(self, root: Path, region: str, account: str) -> None:
        self.region = region
        self.account = account
        path = root / "master.key"
        if not path.exists():  # made whole or not at all: written aside, then renamed
            tmp = root / "master.key.new"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, os.urandom(32))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
            dir_fd = os.open(root, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        self._master = path.read_bytes()
        if len(self._master) != 32:
            raise RuntimeError(f"{path}: not a 256-bit key")
        self.default_kms_key = self.kms_arn(
            "aws/s3-" + hashlib.sha256(self._master).hexdigest()[:24]
        )

    def kms_arn(self, key_id: str) -> str:
        return f"arn:aws:kms:{self.region}:{self.account}:key/{key_id}"

    def _kek(self, spec: Spec) -> bytes:
        if spec.algorithm == "SSE-C":
            assert spec.customer_key is not None
            return spec.customer_key
        return self._master

    def new_key(self, spec: Spec) -> DataKey:
        key = os.urandom(32)
        nonce = os.urandom(12)
        wrapped = nonce + AESGCM(self._kek(spec)).encrypt(nonce, key, _WRAP_AAD)
        return DataKey(key, base64.b64encode(wrapped).decode(), spec)

    def unwrap(self, stored: dict[str, str], spec: Spec | None) -> bytes:
        """The data key of an object or upload whose headers are `stored`; `spec` carries
        the customer's key for SSE-C ones (checked by the caller's `check_read`)."""
        facts = json.loads(stored[INTERNAL])
        blob = base64.b64decode(facts["k"])
        kek = self._master
        if C_ALGORITHM in stored:
            if spec is None or spec.customer_key is None:
                raise _needs_key()
            kek = spec.customer_key
        try:
            return AESGCM(kek).decrypt(blob[:12], blob[12:], _WRAP_AAD)
        except InvalidTag:
            raise S3Error("AccessDenied") from None


@dataclass(slots=True)
class DataKey:
    key: bytes = field(repr=False)
    wrapped: str
    spec: Spec

    def etag(self, md5: bytes) -> bytes:
        """The 16-byte ETag digest S3 gives an object: its MD5 for SSE-S3, an opaque value
        (keyed by the object's data key) for SSE-C and SSE-KMS."""
        if not self.spec.opaque_etag:
            return md5
        return hmac.new(self.key, md5, hashlib.sha256).digest()[:16]

    def stored(self, segments: list[tuple[str, int]]) -> dict[str, str]:
        h = self.spec.headers()
        h[INTERNAL] = json.dumps({"k": self.wrapped, "s": [list(s) for s in segments]})
        return h


class Encrypting:
    """AES-256-CTR over one segment, fed in order (upload.Upload's `cipher` hook)."""

    def __init__(self, key: DataKey) -> None:
        self.key = key
        self.iv = os.urandom(16)
        self._ctx = Cipher(algorithms.AES(key.key), modes.CTR(self.iv)).encryptor()

    def update(self, data: bytes) -> bytes:
        return self._ctx.update(data)

    @property
    def iv_text(self) -> str:
        return base64.b64encode(self.iv).decode()


def segments(stored: dict[str, str]) -> list[tuple[bytes, int]]:
    facts = json.loads(stored[INTERNAL])
    return [(base64.b64decode(iv), int(n)) for iv, n in facts["s"]]


def decrypt(
    key: bytes,
    segs: list[tuple[bytes, int]],
    data: bytes | memoryview,
    start: int,
    end: int,
    spill: Path | None = None,
) -> bytes | memoryview:
    """Plaintext bytes [start, end) of an object whose ciphertext is `data`: in memory, or
    given `spill` (a path for a temp file) in a mapping of that file, unlinked at once, so
    a large object's plaintext is page cache the kernel may evict, not the process's."""
    size = end - start + 15  # update_into wants a block's slack
    if spill is None:
        view = memoryview(bytearray(size))
    else:
        fd = os.open(spill, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            spill.unlink()
            os.ftruncate(fd, size)
            view = memoryview(mmap.mmap(fd, size))
        finally:
            os.close(fd)
    pos = 0
    for off, iv, n in _offsets(segs):
        lo, hi = max(start, off), min(end, off + n)
        if lo >= hi:
            continue
        inner = lo - off
        skip = inner % 16
        counter = (int.from_bytes(iv, "big") + inner // 16) % (1 << 128)
        ctx = Cipher(algorithms.AES(key), modes.CTR(counter.to_bytes(16, "big"))).decryptor()
        if skip:
            ctx.update(bytes(skip))  # advance the keystream to the byte
        src = memoryview(data)
        for c in range(lo, hi, _CHUNK):
            piece = src[c : min(hi, c + _CHUNK)]
            pos += ctx.update_into(piece, view[pos:])
    return view[: end - start]


def _offsets(segs: list[tuple[bytes, int]]) -> Iterator[tuple[int, bytes, int]]:
    off = 0
    for iv, n in segs:
        yield off, iv, n
        off += n


def public_headers(stored: dict[str, str]) -> dict[str, str]:
    """An object's stored headers without faaslab's internal ones (`x-faaslab-*`)."""
    return {k: v for k, v in stored.items() if not k.startswith("x-faaslab-")}


def is_encrypted(stored: dict[str, str]) -> bool:
    return INTERNAL in stored


def strip(stored: dict[str, str]) -> dict[str, str]:
    """Stored headers without encryption facts (a copy's target gets its own) or other
    internal ones (a copy is not multipart)."""
    return {k: v for k, v in stored.items() if not k.startswith("x-faaslab-") and k not in ECHOED}


# -- reading requests
def _needs_key() -> S3Error:
    return S3Error(
        "InvalidRequest",
        "The object was stored using a form of Server Side Encryption. The correct "
        "parameters must be provided to retrieve the object.",
    )


def customer_key(headers: dict[str, str], prefix: str = "") -> Spec | None:
    """The SSE-C key a request gives (prefix COPY_PREFIX: its copy source's), validated
    in S3's words; None if it gives none."""
    names = _COPY_C_NAMES if prefix else _C_NAMES
    alg, key_b64, md5_b64 = headers.get(names[0]), headers.get(names[1]), headers.get(names[2])
    if alg is None and key_b64 is None and md5_b64 is None:
        return None
    if alg is None:
        raise S3Error(
            "InvalidArgument",
            "Requests specifying Server Side Encryption with Customer provided keys must "
            "provide a valid encryption algorithm.",
            ArgumentName=names[0],
        )
    if alg != "AES256":
        raise S3Error(
            "InvalidEncryptionAlgorithmError",
            ArgumentName=names[0],
            ArgumentValue=alg,
        )
    if key_b64 is None:
        raise S3Error(
            "InvalidArgument",
            "Requests specifying Server Side Encryption with Customer provided keys must "
            "provide an appropriate secret key.",
            ArgumentName=names[1],
        )
    if md5_b64 is None:
        raise S3Error(
            "InvalidArgument",
            "Requests specifying Server Side Encryption with Customer provided keys must "
            "provide the client calculated MD5 of the secret key.",
            ArgumentName=names[2],
        )
    try:
        key = base64.b64decode(key_b64, validate=True)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise S3Error(
            "InvalidArgument",
            "The secret key was invalid for the specified algorithm.",
            ArgumentName=names[1],
        )
    if base64.b64encode(hashlib.md5(key).digest()).decode() != md5_b64:
        raise S3Error(
            "InvalidArgument",
            "The calculated MD5 hash of the key did not match the hash that was provided.",
            ArgumentName=names[2],
        )
    return Spec("SSE-C", customer_key=key, customer_key_md5=md5_b64)


def for_write(headers: dict[str, str], keyring: Keyring, default: Spec | None) -> Spec | None:
    """The encryption a PutObject / CopyObject / CreateMultipartUpload asks for, validated
    in S3's words, or its bucket's default (None: stored in the clear)."""
    c = customer_key(headers)
    sse = headers.get(SSE)
    kms_key = headers.get(KMS_KEY_ID)
    if c is not None:
        if sse is not None or kms_key is not None:
            raise S3Error(
                "InvalidArgument",
                "Server Side Encryption with Customer provided key is incompatible with the "
                "encryption method specified",
                ArgumentName=SSE,
                ArgumentValue=sse or "",
            )
        return c
    if sse is None:
        if kms_key is not None:
            raise S3Error(
                "InvalidArgument",
                "Server Side Encryption with AWS KMS managed key requires HTTP header "
                "x-amz-server-side-encryption : aws:kms",
            )
        if BUCKET_KEY in headers or KMS_CONTEXT in headers:
            raise S3Error(
                "InvalidArgument",
                "Server Side Encryption with AWS KMS managed key requires HTTP header "
                "x-amz-server-side-encryption : aws:kms",
            )
        return default
    if sse == "aws:kms:dsse":
        raise S3Error("NotImplemented", Header=SSE, Value=sse)
    if sse not in ("AES256", "aws:kms"):
        raise S3Error(
            "InvalidArgument",
            "The encryption method specified is not supported",
            ArgumentName=SSE,
            ArgumentValue=sse,
        )
    if sse == "AES256":
        if kms_key is not None or KMS_CONTEXT in headers:
            raise S3Error(
                "InvalidArgument",
                "Server Side Encryption with AWS KMS managed key requires HTTP header "
                "x-amz-server-side-encryption : aws:kms",
            )
        return Spec("AES256")
    bucket_key = headers.get(BUCKET_KEY, "false").lower() == "true"
    context = headers.get(KMS_CONTEXT)
    if context is not None:
        try:
            json.loads(base64.b64decode(context, validate=True))
        except ValueError:
            raise S3Error(
                "InvalidArgument",
                "The header 'x-amz-server-side-encryption-context' shall be Base64-encoded "
                "UTF-8 string holding JSON which represents a string-string map",
            ) from None
    key_id = kms_key or keyring.default_kms_key
    return Spec("aws:kms", kms_key_id=key_id, bucket_key=bucket_key, context=context)


def check_read(headers: dict[str, str], stored: dict[str, str], prefix: str = "") -> Spec | None:
    """Whether a GET / HEAD (or, with COPY_PREFIX, a copy) may read an object stored with
    `stored` headers: the SSE-C key it needs, in S3's words if it is wrong or missing."""
    if not prefix and SSE in headers:
        raise S3Error(
            "InvalidArgument",
            "x-amz-server-side-encryption header is not supported for this operation.",
        )
    given = customer_key(headers, prefix)
    md5 = stored.get(_STORED_C_MD5)
    if md5 is None:
        if given is not None:
            raise S3Error(
                "InvalidRequest",
                "The encryption parameters are not applicable to this object.",
            )
        return None
    if given is None:
        raise _needs_key()
    if given.customer_key_md5 != md5:
        raise S3Error("AccessDenied")
    return given


def response_headers(stored: dict[str, str]) -> dict[str, str]:
    """The SSE headers an answer about an object stored with `stored` carries."""
    return {k: stored[k] for k in ECHOED if k in stored}


def transcode(
    data: bytes | memoryview,
    source_key: bytes | None,
    source_segs: list[tuple[bytes, int]],
    start: int,
    end: int,
    target: DataKey | None,
    out_path: Path | None,
    sums: list[Any],
) -> tuple[bytes, bytes | None, str | None]:
    """(thread) Bytes [start, end) of a source object (decrypted if `source_key`), MD5'd
    (and summed by `sums`), re-encrypted under `target` (if any), written to `out_path`
    (fsynced) or returned.
    Returns (md5, inline bytes or None, the target segment's IV or None)."""
    md5 = hashlib.md5()
    enc = Encrypting(target) if target is not None else None
    chunks: list[bytes] = []
    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600) if out_path else None
    try:
        for c in range(start, end, _CHUNK):
            hi = min(end, c + _CHUNK)
            if source_key is not None:
                piece: Any = decrypt(source_key, source_segs, data, c, hi)
            else:
                piece = memoryview(data)[c:hi]
            md5.update(piece)
            for h in sums:
                h.update(piece)
            out: Any = enc.update(bytes(piece)) if enc is not None else piece
            if fd is None:
                chunks.append(bytes(out))
                continue
            view = memoryview(out)
            while view:
                view = view[os.write(fd, view) :]
        if fd is not None:
            os.fsync(fd)
    finally:
        if fd is not None:
            os.close(fd)
    inline = b"".join(chunks) if fd is None else None
    return md5.digest(), inline, (enc.iv_text if enc is not None else None)


def spec_of(stored: dict[str, str]) -> Spec:
    """The encryption an object or upload was stored with (no customer key)."""
    if C_ALGORITHM in stored:
        return Spec("SSE-C", customer_key_md5=stored.get(_STORED_C_MD5))
    return Spec(
        stored.get(SSE, "AES256"),
        kms_key_id=stored.get(KMS_KEY_ID),
        bucket_key=stored.get(BUCKET_KEY) == "true",
    )


def for_part(
    headers: dict[str, str], upload: dict[str, str], keyring: Keyring
) -> Encrypting | None:
    """The cipher of an UploadPart (or UploadPartCopy) to an upload stored with `upload`
    headers: the upload's data key, a fresh IV; SSE-C parts must give the upload's key."""
    given = customer_key(headers)
    if not is_encrypted(upload):
        if given is not None:
            raise S3Error(
                "InvalidRequest", "The encryption parameters are not applicable to this object."
            )
        return None
    spec = spec_of(upload)
    _check_upload_key(given, spec)
    key = keyring.unwrap(upload, given)
    return Encrypting(DataKey(key, json.loads(upload[INTERNAL])["k"], spec))


def check_complete(headers: dict[str, str], upload: dict[str, str]) -> None:
    """CompleteMultipartUpload of an SSE-C upload gives its key again, as its parts did."""
    if C_ALGORITHM in upload:
        _check_upload_key(customer_key(headers), spec_of(upload))


def _check_upload_key(given: Spec | None, spec: Spec) -> None:
    if spec.algorithm == "SSE-C":
        if given is None:
            raise S3Error(
                "InvalidRequest",
                "The multipart upload initiate requested encryption. Subsequent part "
                "requests must include the appropriate encryption parameters.",
            )
        if given.customer_key_md5 != spec.customer_key_md5:
            raise S3Error(
                "InvalidRequest",
                "The provided encryption parameters did not match the ones used originally.",
            )
