"""The environment's state machine driven by a scripted host: no processes, no sockets.

The real host (host.EnvironmentHost: processes, cgroups, pipes) is exercised by
tests/integration/test_lifecycle.py, test_faults.py and test_freezer.py; here every
side effect is a recorded call and time moves only when the test says, so the orders
that matter (deliver before thaw, answer before REPORT, kill before restart) and the
rare interleavings (a crash mid-invocation, a stop while busy) are checked exactly.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from faaslab.functions import runtime_protocol as rp
from faaslab.functions.environment import (
    FREEZE_GRACE_S,
    EnvEvent,
    Environment,
    EnvState,
    IllegalTransition,
    Invocation,
    Outcome,
)
from faaslab.functions.errors import ServiceError
from faaslab.functions.model import FunctionConfig, InvokeRequest, InvokeResult

FN = FunctionConfig("hello", "Hello", "app.handler", "python3.11", Path("/code"), timeout_s=3.0)


class FakeTimer:
    def __init__(self, at: float, callback: Callable[..., None], args: tuple[Any, ...]) -> None:
        self.at, self.callback, self.args = at, callback, args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeScheduler:
    """Manual time: `advance` runs the timers that come due, in order."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.wall = 1_700_000_000.0
        self.timers: list[FakeTimer] = []

    def monotonic(self) -> float:
        return self.t

    def now(self) -> float:
        return self.wall + self.t

    def call_later(self, delay: float, callback: Callable[..., None], *args: Any) -> FakeTimer:
        timer = FakeTimer(self.t + delay, callback, args)
        self.timers.append(timer)
        return timer

    def advance(self, seconds: float) -> None:
        end = self.t + seconds
        while True:
            due = [t for t in self.timers if not t.cancelled and t.at <= end]
            if not due:
                break
            timer = min(due, key=lambda t: t.at)
            self.timers.remove(timer)
            self.t = timer.at
            timer.callback(*timer.args)
        self.t = end

    def armed(self) -> list[str]:
        return [t.callback.__name__ for t in self.timers if not t.cancelled]


class ScriptedHost:
    """Records every call; `discard` stops the environment as the manager does."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.counted: list[tuple[float, bool]] = []  # (duration ms, errored) per answer
        self.log: list[str] = []
        self.oom = False
        self.pending_output: list[str] = []
        self.env: Environment | None = None

    def restart(self) -> None:
        self.calls.append("restart")

    def kill(self) -> None:
        self.calls.append("kill")

    def freeze(self) -> None:
        self.calls.append("freeze")

    def thaw(self) -> None:
        self.calls.append("thaw")

    def invocation_started(self) -> bool:
        self.calls.append("invocation_started")
        return True

    def invocation_finished(self) -> None:
        self.calls.append("invocation_finished")

    def invocation_counted(self, duration_ms: float, errored: bool) -> None:
        self.counted.append((duration_ms, errored))

    def place(self, home: bool) -> None:
        self.calls.append(f"place {'home' if home else 'away'}")

    def write_log(self, line: str) -> None:
        self.log.append(line)

    def drain_log(self) -> None:
        assert self.env is not None
        while self.pending_output:
            self.env.output(self.pending_output.pop(0))

    def out_of_memory(self) -> bool:
        return self.oom

    def peak_memory_mb(self) -> int | None:
        return 42

    def idle(self) -> None:
        self.calls.append("idle")

    def discard(self) -> None:
        self.calls.append("discard")
        assert self.env is not None
        self.env.stop(EnvEvent.STOP)


class FakeWaiter:
    """A runtime parked in `next` on a connection that may go away."""

    def __init__(self, host: ScriptedHost | None = None) -> None:
        self.events: list[rp.Event] = []
        self.waiting = True
        self.host = host

    def deliver(self, event: rp.Event) -> None:
        assert self.waiting, "an event was spent on a connection that is gone"
        if self.host is not None:
            self.host.calls.append("deliver")
        self.events.append(event)


class Caller:
    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []

    def __call__(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)

    @property
    def result(self) -> InvokeResult:
        assert len(self.outcomes) == 1, self.outcomes
        out = self.outcomes[0]
        assert isinstance(out, InvokeResult), out
        return out

    def error(self) -> dict[str, Any]:
        doc = json.loads(self.result.payload)
        assert isinstance(doc, dict)
        return doc


def make() -> tuple[Environment, ScriptedHost, FakeScheduler]:
    host, sched = ScriptedHost(), FakeScheduler()
    env = Environment(FN, host, sched)
    host.env = env
    return env, host, sched


def invocation(rid: str = "rid-1", want_tail: bool = False) -> tuple[Invocation, Caller]:
    caller = Caller()
    req = InvokeRequest("hello", b'{"k": 1}', rid, trace_id="Root=1-abc")
    return Invocation(req, caller, want_tail), caller


def cold_started(rid: str = "rid-1") -> tuple[Environment, ScriptedHost, FakeScheduler, Caller]:
    """A cold start up to the first invocation delivered to the new runtime."""
    env, host, sched = make()
    inv, caller = invocation(rid)
    env.assign(inv)
    env.spawning(13.0)
    env.spawned()
    sched.advance(0.004)
    waiter = FakeWaiter()
    env.runtime_next(waiter)
    assert [e.request_id for e in waiter.events] == [rid]
    host.calls.clear()
    return env, host, sched, caller


def test_cold_start_init_invoke_result_then_freeze_and_a_warm_invoke() -> None:
    env, host, sched = make()
    inv, caller = invocation()
    env.assign(inv)  # before the runtime exists: the invocation owns the environment
    assert env.state is EnvState.BUSY and env.current is inv
    assert host.calls == ["invocation_started"]  # nothing to place yet
    env.spawning(13.0)
    env.spawned()
    assert host.calls[-1] == "place home"
    sched.advance(0.0125)  # the handler module imports

    waiter = FakeWaiter()
    env.runtime_next(waiter)
    (event,) = waiter.events
    assert event == rp.Event(
        "rid-1",
        int((sched.now() + 3.0) * 1000),
        "arn:aws:lambda:us-east-1:123456789012:function:hello",
        "Root=1-abc",
        None,
        None,
        b'{"k": 1}',
    )
    assert env.state is EnvState.BUSY
    assert "_init_timed_out" not in sched.armed() and "_timed_out" in sched.armed()
    assert host.log == ["START RequestId: rid-1 Version: $LATEST"]

    sched.advance(0.002)
    host.calls.clear()
    host.pending_output = ["hello from the handler"]
    assert env.runtime_result(rp.Result("rid-1", b'"ok"', max_rss_kb=20480)) is rp.ACCEPTED
    assert caller.result == InvokeResult("rid-1", b'"ok"', None, b"")
    assert env.state is EnvState.IDLE and env.current is None
    assert host.calls == ["invocation_finished", "idle"]
    assert [(round(d, 3), e) for d, e in host.counted] == [(2.0, False)]  # (the metrics)
    assert host.log[1:3] == ["hello from the handler", "END RequestId: rid-1"]
    assert host.log[3].startswith("REPORT RequestId: rid-1\tDuration: 2.00 ms")
    assert "Max Memory Used: 20 MB" in host.log[3] and "Init Duration: 12.50 ms" in host.log[3]
    assert "_timed_out" not in sched.armed()

    waiter = FakeWaiter(host)
    env.runtime_next(waiter)  # (pipelined with the result)
    assert not env.frozen and waiter.events == []
    sched.advance(FREEZE_GRACE_S / 2)
    assert not env.frozen
    sched.advance(FREEZE_GRACE_S)
    assert env.frozen and host.calls[-1] == "freeze"
    assert env.describe()["state"] == "frozen"

    host.calls.clear()
    inv2, caller2 = invocation("rid-2")
    env.assign(inv2)
    # the event is written first, then the environment thawed: the runtime wakes once
    assert host.calls == ["invocation_started", "place home", "deliver", "thaw"]
    assert [e.request_id for e in waiter.events] == ["rid-2"] and not env.frozen
    env.runtime_result(rp.Result("rid-2", b"2"))
    assert caller2.result.payload == b"2" and env.uses == 2
    assert "Init Duration" not in host.log[-1]  # only the cold start's REPORT has it


def test_steady_load_skips_the_freeze() -> None:
    env, host, sched, _ = cold_started()
    env.runtime_result(rp.Result("rid-1", b"1"))
    env.runtime_next(FakeWaiter())
    inv, _ = invocation("rid-2")
    env.assign(inv)  # within the grace period
    sched.advance(1.0)
    assert "freeze" not in host.calls and "thaw" not in host.calls


def test_init_error_fails_the_invocation_with_the_runtimes_error_and_discards() -> None:
    env, host, sched = make()
    inv, caller = invocation()
    env.assign(inv)
    env.spawning(13.0)
    env.spawned()
    body = rp.error_body("Runtime.ImportModuleError", "Unable to import module 'app'")
    reply = env.runtime_init_error(rp.InitError("Runtime.ImportModuleError", body))
    assert reply is rp.ACCEPTED
    env.runtime_exited("exit status 1")
    assert caller.error() == {
        "errorType": "Runtime.ImportModuleError",
        "errorMessage": "Unable to import module 'app'",
        "requestId": "",
    }
    assert caller.result.function_error == "Unhandled"
    assert "discard" in host.calls and "restart" not in host.calls
    assert env.state is EnvState.STOPPED
    assert "Status: error" in host.log[-1]
    sched.advance(60)  # nothing left armed fires on a stopped environment
    assert len(caller.outcomes) == 1


def test_hung_init_times_out_and_discards() -> None:
    env, host, sched = make()
    inv, caller = invocation()
    env.assign(inv)
    env.spawning(13.0)
    env.spawned()
    sched.advance(13.0)
    assert host.log[0] == "INIT_REPORT Init Duration: 13000.00 ms\tPhase: init\tStatus: timeout"
    assert caller.error()["errorType"] == "Sandbox.Timedout"
    assert host.calls.index("kill") < host.calls.index("discard")
    assert env.state is EnvState.STOPPED


def test_timeout_kills_and_restarts_the_runtime_in_the_same_environment() -> None:
    env, host, sched, caller = cold_started()
    sched.advance(3.0)
    assert caller.error() == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "RequestId: rid-1 Error: Task timed out after 3.00 seconds",
    }
    assert host.calls == ["kill", "invocation_finished", "restart", "idle"]
    assert env.state is EnvState.STARTING and not env.running
    assert any(line.endswith("rid-1 Task timed out after 3.00 seconds") for line in host.log)
    assert "Status: timeout" in host.log[-1]

    # the new runtime comes up in the same environment and takes the next invocation
    env.spawning(13.0)
    env.spawned()
    env.runtime_next(FakeWaiter())
    assert env.state is EnvState.IDLE
    inv, _ = invocation("rid-2")
    env.assign(inv)
    assert env.state is EnvState.BUSY and env.uses == 2


def test_crash_mid_invocation_is_an_exit_error_and_a_restart() -> None:
    env, host, sched, caller = cold_started()
    env.runtime_exited("signal: segmentation fault")
    msg = "RequestId: rid-1 Error: Runtime exited with error: signal: segmentation fault"
    assert caller.error() == {"errorType": "Runtime.ExitError", "errorMessage": msg}
    assert host.calls[-2:] == ["restart", "idle"] and "kill" not in host.calls
    assert env.state is EnvState.STARTING
    sched.advance(10)  # the invocation's timer was cancelled: no second answer, no kill
    assert len(caller.outcomes) == 1 and "kill" not in host.calls


def test_a_runtime_that_exits_after_answering_hands_the_waiting_invocation_on() -> None:
    """Node.js after an uncaught error: it posts its answer, then exits before `next`.
    An invocation assigned meanwhile waits for the new runtime, as on AWS, and does not
    get the dead one's exit as an init error."""
    env, host, sched, caller = cold_started()
    env.runtime_result(rp.Result("rid-1", b"1"))
    inv, caller2 = invocation("rid-2")
    env.assign(inv)  # (before the exit was seen)
    host.calls.clear()
    env.runtime_exited("exit status 129")
    assert caller.result.payload == b"1" and caller2.outcomes == []
    assert host.calls == ["restart"] and env.state is EnvState.BUSY
    env.spawning(13.0)
    env.spawned()
    sched.advance(0.05)
    waiter = FakeWaiter()
    env.runtime_next(waiter)
    assert [e.request_id for e in waiter.events] == ["rid-2"]
    env.runtime_result(rp.Result("rid-2", b"2"))
    assert caller2.result == InvokeResult("rid-2", b"2", None, b"")
    assert "Init Duration: 50.00 ms" in host.log[-1]
    assert env.state is EnvState.IDLE


def test_out_of_memory_mid_invocation() -> None:
    env, host, _, caller = cold_started()
    host.oom = True
    env.runtime_exited("signal: killed")
    assert caller.error()["errorType"] == "Runtime.OutOfMemory"
    assert any("out of memory: MemorySize 128 MB" in line for line in host.log)


def test_a_frozen_runtime_killed_from_outside_is_thawed_for_its_successor() -> None:
    env, host, sched, _ = cold_started()
    env.runtime_result(rp.Result("rid-1", b"1"))
    env.runtime_next(FakeWaiter())
    sched.advance(FREEZE_GRACE_S)
    assert env.frozen
    env.runtime_exited("signal: killed")
    assert host.calls[-3:] == ["thaw", "restart", "idle"] and not env.frozen


def test_stop_while_busy_fails_the_invocation_and_kills() -> None:
    env, host, sched, caller = cold_started()
    env.stop(EnvEvent.STOP)
    (outcome,) = caller.outcomes
    assert isinstance(outcome, ServiceError)
    assert host.calls == ["kill", "invocation_finished"]
    assert env.state is EnvState.STOPPED and env.current is None
    sched.advance(10)
    assert len(caller.outcomes) == 1 and host.calls == ["kill", "invocation_finished"]
    env.stop(EnvEvent.STOP)  # idempotent
    assert host.calls == ["kill", "invocation_finished"]
    # the runtime's late result finds no invocation
    reply = env.runtime_result(rp.Result("rid-1", b"late"))
    assert reply == rp.Refused(rp.INVALID_REQUEST_ID, "Invalid request ID: 'rid-1'")


def test_second_invocation_while_busy_is_refused() -> None:
    env, host, _, caller = cold_started()
    inv2, caller2 = invocation("rid-2")
    with pytest.raises(IllegalTransition, match="'assign' is illegal in state 'busy'"):
        env.assign(inv2)
    assert env.current is not None and env.current.request.request_id == "rid-1"
    assert caller2.outcomes == [] and host.calls == []
    assert env.runtime_result(rp.Result("rid-1", b"1")) is rp.ACCEPTED
    assert caller.result.payload == b"1"


def test_result_for_another_request_id_is_refused() -> None:
    env, _, _, caller = cold_started()
    reply = env.runtime_result(rp.Error("rid-9", "Unhandled", b"{}"))
    assert reply == rp.Refused("InvalidRequestID", "Invalid request ID: 'rid-9'")
    assert caller.outcomes == []


def test_an_error_result_is_an_unhandled_function_error() -> None:
    env, _, _, caller = cold_started()
    body = rp.error_body("ValueError", "bad", ["  File app.py, line 1"])
    assert env.runtime_result(rp.Error("rid-1", "ValueError", body)) is rp.ACCEPTED
    assert caller.result.function_error == "Unhandled"
    assert caller.error()["stackTrace"] == ["  File app.py, line 1"]


def test_oversized_result_is_refused_and_the_caller_told() -> None:
    env, _, _, caller = cold_started()
    reply = env.runtime_result(rp.Result("rid-1", b"x" * (6 * 1024 * 1024 + 1)))
    assert isinstance(reply, rp.Refused) and reply.error_type == rp.PAYLOAD_TOO_LARGE
    assert caller.error()["errorType"] == "Function.ResponseSizeTooLarge"


def test_next_without_answering_fails_the_invocation() -> None:
    env, _, _, caller = cold_started()
    env.runtime_next(FakeWaiter())
    assert caller.error()["errorType"] == "Runtime.InvalidResponse"
    assert env.state is EnvState.IDLE


def test_an_event_is_not_spent_on_a_connection_that_went_away() -> None:
    env, _, _, _ = cold_started()
    env.runtime_result(rp.Result("rid-1", b"1"))
    gone = FakeWaiter()
    env.runtime_next(gone)
    gone.waiting = False  # the runtime's connection closed
    inv, _ = invocation("rid-2")
    env.assign(inv)
    assert gone.events == []
    fresh = FakeWaiter()
    env.runtime_next(fresh)  # its next `next` gets it
    assert [e.request_id for e in fresh.events] == ["rid-2"]


def test_log_tail_holds_the_functions_output_and_the_report() -> None:
    env, host, _ = make()
    inv, caller = invocation(want_tail=True)
    env.assign(inv)
    env.spawning(13.0)
    env.spawned()
    env.runtime_next(FakeWaiter())
    host.pending_output = ["printed"]
    env.runtime_result(rp.Result("rid-1", b"1"))
    tail = caller.result.log_tail.decode()
    assert "printed\nEND RequestId: rid-1\nREPORT RequestId: rid-1" in tail


def _imports(module: str) -> set[str]:
    """Every module `faaslab/functions/<module>.py` imports, TYPE_CHECKING ones included."""
    import ast
    import importlib.util

    spec = importlib.util.find_spec(f"faaslab.functions.{module}")
    assert spec is not None and spec.origin is not None
    path = Path(spec.origin)
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        # the state machine: no I/O, nothing above it
        (
            "environment",
            {
                "asyncio",
                "os",
                "signal",
                "socket",
                "subprocess",
                "faaslab.http.server",
                "faaslab.functions.manager",
                "faaslab.functions.host",
                "faaslab.functions.runtime_api",
                "faaslab.functions.runtime_link",
                "faaslab.functions.cgroups",
                "faaslab.functions.network",
                "faaslab.functions.spawner",
            },
        ),
        # the codecs know the protocol, not who implements it
        ("runtime_api", {"faaslab.functions.environment", "faaslab.functions.manager"}),
        ("runtime_link", {"faaslab.functions.environment", "faaslab.functions.manager"}),
        ("runtime_protocol", {"faaslab.functions.environment", "faaslab.http.server"}),
        ("host", {"faaslab.functions.manager"}),
    ],
)
def test_arrows_point_down(module: str, forbidden: set[str]) -> None:
    assert not _imports(module) & forbidden
