"""What S3 objects and buckets are, independent of storage and wire: name rules, ETags."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

MIN_PART_SIZE = 5 * 1024 * 1024  # every part but the last (S3's multipart minimum)
MAX_PART_NUMBER = 10_000
MAX_OBJECT_SIZE = 5 * 1024**3  # one PUT (S3: 5 GiB; larger objects go multipart)

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name_problem(name: str) -> str | None:
    """Why `name` is not a valid general-purpose bucket name (S3's rules), or None."""
    if not 3 <= len(name) <= 63:
        return "bucket names must be between 3 and 63 characters long"
    if not _BUCKET.match(name):
        return (
            "bucket names may contain only lower-case letters, digits, dots and hyphens, "
            "and must begin and end with a letter or digit"
        )
    if ".." in name:
        return "bucket names must not contain two adjacent periods"
    if ".-" in name or "-." in name:  # (each dot-separated label starts and ends alphanumeric)
        return "bucket names must not contain a period next to a hyphen"
    if _IP.match(name):
        return "bucket names must not be formatted as an IP address"
    if name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        return "bucket names must not use a prefix or suffix S3 reserves"
    return None


def multipart_etag(part_md5s: list[bytes]) -> str:
    """S3's ETag of a multipart object: MD5 of the parts' binary MD5s, '-', part count."""
    return f"{hashlib.md5(b''.join(part_md5s)).hexdigest()}-{len(part_md5s)}"


@dataclass(slots=True)
class ObjectInfo:
    """One object version's metadata (its bytes are in the blob file `blob`)."""

    bucket: str
    key: str
    blob: str
    size: int
    etag: str  # without quotes
    modified: float  # seconds since the epoch
    content_type: str = "binary/octet-stream"
    metadata: dict[str, str] = field(default_factory=dict)  # x-amz-meta-*, names lower case
    headers: dict[str, str] = field(default_factory=dict)  # Content-Encoding, Cache-Control...
    checksums: dict[str, str] = field(default_factory=dict)  # e.g. {"CRC32": "base64"}
    version_id: str | None = None  # None: the null version (unversioned, or suspended)
    delete_marker: bool = False  # a delete marker (versioned buckets): no bytes, no ETag
    lock: dict[str, str] = field(default_factory=dict)  # Object Lock: objectlock.py
    # the object's tags (tagging.py keeps them in their own table): what a write stores
    # with the object; None when read from the index (tagging.tags_of asks for them)
    tags: dict[str, str] | None = None


# Headers S3 stores with an object and returns on GET/HEAD (besides Content-Type).
STORED_HEADERS = (
    "Cache-Control",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Expires",
)
