"""Billing arithmetic (v1 5-minute minimum, v2 per second, storage) and RDS event texts."""

from __future__ import annotations

import pytest

from faaslab.databases import events
from faaslab.databases.billing import (
    GB,
    SECONDS_PER_MONTH,
    Activation,
    acu_seconds,
    bill,
)
from faaslab.databases.model import Version


def test_v1_short_activation_is_billed_the_5_minute_minimum() -> None:
    result = bill([Activation(1000.0, 1100.0, ((1000.0, 2.0),))], Version.V1, now=5000.0)
    (charge,) = result.activations
    assert charge.seconds == 100.0
    assert charge.billed_seconds == 300.0
    assert charge.acu_seconds == 200.0
    assert charge.billed_acu_seconds == 600.0
    assert charge.cost == pytest.approx(600 / 3600 * 0.06)  # $0.01
    assert result.compute_cost == pytest.approx(0.01)


def test_v1_minimum_extends_the_last_capacity() -> None:
    activation = Activation(0.0, 100.0, ((0.0, 2.0), (60.0, 4.0)))
    (charge,) = bill([activation], Version.V1, now=100.0).activations
    assert charge.acu_seconds == 2 * 60 + 4 * 40
    assert charge.billed_acu_seconds == 2 * 60 + 4 * 240


def test_v1_long_activation_follows_the_capacity_timeline_per_second() -> None:
    activation = Activation(0.0, 3600.0, ((0.0, 2.0), (1800.0, 4.0)))
    result = bill([activation], Version.V1, now=4000.0)
    assert result.billed_acu_seconds == 2 * 1800 + 4 * 1800
    assert result.acu_hours == 3.0
    assert result.compute_cost == pytest.approx(3 * 0.06)


def test_each_v1_activation_gets_its_own_minimum() -> None:
    activations = [
        Activation(0.0, 10.0, ((0.0, 1.0),)),
        Activation(1000.0, 1010.0, ((0.0, 1.0),)),  # capacity known since before
    ]
    result = bill(activations, Version.V1, now=2000.0)
    assert [c.billed_acu_seconds for c in result.activations] == [300.0, 300.0]
    assert result.acu_seconds == 20.0
    assert result.billed_acu_seconds == 600.0


def test_v2_is_per_second_without_a_minimum() -> None:
    result = bill([Activation(0.0, 100.0, ((0.0, 0.5),))], Version.V2, now=100.0)
    (charge,) = result.activations
    assert charge.billed_seconds == 100.0
    assert charge.billed_acu_seconds == 50.0
    assert result.price_per_acu_hour == 0.12
    assert result.compute_cost == pytest.approx(50 / 3600 * 0.12)


def test_running_activation_is_charged_up_to_now() -> None:
    result = bill([Activation(0.0, None, ((0.0, 2.0), (600.0, 1.0)))], Version.V1, now=900.0)
    (charge,) = result.activations
    assert charge.end is None
    assert charge.seconds == 900.0
    assert charge.billed_acu_seconds == 2 * 600 + 1 * 300


def test_storage_is_prorated_per_second() -> None:
    month = bill([], Version.V2, now=SECONDS_PER_MONTH, storage_bytes=10 * GB, storage_since=0.0)
    assert month.storage_gb_months == pytest.approx(10.0)
    assert month.storage_cost == pytest.approx(1.0)
    assert month.total_cost == pytest.approx(1.0)
    half_day = bill(
        [Activation(0.0, 300.0, ((0.0, 1.0),))],
        Version.V1,
        now=43200.0,
        storage_bytes=GB,
    )  # storage counted from the first activation
    assert half_day.storage_seconds == 43200.0
    assert half_day.storage_cost == pytest.approx(0.10 * 43200 / SECONDS_PER_MONTH)
    assert half_day.total_cost == pytest.approx(half_day.compute_cost + half_day.storage_cost)


def test_acu_seconds_clips_to_the_window() -> None:
    timeline = ((0.0, 1.0), (10.0, 3.0), (20.0, 2.0))
    assert acu_seconds(timeline, 5.0, 25.0) == 5 * 1 + 10 * 3 + 5 * 2
    assert acu_seconds(timeline, 30.0, 30.0) == 0.0


@pytest.mark.parametrize(
    ("start", "end", "capacity", "message"),
    [
        (10.0, 5.0, ((0.0, 1.0),), "before it starts"),
        (0.0, 5.0, (), "at least one"),
        (0.0, 5.0, ((3.0, 1.0),), "no capacity known"),
        (0.0, 5.0, ((0.0, 1.0), (-1.0, 2.0)), "time order"),
        (0.0, 5.0, ((0.0, -1.0),), "negative"),
    ],
)
def test_invalid_activations_are_refused(
    start: float, end: float, capacity: tuple[tuple[float, float], ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Activation(start, end, capacity)


def test_activation_after_now_is_refused() -> None:
    with pytest.raises(ValueError, match="after now"):
        bill([Activation(100.0, None, ((100.0, 1.0),))], Version.V1, now=50.0)


# --- event texts (AWS's exact wording)


def test_scaling_event_texts() -> None:
    assert events.scaling_started(2, 4, events.AUTOSCALING_REASON) == (
        "Scaling DB cluster from 2 capacity units to 4 capacity units for this reason: Autoscaling."
    )
    assert events.scaled(2, 4) == (
        "The DB cluster has scaled from 2 capacity units to 4 capacity units."
    )
    assert events.scaling_failed(4, 8, "timeout") == (
        "The DB cluster failed to scale from 4 capacity units to 8 capacity units for this "
        "reason: timeout."
    )
    assert events.capacity_units(0.5) == "0.5 capacity units"
    assert events.capacity_units(2.0) == "2 capacity units"


def test_pause_and_resume_event_texts() -> None:
    texts = events.EVENT_TEXTS
    assert texts[events.EventId.PAUSING] == "The DB cluster is being paused."
    assert texts[events.EventId.PAUSED] == "The DB cluster is paused."
    assert texts[events.EventId.PAUSE_CANCELED] == "Pause was canceled for the DB cluster."
    assert texts[events.EventId.RESUMING] == "The DB cluster is being resumed."
    assert texts[events.EventId.RESUMED] == "The DB cluster is resumed."
    numbers = [*range(141, 152), 153]  # (0152, "DB cluster stop failed.": a stop cannot fail)
    assert [e.value for e in events.EventId] == [f"RDS-EVENT-{n:04d}" for n in numbers]


def test_seamless_scaling_abort_text() -> None:
    assert events.SEAMLESS_SCALING_ABORT == (
        "ERROR 1105 (HY000): The last transaction was aborted due to Seamless Scaling. "
        "Please retry."
    )
