"""The S3 operation table from botocore's model, and what it refuses."""

from __future__ import annotations

import pytest

from faaslab.s3.errors import S3Error
from faaslab.s3.operations import IMPLEMENTED, check, table


def test_every_implemented_operation_is_in_botocores_model() -> None:
    ops, subresources = table()
    known = {op for names in ops.values() for op in names} | {"ListBuckets"}
    assert known >= IMPLEMENTED
    assert {"acl", "tagging", "versioning", "uploads", "delete", "location"} <= subresources
    assert not {"list-type", "uploadId", "partNumber", "prefix"} & subresources


@pytest.mark.parametrize(
    ("method", "key", "query", "headers"),
    [
        ("PUT", "", {"replication": ""}, {}),
        ("PUT", "", {"website": ""}, {}),
        ("GET", "k", {"torrent": ""}, {}),
        ("PUT", "", {"accelerate": ""}, {}),
        ("GET", "k", {"location": ""}, {}),  # no such operation on an object
        ("PUT", "k", {"partNumber": "1"}, {}),  # a part without its upload
        ("PUT", "k", {}, {"x-amz-website-redirect-location": "/a"}),
    ],
)
def test_refused(method: str, key: str, query: dict[str, str], headers: dict[str, str]) -> None:
    with pytest.raises(S3Error) as e:
        check(method, "b", key, query, headers)
    assert e.value.code == "NotImplemented" and e.value.status == 501


@pytest.mark.parametrize(
    ("method", "key", "query", "headers"),
    [
        ("GET", "", {"list-type": "2", "prefix": "a", "max-keys": "5"}, {}),
        ("GET", "", {"location": ""}, {}),
        ("GET", "", {"uploads": ""}, {}),
        ("POST", "", {"delete": ""}, {}),
        ("PUT", "", {}, {}),
        ("GET", "k", {"response-content-type": "text/plain", "X-Amz-Date": "x"}, {}),
        ("PUT", "k", {"uploadId": "u", "partNumber": "1"}, {}),
        ("GET", "k", {"partNumber": "1"}, {}),
        ("HEAD", "k", {"partNumber": "2"}, {}),
        ("POST", "k", {"uploads": ""}, {}),
        ("POST", "k", {"uploadId": "u"}, {}),
        ("DELETE", "k", {"versionId": "null"}, {}),
        ("DELETE", "k", {"versionId": "v1"}, {}),
        ("PUT", "", {"versioning": ""}, {}),
        ("GET", "", {"versions": ""}, {}),
        ("PUT", "k", {}, {"x-amz-acl": "private", "x-amz-meta-a": "b"}),
        ("PUT", "k", {"tagging": ""}, {}),
        ("DELETE", "", {"cors": ""}, {}),
        ("GET", "", {"lifecycle": ""}, {}),
        ("PUT", "k", {}, {"x-amz-tagging": "a=b"}),
        ("PUT", "k", {}, {"x-amz-server-side-encryption": "aws:kms"}),  # sse.py's to judge
        ("PUT", "", {"encryption": ""}, {}),
        ("GET", "k", {"attributes": ""}, {}),
        ("PUT", "k", {}, {"x-amz-acl": "public-read"}),  # (access_api.py)
        ("PUT", "k", {}, {"x-amz-grant-read": 'uri="x"'}),
        ("GET", "k", {"acl": ""}, {}),
        ("PUT", "", {"policy": ""}, {}),
        ("GET", "", {"policyStatus": ""}, {}),
        ("DELETE", "", {"publicAccessBlock": ""}, {}),
        ("PUT", "", {"ownershipControls": ""}, {}),
    ],
)
def test_served(method: str, key: str, query: dict[str, str], headers: dict[str, str]) -> None:
    check(method, "b", key, query, headers)
