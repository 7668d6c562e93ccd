"""CPU placement: keep the control plane and the environment it is serving on one CPU.

A warm invoke is a strict relay (client -> control plane -> runtime -> control plane ->
client), so nothing is gained by running its two faaslab processes on different CPUs,
and something is lost: every hand-over then wakes the other CPU, which in a VM is an
inter-processor interrupt plus a hypervisor exit. Measured on the project's 2-vCPU
Firecracker VM (BENCHMARKS.md), interleaved A/B runs: warm p50 2.43x the echo floor
with placement vs 2.65x without (median of 8 rounds), throughput with 8 clients 2,065
vs 1,903 invokes/s, cold starts unchanged within noise.

So the control plane's thread is pinned to one CPU (`home`), and an environment that
starts an invocation while no other invocation runs is placed there too. When
invocations overlap, environments go to the other CPUs, so handlers still run in
parallel and the control plane keeps a CPU of its own. Placement changes cost one
sched_setaffinity call, and only when an environment moves: a steady sequential or a
steady concurrent load makes none.

Pinning the control plane never narrows other processes: the zygote starts before it,
and database engines get the original CPU set back between fork and exec
(`unpin_child`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os

# The CPU set faaslab started with, taken at import (before the control plane pins itself).
ORIGINAL_CPUS: frozenset[int] = frozenset(os.sched_getaffinity(0))


def unpin_child() -> None:
    """For preexec_fn and thread pools' initializer: give a child process or a worker
    thread the CPU set faaslab itself started with."""
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, ORIGINAL_CPUS)


class Placement:
    """Where the control plane and each runtime run. Disabled: every call is a no-op."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and len(ORIGINAL_CPUS) >= 2
        self.home = max(ORIGINAL_CPUS)
        self._home_set = {self.home}
        self._away_set = set(ORIGINAL_CPUS - self._home_set)
        self.running = 0  # invocations assigned and not finished, all functions
        self.moves = 0  # sched_setaffinity calls made for runtimes (for tests and ps)

    def pin_control_plane(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Pin the calling thread (the event loop's) to `home`. Threads inherit their
        creator's CPU set, so worker threads must start with `unpin_child` (the loop's
        default executor, when given, gets that here; other pools pass it as their
        initializer)."""
        if self.enabled:
            os.sched_setaffinity(0, self._home_set)
            if loop is not None:
                loop.set_default_executor(
                    concurrent.futures.ThreadPoolExecutor(initializer=unpin_child)
                )

    def started(self) -> bool:
        """An invocation starts: should its runtime run at home? Yes when it is alone."""
        home = self.running == 0
        self.running += 1
        return home

    def finished(self) -> None:
        self.running -= 1

    def move(self, pid: int, home: bool) -> None:
        """Place the runtime `pid` at home or away (its main thread: threads a handler
        started keep their placement, which only costs them speed)."""
        if not self.enabled:
            return
        with contextlib.suppress(OSError):  # (a runtime that just died: its exit is handled)
            os.sched_setaffinity(pid, self._home_set if home else self._away_set)
            self.moves += 1
