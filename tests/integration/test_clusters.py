"""Serverless clusters on the real engines, through the endpoint, with the real clients.

One `faaslab up` at --time-scale 300: AWS's minimum auto-pause of 300 s happens after 1 s.
Clusters are created with `faaslab db create` (the CLI a user types).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest

from tests.conftest import FIXTURES, ROOT, Faaslab, start_faaslab

SCALE = "300"
PASSWORD = "Secret-pass99"


def faaslab_cli(fl: Faaslab, *args: str, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "faaslab.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "FAASLAB_ENDPOINT": fl.url, **(env or {})},
    )
    assert out.returncode == 0, out.stderr + out.stdout
    return out.stdout


@pytest.fixture(scope="module")
def dbcloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faaslab]:
    fl = start_faaslab(
        FIXTURES / "dbcloud.yaml", tmp_path_factory.mktemp("db") / "s", "--time-scale", SCALE
    )
    yield fl
    assert fl.stop() == 0
    assert "Traceback" not in fl.log_path.read_text(), fl.log_path.read_text()


def create(fl: Faaslab, name: str, engine: str, *extra: str) -> dict[str, Any]:
    faaslab_cli(
        fl,
        "db",
        "create",
        name,
        "--engine",
        engine,
        "--master-username",
        "admin1",
        "--master-password",
        PASSWORD,
        "--database-name",
        "TEST",
        *extra,
    )
    return describe(fl, name)


def describe(fl: Faaslab, name: str) -> dict[str, Any]:
    result: dict[str, Any] = fl.get(f"/_faaslab/db/{name}")
    return result


def event_ids(fl: Faaslab, name: str) -> list[str]:
    return [e["EventId"] for e in fl.get(f"/_faaslab/db/{name}/events")["events"]]


def wait_for(predicate: Callable[[], bool], timeout: float = 20, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or predicate}")


def wait_status(fl: Faaslab, name: str, status: str, timeout: float = 20) -> None:
    wait_for(lambda: describe(fl, name)["Status"] == status, timeout, f"{name} {status}")


def connect(engine: str, port: int, password: str = PASSWORD, **kw: Any) -> Any:
    if engine == "mysql":
        return pymysql.connect(
            host="127.0.0.1",
            port=port,
            user="admin1",
            password=password,
            database="TEST",
            connect_timeout=30,
            **kw,
        )
    return psycopg.connect(
        host="127.0.0.1",
        port=port,
        user="admin1",
        password=password,
        dbname="TEST",
        connect_timeout=30,
        **kw,
    )


def query(conn: Any, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    cur = conn.cursor()
    cur.execute(sql, params or None)
    rows = list(cur.fetchall()) if cur.description else []
    cur.close()
    return rows


@pytest.fixture(scope="module", params=["mysql", "postgresql"])
def cluster(request: pytest.FixtureRequest, dbcloud: Faaslab) -> Iterator[tuple[str, str, int]]:
    engine = request.param
    name = f"c-{engine[:5]}"
    # 2 ACUs: max_connections 180 / 189, room for the 100-client test
    info = create(dbcloud, name, engine, "--min-capacity", "2", "--max-capacity", "4")
    yield name, engine, info["Port"]
    faaslab_cli(dbcloud, "db", "delete", name, "--yes")
    assert name not in [c["DBClusterIdentifier"] for c in dbcloud.get("/_faaslab/db")["clusters"]]


def test_created_cluster_serves_sql_through_its_endpoint(
    dbcloud: Faaslab, cluster: tuple[str, str, int]
) -> None:
    name, engine, port = cluster
    info = describe(dbcloud, name)
    assert info["Engine"] == f"aurora-{engine}"
    assert info["DBClusterArn"] == f"arn:aws:rds:us-east-1:123456789012:cluster:{name}"
    assert port not in (3306, 5432)
    with contextlib.closing(connect(engine, port)) as conn:
        query(conn, "CREATE TABLE IF NOT EXISTS mytable (id INT PRIMARY KEY, name VARCHAR(40))")
        query(conn, "INSERT INTO mytable VALUES (%s, %s)", (1, "Fred"))
        conn.commit()
        assert query(conn, "SELECT name FROM mytable WHERE id = %s", (1,)) == [("Fred",)]
    assert "RDS-EVENT-0170" in event_ids(dbcloud, name)


def test_wrong_password_is_refused(cluster: tuple[str, str, int]) -> None:
    _, engine, port = cluster
    expected = pymysql.err.OperationalError if engine == "mysql" else psycopg.OperationalError
    with pytest.raises(expected) as err:
        connect(engine, port, password="not-the-password")
    text = str(err.value)
    assert ("1045" in text) if engine == "mysql" else ("password authentication failed" in text)


def test_pauses_when_idle_and_resumes_on_connect_with_aws_events(
    dbcloud: Faaslab, cluster: tuple[str, str, int]
) -> None:
    name, engine, port = cluster
    wait_status(dbcloud, name, "paused")
    assert describe(dbcloud, name)["EnginePid"] is None  # the engine process is really gone
    ids = event_ids(dbcloud, name)
    assert ids[-2:] == ["RDS-EVENT-0144", "RDS-EVENT-0145"]
    texts = [e["Message"] for e in dbcloud.get(f"/_faaslab/db/{name}/events")["events"]]
    assert texts[-2:] == ["The DB cluster is being paused.", "The DB cluster is paused."]
    # A client connecting to the paused cluster is held, then served: no error, no retry.
    with contextlib.closing(connect(engine, port)) as conn:
        assert query(conn, "SELECT 1") == [(1,)]
        assert describe(dbcloud, name)["Status"] == "available"
    events = dbcloud.get(f"/_faaslab/db/{name}/events")["events"]
    assert [e["Message"] for e in events[-2:]] == [
        "The DB cluster is being resumed.",
        "The DB cluster is resumed.",
    ]
    # data survived the pause
    with contextlib.closing(connect(engine, port)) as conn:
        assert ("Fred",) in query(conn, "SELECT name FROM mytable")


def test_never_pauses_with_an_open_connection_or_transaction(
    dbcloud: Faaslab, cluster: tuple[str, str, int]
) -> None:
    name, engine, port = cluster
    conn = connect(engine, port)
    try:
        query(conn, "INSERT INTO mytable VALUES (%s, %s)", (2, "open-transaction"))  # not committed
        before = len(event_ids(dbcloud, name))
        time.sleep(3.5)  # 3.5 auto-pause periods at this time scale
        assert describe(dbcloud, name)["Status"] == "available"
        assert describe(dbcloud, name)["Connections"] == 1
        assert "RDS-EVENT-0144" not in event_ids(dbcloud, name)[before:]
        conn.commit()
    finally:
        conn.close()
    wait_status(dbcloud, name, "paused")  # the last client left: now it may pause


def test_hundred_clients_arriving_during_a_resume_are_all_served(
    dbcloud: Faaslab, cluster: tuple[str, str, int]
) -> None:
    name, engine, port = cluster
    wait_status(dbcloud, name, "paused")
    results: list[Any] = []
    start = threading.Barrier(100)

    def client(i: int) -> None:
        start.wait()
        try:
            with contextlib.closing(connect(engine, port)) as conn:
                results.append(query(conn, "SELECT %s", (i,))[0][0])
        except Exception as e:  # collected, reported below
            results.append(e)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors[:3]
    assert sorted(int(r) for r in results) == list(range(100))
    assert event_ids(dbcloud, name).count("RDS-EVENT-0147") == event_ids(dbcloud, name).count(
        "RDS-EVENT-0148"
    )


def test_client_leaving_mid_resume_leaves_no_stuck_state(
    dbcloud: Faaslab, cluster: tuple[str, str, int]
) -> None:
    name, _engine, port = cluster
    wait_status(dbcloud, name, "paused")
    with socket.create_connection(("127.0.0.1", port)):
        pass  # connect and hang up at once: the resume goes on without it
    wait_for(lambda: describe(dbcloud, name)["Connections"] == 0, what="connections 0")
    wait_status(dbcloud, name, "paused")  # resumed, then paused again: nothing held it
    ids = event_ids(dbcloud, name)
    assert ids[-4:] == ["RDS-EVENT-0147", "RDS-EVENT-0148", "RDS-EVENT-0144", "RDS-EVENT-0145"]


def test_engine_killed_during_writes_keeps_every_committed_row(
    dbcloud: Faaslab, cluster: tuple[str, str, int]
) -> None:
    name, engine, port = cluster
    committed: list[int] = []
    conn = connect(engine, port)
    query(conn, "CREATE TABLE IF NOT EXISTS crash (id INT PRIMARY KEY)")
    conn.commit()
    pid = describe(dbcloud, name)["EnginePid"]
    assert pid

    def writer() -> None:
        try:
            for i in range(100_000):
                query(conn, "INSERT INTO crash VALUES (%s)", (i,))
                conn.commit()
                committed.append(i)
        except Exception:  # the engine died under us: expected
            return

    thread = threading.Thread(target=writer)
    thread.start()
    wait_for(lambda: len(committed) > 50, what="some commits")
    os.kill(pid, signal.SIGKILL)
    thread.join(30)
    with contextlib.suppress(Exception):
        conn.close()
    assert committed
    wait_status(dbcloud, name, "paused")  # the engine's death is noticed and recorded
    assert any(
        "stopped unexpectedly" in e["Message"]
        for e in dbcloud.get(f"/_faaslab/db/{name}/events")["events"]
    )
    with contextlib.closing(connect(engine, port)) as conn2:  # resumes: crash recovery
        rows = {r[0] for r in query(conn2, "SELECT id FROM crash")}
    assert set(committed) <= rows


def test_db_connect_runs_the_engines_own_client(
    dbcloud: Faaslab, cluster: tuple[str, str, int]
) -> None:
    name, engine, _ = cluster
    if engine == "mysql":
        out = faaslab_cli(
            dbcloud,
            "db",
            "connect",
            name,
            "--",
            "-e",
            "SELECT name FROM mytable ORDER BY id",
            env={"MYSQL_PWD": PASSWORD},
        )
    else:
        out = faaslab_cli(
            dbcloud,
            "db",
            "connect",
            name,
            "--",
            "-c",
            "SELECT name FROM mytable ORDER BY id",
            env={"PGPASSWORD": PASSWORD},
        )
    assert "Fred" in out


def test_list_and_describe_show_the_cluster(
    dbcloud: Faaslab, cluster: tuple[str, str, int]
) -> None:
    name, _engine, port = cluster
    listing = faaslab_cli(dbcloud, "db", "list")
    assert name in listing and f"127.0.0.1:{port}" in listing
    described = json.loads(faaslab_cli(dbcloud, "db", "describe", name, "--json"))
    assert described["Port"] == port and described["MasterUsername"] == "admin1"


def test_db_modify_changes_the_capacity_range(
    dbcloud: Faaslab, cluster: tuple[str, str, int]
) -> None:
    """`faaslab db modify` on a v1 cluster (PATCH /_faaslab/db/ID): ScalingConfiguration's
    keys; what is not given stays; a refusal names the values and changes nothing."""
    name, _engine, _port = cluster

    def modify(*options: str) -> subprocess.CompletedProcess[str]:
        """Modified once the cluster is available or paused (it pauses after 1 s idle)."""
        argv = [sys.executable, "-m", "faaslab.cli", "db", "modify", name, *options]
        argv += ["--endpoint", dbcloud.url]
        while True:
            out = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=120)
            if "is not in the available state" not in out.stderr:
                return out
            wait_for(lambda: describe(dbcloud, name)["Status"] in ("available", "paused"))

    try:
        out = modify("--max-capacity", "8", "--no-auto-pause", "--enable-http-endpoint", "--json")
        assert out.returncode == 0, out.stderr
        modified = json.loads(out.stdout)
        assert (modified["MinCapacity"], modified["MaxCapacity"]) == (2, 8)
        assert modified["AutoPause"] is False and modified["HttpEndpointEnabled"] is True
        assert describe(dbcloud, name)["MaxCapacity"] == 8
        refused = modify("--min-capacity", "16")
        assert refused.returncode != 0
        assert "MinCapacity 16 is greater than MaxCapacity 8" in refused.stderr, refused.stderr
        assert describe(dbcloud, name)["MinCapacity"] == 2
    finally:  # (the module's other tests expect the cluster as created)
        restored = modify("--max-capacity", "4", "--auto-pause", "--disable-http-endpoint")
        assert restored.returncode == 0, restored.stderr


def test_bad_create_options_get_aws_messages(dbcloud: Faaslab) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "faaslab.cli",
            "db",
            "create",
            "bad",
            "--engine",
            "mysql",
            "--min-capacity",
            "3",
            "--master-password",
            PASSWORD,
            "--endpoint",
            dbcloud.url,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode != 0
    assert "3" in out.stderr and "1, 2, 4" in out.stderr  # names the allowed capacities
    assert "bad" not in [c["DBClusterIdentifier"] for c in dbcloud.get("/_faaslab/db")["clusters"]]


def test_restart_keeps_clusters_data_and_events(tmp_path: Path) -> None:
    state = tmp_path / "s"
    fl = start_faaslab(FIXTURES / "dbcloud.yaml", state, "--time-scale", SCALE)
    try:
        info = create(fl, "keep", "mysql", "--auto-pause", "0")
        with contextlib.closing(connect("mysql", info["Port"])) as conn:
            query(conn, "CREATE TABLE kept (v VARCHAR(10))")
            query(conn, "INSERT INTO kept VALUES ('before')")
            conn.commit()
        events_before = fl.get("/_faaslab/db/keep/events")["events"]
        cost_before = fl.get("/_faaslab/db/keep/cost")
    finally:
        assert fl.stop() == 0
    fl = start_faaslab(FIXTURES / "dbcloud.yaml", state, "--time-scale", SCALE)
    try:
        after = describe(fl, "keep")
        assert after["Port"] == info["Port"] and after["Status"] == "available"
        with contextlib.closing(connect("mysql", info["Port"])) as conn:
            assert query(conn, "SELECT v FROM kept") == [("before",)]
        assert fl.get("/_faaslab/db/keep/events")["events"][: len(events_before)] == events_before
        cost_after = fl.get("/_faaslab/db/keep/cost")
        assert len(cost_after["activations"]) == len(cost_before["activations"]) + 1
        assert cost_after["billed_acu_seconds"] >= cost_before["billed_acu_seconds"]
    finally:
        assert fl.stop() == 0


def test_local_clients_connect_straight_to_the_running_engine(
    dbcloud: Faaslab, cluster: tuple[str, str, int]
) -> None:
    name, engine, port = cluster
    # The cluster may have paused since the last test (1 s idle at this time scale, more
    # on a busy machine): a first client resumes it through the endpoint and keeps it
    # awake; the next connect finds it running and goes straight to the engine.
    with (
        contextlib.closing(connect(engine, port)) as first,
        contextlib.closing(connect(engine, port)) as conn,
    ):
        query(first, "SELECT 1")
        query(conn, "SELECT 1")
        info = describe(dbcloud, name)
        assert info["Status"] == "available"
        direct = info["DirectPort"]
        assert direct and direct != port
        # the kernel rewrote the connect: the client's peer is the engine's own port
        sock = conn._sock if engine == "mysql" else socket.socket(fileno=os.dup(conn.fileno()))
        try:
            assert sock.getpeername()[1] == direct
        finally:
            if engine != "mysql":
                sock.close()


def test_without_the_fast_path_the_endpoint_proxies_everything(tmp_path: Path) -> None:
    fl = start_faaslab(
        FIXTURES / "dbcloud.yaml", tmp_path / "s", "--time-scale", SCALE, "--no-db-fast-path"
    )
    try:
        info = create(fl, "proxied", "mysql")
        assert info["DirectPort"] is None
        assert "user-space proxy" in fl.get("/_faaslab/db")["endpoint_paths"]
        assert "cluster endpoints: a user-space proxy" in fl.log_path.read_text()
        with contextlib.closing(connect("mysql", info["Port"])) as conn:
            assert conn._sock.getpeername()[1] == info["Port"]
            query(conn, "CREATE TABLE t (v INT)")
            query(conn, "INSERT INTO t VALUES (1)")
            conn.commit()
            assert describe(fl, "proxied")["Connections"] == 1
        wait_status(fl, "proxied", "paused")
        with contextlib.closing(connect("mysql", info["Port"])) as conn:
            assert query(conn, "SELECT v FROM t") == [(1,)]
    finally:
        assert fl.stop() == 0


@pytest.mark.parametrize("engine", ["mysql", "postgresql"])
def test_kill_9_of_faaslab_stops_the_engine_and_a_restart_keeps_the_data(
    tmp_path: Path, engine: str
) -> None:
    state = tmp_path / "s"
    fl = start_faaslab(FIXTURES / "dbcloud.yaml", state, "--time-scale", SCALE)
    info = create(fl, "crashy", engine, "--min-capacity", "2", "--auto-pause", "0")
    with contextlib.closing(connect(engine, info["Port"])) as conn:
        query(conn, "CREATE TABLE kept (v VARCHAR(10))")
        query(conn, "INSERT INTO kept VALUES ('committed')")
        conn.commit()
    engine_pid = describe(fl, "crashy")["EnginePid"]
    fl.proc.kill()
    fl.proc.wait()

    def engine_gone() -> bool:
        try:
            os.kill(engine_pid, 0)
        except ProcessLookupError:
            return True
        try:  # a zombie until its (dead) parent is reaped
            stat = Path(f"/proc/{engine_pid}/stat").read_text()
        except OSError:
            return True
        return stat.rsplit(")", 1)[1].split()[0] == "Z"

    wait_for(engine_gone, 30, "the orphaned engine to stop")
    fl = start_faaslab(FIXTURES / "dbcloud.yaml", state, "--time-scale", SCALE)
    try:
        assert describe(fl, "crashy")["Status"] == "available"
        with contextlib.closing(connect(engine, info["Port"])) as conn:
            assert query(conn, "SELECT v FROM kept") == [("committed",)]
    finally:
        assert fl.stop() == 0
