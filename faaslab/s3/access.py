"""Who may do what: the authorization decision for each S3 request.

faaslab has one account. Every signed request (faaslab's key, or any key faaslab accepts
unchecked) is that account's, the owner of every bucket: allowed unless the bucket's
policy explicitly denies it. An anonymous request is allowed only by a policy statement
whose principal is "*" (unless RestrictPublicBuckets and the policy is public) or by an
ACL grant to AllUsers (unless IgnorePublicAcls, or ACLs are disabled by
BucketOwnerEnforced), and never if a policy statement denies it. Otherwise: 403
AccessDenied, as S3 answers.

The IAM action of a request comes from its operation (operations.table's names, from
botocore's S3 model), e.g. HeadObject needs s3:GetObject, ListObjectsV2 s3:ListBucket.
"""

from __future__ import annotations

from faaslab.functions.model import DEFAULT_ACCOUNT
from faaslab.http.server import Request
from faaslab.s3 import operations
from faaslab.s3.access_store import AccessStore
from faaslab.s3.acl import ALL_USERS, OWNER_ID, Acl
from faaslab.s3.errors import S3Error
from faaslab.s3.model import ObjectInfo
from faaslab.s3.policy import ARN_PREFIX, Context
from faaslab.s3.sigauth import Caller

# The identities the owner's requests carry, as a policy's Principal may name them.
OWNER_PRINCIPALS = frozenset(
    {
        DEFAULT_ACCOUNT,
        f"arn:aws:iam::{DEFAULT_ACCOUNT}:root",
        OWNER_ID,
    }
)

# Operations whose IAM action is not "s3:" + their name.
_ACTIONS = {
    "HeadObject": "s3:GetObject",
    "HeadBucket": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
    "ListMultipartUploads": "s3:ListBucketMultipartUploads",
    "ListParts": "s3:ListMultipartUploadParts",
    "CopyObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "UploadPartCopy": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "DeleteObjects": "s3:DeleteObject",
    "DeleteBucketPolicy": "s3:DeleteBucketPolicy",
    "DeletePublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "DeleteBucketOwnershipControls": "s3:PutBucketOwnershipControls",
    "PostObject": "s3:PutObject",
}

# What the bucket owner's root user may always do, whatever the policy says (AWS's guard
# against a policy that locks everyone out).
_OWNER_ALWAYS = frozenset({"s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"})

# What an ACL grant must give for an action: (on the object?, permission). Actions not
# here are the owner's alone.
_ACL_PERMISSIONS = {
    "s3:ListBucket": (False, "READ"),
    "s3:ListBucketVersions": (False, "READ"),
    "s3:ListBucketMultipartUploads": (False, "READ"),
    "s3:PutObject": (False, "WRITE"),
    "s3:DeleteObject": (False, "WRITE"),
    "s3:DeleteObjectVersion": (False, "WRITE"),
    "s3:AbortMultipartUpload": (False, "WRITE"),
    "s3:ListMultipartUploadParts": (False, "WRITE"),
    "s3:GetBucketAcl": (False, "READ_ACP"),
    "s3:PutBucketAcl": (False, "WRITE_ACP"),
    "s3:GetObject": (True, "READ"),
    "s3:GetObjectVersion": (True, "READ"),
    "s3:GetObjectAcl": (True, "READ_ACP"),
    "s3:GetObjectVersionAcl": (True, "READ_ACP"),
    "s3:PutObjectAcl": (True, "WRITE_ACP"),
    "s3:PutObjectVersionAcl": (True, "WRITE_ACP"),
}


def operation(method: str, key: str, query: dict[str, str], headers: dict[str, str]) -> str:
    """The S3 operation a bucket or object request is (one operations.check let through)."""
    ops, subresources = operations.table()
    marks = frozenset(q for q in query if q in subresources)
    candidates = ops.get((method, bool(key), marks), [])
    if len(candidates) == 1:
        return candidates[0]
    if method == "PUT" and key:
        if "x-amz-copy-source" in headers:
            return "UploadPartCopy" if "uploadId" in query else "CopyObject"
        return "UploadPart" if "uploadId" in query else "PutObject"
    if method == "DELETE" and key:
        return "AbortMultipartUpload" if "uploadId" in query else "DeleteObject"
    if method in ("GET", "HEAD") and key and not marks:
        if "uploadId" in query:
            return "ListParts"
        return "HeadObject" if method == "HEAD" else "GetObject"
    if method == "HEAD" and not key:
        return "HeadBucket"
    if method == "GET" and not key and not marks:
        return "ListObjectsV2" if query.get("list-type") == "2" else "ListObjects"
    if method == "POST" and not key and not marks:
        return "PostObject"
    return candidates[0] if candidates else f"{method}Unknown"


# Operations on one version of an object (`?versionId=`) need the action's Version form.
_VERSION_ACTIONS = {
    "s3:GetObject": "s3:GetObjectVersion",
    "s3:DeleteObject": "s3:DeleteObjectVersion",
    "s3:GetObjectAcl": "s3:GetObjectVersionAcl",
    "s3:PutObjectAcl": "s3:PutObjectVersionAcl",
}


def action_of(op: str, query: dict[str, str] | None = None) -> str:
    action = _ACTIONS.get(op, "s3:" + op)
    if query and "versionId" in query:
        return _VERSION_ACTIONS.get(action, action)
    return action


def check_expected_owner(headers: dict[str, str]) -> None:
    """`x-amz-expected-bucket-owner` (and the copy source's): S3 refuses the request with
    403 AccessDenied when the bucket belongs to another account (here: not faaslab's)."""
    for name in ("x-amz-expected-bucket-owner", "x-amz-source-expected-bucket-owner"):
        owner = headers.get(name)
        if owner is not None and owner != DEFAULT_ACCOUNT:
            raise S3Error("AccessDenied")


class Access:
    def __init__(self, settings: AccessStore) -> None:
        self.settings = settings

    def authorize(
        self,
        caller: Caller,
        action: str,
        bucket: str,
        key: str,
        req: Request | None,
        query: dict[str, str],
        obj: ObjectInfo | None = None,
    ) -> None:
        """Return if `caller` may do `action` on bucket/key; S3Error AccessDenied if not.
        `req` None: the request's headers only (its body not yet read, no peer known)."""
        cfg = self.settings.bucket(bucket)  # (cached: no query for the common case)
        policy = cfg.policy
        if policy is None and not caller.anonymous:
            return  # the owner, no policy to deny it
        if not self.settings.store.bucket_exists(bucket):
            return  # the operation itself answers NoSuchBucket
        verdict = None
        if policy is not None:
            resource = ARN_PREFIX + (f"{bucket}/{key}" if key else bucket)
            principals = frozenset() if caller.anonymous else OWNER_PRINCIPALS
            ctx = Context(action, resource, principals, _condition_keys(caller, req, query))
            verdict = policy.evaluate(ctx)
        if verdict == "Deny" and not (not caller.anonymous and action in _OWNER_ALWAYS):
            raise S3Error("AccessDenied")
        if not caller.anonymous:
            return
        if verdict == "Allow":
            assert policy is not None
            if not (cfg.block.restrict_public_buckets and policy.public):
                return
        if not cfg.acls_enabled or cfg.block.ignore_public_acls:
            raise S3Error("AccessDenied")
        needed = _ACL_PERMISSIONS.get(action)
        if needed is None:
            raise S3Error("AccessDenied")
        on_object, permission = needed
        acl: Acl = cfg.acl
        if on_object:
            if obj is None:
                store = self.settings.store
                version = query.get("versionId")
                obj = (
                    store.head(bucket, key)
                    if version is None
                    else store.head_version(bucket, key, version)
                )
            if obj is None:
                # S3 says NoSuchKey only to those who may list the bucket
                if cfg.acl.allows(ALL_USERS, "READ"):
                    return
                raise S3Error("AccessDenied")
            acl = self.settings.object_acl(obj)
        if acl.allows(ALL_USERS, permission):
            return
        raise S3Error("AccessDenied")


def _condition_keys(
    caller: Caller, req: Request | None, query: dict[str, str]
) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {"aws:SecureTransport": ["false"]}
    if req is not None and req.peer is not None:
        keys["aws:SourceIp"] = [req.peer[0]]
    if not caller.anonymous and caller.key is not None:
        keys["aws:PrincipalAccount"] = [DEFAULT_ACCOUNT]
        keys["aws:PrincipalArn"] = [f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"]
        keys["aws:userid"] = [DEFAULT_ACCOUNT]
    if req is not None:
        h = req.headers
        for name in ("user-agent", "referer"):
            if name in h:
                keys[f"aws:{name.title().replace('-', '')}"] = [h[name]]
        for name, value in h.items():
            if name.startswith("x-amz-") and not name.startswith("x-amz-meta-"):
                keys[f"s3:{name}"] = [value]
        if "versionId" in query:
            keys["s3:VersionId"] = [query["versionId"]]
    for name in ("prefix", "delimiter", "max-keys"):
        if name in query:
            keys[f"s3:{name}"] = [query[name]]
    return keys
