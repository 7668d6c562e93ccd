"""UploadPartCopy: a multipart upload's part made from (a range of) an existing object.

`PUT /bucket/key?partNumber=N&uploadId=U` with `x-amz-copy-source` (and optionally
`x-amz-copy-source-range: bytes=first-last` and the copy-source conditions). The bytes
are read from the source's blob (decrypted if it is encrypted: an SSE-C source needs
`x-amz-copy-source-server-side-encryption-customer-*`), MD5'd for the part's ETag,
summed if the upload has a checksum algorithm, encrypted under the upload's data key if
the upload is encrypted, and written to a part blob — in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import re
import time
from typing import TYPE_CHECKING

from faaslab.clock import iso_millis
from faaslab.http.server import Request, Response
from faaslab.s3 import checksums, sse, versioning_api
from faaslab.s3.errors import S3Error, host_id, request_id
from faaslab.s3.model import MAX_PART_NUMBER
from faaslab.s3.store import Body

if TYPE_CHECKING:
    from faaslab.s3.api import S3Api, Target

MAX_PART_COPY = 5 * 1024**3  # S3's largest part (and so largest copied range)
_RANGE = re.compile(r"bytes=(\d+)-(\d+)")
XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"


def parse_range(header: str | None, size: int) -> tuple[int, int]:
    """[start, end) of `x-amz-copy-source-range` (the whole object without one), in S3's
    words when malformed (InvalidArgument) or outside the object (InvalidRange)."""
    if header is None:
        return 0, size
    m = _RANGE.fullmatch(header.strip())
    first, last = (int(m.group(1)), int(m.group(2))) if m else (0, -1)
    if last < first:  # (malformed, or backwards)
        raise S3Error(
            "InvalidArgument",
            "The x-amz-copy-source-range value must be of the form bytes=first-last where "
            "first and last are the zero-based offsets of the first and last bytes to copy",
            ArgumentName="x-amz-copy-source-range",
            ArgumentValue=header,
        )
    if last >= size:
        raise S3Error(
            "InvalidRange",
            "The requested range is not satisfiable",
            ActualObjectSize=str(size),
            RangeRequested=header,
        )
    return first, last + 1


async def upload_part_copy(api: S3Api, req: Request, t: Target) -> Response:
    raw = t.query.get("partNumber", "")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PART_NUMBER:
        raise S3Error(
            "InvalidArgument",
            f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive",
        )
    number = int(raw)
    upload_id = t.query["uploadId"]
    api.store.require_bucket(t.bucket)
    api.store.upload(t.bucket, t.key, upload_id)  # NoSuchUpload if not this key's
    upload_headers = api.store.upload_headers(upload_id)
    h = req.headers
    source = api.copy_source(req, t)
    customer = sse.check_read(h, source.headers, sse.COPY_PREFIX)
    start, end = parse_range(h.get("x-amz-copy-source-range"), source.size)
    if end - start > MAX_PART_COPY:
        raise S3Error("EntityTooLarge")
    cipher = sse.for_part(h, upload_headers, api.keyring)
    algorithm = upload_headers.get(checksums.UPLOAD_KEY, "").partition(":")[0]
    sums = [checksums.new(algorithm)] if algorithm else []
    encrypted = sse.is_encrypted(source.headers)
    key = api.keyring.unwrap(source.headers, customer) if encrypted else None
    segs = sse.segments(source.headers) if encrypted else []
    data = api.store.read(source)
    out = api.store.temp_path()
    target_key = cipher.key if cipher is not None else None
    try:
        md5, _, iv = await asyncio.to_thread(
            sse.transcode, data, key, segs, start, end, target_key, out, sums
        )
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    extra: dict[str, object] = {}
    if iv is not None:
        extra["iv"] = iv
    sum_values: dict[str, str] = {}
    if sums:
        sum_values = {algorithm.upper(): base64.b64encode(sums[0].digest()).decode()}
        extra["checksums"] = sum_values
    etag_digest = target_key.etag(md5) if target_key is not None else md5
    etag = await api.store.put_part(
        upload_id, number, Body(end - start, etag_digest, path=out), extra
    )
    inner = f"<LastModified>{iso_millis(time.time())}</LastModified><ETag>&quot;{etag}&quot;</ETag>"
    inner += "".join(f"<Checksum{a}>{v}</Checksum{a}>" for a, v in sum_values.items())
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<CopyPartResult xmlns="{XMLNS}">'
        f"{inner}</CopyPartResult>"
    ).encode()
    headers = {
        "x-amz-request-id": request_id(),
        "x-amz-id-2": host_id(),
        "Content-Type": "application/xml",
    }
    headers.update(sse.response_headers(upload_headers))
    source_version = versioning_api.version_header(api.store, source)
    if source_version:
        headers["x-amz-copy-source-version-id"] = source_version["x-amz-version-id"]
    return Response(200, body, headers)
