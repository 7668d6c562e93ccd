"""A bucket's default encryption: Put/Get/DeleteBucketEncryption (`?encryption`).

The configuration is read and written through botocore's S3 shapes (awsapi's rest-xml
codec), kept in its own table of index.db, and cached in memory: every PutObject asks
for its bucket's default, and a dict lookup costs nothing where a query would.

Deviation from today's S3, on purpose: S3 has given every bucket SSE-S3 by default since
January 2023 (GetBucketEncryption answers AES256 on a new bucket). faaslab keeps a new
bucket without a configuration (ServerSideEncryptionConfigurationNotFoundError, as S3 did
before, and as S3-compatible stores and ceph's s3-tests expect), so plain PUTs stay as
fast as they were; `x-amz-server-side-encryption: AES256` or a configuration turns it on.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any
from xml.etree import ElementTree

from botocore.model import ServiceModel

from faaslab.awsapi import models, wire_in, wire_out
from faaslab.http.server import Response
from faaslab.s3 import sse
from faaslab.s3.errors import S3Error
from faaslab.s3.store import ObjectStore

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS bucket_encryption (bucket TEXT PRIMARY KEY, config TEXT NOT NULL)"
)
_ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")


class BucketEncryption:
    def __init__(self, store: ObjectStore, keyring: sse.Keyring) -> None:
        self.store = store
        self.keyring = keyring
        db = store._reader
        db.execute(_SCHEMA)
        self._configs: dict[str, dict[str, Any]] = {
            b: json.loads(c) for b, c in db.execute("SELECT bucket, config FROM bucket_encryption")
        }
        model = models.service_model("s3")
        assert isinstance(model, ServiceModel)
        self._shape = model.shape_for("ServerSideEncryptionConfiguration")

    def default(self, bucket: str) -> sse.Spec | None:
        """The encryption a write to `bucket` without SSE headers gets."""
        config = self._configs.get(bucket)
        if config is None:
            return None
        rule = config["Rules"][0]
        by_default = rule.get("ApplyServerSideEncryptionByDefault", {})
        algorithm = by_default.get("SSEAlgorithm")
        if algorithm == "AES256":
            return sse.Spec("AES256")
        if algorithm == "aws:kms":
            key = by_default.get("KMSMasterKeyID")
            return sse.Spec(
                "aws:kms",
                kms_key_id=key or self.keyring.default_kms_key,
                bucket_key=bool(rule.get("BucketKeyEnabled")),
            )
        return None

    # -- the operations
    async def put(self, bucket: str, body: bytes) -> Response:
        try:
            root = ElementTree.fromstring(body)
            config = wire_in.from_xml_element(self._shape, root)
        except (ElementTree.ParseError, ValueError, TypeError):
            raise S3Error("MalformedXML") from None
        rules = config.get("Rules") or []
        if len(rules) != 1:
            raise S3Error("MalformedXML")
        by_default = rules[0].get("ApplyServerSideEncryptionByDefault")
        if by_default is not None:
            algorithm = by_default.get("SSEAlgorithm")
            if algorithm not in _ALGORITHMS:
                raise S3Error("MalformedXML")
            if algorithm == "aws:kms:dsse":
                raise S3Error("NotImplemented", "faaslab does not implement DSSE-KMS")
            if "KMSMasterKeyID" in by_default and algorithm != "aws:kms":
                raise S3Error(
                    "InvalidArgument",
                    "a KMSMasterKeyID is not applicable if the default sse algorithm is not "
                    "aws:kms or aws:kms:dsse",
                )
        if rules[0].get("BlockedEncryptionTypes"):
            raise S3Error("NotImplemented", "faaslab does not implement BlockedEncryptionTypes")
        text = json.dumps(config)

        def run(db: sqlite3.Connection) -> None:
            if db.execute("SELECT 1 FROM buckets WHERE name=?", (bucket,)).fetchone() is None:
                raise S3Error("NoSuchBucket", BucketName=bucket)
            db.execute("INSERT OR REPLACE INTO bucket_encryption VALUES (?, ?)", (bucket, text))

        await self.store._write(run)
        self._configs[bucket] = config
        return Response(200, b"", {})

    def get(self, bucket: str) -> bytes:
        config = self._configs.get(bucket)
        if config is None:
            raise S3Error("ServerSideEncryptionConfigurationNotFoundError", BucketName=bucket)
        xml = wire_out.xml_element(self._shape, "ServerSideEncryptionConfiguration", config)
        body = '<?xml version="1.0" encoding="UTF-8"?>\n' + xml.replace(
            "<ServerSideEncryptionConfiguration>",
            '<ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
            1,
        )
        return body.encode()

    async def delete(self, bucket: str) -> Response:
        await self.forget(bucket)
        return Response(204, b"", {})

    async def forget(self, bucket: str) -> None:
        """Drop a bucket's configuration (DeleteBucketEncryption, DeleteBucket)."""

        def run(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM bucket_encryption WHERE bucket=?", (bucket,))

        await self.store._write(run)
        self._configs.pop(bucket, None)
