"""Bucket and object configuration sub-resources: `?tagging`, `?cors`, `?lifecycle`,
`?notification`, `?logging`, `?requestPayment`, `?accelerate`, `?website`.

`SubResources.handler` names the handler of a (method, sub-resource, bucket or object)
request; api.py calls it before refusing a sub-resource. Each handler parses S3's XML
through botocore's shapes (bucket_config.py), checks it as S3 does (tagging.py,
cors.py, lifecycle.py) and keeps it as a bucket configuration document. Also here, the
headers these configurations add to object requests: `x-amz-tagging-count` and
`x-amz-expiration`, and CORS on requests carrying an `Origin`.

What faaslab cannot do is refused in S3's words: notification destinations (faaslab has
no SNS or SQS; Lambda and EventBridge destinations are not implemented), server access
logging, Requester Pays, Transfer Acceleration, website hosting (PUT): those stay 501
or S3's validation error, never accepted and ignored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from faaslab.clock import Clock
from faaslab.http.server import Request, Response
from faaslab.s3 import cors, lifecycle, tagging, versioning_api
from faaslab.s3.bucket_config import BucketConfigs, parse_payload, render
from faaslab.s3.errors import S3Error, host_id, request_id
from faaslab.s3.errors import ok as _ok
from faaslab.s3.model import ObjectInfo
from faaslab.s3.store import ObjectStore

Handler = Callable[[Request, str, str], Response | Awaitable[Response]]

# the sub-resources served here, and the operations they are (operations.IMPLEMENTED)
OPERATIONS = frozenset(
    {
        "PutBucketTagging",
        "GetBucketTagging",
        "DeleteBucketTagging",
        "PutObjectTagging",
        "GetObjectTagging",
        "DeleteObjectTagging",
        "PutBucketCors",
        "GetBucketCors",
        "DeleteBucketCors",
        "PutBucketLifecycleConfiguration",
        "GetBucketLifecycleConfiguration",
        "DeleteBucketLifecycle",
        "PutBucketNotificationConfiguration",
        "GetBucketNotificationConfiguration",
        "PutBucketLogging",
        "GetBucketLogging",
        "GetBucketRequestPayment",
        "PutBucketRequestPayment",
        "GetBucketAccelerateConfiguration",
        "GetBucketWebsite",
        "DeleteBucketWebsite",
    }
)
SUBRESOURCES = frozenset(
    {
        "tagging",
        "cors",
        "lifecycle",
        "notification",
        "logging",
        "requestPayment",
        "accelerate",
        "website",
    }
)


class SubResources:
    def __init__(self, store: ObjectStore, clock: Clock) -> None:
        self.store = store
        self.configs = BucketConfigs(store)
        self.expirer = lifecycle.Expirer(store, self.configs, clock)
        self._bucket: dict[tuple[str, str], Handler] = {
            ("PUT", "tagging"): self._put_bucket_tagging,
            ("GET", "tagging"): self._get_bucket_tagging,
            ("DELETE", "tagging"): self._delete_config("tagging"),
            ("PUT", "cors"): self._put_cors,
            ("GET", "cors"): self._get_cors,
            ("DELETE", "cors"): self._delete_config("cors"),
            ("PUT", "lifecycle"): self._put_lifecycle,
            ("GET", "lifecycle"): self._get_lifecycle,
            ("DELETE", "lifecycle"): self._delete_config("lifecycle"),
            ("PUT", "notification"): self._put_notification,
            ("GET", "notification"): self._get_notification,
            ("PUT", "logging"): self._put_logging,
            ("GET", "logging"): self._get_logging,
            ("PUT", "requestPayment"): self._put_request_payment,
            ("GET", "requestPayment"): self._get_request_payment,
            ("GET", "accelerate"): self._get_accelerate,
            ("GET", "website"): self._get_website,
            ("DELETE", "website"): self._delete_website,
        }
        self._object: dict[tuple[str, str], Handler] = {
            ("PUT", "tagging"): self._put_object_tagging,
            ("GET", "tagging"): self._get_object_tagging,
            ("DELETE", "tagging"): self._delete_object_tagging,
        }

    def handler(self, method: str, query: dict[str, str], on_object: bool) -> Handler | None:
        """The handler of a sub-resource request served here, else None."""
        table = self._object if on_object else self._bucket
        for name in query:
            if name in SUBRESOURCES:
                return table.get((method, name))
        return None

    @staticmethod
    def owns_body(method: str, query: dict[str, str]) -> bool:
        """Whether a PUT's body is a sub-resource document (buffered, never an object)."""
        return method == "PUT" and any(q in SUBRESOURCES for q in query)

    # -- headers on object requests
    def object_headers(self, info: ObjectInfo, read: bool) -> dict[str, str]:
        """x-amz-tagging-count (GET/HEAD: `read`) and x-amz-expiration for the object."""
        out: dict[str, str] = {}
        rules = self.configs.get(info.bucket, "lifecycle")
        tags = info.tags
        if tags is None and (read or (rules is not None and lifecycle.needs_tags(rules))):
            version = info.version_id or ""
            tags = tagging.tags_of(self.store.reader, info.bucket, info.key, version)
        if read and tags:
            out["x-amz-tagging-count"] = str(len(tags))
        expiry = lifecycle.expiration(rules, info, tags)
        if expiry is not None:
            out["x-amz-expiration"] = expiry
        return out

    def with_cors(
        self, bucket: str, req: Request, resp: Response | Awaitable[Response]
    ) -> Response | Awaitable[Response]:
        """The response with the bucket's CORS headers for the request's Origin."""
        if not bucket or not self.store.bucket_exists(bucket):
            return resp
        extra = cors.actual_headers(self.configs.get(bucket, "cors"), req.method, req.headers)
        if not extra:
            return resp
        if isinstance(resp, Response):
            resp.headers.update(extra)
            return resp

        async def later() -> Response:
            done = await resp
            done.headers.update(extra)
            return done

        return later()

    def preflight(self, bucket: str, req: Request) -> Response:
        self.store.require_bucket(bucket)
        resp = cors.preflight(self.configs.get(bucket, "cors"), req.headers)
        resp.headers.update({"x-amz-request-id": request_id(), "x-amz-id-2": host_id()})
        return resp

    # -- generic
    def _delete_config(self, name: str) -> Handler:
        async def run(req: Request, bucket: str, key: str) -> Response:
            await self.configs.delete(bucket, name)
            return _ok(status=204)

        return run

    # -- tagging
    async def _put_bucket_tagging(self, req: Request, bucket: str, key: str) -> Response:
        doc = parse_payload("PutBucketTagging", req.body, req.headers)
        tags = tagging.from_tag_set(doc, tagging.MAX_BUCKET_TAGS, "Bucket")
        if tags:
            await self.configs.put(bucket, "tagging", tags)
        else:
            await self.configs.delete(bucket, "tagging")
        return _ok(status=204)

    def _get_bucket_tagging(self, req: Request, bucket: str, key: str) -> Response:
        tags = self.configs.get(bucket, "tagging")
        if tags is None:
            raise S3Error("NoSuchTagSet", BucketName=bucket)
        body = render("GetBucketTagging", "Tagging", {"TagSet": tagging.to_tag_set(tags)})
        return _ok(body)

    def _version(self, req: Request, bucket: str, key: str) -> ObjectInfo:
        """The object version a tagging request names (`versionId`), else the current one
        (NoSuchKey, NoSuchVersion; a delete marker: 405, as S3)."""
        version = parse_qs(req.query).get("versionId", [None])[0]
        return versioning_api.object_of(self.store, bucket, key, version)

    async def _put_object_tagging(self, req: Request, bucket: str, key: str) -> Response:
        info = self._version(req, bucket, key)
        doc = parse_payload("PutObjectTagging", req.body, req.headers)
        tags = tagging.from_tag_set(doc, tagging.MAX_OBJECT_TAGS)
        await self._write_object_tags(info, tags)
        return _ok(headers=versioning_api.version_header(self.store, info))

    async def _write_object_tags(self, info: ObjectInfo, tags: dict[str, str]) -> None:
        bucket, key, version = info.bucket, info.key, info.version_id

        def run(db: sqlite3.Connection) -> None:
            found = self.store.history.find(db, bucket, key, version)
            if found is None or found.delete_marker:  # (removed meanwhile)
                raise S3Error("NoSuchKey", Key=key)
            tagging.store_tags(db, bucket, key, tags, version or "")

        await self.store.write(run)

    def _get_object_tagging(self, req: Request, bucket: str, key: str) -> Response:
        info = self._version(req, bucket, key)
        tags = tagging.tags_of(self.store.reader, bucket, key, info.version_id or "")
        body = render("GetObjectTagging", "Tagging", {"TagSet": tagging.to_tag_set(tags)})
        return _ok(body, headers=versioning_api.version_header(self.store, info))

    async def _delete_object_tagging(self, req: Request, bucket: str, key: str) -> Response:
        info = self._version(req, bucket, key)
        await self._write_object_tags(info, {})
        return _ok(status=204, headers=versioning_api.version_header(self.store, info))

    # -- CORS
    async def _put_cors(self, req: Request, bucket: str, key: str) -> Response:
        doc = cors.validate(parse_payload("PutBucketCors", req.body, req.headers))
        await self.configs.put(bucket, "cors", doc)
        return _ok()

    def _get_cors(self, req: Request, bucket: str, key: str) -> Response:
        doc = self.configs.get(bucket, "cors")
        if doc is None:
            raise S3Error("NoSuchCORSConfiguration", BucketName=bucket)
        return _ok(render("GetBucketCors", "CORSConfiguration", doc))

    # -- lifecycle
    async def _put_lifecycle(self, req: Request, bucket: str, key: str) -> Response:
        doc = parse_payload("PutBucketLifecycleConfiguration", req.body, req.headers)
        await self.configs.put(bucket, "lifecycle", lifecycle.validate(doc))
        return _ok()

    def _get_lifecycle(self, req: Request, bucket: str, key: str) -> Response:
        doc = self.configs.get(bucket, "lifecycle")
        if doc is None:
            raise S3Error("NoSuchLifecycleConfiguration", BucketName=bucket)
        body = render(
            "GetBucketLifecycleConfiguration", "LifecycleConfiguration", lifecycle.for_wire(doc)
        )
        return _ok(body)

    # -- notification: an empty configuration, as a bucket has until one is written
    def _get_notification(self, req: Request, bucket: str, key: str) -> Response:
        return _ok(render("GetBucketNotificationConfiguration", "NotificationConfiguration", {}))

    def _put_notification(self, req: Request, bucket: str, key: str) -> Response:
        if not req.body.strip():
            raise S3Error("MalformedXML")
        doc = parse_payload("PutBucketNotificationConfiguration", req.body, req.headers)
        for kind in ("TopicConfigurations", "QueueConfigurations"):
            for conf in doc.get(kind, []):
                arn = str(conf.get("TopicArn") or conf.get("QueueArn") or "")
                # faaslab has no SNS or SQS: the destination cannot exist, which is what
                # S3 answers for a topic or queue it cannot reach
                raise S3Error(
                    "InvalidArgument",
                    "Unable to validate the following destination configurations",
                    ArgumentName=arn,
                    ArgumentValue="faaslab has no SNS or SQS to deliver to",
                )
        if doc.get("LambdaFunctionConfigurations") or "EventBridgeConfiguration" in doc:
            raise S3Error(
                "NotImplemented",
                "faaslab does not deliver bucket notifications (to Lambda or EventBridge) yet",
                Resource=f"/{bucket}?notification",
            )
        return _ok()  # an empty configuration: what the bucket has

    # -- logging: disabled, as a new bucket's is
    def _get_logging(self, req: Request, bucket: str, key: str) -> Response:
        return _ok(render("GetBucketLogging", "BucketLoggingStatus", {}))

    def _put_logging(self, req: Request, bucket: str, key: str) -> Response:
        doc = parse_payload("PutBucketLogging", req.body, req.headers)
        if "LoggingEnabled" in doc:
            target = doc["LoggingEnabled"]
            if "TargetBucket" not in target or "TargetPrefix" not in target:
                raise S3Error("MalformedXML")
            raise S3Error(
                "NotImplemented",
                "faaslab does not write server access logs",
                Resource=f"/{bucket}?logging",
            )
        return _ok()

    # -- request payment: the bucket owner pays (faaslab has no requester accounts)
    def _get_request_payment(self, req: Request, bucket: str, key: str) -> Response:
        body = render(
            "GetBucketRequestPayment", "RequestPaymentConfiguration", {"Payer": "BucketOwner"}
        )
        return _ok(body)

    def _put_request_payment(self, req: Request, bucket: str, key: str) -> Response:
        doc = parse_payload("PutBucketRequestPayment", req.body, req.headers)
        payer = doc.get("Payer")
        if payer not in ("BucketOwner", "Requester"):
            raise S3Error("MalformedXML")
        if payer == "Requester":
            raise S3Error(
                "NotImplemented",
                "faaslab does not implement Requester Pays buckets",
                Resource=f"/{bucket}?requestPayment",
            )
        return _ok()

    # -- transfer acceleration: never enabled (no Status), as a new bucket's
    def _get_accelerate(self, req: Request, bucket: str, key: str) -> Response:
        return _ok(render("GetBucketAccelerateConfiguration", "AccelerateConfiguration", {}))

    # -- website: none (PutBucketWebsite stays 501)
    def _get_website(self, req: Request, bucket: str, key: str) -> Response:
        raise S3Error("NoSuchWebsiteConfiguration", BucketName=bucket)

    def _delete_website(self, req: Request, bucket: str, key: str) -> Response:
        return _ok(status=204)
