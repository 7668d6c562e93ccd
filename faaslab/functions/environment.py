"""An execution environment: its lifecycle (one transition table) and the object that
drives it (`Environment`: the Runtime API calls, delivery, freezing, failures).

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

import asyncio
import contextlib
import enum
import json
import os
import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from faaslab.clock import iso_millis
from faaslab.functions import logs as logfmt
from faaslab.functions import runtime_api
from faaslab.functions.cgroups import Cgroup
from faaslab.functions.errors import LambdaError
from faaslab.functions.logs import InvocationLog
from faaslab.functions.model import (
    SYNC_PAYLOAD_LIMIT,
    FunctionConfig,
    InvokeRequest,
    InvokeResult,
    ids,
)
from faaslab.functions.network import EnvironmentNetwork
from faaslab.functions.spawner import describe_status
from faaslab.http.server import Deferred, Response

if TYPE_CHECKING:
    from faaslab.functions.manager import Manager


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
    timer: asyncio.TimerHandle | None = None

    def complete(self, outcome: Outcome) -> None:
        if not self.done:
            self.done = True
            self.on_done(outcome)


class Environment:
    """One execution environment: sandbox + runtime process + its Runtime API port."""

    def __init__(self, manager: Manager, fn: FunctionConfig, slot: int) -> None:
        self.manager = manager
        self.fn = fn
        self.slot = slot
        self.id = uuid.uuid4().hex
        self.stream = time.strftime("%Y/%m/%d/", time.gmtime()) + "[$LATEST]" + self.id
        self.state = EnvState.STARTING
        self.pid: int | None = None
        self.port = 0
        self.server: asyncio.Server | None = None
        self.net: EnvironmentNetwork | None = None  # its network namespace (network.py)
        self.cgroup: Cgroup | None = None
        self.tmp_dir = str(manager.envs_dir / self.id / "tmp")
        self.created = time.monotonic()
        # the host clocks at the start: inside, /proc/uptime counts from here (sandbox.py)
        self.boot_clocks = (time.clock_gettime(time.CLOCK_BOOTTIME), self.created)
        self.last_used = self.created
        self.uses = 0
        self.frozen = False
        self._stopped = False  # frozen with SIGSTOP (no freezer), not by the cgroup freezer
        self._freeze_timer: asyncio.TimerHandle | None = None
        self._init_timer: asyncio.TimerHandle | None = None
        self.in_idle = False
        self.current: Invocation | None = None
        self.next_waiter: Deferred | None = None
        self.spawned_at = 0.0
        self.init_ms: float | None = None  # pending for the next REPORT (cold start)
        self.init_error: bytes | None = None
        self.oom_baseline = 0
        self.reported_rss_kb: int | None = None  # the runtime's own peak RSS, when it says
        self._log_fd: int | None = None
        self._partial = bytearray()
        # CPU placement (faaslab/placement.py): where the current invocation should run,
        # and where the runtime is (None: not placed yet, e.g. a new runtime process).
        self.want_home = False
        self.at_home: bool | None = None
        # Environments live on the control plane's loop; asking asyncio for it costs a
        # getpid() syscall per call on Python 3.11 (its fork check), twice per invoke.
        self.loop = asyncio.get_running_loop()

    # -- transitions
    def fire(self, event: EnvEvent) -> None:
        self.state = next_state(self.id, self.state, event)

    # -- Runtime API (called by runtime_api handlers)
    def runtime_next(self) -> Response | Deferred:
        if self.spawned_at:
            self.init_ms = (time.monotonic() - self.spawned_at) * 1000
            self.spawned_at = 0.0
            if self._init_timer is not None:
                self._init_timer.cancel()
                self._init_timer = None
        inv = self.current
        if inv is not None and not inv.delivered:
            return self._deliver(inv)
        if inv is not None:  # asked for more work without answering: AWS fails that invoke
            self._finish(
                inv,
                _error_payload("Runtime.InvalidResponse", "runtime called next twice"),
                "Unhandled",
                "error",
            )
        if self.state is EnvState.STARTING:
            self.fire(EnvEvent.NEXT)
            self.manager.make_idle(self)
        waiter = self.next_waiter = Deferred()
        if self.pid is not None and self.current is None:
            self._freeze_timer = self.loop.call_later(FREEZE_GRACE_S, self._freeze)
        return waiter

    def _freeze(self) -> None:
        self._freeze_timer = None
        if self.pid is not None and self.current is None and not self.frozen:
            cg = self.cgroup
            if cg is None or not cg.freeze():
                self._signal(signal.SIGSTOP)
                self._stopped = True
            self.frozen = True

    def runtime_result(
        self, request_id: str, body: bytes, error_type: str | None, rss_kb: int | None = None
    ) -> Response:
        inv = self.current
        if inv is None or inv.request.request_id != request_id or not inv.delivered:
            return runtime_api.invalid_request_id(request_id)
        if len(body) > SYNC_PAYLOAD_LIMIT:
            payload = _error_payload(
                "Function.ResponseSizeTooLarge",
                "Response payload size exceeded maximum allowed payload size "
                f"({SYNC_PAYLOAD_LIMIT} bytes).",
            )
            self._finish(inv, payload, "Unhandled", None)
            return runtime_api.too_large(len(body), SYNC_PAYLOAD_LIMIT)
        self.reported_rss_kb = rss_kb
        self._finish(inv, body, "Unhandled" if error_type else None, None)
        return runtime_api.ACCEPTED

    def runtime_init_error(self, body: bytes) -> Response:
        self.init_error = body
        return runtime_api.ACCEPTED

    # -- invocations
    def assign(self, inv: Invocation) -> None:
        self.fire(EnvEvent.ASSIGN)
        self.current = inv
        self.uses += 1
        self.want_home = self.manager.placement.started()
        self.apply_placement()
        w = self.next_waiter
        if w is not None and not w.done:
            self.next_waiter = None
            w.resolve(self._deliver(inv))
            # Thaw after the write: the runtime wakes once, with its event already there.
            self._thaw()

    def release_current(self) -> None:
        """The environment no longer runs an invocation (the one place `current` clears)."""
        if self.current is not None:
            self.current = None
            self.manager.placement.finished()

    def apply_placement(self) -> None:
        """Move the runtime where the current invocation wants it, if it is elsewhere
        (a syscall only when it moves: steady loads make none)."""
        if self.pid is not None and self.at_home is not self.want_home:
            self.manager.placement.move(self.pid, self.want_home)
            self.at_home = self.want_home

    def _thaw(self) -> None:
        if self._freeze_timer is not None:
            self._freeze_timer.cancel()
            self._freeze_timer = None
        if self.frozen:
            self._unfreeze()

    def _unfreeze(self) -> None:
        if self._stopped:
            self._signal(signal.SIGCONT)
            self._stopped = False
        elif self.cgroup is not None:
            self.cgroup.thaw()
        self.frozen = False

    def _deliver(self, inv: Invocation) -> Response:
        inv.delivered = True
        inv.started = time.monotonic()
        timeout = self.fn.timeout_s
        deadline_ms = int((time.time() + timeout) * 1000)
        inv.timer = self.loop.call_later(timeout, self._timed_out, inv)
        self._log(logfmt.start_line(inv.request.request_id), inv)
        req = inv.request
        headers = {
            "Lambda-Runtime-Aws-Request-Id": req.request_id,
            "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": self.fn.arn,
            "Lambda-Runtime-Trace-Id": req.trace_id or _trace_id(),
            "Content-Type": "application/json",
        }
        if req.client_context:
            headers["Lambda-Runtime-Client-Context"] = req.client_context
        if req.cognito_identity:
            headers["Lambda-Runtime-Cognito-Identity"] = req.cognito_identity
        return Response(200, req.payload, headers)

    def _finish(
        self, inv: Invocation, payload: bytes, function_error: str | None, status: str | None
    ) -> None:
        """Complete an invocation: answer the caller first, then write END/REPORT (before,
        when the caller asked for the log tail, which must contain them)."""
        if inv.timer is not None:
            inv.timer.cancel()
        if inv.want_tail:
            self.drain_log()  # the function's last output belongs in the tail
        now = time.monotonic()
        duration = (now - inv.started) * 1000 if inv.delivered else 0.0
        init_ms, self.init_ms = self.init_ms, None
        self.release_current()
        self.last_used = now
        if self.state is EnvState.BUSY:
            self.fire(EnvEvent.RESULT)
            self.manager.make_idle(self)
        if inv.want_tail:
            self._report(inv, duration, init_ms, status)
        rid = inv.request.request_id
        tail = inv.log.tail() if inv.want_tail else b""
        inv.complete(InvokeResult(rid, payload, function_error, tail))
        if not inv.want_tail:
            self.drain_log()  # (a read syscall: after the answer, not before it)
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

    def arm_init_timer(self, seconds: float) -> None:
        self._init_timer = asyncio.get_running_loop().call_later(seconds, self._init_timed_out)

    def _init_timed_out(self) -> None:
        """The runtime never asked for work: a hung import or module-level code."""
        self._init_timer = None
        if not self.spawned_at:
            return
        waited = (time.monotonic() - self.spawned_at) * 1000
        inv = self.current
        self._log(f"INIT_REPORT Init Duration: {waited:.2f} ms\tPhase: init\tStatus: timeout", inv)
        self.kill_runtime()
        if self.state is not EnvState.STARTING:
            self.fire(EnvEvent.RESET)
        if inv is not None:
            rid = inv.request.request_id
            message = f"Task timed out after {self.fn.timeout_s:.2f} seconds"
            payload = json.dumps(
                {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"RequestId: {rid} Error: {message}",
                }
            )
            self._finish(inv, payload.encode(), "Unhandled", "timeout")
        self.manager.discard(self)

    def _timed_out(self, inv: Invocation) -> None:
        if self.current is not inv:
            return
        rid = inv.request.request_id
        message = f"Task timed out after {self.fn.timeout_s:.2f} seconds"
        self._log(f"{_log_time()} {rid} {message}", inv)
        payload = json.dumps(
            {"errorType": "Sandbox.Timedout", "errorMessage": f"RequestId: {rid} Error: {message}"}
        )
        self.kill_runtime()
        self.fire(EnvEvent.RESET)
        self._finish(inv, payload.encode(), "Unhandled", "timeout")
        self.manager.restart_runtime(self)
        self.manager.make_idle(self)  # the next invoke waits for the new runtime here, as on AWS

    def runtime_exited(self, status: int) -> None:
        """The runtime process died on its own (crash, sys.exit, OOM, init failure)."""
        _code, desc = describe_status(status)
        self.pid = None
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
            self.manager.restart_runtime(self)
            return
        during_init = self.state is EnvState.STARTING or (inv is not None and not inv.delivered)
        if self.state is not EnvState.STARTING:
            self.fire(EnvEvent.RESET)
        if inv is not None and not inv.done:
            self._finish(inv, self._exit_payload(inv, desc), "Unhandled", "error")
        if during_init:
            self.manager.discard(self)
        else:
            self.manager.restart_runtime(self)
            self.manager.make_idle(self)

    def _exit_payload(self, inv: Invocation, desc: str) -> bytes:
        """AWS's error for a runtime that exited: its own init error, OOM, or ExitError."""
        rid = inv.request.request_id
        if self.init_error is not None:
            with contextlib.suppress(ValueError):
                err = json.loads(self.init_error)
                err.setdefault("requestId", "")
                return json.dumps(err).encode()
            return self.init_error
        message = f"RequestId: {rid} Error: Runtime exited with error: {desc}"
        if self.cgroup is not None and self.cgroup.oom_kills() > self.oom_baseline:
            self._log(
                f"{_log_time()} {message} (out of memory: MemorySize {self.fn.memory_mb} MB)", inv
            )
            return _error_payload("Runtime.OutOfMemory", message)
        self._log(f"{_log_time()} {message}\nRuntime.ExitError", inv)
        return _error_payload("Runtime.ExitError", message)

    # -- process plumbing
    def _signal(self, sig: int) -> None:
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def kill_runtime(self) -> None:
        if self.pid is not None:
            self.manager.forget_pid(self.pid)
            if self.cgroup is not None:
                self.cgroup.kill_all()
            self._signal(signal.SIGKILL)
            self._signal(signal.SIGCONT)
            self.pid = None
        if self.frozen:  # (kill_all thawed the group already; this covers SIGSTOP)
            self._unfreeze()
        for timer in (self._freeze_timer, self._init_timer):
            if timer is not None:
                timer.cancel()
        self._freeze_timer = self._init_timer = None
        self.next_waiter = None  # its connection dies with the process

    def attach_log(self, fd: int) -> None:
        os.set_blocking(fd, False)
        self._log_fd = fd
        asyncio.get_running_loop().add_reader(fd, self._on_log_readable, fd)

    def _on_log_readable(self, fd: int) -> None:
        self._read_log(fd, 1)

    def drain_log(self) -> None:
        if self._log_fd is not None:
            self._read_log(self._log_fd, 64)

    def _read_log(self, fd: int, rounds: int) -> None:
        for _ in range(rounds):
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:  # every writer closed: the runtime is gone
                asyncio.get_running_loop().remove_reader(fd)
                os.close(fd)
                if self._log_fd == fd:
                    self._log_fd = None
                if self._partial:
                    self._log(self._partial.decode("utf-8", "replace"), self.current)
                    self._partial.clear()
                return
            for line in logfmt.iter_lines(chunk, self._partial):
                self._log(line, self.current)

    def _log(self, line: str, inv: Invocation | None) -> None:
        self.manager.logs.write(self.fn.name, self.stream, line)
        if inv is not None:
            inv.log.add(line)

    def max_memory_mb(self) -> int | None:
        """Peak memory: the runtime's high-water RSS (what AWS reports for a Python
        runtime) as the runtime reported it; else read from /proc and the cgroup."""
        if self.reported_rss_kb is not None:
            kb, self.reported_rss_kb = self.reported_rss_kb, None
            return -(-kb // 1024)
        peak = self.cgroup.peak_bytes() if self.cgroup is not None else None
        if self.pid is not None:
            with (
                contextlib.suppress(OSError, ValueError),
                open(f"/proc/{self.pid}/status", "rb") as f,
            ):
                for line in f:
                    if line.startswith(b"VmHWM:"):
                        peak = max(peak or 0, int(line.split()[1]) * 1024)
                        break
        return None if peak is None else -(-peak // (1024 * 1024))

    def describe(self) -> dict[str, Any]:
        now = time.monotonic()
        return {
            "function": self.fn.name,
            "id": self.id,
            "state": "frozen" if self.frozen and self.state is EnvState.IDLE else self.state.value,
            "pid": self.pid,
            "age_s": round(now - self.created, 3),
            "idle_s": round(now - self.last_used, 3) if self.current is None else 0.0,
            "uses": self.uses,
            "memory_mb": self.max_memory_mb(),
            "memory_limit_mb": self.fn.memory_mb,
            "log_stream": self.stream,
            "runtime_api": f"127.0.0.1:{self.port}",
            "uid": self.manager.uid_of(self.slot),
        }


def _error_payload(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def _trace_id() -> str:
    root = f"1-{int(time.time()):08x}-{ids.getrandbits(96):024x}"
    return f"Root={root};Parent={ids.getrandbits(64):016x};Sampled=0"


def _log_time() -> str:
    return iso_millis(time.time())
