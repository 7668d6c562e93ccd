"""Custom runtimes (provided.al2023, provided.al2): the function's own `bootstrap`, three
ways: AWS's tutorial shell script (curl), a compiled C program, and awslambdaric."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, Faaslab, invoke, running_faaslab

pytestmark = pytest.mark.skipif(
    shutil.which("gcc") is None or shutil.which("curl") is None, reason="needs gcc and curl"
)


def build(tmp: Path) -> Path:
    """The fixture's functions in `tmp`, with compiled/bootstrap built from its C source."""
    code = tmp / "provided"
    shutil.copytree(FIXTURES / "provided", code, ignore=shutil.ignore_patterns("bootstrap.c"))
    (code / "compiled" / "bootstrap").unlink(missing_ok=True)
    subprocess.run(
        [
            "gcc",
            "-O2",
            "-o",
            code / "compiled" / "bootstrap",
            FIXTURES / "provided" / "compiled" / "bootstrap.c",
        ],
        check=True,
    )
    return code / "template.yaml"


@pytest.fixture(scope="module")
def provided_faaslab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faaslab]:
    template = build(tmp_path_factory.mktemp("provided-code"))
    state = tmp_path_factory.mktemp("provided") / "s"
    yield from running_faaslab(template, state, "--parameter-overrides", f"Python={sys.executable}")


@pytest.fixture(scope="module")
def lam(provided_faaslab: Faaslab) -> Any:
    return provided_faaslab.client()


@pytest.mark.parametrize("function", ["shellRuntime", "shellRuntimeAl2"])
def test_aws_tutorial_shell_bootstrap(lam: Any, function: str) -> None:
    r = lam.invoke(FunctionName=function, Payload=b'{"hello": "world"}')
    assert "FunctionError" not in r
    assert r["Payload"].read() == b'Echoing request: \'{"hello": "world"}\''  # (not JSON)


def test_compiled_bootstrap_context_and_warm_reuse(lam: Any) -> None:
    r, first = invoke(lam, "compiledRuntime", {"n": 1})
    assert "FunctionError" not in r
    assert first["runtime"] == "c" and first["handler"] == "any.thing"
    assert first["event"] == {"n": 1}
    _, second = invoke(lam, "compiledRuntime", {"n": 2})
    assert second["uses"] == first["uses"] + 1  # the same process


def test_awslambdaric_as_the_bootstrap(lam: Any) -> None:
    r, out = invoke(lam, "ricRuntime", {"via": "ric"})
    assert "FunctionError" not in r
    assert out["event"] == {"via": "ric"}
    assert out["task_root"] == "/var/task" and out["handler"] == "app.handler"
    assert out["execution_env"] is None  # not defined for OS-only runtimes, as on Lambda
    assert out["request_id"] == r["ResponseMetadata"]["RequestId"]
    _, again = invoke(lam, "ricRuntime")
    assert again["uses"] == out["uses"] + 1


def test_parallel_invocations_get_their_own_environments(
    provided_faaslab: Faaslab, lam: Any
) -> None:
    results: list[Any] = []

    def call() -> None:
        results.append(lam.invoke(FunctionName="shellRuntime", Payload=b"{}"))

    barrier_calls = [threading.Thread(target=call) for _ in range(3)]
    for t in barrier_calls:
        t.start()
    for t in barrier_calls:
        t.join()
    assert all("FunctionError" not in r for r in results)
    # the bash loop serves one event at a time: overlapping calls needed more environments
    assert len(provided_faaslab.environments("shellRuntime")) >= 2


def test_an_error_posted_by_the_bootstrap(lam: Any) -> None:
    r, out = invoke(lam, "compiledRuntime", {"action": "error"})
    assert r["FunctionError"] == "Unhandled"
    assert out == {"errorType": "Custom.Failure", "errorMessage": "asked to fail"}
    r, _ = invoke(lam, "compiledRuntime")
    assert "FunctionError" not in r


def test_bootstrap_exiting_during_an_invoke(lam: Any) -> None:
    r, out = invoke(lam, "compiledRuntime", {"action": "exit"})
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Runtime.ExitError"
    assert out["errorMessage"].endswith("Error: Runtime exited with error: exit status 3")
    r, again = invoke(lam, "compiledRuntime")
    assert "FunctionError" not in r and again["uses"] == 1


def test_timeout(lam: Any) -> None:
    r, out = invoke(lam, "compiledShort", {"action": "sleep"})
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Sandbox.Timedout"
    assert out["errorMessage"].endswith("Task timed out after 1.00 seconds")
    r, _ = invoke(lam, "compiledShort")
    assert "FunctionError" not in r


def test_out_of_memory(lam: Any) -> None:
    r, out = invoke(lam, "compiledRuntime", {"action": "alloc"})
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Runtime.OutOfMemory"
    assert out["errorMessage"].endswith("Error: Runtime exited with error: signal: killed")
    r, _ = invoke(lam, "compiledRuntime")
    assert "FunctionError" not in r


def test_init_error_of_the_bootstrap(provided_faaslab: Faaslab, lam: Any) -> None:
    """The tutorial's script `source`s the handler's file; without one it exits at init."""
    r, out = invoke(lam, "shellNoHandlerFile")
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Runtime.ExitError"
    assert out["errorMessage"].endswith("Error: Runtime exited with error: exit status 1")
    assert provided_faaslab.environments("shellNoHandlerFile") == []


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (
            "noBootstrap",
            "Error: Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]",
        ),
        ("bootstrapNotExecutable", "Error: fork/exec /var/task/bootstrap: permission denied"),
    ],
)
def test_invalid_entrypoint(
    provided_faaslab: Faaslab, lam: Any, function: str, message: str
) -> None:
    """The handler-not-found of a custom runtime: Lambda's init finds no bootstrap to run."""
    r, out = invoke(lam, function)
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Runtime.InvalidEntrypoint"
    assert out["errorMessage"] == message
    assert provided_faaslab.environments(function) == []
    r, again = invoke(lam, function)
    assert again["errorType"] == "Runtime.InvalidEntrypoint"
