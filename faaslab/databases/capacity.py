"""Aurora Serverless capacity rules: connection limits, buffer pools and the scaling policy.

Pure logic. Nothing here reads a clock or does I/O: every time is a float of *emulated*
seconds handed in by the caller, so tests drive the rules with a fake clock and the
cluster drives them with `Clock`.

Sources (AWS, Amazon Aurora User Guide unless said otherwise):
- "How Aurora Serverless v1 works" (aurora-serverless-v1.how-it-works): load is CPU and
  connections; no cooldown before scaling up; "After scaling up, the cooldown period for
  scaling down is 15 minutes. After scaling down, the cooldown period for scaling down
  again is 310 seconds"; scaling points (no long query, transaction, temporary table or
  lock); SecondsBeforeTimeout 60-600 (default 300) then RollbackCapacityChange (keep the
  capacity) or ForceApplyCapacityChange (interrupt transactions); the v1 max_connections
  walk-through (1 ACU 90, 2 ACU 180, 4 ACU 270, 8 ACU 1000, 256 ACU 6000; it "doesn't drop
  below the value for 1 ACU" while paused).
- "Performance and scaling for Aurora Serverless v2" (aurora-serverless-v2.setting-capacity),
  "Maximum connections for Aurora Serverless v2": max_connections is derived from the
  memory of the *maximum* ACU and held constant; AWS's table (max ACU: MySQL / PostgreSQL)
  1: 90/189, 4: 135/823, 8: 1000/1669, 16: 2000/3360, 32: 3000/5000, 64: 4000/5000,
  128: 5000/5000; with a minimum of 0.5 ACU PostgreSQL is capped at 2,000 (AWS re:Post
  "Working of max_connections for Amazon Aurora PostgreSQL Serverless" says 0 or 0.5).
- "Maximum connections to an Aurora PostgreSQL DB instance" (AuroraPostgreSQL.Managing):
  LEAST({DBInstanceClassMemory/9531392}, 5000).
- "Maximum connections to an Aurora MySQL DB instance" (AuroraMySQL.Managing.Performance):
  +1000 per doubling of memory for R classes, +45 for T classes; the parameter group's
  formula is GREATEST({log(DBInstanceClassMemory/805306368)*45},
  {log(DBInstanceClassMemory/8187281408)*1000}) with log base 2 (the 8187281408 term is
  quoted in jeremydaly.com "Aurora Serverless: The Good, the Bad and the Scalable").
- The v1 thresholds (scale up at CPU > 70 % or connections > 90 % of max_connections,
  scale down at CPU < 30 % and connections < 40 %) are the commonly quoted v1 figures;
  AWS's User Guide only says it scales up "when capacity is constrained by either" and
  publishes no numbers, so they are module constants, easy to tune.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from faaslab.databases import events
from faaslab.databases.model import (
    V1_CAPACITIES,
    V2_MAX_CAPACITY,
    ClusterSpec,
    Engine,
    TimeoutAction,
    Version,
)

MIB = 1 << 20
GIB = 1 << 30
AWS_ACU_MEMORY_BYTES = 2 * GIB  # "Each ACU is a combination of approximately 2 GiB of memory"

# --- v1 autoscaling
SCALE_UP_CPU_PERCENT = 70.0
SCALE_UP_CONNECTIONS_FRACTION = 0.90
SCALE_DOWN_CPU_PERCENT = 30.0
SCALE_DOWN_CONNECTIONS_FRACTION = 0.40
COOLDOWN_AFTER_SCALE_UP_S = 15 * 60.0  # before the next scale-down
COOLDOWN_AFTER_SCALE_DOWN_S = 310.0  # before the next scale-down

# --- v2 autoscaling
V2_STEP = 0.5  # ACUs move in half steps
V2_RUNNING_FLOOR = 0.5  # MinCapacity 0 means "may pause"; running, 0.5 is the least
V2_CPU_TARGET_PERCENT = 60.0  # the capacity aimed at makes CPU about this busy
V2_CPU_BAND = (50.0, 70.0)  # inside it, capacity stays (no flapping)

# --- buffer pools
BUFFER_POOL_FRACTION = 0.75  # of a capacity's memory
BUFFER_POOL_FLOOR_BYTES = 8 * MIB  # MariaDB and PostgreSQL both start with this much

# --- max_connections, by ACUs (= memory / 2 GiB). AWS's published values; between them
# the formula, kept between its neighbours so the function is monotonic.
_MYSQL_V1_CONNECTIONS: dict[float, int] = {
    1: 90, 2: 180, 4: 270, 8: 1000, 16: 2000, 32: 3000, 64: 4000, 128: 5000, 256: 6000,
}  # fmt: skip
_MYSQL_V2_CONNECTIONS: dict[float, int] = {
    1: 90, 4: 135, 8: 1000, 16: 2000, 32: 3000, 64: 4000, 128: 5000,
    256: 6000,  # not in the v2 table: the v1 value for the same memory
}  # fmt: skip
# The same memory gives the same PostgreSQL value in v1 and v2 (one formula); AWS's v1
# page publishes no PostgreSQL table, so v1 uses these too.
_POSTGRESQL_CONNECTIONS: dict[float, int] = {
    1: 189, 4: 823, 8: 1669, 16: 3360, 32: 5000, 64: 5000, 128: 5000,
}  # fmt: skip
POSTGRESQL_MAX_CONNECTIONS_CAP = 5000
POSTGRESQL_LOW_MIN_CAP = 2000  # v2 with MinCapacity <= 0.5


def _mysql_formula(acus: float) -> float:
    memory = acus * AWS_ACU_MEMORY_BYTES
    return max(45 * math.log2(memory / 805306368), 1000 * math.log2(memory / 8187281408))


def _postgresql_formula(acus: float) -> float:
    return min(acus * AWS_ACU_MEMORY_BYTES / 9531392, POSTGRESQL_MAX_CONNECTIONS_CAP)


def _anchored(anchors: Mapping[float, int], formula: Callable[[float], float], acus: float) -> int:
    if acus in anchors:
        return anchors[acus]
    keys = sorted(anchors)
    if acus < keys[0]:
        return anchors[keys[0]]  # never below the smallest published value
    value = max(int(formula(acus)), anchors[max(k for k in keys if k < acus)])
    above = [k for k in keys if k > acus]
    return min(value, anchors[above[0]]) if above else value


def max_connections(
    engine: Engine,
    version: Version,
    capacity_or_max_acu: float,
    *,
    min_capacity: float | None = None,
) -> int:
    """AWS's default `max_connections`.

    v1: from the *current* capacity (0, paused, counts as the engine's smallest capacity).
    v2: from the cluster's *maximum* ACU, fixed while it runs; pass `min_capacity` to get
    PostgreSQL's 2,000 cap for a minimum of 0 or 0.5 ACU.
    """
    if capacity_or_max_acu < 0:
        raise ValueError(f"capacity must be >= 0, got {capacity_or_max_acu}")
    if version is Version.V1:
        acus = max(capacity_or_max_acu, V1_CAPACITIES[engine][0])
        if engine is Engine.MYSQL:
            return _anchored(_MYSQL_V1_CONNECTIONS, _mysql_formula, acus)
        return _anchored(_POSTGRESQL_CONNECTIONS, _postgresql_formula, acus)
    if engine is Engine.MYSQL:
        return _anchored(_MYSQL_V2_CONNECTIONS, _mysql_formula, capacity_or_max_acu)
    value = _anchored(_POSTGRESQL_CONNECTIONS, _postgresql_formula, capacity_or_max_acu)
    if min_capacity is not None and min_capacity <= V2_RUNNING_FLOOR:
        value = min(value, POSTGRESQL_LOW_MIN_CAP)
    return value


def buffer_pool_bytes(
    capacity: float, memory_per_acu_bytes: int, *, fraction: float = BUFFER_POOL_FRACTION
) -> int:
    """`innodb_buffer_pool_size` / `shared_buffers` for a capacity, in whole MiB.

    AWS gives roughly three quarters of an ACU's memory to the buffer pool (its own v2
    walk-through shows 672 MiB at 0.5 ACU and 8.66 GiB at 8 ACU, i.e. 54-66 %: `fraction`
    is a knob). faaslab's memory per ACU is a setting because 2 GiB per ACU would not fit
    a laptop. Never below BUFFER_POOL_FLOOR_BYTES, which both engines accept.
    """
    if capacity < 0:
        raise ValueError(f"capacity must be >= 0, got {capacity}")
    if memory_per_acu_bytes <= 0:
        raise ValueError(f"memory per ACU must be > 0, got {memory_per_acu_bytes}")
    raw = int(capacity * memory_per_acu_bytes * fraction)
    return max(BUFFER_POOL_FLOOR_BYTES, raw // MIB * MIB)


# --- the scaling policy


class ScalingStateError(RuntimeError):
    """A policy event that its current state does not allow (a caller bug)."""


@dataclass(frozen=True)
class LoadSample:
    """What the engine was doing at one moment.

    `cpu_percent` is utilisation of the CPU share the *current* capacity grants (may pass
    100 when the engine borrows idle CPU); `scaling_point` is True when no query is
    running and no transaction, temporary table or lock is open (v1 only looks at it).
    """

    cpu_percent: float
    connections: int
    scaling_point: bool

    def __post_init__(self) -> None:
        if self.cpu_percent < 0 or self.connections < 0:
            raise ValueError(f"a load sample cannot be negative: {self}")


class PolicyState(enum.StrEnum):
    STEADY = "steady"  # at a capacity, nothing asked
    PENDING = "pending"  # v1: a change is wanted; waiting for a scaling point
    APPLYING = "applying"  # a change was handed out; waiting for applied()/rolled_back()


class ScalingAction(enum.StrEnum):
    """What a decision asks the cluster to do."""

    START = "start"  # v1: announce the change (RDS-EVENT-0141), look for a scaling point
    APPLY = "apply"  # apply now; seamless (v1: at a scaling point; v2: always)
    FORCE = "force"  # v1 timeout + ForceApplyCapacityChange: apply, abort open transactions
    ROLLBACK = "rollback"  # v1 timeout + RollbackCapacityChange: keep the capacity (0143)
    CANCEL = "cancel"  # v1: the load no longer asks for the pending change (no event)


class PolicyEvent(enum.StrEnum):
    REQUEST = "request"  # ModifyCurrentDBClusterCapacity (v1)
    START = "start"
    APPLY = "apply"
    FORCE = "force"
    ROLLBACK = "rollback"
    CANCEL = "cancel"
    APPLIED = "applied"
    ROLLED_BACK = "rolled_back"


# Every transition of the policy, in one place.
TRANSITIONS: dict[PolicyState, dict[PolicyEvent, PolicyState]] = {
    PolicyState.STEADY: {
        PolicyEvent.REQUEST: PolicyState.PENDING,
        PolicyEvent.START: PolicyState.PENDING,
        PolicyEvent.APPLY: PolicyState.APPLYING,  # v2: no scaling point needed
    },
    PolicyState.PENDING: {
        PolicyEvent.REQUEST: PolicyState.PENDING,  # replaces the change that was pending
        PolicyEvent.APPLY: PolicyState.APPLYING,
        PolicyEvent.FORCE: PolicyState.APPLYING,
        PolicyEvent.ROLLBACK: PolicyState.STEADY,
        PolicyEvent.CANCEL: PolicyState.STEADY,
    },
    PolicyState.APPLYING: {
        PolicyEvent.APPLIED: PolicyState.STEADY,
        PolicyEvent.ROLLED_BACK: PolicyState.STEADY,
    },
}


@dataclass(frozen=True)
class ScalingDecision:
    """One step the cluster should take. `forced` means: open transactions get aborted."""

    action: ScalingAction
    version: Version
    current: float
    target: float
    reason: str

    @property
    def forced(self) -> bool:
        return self.action is ScalingAction.FORCE

    @property
    def scale_up(self) -> bool:
        return self.target > self.current

    def event(self) -> tuple[events.EventId, str] | None:
        """The RDS event this step emits, if any (v2 scales without events)."""
        if self.version is Version.V2:
            return None
        a, b = self.current, self.target
        if self.action is ScalingAction.START:
            return events.EventId.SCALING_STARTED, events.scaling_started(a, b, self.reason)
        if self.action is ScalingAction.APPLY:  # emitted once the cluster has applied it
            return events.EventId.SCALED, events.scaled(a, b)
        if self.action is ScalingAction.FORCE:
            return (
                events.EventId.SCALED_NOT_SEAMLESS,
                events.scaled_not_seamless(a, b, self.reason),
            )
        if self.action is ScalingAction.ROLLBACK:
            return events.EventId.SCALING_FAILED, events.scaling_failed(a, b, self.reason)
        return None


def _v2_round_up(capacity: float) -> float:
    return math.ceil(capacity / V2_STEP - 1e-9) * V2_STEP


class ScalingPolicy:
    """When and where a running cluster's capacity moves.

    Call `observe(sample, now)` every sampling period. It returns None or one
    `ScalingDecision`:
    - v1: START when the load asks for a change (emit RDS-EVENT-0141), then, on later
      calls, APPLY at the first scaling point, or after SecondsBeforeTimeout FORCE or
      ROLLBACK (per TimeoutAction), or CANCEL if the load stops asking. After a START or a
      CANCEL, call `observe` again at once: a scaling point may already be there.
    - v2: APPLY straight away (continuous scaling, no scaling points, no events).
    After APPLY/FORCE, report `applied(now)` or `rolled_back(now)` (the engine refused).

    v1 moves one step along V1_CAPACITIES (doubling/halving) within [min, max]; scaling up
    has no cooldown, scaling down waits 900 s after a scale-up and 310 s after a
    scale-down. faaslab also declines a scale-down whose lower max_connections would be
    over 90 % used by today's connections: it would only scale straight back up.
    v2 aims at the capacity that would run CPU at ~60 %, in 0.5-ACU steps, when CPU leaves
    50-70 %; never below max(MinCapacity, 0.5) nor above MaxCapacity. Connections do not
    move v2 capacity: its max_connections is fixed by the maximum ACU.
    """

    def __init__(self, spec: ClusterSpec, capacity: float, now: float) -> None:
        self.spec = spec
        self._capacity = float(capacity)
        self._now = now
        self._state = PolicyState.STEADY
        self._target: float | None = None  # of the change pending or being applied
        self._pending_since: float | None = None
        self._last_scale_up: float | None = None
        self._last_scale_down: float | None = None
        # a ModifyCurrentDBClusterCapacity change pending: its own timeout and action, and
        # the load's wishes do not cancel it
        self._manual: tuple[float, TimeoutAction] | None = None
        if spec.version is Version.V1:
            self._steps: tuple[float, ...] = tuple(
                float(c)
                for c in V1_CAPACITIES[spec.engine]
                if spec.min_capacity <= c <= spec.max_capacity
            )
            if self._capacity not in self._steps:
                raise ValueError(
                    f"capacity {capacity} is not a v1 {spec.engine} capacity within "
                    f"[{spec.min_capacity}, {spec.max_capacity}]: {self._steps}"
                )
        else:
            self._steps = ()
            floor = self.v2_floor
            if not floor <= self._capacity <= min(spec.max_capacity, V2_MAX_CAPACITY):
                raise ValueError(
                    f"capacity {capacity} is outside [{floor}, {spec.max_capacity}] ACUs"
                )
            if not (self._capacity / V2_STEP).is_integer():
                raise ValueError(f"capacity {capacity} is not a multiple of {V2_STEP} ACU")

    # -- state
    @property
    def capacity(self) -> float:
        return self._capacity

    @property
    def state(self) -> PolicyState:
        return self._state

    @property
    def target(self) -> float | None:
        """The capacity of the change pending or being applied."""
        return self._target

    @property
    def pending_since(self) -> float | None:
        return self._pending_since

    @property
    def v2_floor(self) -> float:
        return max(self.spec.min_capacity, V2_RUNNING_FLOOR)

    def _fire(self, event: PolicyEvent) -> None:
        allowed = TRANSITIONS[self._state]
        if event not in allowed:
            raise ScalingStateError(f"scaling policy cannot take {event!r} while {self._state}")
        self._state = allowed[event]

    def _tick(self, now: float) -> None:
        if now < self._now:
            raise ValueError(f"time went backwards: {now} < {self._now}")
        self._now = now

    def _decide(self, action: ScalingAction, target: float, reason: str) -> ScalingDecision:
        self._fire(PolicyEvent(action.value))
        decision = ScalingDecision(action, self.spec.version, self._capacity, target, reason)
        if self._state is PolicyState.STEADY:  # ROLLBACK / CANCEL: nothing outstanding
            self._target = None
            self._pending_since = None
            self._manual = None
        return decision

    def request(
        self, target: float, seconds_before_timeout: float, action: TimeoutAction, now: float
    ) -> ScalingDecision:
        """ModifyCurrentDBClusterCapacity (v1): move to `target` at the next scaling point,
        or after `seconds_before_timeout` apply it anyway or give up, per `action`. Returns
        the START decision (RDS-EVENT-0141); later `observe` calls carry it out."""
        self._tick(now)
        if self.spec.version is not Version.V1:
            raise ScalingStateError("only Aurora Serverless v1 takes a capacity request")
        if target not in self._steps:
            raise ValueError(f"capacity {target} is not one of {self._steps}")
        self._fire(PolicyEvent.REQUEST)
        self._target, self._pending_since = float(target), now
        self._manual = (seconds_before_timeout, action)
        return ScalingDecision(
            ScalingAction.START, self.spec.version, self._capacity, target, events.MANUAL_REASON
        )

    @property
    def manual(self) -> bool:
        """Whether the change pending or being applied came from a request."""
        return self._manual is not None

    # -- the rules
    def wanted(self, sample: LoadSample, now: float) -> float | None:
        """The capacity the load asks for now, or None to stay (cooldowns included)."""
        if self.spec.version is Version.V2:
            return self._v2_wanted(sample)
        return self._v1_wanted(sample, now)

    def _v1_wanted(self, sample: LoadSample, now: float) -> float | None:
        engine = self.spec.engine
        limit = max_connections(engine, Version.V1, self._capacity)
        index = self._steps.index(self._capacity)
        if (
            sample.cpu_percent > SCALE_UP_CPU_PERCENT
            or sample.connections > SCALE_UP_CONNECTIONS_FRACTION * limit
        ):
            return self._steps[index + 1] if index + 1 < len(self._steps) else None
        if (
            sample.cpu_percent < SCALE_DOWN_CPU_PERCENT
            and sample.connections < SCALE_DOWN_CONNECTIONS_FRACTION * limit
            and index > 0
        ):
            if self._last_scale_up is not None and (
                now < self._last_scale_up + COOLDOWN_AFTER_SCALE_UP_S
            ):
                return None
            if self._last_scale_down is not None and (
                now < self._last_scale_down + COOLDOWN_AFTER_SCALE_DOWN_S
            ):
                return None
            lower = self._steps[index - 1]
            lower_limit = max_connections(engine, Version.V1, lower)
            if sample.connections > SCALE_UP_CONNECTIONS_FRACTION * lower_limit:
                return None
            return lower
        return None

    def _v2_wanted(self, sample: LoadSample) -> float | None:
        low, high = V2_CPU_BAND
        if low <= sample.cpu_percent <= high:
            return None
        desired = self._capacity * sample.cpu_percent / V2_CPU_TARGET_PERCENT
        ceiling = min(self.spec.max_capacity, V2_MAX_CAPACITY)
        target = min(max(_v2_round_up(desired), self.v2_floor), ceiling)
        return None if target == self._capacity else target

    def observe(self, sample: LoadSample, now: float) -> ScalingDecision | None:
        """Feed one load sample; get the next step, if any (see the class docstring)."""
        self._tick(now)
        if self._state is PolicyState.APPLYING:
            return None
        wanted = self.wanted(sample, now)
        reason = events.AUTOSCALING_REASON
        if self.spec.version is Version.V2:
            if wanted is None:
                return None
            self._target = wanted
            return self._decide(ScalingAction.APPLY, wanted, reason)
        if self._state is PolicyState.STEADY:
            if wanted is None:
                return None
            self._target, self._pending_since = wanted, now
            return self._decide(ScalingAction.START, wanted, reason)
        # PENDING
        assert self._target is not None and self._pending_since is not None
        target = self._target
        timeout, timeout_action = self._manual or (
            self.spec.seconds_before_timeout,
            self.spec.timeout_action,
        )
        if self._manual is not None:
            reason = events.MANUAL_REASON
        elif wanted != target:
            return self._decide(ScalingAction.CANCEL, target, reason)
        if sample.scaling_point:
            return self._decide(ScalingAction.APPLY, target, reason)
        if now - self._pending_since >= timeout:
            timeout_reason = events.NO_SCALING_POINT_REASON
            if timeout_action is TimeoutAction.FORCE:
                return self._decide(ScalingAction.FORCE, target, timeout_reason)
            return self._decide(ScalingAction.ROLLBACK, target, timeout_reason)
        return None

    def applied(self, now: float) -> float:
        """The cluster runs at the target now; returns the new capacity."""
        self._tick(now)
        self._fire(PolicyEvent.APPLIED)
        assert self._target is not None
        if self._target > self._capacity:
            self._last_scale_up = now
        else:
            self._last_scale_down = now
        self._capacity, self._target, self._pending_since = self._target, None, None
        self._manual = None
        return self._capacity

    def rolled_back(self, now: float) -> float:
        """The change could not be applied; the capacity stays. Returns it."""
        self._tick(now)
        self._fire(PolicyEvent.ROLLED_BACK)
        self._target, self._pending_since, self._manual = None, None, None
        return self._capacity
