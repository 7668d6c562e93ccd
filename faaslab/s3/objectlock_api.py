"""The wire of S3 Object Lock: Get/PutObjectLockConfiguration (`?object-lock` on a
bucket), Get/PutObjectRetention (`?retention`) and Get/PutObjectLegalHold (`?legal-hold`)
on an object version (rules: objectlock.py; storage: store.py). Each returns the XML
body of its answer; api.py wraps it."""

from __future__ import annotations

import time

from faaslab.s3 import objectlock
from faaslab.s3.errors import S3Error
from faaslab.s3.model import ObjectInfo
from faaslab.s3.store import ObjectStore


def get_configuration(store: ObjectStore, bucket: str) -> bytes:
    store.require_bucket(bucket)
    config = store.object_lock(bucket)
    if config is None:
        raise S3Error("ObjectLockConfigurationNotFoundError", BucketName=bucket)
    return objectlock.document("ObjectLockConfiguration", "ObjectLockConfiguration", config)


async def put_configuration(store: ObjectStore, bucket: str, body: bytes) -> None:
    store.require_bucket(bucket)
    await store.set_object_lock(bucket, objectlock.parse_configuration(body))


def _version(store: ObjectStore, bucket: str, key: str, version: str | None) -> ObjectInfo:
    store.require_bucket(bucket)
    if store.object_lock(bucket) is None:
        raise S3Error("InvalidRequest", objectlock.MISSING)
    if version is None:
        info = store.head(bucket, key)
        if info is None:
            raise S3Error("NoSuchKey", Key=key)
        return info
    found = store.head_version(bucket, key, version)
    if found is None or found.delete_marker:
        raise S3Error("NoSuchVersion", Key=key, VersionId=version)
    return found


def get_retention(store: ObjectStore, bucket: str, key: str, version: str | None) -> bytes:
    lock = _version(store, bucket, key, version).lock
    if "Mode" not in lock:
        raise S3Error("NoSuchObjectLockConfiguration")
    value = {
        "Mode": lock["Mode"],
        "RetainUntilDate": objectlock.parse_time(lock["RetainUntilDate"]),
    }
    return objectlock.document("ObjectLockRetention", "Retention", value)


async def put_retention(
    store: ObjectStore,
    bucket: str,
    key: str,
    version: str | None,
    body: bytes,
    bypass: bool,
) -> None:
    now = time.time()
    new = objectlock.parse_retention(body, now)
    await store.update_lock(
        bucket, key, version, lambda old: objectlock.change_retention(old, new, bypass, now)
    )


def get_legal_hold(store: ObjectStore, bucket: str, key: str, version: str | None) -> bytes:
    lock = _version(store, bucket, key, version).lock
    if "LegalHold" not in lock:
        raise S3Error("NoSuchObjectLockConfiguration")
    return objectlock.document("ObjectLockLegalHold", "LegalHold", {"Status": lock["LegalHold"]})


async def put_legal_hold(
    store: ObjectStore, bucket: str, key: str, version: str | None, body: bytes
) -> None:
    status = objectlock.parse_legal_hold(body)
    await store.update_lock(bucket, key, version, lambda old: {**old, "LegalHold": status})
