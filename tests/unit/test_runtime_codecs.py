"""The Runtime API's two codecs put the same protocol values on their wires: AWS's HTTP
paths, headers and status codes (runtime_api) and faaslab's frames (runtime_link) both
reach the same entry points with the same values."""

from __future__ import annotations

import json
from typing import Any

import pytest

from faaslab.functions import runtime_api
from faaslab.functions import runtime_link as link
from faaslab.functions import runtime_protocol as rp
from faaslab.http.server import Deferred, Request, Response

API = "/2018-06-01/runtime"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:hello"
EVENT = rp.Event(
    "rid-1",
    1_700_000_003_000,
    ARN,
    "Root=1-2-3",
    "eyJjIjoxfQ==",
    None,
    b'{"k": 1}',
)


class Recorder:
    """RuntimeCalls that records what reached it and answers as scripted."""

    def __init__(self, reply: rp.Reply = rp.ACCEPTED, event: rp.Event | None = None) -> None:
        self.said: list[rp.Said] = []
        self.reply = reply
        self.event = event
        self.waiters: list[rp.Waiter] = []

    def runtime_next(self, waiter: rp.Waiter) -> None:
        self.said.append(rp.NEXT)
        self.waiters.append(waiter)
        if self.event is not None:
            waiter.deliver(self.event)

    def runtime_result(self, said: rp.Result | rp.Error) -> rp.Reply:
        self.said.append(said)
        return self.reply

    def runtime_init_error(self, said: rp.InitError) -> rp.Reply:
        self.said.append(said)
        return rp.ACCEPTED


def http(calls: Recorder, method: str, path: str, body: bytes = b"", **headers: str) -> Any:
    handler = runtime_api.make_handler(calls)
    return handler(
        Request(method, path, "", {k.replace("_", "-"): v for k, v in headers.items()}, body)
    )


class Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


def linked(calls: Recorder) -> tuple[link.RuntimeLink, Transport]:
    conn = link.RuntimeLink(calls)
    transport = Transport()
    conn.connection_made(transport)  # type: ignore[arg-type]
    return conn, transport


SAID = [
    rp.Result("rid-1", b'"ok"', 2048),
    rp.Error("rid-2", "Runtime.MarshalError", b'{"errorType": "x"}', None),
]


@pytest.mark.parametrize("said", SAID)
def test_both_codecs_carry_a_result_as_the_same_value(said: rp.Result | rp.Error) -> None:
    over_http, over_link = Recorder(), Recorder()
    rss = {} if said.max_rss_kb is None else {"faaslab_max_rss_kb": str(said.max_rss_kb)}
    if isinstance(said, rp.Result):
        http(over_http, "POST", f"{API}/invocation/{said.request_id}/response", said.payload, **rss)
        frame = link.frame(b"R", [said.request_id.encode(), b"2048"], said.payload)
    else:
        http(
            over_http,
            "POST",
            f"{API}/invocation/{said.request_id}/error",
            said.payload,
            lambda_runtime_function_error_type=said.error_type,
        )
        frame = link.frame(
            b"E", [said.request_id.encode(), b"", said.error_type.encode()], said.payload
        )
    conn, _ = linked(over_link)
    conn.data_received(frame)
    assert over_http.said == [said]
    assert over_link.said == [said, rp.NEXT]  # on the link a result also asks for the next


def test_both_codecs_carry_an_init_error() -> None:
    body = rp.error_body("Runtime.ImportModuleError", "Unable to import module 'app'")
    over_http, over_link = Recorder(), Recorder()
    answer = http(
        over_http,
        "POST",
        f"{API}/init/error",
        body,
        lambda_runtime_function_error_type="Runtime.ImportModuleError",
    )
    assert answer.status == 202
    conn, transport = linked(over_link)
    conn.data_received(link.frame(b"I", [b"Runtime.ImportModuleError"], body))
    assert over_http.said == over_link.said == [rp.InitError("Runtime.ImportModuleError", body)]
    assert transport.written == [link.frame(b"A", [])]


def test_an_event_as_aws_headers_and_as_a_frame() -> None:
    over_http, over_link = Recorder(event=EVENT), Recorder(event=EVENT)
    answer = http(over_http, "GET", f"{API}/invocation/next")
    assert isinstance(answer, Deferred) and answer.response is not None
    resp = answer.response
    assert resp.status == 200 and resp.body == b'{"k": 1}'
    assert resp.headers == {
        "Lambda-Runtime-Aws-Request-Id": "rid-1",
        "Lambda-Runtime-Deadline-Ms": "1700000003000",
        "Lambda-Runtime-Invoked-Function-Arn": ARN,
        "Lambda-Runtime-Trace-Id": "Root=1-2-3",
        "Content-Type": "application/json",
        "Lambda-Runtime-Client-Context": "eyJjIjoxfQ==",
    }
    conn, transport = linked(over_link)
    conn.data_received(link.frame(b"N", []))
    (data,) = transport.written
    fields, payload = link.split(data[4:], len(link.EVENT_HEADERS))
    assert data[4:5] == b"V" and payload == b'{"k": 1}'
    assert dict(zip(link.EVENT_HEADERS, fields, strict=True)) == {
        name.lower(): value.encode()
        for name, value in resp.headers.items()
        if name != "Content-Type"
    } | {"lambda-runtime-cognito-identity": b""}


def test_a_parked_next_is_answered_later_and_not_after_its_connection_went() -> None:
    over_http, over_link = Recorder(), Recorder()
    answer = http(over_http, "GET", f"{API}/invocation/next")
    assert isinstance(answer, Deferred) and answer.response is None
    (waiter,) = over_http.waiters
    assert waiter.waiting
    waiter.deliver(EVENT)
    assert isinstance(answer.response, Response) and answer.response.status == 200
    assert not waiter.waiting  # answered: not a second time

    conn, transport = linked(over_link)
    conn.data_received(link.frame(b"N", []))
    (waiter,) = over_link.waiters
    assert waiter is conn and waiter.waiting and transport.written == []
    conn.connection_lost(None)
    assert not waiter.waiting


@pytest.mark.parametrize(
    ("reply", "status", "error_type"),
    [
        (rp.invalid_request_id("rid-9"), 400, "InvalidRequestID"),
        (rp.too_large(6291556), 413, "RequestEntityTooLarge"),
    ],
)
def test_refusals_are_aws_status_codes_and_error_bodies(
    reply: rp.Refused, status: int, error_type: str
) -> None:
    answer = http(Recorder(reply), "POST", f"{API}/invocation/rid-9/response", b"{}")
    assert answer.status == status
    assert json.loads(answer.body) == {"errorType": error_type, "errorMessage": reply.message}


def test_a_result_is_accepted_with_202() -> None:
    answer = http(Recorder(), "POST", f"{API}/invocation/rid-1/response", b"{}")
    assert (answer.status, answer.body) == (202, b'{"status":"OK"}')


@pytest.mark.parametrize(
    ("method", "path", "message"),
    [
        ("GET", "/2018-06-01/other", "unknown Runtime API path /2018-06-01/other"),
        ("POST", f"{API}/invocation/next", f"unknown Runtime API call POST {API}/invocation/next"),
        ("GET", f"{API}/invocation/rid-1/response", "unknown Runtime API call GET"),
    ],
)
def test_unknown_calls_are_404_invalid_request(method: str, path: str, message: str) -> None:
    calls = Recorder()
    answer = http(calls, method, path)
    assert answer.status == 404 and calls.said == []
    doc = json.loads(answer.body)
    assert doc["errorType"] == "InvalidRequest" and doc["errorMessage"].startswith(message)


def test_a_frame_of_an_unknown_kind_reaches_nothing() -> None:
    calls = Recorder()
    conn, transport = linked(calls)
    conn.data_received(link.frame(b"Z", []))
    assert calls.said == [] and transport.written == []
    conn.data_received(b"\0\0\0\0")  # not a frame faaslab's runtime sends: hang up
    assert transport.closed
