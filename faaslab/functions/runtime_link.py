"""faaslab's own runtime ↔ control plane: the Runtime API's four calls as binary frames.

The HTTP Runtime API stays, on each environment's TCP port, for `awslambdaric` and any
other bootstrap. faaslab's own runtime talks over the Unix socketpair the control plane
hands it, and there HTTP was the largest part of the control plane's work per warm
invoke: two requests to parse (a dozen Python callbacks, objects, routing) and two
responses to build, one of them a `202` whose only effect was to wake the runtime once
more. A frame is a length, a kind and length-prefixed fields; the payload comes last.

    runtime -> control plane          control plane -> runtime
    N                 next            V fields... payload   an invocation (its headers)
    R rid rss payload result + next
    E rid rss type payload  error + next
    I type payload    init error      A                     init error received

The runtime side (bootstrap.LinkClient) speaks through the same send/receive calls as
its HTTP client, so the runtime loop is one piece of code for both.
"""

from __future__ import annotations

import asyncio
import struct
from typing import TYPE_CHECKING

from faaslab.http.server import Deferred, Response

if TYPE_CHECKING:
    from faaslab.functions.environment import Environment

_LEN = struct.Struct("!I")
# The invocation's headers, in frame order (lower case, as HTTP clients see them).
EVENT_HEADERS = (
    "lambda-runtime-aws-request-id",
    "lambda-runtime-deadline-ms",
    "lambda-runtime-invoked-function-arn",
    "lambda-runtime-trace-id",
    "lambda-runtime-client-context",
    "lambda-runtime-cognito-identity",
)
MAX_FRAME = 16 * 1024 * 1024  # above Lambda's 6 MB payload limit, with room


def frame(kind: bytes, fields: list[bytes], payload: bytes | memoryview = b"") -> bytes:
    """kind + (u32 length + bytes) per field + payload, behind the frame's own length."""
    body = kind + b"".join(_LEN.pack(len(f)) + f for f in fields) + payload
    return _LEN.pack(len(body)) + body


def split(body: bytes, count: int) -> tuple[list[bytes], bytes]:
    """The `count` length-prefixed fields after the kind byte, and the payload after them."""
    fields = []
    pos = 1
    for _ in range(count):
        (n,) = _LEN.unpack_from(body, pos)
        fields.append(body[pos + 4 : pos + 4 + n])
        pos += 4 + n
    return fields, body[pos:]


def event_frame(response: Response) -> bytes:
    """An invocation (what `GET next` would have answered) as a V frame."""
    h = {k.lower(): v for k, v in response.headers.items()}
    return frame(b"V", [h.get(name, "").encode() for name in EVENT_HEADERS], response.body)


class RuntimeLink(asyncio.Protocol):
    """The control plane's end of one environment's socketpair."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiting: Deferred | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.waiting is not None:
            self.waiting.cancel()
            self.waiting = None

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        while len(buf) >= 4:
            (n,) = _LEN.unpack_from(buf, 0)
            if n == 0 or n > MAX_FRAME:
                if self.transport is not None:
                    self.transport.close()  # not our runtime speaking: hang up
                return
            if len(buf) < 4 + n:
                return
            body = bytes(buf[4 : 4 + n])
            del buf[: 4 + n]
            self._frame(body)

    def _frame(self, body: bytes) -> None:
        kind = body[:1]
        env = self.env
        if kind == b"R" or kind == b"E":
            count = 2 if kind == b"R" else 3
            fields, payload = split(body, count)
            rss = fields[1].decode()
            error_type = fields[2].decode() if kind == b"E" else None
            env.runtime_result(
                fields[0].decode(), payload, error_type, int(rss) if rss.isdigit() else None
            )
            self._next()
        elif kind == b"N":
            self._next()
        elif kind == b"I":
            _, payload = split(body, 1)
            env.runtime_init_error(payload)
            if self.transport is not None:
                self.transport.write(frame(b"A", []))

    def _next(self) -> None:
        answer = self.env.runtime_next()
        if isinstance(answer, Deferred):
            if answer.response is None:
                self.waiting = answer
                answer._proto = self  # resolved through _resolved
                return
            answer = answer.response
        self._send(answer)

    def _resolved(self, d: Deferred) -> None:
        """Called by Deferred.resolve: the invocation for the waiting runtime."""
        self.waiting = None
        if d.response is not None:
            self._send(d.response)

    def _send(self, response: Response) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(event_frame(response))
