"""CloudWatch statistics over raw samples (metrics_api.statistic, periods)."""

from __future__ import annotations

import pytest

from faaslab.awsapi.errors import ApiError
from faaslab.metrics_api import _periods, statistic

VALUES = [4.0, 1.0, 3.0, 2.0]


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
    with pytest.raises(ApiError) as e:
        statistic(VALUES, "tm99")
    assert e.value.code == "InvalidParameterValue"


def test_periods_align_to_the_start() -> None:
    samples = [(100.0, 1.0), (159.9, 2.0), (160.0, 3.0), (230.0, 4.0)]
    assert _periods(samples, 100.0, 60) == {100.0: [1.0, 2.0], 160.0: [3.0], 220.0: [4.0]}
