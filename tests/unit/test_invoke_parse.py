"""The Invoke API's request validation (`parse_invoke`) and error serialisation."""

from __future__ import annotations

import base64
import json
import uuid
from urllib.parse import quote

import pytest

from faaslab.functions.errors import (
    InvalidParameterValue,
    InvalidRequestContent,
    LambdaError,
    RequestTooLarge,
    ResourceNotFound,
    ServiceError,
    TooManyRequests,
)
from faaslab.functions.invoke_api import error_response, oversized, parse_invoke
from faaslab.functions.model import (
    ASYNC_PAYLOAD_LIMIT,
    SYNC_PAYLOAD_LIMIT,
    InvocationType,
)
from faaslab.http.server import Request

ARN = "arn:aws:lambda:us-east-1:123456789012:function:hello"


def req(
    body: bytes = b'{"a": 1}', query: str = "", headers: dict[str, str] | None = None
) -> Request:
    return Request(
        "POST",
        "/2015-03-31/functions/hello/invocations",
        query,
        {k.lower(): v for k, v in (headers or {}).items()},
        body,
        ("127.0.0.1", 50000),
    )


def test_defaults_to_request_response() -> None:
    function, itype, invoke, want_tail = parse_invoke(req(), "hello")
    assert function == "hello"
    assert itype is InvocationType.REQUEST_RESPONSE
    assert want_tail is False
    assert invoke.function == "hello"
    assert invoke.payload == b'{"a": 1}'
    assert invoke.client_context is None
    assert str(uuid.UUID(invoke.request_id)) == invoke.request_id


def test_each_parse_gets_a_fresh_request_id() -> None:
    ids = {parse_invoke(req(), "hello")[2].request_id for _ in range(5)}
    assert len(ids) == 5


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("RequestResponse", InvocationType.REQUEST_RESPONSE),
        ("Event", InvocationType.EVENT),
        ("DryRun", InvocationType.DRY_RUN),
    ],
)
def test_invocation_types(header: str, expected: InvocationType) -> None:
    _, itype, _, _ = parse_invoke(req(headers={"X-Amz-Invocation-Type": header}), "hello")
    assert itype is expected


@pytest.mark.parametrize("bad", ["event", "Async", "", "RequestResponse "])
def test_bad_invocation_type(bad: str) -> None:
    with pytest.raises(InvalidParameterValue) as info:
        parse_invoke(req(headers={"X-Amz-Invocation-Type": bad}), "hello")
    assert f"'{bad}'" in str(info.value)
    assert "invocationType" in str(info.value)
    assert info.value.status == 400


def test_empty_body_is_empty_object() -> None:
    _, _, invoke, _ = parse_invoke(req(body=b""), "hello")
    assert invoke.payload == b"{}"


@pytest.mark.parametrize("body", [b'"just a string"', b"42", b"null", b"[1, 2]", b"true"])
def test_any_json_value_is_a_valid_payload(body: bytes) -> None:
    assert parse_invoke(req(body=body), "hello")[2].payload == body


@pytest.mark.parametrize("body", [b"{not json", b"{'a': 1}", b"\xff\xfe\x00", b"{} trailing"])
def test_invalid_json(body: bytes) -> None:
    with pytest.raises(InvalidRequestContent) as info:
        parse_invoke(req(body=body), "hello")
    assert "Could not parse request body into json" in str(info.value)
    assert info.value.status == 400


def _json_of_size(n: int) -> bytes:
    body = b'"' + b"x" * (n - 2) + b'"'
    assert len(body) == n
    return body


def test_sync_limit_is_6_mb() -> None:
    assert SYNC_PAYLOAD_LIMIT == 6 * 1024 * 1024
    ok = _json_of_size(SYNC_PAYLOAD_LIMIT)
    assert parse_invoke(req(body=ok), "hello")[2].payload == ok
    with pytest.raises(RequestTooLarge) as info:
        parse_invoke(req(body=_json_of_size(SYNC_PAYLOAD_LIMIT + 1)), "hello")
    # AWS's own text and type (not the service model's RequestTooLargeException)
    assert str(info.value) == (
        "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    )
    assert info.value.status == 413
    assert info.value.error_type == "RequestEntityTooLargeException"


def test_event_limit_is_1_mb() -> None:
    event = {"X-Amz-Invocation-Type": "Event"}
    ok = _json_of_size(ASYNC_PAYLOAD_LIMIT)
    assert parse_invoke(req(body=ok, headers=event), "hello")[1] is InvocationType.EVENT
    with pytest.raises(RequestTooLarge) as info:
        parse_invoke(req(body=_json_of_size(ASYNC_PAYLOAD_LIMIT + 1), headers=event), "hello")
    assert str(info.value) == (
        f"{ASYNC_PAYLOAD_LIMIT + 1} byte payload is too large for the Event invocation type "
        f"(limit {ASYNC_PAYLOAD_LIMIT} bytes)"
    )


def test_payload_between_limits_is_fine_sync_but_too_large_for_event() -> None:
    body = _json_of_size(2 * 1024 * 1024)
    parse_invoke(req(body=body), "hello")
    with pytest.raises(RequestTooLarge):
        parse_invoke(req(body=body, headers={"X-Amz-Invocation-Type": "Event"}), "hello")


def test_size_checked_before_json() -> None:
    """An oversized body is refused for its size, without parsing it as JSON first."""
    with pytest.raises(RequestTooLarge):
        parse_invoke(req(body=b"{" * (SYNC_PAYLOAD_LIMIT + 1)), "hello")


def test_qualifier_latest_is_accepted() -> None:
    function, *_ = parse_invoke(req(query="Qualifier=%24LATEST"), "hello")
    assert function == "hello"
    function, *_ = parse_invoke(req(query="Qualifier=$LATEST"), "hello")
    assert function == "hello"


@pytest.mark.parametrize(("qualifier", "named"), [("1", "1"), ("prod", "prod"), ("%24V2", "$V2")])
def test_other_qualifiers_go_to_the_manager(qualifier: str, named: str) -> None:
    """A version or an alias: the manager resolves it (or answers 404 with its ARN)."""
    function, *_ = parse_invoke(req(query=f"Qualifier={qualifier}"), "hello")
    assert function == f"hello:{named}"


def test_name_with_latest_suffix() -> None:
    function, _, invoke, _ = parse_invoke(req(), "hello:$LATEST")
    assert function == "hello"
    assert invoke.function == "hello"
    function, *_ = parse_invoke(req(), quote("hello:$LATEST", safe=""))
    assert function == "hello"


def test_name_and_arn_qualifiers_go_to_the_manager() -> None:
    function, *_ = parse_invoke(req(), "hello:prod")
    assert function == "hello:prod"
    function, *_ = parse_invoke(req(), ARN + ":7")
    assert function == "hello:7"


def test_arn_forms_are_recognised() -> None:
    """Whatever parse_invoke returns for an ARN, it drops the qualifier and keeps the name."""
    for name in (ARN, ARN + ":$LATEST", quote(ARN, safe=""), quote(ARN + ":$LATEST", safe="")):
        function, _, invoke, _ = parse_invoke(req(), name)
        assert function.rsplit(":", 1)[-1] == "hello", name
        assert "$LATEST" not in function
        assert invoke.function == function


BUG_ARN = (
    "parse_invoke returns the full ARN instead of the function name "
    "(invoke_api.py: the `arn:` branch only strips the qualifier)"
)


@pytest.mark.parametrize(
    "name",
    [
        ARN,
        ARN + ":$LATEST",
        quote(ARN, safe=""),
        quote(ARN + ":$LATEST", safe=""),
    ],
)
def test_full_arn_resolves_to_function_name(name: str) -> None:
    function, _, invoke, _ = parse_invoke(req(), name)
    assert function == "hello"
    assert invoke.function == "hello"


def test_url_encoded_name_is_decoded() -> None:
    function, *_ = parse_invoke(req(), "hello%2Dworld")
    assert function == "hello-world"


def test_client_context_is_base64_decoded() -> None:
    ctx = {"custom": {"k": "v"}, "env": {"a": "b"}}
    encoded = base64.b64encode(json.dumps(ctx).encode()).decode()
    _, _, invoke, _ = parse_invoke(req(headers={"X-Amz-Client-Context": encoded}), "hello")
    assert invoke.client_context is not None
    assert json.loads(invoke.client_context) == ctx


@pytest.mark.parametrize(
    "bad", ["not base64!", "abc", "////=", base64.b64encode(b"\xff\xfe").decode()]
)
def test_invalid_client_context(bad: str) -> None:
    with pytest.raises(InvalidRequestContent) as info:
        parse_invoke(req(headers={"X-Amz-Client-Context": bad}), "hello")
    assert "Client context" in str(info.value)


def test_empty_client_context_is_none() -> None:
    _, _, invoke, _ = parse_invoke(req(headers={"X-Amz-Client-Context": ""}), "hello")
    assert invoke.client_context is None


@pytest.mark.parametrize(("value", "tail"), [("Tail", True), ("None", False), ("tail", False)])
def test_log_type(value: str, tail: bool) -> None:
    assert parse_invoke(req(headers={"X-Amz-Log-Type": value}), "hello")[3] is tail


# -- oversized: the same limits, from the headers, before the body is read


@pytest.mark.parametrize(
    ("length", "itype", "refused"),
    [
        ("9437184", None, True),
        (str(SYNC_PAYLOAD_LIMIT + 1), "RequestResponse", True),
        (str(SYNC_PAYLOAD_LIMIT), None, False),
        (str(ASYNC_PAYLOAD_LIMIT + 1), "Event", True),
        (str(ASYNC_PAYLOAD_LIMIT + 1), "DryRun", False),
        ("9437184", "Bogus", False),  # parse_invoke answers the bad type
        ("12", None, False),
        ("", None, False),
    ],
)
def test_oversized_from_content_length(length: str, itype: str | None, refused: bool) -> None:
    headers = {"content-length": length}
    if itype is not None:
        headers["x-amz-invocation-type"] = itype
    resp = oversized(headers)
    assert (resp is not None) == refused
    if resp is not None:
        assert resp.status == 413
        assert resp.headers["x-amzn-ErrorType"] == "RequestEntityTooLargeException"


# -- error_response


@pytest.mark.parametrize(
    ("error", "status", "etype"),
    [
        (ResourceNotFound("Function not found: x"), 404, "ResourceNotFoundException"),
        (InvalidRequestContent("bad json"), 400, "InvalidRequestContentException"),
        (InvalidParameterValue("bad type"), 400, "InvalidParameterValueException"),
        (RequestTooLarge("too big"), 413, "RequestEntityTooLargeException"),
        (ServiceError("oops"), 500, "ServiceException"),
    ],
)
def test_error_response(error: LambdaError, status: int, etype: str) -> None:
    resp = error_response(error, "req-1")
    assert resp.status == status
    assert resp.headers["x-amzn-ErrorType"] == etype
    assert resp.headers["x-amzn-RequestId"] == "req-1"
    assert resp.headers["Content-Type"] == "application/json"
    expected_type = "User" if status < 500 else "Service"
    assert json.loads(resp.body) == {"Type": expected_type, "message": str(error)}


def test_error_response_invents_a_request_id() -> None:
    resp = error_response(ResourceNotFound("x"))
    rid = resp.headers["x-amzn-RequestId"]
    assert str(uuid.UUID(rid)) == rid


def test_too_many_requests_body() -> None:
    resp = error_response(TooManyRequests("ReservedFunctionConcurrentInvocationLimitExceeded"))
    assert resp.status == 429
    assert resp.headers["x-amzn-ErrorType"] == "TooManyRequestsException"
    assert json.loads(resp.body) == {
        "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
        "Type": "User",
        "message": "Rate Exceeded.",
    }


@pytest.mark.parametrize(
    "name", ["123456789012:function:hello", "123456789012:function:hello:$LATEST"]
)
def test_partial_arn_resolves_to_function_name(name: str) -> None:
    function, *_ = parse_invoke(Request("POST", "/", "", {}, b"{}"), name)
    assert function == "hello"


def test_request_ids_are_distinct_version_4_uuids() -> None:
    import uuid

    from faaslab.functions.model import request_id

    ids = {request_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    for rid in list(ids)[:200]:
        parsed = uuid.UUID(rid)
        assert str(parsed) == rid
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
