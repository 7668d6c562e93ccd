"""The cluster state machine with a scripted engine: every pause/resume race, deterministic.

The real engines are exercised in tests/integration/test_clusters.py; here the engine is a
stand-in whose start/stop the test controls, so the interleavings that are rare in real
runs (a client during the pause's drain, during the shutdown) happen on purpose.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest

from faaslab.clock import Clock
from faaslab.databases.cluster import TRANSITIONS, Cluster, State
from faaslab.databases.endpoint import Refused
from faaslab.databases.engine import EngineError, EngineSettings, Load
from faaslab.databases.model import ClusterSpec, Engine, Version
from faaslab.state import StateDB

SPEC = ClusterSpec("c1", Engine.MYSQL, Version.V1, "admin1", "Secret-pass99", 1, 4)


class ScriptedEngine:
    """Quacks like EngineServer; `stop_gate`/`start_gate` hold stop()/start() until set."""

    def __init__(self, tmp: Path) -> None:
        self.host_dir = tmp / "c1"
        self.admin_secret_path = tmp / "c1.admin"
        self.is_running = False
        self.initialised = False
        self.start_gate = asyncio.Event()
        self.start_gate.set()
        self.stop_gate = asyncio.Event()
        self.stop_gate.set()
        self.fail_start = False
        self.died = asyncio.Event()
        self.calls: list[str] = []

    socket_path = "/nonexistent/engine.sock"

    @property
    def running(self) -> bool:
        return self.is_running

    @property
    def pid(self) -> int | None:
        return 4242 if self.is_running else None

    async def initialise(self, settings: EngineSettings) -> None:
        self.calls.append("initialise")
        self.initialised = True
        self.is_running = True

    async def start(self, settings: EngineSettings) -> None:
        self.calls.append("start")
        await self.start_gate.wait()
        if self.fail_start:
            raise EngineError("could not start (scripted)")
        self.is_running = True
        self.died = asyncio.Event()

    async def stop(self) -> None:
        self.calls.append("stop")
        await self.stop_gate.wait()
        self.is_running = False

    async def kill(self) -> None:
        self.is_running = False

    async def exited(self) -> int:
        await self.died.wait()
        return -9

    async def apply(self, settings: EngineSettings) -> None:
        self.calls.append(f"apply {settings.max_connections}")

    async def set_master_password(self, user: str, password: str) -> None:
        self.calls.append(f"password {user}")

    async def load(self) -> Load:
        return Load(0, 0, 0.0, False)


def settings_for(spec: ClusterSpec, capacity: float) -> EngineSettings:
    return EngineSettings(8 << 20, int(capacity * 90))


_made: list[Cluster] = []


def arun(test: Coroutine[Any, Any, None]) -> None:
    """asyncio.run, then shut the test's clusters down: no pause/resume task outlives it."""

    async def body() -> None:
        try:
            await test
        finally:
            while _made:
                await _made.pop().shutdown()

    asyncio.run(body())


async def make(
    tmp_path: Path, scale: float = 1e6, **spec_changes: Any
) -> tuple[Cluster, ScriptedEngine, StateDB]:
    import dataclasses

    engine = ScriptedEngine(tmp_path)
    db = StateDB(tmp_path / "state.db")
    spec = dataclasses.replace(SPEC, **spec_changes)
    # scale 1e6: AWS's 300 s idle time is 0.3 ms, the 2 s drain is 2 us
    cluster = Cluster(spec, 40000, engine, db, Clock(scale), settings_for)  # type: ignore[arg-type]
    await cluster.create()
    _made.append(cluster)
    return cluster, engine, db


def codes(db: StateDB) -> list[str]:
    return [e.code for e in db.events("c1")]


async def until(predicate: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.001)


def test_transition_table_is_closed_and_refuses_other_moves(tmp_path: Path) -> None:
    assert set(TRANSITIONS) == set(State)
    assert all(targets <= set(State) for targets in TRANSITIONS.values())

    async def run() -> None:
        cluster, _, _ = await make(tmp_path, auto_pause=False)
        with pytest.raises(RuntimeError, match="no transition available -> resuming"):
            cluster._set(State.RESUMING)

    arun(run())


def test_idle_cluster_pauses_with_aws_events_and_records_the_activation(tmp_path: Path) -> None:
    async def run() -> None:
        cluster, engine, db = await make(tmp_path)
        await until(lambda: cluster.state is State.PAUSED)
        assert codes(db) == ["RDS-EVENT-0170", "RDS-EVENT-0144", "RDS-EVENT-0145"]
        assert not engine.running
        [(start, end, scale)] = db.activations("c1")
        assert end is not None and end >= start and scale == 1e6
        assert db.clusters()[0]["state"] == "paused"

    arun(run())


def test_no_pause_while_a_client_is_connected(tmp_path: Path) -> None:
    async def run() -> None:
        cluster, _, db = await make(tmp_path)
        cluster.client_connected()
        await asyncio.sleep(0.05)  # ~50,000 emulated seconds
        assert cluster.state is State.AVAILABLE
        assert "RDS-EVENT-0144" not in codes(db)
        cluster.client_disconnected()
        await until(lambda: cluster.state is State.PAUSED)

    arun(run())


def test_client_during_the_drain_cancels_the_pause(tmp_path: Path) -> None:
    async def run() -> None:
        cluster, engine, db = await make(tmp_path, auto_pause=False)
        cluster.spec = SPEC  # auto-pause back on, but no timer armed: we pause by hand
        await cluster._maybe_pause()  # what the idle timer runs when it expires
        await asyncio.sleep(0)  # the pause task announces itself and starts draining
        assert cluster.state is State.PAUSING
        cluster.client_connected()
        socket_path = await cluster.ensure_running()
        assert socket_path == engine.socket_path
        assert cluster.state is State.AVAILABLE and engine.running
        assert codes(db)[-2:] == ["RDS-EVENT-0144", "RDS-EVENT-0146"]
        assert "stop" not in engine.calls

    arun(run())


def test_client_during_the_shutdown_waits_then_resumes(tmp_path: Path) -> None:
    async def run() -> None:
        cluster, engine, db = await make(tmp_path)
        engine.stop_gate.clear()
        await until(lambda: "stop" in engine.calls)  # drained; the engine is stopping
        cluster.client_connected()
        waiter = asyncio.create_task(cluster.ensure_running())
        await asyncio.sleep(0.01)
        assert not waiter.done()  # held while the engine shuts down
        engine.stop_gate.set()
        assert await asyncio.wait_for(waiter, 5) == engine.socket_path
        assert cluster.state is State.AVAILABLE
        assert codes(db)[1:] == [
            "RDS-EVENT-0144",
            "RDS-EVENT-0145",
            "RDS-EVENT-0147",
            "RDS-EVENT-0148",
        ]
        assert len(db.activations("c1")) == 2

    arun(run())


def test_many_waiters_share_one_resume(tmp_path: Path) -> None:
    async def run() -> None:
        cluster, engine, db = await make(tmp_path)
        await until(lambda: cluster.state is State.PAUSED)
        engine.start_gate.clear()
        waiters = [asyncio.create_task(cluster.ensure_running()) for _ in range(50)]
        await asyncio.sleep(0.01)
        assert cluster.state is State.RESUMING and not any(w.done() for w in waiters)
        engine.start_gate.set()
        results = await asyncio.gather(*waiters)
        assert set(results) == {engine.socket_path}
        assert engine.calls.count("start") == 1
        assert codes(db).count("RDS-EVENT-0147") == 1

    arun(run())


def test_failed_resume_refuses_the_waiters_and_the_next_client_retries(tmp_path: Path) -> None:
    async def run() -> None:
        cluster, engine, _ = await make(tmp_path)
        await until(lambda: cluster.state is State.PAUSED)
        engine.fail_start = True
        with pytest.raises(Refused, match="could not be resumed"):
            await cluster.ensure_running()
        assert cluster.state is State.PAUSED
        engine.fail_start = False
        assert await cluster.ensure_running() == engine.socket_path
        assert cluster.state is State.AVAILABLE

    arun(run())


def test_engine_death_marks_the_cluster_paused_with_an_event(tmp_path: Path) -> None:
    async def run() -> None:
        cluster, engine, db = await make(tmp_path, auto_pause=False)
        engine.is_running = False
        engine.died.set()
        await until(lambda: cluster.state is State.PAUSED)
        assert db.events("c1")[-1].message.startswith(
            "The DB cluster's engine stopped unexpectedly (exit status -9)"
        )
        assert await cluster.ensure_running() == engine.socket_path  # resumes: recovery

    arun(run())


def test_capacity_change_applies_settings_and_is_recorded(tmp_path: Path) -> None:
    async def run() -> None:
        cluster, engine, db = await make(tmp_path, auto_pause=False)
        await cluster.set_capacity(2)
        assert cluster.state is State.AVAILABLE and cluster.capacity == 2
        assert engine.calls[-1] == "apply 180"
        assert [c for _, c in db.capacity_changes("c1")] == [1, 2]

    arun(run())


# --- StopDBCluster / StartDBCluster


def test_stop_then_start_with_aws_events_refusing_clients_while_stopped(tmp_path: Path) -> None:
    async def run() -> None:
        # real time: the seven-day automatic start stays far away
        cluster, engine, db = await make(tmp_path, scale=1.0, version=Version.V2)
        engine.stop_gate.clear()
        cluster.stop()
        assert cluster.state is State.STOPPING
        with pytest.raises(Refused, match="is stopping"):
            await cluster.ensure_running()
        engine.stop_gate.set()
        await until(lambda: cluster.state is State.STOPPED)
        assert not engine.running and codes(db)[-1] == "RDS-EVENT-0150"
        assert db.events("c1")[-1].message == "DB cluster stopped."
        [(_, end, _)] = db.activations("c1")
        assert end is not None  # no compute billed while stopped
        with pytest.raises(Refused, match="is stopped"):
            await cluster.ensure_running()  # stopped is not paused: no resume
        assert cluster.state is State.STOPPED and db.clusters()[0]["state"] == "stopped"
        engine.start_gate.clear()
        cluster.start()
        assert cluster.state is State.STARTING
        waiter = asyncio.create_task(cluster.ensure_running())  # waits for the start
        engine.start_gate.set()
        assert await waiter == engine.socket_path
        assert cluster.state is State.AVAILABLE and codes(db)[-1] == "RDS-EVENT-0151"
        assert len(db.activations("c1")) == 2

    arun(run())


def test_a_paused_cluster_can_be_stopped_and_a_stopped_one_deleted(tmp_path: Path) -> None:
    async def run() -> None:
        cluster, engine, db = await make(tmp_path, version=Version.V2)
        await until(lambda: cluster.state is State.PAUSED)
        cluster.stop()
        await until(lambda: cluster.state is State.STOPPED)
        assert "stop" not in engine.calls[-1:] or not engine.running
        assert codes(db)[-1] == "RDS-EVENT-0150"
        await cluster.delete()
        assert cluster.state is State.DELETING

    arun(run())


def test_stopped_seven_days_starts_itself(tmp_path: Path) -> None:
    async def run() -> None:
        # scale 1e6: seven days are 0.6 s
        cluster, _, db = await make(tmp_path, auto_pause=False, version=Version.V2)
        cluster.stop()
        await until(lambda: cluster.state is State.AVAILABLE, timeout=30)
        assert codes(db)[-3:] == ["RDS-EVENT-0150", "RDS-EVENT-0153", "RDS-EVENT-0151"]
        assert db.events("c1")[-2].message == (
            "DB cluster is being started due to it exceeding the maximum allowed time "
            "being stopped."
        )

    arun(run())


def test_a_failed_start_leaves_it_stopped_with_the_reason(tmp_path: Path) -> None:
    async def run() -> None:
        cluster, engine, _ = await make(tmp_path, scale=1.0, auto_pause=False)
        cluster.stop()
        await until(lambda: cluster.state is State.STOPPED)
        engine.fail_start = True
        cluster.start()
        await until(lambda: cluster.state is State.STOPPED)
        assert "could not start" in cluster.failure
        with pytest.raises(RuntimeError, match="cannot stop while stopped"):
            cluster.stop()

    arun(run())


def test_restore_after_a_restart_mid_stop_finishes_the_stop(tmp_path: Path) -> None:
    async def run() -> None:
        cluster, engine, db = await make(tmp_path, scale=1.0, auto_pause=False)
        cluster.stop()
        await cluster.shutdown()  # faaslab stops before the stop got anywhere
        assert not engine.running
        again = Cluster(
            cluster.spec,
            40000,
            engine,
            db,
            Clock(1.0),
            settings_for,  # type: ignore[arg-type]
            state=State(db.clusters()[0]["state"]),
        )
        _made.append(again)
        assert again.state is State.STOPPING
        await again.restore()
        assert again.state is State.STOPPED and codes(db)[-1] == "RDS-EVENT-0150"
        assert not engine.running
        with pytest.raises(Refused):
            await again.ensure_running()

    arun(run())
