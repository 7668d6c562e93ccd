"""A SQLite database file in ``/tmp``, kept in S3 between Lambda containers.

A Lambda function that wants a small SQL database without a database server can keep
the SQLite file in an S3 object: every container keeps a copy in its ``/tmp`` and makes
sure that copy is current before each use, and every write uploads the whole file again.
S3 conditional writes (``If-Match`` / ``If-None-Match: *`` on ``PutObject``) make
that safe when several containers write at once. A write only replaces the object
if nobody else replaced it since the writer downloaded it. Otherwise the writer throws its
changes away, downloads the new object and runs its operation again.

Usage::

    from faaslab.sqlite_s3 import S3Database

    db = S3Database("my-bucket", "state/app.db")  # module level: reused while warm

    def handler(event, context):
        def add_visit(conn):
            conn.execute("CREATE TABLE IF NOT EXISTS visits (n INTEGER NOT NULL)")
            conn.execute("INSERT INTO visits VALUES (1)")
            return conn.execute("SELECT count(*) FROM visits").fetchone()[0]

        return {"visits": db.transact(add_visit)}

The module needs only the standard library and boto3, so it runs unchanged on AWS Lambda.
Under faaslab, ``boto3.client("s3")`` reaches the local S3 server through
``AWS_ENDPOINT_URL``.

How one call works
------------------
1. **Revalidate.** The first use in a container downloads the object into the cache
   directory. It writes a temporary file and renames it into place, then records the
   object's ETag in memory and in a sidecar file ``<db>.etag``. Later uses send
   ``GetObject`` with ``If-None-Match: <etag>``. A ``304 Not Modified`` means the
   cached copy is current. A ``200`` brings a newer version, which replaces the copy. A
   missing object (``404 NoSuchKey``) means a new, empty database.
2. **Run.** ``transact(fn)`` runs ``fn(conn)`` inside ``BEGIN IMMEDIATE`` … ``COMMIT``
   on the local copy. If ``fn`` raises, the transaction is rolled back, nothing is
   uploaded and the exception propagates. ``read(fn)`` runs ``fn`` on a read-only
   connection and uploads nothing.
3. **Upload.** After ``COMMIT``, ``transact`` makes a consistent snapshot with the
   SQLite backup API and uploads it with ``PutObject``. The upload has
   ``If-Match: <etag it started from>``, or ``If-None-Match: *`` if the object did
   not exist. The ETag that ``PutObject`` returns becomes the cached ETag.
4. **Conflict.** A ``412 PreconditionFailed`` or ``409 ConditionalRequestConflict`` means
   that another writer got there first. A ``404`` on an ``If-Match`` upload means the
   object was deleted. In each case the local changes are thrown away. The current object
   is downloaded and ``fn`` runs again on it. The upload is retried after a
   full-jitter exponential backoff (``uniform(0, min(cap, base * 2**n))``, 20 ms base,
   1 s cap by default). After ``max_attempts`` attempts ``ConflictError`` is raised.
   **``fn`` must therefore be replayable.** It may run several times, each time on
   fresh data. Only the last run's effects and result survive. Side effects outside
   the database (sending mail, calling APIs) do not belong in ``fn``.

Every upload carries a random write id in its metadata (``x-amz-meta-sqlite-s3-write-id``).
Suppose an upload reached S3 but its response was lost, and the SDK's retry then failed its
precondition. The next download shows the writer's own id, so the write counts as done and
``fn`` does not run a second time.

When whole-file sync fits and when it does not
----------------------------------------------
Whole-file sync is a good fit in these cases:

* **The database is small**, from kilobytes to a few megabytes: configuration, feature
  flags, a per-tenant ledger, a job queue with hundreds of rows, reference data that a
  nightly job rewrites.
* **Writes are rare and mostly not simultaneous**: a few per second at most, across all
  containers together.
* **Reads dominate.** A read costs one conditional GET, typically about 10-30 ms in the
  same region and about $0.0004 per 1,000 requests. A warm container with a current
  copy downloads nothing.

It does not fit in these cases:

* **Large files.** Every committed transaction uploads the whole file, however small the
  change: one changed row in a 200 MB database still means a 200 MB ``PutObject``. At
  the roughly 50-100 MB/s that one Lambda stream usually gets to S3, that is about
  30-60 ms of transfer per MB on top of the request latency: about 1-2 s per write at
  100 MB and 10-20 s at 1 GB. The SDK's single ``PutObject``, used here, is limited to
  5 GB. ``/tmp`` must hold the database, a snapshot during each upload and a download in
  flight, so about 2-3x the file size. ``/tmp`` is 512 MB by default and can be raised
  to 10,240 MB. A cold container downloads the whole file before its first call.
* **High write rates or many simultaneous writers.** All writers, in every container,
  serialize on one object. At most about one write commits per GET + PUT round trip
  (roughly 20-60 ms for small files on AWS). That is a ceiling of about 15-50 writes/s
  for the whole system, and it drops as the file grows. Under contention, every writer
  that loses re-downloads, re-runs ``fn`` and uploads again. Work grows faster than
  throughput, and only the backoff keeps the system out of livelock. ``max_attempts``
  bounds how long a single call waits before ``ConflictError``. Each write also costs a
  PUT, about $0.005 per 1,000 requests, plus the GETs.
* **Long transactions.** ``fn`` runs between the download and the conditional upload.
  The longer it runs, the more likely another writer commits in between and forces a
  retry.
* **Readers that need more than per-call freshness.** A read sees every write whose
  upload completed before the read's revalidating GET; S3 reads after writes are
  strongly consistent. A read cannot see writes that happen while ``fn`` runs, and
  there is no way to wait for changes. Each call pays the revalidation round trip
  (about 10-30 ms), even for a single ``SELECT``.

For those cases a real database is the better tool:

* Aurora Serverless v2 (through the RDS Data API when connection handling is the
  problem).
* DynamoDB for key-value access at high write rates, with conditional writes on single
  items instead of a whole file.
* Sharding: one small SQLite object per tenant, user or key, so that writers to
  different shards never conflict and each file stays small.

Conditional writes make whole-file sync **safe**. They do not make it **scalable**.

What an S3 server must support
------------------------------
* ``PutObject`` with ``If-None-Match: *``: ``412`` if the key exists.
* ``PutObject`` with ``If-Match: <etag>``: ``412`` if the ETag differs and ``404`` if the
  key does not exist. The check and the write must be atomic with respect to other
  writes of the same key. ``409 ConditionalRequestConflict`` is handled like ``412``.
* The new ``ETag`` in the ``PutObject`` response.
* ``GetObject`` with ``If-None-Match: <etag>``: ``304`` with no body if the object is
  unchanged. ``ETag`` and user metadata (``x-amz-meta-*``) in the ``200`` response.
  ``404 NoSuchKey`` for a missing key.

ETags are compared as opaque strings. If content returns to an earlier state, the ETag
repeats, since it is the MD5 of the content. That is harmless here: equal ETags mean equal
bytes, so the data that ``fn`` saw is exactly what the object holds.

Older versions (versioned buckets)
----------------------------------
In a bucket with S3 versioning enabled every upload is kept as a version of the object,
so the database's history is there to read: ``versions()`` lists them (newest first,
delete markers included, as ``DatabaseVersion`` records) and ``read_version(version_id,
fn)`` runs ``fn`` on a read-only copy of that version, e.g. to see what a table held
before a bad write, or to copy rows back out of it in a later ``transact``. A version
never changes, so its copy (``<cache_dir>/<name>@<hash of the version id>.sqlite``) is
downloaded once and then reused without a request (except the null version, which a
write to an unversioned or suspended bucket replaces). ``last_version_id`` is the version
the last successful upload of this instance created (None in an unversioned bucket).
Nothing here needs versioning: in an unversioned bucket ``versions()`` lists the one
null version, which ``read_version("null", fn)`` reads.

Local files and threads
-----------------------
The cached copy is ``<cache_dir>/<name>-<hash of bucket/key>.sqlite``. Each call opens a
new connection and closes it before returning, so the file can be replaced safely between
calls. Do not keep ``conn`` after ``fn`` returns, and do not open ``db.path`` yourself
while another call may be running. Calls on the same local file are serialized by a
``threading.Lock`` per file, shared by every ``S3Database`` instance in the process.
Within one container that is one lock per (bucket, key). Instances with different
``cache_dir`` values act like different containers, which is how the tests simulate
them. ``fn`` must not run ``COMMIT``, ``ROLLBACK`` or ``BEGIN`` itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import shutil
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["ConflictError", "DatabaseVersion", "S3Database", "S3DatabaseError", "SyncStats"]

T = TypeVar("T")

WRITE_ID_METADATA = "sqlite-s3-write-id"
"""User-metadata key (``x-amz-meta-sqlite-s3-write-id``) carrying each upload's random id."""

_SQLITE_MAGIC = b"SQLite format 3\x00"
_CONFLICT_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})
_CHUNK = 1 << 20


class S3DatabaseError(Exception):
    """The object or the local copy cannot be used as a SQLite database."""


class ConflictError(S3DatabaseError):
    """Other writers kept changing the object first; the transaction was not saved."""

    def __init__(self, bucket: str, key: str, attempts: int, last_code: str) -> None:
        self.bucket = bucket
        self.key = key
        self.attempts = attempts
        self.last_code = last_code
        super().__init__(
            f"s3://{bucket}/{key}: gave up after {attempts} attempts; another writer "
            f"changed the object first every time (last answer: {last_code}). "
            "Nothing from this transaction was saved."
        )


@dataclass(frozen=True)
class DatabaseVersion:
    """One version of the database object (``S3Database.versions()``)."""

    version_id: str
    """S3's version id ("null" for the version written while unversioned or suspended)."""
    last_modified: Any
    """When it was written (a datetime, as boto3 returns it)."""
    size: int
    is_latest: bool
    delete_marker: bool
    """A delete marker: the object was deleted at that point (nothing to read)."""


@dataclass
class SyncStats:
    """Counters for one ``S3Database`` instance (useful in logs and tests)."""

    downloads: int = 0
    """GETs that returned a body (a new or changed object)."""
    not_modified: int = 0
    """Conditional GETs answered 304: the cached copy was current."""
    missing: int = 0
    """GETs answered 404: the database does not exist yet."""
    uploads: int = 0
    """Conditional PUTs that succeeded."""
    conflicts: int = 0
    """Conditional PUTs answered 412/409/404: someone else wrote first; ``fn`` ran again."""


@dataclass
class _Shared:
    """Process-wide state of one local file, shared by every instance that uses it."""

    lock: threading.Lock
    loaded: bool = False
    """Whether ``valid``/``etag`` have been initialised (from the sidecar) in this process."""
    valid: bool = False
    """Whether the local file is known to equal the S3 object state described by ``etag``."""
    etag: str | None = None
    """ETag of the object the local file equals; None = the object does not exist."""


_REGISTRY_LOCK = threading.Lock()
_SHARED: dict[str, _Shared] = {}


def _shared_state(path: Path) -> _Shared:
    with _REGISTRY_LOCK:
        state = _SHARED.get(str(path))
        if state is None:
            state = _SHARED[str(path)] = _Shared(lock=threading.Lock())
        return state


def _error_code(exc: Exception) -> tuple[str, int]:
    """(error code, HTTP status) of a botocore ClientError; ("", 0) for anything else."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return "", 0
    error = response.get("Error") or {}
    code = str(error.get("Code", "")) if isinstance(error, dict) else ""
    meta = response.get("ResponseMetadata") or {}
    status = meta.get("HTTPStatusCode", 0) if isinstance(meta, dict) else 0
    return code, int(status or 0)


def _client_error_type() -> type[Exception]:
    from botocore.exceptions import ClientError

    return ClientError  # type: ignore[no-any-return]


def _timestamp(value: Any) -> float:
    stamp = getattr(value, "timestamp", None)
    return float(stamp()) if callable(stamp) else 0.0


def _local_name(bucket: str, key: str) -> str:
    digest = hashlib.sha256(f"{bucket}\0{key}".encode()).hexdigest()[:16]
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", key.rsplit("/", 1)[-1])[:64].strip(".") or "db"
    return f"{stem}-{digest}.sqlite"


class S3Database:
    """A SQLite database stored as one S3 object, cached in ``cache_dir``.

    Create it once per container (module level) and call ``transact``/``read`` per request.
    """

    def __init__(
        self,
        bucket: str,
        key: str,
        client: Any = None,
        cache_dir: str | os.PathLike[str] = "/tmp",
        *,
        max_attempts: int = 20,
        backoff_base: float = 0.02,
        backoff_cap: float = 1.0,
        timeout: float = 30.0,
    ) -> None:
        """Describe the database; nothing is downloaded until the first call.

        ``client`` is a boto3 S3 client (default ``boto3.client("s3")``). ``max_attempts``
        bounds how many times ``transact`` runs ``fn`` and uploads before raising
        ``ConflictError``. ``backoff_base``/``backoff_cap`` (seconds) shape the full-jitter
        backoff between attempts. ``timeout`` is SQLite's busy timeout for the local file.
        """
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if client is None:
            import boto3

            client = boto3.client("s3")
        self.bucket = bucket
        self.key = key
        self.client: Any = client
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.timeout = timeout
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self._path = self.cache_dir.resolve() / _local_name(bucket, key)
        self._sidecar = self._path.with_name(self._path.name + ".etag")
        self._shared = _shared_state(self._path)
        self.stats = SyncStats()
        self.last_version_id: str | None = None

    def __repr__(self) -> str:
        return f"S3Database(s3://{self.bucket}/{self.key} -> {self._path})"

    @property
    def path(self) -> Path:
        """The local copy. Only touch it between calls of this process."""
        return self._path

    @property
    def etag(self) -> str | None:
        """ETag of the S3 object the local copy equals (None: unknown or no object)."""
        with self._shared.lock:
            self._load_sidecar()
            return self._shared.etag if self._shared.valid else None

    # ---------------------------------------------------------------- public operations

    def refresh(self) -> bool:
        """Make the local copy current. True if a new version was downloaded."""
        with self._shared.lock:
            return self._refresh()[0]

    def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Revalidate the local copy, then return ``fn(conn)`` on a read-only connection.

        ``fn`` runs inside one (deferred) transaction, so it sees one consistent state.
        Nothing is uploaded.
        """
        with self._shared.lock:
            self._refresh()
            conn = sqlite3.connect(
                f"{self._path.as_uri()}?mode=ro",
                uri=True,
                isolation_level=None,
                timeout=self.timeout,
            )
            try:
                conn.execute("BEGIN")
                try:
                    return fn(conn)
                finally:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
            finally:
                conn.close()

    def versions(self) -> list[DatabaseVersion]:
        """Every version of the database object, newest first (ListObjectVersions)."""
        found: list[DatabaseVersion] = []
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.key}
        while True:
            page = self.client.list_object_versions(**kwargs)
            for kind, marker in (("Versions", False), ("DeleteMarkers", True)):
                for v in page.get(kind) or []:
                    if v.get("Key") == self.key:
                        found.append(
                            DatabaseVersion(
                                str(v["VersionId"]),
                                v.get("LastModified"),
                                int(v.get("Size", 0)),
                                bool(v.get("IsLatest")),
                                marker,
                            )
                        )
            if not page.get("IsTruncated"):
                break
            kwargs["KeyMarker"] = page.get("NextKeyMarker", "")
            kwargs["VersionIdMarker"] = page.get("NextVersionIdMarker", "")
        found.sort(key=lambda v: (not v.is_latest, -_timestamp(v.last_modified)))
        return found

    def read_version(self, version_id: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Return ``fn(conn)`` on a read-only copy of the version ``version_id``.

        The copy is downloaded on first use and kept (a version never changes; the null
        version, which a write in an unversioned or suspended bucket replaces, is
        downloaded on every call). Raises
        botocore's ClientError as S3 answers it (NoSuchVersion; 405 for a delete marker).
        """
        digest = hashlib.sha256(version_id.encode()).hexdigest()[:16]
        path = self._path.with_name(f"{self._path.stem}@{digest}.sqlite")
        with self._shared.lock:
            if version_id == "null" or not path.exists():  # the null version can change
                response = self.client.get_object(
                    Bucket=self.bucket, Key=self.key, VersionId=version_id
                )
                fd, tmp = tempfile.mkstemp(prefix=".version-", dir=path.parent)
                try:
                    with os.fdopen(fd, "wb") as f:
                        shutil.copyfileobj(response["Body"], f, _CHUNK)
                    os.replace(tmp, path)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                    raise
                finally:
                    response["Body"].close()
            conn = sqlite3.connect(
                f"{path.as_uri()}?mode=ro&immutable=1", uri=True, isolation_level=None
            )
            try:
                return fn(conn)
            finally:
                conn.close()

    def transact(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` in one transaction and persist the result to S3.

        Returns ``fn``'s result from the attempt whose upload succeeded. ``fn`` may be called
        several times (once per attempt, each time on the then-current data), so it must
        be replayable. If ``fn`` raises, the transaction is rolled back, nothing is
        uploaded and the exception propagates. Raises ``ConflictError`` after
        ``max_attempts`` attempts that lost to other writers.
        """
        last_code = ""
        pending: tuple[str, T] | None = None  # (write id, result) of an upload that "failed"
        for attempt in range(1, self.max_attempts + 1):
            with self._shared.lock:
                _, written_by = self._refresh()
                if pending is not None and self._landed(pending[0], written_by):
                    return pending[1]
                base_etag = self._shared.etag
                write_id = uuid.uuid4().hex
                result = self._run_locally(fn)
                outcome = self._upload(base_etag, write_id)
            if outcome is None:
                return result
            last_code = outcome
            pending = (write_id, result)
            self.stats.conflicts += 1
            if attempt < self.max_attempts:
                ceiling = min(self.backoff_cap, self.backoff_base * (2 ** (attempt - 1)))
                time.sleep(random.uniform(0.0, ceiling))
        with self._shared.lock:  # did the last "failed" upload land after all?
            _, written_by = self._refresh()
        if pending is not None and self._landed(pending[0], written_by):
            return pending[1]
        raise ConflictError(self.bucket, self.key, self.max_attempts, last_code)

    def _landed(self, write_id: str, written_by: str | None) -> bool:
        """Did our "failed" upload ``write_id`` land after all? Its answer was lost and a
        retry of the same request then failed its precondition: if the object is our
        write, count it as the upload it was, not a conflict."""
        if written_by != write_id:
            return False
        self.stats.conflicts -= 1
        self.stats.uploads += 1
        return True

    # ---------------------------------------------------------------- local state

    def _load_sidecar(self) -> None:
        """Initialise the shared state from the sidecar once per process (lock held)."""
        state = self._shared
        if state.loaded:
            return
        state.loaded = True
        try:
            data = json.loads(self._sidecar.read_text())
        except (OSError, ValueError):
            return
        if (
            isinstance(data, dict)
            and data.get("bucket") == self.bucket
            and data.get("key") == self.key
            and isinstance(data.get("etag"), str)
            and self._path.exists()
        ):
            state.valid = True
            state.etag = data["etag"]

    def _invalidate(self) -> None:
        """Forget which version the local file is (before changing it) (lock held)."""
        self._shared.loaded = True
        self._shared.valid = False
        self._shared.etag = None
        with contextlib.suppress(FileNotFoundError):
            self._sidecar.unlink()

    def _remember(self, etag: str | None) -> None:
        """Record that the local file now equals the object with ``etag`` (lock held)."""
        self._shared.loaded = True
        self._shared.valid = True
        self._shared.etag = etag
        if etag is None:
            return  # a missing object is re-checked with a plain GET anyway
        record = {"bucket": self.bucket, "key": self.key, "etag": etag}
        fd, tmp = tempfile.mkstemp(prefix=".sidecar-", dir=self._path.parent)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(record, f)
            os.replace(tmp, self._sidecar)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _remove_sqlite_companions(self) -> None:
        # A stale hot journal next to a replaced file would be "rolled back" into it.
        for suffix in ("-journal", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self._path}{suffix}")

    def _install(self, tmp: str) -> None:
        """Atomically replace the local file by ``tmp`` (lock held, no open connections)."""
        self._invalidate()
        self._remove_sqlite_companions()
        os.replace(tmp, self._path)

    def _install_empty(self) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".download-", dir=self._path.parent)
        os.close(fd)  # a zero-byte file is a valid, empty SQLite database
        self._install(tmp)

    # ---------------------------------------------------------------- S3

    def _refresh(self) -> tuple[bool, str | None]:
        """Make the local copy equal the current object (lock held).

        Returns whether a body was downloaded, and the write id in its metadata if any.
        """
        self._load_sidecar()
        state = self._shared
        if state.valid and not self._path.exists():
            self._invalidate()
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key}
        if state.valid and state.etag is not None:
            kwargs["IfNoneMatch"] = state.etag
        try:
            response = self.client.get_object(**kwargs)
        except _client_error_type() as exc:
            code, status = _error_code(exc)
            if status == 304 or code in ("304", "NotModified"):
                self.stats.not_modified += 1
                return False, None
            if status == 404 and code in ("NoSuchKey", "404", "NotFound"):
                self.stats.missing += 1
                if not (state.valid and state.etag is None and self._path.exists()):
                    self._install_empty()
                self._remember(None)
                return False, None
            raise
        etag = response.get("ETag")
        body = response["Body"]
        fd, tmp = tempfile.mkstemp(prefix=".download-", dir=self._path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                shutil.copyfileobj(body, f, _CHUNK)
            with open(tmp, "rb") as f:
                head = f.read(len(_SQLITE_MAGIC))
            if head and head != _SQLITE_MAGIC:
                raise S3DatabaseError(
                    f"s3://{self.bucket}/{self.key} is not a SQLite database (starts with {head!r})"
                )
            self._install(tmp)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        finally:
            body.close()
        self.stats.downloads += 1
        if isinstance(etag, str) and etag:
            self._remember(etag)
        # Without an ETag the copy cannot be revalidated or uploaded conditionally;
        # leave the state invalid so that every call downloads again.
        metadata = response.get("Metadata") or {}
        write_id = metadata.get(WRITE_ID_METADATA)
        return True, write_id if isinstance(write_id, str) else None

    def _run_locally(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in one local transaction and commit it (lock held)."""
        if not self._shared.valid:
            raise S3DatabaseError(
                f"s3://{self.bucket}/{self.key}: the server returned no ETag, so the "
                "object cannot be written conditionally"
            )
        base_etag = self._shared.etag
        # Until the upload succeeds the local file may be ahead of S3: forget its version
        # first, so that a crash or an error anywhere below makes the next call download.
        self._invalidate()
        conn = sqlite3.connect(self._path, isolation_level=None, timeout=self.timeout)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                    self._remember(base_etag)  # rolled back: the file is unchanged
                raise
            if conn.in_transaction:
                conn.execute("COMMIT")
            return result
        finally:
            conn.close()

    def _snapshot(self) -> str:
        """A consistent, self-contained copy of the local database in a temp file."""
        fd, tmp = tempfile.mkstemp(prefix=".snapshot-", dir=self._path.parent)
        os.close(fd)
        try:
            src = sqlite3.connect(self._path, isolation_level=None, timeout=self.timeout)
            try:
                dest = sqlite3.connect(tmp, isolation_level=None)
                try:
                    # The snapshot only lives until the upload: no need to fsync it.
                    dest.execute("PRAGMA synchronous=OFF")
                    src.backup(dest)
                    # A rollback-journal file needs no -wal companion to be read.
                    dest.execute("PRAGMA journal_mode=DELETE")
                finally:
                    dest.close()
            finally:
                src.close()
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return tmp

    def _upload(self, base_etag: str | None, write_id: str) -> str | None:
        """Upload a snapshot conditionally (lock held).

        Returns None on success, or the error code of a lost race (the local copy is then
        stale and will be downloaded again). Other errors propagate.
        """
        kwargs: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": self.key,
            "ContentType": "application/vnd.sqlite3",
            "Metadata": {WRITE_ID_METADATA: write_id},
        }
        if base_etag is None:
            kwargs["IfNoneMatch"] = "*"
        else:
            kwargs["IfMatch"] = base_etag
        tmp = self._snapshot()
        try:
            with open(tmp, "rb") as body:
                response = self.client.put_object(Body=body, **kwargs)
        except _client_error_type() as exc:
            code, status = _error_code(exc)
            if status in (409, 412) or code in _CONFLICT_CODES:
                return code or str(status)
            if status == 404 and base_etag is not None:
                return code or "404"  # the object was deleted since we downloaded it
            raise
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        self.stats.uploads += 1
        version = response.get("VersionId")
        self.last_version_id = version if isinstance(version, str) else None
        etag = response.get("ETag")
        if isinstance(etag, str) and etag:
            self._remember(etag)
        return None
