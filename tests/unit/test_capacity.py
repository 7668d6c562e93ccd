"""Aurora Serverless capacity rules, driven with fake (emulated) times: no clock, no I/O."""

from __future__ import annotations

import pytest

from faaslab.databases import events
from faaslab.databases.capacity import (
    BUFFER_POOL_FLOOR_BYTES,
    COOLDOWN_AFTER_SCALE_DOWN_S,
    COOLDOWN_AFTER_SCALE_UP_S,
    MIB,
    TRANSITIONS,
    LoadSample,
    PolicyState,
    ScalingAction,
    ScalingDecision,
    ScalingPolicy,
    ScalingStateError,
    buffer_pool_bytes,
    max_connections,
)
from faaslab.databases.model import (
    V1_CAPACITIES,
    ClusterSpec,
    Engine,
    TimeoutAction,
    Version,
)

HIGH = LoadSample(cpu_percent=95.0, connections=5, scaling_point=True)
HIGH_BUSY = LoadSample(cpu_percent=95.0, connections=5, scaling_point=False)
LOW = LoadSample(cpu_percent=5.0, connections=0, scaling_point=True)
LOW_BUSY = LoadSample(cpu_percent=5.0, connections=0, scaling_point=False)
MID = LoadSample(cpu_percent=50.0, connections=5, scaling_point=True)


def spec(
    *,
    engine: Engine = Engine.MYSQL,
    version: Version = Version.V1,
    min_capacity: float = 1,
    max_capacity: float = 16,
    seconds_before_timeout: int = 300,
    timeout_action: TimeoutAction = TimeoutAction.ROLLBACK,
) -> ClusterSpec:
    return ClusterSpec(
        identifier="c1",
        engine=engine,
        version=version,
        master_username="admin",
        master_password="secret-password",
        min_capacity=min_capacity,
        max_capacity=max_capacity,
        seconds_before_timeout=seconds_before_timeout,
        timeout_action=timeout_action,
    )


def scale(policy: ScalingPolicy, sample: LoadSample, now: float) -> float:
    """Drive one v1 change through START and APPLY to applied(); returns the new capacity."""
    start = policy.observe(sample, now)
    assert start is not None and start.action is ScalingAction.START
    apply = policy.observe(sample, now)
    assert apply is not None and apply.action is ScalingAction.APPLY
    return policy.applied(now)


# --- max_connections


@pytest.mark.parametrize(
    ("capacity", "expected"),
    [(1, 90), (2, 180), (4, 270), (8, 1000), (16, 2000), (32, 3000), (64, 4000), (128, 5000),
     (256, 6000)],
)  # fmt: skip
def test_v1_mysql_max_connections_table(capacity: int, expected: int) -> None:
    assert max_connections(Engine.MYSQL, Version.V1, capacity) == expected


def test_v1_paused_max_connections_stays_at_the_smallest_capacity() -> None:
    assert max_connections(Engine.MYSQL, Version.V1, 0) == 90


@pytest.mark.parametrize(
    ("max_acu", "mysql", "postgresql"),
    [(1, 90, 189), (4, 135, 823), (8, 1000, 1669), (16, 2000, 3360), (32, 3000, 5000),
     (64, 4000, 5000), (128, 5000, 5000)],
)  # fmt: skip
def test_v2_max_connections_table(max_acu: int, mysql: int, postgresql: int) -> None:
    assert max_connections(Engine.MYSQL, Version.V2, max_acu, min_capacity=1) == mysql
    assert max_connections(Engine.POSTGRESQL, Version.V2, max_acu, min_capacity=1) == postgresql


def test_v2_postgresql_with_a_half_acu_minimum_is_capped_at_2000() -> None:
    assert max_connections(Engine.POSTGRESQL, Version.V2, 16, min_capacity=0.5) == 2000
    assert max_connections(Engine.POSTGRESQL, Version.V2, 128, min_capacity=0) == 2000
    assert max_connections(Engine.POSTGRESQL, Version.V2, 4, min_capacity=0.5) == 823
    assert max_connections(Engine.MYSQL, Version.V2, 16, min_capacity=0.5) == 2000


def test_v2_between_published_points_follows_the_formula_monotonically() -> None:
    # PostgreSQL: LEAST(DBInstanceClassMemory/9531392, 5000) with 2 ACU = 4 GiB
    assert max_connections(Engine.POSTGRESQL, Version.V2, 2) == (4 << 30) // 9531392
    for engine in Engine:
        values = [
            max_connections(engine, Version.V2, acu / 2, min_capacity=1) for acu in range(2, 513)
        ]
        assert values == sorted(values), engine
        assert values[0] == (189 if engine is Engine.POSTGRESQL else 90)


def test_v1_postgresql_capacities_have_limits() -> None:
    values = [
        max_connections(Engine.POSTGRESQL, Version.V1, c) for c in V1_CAPACITIES[Engine.POSTGRESQL]
    ]
    assert values[1:] == [823, 1669, 3360, 5000, 5000, 5000, 5000]
    assert 189 < values[0] < 823


def test_max_connections_rejects_negative_capacity() -> None:
    with pytest.raises(ValueError, match="capacity"):
        max_connections(Engine.MYSQL, Version.V1, -1)


# --- buffer pools


def test_buffer_pool_is_three_quarters_of_the_capacity_memory_in_whole_mib() -> None:
    assert buffer_pool_bytes(2, 256 * MIB) == 384 * MIB
    assert buffer_pool_bytes(0.5, 256 * MIB) == 96 * MIB
    odd = buffer_pool_bytes(1, 100 * MIB + 1)
    assert odd % MIB == 0 and odd == 75 * MIB


def test_buffer_pool_has_a_floor_the_engines_accept() -> None:
    assert buffer_pool_bytes(0.5, 4 * MIB) == BUFFER_POOL_FLOOR_BYTES == 8 * MIB
    assert buffer_pool_bytes(0, 256 * MIB) == BUFFER_POOL_FLOOR_BYTES


def test_buffer_pool_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        buffer_pool_bytes(1, 0)
    with pytest.raises(ValueError):
        buffer_pool_bytes(-1, MIB)


# --- v1 policy


def test_v1_scales_up_immediately_on_high_cpu() -> None:
    policy = ScalingPolicy(spec(), 2, now=0.0)
    start = policy.observe(HIGH, 0.0)
    assert start == ScalingDecision(ScalingAction.START, Version.V1, 2.0, 4.0, "Autoscaling")
    assert start.event() == (
        events.EventId.SCALING_STARTED,
        "Scaling DB cluster from 2 capacity units to 4 capacity units for this reason: "
        "Autoscaling.",
    )
    assert policy.state is PolicyState.PENDING
    apply = policy.observe(HIGH, 0.0)
    assert apply is not None and apply.action is ScalingAction.APPLY and not apply.forced
    assert apply.event() == (
        events.EventId.SCALED,
        "The DB cluster has scaled from 2 capacity units to 4 capacity units.",
    )
    assert policy.applied(0.0) == 4.0
    # no cooldown before scaling up again, right after a scale-up
    assert scale(policy, HIGH, 1.0) == 8.0
    assert policy.state is PolicyState.STEADY


def test_v1_scales_up_on_connections_over_90_percent() -> None:
    policy = ScalingPolicy(spec(), 2, now=0.0)  # 2 ACU: max_connections 180
    assert policy.observe(LoadSample(50.0, 162, True), 0.0) is None  # exactly 90 %
    decision = policy.observe(LoadSample(50.0, 163, True), 1.0)
    assert decision is not None and decision.action is ScalingAction.START
    assert decision.target == 4.0


def test_v1_no_scale_down_within_15_minutes_of_a_scale_up() -> None:
    policy = ScalingPolicy(spec(), 2, now=0.0)
    assert scale(policy, HIGH, 100.0) == 4.0
    assert policy.observe(LOW, 100.0 + COOLDOWN_AFTER_SCALE_UP_S - 1) is None
    assert policy.state is PolicyState.STEADY
    assert scale(policy, LOW, 100.0 + COOLDOWN_AFTER_SCALE_UP_S) == 2.0
    assert COOLDOWN_AFTER_SCALE_UP_S == 900


def test_v1_scale_downs_are_310_seconds_apart() -> None:
    policy = ScalingPolicy(spec(max_capacity=8), 8, now=0.0)
    assert scale(policy, LOW, 0.0) == 4.0  # nothing happened before: no cooldown
    assert policy.observe(LOW, 309.0) is None
    assert scale(policy, LOW, 310.0) == 2.0
    assert policy.observe(LOW, 619.0) is None
    assert scale(policy, LOW, 620.0) == 1.0
    assert COOLDOWN_AFTER_SCALE_DOWN_S == 310


def test_v1_scale_up_is_not_held_by_a_scale_down_cooldown() -> None:
    policy = ScalingPolicy(spec(), 4, now=0.0)
    assert scale(policy, LOW, 0.0) == 2.0
    assert scale(policy, HIGH, 1.0) == 4.0


def test_v1_stays_within_min_and_max() -> None:
    top = ScalingPolicy(spec(min_capacity=2, max_capacity=4), 4, now=0.0)
    assert top.observe(HIGH, 0.0) is None
    bottom = ScalingPolicy(spec(min_capacity=2, max_capacity=4), 2, now=0.0)
    assert bottom.observe(LOW, 0.0) is None
    assert bottom.observe(MID, 1.0) is None


def test_v1_postgresql_doubles_along_its_own_capacities() -> None:
    policy = ScalingPolicy(
        spec(engine=Engine.POSTGRESQL, min_capacity=2, max_capacity=384), 64, now=0.0
    )
    assert scale(policy, HIGH, 0.0) == 192.0
    assert scale(policy, HIGH, 1.0) == 384.0
    assert policy.observe(HIGH, 2.0) is None


def test_v1_does_not_scale_down_into_a_capacity_its_connections_would_fill() -> None:
    policy = ScalingPolicy(spec(), 8, now=0.0)  # 8 ACU: 1000; 4 ACU: 270
    assert policy.observe(LoadSample(5.0, 300, True), 0.0) is None  # 30 %, but 300 > 243
    decision = policy.observe(LoadSample(5.0, 200, True), 1.0)
    assert decision is not None and decision.target == 4.0


def test_v1_rollback_after_seconds_before_timeout_without_a_scaling_point() -> None:
    policy = ScalingPolicy(spec(seconds_before_timeout=60), 2, now=0.0)
    start = policy.observe(HIGH_BUSY, 10.0)
    assert start is not None and start.action is ScalingAction.START
    assert policy.pending_since == 10.0
    assert policy.observe(HIGH_BUSY, 69.0) is None
    rollback = policy.observe(HIGH_BUSY, 70.0)
    assert rollback is not None and rollback.action is ScalingAction.ROLLBACK
    assert rollback.event() == (
        events.EventId.SCALING_FAILED,
        "The DB cluster failed to scale from 2 capacity units to 4 capacity units for this "
        f"reason: {events.NO_SCALING_POINT_REASON}.",
    )
    assert policy.capacity == 2.0 and policy.state is PolicyState.STEADY
    assert policy.target is None
    with pytest.raises(ScalingStateError):
        policy.applied(71.0)


def test_v1_force_after_seconds_before_timeout_without_a_scaling_point() -> None:
    policy = ScalingPolicy(
        spec(seconds_before_timeout=60, timeout_action=TimeoutAction.FORCE), 2, now=0.0
    )
    assert policy.observe(HIGH_BUSY, 0.0) is not None
    assert policy.observe(HIGH_BUSY, 59.0) is None
    force = policy.observe(HIGH_BUSY, 60.0)
    assert force is not None and force.action is ScalingAction.FORCE and force.forced
    assert force.target == 4.0
    assert force.event() == (
        events.EventId.SCALED_NOT_SEAMLESS,
        "The DB cluster has scaled from 2 capacity units to 4 capacity units, but scaling "
        f"wasn't seamless for this reason: {events.NO_SCALING_POINT_REASON}.",
    )
    assert policy.state is PolicyState.APPLYING
    assert policy.observe(HIGH_BUSY, 61.0) is None  # nothing new while applying
    assert policy.applied(62.0) == 4.0


def test_v1_scaling_point_before_the_timeout_applies_seamlessly() -> None:
    policy = ScalingPolicy(
        spec(seconds_before_timeout=60, timeout_action=TimeoutAction.FORCE), 2, now=0.0
    )
    assert policy.observe(HIGH_BUSY, 0.0) is not None
    assert policy.observe(HIGH_BUSY, 30.0) is None
    apply = policy.observe(HIGH, 45.0)
    assert apply is not None and apply.action is ScalingAction.APPLY and not apply.forced


def test_v1_pending_change_is_cancelled_when_the_load_stops_asking() -> None:
    policy = ScalingPolicy(spec(), 2, now=0.0)
    assert policy.observe(HIGH_BUSY, 0.0) is not None
    cancel = policy.observe(MID, 5.0)
    assert cancel is not None and cancel.action is ScalingAction.CANCEL
    assert cancel.event() is None
    assert policy.state is PolicyState.STEADY and policy.capacity == 2.0


def test_v1_reversed_load_cancels_then_starts_the_other_way() -> None:
    policy = ScalingPolicy(spec(), 4, now=0.0)
    down = policy.observe(LOW_BUSY, 0.0)
    assert down is not None and down.target == 2.0
    cancel = policy.observe(HIGH_BUSY, 1.0)
    assert cancel is not None and cancel.action is ScalingAction.CANCEL
    up = policy.observe(HIGH_BUSY, 1.0)
    assert up is not None and up.action is ScalingAction.START and up.target == 8.0


def test_rolled_back_keeps_the_capacity_and_allows_a_new_attempt() -> None:
    policy = ScalingPolicy(spec(), 2, now=0.0)
    policy.observe(HIGH, 0.0)
    policy.observe(HIGH, 0.0)
    assert policy.rolled_back(1.0) == 2.0
    assert policy.state is PolicyState.STEADY
    again = policy.observe(HIGH, 2.0)
    assert again is not None and again.action is ScalingAction.START


def test_illegal_transitions_raise_naming_the_state() -> None:
    policy = ScalingPolicy(spec(), 2, now=0.0)
    with pytest.raises(ScalingStateError, match="steady"):
        policy.applied(0.0)
    with pytest.raises(ScalingStateError, match="steady"):
        policy.rolled_back(0.0)
    assert set(TRANSITIONS) == set(PolicyState)


def test_time_must_not_go_backwards() -> None:
    policy = ScalingPolicy(spec(), 2, now=100.0)
    with pytest.raises(ValueError, match="backwards"):
        policy.observe(MID, 99.0)


def test_policy_rejects_capacities_outside_the_spec() -> None:
    with pytest.raises(ValueError, match="v1"):
        ScalingPolicy(spec(), 3, now=0.0)
    with pytest.raises(ValueError, match="v1"):
        ScalingPolicy(spec(min_capacity=2), 1, now=0.0)
    with pytest.raises(ValueError, match="multiple"):
        ScalingPolicy(spec(version=Version.V2, min_capacity=0.5), 1.25, now=0.0)
    with pytest.raises(ValueError, match="outside"):
        ScalingPolicy(spec(version=Version.V2, min_capacity=0, max_capacity=4), 0, now=0.0)


def test_load_samples_cannot_be_negative() -> None:
    with pytest.raises(ValueError):
        LoadSample(-1.0, 0, True)


# --- v2 policy


def v2_policy(
    capacity: float, *, min_capacity: float = 0.5, max_capacity: float = 8
) -> ScalingPolicy:
    return ScalingPolicy(
        spec(version=Version.V2, min_capacity=min_capacity, max_capacity=max_capacity),
        capacity,
        now=0.0,
    )


def test_v2_moves_in_half_acu_steps_without_scaling_points() -> None:
    policy = v2_policy(1.0)
    decision = policy.observe(LoadSample(100.0, 3, scaling_point=False), 0.0)
    # 1 ACU at 100 % -> 1.67 ACU to run at 60 % -> rounded up to the next half ACU
    assert decision == ScalingDecision(ScalingAction.APPLY, Version.V2, 1.0, 2.0, "Autoscaling")
    assert decision.event() is None  # v2 scales without events
    assert policy.applied(0.0) == 2.0
    decision = policy.observe(LoadSample(80.0, 3, scaling_point=False), 1.0)
    assert decision is not None and decision.target == 3.0
    policy.applied(1.0)
    assert policy.capacity * 2 == int(policy.capacity * 2)


def test_v2_holds_inside_the_cpu_band() -> None:
    policy = v2_policy(2.0)
    for cpu in (50.0, 60.0, 70.0):
        assert policy.observe(LoadSample(cpu, 3, False), 0.0) is None


def test_v2_scales_down_without_a_cooldown_but_not_below_its_floor() -> None:
    policy = v2_policy(4.0)
    decision = policy.observe(LoadSample(30.0, 3, False), 0.0)  # 4 * 30/60 = 2
    assert decision is not None and decision.target == 2.0
    policy.applied(0.0)
    decision = policy.observe(LOW_BUSY, 1.0)
    assert decision is not None and decision.target == 0.5
    policy.applied(1.0)
    assert policy.observe(LOW_BUSY, 2.0) is None


def test_v2_minimum_zero_runs_at_half_an_acu() -> None:
    policy = v2_policy(2.0, min_capacity=0)
    assert policy.v2_floor == 0.5
    decision = policy.observe(LoadSample(0.0, 0, True), 0.0)
    assert decision is not None and decision.target == 0.5


def test_v2_never_goes_above_max() -> None:
    policy = v2_policy(6.0, max_capacity=8)
    decision = policy.observe(LoadSample(400.0, 3, False), 0.0)
    assert decision is not None and decision.target == 8.0
    policy.applied(0.0)
    assert policy.observe(LoadSample(400.0, 3, False), 1.0) is None


def test_v2_respects_a_higher_minimum() -> None:
    policy = v2_policy(4.0, min_capacity=2.5)
    decision = policy.observe(LOW, 0.0)
    assert decision is not None and decision.target == 2.5


# --- ModifyCurrentDBClusterCapacity (v1)


def test_v1_request_waits_for_a_scaling_point_whatever_the_load_asks() -> None:
    policy = ScalingPolicy(spec(), 2, now=0.0)
    start = policy.request(8, 60, TimeoutAction.ROLLBACK, 0.0)
    assert start.action is ScalingAction.START and start.target == 8.0
    assert start.event() == (
        events.EventId.SCALING_STARTED,
        "Scaling DB cluster from 2 capacity units to 8 capacity units for this reason: "
        f"{events.MANUAL_REASON}.",
    )
    assert policy.state is PolicyState.PENDING and policy.manual
    # the load asks for nothing (MID) or the other way (LOW): a request is not canceled
    assert policy.observe(LoadSample(50.0, 0, False), 5.0) is None
    assert policy.observe(LoadSample(5.0, 0, False), 6.0) is None
    apply = policy.observe(LoadSample(5.0, 0, True), 7.0)
    assert apply is not None and apply.action is ScalingAction.APPLY and apply.target == 8.0
    assert apply.event() == (
        events.EventId.SCALED,
        "The DB cluster has scaled from 2 capacity units to 8 capacity units.",
    )
    assert policy.applied(7.0) == 8.0 and not policy.manual


def test_v1_request_times_out_with_its_own_timeout_and_action() -> None:
    # the cluster's own configuration says 300 s and rollback; the request, 20 s and force
    policy = ScalingPolicy(spec(seconds_before_timeout=300), 4, now=0.0)
    policy.request(1, 20, TimeoutAction.FORCE, 0.0)
    busy = LoadSample(50.0, 0, False)
    assert policy.observe(busy, 19.0) is None
    force = policy.observe(busy, 20.0)
    assert force is not None and force.action is ScalingAction.FORCE and force.target == 1.0
    assert policy.applied(21.0) == 1.0


def test_v1_request_replaces_a_pending_autoscaling_change_and_is_refused_while_applying() -> None:
    policy = ScalingPolicy(spec(), 2, now=0.0)
    assert policy.observe(HIGH_BUSY, 0.0) is not None  # autoscaling: 2 -> 4 pending
    policy.request(16, 60, TimeoutAction.ROLLBACK, 1.0)
    assert policy.target == 16.0 and policy.pending_since == 1.0
    rollback = policy.observe(HIGH_BUSY, 61.0)
    assert rollback is not None and rollback.action is ScalingAction.ROLLBACK
    assert policy.state is PolicyState.STEADY and not policy.manual
    policy.request(4, 60, TimeoutAction.ROLLBACK, 62.0)
    assert policy.observe(HIGH, 62.0) is not None  # APPLY: now applying
    with pytest.raises(ScalingStateError):
        policy.request(8, 60, TimeoutAction.ROLLBACK, 63.0)


def test_request_is_v1_only_and_along_its_capacities() -> None:
    with pytest.raises(ScalingStateError):
        ScalingPolicy(spec(version=Version.V2, min_capacity=0.5), 1, now=0.0).request(
            2, 60, TimeoutAction.FORCE, 0.0
        )
    with pytest.raises(ValueError, match="not one of"):
        ScalingPolicy(spec(max_capacity=8), 2, now=0.0).request(16, 60, TimeoutAction.FORCE, 0.0)
