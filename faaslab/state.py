"""The control plane's own records, in SQLite in the state dir (`faaslab.db`).

Clusters, their RDS events, metric samples, activations (for billing) and capacity
changes live here, so a restart of `faaslab up` (or a `kill -9`) loses none of them.
One writer: the control plane's event loop, which owns the only connection. WAL mode with
synchronous=NORMAL survives a killed process (the OS still holds the pages); every write
is its own transaction unless grouped with `transaction()`.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS clusters (
    identifier TEXT PRIMARY KEY,
    spec       TEXT NOT NULL,          -- ClusterSpec as JSON
    state      TEXT NOT NULL,
    capacity   REAL NOT NULL,
    port       INTEGER NOT NULL UNIQUE,
    created    REAL NOT NULL,
    source     TEXT NOT NULL           -- 'template' or 'cli'
);
CREATE TABLE IF NOT EXISTS events (
    id         INTEGER PRIMARY KEY,
    source     TEXT NOT NULL,          -- the cluster identifier
    time       REAL NOT NULL,
    code       TEXT NOT NULL,          -- RDS-EVENT-0144 ...
    message    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_source ON events (source, id);
CREATE TABLE IF NOT EXISTS metrics (
    source     TEXT NOT NULL,
    name       TEXT NOT NULL,
    time       REAL NOT NULL,
    value      REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS metrics_by_name ON metrics (source, name, time);
CREATE TABLE IF NOT EXISTS activations (
    id         INTEGER PRIMARY KEY,
    cluster    TEXT NOT NULL,
    start      REAL NOT NULL,          -- wall time
    end        REAL,                   -- NULL while active
    scale      REAL NOT NULL           -- --time-scale then: emulated seconds = real x scale
);
CREATE TABLE IF NOT EXISTS capacity_changes (
    cluster    TEXT NOT NULL,
    time       REAL NOT NULL,
    capacity   REAL NOT NULL
);
"""


def open_db(path: Path, schema: str) -> sqlite3.Connection:
    """A connection in autocommit mode (so `transaction()` controls grouping), in WAL mode
    with synchronous=NORMAL (see above), with `schema` applied. Shared by the secret store."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(schema)
    return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, taking the write lock up front (BEGIN IMMEDIATE) so that no
    statement inside it can fail on a lock; rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@dataclass(frozen=True)
class EventRecord:
    id: int
    source: str
    time: float
    code: str
    message: str


class StateDB:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = open_db(path, SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        return transaction(self.conn)

    # -- clusters
    def save_cluster(
        self,
        identifier: str,
        spec: dict[str, Any],
        state: str,
        capacity: float,
        port: int,
        created: float,
        source: str,
    ) -> None:
        self.conn.execute(
            "INSERT INTO clusters VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(identifier) DO UPDATE "
            "SET spec=excluded.spec, state=excluded.state, capacity=excluded.capacity, "
            "port=excluded.port, source=excluded.source",
            (identifier, json.dumps(spec), state, capacity, port, created, source),
        )

    def set_cluster_state(self, identifier: str, state: str, capacity: float) -> None:
        self.conn.execute(
            "UPDATE clusters SET state = ?, capacity = ? WHERE identifier = ?",
            (state, capacity, identifier),
        )

    def clusters(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT identifier, spec, state, capacity, port, created, source FROM clusters "
            "ORDER BY created"
        ).fetchall()
        return [
            {
                "identifier": r[0],
                "spec": json.loads(r[1]),
                "state": r[2],
                "capacity": r[3],
                "port": r[4],
                "created": r[5],
                "source": r[6],
            }
            for r in rows
        ]

    def delete_cluster(self, identifier: str) -> None:
        with self.transaction():
            for table, column in (
                ("clusters", "identifier"),
                ("events", "source"),
                ("metrics", "source"),
                ("activations", "cluster"),
                ("capacity_changes", "cluster"),
            ):
                self.conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (identifier,))

    # -- events
    def add_event(self, source: str, time: float, code: str, message: str) -> EventRecord:
        cur = self.conn.execute(
            "INSERT INTO events (source, time, code, message) VALUES (?, ?, ?, ?)",
            (source, time, code, message),
        )
        return EventRecord(int(cur.lastrowid or 0), source, time, code, message)

    def events(self, source: str, after_id: int = 0) -> list[EventRecord]:
        rows = self.conn.execute(
            "SELECT id, source, time, code, message FROM events WHERE source = ? AND id > ? "
            "ORDER BY id",
            (source, after_id),
        ).fetchall()
        return [EventRecord(*r) for r in rows]

    # -- metrics
    def add_metrics(self, source: str, time: float, values: dict[str, float]) -> None:
        self.conn.executemany(
            "INSERT INTO metrics VALUES (?, ?, ?, ?)",
            [(source, name, time, value) for name, value in values.items()],
        )

    def prune_metrics(self, before: float) -> None:
        """Forget samples older than `before` (CloudWatch keeps 1-minute data 15 days)."""
        self.conn.execute("DELETE FROM metrics WHERE time < ?", (before,))

    def metrics(self, source: str, name: str, since: float = 0.0) -> list[tuple[float, float]]:
        rows = self.conn.execute(
            "SELECT time, value FROM metrics WHERE source = ? AND name = ? AND time >= ? "
            "ORDER BY time",
            (source, name, since),
        ).fetchall()
        return [(float(t), float(v)) for t, v in rows]

    # -- billing records
    def open_activation(self, cluster: str, start: float, scale: float) -> None:
        self.conn.execute(
            "INSERT INTO activations (cluster, start, end, scale) VALUES (?, ?, NULL, ?)",
            (cluster, start, scale),
        )

    def close_activation(self, cluster: str, end: float) -> None:
        self.conn.execute(
            "UPDATE activations SET end = ? WHERE cluster = ? AND end IS NULL", (end, cluster)
        )

    def activations(self, cluster: str) -> list[tuple[float, float | None, float]]:
        rows = self.conn.execute(
            "SELECT start, end, scale FROM activations WHERE cluster = ? ORDER BY id", (cluster,)
        ).fetchall()
        return [(float(s), None if e is None else float(e), float(k)) for s, e, k in rows]

    def add_capacity_change(self, cluster: str, time: float, capacity: float) -> None:
        self.conn.execute(
            "INSERT INTO capacity_changes VALUES (?, ?, ?)", (cluster, time, capacity)
        )

    def capacity_changes(self, cluster: str) -> list[tuple[float, float]]:
        rows = self.conn.execute(
            "SELECT time, capacity FROM capacity_changes WHERE cluster = ? ORDER BY time",
            (cluster,),
        ).fetchall()
        return [(float(t), float(c)) for t, c in rows]
