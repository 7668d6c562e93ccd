"""Where S3's access settings live: bucket ACLs, policies, public access blocks,
ownership controls and object ACLs, in the same index.db as the objects (tables created
with IF NOT EXISTS, so a state dir made by an older faaslab gains them at start).

A bucket's settings are read on every request (the bucket policy may deny even the
owner), so they are cached in memory per bucket; every change goes through this class
(the writer thread commits it, then the cache is updated), so the cache is never stale.

An object's ACL row (per version: '' for the null version) records the `modified` time of
the object version it was set on: a row whose time differs from the object's belongs to an
older object of that key and version (overwritten or deleted since) and counts as absent
(private). So writes that do not set an ACL (the
common PUT) need no second write, and deletes need no hook.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import astuple, dataclass, field

from faaslab.s3.acl import PRIVATE, Acl
from faaslab.s3.model import ObjectInfo
from faaslab.s3.policy import Policy, parse
from faaslab.s3.store import ObjectStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS bucket_access (
    bucket TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (bucket, kind)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS object_acls (
    bucket TEXT NOT NULL, key TEXT NOT NULL, version TEXT NOT NULL, modified REAL NOT NULL,
    acl TEXT NOT NULL, PRIMARY KEY (bucket, key, version)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS upload_acls (upload TEXT PRIMARY KEY, acl TEXT NOT NULL);
"""

PAB_FIELDS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


@dataclass(frozen=True, slots=True)
class PublicAccessBlock:
    block_public_acls: bool = False
    ignore_public_acls: bool = False
    block_public_policy: bool = False
    restrict_public_buckets: bool = False

    def as_dict(self) -> dict[str, bool]:
        return dict(zip(PAB_FIELDS, astuple(self), strict=True))


@dataclass(frozen=True, slots=True)
class BucketAccess:
    """A bucket's access settings. No PAB / ownership row: None (S3's "not found")."""

    acl: Acl = PRIVATE
    policy: Policy | None = None
    pab: PublicAccessBlock | None = None
    ownership: str | None = None  # BucketOwnerEnforced | BucketOwnerPreferred | ObjectWriter

    @property
    def acls_enabled(self) -> bool:
        return self.ownership != "BucketOwnerEnforced"

    @property
    def block(self) -> PublicAccessBlock:
        return self.pab or PublicAccessBlock()


@dataclass
class AccessStore:
    store: ObjectStore
    _cache: dict[str, BucketAccess] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.store.reader.executescript(SCHEMA)

    # -- buckets
    def bucket(self, name: str) -> BucketAccess:
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        rows = dict(
            self.store.reader.execute(
                "SELECT kind, value FROM bucket_access WHERE bucket=?", (name,)
            ).fetchall()
        )
        access = BucketAccess(
            Acl.loads(rows["acl"]) if "acl" in rows else PRIVATE,
            parse(rows["policy"], name) if "policy" in rows else None,
            PublicAccessBlock(*json.loads(rows["pab"])) if "pab" in rows else None,
            rows.get("ownership"),
        )
        if self.store.bucket_exists(name):  # (not for any name a request makes up)
            self._cache[name] = access
        return access

    async def _set(self, bucket: str, kind: str, value: str | None) -> None:
        def run(db: sqlite3.Connection) -> None:
            if value is None:
                db.execute("DELETE FROM bucket_access WHERE bucket=? AND kind=?", (bucket, kind))
            else:
                db.execute(
                    "INSERT OR REPLACE INTO bucket_access VALUES (?, ?, ?)", (bucket, kind, value)
                )

        await self.store.write(run)
        self._cache.pop(bucket, None)

    async def set_acl(self, bucket: str, acl: Acl) -> None:
        await self._set(bucket, "acl", None if acl == PRIVATE else acl.dumps())

    async def set_policy(self, bucket: str, policy: Policy | None) -> None:
        await self._set(bucket, "policy", None if policy is None else policy.text)

    async def set_pab(self, bucket: str, pab: PublicAccessBlock | None) -> None:
        fields = None if pab is None else json.dumps(list(pab.as_dict().values()))
        await self._set(bucket, "pab", fields)

    async def set_ownership(self, bucket: str, ownership: str | None) -> None:
        await self._set(bucket, "ownership", ownership)
        if ownership == "BucketOwnerEnforced":  # ACLs disabled: back to owner-only
            await self.set_acl(bucket, PRIVATE)

    async def forget(self, bucket: str) -> None:
        """A deleted (or newly created) bucket has none of an older namesake's settings."""

        def run(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM bucket_access WHERE bucket=?", (bucket,))
            db.execute("DELETE FROM object_acls WHERE bucket=?", (bucket,))

        await self.store.write(run)
        self._cache.pop(bucket, None)

    # -- objects
    def object_acl(self, info: ObjectInfo) -> Acl:
        row = self.store.reader.execute(
            "SELECT modified, acl FROM object_acls WHERE bucket=? AND key=? AND version=?",
            (info.bucket, info.key, info.version_id or ""),
        ).fetchone()
        if row is None or row[0] != info.modified:
            return PRIVATE
        return Acl.loads(row[1])

    async def set_object_acl(self, info: ObjectInfo, acl: Acl) -> None:
        def run(db: sqlite3.Connection) -> None:
            where = (info.bucket, info.key, info.version_id or "")
            if acl == PRIVATE:
                db.execute("DELETE FROM object_acls WHERE bucket=? AND key=? AND version=?", where)
            else:
                db.execute(
                    "INSERT OR REPLACE INTO object_acls VALUES (?, ?, ?, ?, ?)",
                    (*where, info.modified, acl.dumps()),
                )

        await self.store.write(run)

    # -- multipart uploads: the ACL CreateMultipartUpload asked for, applied at Complete
    async def set_upload_acl(self, upload_id: str, acl: Acl) -> None:
        def run(db: sqlite3.Connection) -> None:
            db.execute("INSERT OR REPLACE INTO upload_acls VALUES (?, ?)", (upload_id, acl.dumps()))

        await self.store.write(run)

    async def drop_upload_acl(self, upload_id: str) -> None:
        def run(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM upload_acls WHERE upload=?", (upload_id,))

        await self.store.write(run)

    def upload_acl(self, upload_id: str) -> Acl | None:
        row = self.store.reader.execute(
            "SELECT acl FROM upload_acls WHERE upload=?", (upload_id,)
        ).fetchone()
        return None if row is None else Acl.loads(row[0])
