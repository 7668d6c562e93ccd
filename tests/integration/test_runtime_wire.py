"""faaslab's real runtime (bootstrap.run, a process of its own) against an `Environment`
over each Runtime API codec: AWS's HTTP Runtime API on a TCP port (as `awslambdaric`
and other bootstraps use it) and faaslab's binary link on a socketpair. Same scenario,
same answers: the codecs are interchangeable. The environment's host is the scripted
one of the unit tests (no sandbox, no cgroup): what is real here is the wire.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from faaslab.functions import runtime_api
from faaslab.functions.environment import EnvEvent, Environment, Invocation, Outcome
from faaslab.functions.host import LoopScheduler
from faaslab.functions.model import FunctionConfig, InvokeRequest, InvokeResult
from faaslab.functions.runtime_link import RuntimeLink
from faaslab.http.server import serve
from tests.unit.test_environment_machine import ScriptedHost

pytestmark = pytest.mark.integration

HANDLER = """
def handler(event, context):
    if event.get("fail"):
        raise ValueError("bad " + context.aws_request_id)
    print("handling", context.aws_request_id)
    return {
        "echo": event,
        "arn": context.invoked_function_arn,
        "client_context": context.client_context,
        "remaining_ok": 0 < context.get_remaining_time_in_millis() <= 30_000,
    }
"""
WAIT = 60.0  # generous: the machine is shared and busy
RUN = "import sys; from faaslab.functions import bootstrap; bootstrap.run(api_fd={fd})"


def arun(test: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(test, WAIT * 2))


@asynccontextmanager
async def runtime(
    codec: str, code: Path, handler: str
) -> AsyncIterator[tuple[Environment, ScriptedHost, asyncio.subprocess.Process]]:
    """An environment, and faaslab's runtime process reaching it through `codec`."""
    fn = FunctionConfig("hello", "Hello", handler, "python3.11", code, timeout_s=30.0)
    host = ScriptedHost()
    env = Environment(fn, host, LoopScheduler(asyncio.get_running_loop()))
    host.env = env
    variables = {
        **os.environ,
        "_HANDLER": handler,
        "LAMBDA_TASK_ROOT": str(code),
        "AWS_LAMBDA_FUNCTION_NAME": "hello",
    }
    server: asyncio.Server | None = None
    theirs: socket.socket | None = None
    if codec == "http":
        server = await serve(runtime_api.make_handler(env), limits=runtime_api.LIMITS)
        variables["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
        argv = [sys.executable, "-c", RUN.format(fd="None")]
        fds: tuple[int, ...] = ()
    else:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        await asyncio.get_running_loop().connect_accepted_socket(lambda: RuntimeLink(env), ours)
        argv = [sys.executable, "-c", RUN.format(fd=theirs.fileno())]
        fds = (theirs.fileno(),)
    env.spawning(WAIT)
    proc = await asyncio.create_subprocess_exec(*argv, env=variables, pass_fds=fds)
    if theirs is not None:
        theirs.close()
    env.spawned()
    try:
        yield env, host, proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        if server is not None:
            server.close()
        env.stop(EnvEvent.STOP)


async def invoke(env: Environment, payload: dict[str, Any], rid: str) -> InvokeResult:
    done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
    on_done: Callable[[Outcome], None] = done.set_result
    req = InvokeRequest(
        "hello", json.dumps(payload).encode(), rid, client_context='{"custom": {"k": "v"}}'
    )
    env.assign(Invocation(req, on_done, want_tail=False))
    outcome = await asyncio.wait_for(done, WAIT)
    assert isinstance(outcome, InvokeResult), outcome
    return outcome


@pytest.mark.parametrize("codec", ["http", "link"])
def test_results_and_errors_travel_alike_over_both_codecs(codec: str, tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(HANDLER)

    async def scenario() -> None:
        async with runtime(codec, tmp_path, "app.handler") as (env, host, _):
            first = await invoke(env, {"n": 1}, "rid-1")  # cold: waits for the first next
            assert first.function_error is None
            assert json.loads(first.payload) == {
                "echo": {"n": 1},
                "arn": "arn:aws:lambda:us-east-1:123456789012:function:hello",
                "client_context": {"custom": {"k": "v"}},
                "remaining_ok": True,
            }
            assert env.init_ms is None and env.uses == 1

            failed = await invoke(env, {"fail": True}, "rid-2")  # warm
            assert failed.function_error == "Unhandled"
            error = json.loads(failed.payload)
            assert error["errorType"] == "ValueError"
            assert error["errorMessage"] == "bad rid-2"
            assert isinstance(error["stackTrace"], list) and error["stackTrace"]

            third = await invoke(env, {"n": 3}, "rid-3")
            assert json.loads(third.payload)["echo"] == {"n": 3}
            reports = [line for line in host.log if line.startswith("REPORT")]
            assert len(reports) == 3 and "Init Duration" in reports[0]
            assert "Max Memory Used" in reports[1]

    arun(scenario())


@pytest.mark.parametrize("codec", ["http", "link"])
def test_an_init_error_travels_alike_over_both_codecs(codec: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with runtime(codec, tmp_path, "missing.handler") as (env, host, proc):
            done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
            req = InvokeRequest("hello", b"{}", "rid-1")
            env.assign(Invocation(req, done.set_result, want_tail=False))
            status = await asyncio.wait_for(proc.wait(), WAIT)
            assert status == 1
            assert env.init_error is not None  # posted (and acknowledged) before the exit
            env.runtime_exited("exit status 1")  # (what the host reports: the wait status)
            outcome = await asyncio.wait_for(done, WAIT)
            assert isinstance(outcome, InvokeResult) and outcome.function_error == "Unhandled"
            error = json.loads(outcome.payload)
            assert error["errorType"] == "Runtime.ImportModuleError"
            assert "missing" in error["errorMessage"] and error["requestId"] == ""
            assert "discard" in host.calls

    arun(scenario())
