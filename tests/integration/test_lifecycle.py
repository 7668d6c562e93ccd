"""Execution-environment lifecycle through the real Invoke API (boto3)."""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from typing import Any

import pytest

from tests.conftest import FIXTURES, Faaslab, invoke, start_faaslab


def test_warm_reuse_keeps_tmp_and_globals(lam: Any) -> None:
    name = f"warm-{uuid.uuid4().hex[:8]}"
    _, first = invoke(lam, "probe", {"action": "write_tmp", "file": name, "data": "kept"})
    _, second = invoke(lam, "probe", {"action": "read", "path": f"/tmp/{name}"})
    assert second["process"] == first["process"]
    assert second["uses"] == first["uses"] + 1
    assert second["read"] == "kept"


def test_environment_variables_and_context(lam: Any) -> None:
    _, out = invoke(lam, "probe", {"hello": "world"})
    env, ctx = out["env"], out["context"]
    assert env["_HANDLER"] == "probe.handler"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "probe"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/probe"
    assert re.fullmatch(
        r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", env["AWS_LAMBDA_LOG_STREAM_NAME"]
    )
    assert env["LAMBDA_TASK_ROOT"] == "/var/task"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["TZ"] == ":UTC"
    assert env["GREETING"] == "hello"
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert re.fullmatch(r"127\.0\.0\.1:\d+", env["AWS_LAMBDA_RUNTIME_API"])
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION"} <= set(
        env
    )
    assert ctx["invoked_function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:probe"
    assert ctx["function_name"] == "probe" and ctx["memory_limit_in_mb"] == "256"
    assert ctx["log_stream_name"] == env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert 0 < ctx["remaining_ms"] <= 5000
    assert out["event"] == {"hello": "world"}


def test_parallel_calls_get_distinct_environments(lam: Any) -> None:
    results: list[Any] = []

    def call() -> None:
        results.append(invoke(lam, "sleeper", {"sleep": 0.5})[1])

    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r["process"] for r in results}) == 2


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs at least 2 CPUs")
def test_cpu_placement_alone_beside_the_control_plane_overlapping_elsewhere(
    faaslab: Faaslab, lam: Any
) -> None:
    """faaslab/placement.py: the control plane's thread and a lone invocation share one CPU;
    overlapping invocations run on the others."""
    cpus = sorted(os.sched_getaffinity(0))
    home = [cpus[-1]]
    assert os.sched_getaffinity(faaslab.proc.pid) == set(home)
    for _ in range(2):  # (the second call finds the environment warm)
        assert invoke(lam, "sleeper")[1]["cpus"] == home
    results: list[Any] = []

    def call() -> None:
        results.append(invoke(lam, "sleeper", {"sleep": 0.3}))

    for _ in range(2):  # two rounds: the first may start new environments
        results.clear()
        threads = [threading.Thread(target=call) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(r[1]["cpus"] for r in results) == sorted([home, cpus[:-1]])


def test_handlers_do_not_run_as_root(lam: Any) -> None:
    _, out = invoke(lam, "probe")
    assert out["uid"] != 0 and out["gid"] != 0


def test_var_task_is_read_only(lam: Any) -> None:
    _, out = invoke(lam, "probe", {"action": "write_task"})
    assert out["write_task"].startswith("OSError: Read-only file system")


def test_one_environment_cannot_see_another_tmp(faaslab: Faaslab, lam: Any) -> None:
    secret = f"secret-{uuid.uuid4().hex}"
    results: list[Any] = []

    def writer() -> None:
        invoke(lam, "sleeper", {"sleep": 1.0, "file": secret})

    t = threading.Thread(target=writer)
    t.start()
    time.sleep(0.3)  # the sleeper is busy, so the probe runs in another environment
    _, own = invoke(lam, "probe", {"action": "listdir", "path": "/tmp"})
    results.append(own)
    t.join()
    assert secret not in own["listdir"]
    # Nor through the host paths where environments' /tmp live, nor the host's own /tmp.
    _, state = invoke(lam, "probe", {"action": "listdir", "path": str(faaslab.state_dir / "envs")})
    assert "listdir" not in state or state["listdir"] == []
    host_marker = FIXTURES.parent / "host-marker"
    _, host = invoke(lam, "probe", {"action": "read", "path": "/tmp/" + secret})
    assert "read" not in host
    assert not host_marker.exists()


def test_sandbox_hides_host_tmp(lam: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    marker = f"/tmp/faaslab-host-{uuid.uuid4().hex}"
    with open(marker, "w") as f:
        f.write("host")
    try:
        _, out = invoke(lam, "probe", {"action": "read", "path": marker})
        assert "read" not in out and "FileNotFoundError" in out["read_error"]
    finally:
        import os

        os.unlink(marker)


def test_background_thread_does_not_run_while_frozen(lam: Any) -> None:
    _, first = invoke(lam, "probe", {"action": "ticker"})
    time.sleep(1.0)  # ~100 ticks if the environment were not frozen
    _, second = invoke(lam, "probe", {"action": "ticker"})
    assert second["process"] == first["process"]
    assert second["ticks"] - first["ticks"] < 30


def test_timeout_answers_sandbox_timedout_and_keeps_tmp(lam: Any) -> None:
    marker = f"timeout-{uuid.uuid4().hex[:8]}"
    r, out = invoke(lam, "sleeper", {"sleep": 3, "file": marker})
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Sandbox.Timedout"
    assert re.fullmatch(
        r"RequestId: [0-9a-f-]{36} Error: Task timed out after 1\.00 seconds", out["errorMessage"]
    )
    # The runtime was replaced, /tmp was not. (Many environments may exist: find ours.)
    for _ in range(10):
        _, after = invoke(lam, "sleeper", {"sleep": 0})
        if marker in after["tmp"]:
            break
    assert marker in after["tmp"]


def test_idle_environments_are_recycled(tmp_path_factory: pytest.TempPathFactory) -> None:
    fl = start_faaslab(
        FIXTURES / "template.yaml",
        tmp_path_factory.mktemp("expiry") / "s",
        "--keep-alive",
        "60",
        "--time-scale",
        "60",
    )
    try:
        lam = fl.client()
        _, first = invoke(lam, "probe")
        assert len(fl.environments("probe")) == 1
        deadline = time.monotonic() + 10
        while fl.environments("probe") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert fl.environments("probe") == []
        _, second = invoke(lam, "probe")
        assert second["process"] != first["process"] and second["uses"] == 1
    finally:
        assert fl.stop() == 0


def test_ps_reports_frozen_and_uses(faaslab: Faaslab, lam: Any) -> None:
    invoke(lam, "probe")
    time.sleep(0.1)  # frozen within a few ms of going idle
    envs = faaslab.environments("probe")
    assert envs and all(e["state"] in ("frozen", "busy", "idle") for e in envs)
    assert sum(e["uses"] for e in envs) >= 1
    assert any(e["state"] == "frozen" for e in envs)


def test_reserved_concurrency_answers_429(lam: Any) -> None:
    t = threading.Thread(target=invoke, args=(lam, "single", {"sleep": 1.5}))
    t.start()
    time.sleep(0.5)
    try:
        with pytest.raises(lam.exceptions.TooManyRequestsException) as e:
            invoke(lam, "single", {"sleep": 0})
        err = e.value.response
        assert err["ResponseMetadata"]["HTTPStatusCode"] == 429
        assert err["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
        assert err["Type"] == "User"
        assert err["message"] == "Rate Exceeded."
    finally:
        t.join()


def test_awslambdaric_works_as_the_bootstrap(lam: Any) -> None:
    r, out = invoke(lam, "ric", {"via": "ric"})
    assert r["StatusCode"] == 200 and "FunctionError" not in r
    assert out["event"] == {"via": "ric"}
    assert out["env"]["AWS_LAMBDA_FUNCTION_NAME"] == "ric"
    _, again = invoke(lam, "ric")
    assert again["uses"] == out["uses"] + 1


def test_runtime_api_is_out_of_other_processes_reach(faaslab: Faaslab, lam: Any) -> None:
    """Another local process (here: the test) cannot take invocations: the Runtime API
    listens at Lambda's 127.0.0.1:9001 in the environment's own network namespace."""
    import socket

    invoke(lam, "ric")
    env = faaslab.environments("ric")[0]
    assert env["runtime_api"] == "127.0.0.1:9001"
    try:
        with socket.create_connection(("127.0.0.1", 9001), timeout=5):
            pytest.skip("something of the machine's own listens on 127.0.0.1:9001")
    except ConnectionRefusedError:
        pass
    _, out = invoke(lam, "ric", {"still": "served"})
    assert out["event"] == {"still": "served"}


def test_functions_cannot_read_the_cli_endpoints(faaslab: Faaslab, lam: Any) -> None:
    """Other functions' logs and environments are for the user's CLI, not for functions."""
    _, out = invoke(lam, "probe", {"action": "fetch", "url": faaslab.url + "/_faaslab/logs/faults"})
    assert out["fetch"] == 403
    _, out = invoke(lam, "probe", {"action": "fetch", "url": faaslab.url + "/_faaslab/health"})
    assert out["fetch"] == 200
    assert faaslab.get("/_faaslab/environments")["environments"]  # the user still can


def test_kill_9_of_the_control_plane_loses_nothing(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """After a crash: the environments die with it, a restart sweeps their mounts, and the
    logs written before the crash are still there."""
    state = tmp_path_factory.mktemp("crash") / "s"
    fl = start_faaslab(FIXTURES / "template.yaml", state)
    marker = f"before-the-crash-{uuid.uuid4().hex[:8]}"
    invoke(fl.client(), "probe", {"action": "print", "text": marker})
    time.sleep(0.5)  # the sweeper writes queued log records every 250 ms
    (host_pid,) = [e["pid"] for e in fl.environments("probe")]  # (inside it is pid 1)
    fl.proc.kill()
    fl.proc.wait()

    def our_mounts() -> list[str]:
        with open("/proc/self/mounts") as f:
            return [line for line in f if str(state) in line]

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the zygote notices and stops the environments
        try:
            os.kill(host_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the environment outlived its control plane")
    left = our_mounts()
    assert left  # the environment's /tmp is still mounted (and the spares')...
    again = start_faaslab(FIXTURES / "template.yaml", state)
    try:
        # ...until the next start sweeps them (its own spares mount theirs anew)
        assert not set(left) & set(our_mounts())
        records = again.get("/_faaslab/logs/probe")["records"]
        assert any(rec["m"] == marker for rec in records)
    finally:
        assert again.stop() == 0
