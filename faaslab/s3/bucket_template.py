"""An `AWS::S3::Bucket`'s template properties, applied at `up` through the S3 API itself.

CloudFormation's bucket properties are S3's bucket sub-resources with other names
(`CorsConfiguration.CorsRules[].AllowedOrigins` is PutBucketCors's
`CORSConfiguration.CORSRules[].AllowedOrigins`, `MaxAge` its `MaxAgeSeconds` …). Each
property below is mapped to the API call CloudFormation makes for it; the call is then
serialised by botocore (as boto3 would send it), signed with faaslab's local key and
handed to `S3Api.handle` — so a template gets exactly the API's validation, errors and
storage, and no second copy of any bucket rule lives here.

A property the API answers with an error stops `up` with S3's message, naming the
property. Properties without a mapping stay in `template_properties.py`'s table (warned
or refused there), never silently dropped.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ParamValidationError
from botocore.serialize import create_serializer

from faaslab.awsapi.models import service_model
from faaslab.http.server import Request, Response

Call = tuple[str, dict[str, Any]]  # (S3 operation, its parameters less Bucket)
Handler = Callable[[Request], Response | Awaitable[Response]]


class BucketPropertyError(Exception):
    """A template property S3 refused: `prop` names it, the message is S3's."""

    def __init__(self, prop: str, message: str) -> None:
        super().__init__(f"{prop}: {message}")
        self.prop = prop


def _rename(value: Any, names: dict[str, str]) -> Any:
    """CloudFormation's keys as the API names them, at every depth (lists included)."""
    if isinstance(value, dict):
        return {names.get(k, k): _rename(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename(v, names) for v in value]
    return value


def _cors(value: dict[str, Any]) -> Call:
    names = {
        "CorsRules": "CORSRules",
        "ExposedHeaders": "ExposeHeaders",
        "MaxAge": "MaxAgeSeconds",
        "Id": "ID",
    }
    return "PutBucketCors", {"CORSConfiguration": _rename(value, names)}


def _encryption(value: dict[str, Any]) -> Call:
    rules = [
        _rename(rule, {"ServerSideEncryptionByDefault": "ApplyServerSideEncryptionByDefault"})
        for rule in value.get("ServerSideEncryptionConfiguration", [])
    ]
    return "PutBucketEncryption", {"ServerSideEncryptionConfiguration": {"Rules": rules}}


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """One CloudFormation lifecycle rule as the API's LifecycleRule."""
    out: dict[str, Any] = {"Status": rule.get("Status")}
    if "Id" in rule:
        out["ID"] = rule["Id"]
    conditions: list[dict[str, Any]] = []
    if "Prefix" in rule:
        conditions.append({"Prefix": rule["Prefix"]})
    conditions += [{"Tag": tag} for tag in rule.get("TagFilters", [])]
    for cfn, api in (("ObjectSizeGreaterThan", "ObjectSizeGreaterThan"),
                     ("ObjectSizeLessThan", "ObjectSizeLessThan")):  # fmt: skip
        if cfn in rule:
            conditions.append({api: int(rule[cfn])})
    if len(conditions) > 1:
        merged: dict[str, Any] = {"Tags": []}
        for c in conditions:
            if "Tag" in c:
                merged["Tags"].append(c["Tag"])
            else:
                merged.update(c)
        out["Filter"] = {"And": {k: v for k, v in merged.items() if v != []}}
    else:
        out["Filter"] = conditions[0] if conditions else {"Prefix": ""}
    expiration: dict[str, Any] = {}
    if "ExpirationInDays" in rule:
        expiration["Days"] = int(rule["ExpirationInDays"])
    if "ExpirationDate" in rule:
        expiration["Date"] = rule["ExpirationDate"]
    if "ExpiredObjectDeleteMarker" in rule:
        expiration["ExpiredObjectDeleteMarker"] = rule["ExpiredObjectDeleteMarker"]
    if expiration:
        out["Expiration"] = expiration
    noncurrent = dict(rule.get("NoncurrentVersionExpiration") or {})
    if "NoncurrentVersionExpirationInDays" in rule:
        noncurrent["NoncurrentDays"] = int(rule["NoncurrentVersionExpirationInDays"])
    if noncurrent:
        out["NoncurrentVersionExpiration"] = noncurrent
    if "AbortIncompleteMultipartUpload" in rule:
        out["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
    transitions = list(rule.get("Transitions", []))
    if "Transition" in rule:
        transitions.append(rule["Transition"])
    if transitions:
        out["Transitions"] = [
            _rename(t, {"TransitionInDays": "Days", "TransitionDate": "Date"}) for t in transitions
        ]
    noncurrent_transitions = list(rule.get("NoncurrentVersionTransitions", []))
    if "NoncurrentVersionTransition" in rule:
        noncurrent_transitions.append(rule["NoncurrentVersionTransition"])
    if noncurrent_transitions:
        out["NoncurrentVersionTransitions"] = [
            _rename(t, {"TransitionInDays": "NoncurrentDays"}) for t in noncurrent_transitions
        ]
    return out


def _lifecycle(value: dict[str, Any]) -> Call:
    rules = [_lifecycle_rule(r) for r in value.get("Rules", [])]
    return "PutBucketLifecycleConfiguration", {"LifecycleConfiguration": {"Rules": rules}}


# CloudFormation's AccessControl values, as canned ACL headers
_CANNED_ACL = {
    "Private": "private",
    "PublicRead": "public-read",
    "PublicReadWrite": "public-read-write",
    "AuthenticatedRead": "authenticated-read",
    "LogDeliveryWrite": "log-delivery-write",
    "BucketOwnerRead": "bucket-owner-read",
    "BucketOwnerFullControl": "bucket-owner-full-control",
    "AwsExecRead": "aws-exec-read",
}

# property -> its API call, in the order CloudFormation needs them (versioning before
# the object lock configuration that requires it)
MAPPINGS: dict[str, Callable[[Any], Call]] = {
    "VersioningConfiguration": lambda v: (
        "PutBucketVersioning",
        {"VersioningConfiguration": {"Status": v.get("Status")}},
    ),
    "ObjectLockConfiguration": lambda v: (
        "PutObjectLockConfiguration",
        {"ObjectLockConfiguration": v},
    ),
    "Tags": lambda v: ("PutBucketTagging", {"Tagging": {"TagSet": v}}),
    "CorsConfiguration": _cors,
    "BucketEncryption": _encryption,
    "LifecycleConfiguration": _lifecycle,
    "PublicAccessBlockConfiguration": lambda v: (
        "PutPublicAccessBlock",
        {"PublicAccessBlockConfiguration": v},
    ),
    "OwnershipControls": lambda v: ("PutBucketOwnershipControls", {"OwnershipControls": v}),
    "AccessControl": lambda v: ("PutBucketAcl", {"ACL": _CANNED_ACL.get(v, v)}),
}


def calls(bucket: str, properties: dict[str, Any]) -> list[tuple[str, Call]]:
    """(property, API call) for the properties this module applies, in MAPPINGS' order."""
    return [
        (prop, (name, {"Bucket": bucket, **params}))
        for prop, mapping in MAPPINGS.items()
        if prop in properties
        for name, params in [mapping(properties[prop])]
    ]


def creation_call(bucket: str, properties: dict[str, Any]) -> Call:
    """CreateBucket as CloudFormation makes it (ObjectLockEnabled only at creation)."""
    params: dict[str, Any] = {"Bucket": bucket}
    if properties.get("ObjectLockEnabled") in (True, "true", "True"):
        params["ObjectLockEnabledForBucket"] = True
    return "CreateBucket", params


def signed_request(operation: str, params: dict[str, Any], keys: tuple[str, str], region: str
                   ) -> Request:  # fmt: skip
    """The request boto3 would send for `operation`, signed with `keys`."""
    op = service_model("s3").operation_model(operation)  # type: ignore[union-attr]
    serialized = create_serializer("rest-xml", include_validation=True).serialize_to_request(
        params, op
    )
    body: bytes = serialized["body"] or b""
    headers = dict(serialized["headers"])
    if body:  # (S3 asks for an integrity check on configuration bodies)
        headers["Content-MD5"] = base64.b64encode(hashlib.md5(body).digest()).decode()
    path, _, query = serialized["url_path"].partition("?")
    extra = urlencode(serialized["query_string"]) if serialized["query_string"] else ""
    query = "&".join(q for q in (query, extra) if q)
    url = f"http://127.0.0.1{path}" + (f"?{query}" if query else "")
    aws = AWSRequest(method=serialized["method"], url=url, data=body, headers=headers)
    aws.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    S3SigV4Auth(Credentials(*keys), "s3", region).add_auth(aws)
    lowered = {k.lower(): str(v) for k, v in aws.headers.items()}
    lowered["host"] = "127.0.0.1"
    return Request(serialized["method"], path, query, lowered, body)


async def apply(
    handle: Handler,
    bucket: str,
    properties: dict[str, Any],
    keys: tuple[str, str],
    region: str,
    implemented: frozenset[str],
) -> list[str]:
    """Make the bucket (if new) and apply those of its properties that are in
    `implemented` (the property table's say); the properties applied."""
    applied: list[str] = []
    chosen = {k: v for k, v in properties.items() if k in implemented}
    work = [("ObjectLockEnabled", creation_call(bucket, chosen))]
    work += calls(bucket, chosen)
    for prop, (operation, params) in work:
        try:
            req = signed_request(operation, params, keys, region)
        except ParamValidationError as e:
            raise BucketPropertyError(prop, str(e).replace("\n", " ")) from None
        answer = handle(req)
        resp = answer if isinstance(answer, Response) else await answer
        message = _message(bytes(resp.body)) if resp.status >= 300 else ""
        if operation == "CreateBucket" and message.startswith("BucketAlreadyOwnedByYou"):
            continue  # (made by an earlier `up`: CloudFormation's update keeps it)
        if resp.status >= 300:
            raise BucketPropertyError(prop, message or f"HTTP {resp.status}")
        if prop in chosen:
            applied.append(prop)
    return applied


def _message(body: bytes) -> str:
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return body.decode(errors="replace")[:200]
    code = root.findtext("Code") or ""
    message = root.findtext("Message") or ""
    return f"{code}: {message}" if code else message
