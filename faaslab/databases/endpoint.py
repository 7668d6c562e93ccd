"""A cluster's endpoint: the stable TCP port clients connect to, in every cluster state.

Each accepted connection is checked against the cluster's ingress rules, counted as a
client connection (what auto-pause watches), held while the cluster resumes (its bytes
wait in the socket: reading is paused), then spliced to the engine's private Unix socket.
The splice is two asyncio protocols writing into each other's transports, with flow
control both ways (a slow reader pauses the other side instead of buffering without
bound).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import os
import socket
import weakref
from collections.abc import Callable
from typing import Protocol, TypeVar

from faaslab.databases import refusal
from faaslab.databases.model import Engine
from faaslab.databases.splice import EngineNotAccepted, Splicer

log = logging.getLogger(__name__)
P = TypeVar("P", bound=asyncio.BaseProtocol)
SPLICE_ATTEMPTS = 50
ENGINE_QUEUE_PATIENCE_S = 10.0  # how long a connection waits for room in a full accept queue


class Backend(Protocol):
    """What the endpoint needs of its cluster."""

    @property
    def engine_kind(self) -> Engine: ...

    def client_connected(self) -> None: ...

    def client_disconnected(self) -> None: ...

    async def ensure_running(self) -> str:
        """Resume if needed; the engine's Unix socket path once it accepts connections."""
        ...


class Refused(Exception):
    """The cluster cannot take a client now (being deleted, failed to resume)."""


Networks = list[ipaddress.IPv4Network | ipaddress.IPv6Network]


def parse_ingress(cidrs: tuple[str, ...]) -> Networks:
    return [ipaddress.ip_network(c, strict=False) for c in cidrs]


def allowed(peer_ip: str, networks: Networks) -> bool:
    try:
        addr = ipaddress.ip_address(peer_ip.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return any(addr.version == n.version and addr in n for n in networks)


class _Side(asyncio.Protocol):
    """One end of a splice: whatever arrives is written to the peer's transport."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: _Side | None = None
        self.pending: list[bytes] = []  # arrived before the peer existed
        self.closed = False
        self.eof = False  # this side sent EOF (its half of the splice is done)
        self.on_close: Callable[[], None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None:
            peer.transport.write(data)
        else:
            self.pending.append(data)

    def eof_received(self) -> bool | None:
        self.eof = True
        peer = self.peer
        if peer is None or peer.transport is None or peer.eof:
            return None  # both halves done (or nothing to pass it to): close
        if peer.transport.can_write_eof():
            peer.transport.write_eof()
            return True  # half-close: keep reading the other way
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.transport = None
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()
        if self.on_close is not None:
            callback, self.on_close = self.on_close, None
            callback()

    # flow control: our transport's buffer is full -> stop reading from the peer
    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()

    def attach(self, peer: _Side) -> None:
        self.peer = peer
        if self.pending and peer.transport is not None:
            peer.transport.write(b"".join(self.pending))
        self.pending = []


class _EngineSide(_Side):
    """The engine's end: silent until spliced, so nothing it sends first (MariaDB's
    greeting) is read into user space before the kernel splice is in place."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        transport.pause_reading()  # type: ignore[attr-defined]


def _socket_of(transport: asyncio.BaseTransport) -> socket.socket:
    """A real socket object for a transport's fd (a duplicate: close it when done)."""
    return socket.socket(fileno=os.dup(transport.get_extra_info("socket").fileno()))


async def connect_unix(
    factory: Callable[[], P], path: str, patience: float = ENGINE_QUEUE_PATIENCE_S
) -> tuple[asyncio.BaseTransport, P]:
    """Connect to a Unix socket, waiting while its accept queue is full.

    A full TCP queue drops the SYN and the client's kernel retries, so a burst only waits;
    a full Unix queue refuses a non-blocking connect at once with EAGAIN. A hundred clients
    meeting an engine that has just resumed is such a burst (MariaDB's queue held
    80 + max_connections / 5), so retry, as TCP would, until `patience` runs out.
    The connect is ours, not the loop's: a Unix connect completes or fails at once, and
    asyncio's own loop mistakes EAGAIN for "in progress" and hands back a transport on an
    unconnected socket.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    delay = 0.001
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            sock.connect(path)
        except OSError as e:
            sock.close()
            if e.errno != errno.EAGAIN or loop.time() + delay > deadline:
                raise
        else:
            try:
                return await loop.create_unix_connection(factory, sock=sock)
            except BaseException:
                sock.close()
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)


class Endpoint:
    """The listening socket of one cluster, and the connections it splices."""

    def __init__(
        self,
        backend: Backend,
        host: str,
        port: int,
        ingress: tuple[str, ...],
        splicer: Splicer | None = None,
    ) -> None:
        self.backend = backend
        self.host = host
        self.port = port
        self.networks = parse_ingress(ingress)
        self.splicer = splicer
        self.server: asyncio.Server | None = None
        # its listeners in functions' networks (each environment closes its own)
        self.adopted: weakref.WeakSet[asyncio.AbstractServer] = weakref.WeakSet()
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            self._accept, self.host, self.port, reuse_address=True, backlog=1024
        )

    @property
    def admits_vpc_clients(self) -> bool:
        """Whether a function in the VPC may connect. Functions have no VPC address of
        their own here: the rules that admit them are those that admit the machine's own
        clients (another security group as the source, a group faaslab cannot read, a
        CIDR covering 127.0.0.1 such as the tutorial's 0.0.0.0/0; spec.py). A rule for
        one outside address (part 5's "My IP") does not."""
        return allowed("127.0.0.1", self.networks)

    async def adopt(self, sock: socket.socket, origin: str) -> asyncio.AbstractServer:
        """Serve this cluster on a listener made elsewhere: in a function's network
        namespace (functions/network.py). `origin`, that network's id, is not needed: the
        ingress check reads the peer's address, as for any client."""
        loop = asyncio.get_running_loop()
        server = await loop.create_server(self._accept, sock=sock)
        self.adopted.add(server)
        return server

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for server in list(self.adopted):
            server.close()
        for task in list(self.tasks):
            task.cancel()

    def _accept(self) -> _Side:
        client = _Side()
        loop = asyncio.get_running_loop()

        def made(transport: asyncio.BaseTransport) -> None:
            _Side.connection_made(client, transport)
            task = loop.create_task(self._serve(client, transport))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

        client.connection_made = made  # type: ignore[method-assign]
        return client

    async def _serve(self, client: _Side, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        peer_ip = str(peer[0]) if isinstance(peer, tuple) else ""
        if not allowed(peer_ip, self.networks):
            await self._refuse(client, transport, host=peer_ip)
            return
        self.backend.client_connected()
        counted = True

        def left() -> None:
            nonlocal counted
            if counted:
                counted = False
                self.backend.client_disconnected()

        client.on_close = left
        if client.closed:  # gone before we got here
            left()
            return
        transport.pause_reading()  # type: ignore[attr-defined]
        try:
            socket_path = await self.backend.ensure_running()
            if client.closed:
                return
            _, engine = await connect_unix(_EngineSide, socket_path)
        except (Refused, OSError) as e:
            client.on_close = None
            left()
            await self._refuse(client, transport, reason=str(e))
            return
        except asyncio.CancelledError:
            transport.close()
            raise
        if client.closed:
            if engine.transport is not None:
                engine.transport.close()
            return
        if self.splicer is not None and engine.transport is not None:
            await self._kernel_splice(client, transport, engine.transport, left)
            if client.closed:  # gone while the splice was set up: nobody else closes this
                engine.transport.close()
                return
        engine.attach(client)
        client.attach(engine)
        for t in (transport, engine.transport):
            with contextlib.suppress(RuntimeError, AttributeError):
                t.resume_reading()  # type: ignore[union-attr]

    async def _kernel_splice(
        self,
        client: _Side,
        client_transport: asyncio.BaseTransport,
        engine_transport: asyncio.BaseTransport,
        left: Callable[[], None],
    ) -> None:
        """Hand the byte stream to the kernel (splice.py); on any failure, stay in user
        space for this connection. Bytes already queued still arrive here and are
        forwarded in order before the client can send anything new."""
        assert self.splicer is not None
        a, b = _socket_of(client_transport), _socket_of(engine_transport)
        try:
            for attempt in range(SPLICE_ATTEMPTS):
                try:
                    keys = self.splicer.splice(a, b)
                    break
                except EngineNotAccepted:
                    # The engine has not accept()ed our connection yet, so its end has no
                    # identity to look up: give it a moment (this only delays the start).
                    if attempt == SPLICE_ATTEMPTS - 1:
                        log.debug("endpoint %s: engine slow to accept: user space", self.port)
                        return
                    await asyncio.sleep(0.001)
                except OSError as e:
                    log.debug("endpoint %s: kernel splice failed, user space: %s", self.port, e)
                    return
        finally:
            a.close()
            b.close()
        splicer = self.splicer

        def closed() -> None:
            splicer.unsplice(keys)
            left()

        client.on_close = closed

    async def _refuse(
        self, client: _Side, transport: asyncio.BaseTransport, host: str = "", reason: str = ""
    ) -> None:
        """Answer in the client's own protocol, then close: a host outside the ingress
        rules as the engine's host check would, anything else as "cannot connect now"."""
        reader, writer = _streams(client, transport)
        if self.backend.engine_kind is Engine.MYSQL:
            packet = (
                refusal.mysql_host_not_allowed(host)
                if host
                else refusal.mysql_error_packet(ER_SERVER_SHUTDOWN, reason)
            )
            await refusal.refuse_mysql(writer, packet)
        elif host:
            await refusal.refuse_pg_host(reader, writer, host)
        else:
            await refusal.refuse_pg(reader, writer, lambda _: refusal.pg_cannot_connect_now(reason))


ER_SERVER_SHUTDOWN = 1053  # MariaDB's "Server shutdown in progress"


def _streams(
    client: _Side, transport: asyncio.BaseTransport
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Hand a connection over from the splice protocol to asyncio streams (for the few
    bytes of a refusal handshake), keeping whatever the client already sent."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    protocol = asyncio.StreamReaderProtocol(reader)
    transport.set_protocol(protocol)
    protocol.connection_made(transport)
    for data in client.pending:
        reader.feed_data(data)
    client.pending = []
    if client.closed:
        reader.feed_eof()
    with contextlib.suppress(RuntimeError, AttributeError):
        transport.resume_reading()  # type: ignore[attr-defined]
    return reader, asyncio.StreamWriter(transport, protocol, reader, loop)  # type: ignore[arg-type]
