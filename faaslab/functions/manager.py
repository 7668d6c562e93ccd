"""The container manager: environments per function, scheduling, limits, failures.

A sync invoke takes the most recently used idle environment of its function (warm), or
starts a new one (cold) when every one is busy — AWS's behaviour, which is what the
tutorial's calltwice.sh shows. Each environment is driven by the transition table in
environment.py; its runtime talks back through its own Runtime API port.

Timeouts kill only the runtime process and start a new one in the same environment
(/tmp survives, as on AWS); a crash during init discards the environment; a crash during
an invoke resets it like a timeout.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faaslab.clock import Clock
from faaslab.config import Config
from faaslab.functions import logs as logfmt
from faaslab.functions import runtime_api, sandbox
from faaslab.functions.cgroups import Cgroup, CgroupDriver, detect
from faaslab.functions.environment import EnvEvent, EnvState, next_state
from faaslab.functions.errors import LambdaError, ResourceNotFound, ServiceError, TooManyRequests
from faaslab.functions.logs import InvocationLog, LogStore
from faaslab.functions.model import (
    DEFAULT_ACCOUNT,
    SYNC_PAYLOAD_LIMIT,
    FunctionConfig,
    InvokeRequest,
    InvokeResult,
)
from faaslab.functions.spawner import Spawner, describe_status
from faaslab.http.server import Deferred, HttpProtocol, Response, serve

SPARES = 2  # environments-to-be forked ahead of time (see zygote.py): cold starts skip ~15 ms
EVENT_RETRY_DELAYS = (60.0, 120.0)  # AWS retries a failed async invoke twice: ~1 min, ~2 min
LOCAL_ACCESS_KEY = "AKIAFAASLABLOCAL0001"
LOCAL_SECRET_KEY = "faaslab/local/secret/key/0001"


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
        self.cgroup: Cgroup | None = None
        self.tmp_dir = str(manager.envs_dir / self.id / "tmp")
        self.created = time.monotonic()
        self.last_used = self.created
        self.uses = 0
        self.frozen = False
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

    # -- transitions
    def fire(self, event: EnvEvent) -> None:
        self.state = next_state(self.id, self.state, event)

    # -- Runtime API (called by runtime_api handlers)
    def runtime_next(self) -> Response | Deferred:
        if self.spawned_at:
            self.init_ms = (time.monotonic() - self.spawned_at) * 1000
            self.spawned_at = 0.0
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
            self._signal(signal.SIGSTOP)
            self.frozen = True
        return waiter

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
        w = self.next_waiter
        if w is not None and not w.done:
            self.next_waiter = None
            w.resolve(self._deliver(inv))
            # Thaw after the write: the runtime wakes once, with its event already there.
            self._thaw()

    def _thaw(self) -> None:
        if self.frozen:
            self._signal(signal.SIGCONT)
            self.frozen = False

    def _deliver(self, inv: Invocation) -> Response:
        inv.delivered = True
        inv.started = time.monotonic()
        timeout = self.fn.timeout_s
        deadline_ms = int((time.time() + timeout) * 1000)
        inv.timer = asyncio.get_running_loop().call_later(timeout, self._timed_out, inv)
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
        self.drain_log()
        now = time.monotonic()
        duration = (now - inv.started) * 1000 if inv.delivered else 0.0
        init_ms, self.init_ms = self.init_ms, None
        self.current = None
        self.last_used = now
        if self.state is EnvState.BUSY:
            self.fire(EnvEvent.RESULT)
            self.manager.make_idle(self)
        if inv.want_tail:
            self._report(inv, duration, init_ms, status)
        rid = inv.request.request_id
        tail = inv.log.tail() if inv.want_tail else b""
        inv.complete(InvokeResult(rid, payload, function_error, tail, self.id, init_ms is not None))
        if not inv.want_tail:
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
        self.frozen = False
        inv = self.current
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
        self.frozen = False
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
            "uid": self.manager.config.uid_base + self.slot,
        }


class FunctionPool:
    """The environments of one function."""

    def __init__(self, fn: FunctionConfig) -> None:
        self.fn = fn
        self.envs: dict[str, Environment] = {}
        self.idle: list[Environment] = []  # a stack: the most recently used on top

        self.starting = 0  # cold starts under way (their invocation is not assigned yet)

    @property
    def busy(self) -> int:
        return self.starting + sum(1 for e in self.envs.values() if e.current is not None)


class Manager:
    """Owns every environment, the zygote, and the per-function pools."""

    def __init__(self, config: Config, clock: Clock, state_dir: Path, edge_url: str) -> None:
        self.config = config
        self.clock = clock
        self.state_dir = state_dir
        self.envs_dir = state_dir / "envs"
        self.edge_url = edge_url
        self.logs = LogStore(state_dir / "logs")
        self.pools: dict[str, FunctionPool] = {}
        self._by_pid: dict[int, Environment] = {}
        self._slots: set[int] = set()
        self._spawner = Spawner(self._on_exit)
        self._cgroups: CgroupDriver = CgroupDriver(0, {})
        self._isolate = False
        self._runtime_paths: list[str] = []
        self._sweeper: asyncio.Task[None] | None = None
        self._spares: list[tuple[str, Cgroup | None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self.warnings: list[str] = []

    # -- lifecycle
    async def start(self) -> None:
        self.envs_dir.mkdir(parents=True, exist_ok=True)
        self._sweep_stale_mounts()
        self._isolate = self._probe_isolation()
        if self._isolate:
            self._cgroups = detect(hashlib.sha256(str(self.state_dir).encode()).hexdigest()[:12])
            self._cgroups.sweep()
            if self._cgroups.version == 0:
                self.warnings.append(
                    "no writable cgroup hierarchy: memory limits fall back to rlimits"
                )
            self._runtime_paths = runtime_paths()
        await self._spawner.start()
        for _ in range(SPARES):
            self._add_spare()
        self._sweeper = asyncio.create_task(self._sweep())

    def _add_spare(self) -> None:
        if not self._isolate:
            return
        key = "spare-" + secrets.token_hex(6)
        cgroup = self._cgroups.create(key, 128)
        self._spares.append((key, cgroup))
        self._spawner.spare(key, cgroup.procs_files if cgroup else [])

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        self._spares.clear()
        for pool in self.pools.values():
            for env in list(pool.envs.values()):
                self._stop_env(env, EnvEvent.STOP)
        for t in list(self._tasks):
            t.cancel()
        await self._spawner.stop()  # (it kills the spares, and any child left)
        await asyncio.sleep(0.1)
        self._cgroups.remove()
        self._sweep_stale_mounts()
        self.logs.close()

    def _probe_isolation(self) -> bool:
        mode = self.config.isolation
        if mode == "none":
            self.warnings.append(
                "isolation disabled (--isolation none): functions share the host's /tmp view"
            )
            return False
        reason = ""
        if os.geteuid() != 0:
            reason = "faaslab is not running as root"
        else:
            probe = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "from faaslab.functions import sandbox as s; "
                    "s.unshare_mounts(); s.mount_tmpfs('/mnt', 1)",
                ],
                capture_output=True,
                text=True,
            )
            if probe.returncode != 0:
                reason = (probe.stderr.strip().splitlines() or ["unknown error"])[-1]
        if reason:
            if mode == "namespaces":
                raise ServiceError(
                    f"--isolation namespaces: mount namespaces are not usable here: {reason}"
                )
            self.warnings.append(
                f"mount namespaces are not usable ({reason}): each environment gets its own /tmp "
                "directory via TMPDIR instead, code is not read-only, and memory limits are rlimits"
            )
            return False
        return True

    def _sweep_stale_mounts(self) -> None:
        """Unmount environment tmpfs left by an earlier run that was killed."""
        with contextlib.suppress(OSError):
            for line in Path("/proc/self/mounts").read_text().splitlines():
                target = line.split()[1]
                if target.startswith(str(self.envs_dir) + "/"):
                    with contextlib.suppress(OSError):
                        sandbox.umount(target)
        with contextlib.suppress(OSError):
            for d in self.envs_dir.iterdir():
                with contextlib.suppress(OSError):
                    (d / "tmp").rmdir()
                    d.rmdir()

    # -- deployment
    def deploy(self, functions: Iterable[FunctionConfig]) -> None:
        for fn in functions:
            old = self.pools.get(fn.name)
            if old is not None:
                for env in list(old.envs.values()):
                    self._stop_env(env, EnvEvent.STOP)
            self.pools[fn.name] = FunctionPool(fn)

    def pool(self, name_or_arn: str) -> FunctionPool:
        name = name_or_arn
        if name.startswith("arn:"):
            parts = name.split(":")
            name = parts[6] if len(parts) > 6 else ""
        elif ":" in name:  # name:qualifier
            name = name.split(":", 1)[0]
        pool = self.pools.get(name)
        if pool is None:
            raise ResourceNotFound(
                f"Function not found: arn:aws:lambda:{self.config.region}:{DEFAULT_ACCOUNT}"
                f":function:{name}"
            )
        return pool

    # -- invoking
    def start_invoke(
        self, fn_name: str, req: InvokeRequest, want_tail: bool, on_done: OnDone
    ) -> None:
        """Begin a sync invoke; `on_done` gets the outcome. Raises 404/429 at once.

        The warm path is synchronous end to end: an idle environment whose runtime waits
        in `next` gets the event written to it before this returns.
        """
        pool = self.pool(fn_name)
        fn = pool.fn
        if fn.reserved_concurrency is not None and pool.busy >= fn.reserved_concurrency:
            raise TooManyRequests("ReservedFunctionConcurrentInvocationLimitExceeded")
        if self.total_busy() >= self.config.concurrency:
            raise TooManyRequests("ConcurrentInvocationLimitExceeded")
        inv = Invocation(req, on_done, want_tail)
        env = self._take_idle(pool)
        if env is not None:
            env.assign(inv)
            return
        pool.starting += 1  # counts toward concurrency while the environment starts
        task = asyncio.create_task(self._cold_start(pool, inv))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _cold_start(self, pool: FunctionPool, inv: Invocation) -> None:
        try:
            await self._new_environment(pool, inv)
        except LambdaError as e:
            inv.complete(e)
        except Exception as e:
            inv.complete(ServiceError(f"could not start an environment: {e}"))

    async def invoke(
        self, fn_name: str, req: InvokeRequest, want_tail: bool = False
    ) -> InvokeResult:
        """start_invoke for callers that prefer to await (API routes, Event retries)."""
        fut: asyncio.Future[InvokeResult] = asyncio.get_running_loop().create_future()

        def done(outcome: Outcome) -> None:
            if fut.done():
                return
            if isinstance(outcome, LambdaError):
                fut.set_exception(outcome)
            else:
                fut.set_result(outcome)

        self.start_invoke(fn_name, req, want_tail, done)
        return await fut

    def total_busy(self) -> int:
        return sum(p.busy for p in self.pools.values())

    def _take_idle(self, pool: FunctionPool) -> Environment | None:
        while pool.idle:
            env = pool.idle.pop()
            env.in_idle = False
            # STARTING here means a runtime being replaced after a timeout or crash.
            if env.current is None and env.state in (EnvState.IDLE, EnvState.STARTING):
                return env
        return None

    def make_idle(self, env: Environment) -> None:
        pool = self.pools.get(env.fn.name)
        if pool is not None and pool.envs.get(env.id) is env and not env.in_idle:
            env.in_idle = True
            pool.idle.append(env)

    async def _new_environment(self, pool: FunctionPool, inv: Invocation) -> Environment:
        """A new environment, owned by `inv` from the start: its runtime may ask for work
        before this returns, and must find that invocation, not go idle for others."""
        slot = 0
        while slot in self._slots:
            slot += 1
        self._slots.add(slot)
        env = Environment(self, pool.fn, slot)
        pool.envs[env.id] = env
        pool.starting -= 1  # from here on `env.current` counts it as busy
        env.assign(inv)
        try:
            # The TCP Runtime API (for awslambdaric & co.) admits only the environment's own uid:
            # any local process could otherwise connect and take its invocations.
            uid = self.config.uid_base + slot
            admit = (lambda t: runtime_api.tcp_peer_uid(t) == uid) if self._isolate else None
            env.server = await serve(runtime_api.make_handler(env), "127.0.0.1", 0, admit=admit)  # type: ignore[arg-type]
            env.port = env.server.sockets[0].getsockname()[1]
            spare = None
            if self._spares:
                spare, env.cgroup = self._spares.pop(0)
                if env.cgroup is not None:
                    env.cgroup.set_limit(pool.fn.memory_mb + pool.fn.ephemeral_mb)
                self._add_spare()
            elif self._isolate:
                env.cgroup = self._cgroups.create(env.id, pool.fn.memory_mb + pool.fn.ephemeral_mb)
            await self._spawn_runtime(env, first=True, spare=spare)
        except Exception as e:
            inv.complete(ServiceError(f"could not start an environment: {e}"))
            self._stop_env(env, EnvEvent.STOP)
            raise
        return env

    async def _spawn_runtime(self, env: Environment, first: bool, spare: str | None = None) -> None:
        fn = env.fn
        uid = self.config.uid_base + env.slot
        spec = sandbox.SandboxSpec(
            env_id=env.id,
            uid=uid,
            gid=uid,
            env=self._function_env(env),
            code_dir=str(fn.code_dir),
            tmp_dir=env.tmp_dir,
            hide_dir=str(self.state_dir),
            isolate=self._isolate,
            runtime_paths=self._runtime_paths,
            cgroup_procs=env.cgroup.procs_files if env.cgroup else [],
            memory_mb=fn.memory_mb,
            command=_bootstrap_command(fn),
        )
        r, w = os.pipe()
        env.attach_log(r)
        fds = [w]
        if spec.command is None:
            # faaslab's own runtime gets its Runtime API connection ready-made: a Unix
            # socketpair costs half a loopback TCP round trip, and no other process can
            # reach it. (AWS_LAMBDA_RUNTIME_API still names the TCP port, for other clients.)
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            loop = asyncio.get_running_loop()
            handler = runtime_api.make_handler(env)
            await loop.connect_accepted_socket(lambda: HttpProtocol(handler), ours)  # type: ignore[arg-type]
            fds.append(theirs.fileno())
        env.spawned_at = time.monotonic()
        env.init_error = None
        try:
            pid = await self._spawner.spawn(spec, fds, fn.ephemeral_mb if first else None, spare)
        finally:
            os.close(w)
            if spec.command is None:
                theirs.close()
        if env.state is EnvState.STOPPED:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            return
        env.pid = pid
        self._by_pid[pid] = env
        if env.cgroup is not None:
            env.oom_baseline = env.cgroup.oom_kills()

    def restart_runtime(self, env: Environment) -> None:
        """Start a fresh runtime in the same environment (after a timeout or crash)."""
        task = asyncio.create_task(self._restart(env))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _restart(self, env: Environment) -> None:
        try:
            await self._spawn_runtime(env, first=False)
        except Exception as e:
            self.logs.write(env.fn.name, env.stream, f"faaslab: could not restart the runtime: {e}")
            self.discard(env)

    def _function_env(self, env: Environment) -> dict[str, str]:
        fn = env.fn
        values = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PYTHONUNBUFFERED": "1",
            "_HANDLER": fn.handler,
            "AWS_REGION": fn.region,
            "AWS_DEFAULT_REGION": fn.region,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": fn.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": fn.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": env.stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{env.port}",
            "AWS_ACCESS_KEY_ID": LOCAL_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET_KEY,
            "AWS_SESSION_TOKEN": base64.b64encode(env.id.encode()).decode(),
            "AWS_ENDPOINT_URL": self.edge_url,
            "LAMBDA_RUNTIME_DIR": "/var/runtime",
        }
        values.update(fn.environment)
        return values

    # -- stopping
    def discard(self, env: Environment) -> None:
        self._stop_env(env, EnvEvent.STOP)

    def _stop_env(self, env: Environment, event: EnvEvent) -> None:
        if env.state is EnvState.STOPPED:
            return
        env.fire(event)
        inv = env.current
        env.kill_runtime()
        if inv is not None:
            inv.complete(ServiceError("the environment was stopped"))
        env.current = None
        pool = self.pools.get(env.fn.name)
        if pool is not None:
            pool.envs.pop(env.id, None)
            if env in pool.idle:
                pool.idle.remove(env)
        if env.server is not None:
            env.server.close()
        env.drain_log()
        self._spawner.release(env.tmp_dir)
        if env.cgroup is not None:
            cg = env.cgroup
            asyncio.get_running_loop().call_later(0.5, cg.destroy)
        self._slots.discard(env.slot)

    def forget_pid(self, pid: int) -> None:
        self._by_pid.pop(pid, None)

    def _on_exit(self, pid: int, status: int) -> None:
        env = self._by_pid.pop(pid, None)
        if env is not None and env.pid == pid:
            env.runtime_exited(status)

    async def _sweep(self) -> None:
        """Flush logs and recycle environments idle too long or past their lifetime."""
        while True:
            await asyncio.sleep(0.25)
            self.logs.flush()
            now = time.monotonic()
            idle_limit = self.clock.emulated_delay(self.config.keep_alive)
            life_limit = self.clock.emulated_delay(self.config.max_lifetime)
            for pool in list(self.pools.values()):
                for env in list(pool.envs.values()):
                    if (
                        env.state is EnvState.IDLE
                        and env.current is None
                        and (now - env.last_used > idle_limit or now - env.created > life_limit)
                    ):
                        self._stop_env(env, EnvEvent.EXPIRE)

    # -- async (Event) invocations
    def submit_event(self, fn_name: str, req: InvokeRequest) -> None:
        self.pool(fn_name)  # raises ResourceNotFound now, not later
        task = asyncio.create_task(self._run_event(fn_name, req))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_event(self, fn_name: str, req: InvokeRequest) -> None:
        for attempt, delay in enumerate((0.0, *EVENT_RETRY_DELAYS)):
            if delay:
                await asyncio.sleep(self.clock.emulated_delay(delay))
            try:
                result = await self.invoke(fn_name, req)
            except TooManyRequests:
                continue
            except (ResourceNotFound, ServiceError):
                return
            if result.function_error is None:
                return
            if attempt < len(EVENT_RETRY_DELAYS):
                pool = self.pools.get(fn_name)
                if pool is not None:
                    self.logs.write(
                        fn_name,
                        "faaslab",
                        f"async invoke {req.request_id} failed; retry {attempt + 1} of 2",
                    )

    def environments(self) -> list[dict[str, Any]]:
        return [env.describe() for pool in self.pools.values() for env in pool.envs.values()]


def runtime_paths() -> list[str]:
    """Where the runtime's files are (as Python names them, and really): the sandbox keeps
    them reachable even under /tmp or a 0700 home."""
    import faaslab

    cwd = os.getcwd()  # (on sys.path under `python -m`, but not part of the runtime)
    raw = [
        *(p for p in sys.path if p not in ("", cwd)),
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        os.path.dirname(sys.executable),
        os.path.dirname(os.path.dirname(faaslab.__file__)),
    ]
    paths = {p for p in raw if p and os.path.isdir(p)}
    return sorted(paths | {os.path.realpath(p) for p in paths})


def _bootstrap_command(fn: FunctionConfig) -> list[str] | None:
    """A bootstrap to exec instead of faaslab's own runtime (FAASLAB_BOOTSTRAP=awslambdaric)."""
    if fn.environment.get("FAASLAB_BOOTSTRAP") == "awslambdaric":
        return [sys.executable, "-m", "awslambdaric", fn.handler]
    return None


def _error_payload(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def _trace_id() -> str:
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    return f"Root={root};Parent={secrets.token_hex(8)};Sampled=0"


def _log_time() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"
