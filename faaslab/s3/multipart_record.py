"""What a completed multipart upload leaves behind, besides the object.

- The sizes of its parts, by the object's blob: `GET/HEAD key?partNumber=N` answers the
  N-th part's bytes (parallel downloaders fetch a multipart object part by part) and
  `x-amz-mp-parts-count`. Keyed by blob id, which names one stored object version, so the
  layout follows the bytes whatever table refers to them; rows whose blob no row uses any
  more are dropped at start (`forget_unused`).
- The upload's result, for a while: S3 answers a repeated CompleteMultipartUpload of an
  upload it completed with the same ETag (a client retrying after a lost answer), not
  NoSuchUpload. Kept `KEEP_COMPLETED_S`.
"""

from __future__ import annotations

import json
import sqlite3

SCHEMA = """
CREATE TABLE IF NOT EXISTS part_layouts (
    blob TEXT PRIMARY KEY, sizes TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS completed_uploads (
    id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key TEXT NOT NULL, etag TEXT NOT NULL,
    completed REAL NOT NULL
) WITHOUT ROWID;
"""

KEEP_COMPLETED_S = 24 * 3600.0


def record(
    db: sqlite3.Connection,
    upload_id: str,
    bucket: str,
    key: str,
    blob: str,
    etag: str,
    sizes: list[int],
    now: float,
) -> None:
    """(writer, in the completing transaction)"""
    db.execute("INSERT OR REPLACE INTO part_layouts VALUES (?, ?)", (blob, json.dumps(sizes)))
    db.execute("DELETE FROM completed_uploads WHERE completed < ?", (now - KEEP_COMPLETED_S,))
    db.execute(
        "INSERT OR REPLACE INTO completed_uploads VALUES (?, ?, ?, ?, ?)",
        (upload_id, bucket, key, etag, now),
    )


def completed_etag(db: sqlite3.Connection, upload_id: str, bucket: str, key: str) -> str | None:
    """The ETag a recently completed upload of this bucket and key produced, or None."""
    row = db.execute(
        "SELECT etag FROM completed_uploads WHERE id=? AND bucket=? AND key=?",
        (upload_id, bucket, key),
    ).fetchone()
    return str(row[0]) if row else None


def part_sizes(db: sqlite3.Connection, blob: str) -> list[int] | None:
    """The part sizes of the multipart object stored in `blob`, None if it was not one."""
    if not blob:
        return None
    row = db.execute("SELECT sizes FROM part_layouts WHERE blob=?", (blob,)).fetchone()
    return [int(n) for n in json.loads(row[0])] if row else None


def forget_unused(db: sqlite3.Connection, used: set[str]) -> None:
    """Drop the layouts of blobs no longer in use (at start, with the blobs themselves)."""
    gone = [(b,) for (b,) in db.execute("SELECT blob FROM part_layouts") if b not in used]
    db.executemany("DELETE FROM part_layouts WHERE blob=?", gone)
