"""S3 access control lists: canned ACLs, `x-amz-grant-*` headers, the AccessControlPolicy
XML, and what a grant permits.

faaslab has one account, so one canonical user (`OWNER_ID`) owns every bucket and object;
grants that matter to anyone else name groups (AllUsers: anonymous requests;
AuthenticatedUsers: any signed request; LogDelivery). Grants to other canonical users or
e-mail addresses are stored and returned as given.

The XML is read and written here with ElementTree rather than through botocore's shapes
(awsapi/): the Grantee's type is an `xsi:type` attribute in the XML Schema instance
namespace, which the generic rest-xml codec neither reads nor declares.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from faaslab.s3.errors import S3Error

OWNER_ID = "faaslab"
OWNER_NAME = "faaslab"
XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
PUBLIC_GROUPS = (ALL_USERS, AUTHENTICATED_USERS)
PERMISSIONS = ("FULL_CONTROL", "WRITE", "WRITE_ACP", "READ", "READ_ACP")
GRANT_HEADERS = {
    "x-amz-grant-full-control": "FULL_CONTROL",
    "x-amz-grant-read": "READ",
    "x-amz-grant-read-acp": "READ_ACP",
    "x-amz-grant-write": "WRITE",
    "x-amz-grant-write-acp": "WRITE_ACP",
}
EC2_BUNDLE_READER = "6aa5a366c34c1cbe25dc49211496e913e0351eb0e8c37aa3477e40942ec6b97c"
CANNED = (
    "aws-exec-read",
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
    "log-delivery-write",
)


@dataclass(frozen=True, slots=True)
class Grant:
    kind: str  # CanonicalUser | Group | AmazonCustomerByEmail
    value: str  # the id, the group's URI or the e-mail address
    permission: str
    name: str = ""  # a canonical user's display name

    @property
    def public(self) -> bool:
        return self.kind == "Group" and self.value in PUBLIC_GROUPS


@dataclass(frozen=True, slots=True)
class Acl:
    grants: tuple[Grant, ...] = field(default_factory=tuple)
    owner: str = OWNER_ID

    @property
    def public(self) -> bool:
        return any(g.public for g in self.grants)

    def allows(self, group: str, permission: str) -> bool:
        """Whether a grant to `group` gives `permission` (FULL_CONTROL gives all)."""
        return any(
            g.kind == "Group" and g.value == group and g.permission in (permission, "FULL_CONTROL")
            for g in self.grants
        )

    def dumps(self) -> str:
        return json.dumps([[g.kind, g.value, g.permission, g.name] for g in self.grants])

    @staticmethod
    def loads(text: str) -> Acl:
        return Acl(tuple(Grant(k, v, p, n) for k, v, p, n in json.loads(text)))

    def to_xml(self) -> bytes:
        grants = "".join(_grant_xml(g) for g in self.grants)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<AccessControlPolicy xmlns="{XMLNS}">'
            f"<Owner><ID>{OWNER_ID}</ID><DisplayName>{OWNER_NAME}</DisplayName></Owner>"
            f"<AccessControlList>{grants}</AccessControlList></AccessControlPolicy>"
        ).encode()


def _owner_grant() -> Grant:
    return Grant("CanonicalUser", OWNER_ID, "FULL_CONTROL", OWNER_NAME)


PRIVATE = Acl((_owner_grant(),))


def canned(name: str) -> Acl:
    """The grants of a canned ACL (S3's table; the bucket owner is the object owner here,
    so bucket-owner-read/-full-control add nothing to the owner's FULL_CONTROL)."""
    extra: list[Grant] = []
    if name in ("public-read", "public-read-write"):
        extra.append(Grant("Group", ALL_USERS, "READ"))
    if name == "public-read-write":
        extra.append(Grant("Group", ALL_USERS, "WRITE"))
    if name == "authenticated-read":
        extra.append(Grant("Group", AUTHENTICATED_USERS, "READ"))
    if name == "aws-exec-read":  # EC2 reads AMI bundles as this canonical user
        extra.append(Grant("CanonicalUser", EC2_BUNDLE_READER, "READ", "za-team"))
    if name == "log-delivery-write":
        extra += [Grant("Group", LOG_DELIVERY, "WRITE"), Grant("Group", LOG_DELIVERY, "READ_ACP")]
    if name not in CANNED:
        raise S3Error("InvalidArgument", ArgumentName="x-amz-acl", ArgumentValue=name)
    return Acl((*extra, _owner_grant()))  # (groups first, as ceph's s3-tests expect)


def from_headers(headers: dict[str, str]) -> Acl | None:
    """The ACL an `x-amz-acl` or `x-amz-grant-*` request asks for; None if it names none.
    Both at once is S3's InvalidRequest."""
    grant_headers = [h for h in GRANT_HEADERS if h in headers]
    if "x-amz-acl" in headers:
        if grant_headers:
            raise S3Error(
                "InvalidRequest",
                "Specifying both Canned ACLs and Header Grants is not allowed",
            )
        return canned(headers["x-amz-acl"].strip())
    if not grant_headers:
        return None
    grants: list[Grant] = []
    for h in grant_headers:
        for item in headers[h].split(","):
            kind_name, _, raw = item.strip().partition("=")
            value = raw.strip().strip('"')
            kind = {"id": "CanonicalUser", "uri": "Group", "emailaddress": "AmazonCustomerByEmail"}
            k = kind.get(kind_name.strip().lower())
            if k is None or not value:
                raise S3Error("InvalidArgument", ArgumentName=h, ArgumentValue=headers[h])
            name = OWNER_NAME if k == "CanonicalUser" and value == OWNER_ID else ""
            grants.append(_checked(Grant(k, value, GRANT_HEADERS[h], name)))
    return Acl(tuple(grants))


def from_xml(body: bytes) -> Acl:
    """An AccessControlPolicy document (PutBucketAcl / PutObjectAcl body)."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        raise S3Error("MalformedACLError") from None
    if _local(root.tag) != "AccessControlPolicy":
        raise S3Error("MalformedACLError")
    owner = _find(root, "Owner")
    if owner is not None:
        owner_id = _text(owner, "ID")
        if owner_id is not None and owner_id != OWNER_ID:
            raise S3Error("AccessDenied")  # S3: the owner cannot be changed by an ACL
    acl = _find(root, "AccessControlList")
    if acl is None:
        raise S3Error("MalformedACLError")
    grants: list[Grant] = []
    for g in acl:
        if _local(g.tag) != "Grant":
            raise S3Error("MalformedACLError")
        grantee = _find(g, "Grantee")
        permission = _text(g, "Permission")
        if grantee is None or permission not in PERMISSIONS:
            raise S3Error("MalformedACLError")
        kind = grantee.get(f"{{{XSI}}}type", "")
        if kind == "CanonicalUser":
            value = _text(grantee, "ID")
        elif kind == "Group":
            value = _text(grantee, "URI")
        elif kind == "AmazonCustomerByEmail":
            value = _text(grantee, "EmailAddress")
        else:
            raise S3Error("MalformedACLError")
        if not value:
            raise S3Error("InvalidArgument")
        assert permission is not None
        name = OWNER_NAME if kind == "CanonicalUser" and value == OWNER_ID else ""
        grants.append(_checked(Grant(kind, value, permission, name)))
    return Acl(tuple(grants))


_GROUPS = (ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY)


def _checked(g: Grant) -> Grant:
    """A grantee S3 would accept: a canonical user id (ours, or one shaped as S3's: 64 hex
    digits), a known group; never an e-mail address (no account here has one)."""
    canonical = len(g.value) == 64 and all(c in "0123456789abcdef" for c in g.value)
    if g.kind == "CanonicalUser" and g.value != OWNER_ID and not canonical:
        raise S3Error(
            "InvalidArgument", "Invalid id", ArgumentName="CanonicalUser/ID", ArgumentValue=g.value
        )
    if g.kind == "Group" and g.value not in _GROUPS:
        raise S3Error(
            "InvalidArgument", "Invalid group uri", ArgumentName="Group/URI", ArgumentValue=g.value
        )
    if g.kind == "AmazonCustomerByEmail":
        raise S3Error("UnresolvableGrantByEmailAddress", EmailAddress=g.value)
    return g


def _grant_xml(g: Grant) -> str:
    if g.kind == "CanonicalUser":
        inner = f"<ID>{escape(g.value)}</ID>"
        if g.name:
            inner += f"<DisplayName>{escape(g.name)}</DisplayName>"
    elif g.kind == "Group":
        inner = f"<URI>{escape(g.value)}</URI>"
    else:
        inner = f"<EmailAddress>{escape(g.value)}</EmailAddress>"
    return (
        f"<Grant><Grantee xmlns:xsi={quoteattr(XSI)} xsi:type={quoteattr(g.kind)}>{inner}"
        f"</Grantee><Permission>{g.permission}</Permission></Grant>"
    )


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _find(node: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in node if _local(c.tag) == name), None)


def _text(node: ET.Element, name: str) -> str | None:
    found = _find(node, name)
    return None if found is None else (found.text or "").strip()
