"""The binary runtime link: frames, and the runtime's client speaking it over a socketpair."""

from __future__ import annotations

import socket

from faaslab.functions import runtime_link as link
from faaslab.functions import runtime_protocol as rp
from faaslab.functions.bootstrap import LinkClient

API = "/2018-06-01/runtime"


def read_frame(sock: socket.socket) -> bytes:
    head = sock.recv(4, socket.MSG_WAITALL)
    n = int.from_bytes(head, "big")
    return sock.recv(n, socket.MSG_WAITALL)


def test_fields_and_payload_survive_any_bytes() -> None:
    fields = [b"", b"a\x00b", "é".encode(), b"x" * 70_000]
    payload = b'{"k": "\\u0000"}\x00 trailing'
    data = link.frame(b"R", fields, payload)
    body = data[4:]
    assert int.from_bytes(data[:4], "big") == len(body) and body[:1] == b"R"
    assert link.split(body, len(fields)) == (fields, payload)


def test_runtime_receives_an_invocation_with_its_headers() -> None:
    ours, theirs = socket.socketpair()
    client = LinkClient(theirs.detach())
    event = rp.Event(
        "rid-1",
        123,
        "arn:aws:lambda:us-east-1:1:function:f",
        "Root=1-2-3",
        None,
        None,
        b'{"name": "Fred"}',
    )
    ours.sendall(link.event_frame(event))
    status, headers, body = client.receive()
    assert status == 200 and body == b'{"name": "Fred"}'
    assert headers == {
        "lambda-runtime-aws-request-id": "rid-1",
        "lambda-runtime-deadline-ms": "123",
        "lambda-runtime-invoked-function-arn": "arn:aws:lambda:us-east-1:1:function:f",
        "lambda-runtime-trace-id": "Root=1-2-3",
    }
    ours.close()
    client.close()


def test_result_and_next_travel_as_one_frame_and_the_ack_is_local() -> None:
    ours, theirs = socket.socketpair()
    client = LinkClient(theirs.detach())
    client.send("GET", f"{API}/invocation/next")
    assert read_frame(ours) == b"N"
    client.send(
        "POST",
        f"{API}/invocation/rid-1/response",
        b'"ok"',
        {"Faaslab-Max-Rss-Kb": "2048"},
        more=True,
    )
    client.send("GET", f"{API}/invocation/next")
    body = read_frame(ours)
    assert body[:1] == b"R" and link.split(body, 2) == ([b"rid-1", b"2048"], b'"ok"')
    assert client.receive() == (202, {}, b"")  # answered without a round trip
    client.send(
        "POST",
        f"{API}/invocation/rid-2/error",
        b"{}",
        {"Lambda-Runtime-Function-Error-Type": "Runtime.MarshalError"},
        more=True,
    )
    client.send("GET", f"{API}/invocation/next")
    body = read_frame(ours)
    assert body[:1] == b"E"
    assert link.split(body, 3) == ([b"rid-2", b"", b"Runtime.MarshalError"], b"{}")
    ours.close()
    client.close()


def test_init_error_waits_for_the_control_planes_acknowledgement() -> None:
    ours, theirs = socket.socketpair()
    client = LinkClient(theirs.detach())
    client.send(
        "POST",
        f"{API}/init/error",
        b'{"errorType": "Runtime.ImportModuleError"}',
        {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"},
    )
    body = read_frame(ours)
    assert body[:1] == b"I"
    assert link.split(body, 1)[0] == [b"Runtime.ImportModuleError"]
    ours.settimeout(0)
    ours.sendall(link.frame(b"A", []))
    assert client.receive() == (202, {}, b"")  # only now: the runtime may exit
    ours.close()
    client.close()
