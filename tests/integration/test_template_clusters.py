"""Clusters declared in a template: created by `faaslab up`, wired into functions, fenced
by security groups, and scaled under real load."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pymysql
import pytest

from tests.conftest import FIXTURES, Faaslab, invoke, running_faaslab, start_faaslab
from tests.integration.test_clusters import (
    PASSWORD,
    connect,
    create,
    describe,
    event_ids,
    query,
    wait_for,
    wait_status,
)

TEMPLATE_PASSWORD = "Template-pass99"  # the template's parameter default


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faaslab]:
    # --keep-alive: a day of emulated idle (~5 min here), so an environment stays warm
    # while a cluster is created (seconds, which --time-scale 300 makes emulated minutes)
    yield from running_faaslab(
        FIXTURES / "clusters.yaml",
        tmp_path_factory.mktemp("stack") / "s",
        "--time-scale",
        "300",
        "--keep-alive",
        "86400",
    )


def test_template_clusters_exist_and_avoid_the_machines_own_ports(stack: Faaslab) -> None:
    clusters = {c["DBClusterIdentifier"]: c for c in stack.get("/_faaslab/db")["clusters"]}
    assert set(clusters) == {"tutorial", "fenceddb"}
    assert clusters["tutorial"]["Engine"] == "aurora-mysql"
    assert clusters["fenceddb"]["Engine"] == "aurora-postgresql"
    assert clusters["fenceddb"]["ServerlessVersion"] == "v2"
    assert clusters["tutorial"]["Port"] != 3306  # asked for, but the system MariaDB has it
    warnings = stack.get("/_faaslab/db")["warnings"]
    assert any("3306" in w for w in warnings)
    assert "port 3306 belongs to this machine" in stack.log_path.read_text()


def test_function_reaches_the_cluster_through_getatt_wiring(stack: Faaslab) -> None:
    lam = stack.client()
    port = describe(stack, "tutorial")["Port"]
    _, out = invoke(lam, "dbprobe", {"name": "Fred"})
    assert out["names"] == ["Fred"]
    assert out["host"] == "127.0.0.1" and out["port"] == str(port)
    # Paused while idle; the next invocation's connection resumes it and is served.
    wait_status(stack, "tutorial", "paused")
    _, out = invoke(lam, "dbprobe", {"name": "Alice"})
    assert out["names"] == ["Fred", "Alice"]
    assert event_ids(stack, "tutorial")[-2:] == ["RDS-EVENT-0147", "RDS-EVENT-0148"]


def test_only_a_function_in_the_vpc_reaches_the_cluster(stack: Faaslab) -> None:
    lam = stack.client()
    _, inside = invoke(lam, "dbprobe", {"name": "Vpc"})
    assert "Vpc" in inside["names"]
    r, outside = invoke(lam, "dbprobeOutside", {"name": "Nobody"})
    assert r.get("FunctionError") == "Unhandled"
    # its own network namespace has nothing at the cluster's port: refused, as a cluster
    # without a public address is unreachable from outside its VPC on AWS
    assert outside["errorType"] == "OperationalError"
    assert "Connection refused" in outside["errorMessage"], outside
    _, again = invoke(lam, "dbprobe", {"name": "Vpc2"})
    assert "Nobody" not in again["names"]


def test_a_cluster_created_later_is_reachable_from_running_vpc_environments(
    stack: Faaslab,
) -> None:
    lam = stack.client()
    invoke(lam, "dbprobe", {"name": "Early"})  # an environment exists before the cluster
    before = {e["id"]: e["uses"] for e in stack.environments("dbprobe")}
    port = create(stack, "later", "mysql")["Port"]
    _, out = invoke(lam, "dbprobe", {"name": "Late", "port": port, "password": PASSWORD})
    assert out["names"] == ["Late"], out
    after = {e["id"]: e["uses"] for e in stack.environments("dbprobe")}
    assert any(after.get(i, 0) > uses for i, uses in before.items())  # a warm one served it


def test_ingress_holds_on_the_direct_path_too(stack: Faaslab) -> None:
    """`tutorial` admits 127.0.0.1/32 only. While it is available, local clients go
    straight to the engine (the eBPF connect hook); one bound to 127.0.0.2 must still be
    refused as the endpoint refuses it."""
    info = describe(stack, "tutorial")
    assert info["Ingress"] == ["127.0.0.1/32"]
    with connect("mysql", info["Port"], password=TEMPLATE_PASSWORD):
        pass  # (and it is available now)
    assert describe(stack, "tutorial")["Status"] == "available"
    with pytest.raises(pymysql.err.OperationalError) as err:
        connect("mysql", info["Port"], password=TEMPLATE_PASSWORD, bind_address="127.0.0.2")
    assert err.value.args[0] == 1130, err.value  # ER_HOST_NOT_PRIVILEGED
    assert "'127.0.0.2' is not allowed to connect" in str(err.value)


def test_security_group_fences_the_endpoint_with_a_protocol_error(stack: Faaslab) -> None:
    info = describe(stack, "fenceddb")
    assert info["Ingress"] == ["10.0.0.0/8"]
    status_before = info["Status"]
    with pytest.raises(psycopg.OperationalError) as err:
        psycopg.connect(
            host="127.0.0.1",
            port=info["Port"],
            user="master",
            password=TEMPLATE_PASSWORD,
            dbname="postgres",
            connect_timeout=10,
        )
    assert 'no pg_hba.conf entry for host "127.0.0.1", user "master"' in str(err.value)
    # a refused client neither counts as a connection nor wakes a paused cluster
    assert describe(stack, "fenceddb")["Connections"] == 0
    if status_before == "paused":
        assert describe(stack, "fenceddb")["Status"] == "paused"


def test_restart_with_the_template_keeps_ports_and_data(stack: Faaslab) -> None:
    port = describe(stack, "tutorial")["Port"]
    with contextlib.closing(
        pymysql.connect(
            host="127.0.0.1", port=port, user="admin1", password=TEMPLATE_PASSWORD, database="TEST"
        )
    ) as conn:
        names = query(conn, "SELECT name FROM names")
    assert ("Fred",) in names
    assert stack.stop() == 0
    # A stack update that changes MasterUserPassword: applied, as AWS does.
    again = start_faaslab(
        FIXTURES / "clusters.yaml",
        stack.state_dir,
        "--time-scale",
        "300",
        "--parameter-overrides",
        "DbPassword=Changed-pass77",
    )
    try:
        assert describe(again, "tutorial")["Port"] == port
        _, out = invoke(again.client(), "dbprobe", {"name": "Bob"})  # new password, wired
        assert out["names"][:2] == ["Fred", "Alice"] and out["names"][-1] == "Bob"
        assert "RDS-EVENT-0016" in event_ids(again, "tutorial")
        with pytest.raises(pymysql.err.OperationalError):
            pymysql.connect(host="127.0.0.1", port=port, user="admin1", password=TEMPLATE_PASSWORD)
        fenced = describe(again, "fenceddb")  # PostgreSQL: applied at its next start
        assert fenced["Status"] in ("paused", "available")
    finally:
        assert again.stop() == 0
    # the module fixture's teardown stops `stack` again: harmless, it already exited 0


def _favour_engine(pid: int) -> None:
    """Give the engine's threads (and the processes and threads they start later, which
    inherit it) a higher CPU priority: on AWS a cluster's vCPUs are its own, and on a busy
    test machine an engine sharing the cores with the rest of the suite would never reach
    the CPU share that makes it scale. (Root only, as these tests are.)"""
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(ProcessLookupError):
            os.setpriority(os.PRIO_PROCESS, int(tid), -20)


def _cpu_burner(engine: str, port: int, stop: threading.Event, statement: str) -> None:
    """Short CPU-heavy statements with gaps between them (scaling points)."""
    with contextlib.closing(connect(engine, port)) as conn:
        while not stop.is_set():
            query(conn, statement)
            if engine == "postgresql":
                conn.commit()
            time.sleep(0.03)


def test_v1_scales_up_under_cpu_load_with_aws_events_and_a_bigger_buffer_pool(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    fl = start_faaslab(
        FIXTURES / "dbcloud.yaml", tmp_path_factory.mktemp("scale") / "s", "--time-scale", "300"
    )
    try:
        info = create(fl, "busy", "mysql", "--min-capacity", "1", "--max-capacity", "4")
        port = info["Port"]
        with contextlib.closing(connect("mysql", port)) as conn:
            pool_before = query(conn, "SELECT @@innodb_buffer_pool_size")[0][0]
        _favour_engine(describe(fl, "busy")["EnginePid"])
        stop = threading.Event()
        burner = threading.Thread(
            target=_cpu_burner,
            args=("mysql", port, stop, "SELECT BENCHMARK(300000, MD5('x'))"),
        )
        burner.start()
        try:
            wait_for(lambda: describe(fl, "busy")["Capacity"] > 1, 120, "a scale-up")
        finally:
            stop.set()
            burner.join(30)
        events = fl.get("/_faaslab/db/busy/events")["events"]
        texts = [e["Message"] for e in events]
        assert (
            "Scaling DB cluster from 1 capacity units to 2 capacity units for this reason: "
            "Autoscaling." in texts
        )
        assert "The DB cluster has scaled from 1 capacity units to 2 capacity units." in texts
        with contextlib.closing(connect("mysql", port)) as conn:
            pool_after, max_conn = query(
                conn, "SELECT @@innodb_buffer_pool_size, @@max_connections"
            )[0]
        assert pool_after > pool_before
        assert max_conn == 180  # AWS's max_connections for 2 ACUs

        def sampled_capacity() -> float:
            points = fl.get("/_faaslab/db/busy/metrics")["metrics"]["ServerlessDatabaseCapacity"]
            return max(v for _, v in points)

        wait_for(lambda: sampled_capacity() >= 2, 10, "a sample at the new capacity")
        metrics: dict[str, Any] = fl.get("/_faaslab/db/busy/metrics")["metrics"]
        assert max(v for _, v in metrics["CPUUtilization"]) > 70
        assert max(v for _, v in metrics["DatabaseConnections"]) >= 1
        bill = fl.get("/_faaslab/db/busy/cost")
        assert bill["billed_acu_seconds"] >= 300  # v1: at least 5 minutes of 1 ACU
        assert json.dumps(bill)  # serialisable for `faaslab db cost --json`
    finally:
        assert fl.stop() == 0


def test_v2_scales_in_half_acu_steps_under_cpu_load(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    fl = start_faaslab(
        FIXTURES / "dbcloud.yaml", tmp_path_factory.mktemp("scale2") / "s", "--time-scale", "300"
    )
    try:
        info = create(
            fl,
            "busy2",
            "postgresql",
            "--serverless-version",
            "v2",
            "--min-capacity",
            "0.5",
            "--max-capacity",
            "4",
            "--auto-pause",
            "0",
        )
        assert info["Capacity"] == 0.5
        _favour_engine(describe(fl, "busy2")["EnginePid"])
        stop = threading.Event()
        burner = threading.Thread(
            target=_cpu_burner,
            args=(
                "postgresql",
                info["Port"],
                stop,
                "SELECT count(*) FROM generate_series(1, 2000000)",
            ),
        )
        burner.start()
        try:
            wait_for(lambda: describe(fl, "busy2")["Capacity"] > 0.5, 30, "a v2 scale-up")
        finally:
            stop.set()
            burner.join(30)
        capacity = describe(fl, "busy2")["Capacity"]
        assert (capacity / 0.5).is_integer() and capacity <= 4
        # v2 scales without RDS events
        assert not [e for e in event_ids(fl, "busy2") if e in ("RDS-EVENT-0141", "RDS-EVENT-0142")]
    finally:
        assert fl.stop() == 0
