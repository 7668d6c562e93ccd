"""The wire side of S3's access sub-resources: `?acl` (buckets and objects), `?policy`,
`?policyStatus`, `?publicAccessBlock`, `?ownershipControls`, and the ACL a write asks for
(`x-amz-acl`, `x-amz-grant-*`) checked against the bucket's public access block and
ownership controls. The XML of the PAB and ownership documents goes through botocore's
S3 shapes (awsapi); ACL documents through acl.py (see there why).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from faaslab.awsapi import models
from faaslab.awsapi.wire_in import Malformed, from_xml_element
from faaslab.awsapi.wire_out import xml_element
from faaslab.http.server import Request, Response
from faaslab.s3 import acl as acls
from faaslab.s3 import policy as policies
from faaslab.s3.access_store import PAB_FIELDS, AccessStore, BucketAccess, PublicAccessBlock
from faaslab.s3.errors import S3Error, ok
from faaslab.s3.model import ObjectInfo

XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
OWNERSHIPS = ("BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter")
BUCKET_SUBRESOURCES = ("acl", "policy", "policyStatus", "publicAccessBlock", "ownershipControls")


def _ok(body: bytes = b"", status: int = 200, ctype: str = "application/xml") -> Response:
    return ok(body, status, {"Content-Type": ctype} if body else None)


def _doc(shape_name: str, root: str, value: dict[str, Any]) -> bytes:
    model = models.service_model("s3")
    assert model is not None
    inner = xml_element(model.shape_for(shape_name), root, value)
    inner = inner.replace(f"<{root}>", f'<{root} xmlns="{XMLNS}">', 1)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + inner).encode()


def _read(shape_name: str, body: bytes) -> dict[str, Any]:
    model = models.service_model("s3")
    assert model is not None
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        raise S3Error("MalformedXML") from None
    if root.tag.rpartition("}")[2] != shape_name:
        raise S3Error("MalformedXML")
    try:
        value: dict[str, Any] = from_xml_element(model.shape_for(shape_name), root)
    except Malformed:  # e.g. a boolean that is not one
        raise S3Error("MalformedXML") from None
    return value


class AccessApi:
    def __init__(self, settings: AccessStore) -> None:
        self.settings = settings

    # -- the ACL a write asks for
    def requested_acl(self, headers: dict[str, str], bucket: str) -> acls.Acl | None:
        """The ACL of `x-amz-acl` / `x-amz-grant-*` (None: none asked for), refused as S3
        refuses it: AccessDenied if public under BlockPublicAcls, AccessControlListNotSupported
        when ACLs are disabled (BucketOwnerEnforced accepts only bucket-owner-full-control)."""
        wanted = acls.from_headers(headers)
        if wanted is None:
            return None
        self._check_acl(self.settings.bucket(bucket), wanted, headers.get("x-amz-acl"))
        return wanted

    @staticmethod
    def _check_acl(cfg: BucketAccess, wanted: acls.Acl, canned: str | None) -> None:
        if not cfg.acls_enabled and not (
            canned in ("bucket-owner-full-control", "private") or wanted == acls.PRIVATE
        ):
            raise S3Error("AccessControlListNotSupported")
        if cfg.block.block_public_acls and wanted.public:
            raise S3Error("AccessDenied")

    # -- CreateBucket's access headers
    def creation(self, headers: dict[str, str]) -> tuple[acls.Acl | None, str | None]:
        """(ACL, ObjectOwnership) a CreateBucket asks for."""
        ownership = headers.get("x-amz-object-ownership")
        if ownership is not None and ownership not in OWNERSHIPS:
            raise S3Error(
                "InvalidArgument",
                "Invalid x-amz-object-ownership header",
                ArgumentName="x-amz-object-ownership",
                ArgumentValue=ownership,
            )
        wanted = acls.from_headers(headers)
        if ownership == "BucketOwnerEnforced" and wanted is not None and wanted != acls.PRIVATE:
            raise S3Error("InvalidBucketAclWithObjectOwnership")
        return wanted, ownership

    async def created(self, bucket: str, acl: acls.Acl | None, ownership: str | None) -> None:
        await self.settings.forget(bucket)
        if ownership is not None:
            await self.settings.set_ownership(bucket, ownership)
        if acl is not None:
            await self.settings.set_acl(bucket, acl)

    # -- bucket sub-resources
    def bucket_op(
        self, method: str, bucket: str, query: dict[str, str], body: bytes, headers: dict[str, str]
    ) -> Callable[[], Any] | None:
        """The handler (sync or async) of an access sub-resource request; None if the
        request is not one."""
        sub = next((s for s in BUCKET_SUBRESOURCES if s in query), None)
        if sub is None:
            return None
        cfg = self.settings.bucket(bucket)
        if sub == "acl" and method == "GET":
            return lambda: _ok(cfg.acl.to_xml())
        if sub == "acl" and method == "PUT":
            return lambda: self._put_bucket_acl(bucket, cfg, body, headers)
        if sub == "policy":
            return {
                "GET": lambda: self._get_policy(cfg),
                "PUT": lambda: self._put_policy(bucket, cfg, body),
                "DELETE": lambda: self._delete(self.settings.set_policy(bucket, None)),
            }.get(method)
        if sub == "policyStatus" and method == "GET":
            return lambda: self._policy_status(cfg)
        if sub == "publicAccessBlock":
            return {
                "GET": lambda: self._get_pab(cfg),
                "PUT": lambda: self._put_pab(bucket, body),
                "DELETE": lambda: self._delete(self.settings.set_pab(bucket, None)),
            }.get(method)
        if sub == "ownershipControls":
            return {
                "GET": lambda: self._get_ownership(cfg),
                "PUT": lambda: self._put_ownership(bucket, body),
                "DELETE": lambda: self._delete(self.settings.set_ownership(bucket, None)),
            }.get(method)
        return None

    async def _delete(self, work: Any) -> Response:
        await work
        return _ok(status=204)

    async def _put_bucket_acl(
        self, bucket: str, cfg: BucketAccess, body: bytes, headers: dict[str, str]
    ) -> Response:
        wanted = self._acl_of(body, headers)
        self._check_acl(cfg, wanted, headers.get("x-amz-acl"))
        await self.settings.set_acl(bucket, wanted)
        return _ok()

    @staticmethod
    def _acl_of(body: bytes, headers: dict[str, str]) -> acls.Acl:
        from_headers = acls.from_headers(headers)
        if from_headers is not None:
            if body.strip():
                raise S3Error("UnexpectedContent")
            return from_headers
        if not body.strip():
            raise S3Error("MissingSecurityHeader", MissingHeaderName="x-amz-acl")
        return acls.from_xml(body)

    def _get_policy(self, cfg: BucketAccess) -> Response:
        if cfg.policy is None:
            raise S3Error("NoSuchBucketPolicy")
        return _ok(cfg.policy.text.encode(), ctype="application/json")

    async def _put_policy(self, bucket: str, cfg: BucketAccess, body: bytes) -> Response:
        policy = policies.parse(body, bucket)
        if cfg.block.block_public_policy and policy.public:
            raise S3Error("AccessDenied")
        await self.settings.set_policy(bucket, policy)
        return _ok(status=204)

    def _policy_status(self, cfg: BucketAccess) -> Response:
        if cfg.policy is None:
            raise S3Error("NoSuchBucketPolicy")
        return _ok(_doc("PolicyStatus", "PolicyStatus", {"IsPublic": cfg.policy.public}))

    def _get_pab(self, cfg: BucketAccess) -> Response:
        if cfg.pab is None:
            raise S3Error("NoSuchPublicAccessBlockConfiguration")
        return _ok(
            _doc(
                "PublicAccessBlockConfiguration",
                "PublicAccessBlockConfiguration",
                cfg.pab.as_dict(),
            )
        )

    async def _put_pab(self, bucket: str, body: bytes) -> Response:
        value = _read("PublicAccessBlockConfiguration", body)
        pab = PublicAccessBlock(*(bool(value.get(f, False)) for f in PAB_FIELDS))
        await self.settings.set_pab(bucket, pab)
        return _ok()

    def _get_ownership(self, cfg: BucketAccess) -> Response:
        if cfg.ownership is None:
            raise S3Error("OwnershipControlsNotFoundError")
        value = {"Rules": [{"ObjectOwnership": cfg.ownership}]}
        return _ok(_doc("OwnershipControls", "OwnershipControls", value))

    async def _put_ownership(self, bucket: str, body: bytes) -> Response:
        rules = _read("OwnershipControls", body).get("Rules") or []
        if len(rules) != 1 or rules[0].get("ObjectOwnership") not in OWNERSHIPS:
            raise S3Error("MalformedXML")
        await self.settings.set_ownership(bucket, rules[0]["ObjectOwnership"])
        return _ok()

    # -- object ACLs
    def get_object_acl(self, info: ObjectInfo) -> Response:
        return _ok(self.settings.object_acl(info).to_xml())

    async def put_object_acl(self, req: Request, info: ObjectInfo) -> Response:
        cfg = self.settings.bucket(info.bucket)
        wanted = self._acl_of(req.body, req.headers)
        self._check_acl(cfg, wanted, req.headers.get("x-amz-acl"))
        await self.settings.set_object_acl(info, wanted)
        return _ok()
