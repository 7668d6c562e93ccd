"""A second floor: the least any design that runs the handler in its own process costs.

An edge server (uvloop + httptools, like benchmarks/echo_server.py) hands each request body
to a child process over a socketpair and answers with what the child sends back. No
routing, no signature check, no Runtime API, no logs: only the extra process hop that
isolating a function needs. `invoke.py --relay` measures it beside the echo floor, so the
part of faaslab's latency that is the hop itself, and the part that is faaslab's own work,
can be told apart.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import sys

import uvloop
from echo_server import Echo

_LEN = struct.Struct("!I")


def child(sock: socket.socket) -> None:
    """The 'function': read a length-prefixed body, send it back."""
    while True:
        head = sock.recv(4, socket.MSG_WAITALL)
        if len(head) < 4:
            return
        (n,) = _LEN.unpack(head)
        body = sock.recv(n, socket.MSG_WAITALL) if n else b""
        sock.sendall(head + body)


class Relay(Echo):
    """The echo floor's server, but the answer comes back from the child process."""

    def __init__(self, backend: Backend) -> None:
        super().__init__()
        self.backend = backend

    def on_message_complete(self) -> None:
        self.backend.call(self.body, self.answer)


class Backend(asyncio.Protocol):
    """The edge's side of the socketpair: one call in flight at a time, FIFO."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiting: list[object] = []
        self.buf = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def call(self, body: bytes, done: object) -> None:
        assert self.transport is not None
        self.waiting.append(done)
        self.transport.write(_LEN.pack(len(body)) + body)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while len(self.buf) >= 4:
            (n,) = _LEN.unpack(self.buf[:4])
            if len(self.buf) < 4 + n:
                return
            body, self.buf = self.buf[4 : 4 + n], self.buf[4 + n :]
            self.waiting.pop(0)(body)  # type: ignore[operator]


async def main(port: int, sock: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    _, backend = await loop.connect_accepted_socket(Backend, sock)
    server = await loop.create_server(lambda: Relay(backend), "127.0.0.1", port)
    print("ready", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    ours, theirs = socket.socketpair()
    if os.fork() == 0:
        ours.close()
        child(theirs)
        os._exit(0)
    theirs.close()
    uvloop.run(main(int(sys.argv[1]), ours))
