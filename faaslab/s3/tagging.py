"""Object and bucket tags: S3's limits and words, and where object tags are kept.

Object tags live in their own table, `object_tags(bucket, key, version, tags)`, not in
`objects`: a tag set is written in the same transaction as the object row it belongs to
(`store_tags`, called by the store whenever it writes an object row, so an overwrite
without `x-amz-tagging` leaves the new object untagged, as on S3) and removed with it
(`remove`). `version` is the object's version id; it is '' (the unversioned object)
until versioning keys objects by version — then the store passes the version id here and
a version's tags outlive a newer version's write. Tags asked for at
CreateMultipartUpload wait in `upload_tags` until Complete gives them to the object.

Bucket tags are a bucket configuration document (`bucket_config.py`, name `tagging`).
"""

from __future__ import annotations

import json
import sqlite3
from urllib.parse import unquote_plus

from faaslab.s3.errors import S3Error

SCHEMA = """
CREATE TABLE IF NOT EXISTS object_tags (
    bucket TEXT NOT NULL, key TEXT NOT NULL, version TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL, PRIMARY KEY (bucket, key, version)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS upload_tags (upload TEXT PRIMARY KEY, tags TEXT NOT NULL);
"""

MAX_OBJECT_TAGS = 10
MAX_BUCKET_TAGS = 50
MAX_KEY = 128
MAX_VALUE = 256
_ALLOWED_PUNCTUATION = set("_.:/=+-@ ")


# -- validation (S3's limits, in its words)
def validate(tags: list[tuple[str, str]], limit: int, what: str = "Object") -> dict[str, str]:
    """A tag list as S3 accepts it (InvalidTag otherwise), as a dict."""
    if len(tags) > limit:
        raise S3Error("InvalidTag", f"{what} tags cannot be greater than {limit}")
    out: dict[str, str] = {}
    for key, value in tags:
        if not key or not _allowed(key):
            raise S3Error("InvalidTag", "The TagKey you have provided is invalid")
        if len(key) > MAX_KEY:
            raise S3Error("InvalidTag", f"The TagKey you have provided is too long, max {MAX_KEY}")
        if len(value) > MAX_VALUE:
            raise S3Error(
                "InvalidTag", f"The TagValue you have provided is too long, max {MAX_VALUE}"
            )
        if not _allowed(value):
            raise S3Error("InvalidTag", "The TagValue you have provided is invalid")
        if key.lower().startswith("aws:"):
            raise S3Error("InvalidTag", "Your TagKey cannot be prefixed with aws:")
        if key in out:
            raise S3Error("InvalidTag", "Cannot provide multiple Tags with the same key")
        out[key] = value
    return out


def _allowed(text: str) -> bool:
    """Letters, digits, white space and _ . : / = + - @ (S3's tag alphabet)."""
    return all(c.isalnum() or c.isspace() or c in _ALLOWED_PUNCTUATION for c in text)


def from_tag_set(document: dict[str, object], limit: int, what: str = "Object") -> dict[str, str]:
    """The tags of a parsed `<Tagging><TagSet>` document (MalformedXML without one)."""
    tag_set = document.get("TagSet")
    if not isinstance(tag_set, list):
        raise S3Error("MalformedXML")
    pairs = []
    for tag in tag_set:
        if not isinstance(tag, dict) or "Key" not in tag or "Value" not in tag:
            raise S3Error("MalformedXML")
        pairs.append((str(tag["Key"]), str(tag["Value"])))
    return validate(pairs, limit, what)


def to_tag_set(tags: dict[str, str]) -> list[dict[str, str]]:
    """A `<TagSet>`, in key order (as S3 lists them)."""
    return [{"Key": k, "Value": tags[k]} for k in sorted(tags)]


def from_header(value: str) -> dict[str, str]:
    """The `x-amz-tagging` header: URL query form, `k1=v1&k2=v2` (`k` alone: an empty
    value)."""
    pairs = []
    for part in value.split("&") if value else []:
        key, _, val = part.partition("=")
        try:
            pairs.append((unquote_plus(key, errors="strict"), unquote_plus(val, errors="strict")))
        except UnicodeDecodeError:
            raise S3Error(
                "InvalidArgument",
                "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL "
                "query parameters without tag name duplicates.",
                ArgumentName="x-amz-tagging",
                ArgumentValue=value,
            ) from None
    return validate(pairs, MAX_OBJECT_TAGS)


# -- object tags in the index (writer thread unless said)
# `version`: the object version's id, '' for the null version (all there is until
# versioning passes its ids here)
def store_tags(
    db: sqlite3.Connection,
    bucket: str,
    key: str,
    tags: dict[str, str] | None,
    version: str = "",
) -> None:
    """Replace the object version's tag set (None or {}: no tags)."""
    remove(db, bucket, key, version)
    if tags:
        db.execute(
            "INSERT INTO object_tags (bucket, key, version, tags) VALUES (?, ?, ?, ?)",
            (bucket, key, version, json.dumps(tags)),
        )


def remove(db: sqlite3.Connection, bucket: str, key: str, version: str = "") -> None:
    db.execute(
        "DELETE FROM object_tags WHERE bucket=? AND key=? AND version=?", (bucket, key, version)
    )


def prune(db: sqlite3.Connection, bucket: str, key: str) -> None:
    """Drop the key's tags of versions that no longer exist (after deletes: a version
    removed for good, a null version replaced by a delete marker). Archived versions
    keep theirs."""
    db.execute(
        "DELETE FROM object_tags WHERE bucket=? AND key=? "
        "AND NOT EXISTS (SELECT 1 FROM objects o WHERE o.bucket=object_tags.bucket "
        "AND o.key=object_tags.key AND ifnull(o.version, '')=object_tags.version) "
        "AND NOT EXISTS (SELECT 1 FROM versions v WHERE v.bucket=object_tags.bucket "
        "AND v.key=object_tags.key AND v.marker=0 AND ifnull(v.version, '')=object_tags.version)",
        (bucket, key),
    )


def tags_of(db: sqlite3.Connection, bucket: str, key: str, version: str = "") -> dict[str, str]:
    """(any connection) The object version's tags."""
    row = db.execute(
        "SELECT tags FROM object_tags WHERE bucket=? AND key=? AND version=?",
        (bucket, key, version),
    ).fetchone()
    return {} if row is None else dict(json.loads(row[0]))


def save_upload_tags(db: sqlite3.Connection, upload_id: str, tags: dict[str, str] | None) -> None:
    if tags:
        db.execute(
            "INSERT OR REPLACE INTO upload_tags VALUES (?, ?)", (upload_id, json.dumps(tags))
        )


def upload_tags(db: sqlite3.Connection, upload_id: str) -> dict[str, str]:
    """(any connection) The tags a multipart upload gives its object."""
    row = db.execute("SELECT tags FROM upload_tags WHERE upload=?", (upload_id,)).fetchone()
    return {} if row is None else dict(json.loads(row[0]))


def drop_upload(db: sqlite3.Connection, upload_id: str) -> None:
    db.execute("DELETE FROM upload_tags WHERE upload=?", (upload_id,))
