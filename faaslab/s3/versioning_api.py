"""The wire of S3 versioning: Get/PutBucketVersioning, ListObjectVersions, and the
version headers and parameters of object requests (versions.py keeps the history).

The versioning configuration is read and written through botocore's S3 shapes; the
version listing is hand-written like ListObjects' (a listing page, on a hot-ish path).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from faaslab.awsapi import models
from faaslab.awsapi.wire_in import from_xml_element, parse_timestamp
from faaslab.awsapi.wire_out import xml_element
from faaslab.clock import iso_millis
from faaslab.s3 import listing
from faaslab.s3.errors import S3Error
from faaslab.s3.model import ObjectInfo
from faaslab.s3.store import Deleted, Deletion, ObjectStore
from faaslab.s3.versions import ENABLED, SUSPENDED, wire_id

XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
OWNER = "<Owner><ID>faaslab</ID><DisplayName>faaslab</DisplayName></Owner>"
MAX_KEYS = 1000


def _doc(body: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}'.encode()


def _shape(name: str) -> Any:
    model = models.service_model("s3")
    assert model is not None
    return model.shape_for(name)


# -- bucket configuration
def get_versioning(store: ObjectStore, bucket: str) -> bytes:
    state = store.versioning(bucket)
    if state is None:
        raise S3Error("NoSuchBucket", BucketName=bucket)
    value = {"Status": state} if state else {}
    xml = xml_element(_shape("GetBucketVersioningOutput"), "VersioningConfiguration", value)
    return _doc(
        xml.replace("<VersioningConfiguration>", f'<VersioningConfiguration xmlns="{XMLNS}">', 1)
    )


def parse_versioning(body: bytes) -> str:
    """The Status a PutBucketVersioning body asks for. MFA Delete (which needs a device
    faaslab does not have) is refused with 501."""
    try:
        root = ElementTree.fromstring(body)
        config = from_xml_element(_shape("VersioningConfiguration"), root)
    except (ElementTree.ParseError, ValueError):
        raise S3Error("MalformedXML") from None
    mfa = config.get("MFADelete")
    if mfa not in (None, "Enabled", "Disabled"):
        raise S3Error("MalformedXML")
    if mfa == "Enabled":
        raise S3Error("NotImplemented", "faaslab does not implement MFA Delete", Header="MfaDelete")
    status = config.get("Status")
    if status not in (ENABLED, SUSPENDED):
        raise S3Error("IllegalVersioningConfigurationException")
    return str(status)


# -- object requests
def version_header(store: ObjectStore, info: ObjectInfo, read: bool = True) -> dict[str, str]:
    """x-amz-version-id of a read version: its id, or 'null' for the null version in a
    bucket that is (or was) versioned; none in a never versioned bucket. A write
    (`read=False`) names only a new version id: S3 sends none for a PUT while suspended."""
    if info.version_id is not None:
        return {"x-amz-version-id": info.version_id}
    if read and store.versioning(info.bucket):
        return {"x-amz-version-id": "null"}
    return {}


def no_such_key(store: ObjectStore, bucket: str, key: str) -> S3Error:
    """NoSuchKey for a key with no current object; with x-amz-delete-marker when its
    current version is a delete marker (as S3 answers)."""
    err = S3Error("NoSuchKey", Key=key)
    marker = store.current_marker(bucket, key)
    if marker is not None:
        err.headers = {
            "x-amz-delete-marker": "true",
            "x-amz-version-id": wire_id(marker.version_id),
        }
    return err


def version_of(store: ObjectStore, bucket: str, key: str, version: str) -> ObjectInfo:
    """GET/HEAD ?versionId: the version (NoSuchVersion if there is none; a delete
    marker answers 405 MethodNotAllowed with x-amz-delete-marker, as S3's does)."""
    found = store.head_version(bucket, key, version)
    if found is None:
        raise S3Error("NoSuchVersion", Key=key, VersionId=version)
    if found.delete_marker:
        err = S3Error("MethodNotAllowed", Method="GET", ResourceType="DeleteMarker")
        err.headers = {
            "x-amz-delete-marker": "true",
            "x-amz-version-id": version,
            "Last-Modified": _http_date(found.modified),
        }
        raise err
    return found


def object_of(store: ObjectStore, bucket: str, key: str, version: str | None) -> ObjectInfo:
    """The object a request names: its `versionId`'s version (version_of), else the
    current one (no_such_key)."""
    if version is not None:
        return version_of(store, bucket, key, version)
    found = store.head(bucket, key)
    if found is None:
        raise no_such_key(store, bucket, key)
    return found


def _http_date(t: float) -> str:
    from email.utils import formatdate

    return formatdate(t, usegmt=True)


def deletion(key: str, query: dict[str, str], headers: dict[str, str]) -> Deletion:
    """A DeleteObject's request: version and conditions."""
    when = headers.get("x-amz-if-match-last-modified-time")
    size = headers.get("x-amz-if-match-size")
    return Deletion(
        key,
        query.get("versionId"),
        headers.get("if-match"),
        _time(when, "rfc822", "x-amz-if-match-last-modified-time") if when else None,
        _size(size) if size is not None else None,
        headers.get("x-amz-bypass-governance-retention", "").lower() == "true",
    )


def delete_headers(done: Deleted) -> dict[str, str]:
    headers = {}
    if done.version is not None:
        headers["x-amz-version-id"] = done.version
    if done.delete_marker:
        headers["x-amz-delete-marker"] = "true"
    return headers


def _time(text: str, fmt: str, name: str) -> float:
    try:
        return parse_timestamp(text.strip(), fmt).timestamp()
    except (ValueError, TypeError):
        try:
            return parse_timestamp(text.strip(), "iso8601").timestamp()
        except (ValueError, TypeError):
            raise S3Error("InvalidArgument", f"Invalid {name}: {text}") from None


def _size(text: str, name: str = "x-amz-if-match-size") -> int:
    if not text.strip().isdigit():
        raise S3Error("InvalidArgument", f"Invalid {name}: {text}")
    return int(text)


@dataclass(frozen=True, slots=True)
class DeleteEntry:
    key: str
    version: str | None
    etag: str | None
    modified: str | None
    size: str | None

    def deletion(self, bypass_governance: bool = False) -> Deletion:
        return Deletion(
            self.key,
            self.version,
            self.etag,
            _time(self.modified, "rfc822", "LastModifiedTime") if self.modified else None,
            _size(self.size, "Size") if self.size is not None else None,
            bypass_governance,
        )


def delete_result(results: list[Deleted], quiet: bool) -> str:
    """DeleteObjects' <Deleted>/<Error> entries (errors are listed even when quiet)."""
    out = []
    for r in results:
        key = f"<Key>{escape(r.key)}</Key>"
        if r.error is not None:
            vid = f"<VersionId>{escape(r.version)}</VersionId>" if r.version else ""
            out.append(
                f"<Error>{key}{vid}<Code>{r.error.code}</Code>"
                f"<Message>{escape(r.error.message)}</Message></Error>"
            )
        elif not quiet:
            inner = key
            if r.delete_marker and r.version is not None:
                if r.by_version:  # a delete marker deleted by its version id
                    inner += f"<VersionId>{escape(r.version)}</VersionId>"
                inner += (
                    "<DeleteMarker>true</DeleteMarker>"
                    f"<DeleteMarkerVersionId>{escape(r.version)}</DeleteMarkerVersionId>"
                )
            elif r.version is not None:
                inner += f"<VersionId>{escape(r.version)}</VersionId>"
            out.append(f"<Deleted>{inner}</Deleted>")
    return "".join(out)


# -- ListObjectVersions
def list_versions(store: ObjectStore, bucket: str, q: dict[str, str]) -> bytes:
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    key_marker, version_marker = q.get("key-marker", ""), q.get("version-id-marker", "")
    url = q.get("encoding-type") == "url"
    if q.get("encoding-type", "url") != "url":
        raise S3Error("InvalidArgument", "Invalid Encoding Method specified in Request")
    max_keys = listing.max_keys(q, MAX_KEYS)
    if version_marker and not key_marker:
        raise S3Error(
            "InvalidArgument", "A version-id marker cannot be specified without a key marker."
        )
    if store.versioning(bucket) is None:
        raise S3Error("NoSuchBucket", BucketName=bucket)

    def enc(s: str) -> str:
        return escape(quote(s, safe="/~") if url else s)

    entries: list[str] = []
    prefixes: list[str] = []
    next_key, next_version = "", ""
    truncated = False
    skip = (
        key_marker
        if delimiter and key_marker.endswith(delimiter) and key_marker.startswith(prefix)
        else None
    )
    items: Iterator[tuple[ObjectInfo, bool]] = store.list_versions(
        bucket, prefix, key_marker, version_marker
    )
    for info, latest in items:
        if skip and info.key.startswith(skip):
            continue
        common = listing.common_prefix(info.key, prefix, delimiter)
        if len(entries) + len(prefixes) >= max_keys:
            truncated = True
            break
        if common is not None:
            prefixes.append(common)
            next_key, next_version = common, ""
            skip = common
            continue
        vid = escape(wire_id(info.version_id))
        head = (
            f"<Key>{enc(info.key)}</Key><VersionId>{vid}</VersionId>"
            f"<IsLatest>{'true' if latest else 'false'}</IsLatest>"
            f"<LastModified>{iso_millis(info.modified)}</LastModified>"
        )
        if info.delete_marker:
            entries.append(f"<DeleteMarker>{head}{OWNER}</DeleteMarker>")
        else:
            entries.append(
                f"<Version>{head}<ETag>&quot;{info.etag}&quot;</ETag><Size>{info.size}</Size>"
                f"{OWNER}<StorageClass>STANDARD</StorageClass></Version>"
            )
        next_key, next_version = info.key, wire_id(info.version_id)
    parts = [
        f"<Name>{escape(bucket)}</Name><Prefix>{enc(prefix)}</Prefix>",
        f"<KeyMarker>{enc(key_marker)}</KeyMarker>",
        f"<VersionIdMarker>{escape(version_marker)}</VersionIdMarker>",
    ]
    if truncated:
        parts.append(f"<NextKeyMarker>{enc(next_key)}</NextKeyMarker>")
        if next_version:
            parts.append(f"<NextVersionIdMarker>{escape(next_version)}</NextVersionIdMarker>")
    parts += listing.page_tail(max_keys, delimiter, url, truncated, entries, prefixes, enc)
    inner = "".join(parts)
    return _doc(f'<ListVersionsResult xmlns="{XMLNS}">{inner}</ListVersionsResult>')
