"""One serverless cluster: its state machine, pause/resume, RDS events and activations.

States and the moves between them are one table (`TRANSITIONS`); `_set` refuses any
other move, so a race shows up as an error instead of a cluster in a state AWS never has.

    creating -> available <-> pausing -> paused -> resuming -> available
                available <-> scaling          (capacity changes)
                available / paused -> stopping -> stopped -> starting -> available
                available / paused / stopped -> deleting

Stopped is StopDBCluster's state: no engine, no auto-resume (clients are refused) until
StartDBCluster, or until AWS's limit of seven (emulated) days stopped, when the cluster
starts itself (RDS-EVENT-0153), as Aurora does.

Auto-pause follows AWS's rule: after `SecondsUntilAutoPause` with *zero* client
connections (the endpoint counts them). A pause first announces itself (RDS-EVENT-0144)
and waits a short drain time; a client arriving then cancels it (0146) and is served at
once. After the drain the engine is shut down cleanly (0145). A client arriving during
the shutdown or while paused is held by the endpoint and triggers a resume (0147, 0148).
If the engine dies on its own, the cluster is marked paused (with an event saying so) and
the next client's resume runs the engine's crash recovery.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import ipaddress
import logging
import socket
from collections.abc import Callable
from typing import Any

from faaslab.clock import Clock, Timer
from faaslab.databases.endpoint import Refused
from faaslab.databases.engine import EngineError, EngineServer, EngineSettings, Load
from faaslab.databases.events import EVENT_TEXTS, EventId
from faaslab.databases.model import VCPU_PER_ACU, ClusterSpec, Engine, Version
from faaslab.databases.shortcut import ConnectShortcut
from faaslab.functions.cgroups import Cgroup
from faaslab.state import StateDB

log = logging.getLogger(__name__)

PAUSE_DRAIN_S = 2.0  # emulated seconds between "being paused" and the engine's shutdown


class State(enum.StrEnum):
    CREATING = "creating"
    AVAILABLE = "available"
    PAUSING = "pausing"
    PAUSED = "paused"
    RESUMING = "resuming"
    SCALING = "scaling"
    STOPPING = "stopping"
    STOPPED = "stopped"
    STARTING = "starting"
    DELETING = "deleting"
    FAILED = "failed"  # could not be created: describe says why; delete is all it allows


TRANSITIONS: dict[State, frozenset[State]] = {
    State.CREATING: frozenset({State.AVAILABLE, State.FAILED, State.DELETING}),
    State.AVAILABLE: frozenset(
        {State.PAUSING, State.SCALING, State.DELETING, State.PAUSED, State.STOPPING}
    ),
    State.PAUSING: frozenset({State.PAUSED, State.AVAILABLE}),
    State.PAUSED: frozenset({State.RESUMING, State.DELETING, State.STOPPING}),
    State.STOPPING: frozenset({State.STOPPED}),
    State.STOPPED: frozenset({State.STARTING, State.DELETING}),
    State.STARTING: frozenset({State.AVAILABLE, State.STOPPED}),
    State.RESUMING: frozenset({State.AVAILABLE, State.PAUSED}),
    State.SCALING: frozenset({State.AVAILABLE, State.PAUSED}),
    State.DELETING: frozenset(),
    State.FAILED: frozenset({State.DELETING}),
}


# states a cluster passes through on its own; callers wait them out (_wait_settled)
UNSETTLED = frozenset(
    {State.PAUSING, State.RESUMING, State.SCALING, State.CREATING, State.STOPPING, State.STARTING}
)


def _event(event_id: EventId) -> tuple[str, str]:
    return event_id.value, EVENT_TEXTS[event_id]


EVENT_CREATED = ("RDS-EVENT-0170", "DB cluster created")  # RDS's generic creation event
EVENT_PAUSING = _event(EventId.PAUSING)
EVENT_PAUSED = _event(EventId.PAUSED)
EVENT_PAUSE_CANCELED = _event(EventId.PAUSE_CANCELED)
EVENT_RESUMING = _event(EventId.RESUMING)
EVENT_RESUMED = _event(EventId.RESUMED)
EVENT_STOPPED = _event(EventId.STOPPED)
EVENT_STARTED = _event(EventId.STARTED)
EVENT_AUTO_STARTING = _event(EventId.AUTO_STARTING)
MAX_STOPPED_S = 7 * 86_400.0  # AWS starts a cluster stopped this long (emulated seconds)
# Not an AWS event (Aurora restarts a crashed engine itself): faaslab says what happened.
EVENT_ENGINE_STOPPED = ("FAASLAB-ENGINE-EXIT", "The DB cluster's engine stopped unexpectedly")


class Cluster:
    """A cluster and its engine. All methods run on the control plane's event loop."""

    def __init__(
        self,
        spec: ClusterSpec,
        port: int,
        engine: EngineServer,
        db: StateDB,
        clock: Clock,
        settings_for: Callable[[ClusterSpec, float], EngineSettings],
        state: State = State.CREATING,
        capacity: float | None = None,
        created: float | None = None,
        source: str = "cli",
        shortcut: ConnectShortcut | None = None,
        cgroup: Cgroup | None = None,
    ) -> None:
        self.spec = spec
        self.port = port
        self.engine = engine
        self.db = db
        self.clock = clock
        self.settings_for = settings_for
        self.state = state
        self.capacity = capacity if capacity is not None else self.start_capacity
        self.created = created if created is not None else clock.now()
        self.source = source
        self.connections = 0  # through the endpoint
        self.engine_sessions = 0  # as the engine last counted them (direct ones included)
        self.failure = ""
        # Local clients connect straight to the running engine (shortcut.py) unless the
        # ingress rules keep loopback out: those must pass the endpoint's check.
        self.shortcut = shortcut if shortcut is not None and _admits_loopback(spec) else None
        self._sessions_seen = -1  # the engine's session counter when the idle timer started
        self.pending_password: str | None = None  # a new MasterUserPassword to apply
        self.cgroup = cgroup  # with --cpu-limits: the engine's CPU share follows capacity
        if cgroup is not None:
            engine.cgroup_procs = cgroup.procs_files
        self._changed = asyncio.Event()  # set (and replaced) at every state change
        self._idle_timer: Timer | None = None
        self._idle_check: asyncio.Task[None] | None = None  # _maybe_pause, when it runs
        self._pause_task: asyncio.Task[None] | None = None
        self._resume_task: asyncio.Task[None] | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._start_task: asyncio.Task[None] | None = None
        self._stop_task: asyncio.Task[None] | None = None
        self._auto_start_timer: Timer | None = None

    @property
    def identifier(self) -> str:
        return self.spec.identifier

    @property
    def engine_kind(self) -> Engine:
        return self.spec.engine

    @property
    def start_capacity(self) -> float:
        if self.spec.version is Version.V2 and self.spec.min_capacity == 0:
            return 0.5  # v2 with auto-pause runs at >= 0.5 ACU
        return self.spec.min_capacity

    # -- records
    def can(self, new: State) -> bool:
        """Whether the table allows a move from the current state to `new`."""
        return new in TRANSITIONS[self.state]

    def _set(self, new: State) -> None:
        if not self.can(new):
            raise RuntimeError(f"cluster {self.identifier}: no transition {self.state} -> {new}")
        self.state = new
        if new is not State.DELETING:
            self.db.set_cluster_state(self.identifier, new.value, self.capacity)
        self._changed.set()
        self._changed = asyncio.Event()

    def event(self, code: str, message: str) -> None:
        self.db.add_event(self.identifier, self.clock.now(), code, message)
        log.info("%s %s %s", self.identifier, code, message)

    def save(self) -> None:
        self.db.save_cluster(
            self.identifier,
            spec_to_json(self.spec),
            self.state.value,
            self.capacity,
            self.port,
            self.created,
            self.source,
        )

    def _activated(self) -> None:
        self.db.open_activation(self.identifier, self.clock.now(), self.clock.scale)
        self.db.add_capacity_change(self.identifier, self.clock.now(), self.capacity)

    def _deactivated(self) -> None:
        self.db.close_activation(self.identifier, self.clock.now())

    # -- the direct path (shortcut.py)
    def _prepare_engine(self) -> None:
        """Before each engine start: a fresh loopback port for direct connections, and
        the CPU share of the capacity it starts with."""
        self.engine.tcp_port = _free_port() if self.shortcut is not None else None
        self._set_cpu_share()

    def _set_cpu_share(self) -> None:
        if self.cgroup is not None:
            self.cgroup.set_cpu(self.capacity * VCPU_PER_ACU)

    def _open_shortcut(self) -> None:
        if self.shortcut is not None and self.engine.tcp_port is not None:
            try:
                self.shortcut.open(self.port, self.engine.tcp_port)
            except OSError as e:  # the endpoint still serves everyone
                log.warning("%s: no direct path: %s", self.identifier, e)

    def _close_shortcut(self) -> None:
        if self.shortcut is not None:
            self.shortcut.close(self.port)

    # -- lifecycle
    async def create(self) -> None:
        """Initialise the engine's data dir (master user, database) and make it available."""
        self.save()
        self._prepare_engine()
        try:
            await self.engine.initialise(self.settings_for(self.spec, self.capacity))
        except EngineError as e:
            self.failure = str(e)
            self._set(State.FAILED)
            raise
        self._set(State.AVAILABLE)
        self.event(*EVENT_CREATED)
        self._activated()
        self._after_start()

    async def restore(self) -> None:
        """After a restart of faaslab: bring the cluster back to the state it was in."""
        if self.state in (State.PAUSED, State.FAILED):
            return
        if self.state in (State.STOPPING, State.STOPPED):  # (the engine is down either way)
            if self.state is State.STOPPING:
                self.state = State.STOPPED
                self.db.set_cluster_state(self.identifier, self.state.value, self.capacity)
                self.event(*EVENT_STOPPED)
            stopped_at = max(
                (e.time for e in self.db.events(self.identifier) if e.code == EVENT_STOPPED[0]),
                default=self.clock.now(),
            )
            elapsed = (self.clock.now() - stopped_at) * self.clock.scale
            self._arm_auto_start(max(0.0, MAX_STOPPED_S - elapsed))
            return
        was_starting = self.state is State.STARTING
        if self.state is State.CREATING or not self.engine.initialised:
            self.failure = "faaslab stopped while the cluster was being created; delete it"
            self.state = State.FAILED
            self.db.set_cluster_state(self.identifier, self.state.value, self.capacity)
            return
        if self.state is State.PAUSING:  # it was on its way to paused
            self.state = State.PAUSED
            self.db.set_cluster_state(self.identifier, self.state.value, self.capacity)
            self.event(*EVENT_PAUSED)
            return
        self.state = State.AVAILABLE
        self.db.set_cluster_state(self.identifier, self.state.value, self.capacity)
        self._prepare_engine()
        await self.engine.start(self.settings_for(self.spec, self.capacity))
        await self.apply_pending_password()
        if was_starting:
            self.event(*EVENT_STARTED)
        self._activated()
        self._after_start()

    async def apply_pending_password(self) -> None:
        """A changed MasterUserPassword (template update), before any client gets in."""
        if self.pending_password is not None:
            await self.engine.set_master_password(self.spec.master_username, self.pending_password)
            self.pending_password = None
            self.event("RDS-EVENT-0016", "Reset master credentials")

    def _after_start(self) -> None:
        self._open_shortcut()
        self._watch_task = asyncio.get_running_loop().create_task(self._watch_engine())
        self._arm_idle_timer()

    async def _watch_engine(self) -> None:
        """Notice an engine that dies on its own (kill -9, OOM): the cluster goes to paused,
        and the next client's resume runs the engine's crash recovery."""
        code = await self.engine.exited()
        if self.state in (State.AVAILABLE, State.SCALING) and not self.engine.running:
            self._close_shortcut()
            await self.engine.kill()  # what it left behind (PostgreSQL's backends) goes too
            self._cancel_idle_timer()
            self._set(State.PAUSED)
            self.event(EVENT_ENGINE_STOPPED[0], f"{EVENT_ENGINE_STOPPED[1]} (exit status {code}).")
            self._deactivated()

    async def shutdown(self) -> None:
        """faaslab is stopping: stop the engine cleanly, keep the recorded state."""
        self._cancel_idle_timer()
        self._cancel_auto_start()
        self._close_shortcut()
        tasks = (self._idle_check, self._pause_task, self._resume_task, self._watch_task)
        for task in (*tasks, self._start_task, self._stop_task):
            if task is not None:
                task.cancel()
        if self.engine.running:
            await self.engine.stop()
            self._deactivated()

    async def delete(self) -> None:
        if not self.can(State.DELETING):
            # let a pause/resume/scaling/stop/start finish first
            await self._wait_settled()
        self._cancel_idle_timer()
        self._cancel_auto_start()
        self._close_shortcut()
        if self._watch_task is not None:
            self._watch_task.cancel()
        self._set(State.DELETING)
        await self.engine.kill()
        if self.cgroup is not None:
            self.cgroup.kill_all()
            self.cgroup.destroy()
        self._deactivated()

    async def _wait_settled(self) -> None:
        while self.state in UNSETTLED:
            await self._changed.wait()

    # -- clients (called by the endpoint)
    def client_connected(self) -> None:
        self.connections += 1
        self._cancel_idle_timer()

    def client_disconnected(self) -> None:
        self.connections -= 1
        if self.connections == 0:
            self._arm_idle_timer()

    async def ensure_running(self) -> str:
        """Return the engine's socket once it accepts connections, resuming if needed."""
        while True:
            state = self.state
            if state in (State.AVAILABLE, State.SCALING):
                return self.engine.socket_path
            if state is State.PAUSING and self._pause_task is not None:
                self._cancel_pause()
                continue
            if state is State.PAUSED:
                self._start_resume()
                continue
            if state in (State.DELETING, State.FAILED, State.STOPPING, State.STOPPED):
                raise Refused(f"the DB cluster {self.identifier} is {state.value}")
            changed = self._changed
            await changed.wait()
            if self.state is State.PAUSED and self.failure:
                raise Refused(self.failure)

    # -- pause
    def _arm_idle_timer(self, note_sessions: bool = True) -> None:
        self._cancel_idle_timer()
        if self.spec.auto_pause and self.state is State.AVAILABLE and self.connections == 0:
            self._idle_timer = self.clock.call_later(
                self.spec.seconds_until_auto_pause, self._idle_expired
            )
            if self.shortcut is not None and note_sessions:
                asyncio.get_running_loop().create_task(self._note_sessions())

    async def _note_sessions(self) -> None:
        """Remember the engine's session counter as the idle period starts."""
        with contextlib.suppress(EngineError):
            self._sessions_seen = (await self.engine.load()).sessions_total

    def observe_sessions(self, load: Load) -> None:
        """A load sample (monitor.py): direct clients present, or come and gone since the
        last look, restart the idle period from now — so a cluster pauses about
        SecondsUntilAutoPause after its last direct client left, as AWS's does."""
        self.engine_sessions = load.connections
        if self.shortcut is None:
            return
        active = load.connections > 0 or load.sessions_total != self._sessions_seen
        self._sessions_seen = load.sessions_total
        if active and self.state is State.AVAILABLE and self.connections == 0:
            self._arm_idle_timer(note_sessions=False)

    async def _direct_clients(self) -> bool:
        """Whether clients connected straight to the engine (which the endpoint cannot
        see) are there now, or came and went since the idle period started."""
        if self.shortcut is None or not self.engine.running:
            return False
        try:
            load = await self.engine.load()
        except EngineError:
            return False
        self.engine_sessions = load.connections
        came_and_went = load.sessions_total != self._sessions_seen
        self._sessions_seen = load.sessions_total
        return load.connections > 0 or came_and_went

    def _cancel_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def _idle_expired(self) -> None:
        self._idle_timer = None
        if self.state is State.AVAILABLE and self.connections == 0:
            self._idle_check = asyncio.get_running_loop().create_task(self._maybe_pause())
        elif self.state is State.SCALING:
            self._arm_idle_timer_after_change()

    def _arm_idle_timer_after_change(self) -> None:
        async def later() -> None:
            await self._wait_settled()
            self._arm_idle_timer()

        asyncio.get_running_loop().create_task(later())

    async def _maybe_pause(self) -> None:
        """AWS pauses only after the whole idle period without connections: direct
        clients seen now (or since the last sample) start a new period. With the
        monitor's samples (observe_sessions) the pause comes at most one sample interval
        later than AWS's would, never earlier."""
        if await self._direct_clients():
            self._arm_idle_timer()
            return
        if self.state is State.AVAILABLE and self.connections == 0 and self._pause_task is None:
            self._pause_task = asyncio.get_running_loop().create_task(self._pause())

    async def _pause(self) -> None:
        self._set(State.PAUSING)
        self.event(*EVENT_PAUSING)
        self._close_shortcut()  # from now on new clients reach the endpoint
        await asyncio.sleep(self.clock.emulated_delay(PAUSE_DRAIN_S))
        if self.shortcut is not None and (await self._direct_clients()):
            # someone connected directly just before the shortcut closed
            if self.state is State.PAUSING:
                self._cancel_pause()
            return
        # From here on the pause cannot be canceled: clients wait for it, then resume it.
        self._pause_task = None
        if self._watch_task is not None:
            self._watch_task.cancel()
        await self.engine.stop()
        self._set(State.PAUSED)
        self.event(*EVENT_PAUSED)
        self._deactivated()

    def _cancel_pause(self) -> None:
        if self._pause_task is not None and self._pause_task is not asyncio.current_task():
            self._pause_task.cancel()
        self._pause_task = None
        self._set(State.AVAILABLE)
        self.event(*EVENT_PAUSE_CANCELED)
        self._open_shortcut()
        if self.connections == 0:
            self._arm_idle_timer()

    # -- resume
    def _start_resume(self) -> None:
        self.failure = ""
        self._set(State.RESUMING)
        self.event(*EVENT_RESUMING)
        self._resume_task = asyncio.get_running_loop().create_task(self._resume())

    async def _resume(self) -> None:
        try:
            await self._bring_up(State.PAUSED, "resumed", EVENT_RESUMED)
        finally:
            self._resume_task = None

    async def _bring_up(self, on_failure: State, verb: str, event: tuple[str, str]) -> None:
        """Start the engine (a resume or a StartDBCluster): `available` with `event`, or
        back to `on_failure` with the reason in `failure`."""
        try:
            self._prepare_engine()
            await self.engine.start(self.settings_for(self.spec, self.capacity))
            await self.apply_pending_password()
        except EngineError as e:
            log.error("%s: could not be %s: %s", self.identifier, verb, e)
            self.failure = f"the DB cluster could not be {verb}: {e}"
            self._set(on_failure)
            return
        self._set(State.AVAILABLE)
        self.event(*event)
        self._activated()
        self._after_start()

    # -- stop and start (StopDBCluster / StartDBCluster)
    def stop(self) -> None:
        """Stop the engine until `start`: `stopping` now, `stopped` once it is down."""
        if not self.can(State.STOPPING):
            raise RuntimeError(f"cluster {self.identifier}: cannot stop while {self.state}")
        self._cancel_idle_timer()
        self._close_shortcut()
        if self._watch_task is not None:
            self._watch_task.cancel()
        self._set(State.STOPPING)
        self._stop_task = asyncio.get_running_loop().create_task(self._stop())

    async def _stop(self) -> None:
        try:
            if self.engine.running:
                await self.engine.stop()
                self._deactivated()
        finally:
            self._stop_task = None
        self._set(State.STOPPED)
        self.event(*EVENT_STOPPED)
        self._arm_auto_start(MAX_STOPPED_S)

    def start(self, automatic: bool = False) -> None:
        """Start a stopped cluster: `starting` now, `available` once the engine is up."""
        if not self.can(State.STARTING):
            raise RuntimeError(f"cluster {self.identifier}: cannot start while {self.state}")
        self._cancel_auto_start()
        if automatic:
            self.event(*EVENT_AUTO_STARTING)
        self.failure = ""
        self._set(State.STARTING)
        self._start_task = asyncio.get_running_loop().create_task(self._start())

    async def _start(self) -> None:
        try:
            await self._bring_up(State.STOPPED, "started", EVENT_STARTED)
        finally:
            self._start_task = None

    def _arm_auto_start(self, emulated_seconds: float) -> None:
        self._cancel_auto_start()
        self._auto_start_timer = self.clock.call_later(emulated_seconds, self._auto_start)

    def _auto_start(self) -> None:
        self._auto_start_timer = None
        if self.state is State.STOPPED:
            self.start(automatic=True)

    def _cancel_auto_start(self) -> None:
        if self._auto_start_timer is not None:
            self._auto_start_timer.cancel()
            self._auto_start_timer = None

    # -- capacity
    async def set_capacity(self, capacity: float) -> None:
        """Apply a new capacity to the running engine (the caller emits the events)."""
        self._set(State.SCALING)
        try:
            self.capacity = capacity
            await self.engine.apply(self.settings_for(self.spec, capacity))
            self._set_cpu_share()
            self.db.add_capacity_change(self.identifier, self.clock.now(), capacity)
        finally:
            if self.state is State.SCALING:
                self._set(State.AVAILABLE)
                if self.connections == 0:
                    self._arm_idle_timer()

    # -- description
    def describe(self) -> dict[str, Any]:
        spec = self.spec
        return {
            "DBClusterIdentifier": spec.identifier,
            "DBClusterArn": "",  # filled in by the manager, which knows region and account
            "Engine": spec.engine.value,
            "EngineMode": "serverless" if spec.version is Version.V1 else "provisioned",
            "ServerlessVersion": spec.version.value,
            "LocalEngine": spec.engine.server,
            "Status": self.state.value,
            "Endpoint": "127.0.0.1",
            "Port": self.port,
            "MasterUsername": spec.master_username,
            "DatabaseName": spec.database_name,
            "Capacity": self.capacity,
            "MinCapacity": spec.min_capacity,
            "MaxCapacity": spec.max_capacity,
            "AutoPause": spec.auto_pause,
            "SecondsUntilAutoPause": spec.seconds_until_auto_pause,
            "Connections": max(self.connections, self.engine_sessions),
            "DirectPort": self.engine.tcp_port if self.shortcut is not None else None,
            "EnginePid": self.engine.pid,
            "ClusterCreateTime": self.created,
            "Source": self.source,
            "Failure": self.failure or None,
            "HttpEndpointEnabled": spec.enable_http_endpoint,
            "Ingress": list(spec.ingress),
        }


def _admits_loopback(spec: ClusterSpec) -> bool:
    loopback = ipaddress.ip_address("127.0.0.1")
    return any(
        loopback in ipaddress.ip_network(cidr, strict=False)
        for cidr in spec.ingress
        if ipaddress.ip_network(cidr, strict=False).version == 4
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spec_to_json(spec: ClusterSpec) -> dict[str, Any]:
    out = dataclasses.asdict(spec)
    out["ingress"] = list(spec.ingress)
    return out


def spec_from_json(data: dict[str, Any]) -> ClusterSpec:
    from faaslab.databases.model import TimeoutAction

    values = dict(data)
    values["engine"] = Engine(values["engine"])
    values["version"] = Version(values["version"])
    values["timeout_action"] = TimeoutAction(values["timeout_action"])
    values["ingress"] = tuple(values.get("ingress") or ())
    known = {f.name for f in dataclasses.fields(ClusterSpec)}
    return ClusterSpec(**{k: v for k, v in values.items() if k in known})
