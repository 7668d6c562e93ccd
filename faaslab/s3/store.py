"""Where buckets and objects live: an SQLite index plus blob files, durable on disk.

Layout under `<state>/s3/`: `index.db` (buckets, objects (current versions), versions
(older versions and delete markers: versions.py), multipart uploads and parts),
`blobs/` (object and part bytes, one file each, named by a random id) and `tmp/` (bodies
being received). Small objects (<= INLINE_MAX) are stored in the index itself.

Why it survives crashes: a body is written to `tmp/` (or, received by an Upload, straight
to a new blob in `blobs/`), fsynced and renamed into `blobs/` (the directory fsynced)
before the index row that names it commits, so an object becomes visible in one SQLite
transaction, all or nothing; an interrupted PUT leaves at most a temp file or an
unreferenced blob, both removed at the next start. Old blobs are unlinked
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

from faaslab.s3 import bucket_config, multipart_record, objectlock, tagging, versions
from faaslab.s3.errors import S3Error
from faaslab.s3.listing import Page, list_page
from faaslab.s3.model import MIN_PART_SIZE, ObjectInfo, multipart_etag
from faaslab.s3.versions import ENABLED, SUSPENDED

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
    etag TEXT NOT NULL, modified REAL NOT NULL, extra TEXT, PRIMARY KEY (upload, number)
) WITHOUT ROWID;
"""

_OBJECT_COLUMNS = versions.INFO_COLUMNS


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


@dataclass(frozen=True, slots=True)
class Deletion:
    """One delete of DeleteObject(s): the current object, or one version (`version`, its
    wire id: 'null' too), if its conditions hold (If-Match, x-amz-if-match-*)."""

    key: str
    version: str | None = None
    if_match: str | None = None
    if_modified: float | None = None  # x-amz-if-match-last-modified-time (seconds)
    if_size: int | None = None
    bypass_governance: bool = False  # x-amz-bypass-governance-retention: true

    @property
    def conditional(self) -> bool:
        return (self.if_match, self.if_modified, self.if_size) != (None, None, None)

    def check(self, target: ObjectInfo | None) -> None:
        """PreconditionFailed unless the conditions hold for `target` (its current object
        or version; a delete marker has no ETag). Nothing there: nothing to protect."""
        if target is None:
            return
        if self.if_match is not None and self.if_match.strip('"') not in ("*", target.etag):
            raise S3Error("PreconditionFailed", Condition="If-Match")
        if self.if_modified is not None and int(target.modified) != int(self.if_modified):
            raise S3Error("PreconditionFailed", Condition="x-amz-if-match-last-modified-time")
        if self.if_size is not None and target.size != self.if_size:
            raise S3Error("PreconditionFailed", Condition="x-amz-if-match-size")


@dataclass(frozen=True, slots=True)
class Deleted:
    """What a Deletion did: the version removed or the delete marker made (wire id; None
    for a bucket never versioned), or the error that stopped it."""

    key: str
    version: str | None
    delete_marker: bool
    error: S3Error | None = None
    by_version: bool = False  # the request named the version (not a marker made)


@dataclass(slots=True)
class Body:
    """A received body: in memory (`data`) or in a fsynced temp file (`path`)."""

    size: int
    md5: bytes
    data: bytes | None = None
    path: Path | None = None
    dir_synced: bool = False  # `path` is in blobs/ and its directory entry is durable


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
        self._reader.executescript(multipart_record.SCHEMA)
        if "extra" not in {r[1] for r in self._reader.execute("PRAGMA table_info(parts)")}:
            # an index.db from before parts had checksums and encryption IVs (`extra`)
            self._reader.execute("ALTER TABLE parts ADD COLUMN extra TEXT")
        self.history = versions.History(versions.migrate(self._reader))
        self._lock_cache: dict[str, dict[str, Any] | None] = {}
        self._lock_generation = 0
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
        used |= {
            r[0] for r in self._reader.execute("SELECT blob FROM versions WHERE blob IS NOT NULL")
        }
        for f in self.blobs.iterdir():
            if f.name not in used:
                f.unlink(missing_ok=True)
        multipart_record.forget_unused(self._reader, used)

    def close(self) -> None:
        self._jobs.put(None)
        self._writer.join(10)
        self._reader.close()

    def temp_path(self) -> Path:
        return self.tmp / (secrets.token_hex(16) + ".part")

    def blob_path(self) -> Path:
        """Where a large body may be received in place: a new blob, unreferenced until a
        row naming it commits (removed at start if none does), so the commit needs no
        rename (nor, if the receiver fsynced blobs/, a directory fsync)."""
        return self.blobs / secrets.token_hex(16)

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
            for fut, value, err in results:  # answered before the old blobs are unlinked:
                fut.get_loop().call_soon_threadsafe(_settle, fut, value, err)  # (64 MB: ~10 ms)
            for action in after:
                with contextlib.suppress(OSError):
                    action()
        db.close()

    async def _write(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run `fn` on the writer, in the next group commit; its value (an _Effects' value)
        or its exception comes back here."""
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._jobs.put((fn, fut))
        return await fut

    # -- other S3 modules' own tables (access_store.py, bucket_config.py, tagging.py)
    # share the index, its read connection and its writer
    @property
    def reader(self) -> sqlite3.Connection:
        """The event loop's read connection."""
        return self._reader

    async def write(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run `fn(db)` on the writer thread, in the next group commit."""
        return await self._write(fn)

    def _adopt(self, body: Body) -> tuple[str | None, bytes | None]:
        """(writer thread) The blob id or inline bytes of a received body."""
        if body.data is not None:
            return None, body.data
        assert body.path is not None
        if body.path.parent == self.blobs:  # received in place
            return body.path.name, None
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

    async def create_bucket(self, name: str, object_lock: bool = False) -> bool:
        """True if created, False if it already existed. With `object_lock`, versioning
        is Enabled and Object Lock too (with no default retention)."""

        def run(db: sqlite3.Connection) -> _Effects:
            cur = db.execute(
                "INSERT OR IGNORE INTO buckets (name, created, region) VALUES (?, ?, ?)",
                (name, time.time(), self.region),
            )
            if cur.rowcount == 1 and object_lock:
                db.execute(
                    "UPDATE buckets SET versioning=?, object_lock=? WHERE name=?",
                    (ENABLED, json.dumps({"ObjectLockEnabled": "Enabled"}), name),
                )
            return _Effects(cur.rowcount == 1, [self._forget_lock(name)])

        return bool(await self._write(run))

    async def delete_bucket(self, name: str) -> None:
        def run(db: sqlite3.Connection) -> _Effects:
            _require_bucket(db, name)
            if db.execute(
                "SELECT 1 FROM objects WHERE bucket=? UNION ALL "
                "SELECT 1 FROM versions WHERE bucket=? LIMIT 1",
                (name, name),
            ).fetchone():
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
            return _Effects(None, [self._unlinker(b) for b in blobs] + [self._forget_lock(name)])

        await self._write(run)

    # -- objects: reads (event loop)
    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        return _current(self._reader, bucket, key)

    def read(self, info: ObjectInfo) -> bytes | memoryview:
        """The object's bytes: inline ones from the index, others mapped from their blob
        (an overwrite meanwhile unlinks the file, which stays readable while mapped)."""
        if info.blob is None or info.blob == "":
            row = self._reader.execute(
                "SELECT data FROM objects WHERE bucket=? AND key=? AND version IS ? AND etag=?",
                (info.bucket, info.key, info.version_id, info.etag),
            ).fetchone()
            if row is None or row[0] is None:  # a noncurrent version, or gone
                row = self._reader.execute(
                    "SELECT data FROM versions WHERE bucket=? AND key=? AND version IS ? "
                    "AND etag=?",
                    (info.bucket, info.key, info.version_id, info.etag),
                ).fetchone()
            if row is None or row[0] is None:
                raise FileNotFoundError(info.key)
            return bytes(row[0])
        return map_file(self.blobs / info.blob)

    def list_page(
        self, bucket: str, prefix: str, delimiter: str, after: str, max_keys: int
    ) -> Page:
        """One page of a listing (listing.py: a seek per common prefix)."""
        return list_page(self._reader, bucket, prefix, delimiter, after, max_keys)

    # -- objects: writes (the writer)
    async def put(
        self, info: ObjectInfo, body: Body, condition: Condition | None = None
    ) -> ObjectInfo:
        def run(db: sqlite3.Connection) -> _Effects:
            state = versions.bucket_state(db, info.bucket)
            if state is None:
                raise S3Error("NoSuchBucket", BucketName=info.bucket)
            current = _current(db, info.bucket, info.key)
            if condition is not None:
                condition.check(current, info.key)
            blob, data = self._adopt(body)
            info.blob = blob or ""
            info.modified = time.time()
            old = self._replace_current(db, info, data, current, state)
            return _Effects(
                info,
                [self._unlinker(b) for b in old],
                new_blob=blob is not None and not body.dir_synced,
            )

        try:
            stored: ObjectInfo = await self._write(run)
            return stored
        except BaseException:
            if body.path is not None:
                body.path.unlink(missing_ok=True)
            raise

    async def remove(self, bucket: str, requests: list[Deletion]) -> list[Deleted]:
        """Deletes, each of the current object or of one version, in one transaction;
        a failed condition is that entry's `error` (the others go ahead)."""

        def run(db: sqlite3.Connection) -> _Effects:
            state = versions.bucket_state(db, bucket)
            if state is None:
                raise S3Error("NoSuchBucket", BucketName=bucket)
            out: list[Deleted] = []
            drop: list[str] = []
            for r in requests:
                try:
                    out.append(self._remove_one(db, bucket, state, r, drop))
                    tagging.prune(db, bucket, r.key)  # the tags of versions gone for good
                except S3Error as e:
                    out.append(Deleted(r.key, r.version, False, e, r.version is not None))
            return _Effects(out, [self._unlinker(b) for b in drop])

        done: list[Deleted] = await self._write(run)
        return done

    def _remove_one(
        self, db: sqlite3.Connection, bucket: str, state: str, r: Deletion, drop: list[str]
    ) -> Deleted:
        """(writer) One entry of `remove`; blobs to unlink after the commit go to `drop`."""
        h = self.history
        if r.version is not None:
            vid = versions.from_wire(r.version)
            target = h.find(db, bucket, r.key, vid)
            r.check(target)
            if target is not None:
                objectlock.check_delete(target.lock, r.bypass_governance)
            found, blobs = h.remove(db, bucket, r.key, vid)
            drop += blobs
            was_marker = found is not None and found.delete_marker
            return Deleted(r.key, r.version, was_marker, by_version=True)
        current = _current(db, bucket, r.key)
        target = current if current is not None else h.current_marker(db, bucket, r.key)
        r.check(target)
        if target is None and r.conditional:
            return Deleted(r.key, None, False)  # If-Match: nothing there, nothing to do
        if not state:
            if current is not None:
                db.execute("DELETE FROM objects WHERE bucket=? AND key=?", (bucket, r.key))
                drop += [current.blob] if current.blob else []
            return Deleted(r.key, None, False)
        marker: str | None = None
        if state == ENABLED:
            marker = versions.new_version_id()
            if current is not None:
                h.archive(db, bucket, r.key)
        else:  # suspended: the marker is the null version, replacing the one there was
            drop += h.drop_null(db, bucket, r.key)
            if current is not None and current.version_id is None:
                db.execute("DELETE FROM objects WHERE bucket=? AND key=?", (bucket, r.key))
                drop += [current.blob] if current.blob else []
            elif current is not None:
                h.archive(db, bucket, r.key)
        h.add_marker(db, bucket, r.key, marker)
        return Deleted(r.key, versions.wire_id(marker), True)

    def _replace_current(
        self,
        db: sqlite3.Connection,
        info: ObjectInfo,
        data: bytes | None,
        current: ObjectInfo | None,
        state: str,
    ) -> list[str]:
        """(writer) Make `info` the key's current version, as the bucket's versioning
        state says (a new version id, or the null version replaced); the blobs no row
        names any more, to unlink after the commit."""
        old: list[str] = []
        info.version_id = None
        if state == ENABLED:
            info.version_id = versions.new_version_id()
            if current is not None:
                self.history.archive(db, info.bucket, info.key)
                current = None
        elif state == SUSPENDED:
            old += self.history.drop_null(db, info.bucket, info.key)
            if current is not None and current.version_id is not None:
                self.history.archive(db, info.bucket, info.key)
                current = None
        if current is not None and current.blob:
            old.append(current.blob)
        _upsert(db, info, data)
        return old

    # -- versions
    def versioning(self, bucket: str) -> str | None:
        """The bucket's versioning state ('' never enabled, Enabled, Suspended); None if
        there is no such bucket."""
        return versions.bucket_state(self._reader, bucket)

    async def set_versioning(self, bucket: str, status: str) -> None:
        def run(db: sqlite3.Connection) -> None:
            _require_bucket(db, bucket)
            if status != ENABLED and _object_lock(db, bucket) is not None:
                raise S3Error(
                    "InvalidBucketState",
                    "An Object Lock configuration is present on this bucket, so the "
                    "versioning state cannot be changed.",
                )
            db.execute("UPDATE buckets SET versioning=? WHERE name=?", (status, bucket))

        await self._write(run)

    # -- object lock
    def object_lock(self, bucket: str) -> dict[str, Any] | None:
        """The bucket's Object Lock configuration; None if it has none. Cached: every
        PUT asks (default retention); the writer drops a bucket's entry after a commit
        that changes it, and a lookup racing that commit does not store what it read."""
        if bucket in self._lock_cache:
            return self._lock_cache[bucket]
        generation = self._lock_generation
        config = _object_lock(self._reader, bucket)
        if generation == self._lock_generation:
            self._lock_cache[bucket] = config
        return config

    def _forget_lock(self, bucket: str) -> Callable[[], None]:
        """(writer) An after-commit action: the bucket's lock configuration changed."""

        def forget() -> None:
            self._lock_generation += 1
            self._lock_cache.pop(bucket, None)

        return forget

    async def set_object_lock(self, bucket: str, config: dict[str, Any]) -> None:
        """Put a bucket's Object Lock configuration (its versioning must be Enabled)."""

        def run(db: sqlite3.Connection) -> _Effects:
            state = versions.bucket_state(db, bucket)
            if state is None:
                raise S3Error("NoSuchBucket", BucketName=bucket)
            if state != ENABLED:
                raise S3Error(
                    "InvalidBucketState",
                    "Versioning must be 'Enabled' on the bucket to apply a Object Lock "
                    "configuration",
                )
            db.execute(
                "UPDATE buckets SET object_lock=? WHERE name=?", (json.dumps(config), bucket)
            )
            return _Effects(None, [self._forget_lock(bucket)])

        await self._write(run)

    async def update_lock(
        self,
        bucket: str,
        key: str,
        version: str | None,
        change: Callable[[dict[str, str]], dict[str, str]],
    ) -> None:
        """Replace a version's lock (the current version if `version` is None) by
        `change(its lock)`, in one writer step (`change` may raise)."""

        def run(db: sqlite3.Connection) -> None:
            if _object_lock(db, bucket) is None:
                _require_bucket(db, bucket)
                raise S3Error("InvalidRequest", objectlock.MISSING)
            if version is None:
                target = _current(db, bucket, key)
                if target is None:
                    raise S3Error("NoSuchKey", Key=key)
            else:
                found = self.history.find(db, bucket, key, versions.from_wire(version))
                if found is None or found.delete_marker:
                    raise S3Error("NoSuchVersion", Key=key, VersionId=version)
                target = found
            new = change(dict(target.lock))
            lock = json.dumps(new) if new else None
            for table in ("objects", "versions"):
                db.execute(
                    f"UPDATE {table} SET lock=? WHERE bucket=? AND key=? AND version IS ?",
                    (lock, bucket, key, target.version_id),
                )

        await self._write(run)

    def head_version(self, bucket: str, key: str, version: str) -> ObjectInfo | None:
        """A version by its wire id ('null' too), delete markers included."""
        return self.history.find(self._reader, bucket, key, versions.from_wire(version))

    def current_marker(self, bucket: str, key: str) -> ObjectInfo | None:
        """The delete marker that is the key's current version, if it is one."""
        return self.history.current_marker(self._reader, bucket, key)

    def list_versions(
        self, bucket: str, prefix: str, key_marker: str, version_marker: str
    ) -> Iterator[tuple[ObjectInfo, bool]]:
        return self.history.listing(self._reader, bucket, prefix, key_marker, version_marker)

    async def expire(self, bucket: str, key: str, modified: float) -> bool:
        """Lifecycle expiration of the key's current object if it is still the one last
        modified at `modified` (one overwritten since it was found is left alone): deleted,
        or a delete marker in a versioned bucket, as DeleteObject. True if it expired."""

        def run(db: sqlite3.Connection) -> _Effects:
            state = versions.bucket_state(db, bucket)
            current = _current(db, bucket, key)
            if state is None or current is None or current.modified != modified:
                return _Effects(False, [])
            drop: list[str] = []
            self._remove_one(db, bucket, state, Deletion(key), drop)
            tagging.prune(db, bucket, key)
            return _Effects(True, [self._unlinker(b) for b in drop])

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
                "INSERT INTO uploads (id, bucket, key, created, content_type, metadata, headers, "
                "lock) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    upload_id,
                    info.bucket,
                    info.key,
                    time.time(),
                    info.content_type,
                    json.dumps(info.metadata),
                    json.dumps(info.headers),
                    json.dumps(info.lock) if info.lock else None,
                ),
            )
            tagging.save_upload_tags(db, upload_id, info.tags)

        await self._write(run)
        return upload_id

    def upload(self, bucket: str, key: str, upload_id: str) -> tuple[str, str, float]:
        row = _require_upload(self._reader, upload_id, (bucket, key), "id, key, created")
        return row[0], row[1], row[2]

    def completed_etag(self, bucket: str, key: str, upload_id: str) -> str | None:
        """The ETag of a recently completed upload (multipart_record.py), or None."""
        return multipart_record.completed_etag(self._reader, upload_id, bucket, key)

    def part_sizes(self, info: ObjectInfo) -> list[int] | None:
        """The part sizes of a multipart object, None for an object PUT whole."""
        return multipart_record.part_sizes(self._reader, info.blob)

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

    def upload_headers(self, upload_id: str) -> dict[str, str]:
        """The stored headers of an upload (NoSuchUpload if it is gone)."""
        row = _require_upload(self._reader, upload_id, None, "headers")
        headers: dict[str, str] = json.loads(row[0])
        return headers

    def part_extras(self, upload_id: str) -> dict[int, dict[str, Any]]:
        """The `extra` facts (checksums, encryption IV) of an upload's parts, by number."""
        return {
            n: json.loads(extra)
            for n, extra in self._reader.execute(
                "SELECT number, extra FROM parts WHERE upload=? AND extra IS NOT NULL",
                (upload_id,),
            )
        }

    async def put_part(
        self, upload_id: str, number: int, body: Body, extra: dict[str, Any] | None = None
    ) -> str:
        etag = body.md5.hex()
        extra_json = json.dumps(extra) if extra else None

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
                "INSERT OR REPLACE INTO parts (upload, number, blob, size, etag, modified, extra) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (upload_id, number, blob, body.size, etag, time.time(), extra_json),
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
        finish: Callable[[ObjectInfo, list[tuple[int, int, dict[str, Any]]]], None] | None = None,
    ) -> ObjectInfo:
        """Join the listed parts into the object. The bytes are joined off the writer
        (copy_file_range), then one writer step checks and commits. `finish` sees the
        object and its parts' (number, size, extra) before that, and may refuse it or add
        to it (checksums, encryption segments)."""
        row = _require_upload(
            self._reader, upload_id, (bucket, key), "content_type, metadata, headers, lock"
        )
        if not wanted:
            raise S3Error("MalformedXML")
        numbers = [n for n, _ in wanted]
        if numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
            raise S3Error("InvalidPartOrder")
        have = {
            r[0]: (r[1], r[2], r[3], r[4])
            for r in self._reader.execute(
                "SELECT number, blob, size, etag, extra FROM parts WHERE upload=?", (upload_id,)
            )
        }
        blobs: list[str] = []
        md5s: list[bytes] = []
        sizes: list[int] = []
        size = 0
        used: list[tuple[int, int, dict[str, Any]]] = []
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
            used.append((n, part[1], json.loads(part[3]) if part[3] else {}))
            md5s.append(bytes.fromhex(part[2]))
            sizes.append(part[1])
            size += part[1]
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
            lock=json.loads(row[3]) if row[3] else {},
            tags=tagging.upload_tags(self._reader, upload_id),
        )
        if finish is not None:
            finish(info, used)
        tmp = self.temp_path()
        await asyncio.to_thread(join_files, [self.blobs / b for b in blobs], tmp)

        def run(db: sqlite3.Connection) -> _Effects:
            _require_upload(db, upload_id)
            current = _current(db, bucket, key)
            if condition is not None:
                condition.check(current, key)
            blob, _ = self._adopt(Body(size, b"", path=tmp))
            info.blob = blob or ""
            info.modified = time.time()
            multipart_record.record(
                db, upload_id, bucket, key, info.blob, info.etag, sizes, info.modified
            )
            old = _drop_upload(db, upload_id)
            old += self._replace_current(
                db, info, None, current, versions.bucket_state(db, bucket) or ""
            )
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


def _object_lock(db: sqlite3.Connection, bucket: str) -> dict[str, Any] | None:
    row = db.execute("SELECT object_lock FROM buckets WHERE name=?", (bucket,)).fetchone()
    return json.loads(row[0]) if row is not None and row[0] else None


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
        "content_type, metadata, headers, checksums, version, lock) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            info.version_id,
            json.dumps(info.lock) if info.lock else None,
        ),
    )
    # the version's tags (none: an overwrite of the null version drops its tags)
    tagging.store_tags(db, info.bucket, info.key, info.tags, info.version_id or "")


def _info(row: tuple[Any, ...]) -> ObjectInfo:
    return versions.info(row)


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
