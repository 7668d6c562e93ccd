"""Where buckets and objects live: an SQLite index plus blob files, durable on disk.

Layout under `<state>/s3/`: `index.db` (buckets, objects, multipart uploads and parts),
`blobs/` (object and part bytes, one file each, named by a random id) and `tmp/` (bodies
being received). Small objects (<= INLINE_MAX) are stored in the index itself.

Why it survives crashes: a body is written to `tmp/`, fsynced and renamed into `blobs/`
(the directory fsynced) before the index row that names it commits, so an object becomes
visible in one SQLite transaction, all or nothing; an interrupted PUT leaves at most a
temp file or an unreferenced blob, both removed at the next start. Old blobs are unlinked
only after the commit that stopped referencing them.

Why one writer: every change runs on one thread that owns the write connection, and
several waiting changes share one transaction (one fsync for all: group commit). Being
serial is also what makes conditional writes atomic: `If-Match` is compared with the
index and the new row written in the same step. Reads use their own connection on the
event loop (WAL: readers never wait for the writer).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faaslab.s3 import bucket_config, tagging
from faaslab.s3.errors import S3Error
from faaslab.s3.model import MIN_PART_SIZE, ObjectInfo, multipart_etag

INLINE_MAX = 64 * 1024  # objects up to this size live in the index (one fsync per PUT)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY, created REAL NOT NULL, region TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL, key TEXT NOT NULL, blob TEXT, data BLOB, size INTEGER NOT NULL,
    etag TEXT NOT NULL, modified REAL NOT NULL, content_type TEXT NOT NULL,
    metadata TEXT NOT NULL, headers TEXT NOT NULL, checksums TEXT NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key TEXT NOT NULL, created REAL NOT NULL,
    content_type TEXT NOT NULL, metadata TEXT NOT NULL, headers TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS parts (
    upload TEXT NOT NULL, number INTEGER NOT NULL, blob TEXT NOT NULL, size INTEGER NOT NULL,
    etag TEXT NOT NULL, modified REAL NOT NULL, PRIMARY KEY (upload, number)
) WITHOUT ROWID;
"""

_OBJECT_COLUMNS = (
    "bucket, key, blob, size, etag, modified, content_type, metadata, headers, checksums"
)


@dataclass(frozen=True, slots=True)
class Condition:
    """A conditional write: If-Match <etag> and/or If-None-Match: *.

    `checked_at_start` says the condition held when the request arrived: failing it at
    commit then means another write got in meanwhile, which S3 answers with 409
    ConditionalRequestConflict instead of 412 PreconditionFailed.
    """

    if_match: str | None = None
    if_none_match: bool = False
    checked_at_start: bool = True

    def check(self, current: ObjectInfo | None, key: str) -> None:
        ok = True
        if self.if_none_match and current is not None:
            ok = False
        if self.if_match is not None:
            if current is None:
                if not self.checked_at_start:
                    raise S3Error("NoSuchKey", Key=key)
                ok = False
            elif self.if_match.strip('"') not in ("*", current.etag):
                ok = False
        if not ok:
            if self.checked_at_start:
                raise S3Error("ConditionalRequestConflict", Key=key)
            raise S3Error("PreconditionFailed", Condition=self.header_name)

    @property
    def header_name(self) -> str:
        return "If-Match" if self.if_match is not None else "If-None-Match"


@dataclass(slots=True)
class Body:
    """A received body: in memory (`data`) or in a fsynced temp file (`path`)."""

    size: int
    md5: bytes
    data: bytes | None = None
    path: Path | None = None


class ObjectStore:
    def __init__(self, root: Path, region: str) -> None:
        self.root = root
        self.region = region
        self.blobs = root / "blobs"
        self.tmp = root / "tmp"
        for d in (self.blobs, self.tmp):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o700)
        self._reader = self._connect()
        self._reader.executescript(_SCHEMA + bucket_config.SCHEMA + tagging.SCHEMA)
        self._jobs: queue.SimpleQueue[tuple[Callable[[sqlite3.Connection], Any], Any] | None]
        self._jobs = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write_loop, name="s3-writer", daemon=True)
        self._recover()
        self._writer.start()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.root / "index.db", check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # an acknowledged PUT survives a power cut too
        return db

    def _recover(self) -> None:
        """Remove what an interrupted run left: temp bodies and blobs no row references."""
        for f in self.tmp.iterdir():
            f.unlink(missing_ok=True)
        used = {
            r[0] for r in self._reader.execute("SELECT blob FROM objects WHERE blob IS NOT NULL")
        }
        used |= {r[0] for r in self._reader.execute("SELECT blob FROM parts")}
        for f in self.blobs.iterdir():
            if f.name not in used:
                f.unlink(missing_ok=True)

    def close(self) -> None:
        self._jobs.put(None)
        self._writer.join(10)
        self._reader.close()

    def temp_path(self) -> Path:
        return self.tmp / (secrets.token_hex(16) + ".part")

    # -- the writer
    def _write_loop(self) -> None:
        db = self._connect()
        stop = False
        while not stop:
            batch = [self._jobs.get()]
            with contextlib.suppress(queue.Empty):
                while len(batch) < 256:
                    batch.append(self._jobs.get_nowait())
            if None in batch:
                stop = True
            jobs = [j for j in batch if j is not None]
            if not jobs:
                continue
            results: list[tuple[Any, Any, BaseException | None]] = []
            after: list[Callable[[], None]] = []
            dirty_dir = False
            db.execute("BEGIN IMMEDIATE")
            for fn, fut in jobs:
                db.execute("SAVEPOINT job")
                try:
                    value = fn(db)
                    if isinstance(value, _Effects):
                        after += value.after
                        dirty_dir |= value.new_blob
                        value = value.value
                    db.execute("RELEASE job")
                    results.append((fut, value, None))
                except BaseException as e:
                    db.execute("ROLLBACK TO job")
                    db.execute("RELEASE job")
                    results.append((fut, None, e))
            if dirty_dir:  # the renames into blobs/ reach the disk before the rows naming them
                fd = os.open(self.blobs, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            db.execute("COMMIT")
            for action in after:
                with contextlib.suppress(OSError):
                    action()
            for fut, value, err in results:
                fut.get_loop().call_soon_threadsafe(_settle, fut, value, err)
        db.close()

    @property
    def read_db(self) -> sqlite3.Connection:
        """The event loop's read connection (for the sub-resource modules' tables)."""
        return self._reader

    async def write(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run `fn(db)` on the writer in the next group commit (sub-resource modules'
        writes: bucket configurations, object tags)."""
        return await self._write(fn)

    async def _write(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run `fn` on the writer, in the next group commit; its value (an _Effects' value)
        or its exception comes back here."""
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._jobs.put((fn, fut))
        return await fut

    def _adopt(self, body: Body) -> tuple[str | None, bytes | None]:
        """(writer thread) The blob id or inline bytes of a received body."""
        if body.data is not None:
            return None, body.data
        assert body.path is not None
        blob = secrets.token_hex(16)
        os.rename(body.path, self.blobs / blob)
        return blob, None

    # -- buckets
    def bucket_exists(self, name: str) -> bool:
        return _bucket_exists(self._reader, name)

    def require_bucket(self, name: str) -> None:
        _require_bucket(self._reader, name)

    def list_buckets(self) -> list[tuple[str, float]]:
        return list(self._reader.execute("SELECT name, created FROM buckets ORDER BY name"))

    async def create_bucket(self, name: str) -> bool:
        """True if created, False if it already existed."""

        def run(db: sqlite3.Connection) -> bool:
            cur = db.execute(
                "INSERT OR IGNORE INTO buckets VALUES (?, ?, ?)", (name, time.time(), self.region)
            )
            return cur.rowcount == 1

        return bool(await self._write(run))

    async def delete_bucket(self, name: str) -> None:
        def run(db: sqlite3.Connection) -> _Effects:
            _require_bucket(db, name)
            if db.execute("SELECT 1 FROM objects WHERE bucket=? LIMIT 1", (name,)).fetchone():
                raise S3Error("BucketNotEmpty", BucketName=name)
            blobs = [
                r[0]
                for r in db.execute(
                    "SELECT p.blob FROM parts p JOIN uploads u ON u.id = p.upload WHERE u.bucket=?",
                    (name,),
                )
            ]
            db.execute(
                "DELETE FROM parts WHERE upload IN (SELECT id FROM uploads WHERE bucket=?)", (name,)
            )
            db.execute("DELETE FROM uploads WHERE bucket=?", (name,))
            db.execute("DELETE FROM buckets WHERE name=?", (name,))
            bucket_config.drop_bucket(db, name)
            return _Effects(None, [self._unlinker(b) for b in blobs])

        await self._write(run)

    # -- objects: reads (event loop)
    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        return _current(self._reader, bucket, key)

    def read(self, info: ObjectInfo) -> bytes | memoryview:
        """The object's bytes: inline ones from the index, others mapped from their blob
        (an overwrite meanwhile unlinks the file, which stays readable while mapped)."""
        if info.blob is None or info.blob == "":
            row = self._reader.execute(
                "SELECT data FROM objects WHERE bucket=? AND key=? AND etag=?",
                (info.bucket, info.key, info.etag),
            ).fetchone()
            if row is None or row[0] is None:
                raise FileNotFoundError(info.key)
            return bytes(row[0])
        return map_file(self.blobs / info.blob)

    def list_keys(self, bucket: str, prefix: str, after: str) -> Iterator[ObjectInfo]:
        """Objects with `prefix` whose key sorts after `after`, in S3's (UTF-8 byte) order."""
        lo = max(prefix, after)
        op = ">" if after and after >= prefix else ">="
        cur = self._reader.execute(
            f"SELECT {_OBJECT_COLUMNS} FROM objects WHERE bucket=? AND key {op} ? ORDER BY key",
            (bucket, lo),
        )
        for row in cur:
            if not row[1].startswith(prefix):
                return
            yield _info(row)

    # -- objects: writes (the writer)
    async def put(
        self, info: ObjectInfo, body: Body, condition: Condition | None = None
    ) -> ObjectInfo:
        def run(db: sqlite3.Connection) -> _Effects:
            _require_bucket(db, info.bucket)
            current = _current(db, info.bucket, info.key)
            if condition is not None:
                condition.check(current, info.key)
            blob, data = self._adopt(body)
            info.blob = blob or ""
            info.modified = time.time()
            _upsert(db, info, data)
            after = [self._unlinker(current.blob)] if current is not None and current.blob else []
            return _Effects(info, after, new_blob=blob is not None)

        try:
            stored: ObjectInfo = await self._write(run)
            return stored
        except BaseException:
            if body.path is not None:
                body.path.unlink(missing_ok=True)
            raise

    async def delete(self, bucket: str, keys: list[str]) -> None:
        def run(db: sqlite3.Connection) -> _Effects:
            _require_bucket(db, bucket)
            after = []
            for key in keys:
                current = _current(db, bucket, key)
                if current is not None:
                    db.execute("DELETE FROM objects WHERE bucket=? AND key=?", (bucket, key))
                    tagging.remove(db, bucket, key)
                    if current.blob:
                        after.append(self._unlinker(current.blob))
            return _Effects(None, after)

        await self._write(run)

    async def expire(self, bucket: str, key: str, modified: float) -> bool:
        """Delete the object if it is still the one last modified at `modified`
        (lifecycle expiration: an object overwritten since it was found is not expired).
        True if it was deleted. (With versioning this becomes a delete marker.)"""

        def run(db: sqlite3.Connection) -> _Effects:
            current = _current(db, bucket, key)
            if current is None or current.modified != modified:
                return _Effects(False, [])
            db.execute("DELETE FROM objects WHERE bucket=? AND key=?", (bucket, key))
            tagging.remove(db, bucket, key)
            return _Effects(True, [self._unlinker(current.blob)] if current.blob else [])

        return bool(await self._write(run))

    async def copy(self, source: ObjectInfo, target: ObjectInfo) -> ObjectInfo:
        """Copy `source`'s bytes under `target` (whose metadata the caller chose)."""
        body: Body
        if source.blob:
            tmp = self.temp_path()
            await asyncio.to_thread(join_files, [self.blobs / source.blob], tmp)
            body = Body(source.size, b"", path=tmp)
        else:
            body = Body(source.size, b"", data=bytes(self.read(source)))
        return await self.put(target, body)

    # -- multipart uploads
    async def create_upload(self, info: ObjectInfo) -> str:
        upload_id = secrets.token_urlsafe(48)

        def run(db: sqlite3.Connection) -> None:
            _require_bucket(db, info.bucket)
            db.execute(
                "INSERT INTO uploads VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    upload_id,
                    info.bucket,
                    info.key,
                    time.time(),
                    info.content_type,
                    json.dumps(info.metadata),
                    json.dumps(info.headers),
                ),
            )
            tagging.save_upload_tags(db, upload_id, info.tags)

        await self._write(run)
        return upload_id

    def upload(self, bucket: str, key: str, upload_id: str) -> tuple[str, str, float]:
        row = _require_upload(self._reader, upload_id, (bucket, key), "id, key, created")
        return row[0], row[1], row[2]

    def list_uploads(self, bucket: str) -> list[tuple[str, str, float]]:
        return list(
            self._reader.execute(
                "SELECT key, id, created FROM uploads WHERE bucket=? ORDER BY key, created",
                (bucket,),
            )
        )

    def parts(self, upload_id: str) -> list[tuple[int, int, str, float]]:
        """(number, size, etag, modified) of an upload's parts, in order."""
        return list(
            self._reader.execute(
                "SELECT number, size, etag, modified FROM parts WHERE upload=? ORDER BY number",
                (upload_id,),
            )
        )

    async def put_part(self, upload_id: str, number: int, body: Body) -> str:
        etag = body.md5.hex()

        def run(db: sqlite3.Connection) -> _Effects:
            _require_upload(db, upload_id)
            if body.data is not None:  # parts always go to files (they are concatenated)
                path = self.temp_path()
                path.write_bytes(body.data)
                body.path, body.data = path, None
            blob, _ = self._adopt(body)
            old = db.execute(
                "SELECT blob FROM parts WHERE upload=? AND number=?", (upload_id, number)
            ).fetchone()
            db.execute(
                "INSERT OR REPLACE INTO parts VALUES (?, ?, ?, ?, ?, ?)",
                (upload_id, number, blob, body.size, etag, time.time()),
            )
            return _Effects(etag, [self._unlinker(old[0])] if old else [], new_blob=True)

        try:
            return str(await self._write(run))
        except BaseException:
            if body.path is not None:
                body.path.unlink(missing_ok=True)
            raise

    async def complete(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        wanted: list[tuple[int, str]],
        condition: Condition | None = None,
    ) -> ObjectInfo:
        """Join the listed parts into the object. The bytes are joined off the writer
        (copy_file_range), then one writer step checks and commits."""
        row = _require_upload(
            self._reader, upload_id, (bucket, key), "content_type, metadata, headers"
        )
        if not wanted:
            raise S3Error("MalformedXML")
        numbers = [n for n, _ in wanted]
        if numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
            raise S3Error("InvalidPartOrder")
        have = {
            r[0]: (r[1], r[2], r[3])
            for r in self._reader.execute(
                "SELECT number, blob, size, etag FROM parts WHERE upload=?", (upload_id,)
            )
        }
        blobs: list[str] = []
        md5s: list[bytes] = []
        size = 0
        for i, (n, etag) in enumerate(wanted):
            part = have.get(n)
            if part is None or part[2] != etag.strip('"'):
                raise S3Error("InvalidPart", UploadId=upload_id, PartNumber=str(n))
            if part[1] < MIN_PART_SIZE and i < len(wanted) - 1:
                raise S3Error(
                    "EntityTooSmall",
                    ProposedSize=str(part[1]),
                    MinSizeAllowed=str(MIN_PART_SIZE),
                    PartNumber=str(n),
                )
            blobs.append(part[0])
            md5s.append(bytes.fromhex(part[2]))
            size += part[1]
        tmp = self.temp_path()
        await asyncio.to_thread(join_files, [self.blobs / b for b in blobs], tmp)
        info = ObjectInfo(
            bucket,
            key,
            "",
            size,
            multipart_etag(md5s),
            0.0,
            row[0],
            json.loads(row[1]),
            json.loads(row[2]),
        )
        info.tags = tagging.upload_tags(self._reader, upload_id)

        def run(db: sqlite3.Connection) -> _Effects:
            _require_upload(db, upload_id)
            current = _current(db, bucket, key)
            if condition is not None:
                condition.check(current, key)
            blob, _ = self._adopt(Body(size, b"", path=tmp))
            info.blob = blob or ""
            info.modified = time.time()
            _upsert(db, info, None)
            old = _drop_upload(db, upload_id)
            if current is not None and current.blob:
                old.append(current.blob)
            return _Effects(info, [self._unlinker(b) for b in old], new_blob=True)

        try:
            done: ObjectInfo = await self._write(run)
            return done
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    async def abort(self, bucket: str, key: str, upload_id: str) -> None:
        def run(db: sqlite3.Connection) -> _Effects:
            _require_upload(db, upload_id, (bucket, key))
            return _Effects(None, [self._unlinker(b) for b in _drop_upload(db, upload_id)])

        await self._write(run)

    def _unlinker(self, blob: str) -> Callable[[], None]:
        path = self.blobs / blob
        return lambda: path.unlink(missing_ok=True)


@dataclass(slots=True)
class _Effects:
    """A writer job's result plus what to do once its transaction committed."""

    value: Any
    after: list[Callable[[], None]]
    new_blob: bool = False


def _settle(fut: asyncio.Future[Any], value: Any, err: BaseException | None) -> None:
    if fut.done():
        return
    if err is not None:
        fut.set_exception(err)
    else:
        fut.set_result(value)


def _bucket_exists(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM buckets WHERE name=?", (name,)).fetchone() is not None


def _require_bucket(db: sqlite3.Connection, name: str) -> None:
    if not _bucket_exists(db, name):
        raise S3Error("NoSuchBucket", BucketName=name)


def _require_upload(
    db: sqlite3.Connection,
    upload_id: str,
    of: tuple[str, str] | None = None,
    columns: str = "1",
) -> tuple[Any, ...]:
    """The upload's `columns` row; NoSuchUpload if it is gone or, given `of`, belongs to
    another (bucket, key)."""
    sql, args = f"SELECT {columns} FROM uploads WHERE id=?", [upload_id]
    if of is not None:
        sql += " AND bucket=? AND key=?"
        args += of
    row: tuple[Any, ...] | None = db.execute(sql, args).fetchone()
    if row is None:
        raise S3Error("NoSuchUpload", UploadId=upload_id)
    return row


def _drop_upload(db: sqlite3.Connection, upload_id: str) -> list[str]:
    """Delete an upload and its parts; the part blobs, to unlink after the commit."""
    blobs = [r[0] for r in db.execute("SELECT blob FROM parts WHERE upload=?", (upload_id,))]
    db.execute("DELETE FROM parts WHERE upload=?", (upload_id,))
    db.execute("DELETE FROM uploads WHERE id=?", (upload_id,))
    tagging.drop_upload(db, upload_id)
    return blobs


def _current(db: sqlite3.Connection, bucket: str, key: str) -> ObjectInfo | None:
    row = db.execute(
        f"SELECT {_OBJECT_COLUMNS} FROM objects WHERE bucket=? AND key=?", (bucket, key)
    ).fetchone()
    return _info(row) if row else None


def _upsert(db: sqlite3.Connection, info: ObjectInfo, data: bytes | None) -> None:
    db.execute(
        "INSERT OR REPLACE INTO objects (bucket, key, blob, data, size, etag, modified, "
        "content_type, metadata, headers, checksums) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            info.bucket,
            info.key,
            info.blob or None,
            data,
            info.size,
            info.etag,
            info.modified,
            info.content_type,
            json.dumps(info.metadata),
            json.dumps(info.headers),
            json.dumps(info.checksums),
        ),
    )
    tagging.store_tags(db, info.bucket, info.key, info.tags)  # (none: an overwrite drops them)


def _info(row: tuple[Any, ...]) -> ObjectInfo:
    return ObjectInfo(
        row[0],
        row[1],
        row[2] or "",
        row[3],
        row[4],
        row[5],
        row[6],
        json.loads(row[7]),
        json.loads(row[8]),
        json.loads(row[9]),
    )


def map_file(path: Path) -> memoryview:
    """A read-only mapping of `path` (empty files cannot be mapped: b'')."""
    import mmap

    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        if size == 0:
            return memoryview(b"")
        return memoryview(mmap.mmap(fd, size, access=mmap.ACCESS_READ))
    finally:
        os.close(fd)


def join_files(sources: list[Path], dst: Path) -> None:
    """Concatenate `sources` into `dst` in the kernel (copy_file_range), then fsync."""
    out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        for src in sources:
            fd = os.open(src, os.O_RDONLY)
            try:
                left = os.fstat(fd).st_size
                while left > 0:
                    n = os.copy_file_range(fd, out, left)
                    if n == 0:
                        break
                    left -= n
            finally:
                os.close(fd)
        os.fsync(out)
    finally:
        os.close(out)
