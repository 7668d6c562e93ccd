"""Receiving an object's body: streamed to a temp file while its digests are computed.

Why threads: a 64 MB PUT needs an MD5 (the ETag, ~570 MB/s here), the SHA-256 the client
signed (~1.2 GB/s) and often a CRC32 (botocore sends one by default). Done on the event
loop after the body arrived, they would double a large PUT's time; here two worker
threads (hashlib and zlib release the GIL) hash and write while the loop receives: MD5 on
one, the file write plus the other digests on the other. Bodies up to INLINE_MAX stay in
memory and are hashed inline (a thread hop would cost more than the hashing).

Large plain bodies (>= DIRECT_MIN, a Content-Length, not aws-chunked) are not received on
the event loop at all: the server hands the socket over (http/server.py `SocketSink`) and
a receiving thread reads it with `recv_into` into a ring of reused 1 MiB buffers, hands
each to the MD5 thread, writes it, and starts its writeback to disk at once
(sync_file_range), so that MD5, the only work that cannot overlap (one stream, one CPU),
runs from the first MiB to the last while everything else happens beside it, and the
final fsync finds little left to write. On the loop, 64 MB arrived in 256 KB callbacks
whose Python overhead and GIL hand-overs made receiving slower than hashing.

Also here: the `aws-chunked` content encoding (bodies sent as signed or unsigned chunks
with trailing checksums), decoded as it streams.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import concurrent.futures
import contextlib
import ctypes
import hashlib
import os
import socket
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
_RECEIVING = concurrent.futures.ThreadPoolExecutor(8, "s3-recv", initializer=unpin_child)
DIRECT_MIN = 1 << 20  # bodies from this size are received off the event loop
_SEGMENT = 1 << 20  # one recv_into buffer: what the MD5 thread gets at a time
_RING = 8  # buffers per upload (the receiver waits when MD5 is this far behind)

_libc = ctypes.CDLL(None, use_errno=True)
_sync_file_range = getattr(_libc, "sync_file_range", None)
if _sync_file_range is not None:
    _sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
_SYNC_FILE_RANGE_WRITE = 2


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing this range to disk now (without waiting), so the
    final fsync does not find the whole body still dirty."""
    if _sync_file_range is not None:
        _sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


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
        self._direct: concurrent.futures.Future[None] | None = None  # the receiving thread
        self._sock: socket.socket | None = None
        self._synced = False
        self._dir_synced = False
        self._receiving = False  # the receiving thread still reads the socket
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
        if self._direct is not None:
            if self._receiving and self._sock is not None:
                # the connection is gone: the receiving thread stops, cleans up itself
                with contextlib.suppress(OSError):
                    self._sock.shutdown(socket.SHUT_RDWR)
            else:  # the body is in (a failed condition): its file goes once the thread is done
                # (never shut the socket then: it is the client's connection, still to
                # carry the answer)
                self._direct.add_done_callback(lambda _: self._discard())
            return
        fd, path = self._fd, self.path
        self._fd = None

        def cleanup() -> None:
            if fd is not None:
                os.close(fd)
            if path is not None:
                path.unlink(missing_ok=True)

        _WRITING.submit(cleanup)

    # -- SocketSink: large bodies, received by a thread
    def takes_socket(self, length: int) -> bool:
        return self._chunks is None and self._fd is not None and length >= DIRECT_MIN

    def receive(
        self,
        fd: int,
        length: int,
        timeout: float,
        received: Callable[[BaseException | None], None],
    ) -> None:
        self._sock = socket.socket(fileno=fd)
        self._sock.settimeout(timeout)
        self._receiving = True
        self._direct = _RECEIVING.submit(self._receive, self._sock, length, received)

    def _receive(
        self, sock: socket.socket, length: int, received: Callable[[BaseException | None], None]
    ) -> None:
        """(receiving thread) The rest of the body, one buffer at a time: recv it here,
        MD5 on the hashing thread, write + writeback + other digests on the writing
        thread; a buffer is reused once both are done with it. The fsync follows the last
        write on the writing thread, beside the last MD5s."""
        fd = self._fd
        assert fd is not None
        pending: list[concurrent.futures.Future[None]] = []
        told = False
        try:
            for f in self._futures:  # batches handed over before (none, normally)
                f.result()
            self._futures = []
            offset = self.size - self._pending_size
            if self._pending:
                first = b"".join(self._pending)
                self._pending, self._pending_size = [], 0
                pending.append(_HASHING.submit(self._md5.update, first))
                pending.append(_WRITING.submit(self._write_range, first, offset))
                offset += len(first)
            ring: collections.deque[tuple[bytearray, list[concurrent.futures.Future[None]]]]
            ring = collections.deque()
            left = length
            while left:
                if len(ring) < _RING:
                    buf = bytearray(_SEGMENT)
                else:
                    buf, users = ring.popleft()
                    for f in users:
                        f.result()
                view = memoryview(buf)[: min(_SEGMENT, left)]
                n = 0
                while n < len(view):
                    got = sock.recv_into(view[n:])
                    if got == 0 or self.aborted:
                        raise ConnectionAbortedError("the body ended before its Content-Length")
                    n += got
                left -= n
                self.size += n
                users = [
                    _HASHING.submit(self._md5.update, view),
                    _WRITING.submit(self._write_range, view, offset),
                ]
                ring.append((buf, users))
                pending += users
                offset += n
            told = True
            self._receiving = False
            received(None)  # the loop may go on with the request; its answer waits for us
            pending.append(_WRITING.submit(self._sync))
            for f in pending:
                f.result()
        except BaseException as e:
            for f in pending:
                with contextlib.suppress(BaseException):
                    f.result()
            os.close(fd)
            self._fd = None
            if self.path is not None:
                self.path.unlink(missing_ok=True)
            if not told:
                if isinstance(e, OSError) and not isinstance(e, (ConnectionError, TimeoutError)):
                    e = BodyRejected(S3Error("InternalError", f"writing the body: {e}").response())
                received(e)
            raise
        finally:
            sock.close()

    def _discard(self) -> None:
        """(after the receiving thread) Drop the received body's file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)

    def _write_range(self, buf: bytes | memoryview, offset: int) -> None:
        """(writing thread) Write, then start writing back to disk at once."""
        self._write_and_sum(buf)
        assert self._fd is not None
        _start_writeback(self._fd, offset, len(buf))

    def _sync(self) -> None:
        """(writing thread) The body and its name in blobs/, durable: the commit then has
        no fsync but SQLite's."""
        assert self._fd is not None
        os.fsync(self._fd)
        self._synced = True
        if self.path is not None:
            _fsync_dir(self.path.parent)
            self._dir_synced = True

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

    def _write_and_sum(self, buf: bytes | memoryview) -> None:
        assert self._fd is not None
        view = memoryview(buf if self.cipher is None else self.cipher.update(buf))
        while view:
            view = view[os.write(self._fd, view) :]
        if self._sha256 is not None:
            self._sha256.update(buf)
        if self._sums:
            data = buf if isinstance(buf, bytes) else bytes(buf)  # (checksums take bytes)
            for h in self._sums.values():
                h.update(data)

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
            if self._direct is not None:
                await asyncio.wrap_future(self._direct)
            self._flush()
            self._futures.append(_WRITING.submit(self._close_file))
            await asyncio.gather(*(asyncio.wrap_future(f) for f in self._futures))
            body = Body(self.size, self._md5.digest(), path=self.path, dir_synced=self._dir_synced)
        try:
            self._verify(body)
        except S3Error:
            if body.path is not None:
                body.path.unlink(missing_ok=True)
            raise
        return body

    def _close_file(self) -> None:
        assert self._fd is not None
        if not self._synced:
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
