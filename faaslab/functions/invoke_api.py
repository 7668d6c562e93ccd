"""The Lambda Invoke API (wire layer): `POST /2015-03-31/functions/{name}/invocations`.

Parses the AWS request (headers, qualifier, payload limits), calls the manager, and
serialises the result. `error_response` is the one place a LambdaError becomes HTTP.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from urllib.parse import parse_qs, unquote

from faaslab.functions.errors import (
    InvalidParameterValue,
    InvalidRequestContent,
    LambdaError,
    RequestTooLarge,
    ResourceNotFound,
)
from faaslab.functions.manager import Manager
from faaslab.functions.model import (
    ASYNC_PAYLOAD_LIMIT,
    LATEST,
    SYNC_PAYLOAD_LIMIT,
    InvocationType,
    InvokeRequest,
    InvokeResult,
    request_id,
)
from faaslab.http.server import Deferred, Request, Response

FUNCTIONS_PREFIX = "/2015-03-31/functions/"
INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")


def error_response(e: LambdaError, request_id: str = "") -> Response:
    return Response.json(
        e.body(),
        e.status,
        {"x-amzn-ErrorType": e.error_type, "x-amzn-RequestId": request_id or str(uuid.uuid4())},
    )


def parse_invoke(req: Request, name: str) -> tuple[str, InvocationType, InvokeRequest, bool]:
    """Validate an Invoke request the way Lambda does, before anything runs."""
    function = unquote(name)
    qualifier = parse_qs(req.query).get("Qualifier", [None])[0] if req.query else None
    if ":function:" in function and not function.startswith("arn:"):
        # AWS's partial ARN: 123456789012:function:NAME[:QUALIFIER]
        function = "arn:aws:lambda:us-east-1:" + function
    if ":" in function and not function.startswith("arn:"):
        function, _, qualifier = function.partition(":")
    elif function.startswith("arn:"):
        parts = function.split(":")
        if len(parts) < 7 or parts[5] != "function":
            raise ResourceNotFound(f"Function not found: {function}")
        qualifier = parts[7] if len(parts) > 7 else qualifier
        function = parts[6]
    if qualifier not in (None, "$LATEST"):  # a version or an alias: the manager resolves it
        function = f"{function}:{qualifier}"
    raw_type = req.headers.get("x-amz-invocation-type", "RequestResponse")
    try:
        itype = InvocationType(raw_type)
    except ValueError:
        raise InvalidParameterValue(
            f"1 validation error detected: Value '{raw_type}' at 'invocationType' "
            "failed to satisfy "
            "constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
        ) from None
    payload = req.body or b"{}"
    _check_size(itype, len(payload))
    try:
        json.loads(payload)
    except (ValueError, RecursionError) as e:  # (not UTF-8; nested past the parser's depth)
        raise InvalidRequestContent(f"Could not parse request body into json: {e}") from None
    client_context = req.headers.get("x-amz-client-context")
    if client_context:
        try:
            client_context = base64.b64decode(client_context, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidRequestContent(
                "Client context must be a valid Base64-encoded JSON object."
            ) from None
    want_tail = req.headers.get("x-amz-log-type", "None") == "Tail"
    invoke = InvokeRequest(function, payload, request_id(), client_context or None)
    return function, itype, invoke, want_tail


def _check_size(itype: InvocationType, size: int) -> None:
    """Lambda's payload limits, with AWS's own messages."""
    if itype is InvocationType.EVENT:
        if size > ASYNC_PAYLOAD_LIMIT:
            raise RequestTooLarge(
                f"{size} byte payload is too large for the Event invocation type "
                f"(limit {ASYNC_PAYLOAD_LIMIT} bytes)"
            )
    elif size > SYNC_PAYLOAD_LIMIT:
        raise RequestTooLarge(
            f"Request must be smaller than {SYNC_PAYLOAD_LIMIT} bytes for the InvokeFunction "
            "operation"
        )


def oversized(headers: dict[str, str]) -> Response | None:
    """Lambda's 413 for an Invoke whose Content-Length is over its limit, given at the
    headers: the edge answers it without reading (nor buffering) the body."""
    length = headers.get("content-length", "")
    if not length.isdigit() or int(length) <= ASYNC_PAYLOAD_LIMIT:
        return None  # (the usual small payload: under both limits)
    try:
        itype = InvocationType(headers.get("x-amz-invocation-type", "RequestResponse"))
        _check_size(itype, int(length))
    except ValueError:
        return None  # a bad invocation type: parse_invoke answers it, with the body
    except RequestTooLarge as e:
        return error_response(e)
    return None


class InvokeApi:
    def __init__(self, manager: Manager) -> None:
        self.manager = manager

    def invoke(self, req: Request, name: str) -> Response | Deferred:
        """Validate, then hand the invoke to the manager; the answer is written the moment
        the runtime posts its result (see Deferred)."""
        try:
            function, itype, invoke, want_tail = parse_invoke(req, name)
            if itype is InvocationType.DRY_RUN:
                self.manager.pool(function)
                return Response(204, b"", {"x-amzn-RequestId": invoke.request_id})
            if itype is InvocationType.EVENT:
                self.manager.submit_event(function, invoke)
                return Response(202, b"", {"x-amzn-RequestId": invoke.request_id})
            deferred = Deferred()
            # (a qualifier names a version or an alias: the answer says which version ran)
            version = self.manager.pool(function).fn.version if ":" in function else LATEST
            self.manager.start_invoke(
                function,
                invoke,
                want_tail,
                lambda outcome: deferred.resolve(_answer(outcome, want_tail, version)),
            )
            return deferred
        except LambdaError as e:
            return error_response(e)


def _answer(
    outcome: InvokeResult | LambdaError, want_tail: bool, version: str = "$LATEST"
) -> Response:
    if isinstance(outcome, LambdaError):
        return error_response(outcome)
    headers = {
        "Content-Type": "application/json",
        "X-Amz-Executed-Version": version,
        "x-amzn-RequestId": outcome.request_id,
    }
    if outcome.function_error:
        headers["X-Amz-Function-Error"] = outcome.function_error
    if want_tail:
        headers["X-Amz-Log-Result"] = base64.b64encode(outcome.log_tail).decode()
    return Response(200, outcome.payload, headers)
