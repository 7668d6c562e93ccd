"""All clusters of one `faaslab up`: create, restore, delete, endpoints, ports, sampling.

Ports: an endpoint keeps its port for life (it is in the state DB), so functions wired with
`!GetAtt Cluster.Endpoint.Port` and users' saved connection strings keep working across
restarts. A requested `Port` is honoured unless it is 3306/5432 (the machine's own
engines use those) or taken; then faaslab picks a free one and says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import os
import shutil
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from faaslab.clock import Clock
from faaslab.config import Config
from faaslab.databases import billing
from faaslab.databases import capacity as capacity_rules
from faaslab.databases.cluster import Cluster, State, spec_from_json
from faaslab.databases.endpoint import Endpoint
from faaslab.databases.engine import EngineError, EngineSettings, engine_for
from faaslab.databases.model import (
    SYSTEM_PORTS,
    TIMEOUT_MAX_S,
    V1_CAPACITIES,
    ClusterSpec,
    TimeoutAction,
    Version,
)
from faaslab.databases.monitor import Monitor
from faaslab.databases.shortcut import ConnectShortcut
from faaslab.databases.spec import cluster_arn
from faaslab.databases.splice import Splicer
from faaslab.functions.cgroups import CgroupDriver, detect
from faaslab.functions.model import DEFAULT_ACCOUNT
from faaslab.state import StateDB

log = logging.getLogger(__name__)

# ModifyCurrentDBClusterCapacity's SecondsBeforeTimeout: 10-600 s, 300 by default (AWS)
MANUAL_TIMEOUT_MIN_S, MANUAL_TIMEOUT_DEFAULT_S = 10, 300


class ClusterError(Exception):
    """A request about clusters that cannot be done; `code` is the AWS error code."""

    def __init__(self, message: str, code: str = "InvalidParameterValue", status: int = 400):
        super().__init__(message)
        self.code = code
        self.status = status


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


class Clusters:
    def __init__(self, config: Config, clock: Clock, state_dir: Path, db: StateDB) -> None:
        self.config = config
        self.clock = clock
        self.dir = state_dir / "clusters"
        self.db = db
        self.clusters: dict[str, Cluster] = {}
        self.endpoints: dict[str, Endpoint] = {}
        # told of each endpoint opened later (the control plane: functions' networks)
        self.endpoint_watchers: list[Callable[[str, Endpoint], Awaitable[None]]] = []
        self.warnings: list[str] = []
        self._background: set[asyncio.Task[Any]] = set()  # resumes asked for by the API
        self._ports: dict[str, int] = {r["identifier"]: r["port"] for r in db.clusters()}
        self.monitor = Monitor(self.clusters, db, clock)
        # --cpu-limits (root only): each engine in a cgroup whose CPU quota follows its
        # capacity (model.VCPU_PER_ACU per ACU); its own instance: never swept by functions.
        self.cgroups: CgroupDriver | None = None
        if config.cpu_limits and os.geteuid() == 0:
            instance = hashlib.sha256(str(state_dir).encode()).hexdigest()[:12] + "-db"
            self.cgroups = detect(instance=instance, cpu=True)
            self.cgroups.sweep()
        self.splicer: Splicer | None = None
        self.shortcut: ConnectShortcut | None = None
        self.paths = "a user-space proxy (--no-db-fast-path)"
        if config.db_fast_path:
            self.shortcut, direct = ConnectShortcut.create()
            self.splicer, held = Splicer.create()
            fallback = "; otherwise a user-space proxy" if not self.splicer else ""
            self.paths = f"{direct}; held and remote clients: {held}{fallback}"

    # -- ports (also asked by the template loader, before anything starts)
    def port_for(self, spec: ClusterSpec) -> int:
        if spec.identifier in self._ports:
            return self._ports[spec.identifier]
        taken = set(self._ports.values())
        wanted = spec.port
        if wanted is not None and wanted not in SYSTEM_PORTS and wanted not in taken:
            if _port_free(self.config.host, wanted):
                self._ports[spec.identifier] = wanted
                return wanted
            self.warnings.append(f"cluster {spec.identifier}: port {wanted} is taken")
        elif wanted in SYSTEM_PORTS:
            self.warnings.append(
                f"cluster {spec.identifier}: port {wanted} belongs to this machine's own "
                "database server; faaslab picked another (see `faaslab db list`)"
            )
        while True:
            with socket.socket() as s:
                s.bind((self.config.host, 0))
                port = int(s.getsockname()[1])
            if port not in taken and port not in SYSTEM_PORTS:
                self._ports[spec.identifier] = port
                return port

    def arn(self, identifier: str) -> str:
        return cluster_arn(identifier, self.config.region, DEFAULT_ACCOUNT)

    def settings_for(self, spec: ClusterSpec, capacity: float) -> EngineSettings:
        per_acu = self.config.db_memory_per_acu_mb * 1024 * 1024
        connections = capacity_rules.max_connections(
            spec.engine, spec.version, capacity if spec.version.value == "v1" else spec.max_capacity
        )
        if spec.engine.value == "aurora-postgresql":
            # Every PostgreSQL connection slot costs shared memory at start: capped here.
            connections = min(connections, self.config.db_max_pg_connections)
        return EngineSettings(capacity_rules.buffer_pool_bytes(capacity, per_acu), connections)

    def _cluster(self, spec: ClusterSpec, **kwargs: Any) -> Cluster:
        cgroup = None
        if self.cgroups is not None:
            # No memory limit to speak of: the buffer pool is what capacity sizes.
            cgroup = self.cgroups.create(spec.identifier, _host_memory_mb())
        return Cluster(
            spec,
            self.port_for(spec),
            engine_for(spec, self.dir / spec.identifier),
            self.db,
            self.clock,
            self.settings_for,
            shortcut=self.shortcut,
            cgroup=cgroup,
            **kwargs,
        )

    # -- lifecycle
    async def start(self, template_clusters: dict[str, ClusterSpec]) -> None:
        """Restore the clusters recorded in the state DB, then create the template's new
        ones. Template clusters whose configuration changed get the new capacity settings."""
        for row in self.db.clusters():
            spec = spec_from_json(row["spec"])
            if spec.identifier in template_clusters and row["source"] == "template":
                new = template_clusters[spec.identifier]
                if new.engine is not spec.engine:
                    raise ClusterError(
                        f"cluster {spec.identifier} was created with {spec.engine} and the "
                        f"template now says {new.engine}: `faaslab db delete "
                        f"{spec.identifier}` first (its data would be lost)"
                    )
                if new.master_username != spec.master_username:
                    raise ClusterError(
                        f"cluster {spec.identifier}: the master user cannot be renamed "
                        f"({spec.master_username} -> {new.master_username}), as on AWS"
                    )
                password_changed = new.master_password != spec.master_password
                spec = new
            else:
                password_changed = False
            cluster = self._cluster(
                spec,
                state=State(row["state"]),
                capacity=row["capacity"],
                created=row["created"],
                source=row["source"],
            )
            if password_changed:  # as a stack update does: applied at the next engine start
                cluster.pending_password = spec.master_password
            cluster.save()
            self.clusters[spec.identifier] = cluster
            await self._open_endpoint(cluster)
            try:
                await cluster.restore()
            except EngineError as e:
                cluster.failure = str(e)
                log.error("cluster %s could not be restored: %s", spec.identifier, e)
        for identifier, spec in template_clusters.items():
            if identifier not in self.clusters:
                await self.create(spec, source="template")
        self.monitor.start()

    async def stop(self) -> None:
        await self.monitor.stop()
        for endpoint in self.endpoints.values():
            await endpoint.stop()
        await asyncio.gather(*(c.shutdown() for c in self.clusters.values()))
        if self.splicer is not None:
            self.splicer.close()
        if self.shortcut is not None:
            self.shortcut.shutdown()
        if self.cgroups is not None:
            self.cgroups.remove()

    async def _open_endpoint(self, cluster: Cluster) -> None:
        endpoint = Endpoint(
            cluster, self.config.host, cluster.port, cluster.spec.ingress, self.splicer
        )
        try:
            await endpoint.start()
        except OSError as e:
            raise ClusterError(
                f"cluster {cluster.identifier}: cannot listen on port {cluster.port}: {e}",
                "InternalFailure",
                500,
            ) from None
        self.endpoints[cluster.identifier] = endpoint
        for watcher in self.endpoint_watchers:
            await watcher(cluster.identifier, endpoint)

    async def create(self, spec: ClusterSpec, source: str = "cli") -> Cluster:
        if spec.identifier in self.clusters:
            raise ClusterError(
                f"DB Cluster already exists: {spec.identifier}", "DBClusterAlreadyExistsFault"
            )
        host_dir = self.dir / spec.identifier
        if host_dir.exists():  # left by a create that never finished
            shutil.rmtree(host_dir)
        cluster = self._cluster(spec, source=source)
        self.clusters[spec.identifier] = cluster
        await self._open_endpoint(cluster)
        try:
            await cluster.create()
        except EngineError as e:
            raise ClusterError(
                f"cluster {spec.identifier} could not be created: {e}", "InternalFailure", 500
            ) from None
        return cluster

    def get(self, identifier: str) -> Cluster:
        cluster = self.clusters.get(identifier.lower())
        if cluster is None:
            raise ClusterError(
                f"DBCluster {identifier} not found.", "DBClusterNotFoundFault", status=404
            )
        return cluster

    async def delete(self, identifier: str) -> None:
        cluster = self.get(identifier)
        endpoint = self.endpoints.pop(cluster.identifier, None)
        if endpoint is not None:
            await endpoint.stop()
        await cluster.delete()
        del self.clusters[cluster.identifier]
        self._ports.pop(cluster.identifier, None)
        self.db.delete_cluster(cluster.identifier)
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(cluster.engine.host_dir)
        cluster.engine.admin_secret_path.unlink(missing_ok=True)

    async def modify(self, identifier: str, spec: ClusterSpec) -> Cluster:
        """A running cluster's new scaling configuration, Data API switch or master
        password (ModifyDBCluster): the monitor starts a fresh scaling policy for it, and
        a capacity outside the new range is brought inside it at once."""
        cluster = self.get(identifier)
        if cluster.state not in (State.AVAILABLE, State.PAUSED):
            raise ClusterError(
                f"DB cluster {identifier} is not in the available state "
                f"(it is {cluster.state.value}).",
                "InvalidDBClusterStateFault",
            )
        password_changed = spec.master_password != cluster.spec.master_password
        cluster.spec = spec
        cluster.save()
        self.monitor.policies.pop(cluster.identifier, None)
        if password_changed:
            cluster.pending_password = spec.master_password
        if cluster.state is State.AVAILABLE:
            if password_changed:
                await cluster.apply_pending_password()
            low = max(spec.min_capacity, capacity_rules.V2_RUNNING_FLOOR)
            target = min(max(cluster.capacity, low), spec.max_capacity)
            if target != cluster.capacity:
                await cluster.set_capacity(target)
        return cluster

    def stop_cluster(self, identifier: str) -> Cluster:
        """StopDBCluster: the engine stops until start_cluster (or seven emulated days).
        Returns with the cluster `stopping` (the stop goes on in the background)."""
        cluster = self.get(identifier)
        if cluster.spec.version is Version.V1:
            # Aurora Serverless v1 clusters cannot be stopped (they pause instead)
            raise ClusterError(
                "Stop-db-cluster is not supported for these configurations",
                "InvalidParameterCombination",
            )
        if not cluster.can(State.STOPPING):
            raise ClusterError(
                f"DbCluster {cluster.identifier} is not in available state.",
                "InvalidDBClusterStateFault",
            )
        self.monitor.policies.pop(cluster.identifier, None)
        cluster.stop()
        return cluster

    def start_cluster(self, identifier: str) -> Cluster:
        """StartDBCluster: `starting` now, `available` once the engine is up."""
        cluster = self.get(identifier)
        if not cluster.can(State.STARTING):
            raise ClusterError(
                f"DbCluster {cluster.identifier} is not in stopped state.",
                "InvalidDBClusterStateFault",
            )
        cluster.start()
        return cluster

    async def request_capacity(
        self,
        identifier: str,
        capacity: float,
        seconds_before_timeout: int = MANUAL_TIMEOUT_DEFAULT_S,
        action: TimeoutAction = TimeoutAction.FORCE,
    ) -> tuple[Cluster, float]:
        """ModifyCurrentDBClusterCapacity (v1): the capacity the cluster runs at now (0 if
        paused) after asking for `capacity`. Available: a change pursued as autoscaling's
        are (scaling point, then timeout and action); paused: the cluster resumes at it."""
        cluster = self.get(identifier)
        spec = cluster.spec
        if spec.version is not Version.V1:
            raise ClusterError(
                f"DB cluster {cluster.identifier} is not an Aurora Serverless v1 cluster: "
                "ModifyCurrentDBClusterCapacity applies to EngineMode serverless only",
                "InvalidDBClusterStateFault",
            )
        valid = V1_CAPACITIES[spec.engine]
        if capacity not in valid:
            listed = ", ".join(str(c) for c in valid[:-1]) + f", and {valid[-1]}"
            raise ClusterError(
                "Capacity isn't a valid Aurora Serverless DB cluster capacity. Valid "
                f"capacity values are {listed}.",
                "InvalidDBClusterCapacityFault",
            )
        if not spec.min_capacity <= capacity <= spec.max_capacity:
            raise ClusterError(
                f"Capacity {capacity:g} is outside the DB cluster's scaling configuration "
                f"(MinCapacity {spec.min_capacity:g}, MaxCapacity {spec.max_capacity:g}).",
                "InvalidDBClusterCapacityFault",
            )
        if not MANUAL_TIMEOUT_MIN_S <= seconds_before_timeout <= TIMEOUT_MAX_S:
            raise ClusterError(
                f"SecondsBeforeTimeout must be between {MANUAL_TIMEOUT_MIN_S} and "
                f"{TIMEOUT_MAX_S} seconds.",
            )
        if cluster.state is State.PAUSED:
            cluster.capacity = float(capacity)  # the engine starts with it
            self.monitor.policies.pop(cluster.identifier, None)
            resume = asyncio.get_running_loop().create_task(cluster.ensure_running())
            self._background.add(resume)
            resume.add_done_callback(self._background.discard)
            return cluster, 0.0
        if cluster.state is not State.AVAILABLE:
            raise ClusterError(
                f"DB cluster {cluster.identifier} is not in the available state "
                f"(it is {cluster.state.value}).",
                "InvalidDBClusterStateFault",
            )
        try:
            self.monitor.request_capacity(cluster, float(capacity), seconds_before_timeout, action)
        except capacity_rules.ScalingStateError:
            raise ClusterError(
                f"DB cluster {cluster.identifier} is applying a capacity change.",
                "InvalidDBClusterStateFault",
            ) from None
        return cluster, cluster.capacity

    # -- views
    def describe(self, identifier: str) -> dict[str, Any]:
        cluster = self.get(identifier)
        out = cluster.describe()
        out["DBClusterArn"] = self.arn(cluster.identifier)
        return out

    def describe_all(self) -> list[dict[str, Any]]:
        return [self.describe(i) for i in self.clusters]

    def events(self, identifier: str, after_id: int = 0) -> list[dict[str, Any]]:
        cluster = self.get(identifier)
        return [
            {"Id": e.id, "Date": e.time, "EventId": e.code, "Message": e.message}
            for e in self.db.events(cluster.identifier, after_id)
        ]

    def metrics(self, identifier: str, since: float = 0.0) -> dict[str, list[tuple[float, float]]]:
        cluster = self.get(identifier)
        return {name: self.db.metrics(cluster.identifier, name, since) for name in METRICS}

    def cost(self, identifier: str) -> dict[str, Any]:
        """The bill so far, in emulated time: with --time-scale 60 a real second is billed
        as a minute, as every other emulated duration is. One emulated timeline starts at
        the cluster's creation: a real instant t is created + (t - created) x scale (each
        activation with the scale it ran at)."""
        cluster = self.get(identifier)
        created = cluster.created

        def emulated(t: float, scale: float) -> float:
            return created + (t - created) * scale

        now = self.clock.now()
        changes = self.db.capacity_changes(cluster.identifier)
        activations = []
        for start, end, scale in self.db.activations(cluster.identifier):
            until = now if end is None else end
            before = [c for t, c in changes if t <= start]
            timeline = [(emulated(start, scale), before[-1] if before else cluster.capacity)]
            timeline += [(emulated(t, scale), c) for t, c in changes if start < t <= until]
            activations.append(
                billing.Activation(
                    emulated(start, scale),
                    None if end is None else emulated(end, scale),
                    tuple(timeline),
                )
            )
        # (max: activations from an earlier run at a larger --time-scale may reach further)
        emulated_now = max(
            [emulated(now, self.clock.scale)]
            + [a.end if a.end is not None else a.start for a in activations]
        )
        bill = billing.bill(
            activations,
            cluster.spec.version,
            emulated_now,
            storage_bytes=_du(cluster.engine.host_dir / "data"),
            storage_since=created,
        )
        out = dataclasses.asdict(bill)
        out["version"] = cluster.spec.version.value
        out["identifier"] = cluster.identifier
        return out


METRICS = (
    "ServerlessDatabaseCapacity",
    "ACUUtilization",
    "CPUUtilization",
    "DatabaseConnections",
    "Queries",
)


def _host_memory_mb() -> int:
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20)


def _du(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total
