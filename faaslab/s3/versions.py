"""Object versions in the index: what a write or a delete does to a key's history.

Where versions live (index.db): the `objects` table keeps each key's *current* version,
as before versioning existed, so GET and the listing of current objects (ListObjectsV2)
read one row per key and never step over old versions. Every other version, and every
delete marker (current or not), is a row of `versions`, keyed by (bucket, key, seq): seq
grows as versions stop being current, so a key's history reads newest first along the
primary key. The invariant the functions here keep, inside the writer's transaction:

- `objects` has a row for a key exactly when its newest version is not a delete marker,
  and that row is newer than all of the key's `versions` rows;
- a key has at most one null version (`version IS NULL`: written while the bucket was
  unversioned or suspended), in either table.

A bucket's state (`buckets.versioning`): '' never versioned, 'Enabled', 'Suspended'.
Enabled: a write gets a new version id, the old current version moves to `versions`;
a delete adds a marker. Suspended: a write or delete replaces the null version (its blob
is unlinked after the commit) and keeps the others. Unversioned: as before versioning.

Blobs: a version's bytes stay in their blob (or inline) when it moves between the
tables; the blob is unlinked only once no row names it (the caller does that after the
commit, from the lists these functions return).
"""

from __future__ import annotations

import heapq
import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

from faaslab.s3.model import ObjectInfo

SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    bucket TEXT NOT NULL, key TEXT NOT NULL, seq INTEGER NOT NULL, version TEXT,
    marker INTEGER NOT NULL, blob TEXT, data BLOB, size INTEGER NOT NULL, etag TEXT NOT NULL,
    modified REAL NOT NULL, content_type TEXT NOT NULL, metadata TEXT NOT NULL,
    headers TEXT NOT NULL, checksums TEXT NOT NULL,
    PRIMARY KEY (bucket, key, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS versions_by_id ON versions (bucket, key, version);
"""

ENABLED, SUSPENDED = "Enabled", "Suspended"

# the columns _info reads, in its order (objects and versions both have them)
INFO_COLUMNS = (
    "bucket, key, blob, size, etag, modified, content_type, metadata, headers, checksums, version, "
    "lock"
)
MARKER, SEQ = 12, 13  # the columns after INFO_COLUMNS in versions queries


def new_version_id() -> str:
    """An opaque version id, 32 URL-safe characters like S3's."""
    return secrets.token_urlsafe(24)


def wire_id(version_id: str | None) -> str:
    return "null" if version_id is None else version_id


def from_wire(version_id: str) -> str | None:
    return None if version_id == "null" else version_id


def migrate(db: sqlite3.Connection) -> list[str]:
    """Bring an index.db from before versioning up to date (idempotent); the columns a
    version carries besides bucket, key and version (objects' own, mirrored in versions,
    so a column another feature adds to objects travels with a version too)."""
    db.executescript(SCHEMA)
    _add_column(db, "objects", "version", "TEXT")
    _add_column(db, "objects", "lock", "TEXT")  # Object Lock: retention, legal hold (JSON)
    _add_column(db, "buckets", "versioning", "TEXT NOT NULL DEFAULT ''")
    _add_column(db, "buckets", "object_lock", "TEXT")  # its configuration (JSON), if enabled
    _add_column(db, "uploads", "lock", "TEXT")
    objects = _columns(db, "objects")
    have = {name for name, _ in _columns(db, "versions")}
    for name, kind in objects:
        if name not in have:
            db.execute(f"ALTER TABLE versions ADD COLUMN {name} {kind}")
    return [name for name, _ in objects if name not in ("bucket", "key", "version")]


def _columns(db: sqlite3.Connection, table: str) -> list[tuple[str, str]]:
    return [(r[1], r[2]) for r in db.execute(f"PRAGMA table_info({table})")]


def _add_column(db: sqlite3.Connection, table: str, name: str, decl: str) -> None:
    if name not in {n for n, _ in _columns(db, table)}:
        db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")


def bucket_state(db: sqlite3.Connection, bucket: str) -> str | None:
    """'' / Enabled / Suspended; None if the bucket does not exist."""
    row = db.execute("SELECT versioning FROM buckets WHERE name=?", (bucket,)).fetchone()
    return None if row is None else str(row[0] or "")


def info(row: tuple[Any, ...], marker: bool = False) -> ObjectInfo:
    """An ObjectInfo from a row of INFO_COLUMNS."""
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
        row[10],
        marker,
        json.loads(row[11]) if row[11] else {},
    )


class History:
    """The writer's operations on versions (each runs inside the writer's transaction)
    and the reads of them. `columns`: what a version row carries (see migrate)."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = ", ".join(columns)

    # -- writes (writer thread, inside its transaction)
    def archive(self, db: sqlite3.Connection, bucket: str, key: str) -> None:
        """Move the key's current version (its objects row) to the top of its history."""
        db.execute(
            f"INSERT INTO versions (bucket, key, seq, version, marker, {self.columns}) "
            f"SELECT bucket, key, ?, version, 0, {self.columns} FROM objects "
            "WHERE bucket=? AND key=?",
            (_next_seq(db, bucket, key), bucket, key),
        )
        db.execute("DELETE FROM objects WHERE bucket=? AND key=?", (bucket, key))

    def add_marker(
        self, db: sqlite3.Connection, bucket: str, key: str, version: str | None
    ) -> float:
        modified = time.time()
        db.execute(
            "INSERT INTO versions (bucket, key, seq, version, marker, blob, data, size, etag, "
            "modified, content_type, metadata, headers, checksums) "
            "VALUES (?, ?, ?, ?, 1, NULL, NULL, 0, '', ?, '', '{}', '{}', '{}')",
            (bucket, key, _next_seq(db, bucket, key), version, modified),
        )
        return modified

    def drop_null(self, db: sqlite3.Connection, bucket: str, key: str) -> list[str]:
        """Remove the key's noncurrent null version or null marker, if any; its blobs."""
        rows = db.execute(
            "SELECT seq, blob FROM versions WHERE bucket=? AND key=? AND version IS NULL",
            (bucket, key),
        ).fetchall()
        for seq, _ in rows:
            db.execute(
                "DELETE FROM versions WHERE bucket=? AND key=? AND seq=?", (bucket, key, seq)
            )
        return [b for _, b in rows if b]

    def remove(
        self, db: sqlite3.Connection, bucket: str, key: str, version: str | None
    ) -> tuple[ObjectInfo | None, list[str]]:
        """Delete one version for good (DELETE ?versionId): (what it was, or None if there
        is no such version; blobs to unlink). If it was current, the next newest version
        becomes current (unless that is a delete marker)."""
        found = self.find(db, bucket, key, version)
        if found is None:
            return None, []
        if found.delete_marker or not self._is_current(db, found):
            db.execute(
                "DELETE FROM versions WHERE bucket=? AND key=? AND version IS ?",
                (bucket, key, version),
            )
        else:
            db.execute("DELETE FROM objects WHERE bucket=? AND key=?", (bucket, key))
        self.promote(db, bucket, key)
        return found, [found.blob] if found.blob else []

    def promote(self, db: sqlite3.Connection, bucket: str, key: str) -> None:
        """Keep the invariant after a removal: with no current row, the newest version
        becomes current unless it is a delete marker."""
        if db.execute("SELECT 1 FROM objects WHERE bucket=? AND key=?", (bucket, key)).fetchone():
            return
        top = db.execute(
            "SELECT seq, marker FROM versions WHERE bucket=? AND key=? ORDER BY seq DESC LIMIT 1",
            (bucket, key),
        ).fetchone()
        if top is None or top[1]:
            return
        db.execute(
            f"INSERT INTO objects (bucket, key, version, {self.columns}) "
            f"SELECT bucket, key, version, {self.columns} FROM versions "
            "WHERE bucket=? AND key=? AND seq=?",
            (bucket, key, top[0]),
        )
        db.execute("DELETE FROM versions WHERE bucket=? AND key=? AND seq=?", (bucket, key, top[0]))

    # -- reads (any connection)
    @staticmethod
    def _is_current(db: sqlite3.Connection, found: ObjectInfo) -> bool:
        row = db.execute(
            "SELECT 1 FROM objects WHERE bucket=? AND key=? AND version IS ?",
            (found.bucket, found.key, found.version_id),
        ).fetchone()
        return row is not None

    @staticmethod
    def find(
        db: sqlite3.Connection, bucket: str, key: str, version: str | None
    ) -> ObjectInfo | None:
        """The version `version` (None: the null version) of a key, current or not, a
        delete marker included; None if there is no such version."""
        row = db.execute(
            f"SELECT {INFO_COLUMNS} FROM objects WHERE bucket=? AND key=? AND version IS ?",
            (bucket, key, version),
        ).fetchone()
        if row is not None:
            return info(row)
        row = db.execute(
            f"SELECT {INFO_COLUMNS}, marker FROM versions "
            "WHERE bucket=? AND key=? AND version IS ?",
            (bucket, key, version),
        ).fetchone()
        return info(row, bool(row[MARKER])) if row is not None else None

    @staticmethod
    def current_marker(db: sqlite3.Connection, bucket: str, key: str) -> ObjectInfo | None:
        """The key's delete marker if that is its current version (call when the key has
        no current object)."""
        row = db.execute(
            f"SELECT {INFO_COLUMNS}, marker FROM versions WHERE bucket=? AND key=? "
            "ORDER BY seq DESC LIMIT 1",
            (bucket, key),
        ).fetchone()
        return info(row, True) if row is not None and row[MARKER] else None

    @staticmethod
    def listing(
        db: sqlite3.Connection, bucket: str, prefix: str, key_marker: str, version_marker: str
    ) -> Iterator[tuple[ObjectInfo, bool]]:
        """(version, is it the latest) for every version of keys with `prefix`, after the
        (key_marker, version_marker) position, in S3's order: keys ascending (UTF-8 bytes,
        which both SQLite and Python order by), each key's versions newest first."""
        lo = max(prefix, key_marker)
        op = ">" if key_marker and key_marker >= prefix and not version_marker else ">="
        current = db.execute(
            f"SELECT {INFO_COLUMNS}, 0, 0 FROM objects WHERE bucket=? AND key {op} ? ORDER BY key",
            (bucket, lo),
        )
        history = db.execute(
            f"SELECT {INFO_COLUMNS}, marker, seq FROM versions WHERE bucket=? AND key {op} ? "
            "ORDER BY key, seq DESC",
            (bucket, lo),
        )
        rows = heapq.merge(
            ((r[1], 0, 0, r) for r in current),
            ((r[1], 1, -r[SEQ], r) for r in history),
        )
        skipping = bool(version_marker) and bool(key_marker)
        marker_id = from_wire(version_marker) if version_marker else None
        last_key: str | None = None
        for key, _rank, _seq, row in rows:
            if not key.startswith(prefix):
                return
            latest = key != last_key
            last_key = key
            if skipping:
                if key == key_marker:
                    if row[10] == marker_id:  # version
                        skipping = False
                    continue
                skipping = False
            yield info(row, bool(row[MARKER])), latest


def _next_seq(db: sqlite3.Connection, bucket: str, key: str) -> int:
    row = db.execute(
        "SELECT max(seq) FROM versions WHERE bucket=? AND key=?", (bucket, key)
    ).fetchone()
    return 1 if row[0] is None else int(row[0]) + 1
