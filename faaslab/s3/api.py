"""The S3 REST API (wire layer) on the edge port: routing, headers, XML in and out.

A request is S3's when its SigV4 credential scope names the `s3` service, or its Host
is virtual-hosted style (`<bucket>.localhost[:port]`). Buckets and keys come from the
Host or from the path (path style, what boto3 uses against an IP endpoint). Bodies of
PUTs stream through an `Upload` (upload.py) while they arrive; the answer is built when
the last byte is in. Every error is S3's XML (errors.py).
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from email.utils import formatdate, parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, quote, unquote
from xml.sax.saxutils import escape

from faaslab.auth import AuthError, InvalidSignature, UnrecognizedClient, Verifier
from faaslab.clock import Clock, iso_millis
from faaslab.functions.model import DEFAULT_ACCOUNT
from faaslab.http.server import BodyRejected, BodySink, Request, Response
from faaslab.s3 import (
    checksums,
    listing,
    object_attributes,
    objectlock,
    objectlock_api,
    operations,
    part_copy,
    post_object,
    sigauth,
    sse,
    tagging,
    versioning_api,
)
from faaslab.s3.access import Access, action_of, check_expected_owner, operation
from faaslab.s3.access_api import AccessApi
from faaslab.s3.access_store import AccessStore
from faaslab.s3.bucket_encryption import BucketEncryption
from faaslab.s3.errors import S3Error
from faaslab.s3.errors import ok as _ok
from faaslab.s3.model import (
    MAX_PART_NUMBER,
    STORED_HEADERS,
    ObjectInfo,
    bucket_name_problem,
)
from faaslab.s3.store import INLINE_MAX, Body, Condition, ObjectStore
from faaslab.s3.subresources import SubResources
from faaslab.s3.upload import Upload

XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
# an encrypted GET's plaintext up to this size is decrypted in memory, a larger one into
# an unlinked temp file's mapping (the server sends bodies whole, not streamed)
DECRYPT_IN_MEMORY_MAX = 256 << 20
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


class S3Api:
    def __init__(
        self, store: ObjectStore, verifier: Verifier, region: str, clock: Clock | None = None
    ) -> None:
        self.store = store
        self.verifier = verifier
        self.region = region
        settings = AccessStore(store)
        self.access = Access(settings)
        self.access_api = AccessApi(settings)
        self.query_verifier = sigauth.QueryVerifier(verifier.keys, verifier.now, verifier.strict)
        self.post_object = post_object.PostObject(
            verifier.keys, verifier.strict, verifier.now, self._authorize_post, self._post_put
        )
        self.sub = SubResources(store, clock or Clock())  # tagging, CORS, lifecycle, ...
        operations.table()  # botocore's S3 model, read once at start (~0.3 s), not mid-request
        self.keyring = sse.Keyring(store.root, region, DEFAULT_ACCOUNT)
        self.encryption = BucketEncryption(store, self.keyring)

    # -- which requests are ours
    @staticmethod
    def claims(headers: dict[str, str]) -> bool:
        auth = headers.get("authorization", "")
        if "/s3/aws4_request" in auth:
            return True
        host = headers.get("host", "").rsplit(":", 1)[0]
        return host.endswith(".localhost")

    @staticmethod
    def claims_signed(query: str, headers: dict[str, str]) -> bool:
        """S3's by its credentials: a SigV4 scope of s3 (header or presigned query), or
        SigV2 (header or query), which among faaslab's services only S3 accepts."""
        if S3Api.claims(headers):
            return True
        how = sigauth.kind(query, headers)
        if how == "v4-query":
            return "%2Fs3%2Faws4_request" in query or "/s3/aws4_request" in query
        return how is not None

    def claims_anonymous(self, path: str, headers: dict[str, str]) -> bool:
        """An unsigned request S3 should answer: its path names an existing bucket (or is
        `/`, ListBuckets, refused), or an AWS SDK sent it (`amz-sdk-invocation-id`: boto3,
        the JS and Java SDKs send it, browsers and curl do not) with a bucket-shaped first
        segment (NoSuchBucket). Nothing else on the edge is unsigned but API routes
        (matched before this) and /_faaslab (which no bucket name can shadow: `_` is not
        allowed in one); any other unsigned path is left to the edge's 404, so a mistyped
        route is not answered in S3's words."""
        if "authorization" in headers:
            return False
        if path == "/":
            return True
        first = unquote(path[1:].split("/", 1)[0])
        if not first or bucket_name_problem(first) is not None:
            return False
        return "amz-sdk-invocation-id" in headers or self.store.bucket_exists(first)

    def target(self, path: str, query: str, headers: dict[str, str]) -> Target:
        q = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        host = headers.get("host", "").rsplit(":", 1)[0]
        if host.endswith(".localhost"):
            bucket = host.removesuffix(".localhost").removesuffix(".s3")
            return Target(bucket, _unquote(path[1:]), q)
        bucket, _, key = path[1:].partition("/")
        return Target(_unquote(bucket), _unquote(key), q)

    def _authenticate(self, req: Request) -> sigauth.Caller:
        """Who sent the request (sigauth.ANONYMOUS if nobody signed it); S3Error if its
        credentials do not check out."""
        how = sigauth.kind(req.query, req.headers)
        if how is not None:
            return self.query_verifier.verify(req, how, self._auth_path(req))
        if "authorization" not in req.headers:
            return sigauth.ANONYMOUS
        if "x-amz-content-sha256" not in req.headers:
            raise S3Error(
                "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
            )
        try:
            return sigauth.Caller(self.verifier.verify(req))
        except UnrecognizedClient as e:
            raise S3Error("InvalidAccessKeyId", str(e)) from None
        except InvalidSignature as e:
            raise S3Error("SignatureDoesNotMatch", str(e)) from None
        except AuthError as e:
            raise S3Error("AccessDenied", str(e)) from None

    @staticmethod
    def _auth_path(req: Request) -> str:
        """The path SigV2 signs: always /bucket/key, also for virtual-hosted requests."""
        host = req.headers.get("host", "").rsplit(":", 1)[0]
        if host.endswith(".localhost"):
            return "/" + host.removesuffix(".localhost").removesuffix(".s3") + req.path
        return req.path

    def _authorize(self, caller: sigauth.Caller, req: Request, t: Target) -> None:
        check_expected_owner(req.headers)
        op = operation(req.method, t.key, t.query, req.headers)
        if op == "DeleteObjects" and (caller.anonymous or self._has_policy(t.bucket)):
            # s3:DeleteObject on each key (a policy names objects, not the bucket)
            root = _parse_xml(req.body)
            for o in _children(root, "Object"):
                key = _child_text(o, "Key") or ""
                self.access.authorize(caller, "s3:DeleteObject", t.bucket, key, req, t.query)
            return
        self.access.authorize(caller, action_of(op, t.query), t.bucket, t.key, req, t.query)
        if op == "CopyObject":  # reading the source too
            src = unquote(req.headers["x-amz-copy-source"].split("?", 1)[0]).lstrip("/")
            src_bucket, _, src_key = src.partition("/")
            if src_bucket and src_key:
                self.access.authorize(caller, "s3:GetObject", src_bucket, src_key, req, {})

    def _acl_target(self, t: Target) -> ObjectInfo:
        """The object (version) whose ACL ?acl reads or writes."""
        return versioning_api.object_of(self.store, t.bucket, t.key, t.query.get("versionId"))

    def _has_policy(self, bucket: str) -> bool:
        return self.access.settings.bucket(bucket).policy is not None

    # -- POST object (post_object.py checks the form)
    def _authorize_post(self, caller: sigauth.Caller, req: Request, bucket: str, key: str) -> None:
        self.store.require_bucket(bucket)
        self.access.authorize(caller, "s3:PutObject", bucket, key, req, {})

    async def _post_put(
        self, bucket: str, key: str, headers: dict[str, str], data: bytes
    ) -> tuple[str, dict[str, str]]:
        """PutObject of a form upload: (ETag, extra response headers)."""
        headers = {**headers, "content-length": str(len(data))}
        t = Target(bucket, key, {})
        req = Request("POST", "/", "", headers, b"")
        self.access_api.requested_acl(headers, bucket)  # (refused before the body is kept)
        lock = self._new_lock(req, t)
        upload = self._open_upload(t, headers)
        upload.write(data)
        body = await upload.finish()
        stored, answer = await self._store_put(req, t, upload, body, None, lock)
        return stored.etag, answer

    # -- bodies (called when a request's headers are in)
    def sink(self, method: str, path: str, query: str, headers: dict[str, str]) -> BodySink | None:
        if method != "PUT" or "x-amz-copy-source" in headers:
            return None
        if not (self.claims_signed(query, headers) or self.claims_anonymous(path, headers)):
            return None
        try:
            t = self.target(path, query, headers)
        except S3Error as e:
            raise BodyRejected(e.response()) from None
        if not t.key or "acl" in t.query or SubResources.owns_body(method, t.query):
            return None  # CreateBucket, PutObjectAcl, PutObjectTagging...: small XML, buffered
        head = Request(method, path, query, headers, b"")
        try:
            caller = self._authenticate(head)
            operations.check(method, t.bucket, t.key, t.query, headers)  # before any write
            if t.query.keys() & operations.table()[1]:
                return None  # a sub-resource's XML body (?retention, ?acl, ...): buffered
            if caller.anonymous and self.access.settings.bucket(t.bucket).policy is None:
                # (a policy may name the client's address, not known here: handle() decides)
                self._authorize(caller, head, t)
            if "uploadId" not in t.query:
                self.access_api.requested_acl(headers, t.bucket)
            return self._open_upload(t, headers)
        except S3Error as e:
            raise BodyRejected(e.response()) from None

    def _open_upload(self, t: Target, headers: dict[str, str]) -> Upload:
        """The Upload receiving an object's or a part's body, once the request is
        authenticated (S3Error if its bucket does not exist)."""
        self.store.require_bucket(t.bucket)
        checksums.check_request(headers)
        if "uploadId" in t.query:
            upload_headers = self.store.upload_headers(t.query["uploadId"])
            cipher = sse.for_part(headers, upload_headers, self.keyring)
            _part_checksum_matches(headers, upload_headers)
        else:
            spec = sse.for_write(headers, self.keyring, self.encryption.default(t.bucket))
            cipher = sse.Encrypting(self.keyring.new_key(spec)) if spec is not None else None
        upload = Upload(self.store.blob_path, headers, part="uploadId" in t.query)
        upload.cipher = cipher
        return upload

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
                caller = self._authenticate(req)
            else:  # authenticated when its headers came (sink)
                caller = sigauth.Caller(sigauth.claimed_key(req.query, req.headers))
            t = self.target(req.path, req.query, req.headers)
            if isinstance(req.sink, Upload):
                try:
                    self._authorize(caller, req, t)
                except S3Error:
                    req.sink.abort()
                    raise
                return self._guard(self._put_body(req, t, req.sink), head)
            if not t.bucket:
                if req.method == "GET" and not caller.anonymous:
                    return self._list_buckets(t.query)
                if req.method == "GET":
                    raise S3Error("AccessDenied")
                raise S3Error("MethodNotAllowed")
            if req.method == "POST" and not t.key and post_object.is_form(req.headers):
                return self._guard(self.post_object.handle(req, t.bucket, caller), False)
            operations.check(req.method, t.bucket, t.key, t.query, req.headers)
            self._authorize(caller, req, t)
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
    def _list_buckets(self, q: dict[str, str]) -> Response:
        """ListBuckets, paginated when asked (max-buckets, continuation-token: the last name
        of the previous page, prefix)."""
        raw_max = q.get("max-buckets", "10000")
        if not raw_max.isdigit() or not 1 <= int(raw_max) <= 10000:
            raise S3Error("InvalidArgument", "max-buckets must be an integer from 1 to 10000")
        after = ""
        if token := q.get("continuation-token"):
            after = listing.decode_token(token)
        prefix = q.get("prefix", "")
        buckets = [
            (n, c) for n, c in self.store.list_buckets() if n > after and n.startswith(prefix)
        ]
        shown = buckets[: int(raw_max)]
        items = "".join(
            f"<Bucket><Name>{escape(n)}</Name><CreationDate>{iso_millis(c)}</CreationDate></Bucket>"
            for n, c in shown
        )
        inner = f"{OWNER}<Buckets>{items}</Buckets>"
        if len(buckets) > len(shown):
            nxt = base64.urlsafe_b64encode(shown[-1][0].encode()).decode()
            inner += f"<ContinuationToken>{nxt}</ContinuationToken>"
        if "prefix" in q:
            inner += f"<Prefix>{escape(prefix)}</Prefix>"
        return _ok(_xml("ListAllMyBucketsResult", inner))

    def _bucket_op(self, req: Request, t: Target) -> Response | Awaitable[Response]:
        m, q = req.method, t.query
        if m == "PUT" and not q:
            lock = req.headers.get(objectlock.BUCKET_HEADER, "").lower() == "true"
            return self._guard(self._create_bucket(t.bucket, req.headers, lock), False)
        if m == "HEAD":
            if not self.store.bucket_exists(t.bucket):
                raise S3Error("NoSuchBucket", BucketName=t.bucket)
            return _ok(headers={"x-amz-bucket-region": self.region})
        if m == "DELETE" and not q:
            return self._guard(self._delete_bucket(t.bucket), False)
        self.store.require_bucket(t.bucket)
        access = self.access_api.bucket_op(m, t.bucket, q, req.body, req.headers)
        if access is not None:
            answer = access()
            return self._guard(answer, False) if inspect.isawaitable(answer) else answer
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
        if "encryption" in q:
            if m == "PUT":
                return self._guard(self.encryption.put(t.bucket, req.body), False)
            if m == "GET":
                return _ok(self.encryption.get(t.bucket))
            if m == "DELETE":
                return self._guard(self.encryption.delete(t.bucket), False)
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

    async def _create_bucket(
        self, name: str, headers: dict[str, str], object_lock: bool = False
    ) -> Response:
        problem = bucket_name_problem(name)
        if problem is not None:
            raise S3Error(
                "InvalidBucketName",
                f"The specified bucket is not valid: {problem}",
                BucketName=name,
            )
        acl, ownership = self.access_api.creation(headers)
        created = await self.store.create_bucket(name, object_lock)
        if not created and self.region != "us-east-1":
            # us-east-1 answers 200 to a bucket you already own (its legacy behaviour)
            raise S3Error("BucketAlreadyOwnedByYou", BucketName=name)
        if created:
            await self.access_api.created(name, acl, ownership)
        elif acl is not None:
            await self.access.settings.set_acl(name, acl)
        return _ok(headers={"Location": f"/{name}"})

    async def _delete_bucket(self, name: str) -> Response:
        await self.store.delete_bucket(name)
        self.sub.configs.forget(name)
        await self.encryption.forget(name)
        await self.access.settings.forget(name)
        return _ok(status=204)

    def _list_objects(self, t: Target) -> Response:
        q = t.query
        v2 = q.get("list-type") == "2"
        prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
        url = q.get("encoding-type") == "url"
        max_keys = listing.max_keys(q, MAX_KEYS)
        token = q.get("continuation-token")
        if token is not None:
            after = listing.decode_token(token)
        else:
            after = q.get("start-after", "") if v2 else q.get("marker", "")

        def enc(s: str) -> str:
            return escape(quote(s, safe="/~") if url else s)

        page = self.store.list_page(t.bucket, prefix, delimiter, after, max_keys)
        owner = OWNER if q.get("fetch-owner") == "true" or not v2 else ""
        contents = [
            f"<Contents><Key>{enc(e.key)}</Key><LastModified>{iso_millis(e.modified)}</LastModified>"
            f"<ETag>&quot;{e.etag}&quot;</ETag><Size>{e.size}</Size>"
            f"{owner}<StorageClass>STANDARD</StorageClass></Contents>"
            for e in page.contents
        ]
        prefixes, last, truncated = page.prefixes, page.last, page.truncated
        # v1's <Prefix> is not url-encoded (botocore decodes it in v2 only)
        shown_prefix = enc(prefix) if v2 else escape(prefix)
        parts = [f"<Name>{escape(t.bucket)}</Name><Prefix>{shown_prefix}</Prefix>"]
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
        parts += listing.page_tail(max_keys, delimiter, url, truncated, contents, prefixes, enc)
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
        if "acl" in q and m in ("GET", "PUT"):
            self.store.require_bucket(t.bucket)
            info = self._acl_target(t)
            if m == "GET":
                return self.access_api.get_object_acl(info)
            return self._guard(self.access_api.put_object_acl(req, info), False)
        handler = self.sub.handler(m, q, on_object=True)
        if handler is not None:
            self.store.require_bucket(t.bucket)
            return self._guard_any(handler(req, t.bucket, t.key))
        if m in ("GET", "HEAD") and "uploadId" in q:
            return self._list_parts(t)
        if m == "GET" and "attributes" in q:
            return object_attributes.get_object_attributes(self, req, t)
        if "retention" in q or "legal-hold" in q:
            return self._lock_op(req, t)
        if m in ("GET", "HEAD"):
            state = self.store.versioning(t.bucket)  # the bucket's one lookup
            if state is None:
                raise S3Error("NoSuchBucket", BucketName=t.bucket)
            return self._get(req, t, versioned=bool(state))
        if m == "PUT" and "x-amz-copy-source" in req.headers:
            if "uploadId" in q:
                return self._guard(part_copy.upload_part_copy(self, req, t), False)
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
            if upload.cipher is not None:
                body.md5 = upload.cipher.key.etag(body.md5)
            return await self._put_part(t, upload, body)
        _, headers = await self._store_put(req, t, upload, body, condition, lock)
        return _ok(headers=headers)

    async def _store_put(
        self,
        req: Request,
        t: Target,
        upload: Upload,
        body: Body,
        condition: Condition | None,
        lock: dict[str, str],
    ) -> tuple[ObjectInfo, dict[str, str]]:
        """A new object from a PUT's or a form POST's body: stored (encrypted, with its
        checksums, lock and ACL), and the headers its answer carries."""
        if upload.cipher is not None:
            body.md5 = upload.cipher.key.etag(body.md5)
        info = self._new_info(req, t, body.size, body.md5.hex())
        info.checksums = upload.checksums()
        if upload.cipher is not None:
            info.headers.update(upload.cipher.key.stored([(upload.cipher.iv_text, body.size)]))
        info.lock = lock
        acl = self.access_api.requested_acl(req.headers, t.bucket)
        stored = await self.store.put(info, body, condition)
        if acl is not None:
            await self.access.settings.set_object_acl(stored, acl)
        headers = {
            "ETag": f'"{stored.etag}"',
            **versioning_api.version_header(self.store, stored, read=False),
        }
        headers.update({f"x-amz-checksum-{k.lower()}": v for k, v in stored.checksums.items()})
        if stored.checksums:
            headers["x-amz-checksum-type"] = "FULL_OBJECT"
        if upload.cipher is not None:
            headers.update(sse.response_headers(stored.headers))
            if upload.cipher.key.spec.context is not None:
                headers[sse.KMS_CONTEXT] = upload.cipher.key.spec.context
        headers.update(self.sub.object_headers(stored, read=False))
        return stored, headers

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
        extra: dict[str, object] = {}
        sums = upload.checksums()
        if sums:
            extra["checksums"] = sums
        if upload.cipher is not None:
            extra["iv"] = upload.cipher.iv_text
        etag = await self.store.put_part(t.query["uploadId"], number, body, extra)
        headers = {"ETag": f'"{etag}"'}
        headers.update({f"x-amz-checksum-{k.lower()}": v for k, v in sums.items()})
        if upload.cipher is not None:
            headers.update(upload.cipher.key.spec.headers())
        return _ok(headers=headers)

    def _get(
        self, req: Request, t: Target, retry: bool = True, versioned: bool = False
    ) -> Response | Awaitable[Response]:
        info = versioning_api.object_of(self.store, t.bucket, t.key, t.query.get("versionId"))
        h = req.headers
        encrypted = sse.INTERNAL in info.headers
        internal = encrypted or object_attributes.PARTS in info.headers
        customer = None
        if encrypted or sse.SSE in h or sse.C_ALGORITHM in h or sse.C_KEY in h:
            customer = sse.check_read(h, info.headers)
        status = _preconditions(h, info)
        headers = {
            "ETag": f'"{info.etag}"',
            "Last-Modified": _http_date(info.modified),
            "Accept-Ranges": "bytes",
            "Content-Type": info.content_type,
        }
        headers.update(sse.public_headers(info.headers) if internal else info.headers)
        headers.update({f"x-amz-meta-{k}": v for k, v in info.metadata.items()})
        headers.update(self.sub.object_headers(info, read=True))
        if info.version_id is not None or versioned:
            headers["x-amz-version-id"] = info.version_id or "null"
        headers.update(objectlock.response_headers(info.lock))
        if status == 304:
            return _ok(status=304, headers={k: headers[k] for k in ("ETag", "Last-Modified")})
        if h.get("x-amz-checksum-mode", "").upper() == "ENABLED" and "range" not in h:
            headers.update({f"x-amz-checksum-{k.lower()}": v for k, v in info.checksums.items()})
            if info.checksums and "TYPE" not in info.checksums:
                headers["x-amz-checksum-type"] = "FULL_OBJECT"
        for param, header in _RESPONSE_OVERRIDES.items():
            if param in t.query:
                headers[header] = t.query[param]
        start, end = 0, info.size
        code = 200
        rng = _parse_range(h.get("range"), info.size)
        if "partNumber" in t.query:
            if "range" in h:
                raise S3Error(
                    "InvalidRequest",
                    "Cannot specify both Range header and partNumber query parameter",
                )
            rng = self._part_range(info, _part_number(t.query["partNumber"]), headers)
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
                return self._get(req, t, retry=False, versioned=versioned)
            raise S3Error("InternalError", "the object's data is missing from the store") from None
        resp = _ok(status=code, headers=headers)
        if encrypted:
            return self._guard(self._decrypted(resp, info, customer, data, start, end), False)
        body = data[start:end] if (start, end) != (0, info.size) else data
        resp.body = body
        return resp

    def _part_range(
        self, info: ObjectInfo, number: int, headers: dict[str, str]
    ) -> tuple[int, int] | None:
        """[start, end) of part `number` of a multipart object (its part count goes in
        `headers`); None (the whole object) for part 1 of an object PUT whole."""
        sizes = self.store.part_sizes(info)
        if sizes is None:
            if number != 1:
                raise S3Error("InvalidPart", PartNumber=str(number))
            return None
        if number > len(sizes):
            raise S3Error("InvalidPart", PartNumber=str(number))
        headers["x-amz-mp-parts-count"] = str(len(sizes))
        start = sum(sizes[: number - 1])
        return start, start + sizes[number - 1]

    async def _decrypted(
        self,
        resp: Response,
        info: ObjectInfo,
        customer: sse.Spec | None,
        data: bytes | memoryview,
        start: int,
        end: int,
    ) -> Response:
        """An encrypted object's GET: its bytes [start, end) decrypted off the loop."""
        key = self.keyring.unwrap(info.headers, customer)
        segs = sse.segments(info.headers)
        n = end - start
        if n <= INLINE_MAX:
            resp.body = sse.decrypt(key, segs, data, start, end)
        else:
            spill = self.store.temp_path() if n > DECRYPT_IN_MEMORY_MAX else None
            resp.body = await asyncio.to_thread(sse.decrypt, key, segs, data, start, end, spill)
        return resp

    def copy_source(self, req: Request, t: Target) -> ObjectInfo:
        """The object (version) `x-amz-copy-source` names, once its copy-source conditions
        held."""
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
        copy_h = {
            k.replace("x-amz-copy-source-", ""): v
            for k, v in req.headers.items()
            if k.startswith("x-amz-copy-source-if-")
        }
        if _preconditions(copy_h, source) != 200:
            raise S3Error("PreconditionFailed", Condition="x-amz-copy-source-If-Match")
        return source

    async def _copy(self, req: Request, t: Target) -> Response:
        source = self.copy_source(req, t)
        src_bucket, src_key = source.bucket, source.key
        h = req.headers
        source_query = parse_qs(h["x-amz-copy-source"].partition("?")[2])
        source_version = source_query.get("versionId", [None])[0]
        customer = sse.check_read(h, source.headers, sse.COPY_PREFIX)
        spec = sse.for_write(h, self.keyring, self.encryption.default(t.bucket))
        directive = h.get("x-amz-metadata-directive", "COPY").upper()
        if directive == "REPLACE":
            target = self._new_info(req, t, source.size, source.etag)
        else:
            changes_encryption = any(k.startswith(sse.SSE) for k in h)
            same = (src_bucket, src_key) == (t.bucket, t.key) and source_version is None
            if same and not changes_encryption:
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
                sse.strip(source.headers),
            )
        target.checksums = dict(source.checksums)
        target.lock = self._new_lock(req, t)
        acl = self.access_api.requested_acl(req.headers, t.bucket)
        tagging_directive = h.get("x-amz-tagging-directive", "COPY").upper()
        if tagging_directive not in ("COPY", "REPLACE"):
            raise S3Error("InvalidArgument", "Unknown tagging directive.")
        if tagging_directive == "COPY":
            target.tags = tagging.tags_of(
                self.store.reader, src_bucket, src_key, source.version_id or ""
            )
        else:
            target.tags = tagging.from_header(h.get("x-amz-tagging", ""))
        if spec is None and not sse.is_encrypted(source.headers):
            stored = await self.store.copy(source, target)
        else:
            stored = await self._transcode_copy(source, customer, target, spec)
        if acl is not None:
            await self.access.settings.set_object_acl(stored, acl)
        inner = (
            f"<LastModified>{iso_millis(stored.modified)}</LastModified>"
            f"<ETag>&quot;{stored.etag}&quot;</ETag>"
        )
        headers = versioning_api.version_header(self.store, stored, read=False)
        source_version_header = versioning_api.version_header(self.store, source)
        if source_version_header:
            headers["x-amz-copy-source-version-id"] = source_version_header["x-amz-version-id"]
        headers.update(sse.response_headers(stored.headers))
        return _ok(_xml("CopyObjectResult", inner), headers=headers)

    async def _transcode_copy(
        self,
        source: ObjectInfo,
        customer: sse.Spec | None,
        target: ObjectInfo,
        spec: sse.Spec | None,
    ) -> ObjectInfo:
        """A copy that decrypts its source or encrypts its target (or both): the bytes go
        through a thread that re-encrypts them under the target's own data key."""
        encrypted = sse.is_encrypted(source.headers)
        key = self.keyring.unwrap(source.headers, customer) if encrypted else None
        segs = sse.segments(source.headers) if encrypted else []
        data = self.store.read(source)
        target_key = self.keyring.new_key(spec) if spec is not None else None
        out = None if source.size <= INLINE_MAX else self.store.temp_path()
        md5, inline, iv = await asyncio.to_thread(
            sse.transcode, data, key, segs, 0, source.size, target_key, out, []
        )
        if target_key is not None:
            target.etag = target_key.etag(md5).hex()
            assert iv is not None
            target.headers.update(target_key.stored([(iv, source.size)]))
        else:
            target.etag = md5.hex()
        return await self.store.put(target, Body(source.size, md5, data=inline, path=out))

    async def _delete(self, req: Request, t: Target) -> Response:
        request = versioning_api.deletion(t.key, t.query, req.headers)
        [done] = await self.store.remove(t.bucket, [request])
        if done.error is not None:
            raise done.error
        return _ok(status=204, headers=versioning_api.delete_headers(done))

    async def _create_upload(self, req: Request, t: Target) -> Response:
        h = req.headers
        spec = sse.for_write(h, self.keyring, self.encryption.default(t.bucket))
        algorithm = checksums.algorithm(
            h.get("x-amz-checksum-algorithm"), "x-amz-checksum-algorithm"
        )
        kind = h.get("x-amz-checksum-type")
        if kind is not None and algorithm is None:
            raise S3Error(
                "InvalidRequest",
                "The x-amz-checksum-type header can only be used with the "
                "x-amz-checksum-algorithm header.",
            )
        info = self._new_info(req, t, 0, "")
        info.lock = self._new_lock(req, t)
        headers: dict[str, str] = {}
        if spec is not None:
            info.headers.update(self.keyring.new_key(spec).stored([]))
            headers.update(sse.response_headers(info.headers))
        if algorithm is not None:
            kind = kind.upper() if kind else checksums.default_type(algorithm)
            checksums.check_type(algorithm, kind)
            info.headers[checksums.UPLOAD_KEY] = f"{algorithm}:{kind}"
            headers["x-amz-checksum-algorithm"] = algorithm.upper()
            headers["x-amz-checksum-type"] = kind
        acl = self.access_api.requested_acl(req.headers, t.bucket)
        upload_id = await self.store.create_upload(info)
        if acl is not None:
            await self.access.settings.set_upload_acl(upload_id, acl)
        inner = (
            f"<Bucket>{escape(t.bucket)}</Bucket><Key>{escape(t.key)}</Key>"
            f"<UploadId>{upload_id}</UploadId>"
        )
        return _ok(_xml("InitiateMultipartUploadResult", inner), headers=headers)

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
        extras = self.store.part_extras(upload_id)
        items = "".join(
            f"<Part><PartNumber>{n}</PartNumber><LastModified>{iso_millis(mod)}</LastModified>"
            f"<ETag>&quot;{etag}&quot;</ETag><Size>{size}</Size>"
            + "".join(
                f"<Checksum{a}>{v}</Checksum{a}>"
                for a, v in extras.get(n, {}).get("checksums", {}).items()
            )
            + "</Part>"
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
        try:
            return await self._complete_upload(req, t)
        except S3Error as e:
            # completed already (a client retrying after a lost answer): S3 answers again
            done = self.store.completed_etag(t.bucket, t.key, t.query["uploadId"])
            if e.code != "NoSuchUpload" or done is None:
                raise
            return self._complete_result(req, t, done, "", {})

    async def _complete_upload(self, req: Request, t: Target) -> Response:
        self.store.require_bucket(t.bucket)
        sse.check_complete(req.headers, self.store.upload_headers(t.query["uploadId"]))
        root = _parse_xml(req.body)
        wanted = []
        given: list[dict[str, str]] = []
        for p in _children(root, "Part"):
            number = _part_number(_child_text(p, "PartNumber") or "")
            wanted.append((number, _child_text(p, "ETag") or ""))
            given.append(
                {
                    a.upper(): v
                    for a in checksums.ALGORITHMS
                    if (v := _child_text(p, f"Checksum{a.upper()}")) is not None
                }
            )
        condition = self._condition(req, t)

        def finish(info: ObjectInfo, used: list[tuple[int, int, dict[str, Any]]]) -> None:
            _finish_upload(req.headers, t.query["uploadId"], info, used, given)

        acl = self.access.settings.upload_acl(t.query["uploadId"])
        info = await self.store.complete(
            t.bucket, t.key, t.query["uploadId"], wanted, condition, finish
        )
        if acl is not None:
            await self.access.settings.set_object_acl(info, acl)
            await self.access.settings.drop_upload_acl(t.query["uploadId"])
        sums = "".join(
            f"<Checksum{a}>{v}</Checksum{a}>" for a, v in info.checksums.items() if a != "TYPE"
        )
        if "TYPE" in info.checksums:
            sums += f"<ChecksumType>{info.checksums['TYPE']}</ChecksumType>"
        headers = versioning_api.version_header(self.store, info, read=False)
        headers.update(self.sub.object_headers(info, read=False))  # x-amz-expiration
        headers.update(sse.response_headers(info.headers))
        return self._complete_result(req, t, info.etag, sums, headers)

    def _complete_result(
        self, req: Request, t: Target, etag: str, sums: str, headers: dict[str, str]
    ) -> Response:
        host = req.headers.get("host", "localhost")
        inner = (
            f"<Location>http://{escape(host)}/{escape(quote(t.bucket))}/{escape(quote(t.key))}</Location>"
            f"<Bucket>{escape(t.bucket)}</Bucket><Key>{escape(t.key)}</Key><ETag>&quot;{etag}&quot;</ETag>"
            f"{sums}"
        )
        return _ok(_xml("CompleteMultipartUploadResult", inner), headers=headers)

    async def _abort(self, t: Target) -> Response:
        self.store.require_bucket(t.bucket)
        await self.store.abort(t.bucket, t.key, t.query["uploadId"])
        if self.access.settings.upload_acl(t.query["uploadId"]) is not None:
            await self.access.settings.drop_upload_acl(t.query["uploadId"])
        return _ok(status=204)


def _part_checksum_matches(headers: dict[str, str], upload: dict[str, str]) -> None:
    """InvalidRequest for a part whose checksum is not of its upload's algorithm."""
    wanted = upload.get(checksums.UPLOAD_KEY)
    if wanted is None:
        return
    algorithm, _, kind = wanted.partition(":")
    declared = [a for a, header in checksums.HEADERS if header in headers]
    trailer = headers.get("x-amz-trailer", "").lower().removeprefix("x-amz-checksum-")
    if trailer in checksums.ALGORITHMS:
        declared.append(trailer)
    if (declared and algorithm not in declared) or (not declared and kind == "COMPOSITE"):
        # (a FULL_OBJECT upload's part without a checksum is let through, as S3 does;
        # Complete then names the part whose CRC it lacks)
        raise S3Error(
            "InvalidRequest",
            f"Checksum Type mismatch occurred, expected checksum Type: {algorithm}, "
            f"actual checksum Type: {declared[0] if declared else 'null'}",
        )


def _finish_upload(
    headers: dict[str, str],
    upload_id: str,
    info: ObjectInfo,
    used: list[tuple[int, int, dict[str, Any]]],
    given: list[dict[str, str]],
) -> None:
    """CompleteMultipartUpload's checks and additions before the commit: the parts'
    checksums as the request lists them, the object's checksum (COMPOSITE `…-N` or a
    FULL_OBJECT CRC), and an encrypted object's segments (one per part)."""
    wanted = info.headers.pop(checksums.UPLOAD_KEY, None)
    for (n, _size, extra), listed in zip(used, given, strict=True):
        mine = extra.get("checksums", {})
        if any(mine.get(a) != v for a, v in listed.items()):
            raise S3Error("InvalidPart", UploadId=upload_id, PartNumber=str(n))
    info.headers[object_attributes.PARTS] = object_attributes.layout(used)
    if sse.is_encrypted(info.headers):
        facts = json.loads(info.headers[sse.INTERNAL])
        if any("iv" not in extra for _, _, extra in used):
            raise S3Error("InternalError", "a part of this encrypted upload was not encrypted")
        facts["s"] = [[extra["iv"], size] for _, size, extra in used]
        info.headers[sse.INTERNAL] = json.dumps(facts)
    if wanted is None:
        return
    algorithm, _, kind = wanted.partition(":")
    name = algorithm.upper()
    values = [extra.get("checksums", {}).get(name) for _, _, extra in used]
    missing = [n for (n, _, _), v in zip(used, values, strict=True) if v is None]
    if kind == "COMPOSITE":
        missing += [n for (n, _, _), listed in zip(used, given, strict=True) if name not in listed]
    if missing and not all(v is not None for v in values):
        _missing_part_checksum(algorithm, missing[0])
    if kind == "COMPOSITE":
        value = checksums.composite(algorithm, [v for v in values if v is not None])
    else:
        value = checksums.full_object(
            algorithm, [(v, size) for (_, size, _), v in zip(used, values, strict=True) if v]
        )
    declared = headers.get(f"x-amz-checksum-{algorithm}")
    if declared is not None and declared != value:
        raise S3Error(
            "BadDigest", f"The {name} you specified did not match the calculated checksum."
        )
    if missing:
        _missing_part_checksum(algorithm, missing[0])
    info.checksums = {name: value, "TYPE": kind}


def _missing_part_checksum(algorithm: str, part: int) -> None:
    raise S3Error(
        "InvalidRequest",
        f"The upload was created using a {algorithm} checksum. The complete request must "
        f"include the checksum for each part. It was missing for part {part} in the request.",
    )


_RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}


def _unquote(s: str) -> str:
    """A percent-decoded path segment; one that is not UTF-8 is S3's 400 InvalidURI (not
    a key with U+FFFD in it, which would answer 404)."""
    try:
        return unquote(s, errors="strict")
    except UnicodeDecodeError:
        raise S3Error("InvalidURI") from None


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
