"""Driver connections the Data API runs statements on, and a short-lived pool of them.

The Data API is HTTP: each call would otherwise pay a MariaDB/PostgreSQL login (1-5 ms)
for a statement that takes 0.1 ms. Connections are therefore kept for IDLE_S after a call
and reused by the next call with the same cluster, user, password and database. Why so
short: a pooled connection is an engine session, and AWS counts Data API connections as
activity for auto-pause only while a call or transaction is open. Every open connection
counts as one client of its cluster (Cluster.client_connected, until it closes), so a
cluster pauses no earlier than a quarter second after the last call, and a run of calls
does not start (and end) an idle period each. The engine checks the password itself,
every login.

The drivers run on the event loop (aiomysql, psycopg's AsyncConnection), one statement at
a time per connection. Why not the blocking drivers in a thread: handing a statement to a
worker thread and the result back to the loop cost 100-160 us per call on this class of
machine, as much as the statement itself (benchmarks/data_api.py); an asyncio driver waits
for the engine's answer the way the loop waits for any socket.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiomysql  # type: ignore[import-untyped]
import psycopg
import pymysql.converters

from faaslab.databases.model import Engine
from faaslab.rdsdata import fields
from faaslab.rdsdata.sql import Engine as Dialect

IDLE_S = 0.25
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Target:
    """Where and as whom: what makes two connections interchangeable."""

    cluster: str
    engine: Engine
    socket: str  # MariaDB: the socket file; PostgreSQL: its directory
    port: int  # PostgreSQL: the port naming its socket
    user: str
    password: str
    database: str

    @property
    def dialect(self) -> Dialect:
        """The engine as `sql` and `fields` name it."""
        return "mysql" if self.engine is Engine.MYSQL else "postgresql"


@dataclass(slots=True)
class Result:
    description: list[fields.Column] | None  # None: the statement returned no result set
    rows: list[tuple[Any, ...]]
    rowcount: int
    lastrowid: int | None


@dataclass(eq=False)
class Connection:
    target: Target
    raw: Any  # aiomysql.Connection | psycopg.AsyncConnection
    cursor: Any  # one per connection, reused: a new one costs ~10 us per call
    in_transaction: bool = False
    closed: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # a statement left running past the Data API's timeout (continueAfterTimeout): the
    # connection is not used again, and the call's release waits, until it ends
    running: asyncio.Task[Any] | None = None
    on_close: Callable[[], None] | None = None  # called once, when the session ends

    @property
    def mysql(self) -> bool:
        return self.target.engine is Engine.MYSQL

    async def execute(self, sql: str, params: list[Any], metadata: bool = False) -> Result:
        """Run one statement. `metadata`: also what only PostgreSQL's catalog knows (table
        names, NOT NULL, serial) — a second query, so only when columnMetadata is asked for."""
        cur = self.cursor
        if self.mysql:
            if params:  # (what PyMySQL's cursor does with args, bytes escaped correctly)
                sql = sql % tuple(_mysql_literal(self.raw, v) for v in params)
            await cur.execute(sql)  # (buffered: reads the whole result)
            if not cur.description:
                return Result(None, [], cur.rowcount, cur.lastrowid)
            description = fields.describe(cur, "mysql")
            return Result(description, list(await cur.fetchall()), cur.rowcount, None)
        await cur.execute(sql, params or None)
        if cur.description is None:
            return Result(None, [], cur.rowcount, None)
        description = await fields.describe_async(cur, "postgresql", catalog=metadata)
        return Result(description, await cur.fetchall(), cur.rowcount, None)

    async def begin(self) -> None:
        if self.mysql:
            await self.raw.begin()
        else:
            await self.raw.execute("BEGIN")
        self.in_transaction = True

    async def commit(self) -> None:
        await self.raw.commit()
        self.in_transaction = False

    async def rollback(self) -> None:
        await self.raw.rollback()
        self.in_transaction = False

    async def stop(self) -> None:
        """End the session and the statement it may be running. (MariaDB runs on a statement
        whose client went away: it is killed from a second session, as Connector/J's
        Statement.cancel does. psycopg has already cancelled it when its wait is cancelled.)"""
        thread = self.raw.thread_id() if self.mysql and not self.closed else None
        self.close()
        if thread is not None:
            try:
                killer = await open_connection(self.target, 5)
            except Exception as e:  # (the engine went away too)
                log.warning("could not stop MariaDB session %s: %s", thread, e)
                return
            try:
                await killer.execute(f"KILL {int(thread)}", [])
            except Exception as e:  # (it ended by itself meanwhile)
                log.debug("KILL %s: %s", thread, e)
            finally:
                killer.close()

    def close(self) -> None:
        """Drop the session at once (the engine rolls back what it had open)."""
        if not self.closed:
            self.closed = True
            if self.on_close is not None:
                self.on_close()
                self.on_close = None
            if self.mysql:
                self.raw.close()  # (aiomysql: closes the socket; COM_QUIT would need a wait)
            else:
                self.raw.pgconn.finish()  # (what AsyncConnection.close does, without a pool)


def _mysql_literal(raw: Any, value: Any) -> str:
    """`value` as an SQL literal. aiomysql 0.3's own escaping of bytes uses a name PyMySQL
    1.2 turned into a placeholder string (PyMySQL issue 1274); PyMySQL's escape_bytes gives
    `_binary X'..'`, as PyMySQL's binary_prefix did."""
    if isinstance(value, bytes | bytearray):
        return str(pymysql.converters.escape_bytes(bytes(value)))
    return str(raw.escape(value))


async def open_connection(target: Target, timeout: float) -> Connection:
    """Log in. Raises the driver's errors (wrong password, unknown database)."""
    if target.engine is Engine.MYSQL:
        raw: Any = await aiomysql.connect(
            unix_socket=target.socket,
            user=target.user,
            password=target.password,
            db=target.database or None,
            autocommit=True,
            connect_timeout=timeout,
            charset="utf8mb4",
        )
        cursor = await raw.cursor()
    else:
        raw = await psycopg.AsyncConnection.connect(
            host=target.socket,
            port=target.port,
            user=target.user,
            password=target.password,
            dbname=target.database or "postgres",
            autocommit=True,
            connect_timeout=max(1, int(timeout)),
            application_name="rds-data-api",
        )
        fields.prepare_psycopg(raw)
        cursor = raw.cursor()  # (after prepare_psycopg: a cursor copies the loaders)
    return Connection(target, raw, cursor)


class Pool:
    """Idle connections by Target, closed IDLE_S after their last use."""

    def __init__(self) -> None:
        self._idle: dict[Target, list[tuple[Connection, float]]] = {}
        self._sweep: asyncio.TimerHandle | None = None

    def take(self, target: Target) -> Connection | None:
        idle = self._idle.get(target)
        while idle:
            conn, _ = idle.pop()
            if not conn.closed:
                return conn
        return None

    def give_back(self, conn: Connection) -> None:
        if conn.closed or conn.in_transaction:
            conn.close()
            return
        self._idle.setdefault(conn.target, []).append((conn, time.monotonic()))
        if self._sweep is None:
            self._sweep = asyncio.get_running_loop().call_later(IDLE_S, self._expire)

    def _expire(self) -> None:
        self._sweep = None
        now = time.monotonic()
        for target, idle in list(self._idle.items()):
            keep = []
            for c, t in idle:
                if now - t < IDLE_S:
                    keep.append((c, t))
                else:
                    c.close()
            if keep:
                self._idle[target] = keep
            else:
                del self._idle[target]
        if self._idle:
            self._sweep = asyncio.get_running_loop().call_later(IDLE_S, self._expire)

    def close(self) -> None:
        """At shutdown: close every idle connection, telling no one."""
        for idle in self._idle.values():
            for c, _ in idle:
                c.on_close = None
                c.close()
        self._idle.clear()
        if self._sweep is not None:
            self._sweep.cancel()
