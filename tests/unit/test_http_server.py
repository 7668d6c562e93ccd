"""The HTTP/1.1 server, over real loopback sockets, with the server in-process.

Each test starts `serve()` on 127.0.0.1:0 in its own event loop (asyncio's and uvloop's,
as `faaslab up` uses uvloop), talks to it from a thread (`http.client` or a raw socket,
so pipelining and interim responses can be seen byte for byte) and, before the loop
closes, waits until the server has closed every connection.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import select
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
import uvloop

import faaslab.http.server as server_mod
from faaslab.http.server import (
    Deferred,
    Limits,
    Request,
    Response,
    Stream,
    encode_response,
    serve,
)

TIMEOUT = 5.0


# -- harness


class _TrackedProtocol(server_mod.HttpProtocol):
    """HttpProtocol that remembers its instances, so a test can wait for them to close."""

    live: list[server_mod.HttpProtocol] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        _TrackedProtocol.live.append(self)
        super().connection_made(transport)


@pytest.fixture(params=["asyncio", "uvloop"])
def run(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Any]]:
    """run(handler, client, max_body=...) -> what `await client(port)` returned."""
    monkeypatch.setattr(server_mod, "HttpProtocol", _TrackedProtocol)
    _TrackedProtocol.live = []
    factory = uvloop.new_event_loop if request.param == "uvloop" else None

    def _run(
        handler: Callable[[Request], Any],
        client: Callable[[int], Awaitable[Any]],
        **kw: Any,
    ) -> Any:
        async def main() -> Any:
            srv = await serve(handler, "127.0.0.1", 0, **kw)
            port = srv.sockets[0].getsockname()[1]
            try:
                return await client(port)
            finally:
                srv.close()
                await srv.wait_closed()
                await _all_closed()

        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(main())

    yield _run


async def _all_closed() -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while any(not p._closed for p in _TrackedProtocol.live):
        assert loop.time() < deadline, "the server kept a connection open"
        await asyncio.sleep(0.002)


def threaded(fn: Callable[[int], Any]) -> Callable[[int], Awaitable[Any]]:
    """A blocking client function, run off the event loop."""
    return lambda port: asyncio.to_thread(fn, port)


class Conn:
    """A raw client connection that reads HTTP/1.1 responses one by one."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.f = self.sock.makefile("rb")

    def __enter__(self) -> Conn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.f.close()
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_head(self) -> tuple[int, dict[str, str]]:
        status_line = self.f.readline()
        assert status_line.startswith(b"HTTP/1.1 "), status_line
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := self.f.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers

    def read_response(self, head: bool = False) -> tuple[int, dict[str, str], bytes]:
        status, headers = self.read_head()
        body = b"" if head else self.f.read(int(headers["content-length"]))
        return status, headers, body

    def at_eof(self) -> bool:
        """True when the server closed the connection (blocks until it does, or timeout)."""
        try:
            return self.f.read(1) == b""
        except ConnectionResetError:
            return True


def get(path: str = "/", extra: str = "", method: str = "GET", body: bytes = b"") -> bytes:
    length = f"Content-Length: {len(body)}\r\n" if body else ""
    return f"{method} {path} HTTP/1.1\r\nHost: t\r\n{length}{extra}\r\n".encode() + body


def echo(req: Request) -> Response:
    return Response.json(
        {
            "method": req.method,
            "path": req.path,
            "query": req.query,
            "headers": req.headers,
            "body": req.body.decode("latin-1"),
            "peer": list(req.peer) if req.peer else None,
        }
    )


# -- basics


def test_request_fields(run: Callable[..., Any]) -> None:
    def client(port: int) -> tuple[int, dict[str, Any], int]:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        try:
            c.request("POST", "/a/b%20c?x=1&y=2", body=b"hello", headers={"X-Mixed-Case": "Val"})
            r = c.getresponse()
            own_port = c.sock.getsockname()[1]
            return r.status, json.loads(r.read()), own_port
        finally:
            c.close()

    status, seen, own_port = run(echo, threaded(client))
    assert status == 200
    assert seen["method"] == "POST"
    assert seen["path"] == "/a/b%20c"  # still percent-encoded
    assert seen["query"] == "x=1&y=2"
    assert seen["headers"]["x-mixed-case"] == "Val"  # names lower case
    assert seen["headers"]["content-length"] == "5"
    assert seen["body"] == "hello"
    assert seen["peer"] == ["127.0.0.1", own_port]


def test_keep_alive_two_requests_on_one_connection(run: Callable[..., Any]) -> None:
    peers: list[tuple[str, int] | None] = []

    def handler(req: Request) -> Response:
        peers.append(req.peer)
        return Response(200, req.path.encode(), {"Content-Type": "text/plain"})

    def client(port: int) -> list[tuple[int, bytes, str | None]]:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        out = []
        try:
            for path in ("/first", "/second"):
                c.request("GET", path)
                r = c.getresponse()
                out.append((r.status, r.read(), r.getheader("Connection")))
        finally:
            c.close()
        return out

    out = run(handler, threaded(client))
    assert out == [(200, b"/first", None), (200, b"/second", None)]
    assert len(peers) == 2 and peers[0] == peers[1]  # the same client socket


def test_response_headers_and_date(run: Callable[..., Any]) -> None:
    def client(port: int) -> tuple[int, dict[str, str], bytes]:
        with Conn(port) as c:
            c.send(get())
            return c.read_response()

    status, headers, body = run(
        lambda r: Response(201, b"made", {"X-Custom": "1"}), threaded(client)
    )
    assert status == 201
    assert body == b"made"
    assert headers["x-custom"] == "1"
    assert headers["content-length"] == "4"
    assert headers["date"].endswith(" GMT")
    assert "connection" not in headers


def test_connection_close_is_honoured(run: Callable[..., Any]) -> None:
    def client(port: int) -> tuple[int, dict[str, str], bytes, bool]:
        with Conn(port) as c:
            c.send(get("/", "Connection: close\r\n"))
            status, headers, body = c.read_response()
            return status, headers, body, c.at_eof()

    status, headers, body, eof = run(lambda r: Response(200, b"bye"), threaded(client))
    assert (status, body) == (200, b"bye")
    assert headers["connection"].lower() == "close"
    assert eof


def test_http10_without_keep_alive_is_closed(run: Callable[..., Any]) -> None:
    def client(port: int) -> tuple[bytes, bytes]:
        with Conn(port) as c:
            c.send(b"GET / HTTP/1.0\r\n\r\n")
            status_line = c.f.readline()
            while c.f.readline() not in (b"\r\n", b""):
                pass
            body = c.f.read()  # to EOF
            return status_line, body

    status_line, body = run(lambda r: Response(200, b"old"), threaded(client))
    assert status_line.startswith(b"HTTP/1.1 200")
    assert body == b"old"


def test_head_has_content_length_but_no_body(run: Callable[..., Any]) -> None:
    def client(port: int) -> tuple[Any, ...]:
        with Conn(port) as c:
            c.send(get("/", method="HEAD"))
            head = c.read_response(head=True)
            # If the body had been sent, it would be read here instead of the next status.
            c.send(get("/next"))
            nxt = c.read_response()
            return head, nxt

    def handler(req: Request) -> Response:
        return Response(200, b"0123456789" if req.method == "HEAD" else b"next")

    (status, headers, _), nxt = run(handler, threaded(client))
    assert status == 200
    assert headers["content-length"] == "10"
    assert nxt[0] == 200 and nxt[2] == b"next"


def test_encode_response_head() -> None:
    resp = Response(200, b"abc", {"A": "b"})
    full = encode_response(resp, keep_alive=True)
    head = encode_response(resp, keep_alive=True, head=True)
    assert full == head + b"abc"
    assert head.startswith(b"HTTP/1.1 200 OK\r\nA: b\r\nContent-Length: 3\r\n")
    assert head.endswith(b"\r\n\r\n")
    assert b"Connection: close" in encode_response(resp, keep_alive=False)
    assert encode_response(Response(599), True).startswith(b"HTTP/1.1 599 Unknown\r\n")


# -- handlers that answer later


def test_coroutine_handler(run: Callable[..., Any]) -> None:
    async def handler(req: Request) -> Response:
        await asyncio.sleep(0.01)
        return Response(200, b"async " + req.path.encode())

    def client(port: int) -> list[tuple[int, dict[str, str], bytes]]:
        with Conn(port) as c:
            out = []
            for path in ("/1", "/2"):
                c.send(get(path))
                out.append(c.read_response())
            return out

    out = run(handler, threaded(client))
    assert [(s, b) for s, _, b in out] == [(200, b"async /1"), (200, b"async /2")]


def test_coroutine_handler_raising_is_500(run: Callable[..., Any]) -> None:
    async def handler(req: Request) -> Response:
        await asyncio.sleep(0)
        raise KeyError("gone")

    def client(port: int) -> tuple[int, dict[str, str], bytes]:
        with Conn(port) as c:
            c.send(get())
            return c.read_response()

    status, headers, body = run(handler, threaded(client))
    assert status == 500
    assert headers["x-amzn-errortype"] == "ServiceException"
    assert "KeyError" in json.loads(body)["message"]


def test_deferred_resolved_later(run: Callable[..., Any]) -> None:
    pending: list[Deferred] = []

    def handler(req: Request) -> Deferred:
        d = Deferred()
        pending.append(d)
        asyncio.get_running_loop().call_later(
            0.02, d.resolve, Response(202, b"later " + req.path.encode())
        )
        return d

    def client(port: int) -> list[tuple[int, bytes]]:
        with Conn(port) as c:
            out = []
            for path in ("/a", "/b"):  # the connection is reusable after a Deferred
                c.send(get(path))
                s, _, b = c.read_response()
                out.append((s, b))
            return out

    assert run(handler, threaded(client)) == [(202, b"later /a"), (202, b"later /b")]
    assert all(d.done and not d.cancelled for d in pending)


def test_deferred_resolved_before_return(run: Callable[..., Any]) -> None:
    def handler(req: Request) -> Deferred:
        d = Deferred()
        d.resolve(Response(200, b"already"))
        return d

    def client(port: int) -> list[tuple[int, bytes]]:
        with Conn(port) as c:
            out = []
            for _ in range(2):
                c.send(get())
                s, _, b = c.read_response()
                out.append((s, b))
            return out

    assert run(handler, threaded(client)) == [(200, b"already"), (200, b"already")]


def test_deferred_second_resolve_is_ignored(run: Callable[..., Any]) -> None:
    def handler(req: Request) -> Deferred:
        d = Deferred()
        loop = asyncio.get_running_loop()
        loop.call_later(0.01, d.resolve, Response(200, b"first"))
        loop.call_later(0.02, d.resolve, Response(200, b"second"))
        return d

    def client(port: int) -> tuple[int, bytes, bool]:
        with Conn(port) as c:
            c.send(get())
            s, _, b = c.read_response()
            c.sock.settimeout(0.1)  # nothing more may arrive
            try:
                extra = c.sock.recv(100)
            except TimeoutError:
                extra = b""
            return s, b, extra == b""

    assert run(handler, threaded(client)) == (200, b"first", True)


def test_client_disconnect_cancels_pending_deferred(run: Callable[..., Any]) -> None:
    deferreds: list[Deferred] = []
    cancels: list[str] = []

    def handler(req: Request) -> Deferred:
        d = Deferred()
        d.on_cancel = lambda: cancels.append(req.path)
        deferreds.append(d)
        return d

    async def client(port: int) -> None:
        loop = asyncio.get_running_loop()
        conn = await asyncio.to_thread(Conn, port)
        try:
            await asyncio.to_thread(conn.send, get("/waiting"))
            deadline = loop.time() + TIMEOUT
            while not deferreds:
                assert loop.time() < deadline
                await asyncio.sleep(0.002)
            assert not deferreds[0].cancelled
        finally:
            conn.close()
        while not deferreds[0].cancelled:
            assert loop.time() < deadline, "Deferred was not cancelled"
            await asyncio.sleep(0.002)
        deferreds[0].resolve(Response(200, b"too late"))  # must be a harmless no-op

    run(handler, client)
    d = deferreds[0]
    assert d.cancelled is True
    assert d.done
    assert d.response is None
    assert cancels == ["/waiting"]


def test_stream_writes_as_it_comes_and_hears_the_client_leave(run: Callable[..., Any]) -> None:
    """A Stream (the console's server-sent events): the head without a Content-Length,
    then whatever is written, until the client goes; `closed` is called once."""
    writers: list[Callable[[bytes], None]] = []
    closed: list[str] = []

    def handler(req: Request) -> Stream:
        return Stream(
            {"Content-Type": "text/event-stream"}, writers.append, lambda: closed.append(req.path)
        )

    async def client(port: int) -> tuple[int, dict[str, str], bytes]:
        loop = asyncio.get_running_loop()
        conn = await asyncio.to_thread(Conn, port)
        try:
            await asyncio.to_thread(conn.send, get("/events"))
            status, headers = await asyncio.to_thread(conn.read_head)
            deadline = loop.time() + TIMEOUT
            while not writers:
                assert loop.time() < deadline
                await asyncio.sleep(0.002)
            writers[0](b"event: a\ndata: 1\n\n")
            writers[0](b"event: b\ndata: 2\n\n")
            body = await asyncio.to_thread(conn.f.read, 36)
        finally:
            conn.close()
        while not closed:
            assert loop.time() < deadline, "closed() was not called"
            await asyncio.sleep(0.002)
        writers[0](b"late")  # after the client left: a harmless no-op
        return status, headers, body

    status, headers, body = run(handler, client)
    assert status == 200 and headers["content-type"] == "text/event-stream"
    assert "content-length" not in headers and headers["connection"] == "close"
    assert body == b"event: a\ndata: 1\n\nevent: b\ndata: 2\n\n"
    assert closed == ["/events"]


def test_deferred_cancel_is_idempotent_and_blocks_resolve() -> None:
    calls: list[int] = []
    d = Deferred()
    d.on_cancel = lambda: calls.append(1)
    assert not d.done
    d.cancel()
    d.cancel()
    d.resolve(Response())
    assert calls == [1]
    assert d.cancelled and d.response is None
    r = Deferred()
    r.on_cancel = lambda: calls.append(2)
    r.resolve(Response(204))
    r.cancel()
    assert not r.cancelled and calls == [1]


# -- pipelining


def test_pipelined_requests_answered_in_order(run: Callable[..., Any]) -> None:
    order: list[str] = []

    def handler(req: Request) -> Response | Deferred:
        order.append(req.path)
        if req.path == "/slow":
            d = Deferred()
            asyncio.get_running_loop().call_later(0.03, d.resolve, Response(200, b"slow"))
            return d
        return Response(200, b"fast " + req.path.encode())

    def client(port: int) -> list[tuple[int, bytes]]:
        with Conn(port) as c:
            c.send(get("/slow") + get("/quick") + get("/last"))  # one sendall
            return [(s, b) for s, _, b in (c.read_response() for _ in range(3))]

    out = run(handler, threaded(client))
    assert out == [(200, b"slow"), (200, b"fast /quick"), (200, b"fast /last")]
    assert order == ["/slow", "/quick", "/last"]


def test_pipelined_coroutines_answered_in_order(run: Callable[..., Any]) -> None:
    async def handler(req: Request) -> Response:
        await asyncio.sleep(0.03 if req.path == "/1" else 0.0)
        return Response(200, req.path.encode())

    def client(port: int) -> list[bytes]:
        with Conn(port) as c:
            c.send(get("/1") + get("/2"))
            return [c.read_response()[2] for _ in range(2)]

    assert run(handler, threaded(client)) == [b"/1", b"/2"]


def test_pipelined_requests_with_bodies(run: Callable[..., Any]) -> None:
    def client(port: int) -> list[str]:
        with Conn(port) as c:
            c.send(get("/a", method="POST", body=b"one") + get("/b", method="POST", body=b"two!"))
            return [json.loads(c.read_response()[2])["body"] for _ in range(2)]

    assert run(echo, threaded(client)) == ["one", "two!"]


# -- bodies


def test_body_sent_in_pieces_is_joined(run: Callable[..., Any]) -> None:
    def client(port: int) -> str:
        with Conn(port) as c:
            c.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n01234")
            c.send(b"56789")
            return str(json.loads(c.read_response()[2])["body"])

    assert run(echo, threaded(client)) == "0123456789"


def test_chunked_body(run: Callable[..., Any]) -> None:
    def client(port: int) -> str:
        with Conn(port) as c:
            c.send(
                b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
            )
            return str(json.loads(c.read_response()[2])["body"])

    assert run(echo, threaded(client)) == "abcde"


def test_body_of_exactly_max_body_is_accepted(run: Callable[..., Any]) -> None:
    def client(port: int) -> tuple[int, bytes]:
        with Conn(port) as c:
            c.send(get("/", method="POST", body=b"x" * 64))
            s, _, b = c.read_response()
            return s, b

    assert run(lambda r: Response(200, r.body), threaded(client), max_body=64) == (200, b"x" * 64)


def _oversized(run: Callable[..., Any], payload: bytes) -> tuple[int, str, bool, list[str]]:
    calls: list[str] = []

    def handler(req: Request) -> Response:
        calls.append(req.path)
        return Response(200, b"should not run")

    def client(port: int) -> tuple[int, str, bool]:
        with Conn(port) as c:
            c.send(payload)
            status, _, body = c.read_response()
            return status, json.loads(body)["message"], c.at_eof()

    status, message, eof = run(handler, threaded(client), max_body=64)
    return status, message, eof, calls


OVERSIZED = {
    "content-length": get("/", method="POST", body=b"x" * 65),
    "chunked": (
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"41\r\n" + b"x" * 65 + b"\r\n0\r\n\r\n"
    ),
}


@pytest.mark.parametrize("framing", list(OVERSIZED))
def test_body_over_max_body_is_refused_and_closed(run: Callable[..., Any], framing: str) -> None:
    status, _, eof, calls = _oversized(run, OVERSIZED[framing])
    assert 400 <= status < 500
    assert eof
    assert calls == []  # the handler never sees it


@pytest.mark.parametrize("framing", list(OVERSIZED))
def test_body_over_max_body_is_413(run: Callable[..., Any], framing: str) -> None:
    status, message, _, _ = _oversized(run, OVERSIZED[framing])
    assert status == 413
    assert "64" in message


def test_expect_100_continue(run: Callable[..., Any]) -> None:
    def client(port: int) -> tuple[bytes, int, str]:
        with Conn(port) as c:
            c.send(
                b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
            )
            interim = c.f.readline() + c.f.readline()  # before any body is sent
            c.send(b"hello")
            status, _, body = c.read_response()
            return interim, status, json.loads(body)["body"]

    interim, status, body = run(echo, threaded(client))
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert status == 200
    assert body == "hello"


# -- errors


@pytest.mark.parametrize(
    "garbage",
    [
        b"NOT HTTP AT ALL\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header Line\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
    ],
)
def test_malformed_request_is_400_and_closed(run: Callable[..., Any], garbage: bytes) -> None:
    calls: list[Request] = []

    def client(port: int) -> tuple[int, dict[str, str], bytes, bool]:
        with Conn(port) as c:
            c.send(garbage)
            status, headers, body = c.read_response()
            return status, headers, body, c.at_eof()

    def handler(req: Request) -> Response:
        calls.append(req)
        return Response()

    status, headers, body, eof = run(handler, threaded(client))
    assert status == 400
    assert headers["connection"].lower() == "close"
    assert headers["content-type"] == "application/json"
    assert "malformed HTTP request" in json.loads(body)["message"]
    assert eof
    assert calls == []


def test_upgrade_is_refused_without_running_the_handler(run: Callable[..., Any]) -> None:
    calls: list[str] = []

    def handler(req: Request) -> Response:
        calls.append(req.path)
        return Response(200, b"served")

    def client(port: int) -> tuple[int, bool]:
        with Conn(port) as c:
            c.send(get("/ws", "Connection: Upgrade\r\nUpgrade: websocket\r\n"))
            status, _, _ = c.read_response()
            return status, c.at_eof()

    assert run(handler, threaded(client)) == (400, True)
    assert calls == []


def test_handler_raising_is_500_and_server_keeps_serving(run: Callable[..., Any]) -> None:
    def handler(req: Request) -> Response:
        if req.path == "/boom":
            raise ValueError("kaput")
        return Response(200, b"fine")

    def client(port: int) -> list[tuple[int, dict[str, str], bytes]]:
        out = []
        with Conn(port) as c:
            c.send(get("/boom"))
            out.append(c.read_response())
            c.send(get("/ok"))  # the same connection still works
            out.append(c.read_response())
        with Conn(port) as c:  # and so do new ones
            c.send(get("/ok"))
            out.append(c.read_response())
        return out

    (s1, h1, b1), (s2, _, b2), (s3, _, b3) = run(handler, threaded(client))
    assert s1 == 500
    assert h1["x-amzn-errortype"] == "ServiceException"
    assert h1["content-type"] == "application/json"
    assert json.loads(b1) == {"message": "internal error: ValueError: kaput"}
    assert (s2, b2) == (200, b"fine")
    assert (s3, b3) == (200, b"fine")


def test_many_connections_at_once(run: Callable[..., Any]) -> None:
    async def handler(req: Request) -> Response:
        await asyncio.sleep(0.005)
        return Response(200, req.path.encode())

    def client(port: int) -> list[bytes]:
        conns = [Conn(port) for _ in range(8)]
        try:
            for i, c in enumerate(conns):  # all requests in flight before any is read
                c.send(get(f"/{i}"))
            return [c.read_response()[2] for c in reversed(conns)]
        finally:
            for c in conns:
                c.close()

    assert run(handler, threaded(client)) == [f"/{i}".encode() for i in reversed(range(8))]


def test_unencodable_header_from_coroutine_still_gets_an_answer(run: Callable[..., Any]) -> None:
    async def handler(req: Request) -> Response:
        return Response(200, b"x", {"X-Price": "\u20ac5"})

    def client(port: int) -> int | None:
        with Conn(port) as c:
            c.sock.settimeout(0.3)
            c.send(get())
            try:
                return c.read_head()[0]
            except TimeoutError:
                return None

    # The value is sent with '?' for what latin-1 cannot carry, rather than no answer.
    assert run(handler, threaded(client)) == 200


# -- limits: sizes and timeouts (issue 11, item 8)

SHORT = Limits(idle_timeout=0.5, request_timeout=0.5)  # timeouts a test can wait out


def _send_all_then_read(port: int, payload: bytes) -> tuple[int, str, bool]:
    """Send all of `payload` (however much the server refuses), then read the answer: it
    must be readable, not lost to a reset."""
    with Conn(port) as c:
        c.sock.settimeout(60)
        c.send(payload)
        status, _, body = c.read_response()
        return status, json.loads(body)["message"], c.at_eof()


def _refused(run: Callable[..., Any], payload: bytes, **kw: Any) -> tuple[int, str, bool]:
    calls: list[str] = []

    def handler(req: Request) -> Response:
        calls.append(req.path)
        return Response(200, b"should not run")

    result = run(handler, threaded(lambda port: _send_all_then_read(port, payload)), **kw)
    assert calls == []
    return result  # type: ignore[no-any-return]


@pytest.mark.parametrize("size", [16 * 1024 + 1, 8 * 1024 * 1024])
def test_url_over_the_limit_is_414(run: Callable[..., Any], size: int) -> None:
    path = "/" + "a" * (size - 1)
    status, message, eof = _refused(run, get(path))
    assert status == 414
    assert str(16 * 1024) in message
    assert eof


def test_url_at_the_limit_is_served(run: Callable[..., Any]) -> None:
    path = "/" + "a" * (16 * 1024 - 1)

    def client(port: int) -> tuple[int, int]:
        with Conn(port) as c:
            c.send(get(path))
            status, _, body = c.read_response()
            return status, len(json.loads(body)["path"])

    assert run(echo, threaded(client)) == (200, 16 * 1024)


@pytest.mark.parametrize("size", [100 * 1024, 32 * 1024 * 1024])
def test_huge_header_is_431(run: Callable[..., Any], size: int) -> None:
    status, message, eof = _refused(run, get("/", "X-Big: " + "b" * size + "\r\n"))
    assert status == 431
    assert str(64 * 1024) in message
    assert eof


def test_many_headers_are_431(run: Callable[..., Any]) -> None:
    many = "".join(f"X-H{i}: v\r\n" for i in range(20_000))
    status, _, eof = _refused(run, get("/", many))
    assert status == 431
    assert eof


def test_headers_just_under_the_limit_are_served(run: Callable[..., Any]) -> None:
    headers = "".join(f"X-H{i}: {'v' * 90}\r\n" for i in range(600))  # ~60 KB

    def client(port: int) -> int:
        with Conn(port) as c:
            c.send(get("/", headers))
            status, _, body = c.read_response()
            assert len(json.loads(body)["headers"]) == 601
            return status

    assert run(echo, threaded(client)) == 200


def test_large_body_and_next_request_in_one_send_are_not_mistaken_for_headers(
    run: Callable[..., Any],
) -> None:
    """The head limit counts head bytes: a 1 MB body arriving with its head, and the next
    request behind it, are served."""
    body = b"x" * (1024 * 1024)

    def client(port: int) -> list[int]:
        with Conn(port) as c:
            c.sock.settimeout(60)
            c.send(get("/a", method="POST", body=body) + get("/b"))
            return [c.read_response()[0] for _ in range(2)]

    assert run(echo, threaded(client)) == [200, 200]


def test_oversized_body_gets_a_readable_413(run: Callable[..., Any]) -> None:
    """9 MB sent whole to a 1 MB limit: the client reads the 413 after sending it all
    (before, the server closed with unread input and the client got a reset)."""
    body = b"x" * (9 * 1024 * 1024)
    status, message, eof = _refused(run, get("/", method="POST", body=body), max_body=1024 * 1024)
    assert status == 413
    assert str(1024 * 1024) in message
    assert eof


def test_oversized_body_413_through_http_client(run: Callable[..., Any]) -> None:
    """As botocore sends it: http.client writes the whole body, then reads the answer."""
    body = b"x" * (9 * 1024 * 1024)

    def client(port: int) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.request("POST", "/invoke", body=body)
            resp = conn.getresponse()
            resp.read()
            return resp.status
        finally:
            conn.close()

    assert run(echo, threaded(client), max_body=1024 * 1024) == 413


def _wait_for_answer(c: Conn, trickle: bytes = b"") -> tuple[int, str, bool]:
    """Send `trickle` a byte at a time (a slow-loris client) until the server answers."""
    c.sock.settimeout(60)
    for byte in trickle:
        readable, _, _ = select.select([c.sock], [], [], 0.05)
        if readable:
            break
        c.send(bytes([byte]))
    status, _, body = c.read_response()
    return status, json.loads(body)["message"], c.at_eof()


def test_slow_loris_headers_get_408(run: Callable[..., Any]) -> None:
    def client(port: int) -> tuple[int, str, bool]:
        with Conn(port) as c:
            c.send(b"GET / HTTP/1.1\r\nHost: t\r\n")
            return _wait_for_answer(c, b"X-Slow: " + b"s" * 100_000)

    status, message, eof = run(echo, threaded(client), limits=SHORT)
    assert status == 408
    assert "headers" in message
    assert eof


def test_body_shorter_than_content_length_gets_408(run: Callable[..., Any]) -> None:
    calls: list[str] = []

    def handler(req: Request) -> Response:
        calls.append(req.path)
        return Response()

    def client(port: int) -> tuple[int, str, bool]:
        with Conn(port) as c:
            c.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhalf!")
            return _wait_for_answer(c)

    status, message, eof = run(handler, threaded(client), limits=SHORT)
    assert status == 408
    assert "body" in message
    assert eof
    assert calls == []


def test_idle_connections_are_closed(run: Callable[..., Any]) -> None:
    def client(port: int) -> list[bool]:
        with Conn(port) as silent, Conn(port) as used:
            used.send(get())
            used.read_response()
            silent.sock.settimeout(60)
            used.sock.settimeout(60)
            return [silent.at_eof(), used.at_eof()]

    assert run(echo, threaded(client), limits=SHORT) == [True, True]


def test_long_handlers_and_slow_bodies_are_not_timed_out(run: Callable[..., Any]) -> None:
    """Timeouts bound a client's silence, not the server's work nor a body that flows."""
    limits = Limits(idle_timeout=0.5, request_timeout=0.5)

    async def handler(req: Request) -> Response:
        if req.path == "/slow":
            await asyncio.sleep(2.0)  # well past both timeouts: a long-poll `next`
        return Response(200, req.body)

    def client(port: int) -> list[tuple[int, bytes]]:
        with Conn(port) as c:
            c.sock.settimeout(60)
            c.send(get("/slow"))
            out = [c.read_response()[::2]]
            c.send(b"POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 30\r\n\r\n")
            for _ in range(30):  # 1.5 s of body, a byte every 50 ms
                time.sleep(0.05)
                c.send(b"y")
            out.append(c.read_response()[::2])
            return out

    assert run(handler, threaded(client), limits=limits) == [(200, b""), (200, b"y" * 30)]


def test_a_stalled_connection_does_not_hold_up_another(run: Callable[..., Any]) -> None:
    """A short body, an unfinished head, and a 128 MB header still arriving (before, the
    parser copied it over and over, holding the event loop for minutes): another client
    is answered all the while."""

    def client(port: int) -> tuple[int, int]:
        with Conn(port) as short, Conn(port) as huge, Conn(port) as unfinished:
            short.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc")
            unfinished.send(b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"b" * 40_000)
            underway = threading.Event()
            huge.sock.settimeout(60)

            def send_huge() -> None:
                block = b"b" * (1024 * 1024)
                huge.send(b"GET / HTTP/1.1\r\nHost: t\r\nX-Huge: ")
                for i in range(128):
                    if i == 16:
                        underway.set()
                    try:
                        huge.send(block)
                    except OSError:
                        break
                underway.set()

            sender = threading.Thread(target=send_huge)
            sender.start()
            underway.wait(60)
            with Conn(port) as other:
                other.send(get("/fine"))
                status = other.read_response()[0]
            sender.join(60)
            return status, huge.read_response()[0]

    assert run(echo, threaded(client)) == (200, 431)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Limits(request_timeout=0)
    with pytest.raises(ValueError):
        Limits(idle_timeout=-1)
    assert Limits(idle_timeout=None).idle_timeout is None
