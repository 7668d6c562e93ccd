"""The manager's side of one environment: the real processes, files and timers behind
`environment.Host` and `environment.Scheduler`.

`Environment` decides (its transition table, what to answer the runtime, when to freeze);
`EnvironmentHost` owns what those decisions act on: the runtime's pid, its cgroup (freezer,
OOM counter, peak memory), the environment's network namespace and Runtime API listener,
the runtime's log pipe, its uid slot and its CPU placement. Pool-level consequences
(offer it back as idle, restart its runtime, discard it) go to the `Owner`, the manager.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from faaslab.clock import Timer
from faaslab.functions import logs as logfmt
from faaslab.functions.cgroups import Cgroup
from faaslab.functions.environment import Environment
from faaslab.functions.logs import LogStore
from faaslab.functions.metrics import LambdaMetrics
from faaslab.functions.model import FunctionConfig
from faaslab.functions.network import EnvironmentNetwork
from faaslab.functions.spawner import describe_status
from faaslab.placement import Placement


class LoopScheduler:
    """`environment.Scheduler` on the running event loop and the process's clocks.

    Its members are the loop's and the time module's own callables, not wrappers: the
    warm path calls them about five times per invoke. (Environments live on the control
    plane's loop; asking asyncio for it costs a getpid() syscall per call on Python 3.11,
    its fork check: so the loop is taken once, here.)"""

    __slots__ = ("call_later", "monotonic", "now")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.monotonic: Callable[[], float] = time.monotonic
        self.now: Callable[[], float] = time.time
        self.call_later: Callable[..., Timer] = loop.call_later


class Owner(Protocol):
    """The pools an environment belongs to (manager.Manager)."""

    def make_idle(self, host: EnvironmentHost) -> None: ...

    def restart_runtime(self, host: EnvironmentHost) -> None: ...

    def discard(self, host: EnvironmentHost) -> None: ...

    def forget_pid(self, pid: int) -> None: ...


class EnvironmentHost:
    """One environment's processes and resources; implements `environment.Host`."""

    def __init__(
        self,
        owner: Owner,
        fn: FunctionConfig,
        slot: int,
        uid: int,
        envs_dir: Path,
        placement: Placement,
        logs: LogStore,
        scheduler: LoopScheduler,
        metrics: LambdaMetrics,
    ) -> None:
        self.owner = owner
        self.metrics = metrics
        self.slot = slot
        self.uid = uid
        self.placement = placement
        self.logs = logs
        self.env = Environment(fn, self, scheduler)
        self.tmp_dir = str(envs_dir / self.env.id / "tmp")
        # the host clocks at the start: inside, /proc/uptime counts from here (sandbox.py)
        self.boot_clocks = (time.clock_gettime(time.CLOCK_BOOTTIME), self.env.created)
        self.pid: int | None = None
        self.port = 0
        self.server: asyncio.Server | None = None
        self.net: EnvironmentNetwork | None = None  # its network namespace (network.py)
        self.cgroup: Cgroup | None = None
        self.in_idle = False  # on its pool's idle stack (the manager's bookkeeping)
        self.at_home: bool | None = None  # where the runtime runs; None: not placed yet
        self._oom_baseline = 0
        self._stopped = False  # frozen with SIGSTOP (no freezer), not by the cgroup freezer
        self._log_fd: int | None = None
        self._partial = bytearray()

    # (what _spawn_runtime and _function_env read, under the names they always had)
    @property
    def id(self) -> str:
        return self.env.id

    @property
    def fn(self) -> FunctionConfig:
        return self.env.fn

    @property
    def stream(self) -> str:
        return self.env.stream

    # -- the runtime process
    def started(self, pid: int) -> None:
        """A runtime process now runs in this environment."""
        self.pid = pid
        self.at_home = None  # a new process: placed afresh
        if self.cgroup is not None:
            self._oom_baseline = self.cgroup.oom_kills()
        self.env.spawned()

    def exited(self, status: int) -> None:
        """The runtime process ended (its raw wait status)."""
        self.pid = None
        self.env.runtime_exited(describe_status(status)[1])

    def close(self) -> None:
        """Release what the environment held open (after `Environment.stop`)."""
        if self.server is not None:
            self.server.close()
        if self.net is not None:
            self.net.close()
        self.drain_log()

    # -- environment.Host
    def restart(self) -> None:
        self.owner.restart_runtime(self)

    def kill(self) -> None:
        if self.pid is not None:
            self.owner.forget_pid(self.pid)
            if self.cgroup is not None:
                self.cgroup.kill_all()
            self._signal(signal.SIGKILL)
            self._signal(signal.SIGCONT)
            self.pid = None

    def freeze(self) -> None:
        cg = self.cgroup
        if cg is None or not cg.freeze():
            self._signal(signal.SIGSTOP)
            self._stopped = True

    def thaw(self) -> None:
        if self._stopped:
            self._signal(signal.SIGCONT)
            self._stopped = False
        elif self.cgroup is not None:
            self.cgroup.thaw()

    def invocation_started(self) -> bool:
        self.metrics.begin(self.env.fn.name)
        return self.placement.started()

    def invocation_finished(self) -> None:
        self.metrics.end(self.env.fn.name)
        self.placement.finished()

    def invocation_counted(self, duration_ms: float, errored: bool) -> None:
        self.metrics.finished(self.env.fn.name, duration_ms, errored)

    def place(self, home: bool) -> None:
        """(a syscall only when the runtime moves: steady loads make none)"""
        if self.pid is not None and self.at_home is not home:
            self.placement.move(self.pid, home)
            self.at_home = home

    def write_log(self, line: str) -> None:
        self.logs.write(self.env.fn.name, self.env.stream, line)

    def drain_log(self) -> None:
        if self._log_fd is not None:
            self._read_log(self._log_fd, 64)

    def out_of_memory(self) -> bool:
        return self.cgroup is not None and self.cgroup.oom_kills() > self._oom_baseline

    def peak_memory_mb(self) -> int | None:
        """The cgroup's peak, or the runtime's high-water RSS from /proc if higher."""
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

    def idle(self) -> None:
        self.owner.make_idle(self)

    def discard(self) -> None:
        self.owner.discard(self)

    # -- the runtime's output (a pipe: stdout and stderr)
    def attach_log(self, fd: int) -> None:
        os.set_blocking(fd, False)
        self._log_fd = fd
        asyncio.get_running_loop().add_reader(fd, self._on_log_readable, fd)

    def _on_log_readable(self, fd: int) -> None:
        self._read_log(fd, 1)

    def _read_log(self, fd: int, rounds: int) -> None:
        env = self.env
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
                    env.output(self._partial.decode("utf-8", "replace"))
                    self._partial.clear()
                return
            for line in logfmt.iter_lines(chunk, self._partial):
                env.output(line)

    def _signal(self, sig: int) -> None:
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def describe(self) -> dict[str, Any]:
        """What `faaslab ps` shows: the environment's state and this host's resources."""
        return {
            **self.env.describe(),
            "pid": self.pid,
            "runtime_api": f"127.0.0.1:{self.port}",
            "uid": self.uid,
        }
