"""CloudWatch's statistics over statistic sets: shared by whatever counts metrics
(functions/metrics.py, the clusters' monitor samples) and the API that reports them
(metrics_api.py)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass


class StatisticError(ValueError):
    """A statistic that cannot be computed from these points (its message says why)."""


@dataclass(frozen=True)
class Point:
    """A statistic set at a time (CloudWatch's StatisticSet): what every statistic but a
    percentile needs; `values` the raw samples when they were kept (percentiles)."""

    t: float
    sum: float
    count: float
    minimum: float
    maximum: float
    values: tuple[float, ...] | None = None

    @classmethod
    def sample(cls, t: float, value: float) -> Point:
        return cls(t, value, 1.0, value, value, (value,))


def statistic(points: Sequence[Point], stat: str) -> float:
    if stat == "Sum":
        return math.fsum(p.sum for p in points)
    if stat == "SampleCount":
        return math.fsum(p.count for p in points)
    if stat == "Average":
        return math.fsum(p.sum for p in points) / math.fsum(p.count for p in points)
    if stat == "Minimum":
        return min(p.minimum for p in points)
    if stat == "Maximum":
        return max(p.maximum for p in points)
    m = re.fullmatch(r"p(\d{1,2}(\.\d+)?|100)", stat)
    if m:
        raw = [v for p in points for v in (p.values or ())]
        if any(p.values is None for p in points):
            raise StatisticError(
                f"{stat}: faaslab keeps this metric as per-second statistic sets, from which "
                "percentiles cannot be computed (Sum, Average, Minimum, Maximum, SampleCount can)"
            )
        ordered = sorted(raw)  # nearest rank, as percentiles of raw samples
        rank = max(1, math.ceil(float(m.group(1)) / 100 * len(ordered)))
        return ordered[rank - 1]
    raise StatisticError(
        f"The statistic {stat} is not supported (faaslab: Sum, Average, Minimum, Maximum, "
        "SampleCount, pNN)."
    )


def periods(points: Sequence[Point], start: float, period: int) -> dict[float, list[Point]]:
    """Points grouped by period, periods aligned to `start`."""
    buckets: dict[float, list[Point]] = {}
    for p in points:
        buckets.setdefault(start + (p.t - start) // period * period, []).append(p)
    return buckets
