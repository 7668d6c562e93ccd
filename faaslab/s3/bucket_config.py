"""Durable bucket configuration documents (CORS, lifecycle, tags, ...), one row each.

A bucket's sub-resource configurations live in one table of `index.db`,
`bucket_config(bucket, name, document)`: `name` is the sub-resource (`cors`, `lifecycle`,
`tagging`), `document` the validated configuration as JSON, in the shape botocore's S3
model gives it (`{"CORSRules": [...]}`). The rows go with their bucket
(`drop_bucket`, called from `ObjectStore.delete_bucket` in the same transaction).
Writes go through the store's one writer (group commit); reads are served from a
per-process cache, since every GET may ask for a bucket's CORS and lifecycle rules and
this process is the only writer.

Also here: reading and writing those documents as S3's XML through botocore's shapes
(`parse_payload`, `render`), and checking a body's Content-MD5 where S3 requires one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import sqlite3
from typing import TYPE_CHECKING, Any

from botocore.model import OperationModel, Shape

from faaslab.awsapi import wire_in, wire_out
from faaslab.awsapi.models import service_model
from faaslab.s3.errors import S3Error

if TYPE_CHECKING:
    from faaslab.s3.store import ObjectStore

XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"

SCHEMA = """
CREATE TABLE IF NOT EXISTS bucket_config (
    bucket TEXT NOT NULL, name TEXT NOT NULL, document TEXT NOT NULL,
    PRIMARY KEY (bucket, name)
) WITHOUT ROWID;
"""

_MISSING = object()


def drop_bucket(db: sqlite3.Connection, bucket: str) -> None:
    """(writer thread) Forget a deleted bucket's configurations."""
    db.execute("DELETE FROM bucket_config WHERE bucket=?", (bucket,))


class BucketConfigs:
    """The configuration documents of every bucket, durable in the store's index."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self._cache: dict[tuple[str, str], Any] = {}

    def get(self, bucket: str, name: str) -> Any | None:
        """The bucket's `name` document, or None if it has none."""
        got = self._cache.get((bucket, name), _MISSING)
        if got is _MISSING:
            row = self.store.reader.execute(
                "SELECT document FROM bucket_config WHERE bucket=? AND name=?", (bucket, name)
            ).fetchone()
            got = None if row is None else json.loads(row[0])
            self._cache[(bucket, name)] = got
        return got

    async def put(self, bucket: str, name: str, document: Any) -> None:
        text = json.dumps(document)

        def run(db: sqlite3.Connection) -> None:
            if db.execute("SELECT 1 FROM buckets WHERE name=?", (bucket,)).fetchone() is None:
                raise S3Error("NoSuchBucket", BucketName=bucket)
            db.execute(
                "INSERT OR REPLACE INTO bucket_config VALUES (?, ?, ?)", (bucket, name, text)
            )

        await self.store.write(run)
        self._cache[(bucket, name)] = json.loads(text)

    async def delete(self, bucket: str, name: str) -> None:
        def run(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM bucket_config WHERE bucket=? AND name=?", (bucket, name))

        await self.store.write(run)
        self._cache[(bucket, name)] = None

    def forget(self, bucket: str) -> None:
        """Drop a deleted bucket's cached documents (its rows went with it)."""
        for k in [k for k in self._cache if k[0] == bucket]:
            del self._cache[k]

    def buckets_with(self, name: str) -> list[tuple[str, Any]]:
        """(bucket, document) of every bucket that has a `name` document."""
        rows = self.store.reader.execute(
            "SELECT bucket, document FROM bucket_config WHERE name=?", (name,)
        )
        return [(b, json.loads(d)) for b, d in rows]


# -- S3's XML through botocore's model
def operation(name: str) -> OperationModel:
    model = service_model("s3")
    assert model is not None
    return model.operation_model(name)


def parse_payload(op_name: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """The XML payload of operation `op_name` (e.g. PutBucketCors's CORSConfiguration)
    as botocore's shape gives it; MalformedXML if it is not that document. Checks the
    body's Content-MD5, and that one is sent where S3 requires it."""
    op = operation(op_name)
    check_digest(op, body, headers)
    shape = op.input_shape
    payload = shape.serialization.get("payload")
    assert payload is not None
    member: Shape = shape.members[payload]
    if not body.strip():
        raise S3Error("MalformedXML")
    try:
        value = wire_in.from_xml(member, body)
    except wire_in.Malformed:
        raise S3Error("MalformedXML") from None
    root = _root_name(body)
    if root != member.serialization.get("name", payload):
        raise S3Error("MalformedXML")
    return value if isinstance(value, dict) else {}


def _root_name(body: bytes) -> str:
    import xml.etree.ElementTree as ET

    try:
        return ET.fromstring(body).tag.rpartition("}")[2]
    except ET.ParseError:
        raise S3Error("MalformedXML") from None


def render(op_name: str, root: str, value: dict[str, Any]) -> bytes:
    """Operation `op_name`'s output `value` as S3's XML document `<root>`."""
    shape = operation(op_name).output_shape
    assert shape is not None
    return wire_out.xml_document(shape, root, value, XMLNS)


def check_digest(op: OperationModel, body: bytes, headers: dict[str, str]) -> None:
    """Content-MD5 is checked when sent (InvalidDigest, BadDigest), and required for
    the operations S3 requires it of (the model's `httpChecksumRequired`), unless the
    client sent a flexible checksum instead."""
    md5 = headers.get("content-md5")
    if md5 is not None:
        try:
            want = base64.b64decode(md5, validate=True)
        except (binascii.Error, ValueError):
            raise S3Error("InvalidDigest") from None
        if len(want) != 16:
            raise S3Error("InvalidDigest")
        if hashlib.md5(body).digest() != want:
            raise S3Error("BadDigest")
        return
    required = op.http_checksum_required or op.http_checksum.get("requestChecksumRequired")
    if required and not any(h.startswith("x-amz-checksum-") for h in headers):
        raise S3Error("InvalidRequest", "Missing required header for this request: Content-MD5")
