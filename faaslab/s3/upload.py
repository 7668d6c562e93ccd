"""Receiving an object's body: streamed to a temp file while its digests are computed.

Why threads: a 64 MB PUT needs an MD5 (the ETag, ~570 MB/s here), the SHA-256 the client
signed (~1.2 GB/s) and often a CRC32 (botocore sends one by default). Done on the event
loop after the body arrived, they would double a large PUT's time; here two worker
threads (hashlib and zlib release the GIL) hash and write while the loop receives: MD5 on
one, the file write plus the other digests on the other. Bodies up to INLINE_MAX stay in
memory and are hashed inline (a thread hop would cost more than the hashing).

Also here: the `aws-chunked` content encoding (bodies sent as signed or unsigned chunks
with trailing checksums), decoded as it streams.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from faaslab.http.server import BodyRejected
from faaslab.placement import unpin_child
from faaslab.s3 import checksums
from faaslab.s3.errors import S3Error
from faaslab.s3.model import MAX_OBJECT_SIZE
from faaslab.s3.store import INLINE_MAX, Body

_HASHING = concurrent.futures.ThreadPoolExecutor(1, "s3-md5", initializer=unpin_child)
_WRITING = concurrent.futures.ThreadPoolExecutor(1, "s3-write", initializer=unpin_child)
_BATCH = 4 << 20  # bytes handed to the threads at a time (fewer GIL hand-overs)

UNSIGNED = "UNSIGNED-PAYLOAD"
CHECKSUMS = checksums.ALGORITHMS  # x-amz-checksum-* faaslab verifies
_checksum = checksums.new


class Upload:
    """A BodySink for one PUT (object or part). `finish()` gives the verified Body."""

    def __init__(
        self,
        tmp_path: Callable[[], Path],
        headers: dict[str, str],
        limit: int = MAX_OBJECT_SIZE,
        part: bool = False,
    ) -> None:
        self.headers = headers
        self.limit = limit
        self.size = 0
        self.declared_sha256 = headers.get("x-amz-content-sha256", UNSIGNED)
        chunked = "aws-chunked" in headers.get("content-encoding", "") or (
            self.declared_sha256.startswith("STREAMING-")
        )
        self._chunks = AwsChunked() if chunked else None
        length = headers.get("x-amz-decoded-content-length" if chunked else "content-length")
        expected = int(length) if length and length.isdigit() else None
        if expected is not None and expected > limit:
            raise BodyRejected(S3Error("EntityTooLarge").response())
        self.expected = expected
        self._md5 = hashlib.md5()
        self._sha256 = hashlib.sha256() if self._check_sha256 else None
        self._sums = {n: _checksum(n) for n in self._wanted_checksums()}
        self._inline = not part and expected is not None and expected <= INLINE_MAX
        self._parts: list[bytes] = []
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._futures: list[concurrent.futures.Future[None]] = []
        self.path: Path | None = None
        self._fd: int | None = None
        if not self._inline:
            self.path = tmp_path()
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self.aborted = False
        # sse.Encrypting when the object is stored encrypted: the file gets its output,
        # the digests the plaintext (set before the first byte arrives)
        self.cipher: Any = None

    @property
    def _check_sha256(self) -> bool:
        return not self.declared_sha256.startswith(("STREAMING-", UNSIGNED))

    def _wanted_checksums(self) -> list[str]:
        names = [n for n, header in checksums.HEADERS if header in self.headers]
        trailer = self.headers.get("x-amz-trailer", "").lower()
        if trailer.startswith("x-amz-checksum-"):
            name = trailer.removeprefix("x-amz-checksum-")
            if name in CHECKSUMS and name not in names:
                names.append(name)
        return names

    # -- BodySink
    def write(self, chunk: bytes) -> None:
        if self._chunks is not None:
            for data in self._chunks.feed(chunk):
                self._take(data)
        else:
            self._take(chunk)

    def abort(self) -> None:
        self.aborted = True
        fd, path = self._fd, self.path
        self._fd = None

        def cleanup() -> None:
            if fd is not None:
                os.close(fd)
            if path is not None:
                path.unlink(missing_ok=True)

        _WRITING.submit(cleanup)

    # -- receiving
    def _take(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise BodyRejected(S3Error("EntityTooLarge").response())
        if self._inline:
            self._parts.append(data)
            return
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        buf = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending, self._pending_size = [], 0
        self._futures.append(_HASHING.submit(self._md5.update, buf))
        self._futures.append(_WRITING.submit(self._write_and_sum, buf))

    def _write_and_sum(self, buf: bytes) -> None:
        assert self._fd is not None
        view = memoryview(buf if self.cipher is None else self.cipher.update(buf))
        while view:
            view = view[os.write(self._fd, view) :]
        if self._sha256 is not None:
            self._sha256.update(buf)
        for h in self._sums.values():
            h.update(buf)

    async def finish(self) -> Body:
        """Wait for the threads, fsync, then check every digest the client declared."""
        if self._chunks is not None and not self._chunks.done:
            self.abort()
            raise S3Error("IncompleteBody")
        if self.expected is not None and self.size != self.expected:
            self.abort()
            raise S3Error("IncompleteBody")
        if self._inline:
            data = b"".join(self._parts)
            self._md5.update(data)
            if self._sha256 is not None:
                self._sha256.update(data)
            for h in self._sums.values():
                h.update(data)
            stored = data if self.cipher is None else self.cipher.update(data)
            body = Body(self.size, self._md5.digest(), data=stored)
        else:
            self._flush()
            self._futures.append(_WRITING.submit(self._close_file))
            await asyncio.gather(*(asyncio.wrap_future(f) for f in self._futures))
            body = Body(self.size, self._md5.digest(), path=self.path)
        try:
            self._verify(body)
        except S3Error:
            if body.path is not None:
                body.path.unlink(missing_ok=True)
            raise
        return body

    def _close_file(self) -> None:
        assert self._fd is not None
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = None

    def _verify(self, body: Body) -> None:
        if self._sha256 is not None and self._sha256.hexdigest() != self.declared_sha256:
            raise S3Error("XAmzContentSHA256Mismatch")
        content_md5 = self.headers.get("content-md5")
        if content_md5 is not None:
            try:
                declared = base64.b64decode(content_md5, validate=True)
            except ValueError:
                raise S3Error("InvalidDigest") from None
            if len(declared) != 16:
                raise S3Error("InvalidDigest")
            if declared != body.md5:
                raise S3Error("BadDigest")
        trailers = self._chunks.trailers if self._chunks is not None else {}
        for name, h in self._sums.items():
            header = f"x-amz-checksum-{name}"
            declared_sum = self.headers.get(header) or trailers.get(header)
            if declared_sum is None:
                raise S3Error("InvalidRequest", f"Missing the trailing {header} checksum")
            if base64.b64encode(h.digest()).decode() != declared_sum:
                raise S3Error(
                    "BadDigest",
                    f"The {name.upper()} you specified did not match the calculated checksum.",
                )

    def checksums(self) -> dict[str, str]:
        """The verified x-amz-checksum-* values, to store with the object."""
        return {n.upper(): base64.b64encode(h.digest()).decode() for n, h in self._sums.items()}


def _incomplete() -> BodyRejected:
    """A malformed aws-chunked stream: S3's answer, and the connection cannot go on."""
    return BodyRejected(S3Error("IncompleteBody").response())


class AwsChunked:
    """Decoder of S3's aws-chunked encoding: `hex-size[;chunk-signature=..]\\r\\n data
    \\r\\n` ..., a zero-size chunk, then optional trailer headers and a blank line.

    Chunk signatures (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) are not re-verified: the seed
    signature of the request's headers is, and the data's digests are."""

    def __init__(self) -> None:
        self._buf = b""
        self._left = 0  # data bytes still due in the current chunk
        self._state = "size"  # size | data | crlf | trailers | done
        self.trailers: dict[str, str] = {}

    @property
    def done(self) -> bool:
        return self._state == "done"

    def feed(self, chunk: bytes) -> list[bytes]:
        out: list[bytes] = []
        buf = self._buf + chunk if self._buf else chunk
        pos = 0
        while pos < len(buf):
            if self._state == "data":
                take = min(self._left, len(buf) - pos)
                out.append(buf[pos : pos + take])
                pos += take
                self._left -= take
                if self._left == 0:
                    self._state = "crlf"
                continue
            end = buf.find(b"\r\n", pos)
            if end < 0:
                break
            line = buf[pos:end]
            pos = end + 2
            if self._state == "crlf":
                if line:
                    raise _incomplete()
                self._state = "size"
            elif self._state == "size":
                size_text = line.split(b";", 1)[0].strip()
                try:
                    self._left = int(size_text, 16)
                except ValueError:
                    raise _incomplete() from None
                self._state = "data" if self._left else "trailers"
            elif self._state == "trailers":
                if not line:
                    self._state = "done"
                    continue
                name, _, value = line.decode("latin-1").partition(":")
                self.trailers[name.strip().lower()] = value.strip()
            else:  # done: anything after the end is an error
                raise _incomplete()
        self._buf = buf[pos:]
        return out
