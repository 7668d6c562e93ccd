"""Two `faaslab up` on one machine, and what a function can do to its neighbours: processes
it forked freeze with it (cgroup freezer), and another instance's environments have other
uids, so they cannot be signalled, read, or asked for their events."""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from faaslab.functions.uids import BLOCK
from tests.conftest import FIXTURES, Faaslab, invoke, start_faaslab

TEMPLATE = FIXTURES / "tenants.yaml"


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Faaslab, Faaslab]]:
    a = start_faaslab(TEMPLATE, tmp_path_factory.mktemp("tenant-a") / "s")
    try:
        b = start_faaslab(TEMPLATE, tmp_path_factory.mktemp("tenant-b") / "s")
    except BaseException:
        a.stop()
        raise
    yield a, b
    for fl in (a, b):
        assert fl.stop() == 0
        assert "Traceback" not in fl.log_path.read_text(), fl.log_path.read_text()


def _call(fl: Faaslab, event: dict[str, Any]) -> dict[str, Any]:
    r, out = invoke(fl.client(), "tenant", event)
    assert "FunctionError" not in r, out
    return dict(out)


def _runtime(fl: Faaslab) -> int:
    """The host pid of the one `tenant` runtime of `fl` (inside, every runtime is pid 1 of
    its own PID namespace, so the function cannot say)."""
    (env,) = fl.environments("tenant")
    return int(env["pid"])


def _child(runtime: int) -> int:
    """The host pid of the child the runtime forked (the function knows only its pid in
    the environment's PID namespace)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if _status(int(entry))["PPid"] == str(runtime):
                    return int(entry)
            except (OSError, KeyError):
                continue
    pytest.fail(f"no child of {runtime}")


def _wait_frozen(fl: Faaslab, pid: int) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        env = next(e for e in fl.environments("tenant") if e["pid"] == pid)
        if env["state"] == "frozen":
            return env
        time.sleep(0.01)
    pytest.fail(f"the environment of pid {pid} never froze: {env}")


def _counters(pid: int) -> dict[str, int]:
    """The counters the runtime's thread and its forked child keep writing in its /tmp."""
    tmp = Path(f"/proc/{pid}/root/tmp")
    return {name: int((tmp / name).read_text().strip()) for name in ("thread", "child")}


def test_a_forked_child_freezes_with_its_environment(pair: tuple[Faaslab, Faaslab]) -> None:
    a, _ = pair
    first = _call(a, {"action": "count"})
    runtime = _runtime(a)
    _wait_frozen(a, runtime)
    before = _counters(runtime)
    # Both count every ms (and the child SIGCONTs the runtime each time): awake, they would
    # move hundreds of times in this window. Frozen, neither may move at all.
    window_end = time.monotonic() + 0.5
    while time.monotonic() < window_end:
        time.sleep(0.05)
        assert _wait_frozen(a, runtime)["state"] == "frozen"  # (nothing thawed it meanwhile)
        assert _counters(runtime) == before
    # They were alive all along: the next invoke thaws both, and they count on.
    again = _call(a, {"action": "count"})
    assert _runtime(a) == runtime and again["child"] == first["child"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        after = _counters(runtime)
        if after["child"] > before["child"] and after["thread"] > before["thread"]:
            break
        time.sleep(0.01)
    else:
        pytest.fail(f"the counters never moved after the thaw: {before} -> {after}")


def test_two_instances_give_their_environments_disjoint_uids(
    pair: tuple[Faaslab, Faaslab],
) -> None:
    a, b = pair
    in_a = _call(a, {})
    in_b = _call(b, {})
    assert in_a["uid"] != in_b["uid"]
    # A's function cannot signal B's runtime, nor read its /tmp through /proc: in its own
    # PID namespace B's pid names nothing (ESRCH, ENOENT); other uids would be EPERM
    b_runtime = _runtime(b)
    out = _call(a, {"action": "signal", "pid": b_runtime})
    assert out["signal"] in ("EPERM", "ESRCH"), out
    out = _call(a, {"action": "read_root", "pid": b_runtime})
    assert out["read_root"] in ("EACCES", "EPERM", "ENOENT"), out
    # ...nor take B's events: B's Runtime API is 127.0.0.1:9001 in B's own network
    # namespace, an address that in A's names A's own (test_sandbox_network.py: nothing
    # of another instance is reachable)
    env_b = next(e for e in b.environments("tenant") if e["pid"] == b_runtime)
    assert env_b["runtime_api"] == "127.0.0.1:9001"
    # B's environment still serves B
    _call(b, {})
    assert _runtime(b) == b_runtime


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return any(line.split()[1:2] == ["Z"] for line in f if line.startswith("State:"))
    except FileNotFoundError:
        return True


@pytest.mark.parametrize("how", ["expiry", "kill -9"])
def test_a_frozen_environment_dies_whole(
    tmp_path_factory: pytest.TempPathFactory, how: str
) -> None:
    """A frozen task ignores SIGKILL until thawed (v1): recycling an idle environment, and
    the zygote after a kill -9 of the control plane, still end it and its forked child."""
    args = ("--keep-alive", "60", "--time-scale", "60") if how == "expiry" else ()
    fl = start_faaslab(TEMPLATE, tmp_path_factory.mktemp("frozen-kill") / "s", *args)
    try:
        _call(fl, {"action": "count"})
        runtime = _runtime(fl)
        child = _child(runtime)
        _wait_frozen(fl, runtime)
        if how == "kill -9":
            fl.proc.kill()
            fl.proc.wait()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if _gone(runtime) and _gone(child):
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"{how}: the frozen environment's processes are still there")
    finally:
        fl.stop()
        if how == "kill -9":  # a restart on the same state dir unmounts what the crash left
            assert start_faaslab(TEMPLATE, fl.state_dir).stop() == 0


def test_a_freed_uid_block_is_cleared_of_a_dead_instances_processes(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """kill -9 of the control plane and its zygote leaves the environment running (frozen,
    with its forked child) under uids the lease no longer protects: the next instance to
    lease that block kills them before any environment of its own gets one of them."""
    base = str(random.randrange(20_000, 60_000) * BLOCK)  # (a block no other test uses)
    dead = start_faaslab(TEMPLATE, tmp_path_factory.mktemp("dead") / "s", "--uid-base", base)
    try:
        out = _call(dead, {"action": "count"})
        assert out["uid"] == int(base)
        runtime = _runtime(dead)
        child = _child(runtime)
        _wait_frozen(dead, runtime)
        zygote = int(_status(runtime)["PPid"])
        os.kill(zygote, signal.SIGKILL)
        dead.proc.kill()
        dead.proc.wait()
        assert not _gone(runtime) and not _gone(child)
        heir = start_faaslab(TEMPLATE, tmp_path_factory.mktemp("heir") / "s", "--uid-base", base)
        try:
            assert _gone(runtime) and _gone(child)  # (before it answered health)
            # (the banner with its warnings is printed just after health answers: wait)
            deadline = time.monotonic() + 60
            while "killed 2 leftover processes" not in heir.log_path.read_text():
                assert time.monotonic() < deadline, heir.log_path.read_text()
                time.sleep(0.1)
            assert _call(heir, {})["uid"] == int(base)
        finally:
            assert heir.stop() == 0
    finally:
        dead.stop()
        assert start_faaslab(TEMPLATE, dead.state_dir).stop() == 0  # (unmounts its /tmp)


def _status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
