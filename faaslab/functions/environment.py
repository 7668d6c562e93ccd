"""An execution environment as a state machine that does no I/O: its lifecycle (the one
transition table, `TRANSITIONS`) and `Environment`, which drives it from what the
runtime says (`runtime_protocol` values, through either codec), what the manager asks
(assign, stop) and what the host reports (spawned, exited, output, timers).

Everything with a side effect outside this object goes through `Host` (kill, freeze,
thaw, place on a CPU, restart, write a log line, offer back to the pool, discard) and
`Scheduler` (time, timers): `host.EnvironmentHost` implements both for real processes,
tests/unit/test_environment_machine.py with a scripted fake. Nothing here imports the
manager, the codecs, the HTTP server or the process plumbing.

An environment is one sandbox (mount namespace, private /tmp, uid, cgroup) plus the
runtime process inside it. The runtime process can be replaced (after a timeout or a
crash) while the environment, and so its /tmp, lives on — as on AWS.

    STARTING --NEXT--> IDLE --ASSIGN--> BUSY --RESULT--> IDLE --EXPIRE--> STOPPED
        |                                 |
        +-ASSIGN-> BUSY                   +--RESET--> STARTING (runtime replaced, /tmp kept)

Whether an IDLE environment is *frozen* is not a state of its own: it is frozen once its
runtime has asked for its next invocation and nothing came for FREEZE_GRACE_S. The whole
environment freezes (the cgroup freezer: processes the runtime forked too, and none of
them can SIGCONT another awake); without a writable freezer, only the runtime's pid is
stopped with SIGSTOP (faaslab warns at start). A freezer write costs ~3 us here (see
cgroups.py); under steady load the next event arrives within the grace period, so busy
environments skip the freeze/thaw pair. On AWS the sandbox is frozen "shortly" after the
response too.
"""

from __future__ import annotations

import enum
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from faaslab.clock import Timer, iso_millis
from faaslab.functions import logs as logfmt
from faaslab.functions import runtime_protocol as rp
from faaslab.functions.errors import LambdaError, ServiceError
from faaslab.functions.logs import InvocationLog
from faaslab.functions.model import (
    SYNC_PAYLOAD_LIMIT,
    FunctionConfig,
    InvokeRequest,
    InvokeResult,
    ids,
)

FREEZE_GRACE_S = 0.005


class EnvState(enum.Enum):
    STARTING = "starting"  # runtime initialising (handler module importing)
    IDLE = "idle"  # warm: no invocation; frozen once the runtime waits in `next`
    BUSY = "busy"  # an invocation belongs to this environment
    STOPPED = "stopped"  # gone; /tmp released


class EnvEvent(enum.Enum):
    NEXT = "next"  # the runtime asked for work and none was waiting
    ASSIGN = "assign"  # the manager gave it an invocation
    RESULT = "result"  # the invocation finished (response or error posted)
    RESET = "reset"  # the runtime died or timed out; a new one is starting
    EXPIRE = "expire"  # idle too long, or past its maximum lifetime
    STOP = "stop"  # shutdown of the control plane, or a failed start


S, E = EnvState, EnvEvent

TRANSITIONS: dict[EnvState, dict[EnvEvent, EnvState]] = {
    S.STARTING: {
        E.NEXT: S.IDLE,
        E.ASSIGN: S.BUSY,
        E.RESET: S.STARTING,
        E.STOP: S.STOPPED,
    },
    S.IDLE: {
        E.NEXT: S.IDLE,
        E.ASSIGN: S.BUSY,
        E.RESET: S.STARTING,
        E.EXPIRE: S.STOPPED,
        E.STOP: S.STOPPED,
    },
    S.BUSY: {
        E.RESULT: S.IDLE,
        E.RESET: S.STARTING,
        E.STOP: S.STOPPED,
    },
    S.STOPPED: {
        E.STOP: S.STOPPED,
    },
}


class IllegalTransition(RuntimeError):
    def __init__(self, env_id: str, state: EnvState, event: EnvEvent) -> None:
        super().__init__(
            f"environment {env_id}: event {event.value!r} is illegal in state {state.value!r}"
        )
        self.state = state
        self.event = event


def next_state(env_id: str, state: EnvState, event: EnvEvent) -> EnvState:
    """The one place transitions are decided; anything not in the table raises."""
    try:
        return TRANSITIONS[state][event]
    except KeyError:
        raise IllegalTransition(env_id, state, event) from None


Outcome = InvokeResult | LambdaError
OnDone = Callable[[Outcome], None]


@dataclass(eq=False)
class Invocation:
    """One invoke in flight. `on_done` is called exactly once, synchronously, with the
    result (or the LambdaError): no futures on the hot path."""

    request: InvokeRequest
    on_done: OnDone
    want_tail: bool
    log: InvocationLog = field(default_factory=InvocationLog)
    delivered: bool = False
    done: bool = False
    started: float = 0.0
    timer: Timer | None = None

    def complete(self, outcome: Outcome) -> None:
        if not self.done:
            self.done = True
            self.on_done(outcome)


class Scheduler(Protocol):
    """The environment's one source of time (not scaled: a handler runs in real time)."""

    def monotonic(self) -> float: ...

    def now(self) -> float:
        """Seconds since the epoch (deadlines, log times)."""
        ...

    def call_later(self, delay: float, callback: Callable[..., None], *args: Any) -> Timer: ...


class Host(Protocol):
    """What an environment asks of whoever runs its processes (host.EnvironmentHost).

    Contract: every call returns at once (anything slow, like a restart, is started and
    reported back later through `Environment.spawning`/`spawned`/`runtime_exited`); none
    calls back into the environment except `drain_log` (through `output`) and `discard`
    (through `stop`)."""

    def restart(self) -> None:
        """Start a new runtime process in this environment (same /tmp, same network)."""
        ...

    def kill(self) -> None:
        """Kill the runtime and every process it forked (frozen or not)."""
        ...

    def freeze(self) -> None:
        """Stop the environment's processes from running (cgroup freezer, or SIGSTOP)."""
        ...

    def thaw(self) -> None: ...

    def invocation_started(self) -> bool:
        """An invocation starts here: should its runtime run on the control plane's CPU?"""
        ...

    def invocation_finished(self) -> None: ...

    def invocation_counted(self, duration_ms: float, errored: bool) -> None:
        """An invocation ended with an answer (the Invocations, Errors, Duration metrics)."""
        ...

    def place(self, home: bool) -> None:
        """Run the runtime on the control plane's CPU (home) or on the others."""
        ...

    def write_log(self, line: str) -> None:
        """One line of the function's log stream."""
        ...

    def drain_log(self) -> None:
        """Read what the runtime wrote and has not been read yet (as `output` lines)."""
        ...

    def out_of_memory(self) -> bool:
        """Whether the kernel OOM-killed a process of the current runtime."""
        ...

    def peak_memory_mb(self) -> int | None: ...

    def idle(self) -> None:
        """The environment can take an invocation (its pool's idle stack)."""
        ...

    def discard(self) -> None:
        """Remove the environment: the host calls `stop`, then releases its resources."""
        ...


class Environment:
    """One execution environment's lifecycle: implements `runtime_protocol.RuntimeCalls`
    for the codecs; every state change goes through `fire` (the table)."""

    def __init__(self, fn: FunctionConfig, host: Host, scheduler: Scheduler) -> None:
        self.fn = fn
        self.host = host
        self.scheduler = scheduler
        self.id = uuid.uuid4().hex
        self.stream = time.strftime("%Y/%m/%d/", time.gmtime(scheduler.now())) + (
            f"[{fn.version}]" + self.id
        )
        self.state = EnvState.STARTING
        self.running = False  # a runtime process exists (spawned, not exited or killed)
        self.created = scheduler.monotonic()
        self.last_used = self.created
        self.uses = 0
        self.frozen = False
        self._freeze_timer: Timer | None = None
        self._init_timer: Timer | None = None
        self.current: Invocation | None = None
        self.next_waiter: rp.Waiter | None = None
        self.spawned_at = 0.0
        self.init_ms: float | None = None  # pending for the next REPORT (cold start)
        self.init_error: bytes | None = None
        self.reported_rss_kb: int | None = None  # the runtime's own peak RSS, when it says
        # CPU placement (faaslab/placement.py): where the current invocation should run
        self.want_home = False

    # -- transitions
    def fire(self, event: EnvEvent) -> None:
        self.state = next_state(self.id, self.state, event)

    # -- runtime_protocol.RuntimeCalls (called by runtime_api and runtime_link)
    def runtime_next(self, waiter: rp.Waiter) -> None:
        if self.spawned_at:
            self.init_ms = (self.scheduler.monotonic() - self.spawned_at) * 1000
            self.spawned_at = 0.0
            if self._init_timer is not None:
                self._init_timer.cancel()
                self._init_timer = None
        inv = self.current
        if inv is not None and not inv.delivered:
            waiter.deliver(self._deliver(inv))
            return
        if inv is not None:  # asked for more work without answering: AWS fails that invoke
            self._finish(
                inv,
                rp.error_body("Runtime.InvalidResponse", "runtime called next twice"),
                "Unhandled",
                "error",
            )
        if self.state is EnvState.STARTING:
            self.fire(EnvEvent.NEXT)
            self.host.idle()
        self.next_waiter = waiter
        if self.running and self.current is None:
            self._freeze_timer = self.scheduler.call_later(FREEZE_GRACE_S, self._freeze)

    def runtime_result(self, said: rp.Result | rp.Error) -> rp.Reply:
        inv = self.current
        if inv is None or inv.request.request_id != said.request_id or not inv.delivered:
            return rp.invalid_request_id(said.request_id)
        if len(said.payload) > SYNC_PAYLOAD_LIMIT:
            payload = rp.error_body(
                "Function.ResponseSizeTooLarge",
                "Response payload size exceeded maximum allowed payload size "
                f"({SYNC_PAYLOAD_LIMIT} bytes).",
            )
            self._finish(inv, payload, "Unhandled", None)
            return rp.too_large(SYNC_PAYLOAD_LIMIT)
        self.reported_rss_kb = said.max_rss_kb
        function_error = "Unhandled" if isinstance(said, rp.Error) else None
        self._finish(inv, said.payload, function_error, None)
        return rp.ACCEPTED

    def runtime_init_error(self, said: rp.InitError) -> rp.Reply:
        self.init_error = said.payload
        return rp.ACCEPTED

    # -- the manager's calls
    def assign(self, inv: Invocation) -> None:
        """Give the environment an invocation (illegal unless STARTING or IDLE)."""
        self.fire(EnvEvent.ASSIGN)
        self.current = inv
        self.uses += 1
        self.want_home = self.host.invocation_started()
        if self.running:
            self.host.place(self.want_home)
        w = self.next_waiter
        if w is not None:
            self.next_waiter = None
            if w.waiting:
                w.deliver(self._deliver(inv))
                # Thaw after the write: the runtime wakes once, with its event already there.
                self._thaw()

    def stop(self, event: EnvEvent) -> None:
        """STOP or EXPIRE: the runtime is killed and an invocation in flight fails; the
        host releases the sandbox afterwards."""
        if self.state is EnvState.STOPPED:
            return
        self.fire(event)
        inv = self.current
        self._kill()
        if inv is not None:
            inv.complete(ServiceError("the environment was stopped"))
        self._release_current()

    # -- the host's reports
    def spawning(self, init_limit_s: float) -> None:
        """A runtime process is being started: its init is timed from now."""
        self.spawned_at = self.scheduler.monotonic()
        self.init_error = None
        if self._init_timer is not None:
            self._init_timer.cancel()
        self._init_timer = self.scheduler.call_later(init_limit_s, self._init_timed_out)

    def spawned(self) -> None:
        """The runtime process exists (it may have asked for work already)."""
        self.running = True
        if self.current is not None:
            self.host.place(self.want_home)

    def output(self, line: str) -> None:
        """A line the runtime wrote (stdout/stderr): the log, and the invocation's tail."""
        self._log(line, self.current)

    def runtime_exited(self, description: str) -> None:
        """The runtime process died on its own (crash, sys.exit, OOM, init failure);
        `description` is AWS's wording of its status ("signal: killed", "exit status 1")."""
        self.running = False
        if self.frozen:  # (killed from outside): its successor must not start frozen
            self._unfreeze()
        inv = self.current
        if (
            inv is not None
            and not inv.delivered
            and self.state is EnvState.BUSY
            and not self.spawned_at
        ):
            # It had answered and exited before asking for more (Node.js after an uncaught
            # error, a bootstrap that serves one event): as on AWS, a new runtime starts
            # and takes the invocation that was waiting for this one.
            self.fire(EnvEvent.RESET)
            self.fire(EnvEvent.ASSIGN)
            self.host.restart()
            return
        during_init = self.state is EnvState.STARTING or (inv is not None and not inv.delivered)
        self.fire(EnvEvent.RESET)
        if inv is not None and not inv.done:
            self._finish(inv, self._exit_payload(inv, description), "Unhandled", "error")
        if during_init:
            self.host.discard()
        else:
            self.host.restart()
            self.host.idle()  # the next invoke waits for the new runtime here, as on AWS

    # -- internals
    def _release_current(self) -> None:
        """The environment no longer runs an invocation (the one place `current` clears)."""
        if self.current is not None:
            self.current = None
            self.host.invocation_finished()

    def _freeze(self) -> None:
        self._freeze_timer = None
        if self.running and self.current is None and not self.frozen:
            self.host.freeze()
            self.frozen = True

    def _thaw(self) -> None:
        if self._freeze_timer is not None:
            self._freeze_timer.cancel()
            self._freeze_timer = None
        if self.frozen:
            self._unfreeze()

    def _unfreeze(self) -> None:
        self.host.thaw()
        self.frozen = False

    def _kill(self) -> None:
        if self.running:
            self.host.kill()
            self.running = False
        if self.frozen:  # (a killed cgroup is thawed already; this covers SIGSTOP)
            self._unfreeze()
        for timer in (self._freeze_timer, self._init_timer):
            if timer is not None:
                timer.cancel()
        self._freeze_timer = self._init_timer = None
        self.next_waiter = None  # its connection dies with the process

    def _deliver(self, inv: Invocation) -> rp.Event:
        inv.delivered = True
        sched = self.scheduler
        inv.started = sched.monotonic()
        timeout = self.fn.timeout_s
        now = sched.now()
        inv.timer = sched.call_later(timeout, self._timed_out, inv)
        req = inv.request
        self._log(logfmt.start_line(req.request_id, self.fn.version), inv)
        return rp.Event(
            req.request_id,
            int((now + timeout) * 1000),
            self.fn.arn,
            req.trace_id or _trace_id(now),
            req.client_context,
            req.cognito_identity,
            req.payload,
        )

    def _finish(
        self, inv: Invocation, payload: bytes, function_error: str | None, status: str | None
    ) -> None:
        """Complete an invocation: answer the caller first, then write END/REPORT (before,
        when the caller asked for the log tail, which must contain them)."""
        if inv.timer is not None:
            inv.timer.cancel()
        if inv.want_tail:
            self.host.drain_log()  # the function's last output belongs in the tail
        now = self.scheduler.monotonic()
        duration = (now - inv.started) * 1000 if inv.delivered else 0.0
        init_ms, self.init_ms = self.init_ms, None
        self._release_current()
        self.last_used = now
        if self.state is EnvState.BUSY:
            self.fire(EnvEvent.RESULT)
            self.host.idle()
        if inv.want_tail:
            self._report(inv, duration, init_ms, status)
        rid = inv.request.request_id
        tail = inv.log.tail() if inv.want_tail else b""
        inv.complete(InvokeResult(rid, payload, function_error, tail))
        self.host.invocation_counted(duration, function_error is not None)  # (after the answer)
        if not inv.want_tail:
            self.host.drain_log()  # (a read syscall: after the answer, not before it)
            self._report(inv, duration, init_ms, status)

    def _report(
        self, inv: Invocation, duration: float, init_ms: float | None, status: str | None
    ) -> None:
        rid = inv.request.request_id
        self._log(logfmt.end_line(rid), inv)
        memory = self.max_memory_mb()
        self._log(
            logfmt.report_line(rid, duration, self.fn.memory_mb, memory, init_ms, status), inv
        )

    def _timeout_payload(self, inv: Invocation) -> tuple[str, bytes]:
        rid = inv.request.request_id
        message = f"Task timed out after {self.fn.timeout_s:.2f} seconds"
        return message, rp.error_body("Sandbox.Timedout", f"RequestId: {rid} Error: {message}")

    def _init_timed_out(self) -> None:
        """The runtime never asked for work: a hung import or module-level code."""
        self._init_timer = None
        if not self.spawned_at:
            return
        waited = (self.scheduler.monotonic() - self.spawned_at) * 1000
        inv = self.current
        self._log(f"INIT_REPORT Init Duration: {waited:.2f} ms\tPhase: init\tStatus: timeout", inv)
        self._kill()
        self.fire(EnvEvent.RESET)
        if inv is not None:
            self._finish(inv, self._timeout_payload(inv)[1], "Unhandled", "timeout")
        self.host.discard()

    def _timed_out(self, inv: Invocation) -> None:
        if self.current is not inv:
            return
        message, payload = self._timeout_payload(inv)
        self._log(f"{self._log_time()} {inv.request.request_id} {message}", inv)
        self._kill()
        self.fire(EnvEvent.RESET)
        self._finish(inv, payload, "Unhandled", "timeout")
        self.host.restart()
        self.host.idle()  # the next invoke waits for the new runtime here, as on AWS

    def _exit_payload(self, inv: Invocation, desc: str) -> bytes:
        """AWS's error for a runtime that exited: its own init error, OOM, or ExitError."""
        rid = inv.request.request_id
        if self.init_error is not None:
            try:
                err = json.loads(self.init_error)
            except ValueError:
                return self.init_error
            if isinstance(err, dict):
                err.setdefault("requestId", "")
                return json.dumps(err).encode()
            return self.init_error
        message = f"RequestId: {rid} Error: Runtime exited with error: {desc}"
        if self.host.out_of_memory():
            self._log(
                f"{self._log_time()} {message} (out of memory: MemorySize {self.fn.memory_mb} MB)",
                inv,
            )
            return rp.error_body("Runtime.OutOfMemory", message)
        self._log(f"{self._log_time()} {message}\nRuntime.ExitError", inv)
        return rp.error_body("Runtime.ExitError", message)

    def _log(self, line: str, inv: Invocation | None) -> None:
        self.host.write_log(line)
        if inv is not None:
            inv.log.add(line)

    def _log_time(self) -> str:
        return iso_millis(self.scheduler.now())

    def max_memory_mb(self) -> int | None:
        """Peak memory: the runtime's high-water RSS (what AWS reports for a Python
        runtime) as the runtime reported it; else what the host measures."""
        if self.reported_rss_kb is not None:
            kb, self.reported_rss_kb = self.reported_rss_kb, None
            return -(-kb // 1024)
        return self.host.peak_memory_mb()

    def describe(self) -> dict[str, Any]:
        now = self.scheduler.monotonic()
        return {
            "function": self.fn.name,
            "id": self.id,
            "state": "frozen" if self.frozen and self.state is EnvState.IDLE else self.state.value,
            "age_s": round(now - self.created, 3),
            "idle_s": round(now - self.last_used, 3) if self.current is None else 0.0,
            "uses": self.uses,
            "memory_mb": self.max_memory_mb(),
            "memory_limit_mb": self.fn.memory_mb,
            "log_stream": self.stream,
        }


def _trace_id(now: float) -> str:
    root = f"1-{int(now):08x}-{ids.getrandbits(96):024x}"
    return f"Root={root};Parent={ids.getrandbits(64):016x};Sampled=0"
