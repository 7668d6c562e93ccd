"""The S3 REST API (wire layer) on the edge port: routing, headers, XML in and out.

A request is S3's when its SigV4 credential scope names the `s3` service, or its Host
is virtual-hosted style (`<bucket>.localhost[:port]`). Buckets and keys come from the
Host or from the path (path style, what boto3 uses against an IP endpoint). Bodies of
PUTs stream through an `Upload` (upload.py) while they arrive; the answer is built when
the last byte is in. Every error is S3's XML (errors.py).
"""

from __future__ import annotations

import base64
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import parse_qs, quote, unquote
from xml.sax.saxutils import escape

from faaslab.auth import AuthError, InvalidSignature, UnrecognizedClient, Verifier
from faaslab.clock import Clock, iso_millis
from faaslab.http.server import BodyRejected, BodySink, Request, Response
from faaslab.s3 import objectlock, objectlock_api, operations, tagging, versioning_api
from faaslab.s3.errors import S3Error, host_id, request_id
from faaslab.s3.model import (
    MAX_PART_NUMBER,
    STORED_HEADERS,
    ObjectInfo,
    bucket_name_problem,
)
from faaslab.s3.store import Body, Condition, ObjectStore
from faaslab.s3.subresources import SubResources
from faaslab.s3.upload import Upload

XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
OWNER = "<Owner><ID>faaslab</ID><DisplayName>faaslab</DisplayName></Owner>"
MAX_KEYS = 1000


@dataclass(slots=True)
class Target:
    bucket: str
    key: str
    query: dict[str, str]


def _xml(root: str, inner: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{XMLNS}">{inner}</{root}>'.encode()
    )


def _http_date(t: float) -> str:
    return formatdate(t, usegmt=True)


def _ok(body: bytes = b"", status: int = 200, headers: dict[str, str] | None = None) -> Response:
    h = {"x-amz-request-id": request_id(), "x-amz-id-2": host_id()}
    if body:
        h["Content-Type"] = "application/xml"
    if headers:
        h.update(headers)
    return Response(status, body, h)


class S3Api:
    def __init__(
        self, store: ObjectStore, verifier: Verifier, region: str, clock: Clock | None = None
    ) -> None:
        self.store = store
        self.verifier = verifier
        self.region = region
        self.sub = SubResources(store, clock or Clock())  # tagging, CORS, lifecycle, ...
        operations.table()  # botocore's S3 model, read once at start (~0.3 s), not mid-request

    # -- which requests are ours
    @staticmethod
    def claims(headers: dict[str, str]) -> bool:
        auth = headers.get("authorization", "")
        if "/s3/aws4_request" in auth:
            return True
        host = headers.get("host", "").rsplit(":", 1)[0]
        return host.endswith(".localhost")

    def target(self, path: str, query: str, headers: dict[str, str]) -> Target:
        q = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        host = headers.get("host", "").rsplit(":", 1)[0]
        if host.endswith(".localhost"):
            bucket = host.removesuffix(".localhost").removesuffix(".s3")
            return Target(bucket, unquote(path[1:]), q)
        bucket, _, key = path[1:].partition("/")
        return Target(unquote(bucket), unquote(key), q)

    def _authenticate(self, req: Request) -> None:
        if "x-amz-content-sha256" not in req.headers and "authorization" in req.headers:
            raise S3Error(
                "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
            )
        try:
            self.verifier.verify(req)
        except UnrecognizedClient as e:
            raise S3Error("InvalidAccessKeyId", str(e)) from None
        except InvalidSignature as e:
            raise S3Error("SignatureDoesNotMatch", str(e)) from None
        except AuthError as e:
            raise S3Error("AccessDenied", str(e)) from None

    # -- bodies (called when a request's headers are in)
    def sink(self, method: str, path: str, query: str, headers: dict[str, str]) -> BodySink | None:
        if method != "PUT" or not self.claims(headers) or "x-amz-copy-source" in headers:
            return None
        t = self.target(path, query, headers)
        if not t.key or SubResources.owns_body(method, t.query):
            return None  # CreateBucket, PutObjectTagging...: a small XML body, buffered
        head = Request(method, path, query, headers, b"")
        try:
            self._authenticate(head)
            operations.check(method, t.bucket, t.key, t.query, headers)  # before any write
            if t.query.keys() & operations.table()[1]:
                return None  # a sub-resource's XML body (?retention, ...): buffered
            return self._open_upload(t, headers)
        except S3Error as e:
            raise BodyRejected(e.response()) from None

    def _open_upload(self, t: Target, headers: dict[str, str]) -> Upload:
        """The Upload receiving an object's or a part's body, once the request is
        authenticated (S3Error if its bucket does not exist)."""
        self.store.require_bucket(t.bucket)
        return Upload(self.store.temp_path, headers, part="uploadId" in t.query)

    def start(self) -> None:
        """Start the lifecycle expirer (on the running loop)."""
        self.sub.expirer.start()

    async def stop(self) -> None:
        await self.sub.expirer.stop()

    # -- requests
    def handle(self, req: Request) -> Response | Awaitable[Response]:
        if req.method == "OPTIONS" or "origin" in req.headers:  # browsers: CORS (cors.py)
            try:
                t = self.target(req.path, req.query, req.headers)
                if req.method == "OPTIONS":  # a preflight carries no signature
                    if not t.bucket:
                        raise S3Error("MethodNotAllowed")
                    return self.sub.preflight(t.bucket, req)
            except S3Error as e:
                return e.response()
            return self.sub.with_cors(t.bucket, req, self._handle(req))
        return self._handle(req)

    def _handle(self, req: Request) -> Response | Awaitable[Response]:
        head = req.method == "HEAD"
        try:
            if req.sink is None:
                self._authenticate(req)
            t = self.target(req.path, req.query, req.headers)
            if isinstance(req.sink, Upload):
                return self._guard(self._put_body(req, t, req.sink), head)
            if not t.bucket:
                if req.method == "GET":
                    return self._list_buckets()
                raise S3Error("MethodNotAllowed")
            operations.check(req.method, t.bucket, t.key, t.query, req.headers)
            if not t.key:
                return self._bucket_op(req, t)
            return self._object_op(req, t)
        except S3Error as e:
            return e.response(head)

    def _guard_any(self, work: Response | Awaitable[Response]) -> Response | Awaitable[Response]:
        return work if isinstance(work, Response) else self._guard(work, False)

    async def _guard(self, work: Awaitable[Response], head: bool) -> Response:
        try:
            return await work
        except S3Error as e:
            return e.response(head)

    # -- buckets
    def _list_buckets(self) -> Response:
        items = "".join(
            f"<Bucket><Name>{escape(n)}</Name><CreationDate>{iso_millis(c)}</CreationDate></Bucket>"
            for n, c in self.store.list_buckets()
        )
        return _ok(_xml("ListAllMyBucketsResult", f"{OWNER}<Buckets>{items}</Buckets>"))

    def _bucket_op(self, req: Request, t: Target) -> Response | Awaitable[Response]:
        m, q = req.method, t.query
        if m == "PUT" and not q:
            lock = req.headers.get(objectlock.BUCKET_HEADER, "").lower() == "true"
            return self._guard(self._create_bucket(t.bucket, lock), False)
        if m == "HEAD":
            if not self.store.bucket_exists(t.bucket):
                raise S3Error("NoSuchBucket", BucketName=t.bucket)
            return _ok(headers={"x-amz-bucket-region": self.region})
        if m == "DELETE" and not q:
            return self._guard(self._delete_bucket(t.bucket), False)
        self.store.require_bucket(t.bucket)
        handler = self.sub.handler(m, q, on_object=False)
        if handler is not None:
            return self._guard_any(handler(req, t.bucket, ""))
        if "versioning" in q or "versions" in q:
            return self._versioning_op(req, t)
        if "object-lock" in q and m == "GET":
            return _ok(objectlock_api.get_configuration(self.store, t.bucket))
        if "object-lock" in q and m == "PUT":
            return self._guard(self._put_lock_configuration(req, t), False)
        if m == "GET" and "location" in q:
            where = "" if self.region == "us-east-1" else escape(self.region)
            return _ok(_xml("LocationConstraint", where))
        if m == "GET" and "uploads" in q:
            return self._list_uploads(t)
        if m == "GET":  # no sub-resource (operations.check): ListObjects(V2), whatever params
            return self._list_objects(t)
        if m == "POST" and "delete" in q:
            return self._guard(self._delete_objects(req, t), False)
        sub = ", ".join(sorted(q)) or m
        raise S3Error(
            "NotImplemented", f"faaslab does not implement {m} on a bucket with ?{sub} yet"
        )

    def _versioning_op(self, req: Request, t: Target) -> Response | Awaitable[Response]:
        m, q = req.method, t.query
        if m == "GET" and "versioning" in q:
            return _ok(versioning_api.get_versioning(self.store, t.bucket))
        if m == "PUT" and "versioning" in q:
            return self._guard(self._put_versioning(req, t), False)
        if m == "GET" and "versions" in q:
            return _ok(versioning_api.list_versions(self.store, t.bucket, q))
        raise S3Error("MethodNotAllowed")

    async def _put_versioning(self, req: Request, t: Target) -> Response:
        await self.store.set_versioning(t.bucket, versioning_api.parse_versioning(req.body))
        return _ok()

    async def _put_lock_configuration(self, req: Request, t: Target) -> Response:
        await objectlock_api.put_configuration(self.store, t.bucket, req.body)
        return _ok()

    async def _create_bucket(self, name: str, object_lock: bool = False) -> Response:
        problem = bucket_name_problem(name)
        if problem is not None:
            raise S3Error(
                "InvalidBucketName",
                f"The specified bucket is not valid: {problem}",
                BucketName=name,
            )
        created = await self.store.create_bucket(name, object_lock)
        if not created and self.region != "us-east-1":
            # us-east-1 answers 200 to a bucket you already own (its legacy behaviour)
            raise S3Error("BucketAlreadyOwnedByYou", BucketName=name)
        return _ok(headers={"Location": f"/{name}"})

    async def _delete_bucket(self, name: str) -> Response:
        await self.store.delete_bucket(name)
        self.sub.configs.forget(name)
        return _ok(status=204)

    def _list_objects(self, t: Target) -> Response:
        q = t.query
        v2 = q.get("list-type") == "2"
        prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
        url = q.get("encoding-type") == "url"
        try:
            max_keys = min(int(q.get("max-keys", MAX_KEYS)), MAX_KEYS)
        except ValueError:
            raise S3Error(
                "InvalidArgument", "Provided max-keys not an integer or within integer range"
            ) from None
        if max_keys < 0:
            raise S3Error(
                "InvalidArgument", "Argument maxKeys must be an integer between 0 and 2147483647"
            )
        token = q.get("continuation-token")
        if token is not None:
            try:
                after = base64.urlsafe_b64decode(token.encode()).decode()
            except ValueError:
                raise S3Error(
                    "InvalidArgument", "The continuation token provided is incorrect"
                ) from None
        else:
            after = q.get("start-after", "") if v2 else q.get("marker", "")

        def enc(s: str) -> str:
            return escape(quote(s, safe="/~") if url else s)

        contents: list[str] = []
        prefixes: list[str] = []
        last = ""
        truncated = False
        skip_prefix = (
            after if delimiter and after.endswith(delimiter) and after.startswith(prefix) else None
        )
        for info in self.store.list_keys(t.bucket, prefix, after):
            if skip_prefix and info.key.startswith(skip_prefix):
                continue
            common = None
            if delimiter:
                i = info.key.find(delimiter, len(prefix))
                if i >= 0:
                    common = info.key[: i + len(delimiter)]
            if common is not None and prefixes and prefixes[-1] == common:
                continue
            if len(contents) + len(prefixes) >= max_keys:
                truncated = True
                break
            if common is not None:
                prefixes.append(common)
                last = common
                skip_prefix = common
            else:
                contents.append(
                    f"<Contents><Key>{enc(info.key)}</Key><LastModified>{iso_millis(info.modified)}</LastModified>"
                    f"<ETag>&quot;{info.etag}&quot;</ETag><Size>{info.size}</Size>"
                    + (OWNER if q.get("fetch-owner") == "true" or not v2 else "")
                    + "<StorageClass>STANDARD</StorageClass></Contents>"
                )
                last = info.key
        parts = [f"<Name>{escape(t.bucket)}</Name><Prefix>{enc(prefix)}</Prefix>"]
        if v2:
            parts.append(f"<KeyCount>{len(contents) + len(prefixes)}</KeyCount>")
            if token is not None:
                parts.append(f"<ContinuationToken>{escape(token)}</ContinuationToken>")
            if "start-after" in q:
                parts.append(f"<StartAfter>{enc(q['start-after'])}</StartAfter>")
            if truncated:
                nxt = base64.urlsafe_b64encode(last.encode()).decode()
                parts.append(f"<NextContinuationToken>{nxt}</NextContinuationToken>")
        else:
            parts.append(f"<Marker>{enc(q.get('marker', ''))}</Marker>")
            if truncated and delimiter:
                parts.append(f"<NextMarker>{enc(last)}</NextMarker>")
        parts.append(f"<MaxKeys>{max_keys}</MaxKeys>")
        if delimiter:
            parts.append(f"<Delimiter>{enc(delimiter)}</Delimiter>")
        if url:
            parts.append("<EncodingType>url</EncodingType>")
        parts.append(f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>")
        parts += contents
        parts += [f"<CommonPrefixes><Prefix>{enc(p)}</Prefix></CommonPrefixes>" for p in prefixes]
        return _ok(_xml("ListBucketResult", "".join(parts)))

    def _list_uploads(self, t: Target) -> Response:
        items = "".join(
            f"<Upload><Key>{escape(key)}</Key><UploadId>{uid}</UploadId>{OWNER}"
            f"<StorageClass>STANDARD</StorageClass><Initiated>{iso_millis(created)}</Initiated></Upload>"
            for key, uid, created in self.store.list_uploads(t.bucket)
        )
        inner = (
            f"<Bucket>{escape(t.bucket)}</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>"
            f"<MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>{items}"
        )
        return _ok(_xml("ListMultipartUploadsResult", inner))

    async def _delete_objects(self, req: Request, t: Target) -> Response:
        root = _parse_xml(req.body)
        quiet = (_child_text(root, "Quiet") or "false").lower() == "true"
        entries = [
            versioning_api.DeleteEntry(
                _child_text(o, "Key") or "",
                _child_text(o, "VersionId"),
                _child_text(o, "ETag"),
                _child_text(o, "LastModifiedTime"),
                _child_text(o, "Size"),
            )
            for o in _children(root, "Object")
        ]
        if not entries or len(entries) > 1000:
            raise S3Error("MalformedXML")
        bypass = req.headers.get(objectlock.BYPASS_HEADER, "").lower() == "true"
        results = await self.store.remove(t.bucket, [e.deletion(bypass) for e in entries])
        return _ok(_xml("DeleteResult", versioning_api.delete_result(results, quiet)))

    # -- objects
    def _object_op(self, req: Request, t: Target) -> Response | Awaitable[Response]:
        m, q = req.method, t.query
        handler = self.sub.handler(m, q, on_object=True)
        if handler is not None:
            self.store.require_bucket(t.bucket)
            return self._guard_any(handler(req, t.bucket, t.key))
        if m in ("GET", "HEAD") and "uploadId" in q:
            return self._list_parts(t)
        if "retention" in q or "legal-hold" in q:
            return self._lock_op(req, t)
        if m in ("GET", "HEAD"):
            self.store.require_bucket(t.bucket)
            return self._get(req, t)
        if m == "PUT" and "x-amz-copy-source" in req.headers:
            if "uploadId" in q:
                raise S3Error("NotImplemented", "faaslab does not implement UploadPartCopy yet")
            return self._guard(self._copy(req, t), False)
        if m == "PUT":  # a body small enough to have been buffered (no sink): stream it now
            upload = self._open_upload(t, req.headers)  # handle() has authenticated it
            upload.write(req.body)
            return self._guard(self._put_body(req, t, upload), False)
        if m == "DELETE" and "uploadId" in q:
            return self._guard(self._abort(t), False)
        if m == "DELETE":
            return self._guard(self._delete(req, t), False)
        if m == "POST" and "uploads" in q:
            return self._guard(self._create_upload(req, t), False)
        if m == "POST" and "uploadId" in q:
            return self._guard(self._complete(req, t), False)
        raise S3Error("MethodNotAllowed")

    def _lock_op(self, req: Request, t: Target) -> Response | Awaitable[Response]:
        """Get/PutObjectRetention, Get/PutObjectLegalHold."""
        version = t.query.get("versionId")
        args = (self.store, t.bucket, t.key, version)
        if req.method == "GET" and "retention" in t.query:
            return _ok(objectlock_api.get_retention(*args))
        if req.method == "GET":
            return _ok(objectlock_api.get_legal_hold(*args))
        if req.method != "PUT":
            raise S3Error("MethodNotAllowed")
        if "retention" in t.query:
            bypass = req.headers.get(objectlock.BYPASS_HEADER, "").lower() == "true"
            work = objectlock_api.put_retention(*args, req.body, bypass)
        else:
            work = objectlock_api.put_legal_hold(*args, req.body)
        return self._guard(self._done(work), False)

    async def _done(self, work: Awaitable[None]) -> Response:
        await work
        return _ok()

    def _condition(self, req: Request, t: Target) -> Condition | None:
        """If-Match / If-None-Match of a write, checked now (412) and again at commit
        (409 if it held now and no longer does then)."""
        if_match = req.headers.get("if-match")
        if_none = req.headers.get("if-none-match")
        if if_none is not None and if_none.strip() != "*":
            raise S3Error("NotImplemented", "If-None-Match on a write only accepts '*'")
        if if_match is None and if_none is None:
            return None
        cond = Condition(if_match, if_none is not None, checked_at_start=False)
        cond.check(self.store.head(t.bucket, t.key), t.key)
        return replace(cond, checked_at_start=True)

    async def _put_body(self, req: Request, t: Target, upload: Upload) -> Response:
        if upload.aborted:
            raise S3Error("IncompleteBody")
        try:
            condition = None if "uploadId" in t.query else self._condition(req, t)
            lock = {} if "uploadId" in t.query else self._new_lock(req, t)
        except S3Error:
            upload.abort()
            raise
        body = await upload.finish()
        if "uploadId" in t.query:
            return await self._put_part(t, upload, body)
        info = self._new_info(req, t, body.size, body.md5.hex())
        info.checksums = upload.checksums()
        info.lock = lock
        stored = await self.store.put(info, body, condition)
        headers = {
            "ETag": f'"{stored.etag}"',
            **versioning_api.version_header(self.store, stored, read=False),
        }
        headers.update({f"x-amz-checksum-{k.lower()}": v for k, v in stored.checksums.items()})
        headers.update(self.sub.object_headers(stored, read=False))
        return _ok(headers=headers)

    def _new_lock(self, req: Request, t: Target) -> dict[str, str]:
        """A new version's Object Lock: its x-amz-object-lock-* headers, or the bucket's
        default retention."""
        return objectlock.from_headers(req.headers, self.store.object_lock(t.bucket), time.time())

    def _new_info(self, req: Request, t: Target, size: int, etag: str) -> ObjectInfo:
        h = req.headers
        metadata = {k[11:]: v for k, v in h.items() if k.startswith("x-amz-meta-")}
        stored = {name: h[name.lower()] for name in STORED_HEADERS if name.lower() in h}
        if "content-encoding" in h:  # aws-chunked is transport, not the object's encoding
            enc = ",".join(
                e for e in h["content-encoding"].split(",") if e.strip() != "aws-chunked"
            )
            if enc.strip():
                stored["Content-Encoding"] = enc.strip()
            else:
                stored.pop("Content-Encoding", None)
        tags = tagging.from_header(h["x-amz-tagging"]) if "x-amz-tagging" in h else None
        return ObjectInfo(
            t.bucket,
            t.key,
            "",
            size,
            etag,
            0.0,
            h.get("content-type") or "binary/octet-stream",
            metadata,
            stored,
            tags=tags,
        )

    async def _put_part(self, t: Target, upload: Upload, body: Body) -> Response:
        number = _part_number(t.query.get("partNumber", ""))
        self.store.upload(t.bucket, t.key, t.query["uploadId"])
        etag = await self.store.put_part(t.query["uploadId"], number, body)
        headers = {"ETag": f'"{etag}"'}
        headers.update({f"x-amz-checksum-{k.lower()}": v for k, v in upload.checksums().items()})
        return _ok(headers=headers)

    def _get(self, req: Request, t: Target, retry: bool = True) -> Response:
        version = t.query.get("versionId")
        if version is not None:
            info = versioning_api.version_of(self.store, t.bucket, t.key, version)
        else:
            found = self.store.head(t.bucket, t.key)
            if found is None:
                raise versioning_api.no_such_key(self.store, t.bucket, t.key)
            info = found
        h = req.headers
        status = _preconditions(h, info)
        headers = {
            "ETag": f'"{info.etag}"',
            "Last-Modified": _http_date(info.modified),
            "Accept-Ranges": "bytes",
            "Content-Type": info.content_type,
        }
        headers.update(info.headers)
        headers.update({f"x-amz-meta-{k}": v for k, v in info.metadata.items()})
        headers.update(self.sub.object_headers(info, read=True))
        headers.update(versioning_api.version_header(self.store, info))
        headers.update(objectlock.response_headers(info.lock))
        if status == 304:
            return _ok(status=304, headers={k: headers[k] for k in ("ETag", "Last-Modified")})
        if h.get("x-amz-checksum-mode", "").upper() == "ENABLED" and "range" not in h:
            headers.update({f"x-amz-checksum-{k.lower()}": v for k, v in info.checksums.items()})
        for param, header in _RESPONSE_OVERRIDES.items():
            if param in t.query:
                headers[header] = t.query[param]
        start, end = 0, info.size
        code = 200
        rng = _parse_range(h.get("range"), info.size)
        if rng is not None:
            start, end = rng
            code = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{info.size}"
        if req.method == "HEAD":
            headers["Content-Length"] = str(end - start)
            return _ok(status=code, headers=headers)
        try:
            data = self.store.read(info)
        except FileNotFoundError:  # overwritten between the lookup and the read: once more
            if retry:
                return self._get(req, t, retry=False)
            raise S3Error("InternalError", "the object's data is missing from the store") from None
        body = data[start:end] if (start, end) != (0, info.size) else data
        resp = _ok(status=code, headers=headers)
        resp.body = body
        return resp

    async def _copy(self, req: Request, t: Target) -> Response:
        src_path, _, src_query = req.headers["x-amz-copy-source"].partition("?")
        src = unquote(src_path).lstrip("/")
        src_bucket, _, src_key = src.partition("/")
        src_version = parse_qs(src_query).get("versionId", [None])[0]
        if not src_key:
            raise S3Error(
                "InvalidArgument",
                "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            )
        self.store.require_bucket(src_bucket)
        self.store.require_bucket(t.bucket)
        if src_version is not None:
            source = self.store.head_version(src_bucket, src_key, src_version)
            if source is None:
                raise S3Error("NoSuchVersion", Key=src_key, VersionId=src_version)
            if source.delete_marker:
                raise S3Error(
                    "InvalidRequest",
                    "The source of a copy request may not specifically refer to a delete "
                    "marker by version id.",
                )
        else:
            current = self.store.head(src_bucket, src_key)
            if current is None:
                raise S3Error("NoSuchKey", Key=src_key)
            source = current
        h = req.headers
        copy_h = {
            k.replace("x-amz-copy-source-", ""): v
            for k, v in h.items()
            if k.startswith("x-amz-copy-source-if-")
        }
        if _preconditions(copy_h, source) != 200:
            raise S3Error("PreconditionFailed", Condition="x-amz-copy-source-If-Match")
        directive = h.get("x-amz-metadata-directive", "COPY").upper()
        if directive == "REPLACE":
            target = self._new_info(req, t, source.size, source.etag)
        else:
            if (src_bucket, src_key) == (t.bucket, t.key) and src_version is None:
                raise S3Error(
                    "InvalidRequest",
                    "This copy request is illegal because it is trying to copy an object to "
                    "itself without changing the object's metadata, storage class, website "
                    "redirect location or encryption attributes.",
                )
            target = ObjectInfo(
                t.bucket,
                t.key,
                "",
                source.size,
                source.etag,
                0.0,
                source.content_type,
                dict(source.metadata),
                dict(source.headers),
            )
        target.checksums = dict(source.checksums)
        target.lock = self._new_lock(req, t)
        tagging_directive = h.get("x-amz-tagging-directive", "COPY").upper()
        if tagging_directive not in ("COPY", "REPLACE"):
            raise S3Error("InvalidArgument", "Unknown tagging directive.")
        if tagging_directive == "COPY":
            target.tags = tagging.tags_of(
                self.store.read_db, src_bucket, src_key, source.version_id or ""
            )
        else:
            target.tags = tagging.from_header(h.get("x-amz-tagging", ""))
        stored = await self.store.copy(source, target)
        inner = (
            f"<LastModified>{iso_millis(stored.modified)}</LastModified>"
            f"<ETag>&quot;{stored.etag}&quot;</ETag>"
        )
        headers = versioning_api.version_header(self.store, stored, read=False)
        source_version = versioning_api.version_header(self.store, source)
        if source_version:
            headers["x-amz-copy-source-version-id"] = source_version["x-amz-version-id"]
        return _ok(_xml("CopyObjectResult", inner), headers=headers)

    async def _delete(self, req: Request, t: Target) -> Response:
        request = versioning_api.deletion(t.key, t.query, req.headers)
        [done] = await self.store.remove(t.bucket, [request])
        if done.error is not None:
            raise done.error
        return _ok(status=204, headers=versioning_api.delete_headers(done))

    async def _create_upload(self, req: Request, t: Target) -> Response:
        info = self._new_info(req, t, 0, "")
        info.lock = self._new_lock(req, t)
        upload_id = await self.store.create_upload(info)
        inner = (
            f"<Bucket>{escape(t.bucket)}</Bucket><Key>{escape(t.key)}</Key>"
            f"<UploadId>{upload_id}</UploadId>"
        )
        return _ok(_xml("InitiateMultipartUploadResult", inner))

    def _list_parts(self, t: Target) -> Response:
        self.store.require_bucket(t.bucket)
        upload_id, _key, _created = self.store.upload(t.bucket, t.key, t.query["uploadId"])
        try:
            marker = int(t.query.get("part-number-marker", "0") or 0)
            max_parts = min(int(t.query.get("max-parts", "1000") or 1000), 1000)
        except ValueError:
            raise S3Error("InvalidArgument") from None
        parts = [p for p in self.store.parts(upload_id) if p[0] > marker]
        shown, truncated = parts[:max_parts], len(parts) > max_parts
        items = "".join(
            f"<Part><PartNumber>{n}</PartNumber><LastModified>{iso_millis(mod)}</LastModified>"
            f"<ETag>&quot;{etag}&quot;</ETag><Size>{size}</Size></Part>"
            for n, size, etag, mod in shown
        )
        nxt = shown[-1][0] if shown else 0
        inner = (
            f"<Bucket>{escape(t.bucket)}</Bucket><Key>{escape(t.key)}</Key><UploadId>{upload_id}</UploadId>"
            f"<PartNumberMarker>{marker}</PartNumberMarker><NextPartNumberMarker>{nxt}</NextPartNumberMarker>"
            f"<MaxParts>{max_parts}</MaxParts>"
            f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"
            f"{OWNER}<StorageClass>STANDARD</StorageClass>{items}"
        )
        return _ok(_xml("ListPartsResult", inner))

    async def _complete(self, req: Request, t: Target) -> Response:
        self.store.require_bucket(t.bucket)
        root = _parse_xml(req.body)
        wanted = []
        for p in _children(root, "Part"):
            number = _part_number(_child_text(p, "PartNumber") or "")
            wanted.append((number, _child_text(p, "ETag") or ""))
        condition = self._condition(req, t)
        info = await self.store.complete(t.bucket, t.key, t.query["uploadId"], wanted, condition)
        host = req.headers.get("host", "localhost")
        inner = (
            f"<Location>http://{escape(host)}/{escape(quote(t.bucket))}/{escape(quote(t.key))}</Location>"
            f"<Bucket>{escape(t.bucket)}</Bucket><Key>{escape(t.key)}</Key><ETag>&quot;{info.etag}&quot;</ETag>"
        )
        headers = versioning_api.version_header(self.store, info, read=False)
        headers.update(self.sub.object_headers(info, read=False))  # x-amz-expiration
        return _ok(_xml("CompleteMultipartUploadResult", inner), headers=headers)

    async def _abort(self, t: Target) -> Response:
        self.store.require_bucket(t.bucket)
        await self.store.abort(t.bucket, t.key, t.query["uploadId"])
        return _ok(status=204)


_RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}


def _part_number(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PART_NUMBER:
        raise S3Error(
            "InvalidArgument",
            f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive",
        )
    return int(raw)


def _parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """[start, end) of a `Range: bytes=...` S3 honours; None for no range or one it
    ignores (malformed, several ranges); S3Error InvalidRange when unsatisfiable."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[6:].strip().partition("-")
    try:
        if first == "":
            n = int(last)
            if n <= 0:
                raise S3Error("InvalidRange", ActualObjectSize=str(size), RangeRequested=header)
            return max(0, size - n), size
        start = int(first)
        end = int(last) + 1 if last else size
    except ValueError:
        return None
    if last and end <= start:  # bytes=5-3: not a range S3 honours (the whole object)
        return None
    if start >= size:
        raise S3Error("InvalidRange", ActualObjectSize=str(size), RangeRequested=header)
    return start, min(end, size)


def _preconditions(h: dict[str, str], info: ObjectInfo) -> int:
    """200, 304 (not modified) or raises 412, for a read's conditional headers (RFC 7232
    as S3 applies it: If-Match beats If-Unmodified-Since, If-None-Match beats
    If-Modified-Since)."""
    etag = info.etag
    if_match = h.get("if-match")
    if if_match is not None:
        if not _etag_in(if_match, etag):
            raise S3Error("PreconditionFailed", Condition="If-Match")
    elif (since := _date(h.get("if-unmodified-since"))) is not None and int(info.modified) > since:
        raise S3Error("PreconditionFailed", Condition="If-Unmodified-Since")
    if_none = h.get("if-none-match")
    if if_none is not None:
        if _etag_in(if_none, etag):
            return 304
    elif (since := _date(h.get("if-modified-since"))) is not None and int(info.modified) <= since:
        return 304
    return 200


def _etag_in(header: str, etag: str) -> bool:
    tags = [t.strip().removeprefix("W/").strip('"') for t in header.split(",")]
    return "*" in tags or etag in tags


def _date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def _parse_xml(body: bytes) -> ET.Element:
    try:
        return ET.fromstring(body)
    except ET.ParseError:
        raise S3Error("MalformedXML") from None


def _children(root: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in root if c.tag.rsplit("}", 1)[-1] == name]


def _child_text(root: ET.Element, name: str) -> str | None:
    found = _children(root, name)
    return found[0].text if found else None
