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

import functools
import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qs, unquote
from xml.sax.saxutils import escape

from botocore.exceptions import DataNotFoundError
from botocore.loaders import Loader

from faaslab.http.server import Request, Response

API_GATEWAY = "execute-api"
STATUS = 400  # a client error: botocore retries 5xx and throttling codes, not this

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/([^/,\s]+)/aws4_request")
_QUERY_SCOPE = re.compile(r"^[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{0,62}$")  # a service name safe to look up on disk


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


@functools.lru_cache(maxsize=64)
def _model(service: str) -> dict[str, Any] | None:
    """botocore's model of `service` (a signing name: for all but a few services it is
    also the model's name), or None if botocore has none by that name."""
    if not _NAME.match(service):
        return None
    try:
        model: dict[str, Any] = Loader().load_service_model(service, "service-2")
    except DataNotFoundError:
        return None
    return model


def _rest_operation(model: dict[str, Any], req: Request) -> str | None:
    """The REST operation whose method, requestUri template and query markers (e.g.
    `/2018-10-31/layers?find=LayerVersion`) match the request; of several, the most
    specific (most markers, then most literal characters), as the service routes them."""
    query = parse_qs(req.query, keep_blank_values=True)
    best: tuple[int, int] | None = None
    found = None
    for name, op in model["operations"].items():
        http = op.get("http", {})
        if http.get("method") != req.method:
            continue
        template, _, markers = http.get("requestUri", "/").partition("?")
        wanted = [m.partition("=") for m in markers.split("&") if m]
        if any(k not in query or (v and query[k][0] != v) for k, _, v in wanted):
            continue
        pattern = re.sub(r"\\\{[^}]+\\\+\\\}", ".+", re.escape(template))
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
        if not re.fullmatch(pattern.rstrip("/") + "/?", req.path):
            continue
        score = (len(wanted), len(re.sub(r"\{[^}]+\}", "", template)))
        if best is None or score > best:
            best, found = score, str(name)
    return found


def _operation(req: Request, protocol: str, model: dict[str, Any] | None) -> str:
    target = req.headers.get("x-amz-target")
    if target:
        return target.rsplit(".", 1)[-1]
    if protocol in ("query", "ec2"):
        params = parse_qs(req.query)
        if "Action" not in params and req.body:
            params = parse_qs(bytes(req.body).decode("utf-8", "replace"))
        if "Action" in params:
            return params["Action"][0]
    if model is not None:
        found = _rest_operation(model, req)
        if found is not None:
            return found
    return f"{req.method} {req.path}"


def _protocol(req: Request, model: dict[str, Any] | None) -> str:
    if model is not None:
        return str(model["metadata"]["protocol"])
    # a service botocore does not know: guess from the request's shape
    if "x-amz-target" in req.headers:
        return "json"
    if req.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return "query"
    return "rest-json"


def unknown_service(req: Request, service: str) -> Response:
    """The service's own protocol error for a request faaslab cannot serve."""
    model = _model(service)
    protocol = _protocol(req, model)
    operation = _operation(req, protocol, model)
    message = f"faaslab does not implement the {service} API ({operation})"
    rid = str(uuid.uuid4())
    if protocol in ("json", "rest-json"):
        code = "UnknownOperationException"
        version = model["metadata"].get("jsonVersion", "1.0") if model else "1.0"
        ctype = f"application/x-amz-json-{version}" if protocol == "json" else "application/json"
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = {"Content-Type": ctype, "x-amzn-ErrorType": code, "x-amzn-RequestId": rid}
        return Response(STATUS, body, headers)
    code = "InvalidAction"
    error = f"<Code>{code}</Code><Message>{escape(message)}</Message>"
    if protocol == "ec2":
        xml = (
            f"<Response><Errors><Error>{error}</Error></Errors>"
            f"<RequestID>{rid}</RequestID></Response>"
        )
    else:  # query, rest-xml
        xml = (
            f"<ErrorResponse><Error><Type>Sender</Type>{error}</Error>"
            f"<RequestId>{rid}</RequestId></ErrorResponse>"
        )
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n{xml}'.encode()
    return Response(STATUS, body, {"Content-Type": "text/xml", "x-amzn-RequestId": rid})
