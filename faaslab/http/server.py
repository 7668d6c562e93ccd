"""A small HTTP/1.1 server on asyncio + httptools (llhttp), for every faaslab port.

Why not a framework: a warm invoke crosses this layer three times (client -> edge,
runtime -> Runtime API twice), and the whole path must stay within 2x a bare loopback
echo. Frameworks (aiohttp, Starlette on uvicorn) spend ~50-150 us per request on
middleware, scope dicts and coroutine hops, which alone would break that budget.
httptools does the parsing (the hard, security-relevant part); this module only frames
requests and responses, keeps connections alive and runs one handler per request.

A handler is `Callable[[Request], Response | Awaitable[Response]]`. Returning a plain
Response keeps the hot path free of task creation; returning an awaitable lets a
handler wait (the Runtime API's long-poll `next`).

What a connection may cost is bounded (`Limits`): a request line or header block over its
limit is answered 414/431 before its bytes are kept, a request whose headers or body stop
arriving gets 408, an idle keep-alive connection is closed, and every refusal is written
so the client can read it (the rest of its request is read and dropped, then the
connection closes) rather than a reset. One periodic sweep per server does the timing, so
no timer is armed or cancelled per request.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import math
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from typing import Any, NoReturn, Protocol

import httptools

DEFAULT_MAX_BODY = 16 * 1024 * 1024
_INLINE_BODY = 64 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """What one connection may cost the server. The sizes and the idle timeout are an AWS
    Application Load Balancer's (request line 16 K, request headers 64 K, idle 60 s); the
    request timeout is S3's (it answers RequestTimeout after ~20 s without upload data)."""

    max_url: int = 16 * 1024  # the request target; longer: 414
    max_head: int = 64 * 1024  # request line + headers; larger: 431
    idle_timeout: float | None = 60.0  # no request in progress: close (None: never)
    request_timeout: float = 20.0  # headers not complete this long after their first byte,
    # or no body byte for this long: 408; also how long a refused request is read and dropped

    def __post_init__(self) -> None:
        if self.request_timeout <= 0 or (self.idle_timeout is not None and self.idle_timeout <= 0):
            raise ValueError("HTTP timeouts must be positive")


# A connection's phase: what the sweep may time out. IDLE: between requests (idle
# timeout). HEAD: a request's headers are arriving (request timeout from their first
# byte). BODY: its body is arriving (request timeout without a byte). BUSY: the handler
# has it (no timeout: a long-poll `next`, a 15-minute invoke). CLOSING: answered with an
# error; input is dropped until the client closes, or the request timeout.
_IDLE, _HEAD, _BODY, _BUSY, _CLOSING = range(5)


@dataclass(slots=True)
class Request:
    """One parsed request. Header names are lower case; a repeated header keeps the last."""

    method: str
    path: str  # percent-encoded, without the query string
    query: str
    headers: dict[str, str]
    body: bytes
    peer: tuple[str, int] | None = None
    sink: BodySink | None = None  # where a streamed body went (then `body` is empty)
    origin: str | None = None  # the function network whose listener took it (None: the host)
    local: tuple[str, int] | None = None  # our end of the connection


@dataclass(slots=True)
class Response:
    status: int = 200
    body: bytes | memoryview = b""  # (a memoryview: e.g. of an mmap'ed file, sent uncopied)
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        h = {"Content-Type": "application/json"}
        if headers:
            h.update(headers)
        return cls(status, json.dumps(obj).encode(), h)


class BodySink(Protocol):
    """Takes a request body chunk by chunk as it arrives, instead of one bytes object
    (S3 objects of gigabytes). It may raise BodyRejected to refuse the rest."""

    def write(self, chunk: bytes) -> None: ...

    def abort(self) -> None:
        """The request ended before its body did (connection lost, parse error)."""


# method, path (no query), query, lower-case headers -> a sink for this body, or None to
# buffer it as usual
SinkFactory = Callable[[str, str, str, dict[str, str]], "BodySink | None"]


class BodyRejected(Exception):
    """Raised by a sink: answer `response` and close the connection."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


class Resolver(Protocol):
    """Whoever writes a Deferred's answer once it comes (HttpProtocol, RuntimeLink)."""

    def _resolved(self, d: Deferred) -> None: ...


class Deferred:
    """A response that arrives later, without a task or a future.

    Whoever gets the answer calls `resolve()`, and it is written to the connection right
    there, with no event-loop round trip. This is how a warm invoke crosses the control
    plane in two callbacks: the client's request resolves the runtime's pending `next`,
    and the runtime's `response` POST resolves the client's request.
    """

    __slots__ = ("_keep_alive", "_proto", "_req", "cancelled", "on_cancel", "response")

    def __init__(self) -> None:
        self.response: Response | None = None
        self.cancelled = False
        self.on_cancel: Callable[[], None] | None = None
        self._proto: Resolver | None = None
        self._req: Request | None = None
        self._keep_alive = True

    @property
    def done(self) -> bool:
        return self.response is not None or self.cancelled

    def resolve(self, response: Response) -> None:
        if self.done:
            return
        self.response = response
        if self._proto is not None:
            self._proto._resolved(self)

    def cancel(self) -> None:
        """The connection went away before an answer: tell whoever waits on it."""
        if self.done:
            return
        self.cancelled = True
        if self.on_cancel is not None:
            self.on_cancel()


STREAM_MAX_UNSENT = 4 * 1024 * 1024  # bytes a Stream may have queued for a slow reader


class Stream:
    """A response whose body is written as it comes, until either side closes (the web
    console's server-sent events). The head goes out without a Content-Length and the
    connection closes after it (a close-delimited body, as HTTP/1.1 allows); `opened` gets
    the connection's writer, `closed` is called once the client has gone. No timeout
    applies while it is open (the connection stays BUSY)."""

    __slots__ = ("closed", "headers", "opened", "status")

    def __init__(
        self,
        headers: dict[str, str],
        opened: Callable[[Callable[[bytes], None]], None],
        closed: Callable[[], None],
        status: int = 200,
    ) -> None:
        self.status = status
        self.headers = headers
        self.opened = opened
        self.closed = closed


Handler = Callable[[Request], "Response | Deferred | Stream | Awaitable[Response]"]
# sees every answer written: the request, the response, when the handler got it (perf_counter)
Observer = Callable[[Request, "Response", float], None]

_REASONS = {s.value: s.phrase for s in HTTPStatus}


_date_cache: list[Any] = [0, ""]


def _date() -> str:
    """The Date header, formatted once a second (formatdate costs ~10 us)."""
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[0], _date_cache[1] = now, formatdate(now, usegmt=True)
    return str(_date_cache[1])


def encode_response(resp: Response, keep_alive: bool, head: bool = False) -> bytes:
    """Serialise a response; Content-Length always set, so connections can be reused (a
    handler may set it itself: a HEAD answer giving the size of a body it does not send)."""
    lines = [f"HTTP/1.1 {resp.status} {_REASONS.get(resp.status, 'Unknown')}"]
    length: str | int = len(resp.body)
    for k, v in resp.headers.items():
        if k == "Content-Length":
            length = v
            continue
        if "\r" in k or "\n" in k or "\r" in v or "\n" in v:  # never let a value inject headers
            k, v = k.replace("\r", " ").replace("\n", " "), v.replace("\r", " ").replace("\n", " ")
        lines.append(f"{k}: {v}")
    lines.append(f"Content-Length: {length}")
    lines.append(f"Date: {_date()}")
    if not keep_alive:
        lines.append("Connection: close")
    head_bytes = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
    return head_bytes if head else head_bytes + bytes(resp.body)


class HttpProtocol(asyncio.Protocol):
    """One connection: parse requests, run the handler, write responses in order."""

    __slots__ = (
        "_admit",
        "_body_parts",
        "_body_size",
        "_busy",
        "_closed",
        "_deferred",
        "_handler",
        "_head_bytes",
        "_headers",
        "_local",
        "_max_body",
        "_max_head",
        "_max_url",
        "_method",
        "_observe",
        "_origin",
        "_parser",
        "_path",
        "_peer",
        "_pending",
        "_phase",
        "_query",
        "_rejected",
        "_sink",
        "_sinks",
        "_started",
        "_stream",
        "_sweeper",
        "_ticks",
        "_transport",
        "_unsent",
        "_url",
    )

    def __init__(
        self,
        handler: Handler,
        max_body: int = DEFAULT_MAX_BODY,
        admit: Admit | None = None,
        sinks: SinkFactory | None = None,
        origin: str | None = None,
        sweeper: Sweeper | None = None,
        observe: Observer | None = None,
    ) -> None:
        self._origin = origin
        self._observe = observe
        self._started = 0.0  # when the request being answered was handed to the handler
        self._admit = admit
        self._sweeper = sweeper
        limits = sweeper.limits if sweeper is not None else Limits()
        self._max_url = limits.max_url
        self._max_head = limits.max_head
        self._phase = _IDLE
        self._ticks = 0  # sweeps since the phase began (or, in BODY, since the last byte)
        self._head_bytes = 0  # bytes fed while a request's head was incomplete
        self._unsent = 0  # the write buffer's size at the last sweep
        self._sinks = sinks
        self._sink: BodySink | None = None
        self._rejected: Response | None = None
        self._handler = handler
        self._max_body = max_body
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._headers: dict[str, str] = {}
        self._url = b""
        self._method = self._path = self._query = ""  # decoded once, in on_headers_complete
        self._body_parts: list[bytes] = []
        self._body_size = 0
        self._pending: list[tuple[Request, bool]] = []  # pipelined requests
        self._busy = False
        self._closed = False
        self._peer: tuple[str, int] | None = None
        self._local: tuple[str, int] | None = None
        self._deferred: Deferred | None = None
        self._stream: Stream | None = None

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._admit is not None and not self._admit(transport):
            transport.close()
            return
        self._transport = transport  # type: ignore[assignment]  # (uvloop's is not a subclass)
        peer = transport.get_extra_info("peername")
        self._peer = (peer[0], peer[1]) if isinstance(peer, tuple) else None
        local = transport.get_extra_info("sockname")
        self._local = (local[0], local[1]) if isinstance(local, tuple) else None
        if self._sweeper is not None:
            self._sweeper.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._transport = None
        if self._sweeper is not None:
            self._sweeper.live.discard(self)
        if self._sink is not None:
            self._sink.abort()
            self._sink = None
        if self._deferred is not None:
            self._deferred.cancel()
            self._deferred = None
        if self._stream is not None:
            self._stream.closed()
            self._stream = None

    def data_received(self, data: bytes) -> None:
        phase = self._phase
        if phase <= _HEAD:
            # Counted before httptools sees them: it joins a header's pieces by copying, so a
            # header fed on without bound costs quadratic time (minutes for 200 MB).
            room = self._max_head - self._head_bytes
            if len(data) > room:
                self._feed_past_head_limit(data, room)
                return
            self._head_bytes += len(data)
        elif phase == _CLOSING:
            return  # answered: the rest of the refused request is dropped
        self._feed(data)

    def _feed(self, data: bytes | memoryview) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # answered in on_message_complete; the connection is closed there
        except (httptools.HttpParserError, BodyRejected) as e:
            # httptools wraps exceptions raised by callbacks in HttpParserError, hence
            # the rejection's response is kept in `_rejected` rather than read off `e`.
            if self._sink is not None:
                self._sink.abort()
                self._sink = None
            if self._rejected is not None:
                self._close_with(self._rejected)
            else:
                self._fail(400, f"malformed HTTP request: {e}")

    def _feed_past_head_limit(self, data: bytes, room: int) -> None:
        """Feed up to the head limit; the rest only if the head ended within it."""
        view = memoryview(data)
        self._head_bytes = self._max_head
        self._feed(view[:room])
        if self._phase == _CLOSING:
            return
        if self._phase <= _HEAD and self._head_bytes == self._max_head:  # (not a new request)
            message = f"request line and headers larger than {self._max_head} bytes"
            self._close_with(Response.json({"message": message}, 431))
            return
        self._feed(view[room:])

    # -- httptools callbacks
    def on_message_begin(self) -> None:
        self._phase = _HEAD
        self._ticks = 0
        self._headers = {}
        self._url = b""
        self._body_parts = []
        self._body_size = 0
        self._sink = None

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > self._max_url:
            self._reject(414, f"request URL longer than {self._max_url} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self._phase = _BODY
        self._ticks = 0
        self._path, _, self._query = self._url.decode("latin-1").partition("?")
        self._method = self._parser.get_method().decode("ascii")
        if self._sinks is not None:
            try:
                self._sink = self._sinks(self._method, self._path, self._query, self._headers)
            except BodyRejected as e:
                self._rejected = e.response
                raise
        if self._sink is None:  # (a sink enforces its own size limit)
            length = self._headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > self._max_body:
                self._reject_too_large()
        if self._headers.get("expect", "").lower() == "100-continue" and self._transport:
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._ticks = 0  # the body is still arriving
        if self._sink is not None:
            try:
                self._sink.write(body)
            except BodyRejected as e:
                self._rejected = e.response
                raise
            return
        self._body_size += len(body)
        if self._body_size > self._max_body:
            self._reject_too_large()
        self._body_parts.append(body)

    def on_message_complete(self) -> None:
        body = self._body_parts[0] if len(self._body_parts) == 1 else b"".join(self._body_parts)
        req = Request(
            self._method,
            self._path,
            self._query,
            self._headers,
            body,
            self._peer,
            self._sink,
            self._origin,
            self._local,
        )
        self._sink = None
        self._phase = _BUSY
        self._head_bytes = 0
        keep_alive = self._parser.should_keep_alive()
        if self._parser.should_upgrade():
            self._fail(400, "protocol upgrades are not supported")
            return
        if self._busy:
            self._pending.append((req, keep_alive))
            return
        self._run(req, keep_alive)

    # -- dispatch
    def _run(self, req: Request, keep_alive: bool) -> None:
        if self._observe is not None:
            self._started = time.perf_counter()
        try:
            result = self._handler(req)
        except Exception as e:  # a handler bug must not take the connection's peers down
            result = _internal_error(e)
        if isinstance(result, Deferred):
            if result.response is not None:
                self._write(result.response, req, keep_alive)
                return
            self._busy = True
            self._deferred = result
            result._proto, result._req, result._keep_alive = self, req, keep_alive
        elif isinstance(result, Stream):
            self._open_stream(result)
        elif inspect.isawaitable(result):
            self._busy = True
            task = asyncio.ensure_future(result)
            task.add_done_callback(lambda t: self._finish_async(t, req, keep_alive))
        else:
            self._write(result, req, keep_alive)

    def _open_stream(self, stream: Stream) -> None:
        t = self._transport
        if t is None or t.is_closing():
            stream.closed()
            return
        self._busy = True  # (what the client pipelines after it is never answered)
        self._stream = stream
        head = encode_response(Response(stream.status, b"", stream.headers), False, head=True)
        lines = [line for line in head.split(b"\r\n") if not line.startswith(b"Content-Length")]
        t.write(b"\r\n".join(lines))
        transport = t

        def write(data: bytes) -> None:
            if transport.is_closing():
                return
            if transport.get_write_buffer_size() > STREAM_MAX_UNSENT:
                transport.abort()  # a reader this far behind is gone or stuck
                return
            transport.write(data)

        stream.opened(write)

    def _resolved(self, d: Deferred) -> None:
        assert d.response is not None and d._req is not None
        self._deferred = None
        self._busy = False
        self._write(d.response, d._req, d._keep_alive)
        self._run_pending()

    def _finish_async(self, task: asyncio.Future[Response], req: Request, keep_alive: bool) -> None:
        self._busy = False
        if task.cancelled():
            resp = Response(503, b"cancelled")
        elif (exc := task.exception()) is not None:
            resp = _internal_error(exc)
        else:
            resp = task.result()
        self._write(resp, req, keep_alive)
        self._run_pending()

    def _run_pending(self) -> None:
        while self._pending and not self._busy and not self._closed:
            nreq, nka = self._pending.pop(0)
            self._run(nreq, nka)

    def _write(self, resp: Response, req: Request, keep_alive: bool) -> None:
        t = self._transport
        if t is None or t.is_closing() or self._phase == _CLOSING:
            return
        if len(resp.body) > _INLINE_BODY:  # large: not copied into one buffer with the head
            t.write(encode_response(resp, keep_alive, head=True))
            if req.method != "HEAD":
                t.write(resp.body)
        else:
            t.write(encode_response(resp, keep_alive, head=req.method == "HEAD"))
        if not keep_alive:
            t.close()  # (IDLE still: a client that stops reading the answer is cut off)
        if self._phase == _BUSY and not self._pending:
            self._phase = _IDLE
            self._ticks = 0
        if self._observe is not None:
            self._observe(req, resp, self._started)

    def _reject_too_large(self) -> NoReturn:
        self._reject(413, f"request body larger than {self._max_body} bytes")

    def _reject(self, status: int, message: str) -> NoReturn:
        """From a parser callback: stop parsing, answer `status` and close."""
        self._rejected = Response.json({"message": message}, status)
        raise BodyRejected(self._rejected)

    def _fail(self, status: int, message: str) -> None:
        self._close_with(Response.json({"message": message}, status))

    def _close_with(self, resp: Response) -> None:
        """Answer and close: after a parse error or rejection the stream cannot be reused.

        Closing a socket with unread input makes the kernel send a reset, which can reach
        the client before it has read the answer (a 9 MB body refused at its headers). So
        only the sending side is shut; what still comes is dropped (CLOSING) until the
        client closes, or the request timeout."""
        t = self._transport
        if t is None or t.is_closing() or self._phase == _CLOSING:
            return
        self._phase = _CLOSING
        self._ticks = 0
        t.write(encode_response(resp, False))
        if self._sweeper is not None and t.can_write_eof():
            t.write_eof()
        else:
            t.close()

    # -- timeouts (called by the Sweeper, once per interval)
    def _tick(self, sweeper: Sweeper) -> None:
        t = self._transport
        if t is None:
            return
        self._ticks += 1
        phase = self._phase
        if phase == _IDLE:
            unsent = t.get_write_buffer_size()
            if unsent != self._unsent:  # a slow reader still taking a response: not idle
                self._unsent = unsent
                self._ticks = 0
            elif sweeper.idle_ticks is not None and self._ticks >= sweeper.idle_ticks:
                # nothing to say to an idle client (a 408 could be read as the answer to a
                # request it is sending right now): just close
                if unsent:
                    t.abort()
                else:
                    t.close()
        elif phase in (_HEAD, _BODY):
            if self._ticks >= sweeper.request_ticks:
                if self._sink is not None:
                    self._sink.abort()
                    self._sink = None
                what = "headers" if phase == _HEAD else "body"
                seconds = sweeper.limits.request_timeout
                self._fail(408, f"the request's {what} did not arrive within {seconds:g} s")
        elif phase == _CLOSING and self._ticks >= sweeper.request_ticks:
            t.abort()


def _internal_error(exc: BaseException) -> Response:
    return Response.json(
        {"message": f"internal error: {type(exc).__name__}: {exc}"},
        500,
        {"x-amzn-ErrorType": "ServiceException"},
    )


Admit = Callable[[asyncio.BaseTransport], bool]

MAX_INT_PARAM = 2**63 - 1  # what SQLite and seek() take


def int_param(query: dict[str, list[str]], name: str, default: int = 0) -> int:
    """A non-negative integer query parameter (an offset, an event id) from `parse_qs`,
    or ValueError naming it (`int()` alone takes "-1" or 10**30, which seek() and SQLite
    then refuse with errors no client should see)."""
    values = query.get(name)
    if not values:
        return default
    raw = values[0]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19 and int(raw) <= MAX_INT_PARAM):
        raise ValueError(f"{name} must be an integer from 0 to {MAX_INT_PARAM}, got {raw[:40]!r}")
    return int(raw)


class Sweeper:
    """One server's open connections, and the one periodic timer that times them out.

    A timer per request (call_later + cancel) would cost every request ~2 us; here a
    request only stores a phase and resets a counter, and a sweep every `interval`
    (at most 1 s, a quarter of the shortest timeout) ages every connection by one tick.
    The timer runs only while connections are open.
    """

    def __init__(self, limits: Limits, loop: asyncio.AbstractEventLoop) -> None:
        self.limits = limits
        self.loop = loop
        shortest = min(t for t in (limits.idle_timeout, limits.request_timeout) if t)
        self.interval = min(1.0, shortest / 4)
        # +1: the first tick comes anywhere within an interval of the phase's start
        self.request_ticks = math.ceil(limits.request_timeout / self.interval) + 1
        self.idle_ticks = (
            math.ceil(limits.idle_timeout / self.interval) + 1
            if limits.idle_timeout is not None
            else None
        )
        self.live: set[HttpProtocol] = set()
        self._timer: asyncio.TimerHandle | None = None

    def add(self, conn: HttpProtocol) -> None:
        self.live.add(conn)
        if self._timer is None:
            self._timer = self.loop.call_later(self.interval, self._sweep)

    def _sweep(self) -> None:
        self._timer = None
        for conn in list(self.live):
            conn._tick(self)
        if self.live:
            self._timer = self.loop.call_later(self.interval, self._sweep)


async def serve(
    handler: Handler,
    host: str = "127.0.0.1",
    port: int = 0,
    max_body: int = DEFAULT_MAX_BODY,
    admit: Admit | None = None,
    sinks: SinkFactory | None = None,
    sock: socket.socket | None = None,
    origin: str | None = None,
    limits: Limits | None = None,
    observe: Observer | None = None,
) -> asyncio.Server:
    """Listen on host:port (port 0 picks a free one), or on `sock`, a listening socket made
    elsewhere (in a function's network namespace), and serve `handler`. `admit`, when
    given, decides per connection whether it may talk at all (closed at once if not);
    `sinks`, when given, may take a request's body as a stream (see BodySink); `origin`
    marks every request of this listener (Request.origin); `limits` bound what a
    connection may cost (default: `Limits()`); `observe` sees every answer (the request
    log)."""
    loop = asyncio.get_running_loop()
    sweeper = Sweeper(limits or Limits(), loop)

    def protocol() -> HttpProtocol:
        return HttpProtocol(
            handler, max_body, admit, sinks, origin=origin, sweeper=sweeper, observe=observe
        )

    if sock is not None:
        return await loop.create_server(protocol, sock=sock)
    return await loop.create_server(protocol, host, port, reuse_address=True, backlog=1024)
