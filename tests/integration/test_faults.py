"""Every way a function can fail gives AWS's answer, and the next invocation works."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from tests.conftest import Faaslab, invoke

EXIT = r"RequestId: [0-9a-f-]{36} Error: Runtime exited with error: "


def assert_recovers(lam: Any) -> None:
    r, out = invoke(lam, "faults", {"mode": "ok"})
    assert "FunctionError" not in r and out["ok"] is True


@pytest.mark.parametrize(
    ("mode", "error_type", "message"),
    [
        ("sys_exit", "Runtime.ExitError", EXIT + "exit status 3"),
        ("os_exit", "Runtime.ExitError", EXIT + "exit status 7"),
        ("segfault", "Runtime.ExitError", EXIT + "signal: segmentation fault"),
        ("oom", "Runtime.OutOfMemory", EXIT + "signal: killed"),
    ],
)
def test_runtime_exits(lam: Any, mode: str, error_type: str, message: str) -> None:
    r, out = invoke(lam, "faults", {"mode": mode})
    assert r["StatusCode"] == 200
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == error_type
    assert re.fullmatch(message, out["errorMessage"]), out["errorMessage"]
    assert_recovers(lam)


def test_unhandled_exception(lam: Any) -> None:
    r, out = invoke(lam, "faults", {"mode": "raise"})
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "ValueError"
    assert out["errorMessage"] == "bad value from the handler"
    assert re.fullmatch(r"[0-9a-f-]{36}", out["requestId"])
    assert any("faults.py" in line for line in out["stackTrace"])
    assert_recovers(lam)


def test_non_serialisable_result(lam: Any) -> None:
    r, out = invoke(lam, "faults", {"mode": "not_json"})
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Runtime.MarshalError"
    assert out["errorMessage"].startswith(
        "Unable to marshal response: Object of type set is not JSON serializable"
    )
    assert_recovers(lam)


def test_response_over_6_mb(lam: Any) -> None:
    r, out = invoke(lam, "faults", {"mode": "huge"})
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Function.ResponseSizeTooLarge"
    assert "6291456 bytes" in out["errorMessage"]
    assert_recovers(lam)


def test_filling_tmp_is_enospc_not_a_crash(lam: Any) -> None:
    r, out = invoke(lam, "faults", {"mode": "fill_tmp"})
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "OSError"
    assert "No space left on device" in out["errorMessage"]
    assert_recovers(lam)


def test_flood_of_stdout(faaslab: Faaslab, lam: Any) -> None:
    r, out = invoke(lam, "faults", {"mode": "flood", "lines": 100_000}, LogType="Tail")
    assert "FunctionError" not in r and out == {"flooded": True}
    tail = base64.b64decode(r["LogResult"]).decode()
    assert len(tail.encode()) <= 4096
    assert "REPORT RequestId:" in tail and "x" * 99 in tail
    assert_recovers(lam)


def test_init_error_import_module(lam: Any) -> None:
    r, out = invoke(lam, "broken")
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Runtime.ImportModuleError"
    assert out["errorMessage"].startswith("Unable to import module 'missing_module'")
    _, out2 = invoke(lam, "broken")  # init is retried on the next invoke, and fails again
    assert out2["errorType"] == "Runtime.ImportModuleError"


def test_a_crash_leaves_other_environments_alone(faaslab: Faaslab, lam: Any) -> None:
    _, before = invoke(lam, "probe")
    invoke(lam, "faults", {"mode": "segfault"})
    _, after = invoke(lam, "probe")
    assert after["process"] == before["process"]
    assert faaslab.get("/_faaslab/health")["status"] == "ok"


def test_log_tail_and_report_line(lam: Any) -> None:
    r, _ = invoke(
        lam, "probe", {"action": "print", "text": "a line from the handler"}, LogType="Tail"
    )
    log = base64.b64decode(r["LogResult"]).decode()
    rid = r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert f"START RequestId: {rid} Version: $LATEST" in log
    assert "a line from the handler" in log
    assert f"END RequestId: {rid}" in log
    assert re.search(
        rf"REPORT RequestId: {rid}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
        r"Memory Size: 256 MB\tMax Memory Used: \d+ MB",
        log,
    )
    assert r["ExecutedVersion"] == "$LATEST"
