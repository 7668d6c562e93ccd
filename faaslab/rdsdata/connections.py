"""Driver connections the Data API runs statements on, and a short-lived pool of them.

The Data API is HTTP: each call would otherwise pay a MariaDB/PostgreSQL login (1-5 ms)
for a statement that takes 0.1 ms. Connections are therefore kept for IDLE_S after a call
and reused by the next call with the same cluster, user, password and database. Why so
short: a pooled connection is an engine session, and AWS counts Data API connections as
activity for auto-pause only while a call or transaction is open. Closing idle ones after
a quarter second keeps the pool out of the pause decision (the endpoint's session watch
sees at most a quarter second more). The engine checks the password itself, every login.

The drivers are blocking: calls run in a thread (asyncio.to_thread), one statement at a
time per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import psycopg
import pymysql

from faaslab.databases.model import Engine
from faaslab.rdsdata import fields

IDLE_S = 0.25


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


@dataclass(slots=True)
class Result:
    description: list[fields.Column] | None  # None: the statement returned no result set
    rows: list[tuple[Any, ...]]
    rowcount: int
    lastrowid: int | None


@dataclass(eq=False)
class Connection:
    target: Target
    raw: Any
    in_transaction: bool = False
    closed: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def mysql(self) -> bool:
        return self.target.engine is Engine.MYSQL

    # -- blocking, run in a thread
    def execute(self, sql: str, params: list[Any], metadata: bool = False) -> Result:
        """Run one statement. `metadata`: also what only PostgreSQL's catalog knows (table
        names, NOT NULL, serial) — a second query, so only when columnMetadata is asked for."""
        cur = self.raw.cursor()
        try:
            cur.execute(sql, params or None)
            engine: Literal["mysql", "postgresql"] = "mysql" if self.mysql else "postgresql"
            description = (
                fields.describe(cur, engine, catalog=metadata) if cur.description else None
            )
            rows = list(cur.fetchall()) if description else []
            lastrowid = cur.lastrowid if self.mysql else None
            return Result(description, rows, cur.rowcount, lastrowid)
        finally:
            cur.close()

    def begin(self) -> None:
        if self.mysql:
            self.raw.begin()
        else:
            self.raw.execute("BEGIN")
        self.in_transaction = True

    def commit(self) -> None:
        self.raw.commit()
        self.in_transaction = False

    def rollback(self) -> None:
        self.raw.rollback()
        self.in_transaction = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(Exception):
                self.raw.close()


def open_connection(target: Target, timeout: float) -> Connection:
    """Log in (blocking). Raises the driver's errors (wrong password, unknown database)."""
    if target.engine is Engine.MYSQL:
        raw: Any = pymysql.connect(
            unix_socket=target.socket,
            user=target.user,
            password=target.password,
            database=target.database or None,
            autocommit=True,
            connect_timeout=max(1, int(timeout)),
            charset="utf8mb4",
            binary_prefix=True,
        )
    else:
        raw = psycopg.connect(
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
    return Connection(target, raw)


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
            keep = [(c, t) for c, t in idle if now - t < IDLE_S]
            for c, t in idle:
                if now - t >= IDLE_S:
                    c.close()
            if keep:
                self._idle[target] = keep
            else:
                del self._idle[target]
        if self._idle:
            self._sweep = asyncio.get_running_loop().call_later(IDLE_S, self._expire)

    def close(self) -> None:
        for idle in self._idle.values():
            for c, _ in idle:
                c.close()
        self._idle.clear()
        if self._sweep is not None:
            self._sweep.cancel()
