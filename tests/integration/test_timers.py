"""AWS's slow timers, sped up: the init limit and the retries of asynchronous invokes."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import FIXTURES, Faaslab, invoke, start_faaslab


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faaslab]:
    # --time-scale 120: AWS's retry delays of 60 s and 120 s take 0.5 s and 1 s here.
    fl = start_faaslab(
        FIXTURES / "template.yaml",
        tmp_path_factory.mktemp("quick") / "s",
        "--init-timeout",
        "0.5",
        "--time-scale",
        "120",
    )
    yield fl
    assert fl.stop() == 0
    assert "Traceback" not in fl.log_path.read_text()


def test_hung_init_is_cut_off(quick: Faaslab) -> None:
    lam: Any = quick.client()
    t = time.monotonic()
    r, out = invoke(lam, "hang")
    assert time.monotonic() - t < 30  # answered at all (init limit + timeout = 1.5 s)
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Sandbox.Timedout"
    assert re.fullmatch(
        r"RequestId: \S+ Error: Task timed out after 1\.00 seconds", out["errorMessage"]
    )
    lines = [rec["m"] for rec in quick.get("/_faaslab/logs/hang")["records"]]
    assert any(m.startswith("INIT_REPORT Init Duration:") and "Status: timeout" in m for m in lines)
    assert quick.environments("hang") == []  # discarded; the next invoke tries init again


def test_failed_event_invoke_is_retried_twice(quick: Faaslab) -> None:
    lam: Any = quick.client()
    r = lam.invoke(
        FunctionName="faults", InvocationType="Event", Payload=json.dumps({"mode": "raise"})
    )
    assert r["StatusCode"] == 202
    rid = r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    deadline = time.monotonic() + 20
    starts: list[str] = []
    while time.monotonic() < deadline:
        lines = [rec["m"] for rec in quick.get("/_faaslab/logs/faults")["records"]]
        starts = [m for m in lines if m.startswith(f"START RequestId: {rid}")]
        if len(starts) >= 3:
            break
        time.sleep(0.2)
    assert len(starts) == 3  # the first attempt and AWS's two retries
    time.sleep(1.5)  # and no fourth
    lines = [rec["m"] for rec in quick.get("/_faaslab/logs/faults")["records"]]
    assert len([m for m in lines if m.startswith(f"START RequestId: {rid}")]) == 3


def test_account_concurrency_limit(tmp_path_factory: pytest.TempPathFactory) -> None:
    import threading

    fl = start_faaslab(
        FIXTURES / "template.yaml", tmp_path_factory.mktemp("conc") / "s", "--concurrency", "1"
    )
    try:
        lam: Any = fl.client()
        holder = threading.Thread(target=invoke, args=(lam, "single", {"sleep": 1.5}))
        holder.start()
        time.sleep(0.5)
        with pytest.raises(lam.exceptions.TooManyRequestsException) as e:
            invoke(lam, "probe")
        assert e.value.response["Reason"] == "ConcurrentInvocationLimitExceeded"
        holder.join()
        _, out = invoke(lam, "probe")  # the slot is free again
        assert out["uses"] == 1
    finally:
        assert fl.stop() == 0


def test_cpu_limits_give_the_aws_share(tmp_path_factory: pytest.TempPathFactory) -> None:
    """probe has 256 MB: 256 / 1769 = 0.145 of a vCPU on AWS, all it can take without."""
    fl = start_faaslab(
        FIXTURES / "template.yaml", tmp_path_factory.mktemp("cpu") / "s", "--cpu-limits"
    )
    try:
        _, out = invoke(fl.client(), "probe", {"action": "burn", "seconds": 1.0})
        assert 0.05 < out["cpu_share"] < 0.3
    finally:
        assert fl.stop() == 0


def test_without_cpu_limits_a_function_may_use_a_whole_core(faaslab: Faaslab) -> None:
    _, out = invoke(faaslab.client(), "probe", {"action": "burn", "seconds": 0.5})
    assert out["cpu_share"] > 0.4  # (not 1.0: the machine may be busy with other tests)
