"""The sampling loop: every few seconds, each running cluster's load becomes CloudWatch-style
metrics in the state DB and an input to its scaling policy (capacity.py), whose decisions
are carried out here with AWS's RDS events.

CPU utilisation is measured against the CPU a capacity entitles the cluster to
(model.VCPU_PER_ACU per ACU), capped at the machine's cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from dataclasses import dataclass

from faaslab.clock import Clock
from faaslab.databases import events
from faaslab.databases.capacity import LoadSample, PolicyState, ScalingAction, ScalingPolicy
from faaslab.databases.cluster import Cluster, State
from faaslab.databases.engine import EngineError, Load
from faaslab.databases.model import VCPU_PER_ACU, TimeoutAction
from faaslab.state import StateDB

log = logging.getLogger(__name__)

SAMPLE_EMULATED_S = 5.0  # one sample per 5 emulated seconds...
SAMPLE_MIN_REAL_S = 0.5  # ...but not more often than this in real time
SCALING_POINT_POLL_S = 0.02  # while a v1 change waits for a scaling point
METRICS_KEPT_S = 15 * 86400.0  # as CloudWatch keeps 1-minute data
PRUNE_EVERY_S = 3600.0


@dataclass
class _Previous:
    at: float  # monotonic
    load: Load


class Monitor:
    def __init__(self, clusters: dict[str, Cluster], db: StateDB, clock: Clock) -> None:
        self.clusters = clusters
        self.db = db
        self.clock = clock
        self.previous: dict[str, _Previous] = {}
        self.policies: dict[str, ScalingPolicy] = {}
        self.task: asyncio.Task[None] | None = None
        self._requests: set[asyncio.Task[None]] = set()  # capacity requests being pursued

    @property
    def interval(self) -> float:
        return max(SAMPLE_MIN_REAL_S, self.clock.emulated_delay(SAMPLE_EMULATED_S))

    def emulated_now(self) -> float:
        return time.monotonic() * self.clock.scale

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        for request in list(self._requests):
            request.cancel()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def _run(self) -> None:
        pruned = 0.0
        while True:
            await asyncio.sleep(self.interval)
            if time.monotonic() - pruned > PRUNE_EVERY_S:
                pruned = time.monotonic()
                self.db.prune_metrics(self.clock.now() - METRICS_KEPT_S)
            for cluster in list(self.clusters.values()):
                try:
                    await self.sample(cluster)
                except (EngineError, OSError) as e:  # the engine went away mid-sample
                    log.debug("%s: no sample: %s", cluster.identifier, e)
                except Exception:
                    log.exception("%s: sampling failed", cluster.identifier)

    async def sample(self, cluster: Cluster) -> None:
        ident = cluster.identifier
        if cluster.state is not State.AVAILABLE or not cluster.engine.running:
            self.previous.pop(ident, None)
            self.policies.pop(ident, None)  # a resumed cluster starts a fresh policy
            return
        load = await cluster.engine.load()
        cluster.observe_sessions(load)
        now = time.monotonic()
        before = self.previous.get(ident)
        self.previous[ident] = _Previous(now, load)
        if before is None or now <= before.at:
            return
        entitled = min(cluster.capacity * VCPU_PER_ACU, float(os.cpu_count() or 1))
        cpu = (load.cpu_seconds - before.load.cpu_seconds) / (now - before.at) / entitled * 100
        spec = cluster.spec
        self.db.add_metrics(
            ident,
            self.clock.now(),
            {
                "ServerlessDatabaseCapacity": cluster.capacity,
                "ACUUtilization": cluster.capacity / spec.max_capacity * 100,
                "CPUUtilization": min(cpu, 100.0),
                "DatabaseConnections": float(load.connections),
                "Queries": float(max(0, load.queries - before.load.queries)),
            },
        )
        await self._scale(cluster, LoadSample(max(cpu, 0.0), load.connections, not load.busy))

    def _policy(self, cluster: Cluster) -> ScalingPolicy:
        policy = self.policies.get(cluster.identifier)
        if policy is None or policy.capacity != cluster.capacity:
            policy = ScalingPolicy(cluster.spec, cluster.capacity, self.emulated_now())
            self.policies[cluster.identifier] = policy
        return policy

    async def _scale(self, cluster: Cluster, sample: LoadSample) -> None:
        policy = self._policy(cluster)
        await self._decide(cluster, policy, sample)
        # A v1 change waits for a scaling point: look for one between two samples, often,
        # as Aurora does continuously (a long query would otherwise hide every gap).
        await self._pursue(cluster, policy, sample.cpu_percent, self.interval * 0.9)

    async def _pursue(
        self, cluster: Cluster, policy: ScalingPolicy, cpu: float, seconds: float | None
    ) -> None:
        """While a change is pending, look for a scaling point every few ms (for `seconds`,
        or until the change is applied, rolled back or canceled)."""
        deadline = None if seconds is None else time.monotonic() + seconds
        while policy.state is PolicyState.PENDING and (
            deadline is None or time.monotonic() < deadline
        ):
            await asyncio.sleep(SCALING_POINT_POLL_S)
            if cluster.state is not State.AVAILABLE:
                return
            load = await cluster.engine.load()
            await self._decide(cluster, policy, LoadSample(cpu, load.connections, not load.busy))

    def request_capacity(
        self, cluster: Cluster, target: float, seconds_before_timeout: float, action: TimeoutAction
    ) -> None:
        """ModifyCurrentDBClusterCapacity on an available v1 cluster: announce the change
        (RDS-EVENT-0141) and pursue it from now on, not from the next sample."""
        policy = self._policy(cluster)
        decision = policy.request(target, seconds_before_timeout, action, self.emulated_now())
        event = decision.event()
        if event is not None:
            cluster.event(event[0].value, event[1])

        async def pursue() -> None:
            try:
                await self._pursue(cluster, policy, 0.0, None)
            except (EngineError, OSError) as e:  # the engine went away: the change is moot
                log.debug("%s: capacity request dropped: %s", cluster.identifier, e)

        task = asyncio.get_running_loop().create_task(pursue())
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)

    async def _decide(self, cluster: Cluster, policy: ScalingPolicy, sample: LoadSample) -> None:
        for _ in range(3):  # START / CANCEL may be followed at once by the next step
            decision = policy.observe(sample, self.emulated_now())
            if decision is None:
                return
            action = decision.action
            if action in (ScalingAction.START, ScalingAction.ROLLBACK):
                event = decision.event()
                if event is not None:
                    cluster.event(event[0].value, event[1])
                if action is ScalingAction.ROLLBACK:
                    return
                continue
            if action is ScalingAction.CANCEL:
                continue
            # APPLY or FORCE: the engine takes the new capacity.
            if cluster.state is not State.AVAILABLE:  # paused meanwhile: moot
                policy.rolled_back(self.emulated_now())
                return
            try:
                await cluster.set_capacity(decision.target)
            except EngineError as e:
                policy.rolled_back(self.emulated_now())
                cluster.event(
                    events.EventId.SCALING_FAILED.value,
                    events.scaling_failed(decision.current, decision.target, str(e)),
                )
                return
            policy.applied(self.emulated_now())
            event = decision.event()
            if event is not None:
                cluster.event(event[0].value, event[1])
            return
