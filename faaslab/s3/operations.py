"""Which S3 operation a request is, and the ones faaslab refuses (501 NotImplemented).

S3 names most operations by a bare query "sub-resource" on the bucket or object URL
(`PUT key?tagging` is PutObjectTagging, not PutObject). A sub-resource faaslab does not
implement must never fall through to the plain object operation: `PUT key?tagging` used to
overwrite the object with the tagging XML. The table is built from botocore's S3 model
(each operation's `requestUri`, e.g. `/{Bucket}/{Key+}?tagging`) rather than hand-listed,
so every sub-resource S3 has, including ones added later, is recognised and refused until
faaslab implements it. Query parameters that are not sub-resources (list parameters,
`response-*` overrides, presign parameters) are not in the table and pass through.
"""

from __future__ import annotations

import functools
from collections import defaultdict

from botocore.loaders import Loader

from faaslab.s3 import subresources
from faaslab.s3.errors import S3Error

# The operations api.py serves. Sub-resource-free requests map to several operations
# (PutObject / UploadPart / CopyObject ...): api.py tells those apart by parameters and
# headers, and all of them are here.
IMPLEMENTED = frozenset(
    {
        "AbortMultipartUpload",
        "CompleteMultipartUpload",
        "CopyObject",
        "CreateBucket",
        "CreateMultipartUpload",
        "DeleteBucket",
        "DeleteBucketEncryption",
        "DeleteObject",
        "DeleteObjects",
        "GetBucketEncryption",
        "GetBucketLocation",
        "GetBucketVersioning",
        "GetObjectLegalHold",
        "GetObjectLockConfiguration",
        "GetObjectRetention",
        "GetObject",
        "GetObjectAttributes",
        "HeadBucket",
        "HeadObject",
        "ListBuckets",
        "ListMultipartUploads",
        "ListObjects",
        "ListObjectVersions",
        "ListObjectsV2",
        "ListParts",
        "PutBucketEncryption",
        "PutBucketVersioning",
        "PutObject",
        "PutObjectLegalHold",
        "PutObjectLockConfiguration",
        "PutObjectRetention",
        "UploadPart",
        "UploadPartCopy",
        # access (access_api.py)
        "DeleteBucketOwnershipControls",
        "DeleteBucketPolicy",
        "DeletePublicAccessBlock",
        "GetBucketAcl",
        "GetBucketOwnershipControls",
        "GetBucketPolicy",
        "GetBucketPolicyStatus",
        "GetObjectAcl",
        "GetPublicAccessBlock",
        "PutBucketAcl",
        "PutBucketOwnershipControls",
        "PutBucketPolicy",
        "PutObjectAcl",
        "PutPublicAccessBlock",
    }
)
IMPLEMENTED |= subresources.OPERATIONS  # tagging, CORS, lifecycle, notification, logging...

# Request headers asking for behaviour faaslab does not have yet: honouring them silently
# would store an object without what was asked for. boto3 and the aws CLI send none of
# them unless told to. (x-amz-object-lock-*: objectlock.py judges them;
# x-amz-server-side-encryption-*: sse.py, which refuses aws:kms:dsse, the one value it
# does not implement; x-amz-acl / x-amz-grant-*: access_api.py; x-amz-tagging:
# tagging.py.)
UNHONOURED_HEADERS = frozenset({"x-amz-website-redirect-location"})

# (method, names a key?, sub-resources present) -> the operations it can be
Table = dict[tuple[str, bool, frozenset[str]], list[str]]


@functools.cache
def table() -> tuple[Table, frozenset[str]]:
    """The operation table and the set of sub-resource names, from botocore's S3 model."""
    model = Loader().load_service_model("s3", "service-2")
    ops: Table = defaultdict(list)
    subresources: set[str] = set()
    for name, op in model["operations"].items():
        uri: str = op["http"]["requestUri"]
        path, _, query = uri.partition("?")
        if not path.startswith("/{Bucket}"):
            continue  # ListBuckets, WriteGetObjectResponse: not on a bucket
        # bare names are sub-resources; `list-type=2`, `select-type=2` are parameters
        # that come with an operation whose sub-resource (if any) already names it
        marks = frozenset(q for q in query.split("&") if q and "=" not in q)
        subresources |= marks
        ops[(op["http"]["method"], "{Key+}" in path, marks)].append(name)
    return dict(ops), frozenset(subresources)


def check(
    method: str, bucket: str, key: str, query: dict[str, str], headers: dict[str, str]
) -> None:
    """Raise S3's 501 NotImplemented for a bucket or object request faaslab would
    otherwise misread as another operation."""
    ops, subresources = table()
    resource = f"/{bucket}/{key}" if key else f"/{bucket}"
    marks = frozenset(q for q in query if q in subresources)
    candidates = ops.get((method, bool(key), marks), [])
    if not any(op in IMPLEMENTED for op in candidates):
        what = "?" + "&".join(sorted(marks)) if marks else ""
        raise S3Error("NotImplemented", Resource=resource + what)
    if key and "partNumber" in query and "uploadId" not in query and method not in ("GET", "HEAD"):
        raise S3Error("NotImplemented", Resource=f"{resource}?partNumber")
    for name in headers:
        if name in UNHONOURED_HEADERS:
            raise S3Error("NotImplemented", Header=name, Resource=resource)
