"""POST object: a browser's form upload (multipart/form-data) to a bucket's URL.

The form carries the key, the object's headers and metadata, optionally a signed policy
document (base64 JSON: an expiration and conditions every field must meet) and the file,
last. A form with a policy is signed: SigV4 (`x-amz-algorithm`, `x-amz-credential`,
`x-amz-date`, `x-amz-signature`: HMAC-SHA256 of the base64 policy with the day's signing
key) or SigV2 (`AWSAccessKeyId`, `signature`: HMAC-SHA1). A form without one is anonymous:
the bucket's ACL or policy must allow an anonymous PutObject.

The form is parsed with the standard library's `email` parser (MIME multipart is its
format; no multipart library is among faaslab's dependencies). The body is buffered by the
edge (up to its request limit), as any non-PUT request's.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Awaitable, Callable
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit
from xml.sax.saxutils import escape

from faaslab.auth import _signing_key
from faaslab.http.server import Request, Response
from faaslab.s3.errors import S3Error, host_id, request_id
from faaslab.s3.sigauth import Caller

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")

# Fields a policy need not mention (S3's list): the signature's own, the file, x-ignore-*.
_UNCHECKED = {
    "policy",
    "signature",
    "x-amz-signature",
    "awsaccesskeyid",
    "file",
    "x-amz-security-token",
}


def is_form(headers: dict[str, str]) -> bool:
    return headers.get("content-type", "").lower().startswith("multipart/form-data")


def parse_form(content_type: str, body: bytes) -> tuple[dict[str, str], bytes, str]:
    """(fields with lower-case names -> value, the file's bytes, its filename)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    msg = BytesParser(policy=HTTP).parsebytes(head + body)
    if not msg.is_multipart():
        raise S3Error("MalformedPOSTRequest")
    fields: dict[str, str] = {}
    file: bytes | None = None
    filename = ""
    parts = msg.get_payload()
    assert isinstance(parts, list)
    for part in parts:
        assert isinstance(part, Message)
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if name.lower() == "file":
            if file is not None:
                raise S3Error(
                    "InvalidArgument", "POST requires exactly one file upload per request."
                )
            file = data
            filename = part.get_filename() or ""
            break  # S3 ignores fields after the file
        fields[name.lower()] = data.decode("utf-8", "replace")
    if file is None:
        raise S3Error("InvalidArgument", "POST requires exactly one file upload per request.")
    return fields, file, filename


class PostObject:
    """Checks a form upload; `put` stores the object (api.py's PutObject path)."""

    def __init__(
        self,
        keys: dict[str, str],
        strict: bool,
        now: Callable[[], float],
        authorize: Callable[[Caller, Request, str, str], None],
        put: Callable[[str, str, dict[str, str], bytes], Awaitable[tuple[str, dict[str, str]]]],
    ) -> None:
        self.keys = keys
        self.strict = strict
        self.now = now
        self.authorize = authorize  # (caller, request, bucket, key) -> None or S3Error
        self.put = put  # (bucket, key, headers, body) -> (etag, response headers)

    async def handle(self, req: Request, bucket: str, _caller: Caller) -> Response:
        fields, data, filename = parse_form(req.headers.get("content-type", ""), req.body)
        if "key" not in fields:
            raise S3Error(
                "InvalidArgument",
                "Bucket POST must contain a field named 'key'.  If it is specified, please "
                "check the order of the fields.",
                ArgumentName="key",
            )
        key = fields["key"].replace("${filename}", filename)
        caller = self._check_signature(fields)
        if "policy" in fields:
            self._check_policy(fields, bucket, key, len(data))
        self.authorize(caller, req, bucket, key)
        status = fields.get("success_action_status", "")
        redirect = fields.get("success_action_redirect") or fields.get("redirect")
        headers = {
            name: value
            for name, value in fields.items()
            if name.startswith("x-amz-meta-")
            or name
            in (
                "content-type",
                "cache-control",
                "content-disposition",
                "content-encoding",
                "expires",
                "x-amz-acl",
            )
        }
        if "acl" in fields:
            headers["x-amz-acl"] = fields["acl"]
        etag, written = await self.put(bucket, key, headers, data)
        rid = {"x-amz-request-id": request_id(), "x-amz-id-2": host_id(), "ETag": f'"{etag}"'}
        rid.update(written)
        location = f"http://{req.headers.get('host', 'localhost')}/{bucket}/{key}"
        rid["Location"] = location
        if redirect:
            parts = urlsplit(redirect)
            extra = urlencode({"bucket": bucket, "key": key, "etag": f'"{etag}"'})
            query = f"{parts.query}&{extra}" if parts.query else extra
            return Response(303, b"", {**rid, "Location": urlunsplit(parts._replace(query=query))})
        if status == "201":
            inner = (
                f"<Location>{escape(location)}</Location><Bucket>{escape(bucket)}</Bucket>"
                f"<Key>{escape(key)}</Key><ETag>&quot;{etag}&quot;</ETag>"
            )
            body = f'<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse>{inner}</PostResponse>'
            return Response(201, body.encode(), {**rid, "Content-Type": "application/xml"})
        if status == "200":
            return Response(200, b"", rid)
        return Response(204, b"", rid)

    def _check_signature(self, f: dict[str, str]) -> Caller:
        if "policy" not in f:
            if "x-amz-signature" in f or "signature" in f:
                raise S3Error(
                    "InvalidArgument",
                    "Bucket POST must contain a field named 'policy'.  If it is specified, "
                    "please check the order of the fields.",
                )
            return Caller(None)
        policy = f["policy"]
        if "x-amz-signature" in f or "x-amz-credential" in f:
            missing = [
                n
                for n in ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature")
                if n not in f
            ]
            if missing:
                raise S3Error(
                    "InvalidArgument",
                    f"Bucket POST must contain a field named '{missing[0]}'.  If it is "
                    "specified, please check the order of the fields.",
                )
            if f["x-amz-algorithm"] != "AWS4-HMAC-SHA256":
                raise S3Error("InvalidArgument", "Unsupported x-amz-algorithm")
            cred = f["x-amz-credential"].split("/")
            if len(cred) != 5:
                raise S3Error("InvalidArgument", "Invalid x-amz-credential")
            key = cred[0]
            secret = self._secret(key)
            if secret is None:
                return Caller(key)
            expected = hmac.digest(
                _signing_key(secret, cred[1], cred[2], cred[3]), policy.encode(), "sha256"
            ).hex()
            given = f["x-amz-signature"]
        else:
            if "awsaccesskeyid" not in f or "signature" not in f:
                absent = "AWSAccessKeyId" if "awsaccesskeyid" not in f else "Signature"
                raise S3Error(
                    "InvalidArgument",
                    f"Bucket POST must contain a field named '{absent}'.  If it is specified, "
                    "please check the order of the fields.",
                )
            key = f["awsaccesskeyid"]
            secret = self._secret(key)
            if secret is None:
                return Caller(key)
            mac = hmac.digest(secret.encode(), policy.encode(), hashlib.sha1)
            expected = base64.b64encode(mac).decode()
            given = f["signature"]
        if not hmac.compare_digest(expected, given):
            raise S3Error("SignatureDoesNotMatch", AWSAccessKeyId=key)
        return Caller(key)

    def _secret(self, key: str) -> str | None:
        secret = self.keys.get(key)
        if secret is None and self.strict:
            raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=key)
        return secret

    def _check_policy(self, f: dict[str, str], bucket: str, key: str, size: int) -> None:
        try:
            doc = json.loads(base64.b64decode(f["policy"], validate=False))
        except (ValueError, binascii.Error):
            raise S3Error("InvalidPolicyDocument", "Invalid Policy: Invalid JSON.") from None
        if not isinstance(doc, dict):
            raise S3Error("InvalidPolicyDocument", "Invalid Policy: Invalid JSON.")
        if "expiration" not in doc:
            raise S3Error("InvalidPolicyDocument", "Invalid Policy: Policy missing expiration.")
        try:
            if not _ISO.match(str(doc["expiration"])):
                raise ValueError(doc["expiration"])
            expires = dt.datetime.fromisoformat(str(doc["expiration"]).replace("Z", "+00:00"))
        except ValueError:
            raise S3Error(
                "InvalidPolicyDocument",
                f"Invalid Policy: Invalid 'expiration' value: '{doc['expiration']}'",
            ) from None
        if expires.timestamp() < self.now():
            raise S3Error("AccessDenied", "Invalid according to Policy: Policy expired.")
        conditions = doc.get("conditions")
        if not isinstance(conditions, list):
            raise S3Error("InvalidPolicyDocument", "Invalid Policy: Policy missing conditions.")
        values = dict(f)
        values["key"] = key
        values["bucket"] = bucket
        covered: set[str] = {"bucket"}
        for cond in conditions:
            covered |= _check_condition(cond, values, size)
        extra = [
            n
            for n in f
            if n not in covered and n not in _UNCHECKED and not n.startswith("x-ignore-")
        ]
        if extra:
            raise S3Error(
                "AccessDenied",
                f"Invalid according to Policy: Extra input fields: {extra[0]}",
            )


def _failed(cond: Any) -> S3Error:
    return S3Error(
        "AccessDenied",
        f"Invalid according to Policy: Policy Condition failed: {json.dumps(cond)}",
    )


def _check_condition(cond: Any, values: dict[str, str], size: int) -> set[str]:
    """The field names `cond` covers; S3Error if the form breaks it."""
    if isinstance(cond, dict):
        if len(cond) != 1:
            raise S3Error("InvalidPolicyDocument", "Invalid Policy: Invalid Simple-Condition.")
        ((name, want),) = cond.items()
        field = name.lower().removeprefix("$")
        if values.get(field) != str(want):
            raise _failed(cond)
        return {field}
    if not isinstance(cond, list) or len(cond) != 3:
        raise S3Error(
            "InvalidPolicyDocument",
            "Invalid Policy: Invalid Condition: " + json.dumps(cond),
        )
    op = str(cond[0]).lower()
    if op == "content-length-range":
        try:
            low, high = int(cond[1]), int(cond[2])
        except (TypeError, ValueError):
            raise S3Error(
                "InvalidPolicyDocument",
                "Invalid Policy: Invalid content-length-range: " + json.dumps(cond),
            ) from None
        if low < 0 or high < 0:
            raise S3Error(
                "InvalidPolicyDocument",
                "Invalid Policy: Invalid content-length-range: " + json.dumps(cond),
            )
        if size > high:
            raise S3Error("EntityTooLarge", ProposedSize=str(size), MaxSizeAllowed=str(high))
        if size < low:
            raise S3Error("EntityTooSmall", ProposedSize=str(size), MinSizeAllowed=str(low))
        return set()
    if (
        op not in ("eq", "starts-with")
        or not isinstance(cond[1], str)
        or not cond[1].startswith("$")
    ):
        raise S3Error(
            "InvalidPolicyDocument",
            "Invalid Policy: Invalid Condition: " + json.dumps(cond),
        )
    field = cond[1][1:].lower()
    have = values.get(field)
    want = str(cond[2])
    if have is None:
        raise _failed(cond)
    if op == "eq" and have != want:
        raise _failed(cond)
    if op == "starts-with":
        # Content-Type may list several values, each must start with the prefix
        items = have.split(",") if field == "content-type" else [have]
        if not all(i.strip().startswith(want) for i in items):
            raise _failed(cond)
    return {field}
