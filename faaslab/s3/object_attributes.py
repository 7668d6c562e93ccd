"""GetObjectAttributes (`GET key?attributes`): an object's ETag, checksum, parts, storage
class and size without its body, answered through botocore's S3 output shape.

A multipart object's parts (size and checksum of each, for `ObjectParts`) are kept from
its Complete in its stored headers under PARTS (never answered on GET/HEAD).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.model import ServiceModel

from faaslab.awsapi import models, wire_out
from faaslab.http.server import Request, Response
from faaslab.s3 import sse, versioning_api
from faaslab.s3.errors import S3Error, host_id, request_id

if TYPE_CHECKING:
    from faaslab.s3.api import S3Api, Target

PARTS = "x-faaslab-parts"  # ObjectInfo.headers: [[size, {ALGORITHM: checksum}], ...]
_ATTRIBUTES = frozenset({"ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"})


def layout(used: list[tuple[int, int, dict[str, Any]]]) -> str:
    """The PARTS value of an object completed from `used` (number, size, extra) parts."""
    return json.dumps([[size, extra.get("checksums", {})] for _, size, extra in used])


def get_object_attributes(api: S3Api, req: Request, t: Target) -> Response:
    api.store.require_bucket(t.bucket)
    info = versioning_api.object_of(api.store, t.bucket, t.key, t.query.get("versionId"))
    h = req.headers
    sse.check_read(h, info.headers)
    wanted = {a.strip() for a in h.get("x-amz-object-attributes", "").split(",") if a.strip()}
    if not wanted or not wanted <= _ATTRIBUTES:
        raise S3Error("InvalidArgument", "Invalid attribute name specified.")
    value: dict[str, Any] = {"LastModified": info.modified}
    if "ETag" in wanted:
        value["ETag"] = info.etag
    if "Checksum" in wanted and info.checksums:
        checksum = {f"Checksum{k}": v for k, v in info.checksums.items() if k != "TYPE"}
        checksum["ChecksumType"] = info.checksums.get("TYPE", "FULL_OBJECT")
        value["Checksum"] = checksum
    if "ObjectParts" in wanted and PARTS in info.headers:
        value["ObjectParts"] = _parts(json.loads(info.headers[PARTS]), h)
    if "StorageClass" in wanted:
        value["StorageClass"] = "STANDARD"
    if "ObjectSize" in wanted:
        value["ObjectSize"] = info.size
    model = models.service_model("s3")
    assert isinstance(model, ServiceModel)
    resp = wire_out.result(
        model, "rest-xml", model.operation_model("GetObjectAttributes"), value, request_id()
    )
    resp.headers.pop("x-amzn-RequestId", None)
    resp.headers.update({"x-amz-request-id": request_id(), "x-amz-id-2": host_id()})
    resp.headers.update(sse.response_headers(info.headers))
    resp.headers.update(versioning_api.version_header(api.store, info))
    return resp


def _parts(parts: list[list[Any]], h: dict[str, str]) -> dict[str, Any]:
    try:
        max_parts = min(int(h.get("x-amz-max-parts", "1000")), 1000)
        marker = int(h.get("x-amz-part-number-marker", "0"))
    except ValueError:
        raise S3Error("InvalidArgument") from None
    numbered = list(enumerate(parts, 1))
    after = [(n, p) for n, p in numbered if n > marker]
    shown = after[:max_parts]
    return {
        "TotalPartsCount": len(parts),
        "PartNumberMarker": marker,
        "NextPartNumberMarker": shown[-1][0] if shown else marker,
        "MaxParts": max_parts,
        "IsTruncated": len(after) > max_parts,
        "Parts": [
            {"PartNumber": n, "Size": size, **{f"Checksum{k}": v for k, v in sums.items()}}
            for n, (size, sums) in shown
        ],
    }
