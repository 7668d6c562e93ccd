"""Injected time: everything that times out, expires, bills or pauses takes a Clock.

`Clock.scale` speeds emulated timers up (a keep-alive of 10 minutes at scale 60 fires after
10 s) so demos and tests can show AWS's slow lifecycles quickly. Function timeouts are
*not* scaled: a handler's own code runs in real time, so its deadline must too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock:
    """Wall time for records, monotonic time for durations, scaled timers for emulation."""

    def __init__(self, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError(f"time scale must be > 0, got {scale}")
        self.scale = scale

    def now(self) -> float:
        """Seconds since the epoch (for records and log timestamps)."""
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def emulated_delay(self, seconds: float) -> float:
        """How long an emulated AWS delay of `seconds` really waits here."""
        return seconds / self.scale

    def call_later(self, emulated_seconds: float, fn: Callable[[], None]) -> Timer:
        """Arm a cancellable timer for an emulated AWS delay (scaled)."""
        loop = asyncio.get_running_loop()
        return loop.call_later(self.emulated_delay(emulated_seconds), fn)


def iso_millis(t: float) -> str:
    """`t` (epoch seconds) as UTC ISO 8601 with milliseconds, the form AWS writes in S3
    listings and Lambda log lines (2024-01-02T03:04:05.678Z)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"
