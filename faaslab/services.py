"""Which AWS service a signed request is for, and the error for a service faaslab lacks.

The edge port serves AWS APIs and API-Gateway routes side by side. A SigV4-signed request
names its service in the credential scope (`Credential=AKID/20250101/us-east-1/dynamodb/
aws4_request`, in the Authorization header or the presigned `X-Amz-Credential` query
parameter); such a request is an SDK call and must never reach a function: `aws dynamodb
list-tables` is `POST /` and used to run the template's `POST /` route, 502, and be retried.
It gets that service's own protocol error instead (botocore's model gives the protocol), so
the CLI prints it and no SDK retries it (a 400 with a code that is not a throttling code).
`execute-api` is the signing name of API Gateway itself (IAM-authorised routes): those
requests are API routes.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, unquote

from botocore.model import ServiceModel

from faaslab.awsapi import models, wire_in, wire_out
from faaslab.awsapi.errors import ApiError
from faaslab.http.server import Request, Response

API_GATEWAY = "execute-api"
STATUS = 400  # a client error: botocore retries 5xx and throttling codes, not this

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/([^/,\s]+)/aws4_request")
_QUERY_SCOPE = re.compile(r"^[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request$")
JSON_PROTOCOLS = ("json", "rest-json", "smithy-rpc-v2-cbor")


def signed_service(req: Request) -> str | None:
    """The service named by the request's SigV4 credential scope, or None if unsigned."""
    m = _SCOPE.search(req.headers.get("authorization", ""))
    if m is not None:
        return m.group(1)
    if "X-Amz-Credential" in req.query:
        cred = parse_qs(req.query).get("X-Amz-Credential", [""])[0]
        m = _QUERY_SCOPE.match(unquote(cred))
        if m is not None:
            return m.group(1)
    return None


def _protocol(req: Request, model: ServiceModel | None) -> str:
    if model is not None:
        return models.protocol_of(model, req)
    # a service botocore does not know: guess from the request's shape
    if "x-amz-target" in req.headers:
        return "json"
    if req.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return "query"
    return "rest-json"


def _operation(req: Request, protocol: str, model: ServiceModel | None) -> str:
    if model is not None:
        found = wire_in.operation_name(model, protocol, req)
        if found:
            return found
    target = req.headers.get("x-amz-target")
    if target:
        return target.rsplit(".", 1)[-1]
    if protocol in ("query", "ec2"):
        params = parse_qs(req.query)
        if "Action" not in params and req.body:
            params = parse_qs(bytes(req.body).decode("utf-8", "replace"))
        if "Action" in params:
            return params["Action"][0]
    return f"{req.method} {req.path}"


def unknown_service(req: Request, service: str) -> Response:
    """The service's own protocol error for a request faaslab cannot serve."""
    model = models.service_model(service)
    protocol = _protocol(req, model)
    operation = _operation(req, protocol, model)
    message = f"faaslab does not implement the {service} API ({operation})"
    code = "UnknownOperationException" if protocol in JSON_PROTOCOLS else "InvalidAction"
    return wire_out.error(model, protocol, ApiError(code, message, STATUS), str(uuid.uuid4()))
