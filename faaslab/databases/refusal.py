"""Protocol-level "you may not connect" answers for a cluster endpoint.

A client the endpoint turns away (an address outside the cluster's ingress rules, too many
connections, a cluster being deleted) gets a clean error in its own wire protocol, as the
real server would send it, instead of a connection reset.

Two layers:
- sans-I/O builders and parsers (bytes in, bytes out): `mysql_error_packet`,
  `parse_pg_startup`, `pg_error_response` and the canned refusals built on them;
- small async drivers over an `asyncio.StreamReader`/`StreamWriter` pair that speak the
  few bytes of handshake needed and then close: `refuse_mysql`, `read_pg_startup`,
  `refuse_pg`, `refuse_pg_host`. They never raise for a misbehaving client; they close.

MySQL/MariaDB: the server speaks first, so the refusal is a single ERR packet (sequence id
0) sent instead of the greeting. Before the handshake the client's capabilities are
unknown, so, like MariaDB, no SQL-state marker is sent; clients report HY000.

PostgreSQL: the client speaks first. An SSLRequest or GSSENCRequest is answered 'N'
("not here, carry on in clear"), then the real StartupMessage names the user and database
that PostgreSQL's own pg_hba.conf refusal quotes. A CancelRequest is just closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

HANDSHAKE_TIMEOUT_S = 10.0  # a client that sends nothing is dropped after this

# --- MySQL / MariaDB

ER_CON_COUNT_ERROR = 1040  # "Too many connections"
ER_HOST_NOT_PRIVILEGED = 1130  # "Host '%s' is not allowed to connect to this MariaDB server"
MYSQL_MAX_PAYLOAD = 0xFFFFFF - 1  # one packet; an error message is never near this


def mysql_packet(payload: bytes, sequence_id: int = 0) -> bytes:
    """Frame one packet: 3-byte little-endian length, sequence id, payload."""
    if len(payload) > MYSQL_MAX_PAYLOAD:
        raise ValueError(f"MySQL payload too large for one packet: {len(payload)} bytes")
    if not 0 <= sequence_id <= 0xFF:
        raise ValueError(f"MySQL sequence id must be 0-255, got {sequence_id}")
    return struct.pack("<I", len(payload))[:3] + bytes([sequence_id]) + payload


def mysql_error_packet(
    code: int, message: str, *, sql_state: str | None = None, sequence_id: int = 0
) -> bytes:
    """An ERR packet: 0xFF, error code, optional '#' + 5-char SQL state, message."""
    if not 0 <= code <= 0xFFFF:
        raise ValueError(f"MySQL error code must fit 2 bytes, got {code}")
    payload = b"\xff" + struct.pack("<H", code)
    if sql_state is not None:
        if len(sql_state) != 5 or not sql_state.isascii():
            raise ValueError(f"SQL state must be 5 ASCII characters, got {sql_state!r}")
        payload += b"#" + sql_state.encode("ascii")
    return mysql_packet(payload + message.encode("utf-8"), sequence_id)


def mysql_host_not_allowed(ip: str) -> bytes:
    """MariaDB's answer to a host no account may connect from (pre-handshake)."""
    return mysql_error_packet(
        ER_HOST_NOT_PRIVILEGED, f"Host '{ip}' is not allowed to connect to this MariaDB server"
    )


def mysql_too_many_connections() -> bytes:
    """MariaDB's answer when max_connections is reached (pre-handshake)."""
    return mysql_error_packet(ER_CON_COUNT_ERROR, "Too many connections")


# --- PostgreSQL

PG_PROTOCOL_3_0 = 3 << 16  # 196608
PG_CANCEL_REQUEST_CODE = 80877102
PG_SSL_REQUEST_CODE = 80877103
PG_GSSENC_REQUEST_CODE = 80877104
PG_MAX_STARTUP_PACKET = 10000  # PostgreSQL's MAX_STARTUP_PACKET_LENGTH
PG_ENCRYPTION_REFUSED = b"N"  # the one-byte answer to SSLRequest / GSSENCRequest

SQLSTATE_INVALID_AUTHORIZATION = "28000"  # invalid_authorization_specification
SQLSTATE_CANNOT_CONNECT_NOW = "57P03"  # cannot_connect_now


class RefusalProtocolError(ValueError):
    """The client's bytes are not the protocol it claims to speak."""


class StartupKind(enum.StrEnum):
    STARTUP = "startup"
    SSL_REQUEST = "ssl_request"
    GSSENC_REQUEST = "gssenc_request"
    CANCEL_REQUEST = "cancel_request"


_REQUEST_CODES = {
    PG_SSL_REQUEST_CODE: StartupKind.SSL_REQUEST,
    PG_GSSENC_REQUEST_CODE: StartupKind.GSSENC_REQUEST,
    PG_CANCEL_REQUEST_CODE: StartupKind.CANCEL_REQUEST,
}


@dataclass(frozen=True)
class PgStartup:
    """One packet a PostgreSQL client opens with."""

    kind: StartupKind
    protocol: int  # the code field: a protocol version, or a request code
    parameters: dict[str, str] = field(default_factory=dict)

    @property
    def user(self) -> str:
        return self.parameters.get("user", "")

    @property
    def database(self) -> str:
        """As PostgreSQL defaults it: the user's name when none is given."""
        return self.parameters.get("database") or self.user


def parse_pg_startup(packet: bytes) -> PgStartup:
    """Parse a whole startup-phase packet (Int32 length, Int32 code, body)."""
    if len(packet) < 8:
        raise RefusalProtocolError(f"startup packet too short: {len(packet)} bytes")
    length, code = struct.unpack("!II", packet[:8])
    if length != len(packet):
        raise RefusalProtocolError(f"startup packet says {length} bytes but has {len(packet)}")
    if code in _REQUEST_CODES:
        return PgStartup(_REQUEST_CODES[code], code)
    if code >> 16 != 3:
        raise RefusalProtocolError(f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}")
    body = packet[8:]  # name\0value\0 ... \0
    if not body.endswith(b"\0"):
        raise RefusalProtocolError("startup parameters are not NUL-terminated")
    pairs = body[:-1]
    if pairs and not pairs.endswith(b"\0"):
        raise RefusalProtocolError("startup parameters are not NUL-terminated")
    fields = pairs[:-1].split(b"\0") if pairs else []
    if len(fields) % 2:
        raise RefusalProtocolError("startup parameters are not name/value pairs")
    try:
        decoded = [f.decode("utf-8") for f in fields]
    except UnicodeDecodeError as e:
        raise RefusalProtocolError(f"startup parameters are not UTF-8: {e}") from None
    return PgStartup(StartupKind.STARTUP, code, dict(zip(decoded[::2], decoded[1::2], strict=True)))


def pg_error_response(
    message: str,
    *,
    sqlstate: str,
    severity: str = "FATAL",
    detail: str | None = None,
    hint: str | None = None,
) -> bytes:
    """An ErrorResponse ('E') message: severity (S and non-localised V), code, message."""
    if len(sqlstate) != 5 or not sqlstate.isascii():
        raise ValueError(f"SQLSTATE must be 5 ASCII characters, got {sqlstate!r}")
    fields: list[tuple[bytes, str]] = [
        (b"S", severity),
        (b"V", severity),
        (b"C", sqlstate),
        (b"M", message),
    ]
    if detail is not None:
        fields.append((b"D", detail))
    if hint is not None:
        fields.append((b"H", hint))
    body = b"".join(tag + value.encode("utf-8") + b"\0" for tag, value in fields) + b"\0"
    return b"E" + struct.pack("!I", len(body) + 4) + body


def pg_hba_rejection(ip: str, user: str, database: str) -> bytes:
    """PostgreSQL's refusal of an address no pg_hba.conf line admits (connection in clear)."""
    return pg_error_response(
        f'no pg_hba.conf entry for host "{ip}", user "{user}", database "{database}", '
        "no encryption",
        sqlstate=SQLSTATE_INVALID_AUTHORIZATION,
    )


def pg_cannot_connect_now(message: str = "the database system is starting up") -> bytes:
    """A 57P03 refusal (starting up, shutting down, being deleted: say which)."""
    return pg_error_response(message, sqlstate=SQLSTATE_CANNOT_CONNECT_NOW)


# --- async drivers


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError, OSError):
        await writer.wait_closed()


async def send_and_close(writer: asyncio.StreamWriter, data: bytes) -> None:
    """Write `data`, flush it and close; a client already gone is not an error."""
    try:
        writer.write(data)
        await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        await _close(writer)


async def refuse_mysql(writer: asyncio.StreamWriter, packet: bytes) -> None:
    """Send a pre-handshake ERR packet (e.g. `mysql_host_not_allowed(ip)`) and close."""
    await send_and_close(writer, packet)


async def read_pg_startup(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> PgStartup:
    """Read up to the client's StartupMessage, answering 'N' to encryption requests.

    Returns the StartupMessage, or a CancelRequest. Raises RefusalProtocolError for bytes
    that are not PostgreSQL, and asyncio.IncompleteReadError if the client hangs up.
    """
    for _ in range(3):  # at most GSSENCRequest, then SSLRequest, then the startup
        header = await reader.readexactly(4)
        (length,) = struct.unpack("!I", header)
        if not 8 <= length <= PG_MAX_STARTUP_PACKET:
            raise RefusalProtocolError(f"invalid startup packet length {length}")
        startup = parse_pg_startup(header + await reader.readexactly(length - 4))
        if startup.kind in (StartupKind.SSL_REQUEST, StartupKind.GSSENC_REQUEST):
            writer.write(PG_ENCRYPTION_REFUSED)
            await writer.drain()
            continue
        return startup
    raise RefusalProtocolError("too many encryption requests before the startup message")


async def refuse_pg(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    respond: Callable[[PgStartup], bytes],
    *,
    timeout: float = HANDSHAKE_TIMEOUT_S,
) -> PgStartup | None:
    """Read the client's startup, send `respond(startup)` and close.

    Returns the StartupMessage answered, or None if the client sent a CancelRequest,
    garbage, nothing within `timeout`, or hung up (then it is closed without a word).
    """
    try:
        async with asyncio.timeout(timeout):
            startup = await read_pg_startup(reader, writer)
    except (TimeoutError, RefusalProtocolError, asyncio.IncompleteReadError, ConnectionError):
        await _close(writer)
        return None
    if startup.kind is not StartupKind.STARTUP:
        await _close(writer)
        return None
    await send_and_close(writer, respond(startup))
    return startup


async def refuse_pg_host(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    ip: str,
    *,
    timeout: float = HANDSHAKE_TIMEOUT_S,
) -> PgStartup | None:
    """Refuse a PostgreSQL client from `ip` as pg_hba.conf would."""
    return await refuse_pg(
        reader,
        writer,
        lambda s: pg_hba_rejection(ip, s.user, s.database),
        timeout=timeout,
    )
