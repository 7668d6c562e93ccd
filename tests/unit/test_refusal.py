"""Endpoint refusals: exact bytes, then the real PyMySQL and psycopg clients against a tiny
asyncio server (in a thread, on 127.0.0.1:0) that uses them."""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import psycopg
import pymysql
import pytest

from faaslab.databases import refusal
from faaslab.databases.refusal import (
    PG_CANCEL_REQUEST_CODE,
    PG_PROTOCOL_3_0,
    PG_SSL_REQUEST_CODE,
    PgStartup,
    RefusalProtocolError,
    StartupKind,
)

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextmanager
def serve(handler: Handler) -> Iterator[int]:
    """Run `handler` for every connection on 127.0.0.1:<port> in a thread; yield the port."""
    ready = threading.Event()
    port: list[int] = []
    stop: list[Callable[[], None]] = []
    errors: list[BaseException] = []

    async def main() -> None:
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        stop.append(lambda: loop.call_soon_threadsafe(done.set))

        async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await handler(reader, writer)
            except BaseException as e:  # surfaced by the test, not swallowed by asyncio
                errors.append(e)
                raise

        server = await asyncio.start_server(guarded, "127.0.0.1", 0)
        port.append(server.sockets[0].getsockname()[1])
        ready.set()
        async with server:
            await done.wait()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    assert ready.wait(10), "test server did not start"
    try:
        yield port[0]
    finally:
        stop[0]()
        thread.join(10)
        assert not thread.is_alive()
    assert not errors, errors


def startup_message(**params: str) -> bytes:
    body = struct.pack("!I", PG_PROTOCOL_3_0)
    body += b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in params.items()) + b"\0"
    return struct.pack("!I", len(body) + 4) + body


def request(code: int) -> bytes:
    return struct.pack("!II", 8, code)


# --- bytes


def test_mysql_host_not_allowed_packet_bytes() -> None:
    packet = refusal.mysql_host_not_allowed("10.1.2.3")
    message = b"Host '10.1.2.3' is not allowed to connect to this MariaDB server"
    payload = b"\xff" + (1130).to_bytes(2, "little") + message  # no '#' SQL state marker
    assert packet == len(payload).to_bytes(3, "little") + b"\x00" + payload


def test_mysql_error_packet_with_sql_state() -> None:
    packet = refusal.mysql_error_packet(1105, "boom", sql_state="HY000", sequence_id=1)
    assert packet == b"\x0d\x00\x00\x01\xff\x51\x04#HY000boom"
    with pytest.raises(ValueError):
        refusal.mysql_error_packet(1105, "x", sql_state="HY")


def test_pg_error_response_bytes() -> None:
    message = refusal.pg_error_response("nope", sqlstate="57P03", detail="d")
    body = b"SFATAL\0VFATAL\0C57P03\0Mnope\0Dd\0\0"
    assert message == b"E" + struct.pack("!I", len(body) + 4) + body


def test_parse_startup_message_and_requests() -> None:
    startup = refusal.parse_pg_startup(startup_message(user="alice", database="shop"))
    assert startup == PgStartup(
        StartupKind.STARTUP, PG_PROTOCOL_3_0, {"user": "alice", "database": "shop"}
    )
    assert refusal.parse_pg_startup(startup_message(user="bob")).database == "bob"
    assert refusal.parse_pg_startup(request(PG_SSL_REQUEST_CODE)).kind is StartupKind.SSL_REQUEST
    cancel = request(PG_CANCEL_REQUEST_CODE) + b"\0" * 8
    cancel = struct.pack("!I", 16) + cancel[4:]
    assert refusal.parse_pg_startup(cancel).kind is StartupKind.CANCEL_REQUEST


@pytest.mark.parametrize(
    "packet",
    [
        b"\0\0\0\x04",  # too short
        struct.pack("!II", 9, PG_PROTOCOL_3_0),  # length lies
        struct.pack("!II", 9, 2 << 16) + b"\0",  # protocol 2
        struct.pack("!II", 13, PG_PROTOCOL_3_0) + b"user",  # not NUL-terminated
        struct.pack("!II", 14, PG_PROTOCOL_3_0) + b"user\0",  # dangling name
    ],
)
def test_parse_startup_rejects_garbage(packet: bytes) -> None:
    with pytest.raises(RefusalProtocolError):
        refusal.parse_pg_startup(packet)


# --- real clients


async def refuse_host_mysql(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    ip = writer.get_extra_info("peername")[0]
    await refusal.refuse_mysql(writer, refusal.mysql_host_not_allowed(ip))


def test_pymysql_gets_error_1130() -> None:
    with serve(refuse_host_mysql) as port, pytest.raises(pymysql.err.OperationalError) as caught:
        pymysql.connect(host="127.0.0.1", port=port, user="admin", password="pw", connect_timeout=5)
    code, message = caught.value.args
    assert code == 1130
    assert message == "Host '127.0.0.1' is not allowed to connect to this MariaDB server"


def test_pymysql_gets_too_many_connections() -> None:
    async def full(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await refusal.refuse_mysql(writer, refusal.mysql_too_many_connections())

    with serve(full) as port, pytest.raises(pymysql.err.OperationalError) as caught:
        pymysql.connect(host="127.0.0.1", port=port, user="admin", connect_timeout=5)
    assert caught.value.args == (1040, "Too many connections")


@pytest.fixture
def pg_refusals() -> Iterator[tuple[int, list[PgStartup]]]:
    """A server refusing every address as pg_hba.conf would; `seen` lists the startups
    answered (recorded before the answer is sent, so a test can read it at once)."""
    seen: list[PgStartup] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ip = writer.get_extra_info("peername")[0]

        def respond(startup: PgStartup) -> bytes:
            seen.append(startup)
            return refusal.pg_hba_rejection(ip, startup.user, startup.database)

        await refusal.refuse_pg(reader, writer, respond, timeout=5)

    with serve(handler) as port:
        yield port, seen


@pytest.mark.parametrize("sslmode", ["disable", "prefer"])
def test_psycopg_gets_the_pg_hba_refusal(
    pg_refusals: tuple[int, list[PgStartup]], sslmode: str
) -> None:
    port, seen = pg_refusals
    with pytest.raises(psycopg.OperationalError) as caught:
        psycopg.connect(
            host="127.0.0.1",
            port=port,
            user="alice",
            dbname="shop",
            password="pw",
            sslmode=sslmode,
            connect_timeout=5,
        )
    assert (
        'no pg_hba.conf entry for host "127.0.0.1", user "alice", database "shop", no encryption'
    ) in str(caught.value)
    assert [(s.user, s.database) for s in seen] == [("alice", "shop")]


def test_psycopg_without_dbname_is_refused_for_the_users_database() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await refusal.refuse_pg_host(reader, writer, writer.get_extra_info("peername")[0])

    refused = pytest.raises(psycopg.OperationalError, match='user "bob", database "bob"')
    with serve(handler) as port, refused:
        psycopg.connect(host="127.0.0.1", port=port, user="bob", connect_timeout=5)


def test_psycopg_gets_a_generic_cannot_connect_now() -> None:
    async def deleting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await refusal.refuse_pg(
            reader,
            writer,
            lambda _: refusal.pg_cannot_connect_now("the DB cluster is being deleted"),
        )

    refused = pytest.raises(psycopg.OperationalError, match="the DB cluster is being deleted")
    with serve(deleting) as port, refused:
        psycopg.connect(host="127.0.0.1", port=port, user="u", sslmode="prefer", connect_timeout=5)


# --- raw sockets: what the drivers do with odd clients


def test_ssl_request_is_answered_n_then_the_startup_is_refused(
    pg_refusals: tuple[int, list[PgStartup]],
) -> None:
    port, _ = pg_refusals
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request(PG_SSL_REQUEST_CODE))
        assert s.recv(1) == b"N"
        s.sendall(startup_message(user="carol", database="db1"))
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    assert data == refusal.pg_hba_rejection("127.0.0.1", "carol", "db1")


def test_cancel_request_and_garbage_are_closed_without_a_word(
    pg_refusals: tuple[int, list[PgStartup]],
) -> None:
    port, seen = pg_refusals
    cancel = struct.pack("!III", 16, PG_CANCEL_REQUEST_CODE, 1) + b"\0\0\0\1"
    for opening in (cancel, b"GET / HTTP/1.1\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(opening)
            assert s.recv(4096) == b""
    assert seen == []


def test_silent_client_is_dropped_after_the_timeout() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert await refusal.refuse_pg_host(reader, writer, "127.0.0.1", timeout=0.2) is None

    with serve(handler) as port, socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        assert s.recv(4096) == b""
