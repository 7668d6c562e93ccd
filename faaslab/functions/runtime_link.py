"""faaslab's own runtime ↔ control plane: `runtime_protocol`'s values as binary frames.

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
its HTTP client, so the runtime loop is one piece of code for both. The control plane's
side (`RuntimeLink`) decodes frames into protocol values and calls the same entry points
(`RuntimeCalls`) as the HTTP codec; it is its own runtime's `Waiter`, so a parked `next`
costs no object at all.
"""

from __future__ import annotations

import asyncio
import struct

from faaslab.functions import runtime_protocol as rp

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
_ACK = b"\0\0\0\1A"  # frame(b"A", [])


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


def event_frame(event: rp.Event) -> bytes:
    """An invocation (what `GET next` answers over HTTP) as a V frame."""
    fields = [
        event.request_id.encode(),
        str(event.deadline_ms).encode(),
        event.function_arn.encode(),
        event.trace_id.encode(),
        (event.client_context or "").encode(),
        (event.cognito_identity or "").encode(),
    ]
    return frame(b"V", fields, event.payload)


def decode(body: bytes) -> rp.Said | None:
    """The protocol value of one frame from the runtime (its length already removed);
    None for a kind the control plane does not take."""
    kind = body[:1]
    if kind == b"R" or kind == b"E":
        fields, payload = split(body, 2 if kind == b"R" else 3)
        rss = fields[1]
        rss_kb = int(rss) if rss.isdigit() else None
        if kind == b"R":
            return rp.Result(fields[0].decode(), payload, rss_kb)
        return rp.Error(fields[0].decode(), fields[2].decode(), payload, rss_kb)
    if kind == b"N":
        return rp.NEXT
    if kind == b"I":
        fields, payload = split(body, 1)
        return rp.InitError(fields[0].decode(), payload)
    return None


class RuntimeLink(asyncio.Protocol):
    """The control plane's end of one environment's socketpair."""

    def __init__(self, calls: rp.RuntimeCalls) -> None:
        self.calls = calls
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None  # (a parked `next` is no longer `waiting`)

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
            self._said(decode(body))

    def _said(self, said: rp.Said | None) -> None:
        calls = self.calls
        if isinstance(said, rp.Result | rp.Error):
            calls.runtime_result(said)  # (a refusal: the caller already has the error)
            calls.runtime_next(self)  # result + next are one frame
        elif isinstance(said, rp.Next):
            calls.runtime_next(self)
        elif isinstance(said, rp.InitError):
            calls.runtime_init_error(said)
            if self.transport is not None:
                self.transport.write(_ACK)

    # -- rp.Waiter: the runtime's pending next
    @property
    def waiting(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def deliver(self, event: rp.Event) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(event_frame(event))
