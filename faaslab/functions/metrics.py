"""Lambda's CloudWatch metrics, counted as invocations happen: per function and per
second, the invocations, errors, throttles, durations (sum, min, max) and the peak
concurrency, as CloudWatch aggregates them before anyone asks for a statistic. Kept in
memory for `KEEP_S`."""

from __future__ import annotations

import time
from collections.abc import Callable

from faaslab.statistics import Point

KEEP_S = 3 * 3600
ACCOUNT = ""  # the account-wide series (no FunctionName dimension)

# the fields of a second's bucket
INVOCATIONS, ERRORS, THROTTLES, D_SUM, D_MIN, D_MAX, CONCURRENT = range(7)


class LambdaMetrics:
    """Counts per function and per second, account-wide too. The invoke path touches only
    the current second's two buckets, found through a per-function cache (~1 µs for an
    invocation's start, end and answer)."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self.now = now
        self._seconds: dict[str, dict[int, list[float]]] = {}
        self._current: dict[str, tuple[int, list[float], list[float]]] = {}
        self._in_flight: dict[str, int] = {}
        self._total = 0  # in flight, account-wide
        self._pruned = 0

    def _buckets(self, fn: str) -> tuple[list[float], list[float]]:
        """This second's buckets of `fn` and of the account."""
        second = int(self.now())
        cur = self._current.get(fn)
        if cur is not None and cur[0] == second:
            return cur[1], cur[2]
        mine, account = self._bucket(fn, second), self._bucket(ACCOUNT, second)
        self._current[fn] = (second, mine, account)
        return mine, account

    def _bucket(self, fn: str, second: int) -> list[float]:
        per_fn = self._seconds.setdefault(fn, {})
        bucket = per_fn.get(second)
        if bucket is None:
            bucket = per_fn[second] = [0.0, 0.0, 0.0, 0.0, float("inf"), 0.0, 0.0]
            if second - self._pruned > 60:
                self._prune(second)
        return bucket

    def _prune(self, second: int) -> None:
        self._pruned = second
        for per_fn in self._seconds.values():
            for old in [s for s in per_fn if s < second - KEEP_S]:
                del per_fn[old]

    def begin(self, fn: str) -> None:
        """An invocation starts running in an environment (ConcurrentExecutions)."""
        n = self._in_flight[fn] = self._in_flight.get(fn, 0) + 1
        total = self._total = self._total + 1
        mine, account = self._buckets(fn)
        if n > mine[CONCURRENT]:
            mine[CONCURRENT] = n
        if total > account[CONCURRENT]:
            account[CONCURRENT] = total

    def end(self, fn: str) -> None:
        n = self._in_flight.get(fn, 0)
        self._in_flight[fn] = n - 1 if n > 0 else 0
        self._total = self._total - 1 if self._total > 0 else 0

    def finished(self, fn: str, duration_ms: float, error: bool) -> None:
        for b in self._buckets(fn):
            b[INVOCATIONS] += 1
            if error:
                b[ERRORS] += 1
            b[D_SUM] += duration_ms
            if duration_ms < b[D_MIN]:
                b[D_MIN] = duration_ms
            if duration_ms > b[D_MAX]:
                b[D_MAX] = duration_ms

    def throttled(self, fn: str) -> None:
        for b in self._buckets(fn):
            b[THROTTLES] += 1

    def functions(self) -> list[str]:
        return sorted(n for n in self._seconds if n != ACCOUNT)

    def points(self, fn: str, metric: str, start: float, end: float) -> list[Point]:
        """The metric's per-second statistic sets in [start, end)."""
        out = []
        for second, b in sorted(self._seconds.get(fn, {}).items()):
            if not start <= second < end:
                continue
            n = b[INVOCATIONS]
            if metric == "Invocations" and n:
                out.append(Point(second, n, n, 1.0, 1.0))
            elif metric == "Errors" and n:
                errors = b[ERRORS]
                out.append(Point(second, errors, n, float(errors == n), float(errors > 0)))
            elif metric == "Duration" and n:
                out.append(Point(second, b[D_SUM], n, b[D_MIN], b[D_MAX]))
            elif metric == "Throttles" and b[THROTTLES]:
                t = b[THROTTLES]
                out.append(Point(second, t, t, 1.0, 1.0))
            elif metric == "ConcurrentExecutions" and b[CONCURRENT]:
                c = b[CONCURRENT]
                out.append(Point(second, c, 1, c, c))
        return out
