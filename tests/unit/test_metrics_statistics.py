"""CloudWatch statistics over raw samples (metrics_api.statistic, periods)."""

from __future__ import annotations

import pytest

from faaslab.functions.metrics import LambdaMetrics
from faaslab.statistics import Point, StatisticError, periods, statistic

VALUES = [Point.sample(float(i), v) for i, v in enumerate([4.0, 1.0, 3.0, 2.0])]


@pytest.mark.parametrize(
    ("stat", "want"),
    [
        ("Sum", 10.0),
        ("Average", 2.5),
        ("Minimum", 1.0),
        ("Maximum", 4.0),
        ("SampleCount", 4.0),
        ("p50", 2.0),
        ("p75", 3.0),
        ("p99", 4.0),
        ("p100", 4.0),
    ],
)
def test_statistics(stat: str, want: float) -> None:
    assert statistic(VALUES, stat) == want


def test_unknown_statistic_is_refused() -> None:
    with pytest.raises(StatisticError):
        statistic(VALUES, "tm99")


def test_periods_align_to_the_start() -> None:
    points = [Point.sample(t, v) for t, v in [(100.0, 1), (159.9, 2), (160.0, 3), (230.0, 4)]]
    grouped = periods(points, 100.0, 60)
    assert {t: [p.sum for p in ps] for t, ps in grouped.items()} == {
        100.0: [1, 2],
        160.0: [3],
        220.0: [4],
    }


def test_lambda_counts_per_second() -> None:
    clock = [1000.2]
    m = LambdaMetrics(now=lambda: clock[0])
    m.begin("f")
    m.begin("f")  # two at once
    m.finished("f", 10.0, False)
    m.end("f")
    m.finished("f", 30.0, True)
    m.end("f")
    m.throttled("f")
    clock[0] = 1001.5
    m.begin("g")
    m.finished("g", 5.0, False)
    m.end("g")
    assert statistic(m.points("f", "Invocations", 0, 2000), "Sum") == 2
    assert statistic(m.points("f", "Errors", 0, 2000), "Sum") == 1
    assert statistic(m.points("f", "Errors", 0, 2000), "Average") == 0.5
    assert statistic(m.points("f", "Throttles", 0, 2000), "Sum") == 1
    duration = m.points("f", "Duration", 0, 2000)
    assert [statistic(duration, s) for s in ("Average", "Minimum", "Maximum")] == [20, 10, 30]
    assert statistic(m.points("f", "ConcurrentExecutions", 0, 2000), "Maximum") == 2
    assert statistic(m.points("", "Invocations", 0, 2000), "Sum") == 3  # the account
    assert m.points("f", "Invocations", 1001, 2000) == []
    with pytest.raises(StatisticError, match="percentiles"):
        statistic(duration, "p99")
