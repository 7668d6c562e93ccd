"""The container manager: environments per function, scheduling, limits, failures.

A sync invoke takes the most recently used idle environment of its function (warm), or
starts a new one (cold) when every one is busy — AWS's behaviour, which is what the
tutorial's calltwice.sh shows. Each environment is a state machine (environment.py) that
does no I/O; its processes and resources are an `EnvironmentHost` (host.py), whose pool
bookkeeping (idle, restart, discard) comes back here. Its runtime talks back through
one of the Runtime API's codecs (runtime_api.py over HTTP, runtime_link.py on
faaslab's own runtime's socketpair).

Timeouts kill only the runtime process and start a new one in the same environment
(/tmp survives, as on AWS); a crash during init discards the environment; a crash during
an invoke resets it like a timeout.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import hashlib
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any

from faaslab import linux
from faaslab.auth import LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY
from faaslab.clock import Clock
from faaslab.config import Config
from faaslab.functions import layers, network, runtime_api, runtimes, sandbox, uids
from faaslab.functions.cgroups import Cgroup, CgroupDriver, detect
from faaslab.functions.environment import EnvEvent, EnvState, Invocation, OnDone, Outcome
from faaslab.functions.errors import LambdaError, ResourceNotFound, ServiceError, TooManyRequests
from faaslab.functions.host import EnvironmentHost, LoopScheduler
from faaslab.functions.logs import LogStore
from faaslab.functions.metrics import LambdaMetrics
from faaslab.functions.model import (
    DEFAULT_ACCOUNT,
    EPHEMERAL_MIN_MB,
    LATEST,
    FunctionConfig,
    InvokeRequest,
    InvokeResult,
    function_ref,
)
from faaslab.functions.network import RUNTIME_API_PORT, EnvironmentNetwork, Service
from faaslab.functions.runtime_link import RuntimeLink
from faaslab.functions.spawner import Spawner
from faaslab.http.server import serve
from faaslab.placement import Placement

SPARES = 2  # environments-to-be forked ahead of time (see zygote.py): cold starts skip ~15 ms
EVENT_RETRY_DELAYS = (60.0, 120.0)  # AWS retries a failed async invoke twice: ~1 min, ~2 min


class FunctionPool:
    """The environments of one function."""

    def __init__(self, fn: FunctionConfig) -> None:
        self.fn = fn
        self.envs: dict[str, EnvironmentHost] = {}
        self.idle: list[EnvironmentHost] = []  # a stack: the most recently used on top

        self.starting = 0  # cold starts under way (their invocation is not assigned yet)

    @property
    def busy(self) -> int:
        return self.starting + sum(1 for h in self.envs.values() if h.env.current is not None)


# What a function may reach from its own network namespace (network.py) beyond what
# every function reaches: the control plane decides (clusters by VPC rules), the manager
# opens the listeners.
Reachable = Callable[[FunctionConfig], list[Service]]
NETWORK_SPARES = 2  # namespaces made ahead of time, as spares are (network.py: ~1 ms each)


class Manager:
    """Owns every environment, the zygote, and the per-function pools."""

    def __init__(
        self,
        config: Config,
        clock: Clock,
        state_dir: Path,
        edge_url: str,
        common: list[Service] | None = None,
        reachable: Reachable | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.state_dir = state_dir
        self.envs_dir = state_dir / "envs"
        self.edge_url = edge_url
        self.common = common or []  # reached by every function: the AWS APIs
        self.reachable = reachable
        self._netns = False  # each environment in a network namespace of its own
        self._networks: list[EnvironmentNetwork] = []  # ready-made (NETWORK_SPARES)
        self._networks_wanted = 0
        self._refilling = False
        self.logs = LogStore(state_dir / "logs")
        self.metrics = LambdaMetrics()  # CloudWatch's AWS/Lambda (metrics_api.py)
        self.pools: dict[str, FunctionPool] = {}  # by FunctionConfig.pool_key
        self.aliases: dict[str, dict[str, str]] = {}  # function -> alias -> version
        self._by_pid: dict[int, EnvironmentHost] = {}
        self._slots: set[int] = set()
        self._uids: uids.UidLease | None = None  # held for the instance's lifetime
        self._spawner = Spawner(self._on_exit)
        self._cgroups: CgroupDriver = CgroupDriver(0, {})
        self._isolate = False
        self._tmp_on_disk = False  # /tmp: an ext4 image on a loop device, or a tmpfs
        self._runtime_paths: list[str] = []
        self._sweeper: asyncio.Task[None] | None = None
        self._spares: list[tuple[str, Cgroup | None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self.warnings: list[str] = []
        self.placement = Placement(config.cpu_placement)
        self._scheduler: LoopScheduler | None = None  # (the running loop's, from start)

    # -- lifecycle
    async def start(self) -> None:
        self._scheduler = LoopScheduler(asyncio.get_running_loop())
        self.envs_dir.mkdir(parents=True, exist_ok=True)
        self._sweep_stale_mounts()
        self._isolate = self._probe_isolation()
        if self._isolate:
            self._cgroups = detect(
                cpu=self.config.cpu_limits,
                instance=hashlib.sha256(str(self.state_dir).encode()).hexdigest()[:12],
            )
            self._cgroups.sweep()
            if self._cgroups.version == 0:
                self.warnings.append(
                    "no writable cgroup hierarchy: memory limits fall back to rlimits"
                )
            if not self._cgroups.freeze:
                self.warnings.append(
                    "no writable cgroup freezer: an idle environment's runtime is stopped with "
                    "SIGSTOP, and processes it forked keep running (and can SIGCONT it)"
                )
            try:
                need = min(uids.BLOCK, self.config.concurrency + SPARES)
                self._uids = uids.acquire(self.config.uid_base, need)
            except (OSError, ValueError, OverflowError) as e:
                raise ServiceError(f"cannot lease environment uids: {e}") from None
            killed = uids.kill_leftovers(self._uids.first, self._uids.size)
            if killed:
                self.warnings.append(
                    f"killed {len(killed)} leftover processes of an earlier instance in "
                    f"{self._uids.description}"
                )
            self._runtime_paths = runtime_paths()
            self._netns = self._probe_network()
            self._tmp_on_disk = _loop_devices_usable()
            if not self._tmp_on_disk:
                self.warnings.append(
                    "no loop devices or mkfs.ext4: each /tmp is a tmpfs, and a function's "
                    "memory limit is MemorySize + EphemeralStorage (tmpfs pages count as memory)"
                )
        await self._spawner.start()
        self.placement.pin_control_plane(
            asyncio.get_running_loop()
        )  # (after the zygote started: it keeps every CPU)
        for _ in range(SPARES):
            self._add_spare()
        if self._netns:
            self._networks_wanted = NETWORK_SPARES
            await self._refill_networks()
        self._sweeper = asyncio.create_task(self._sweep())

    def _add_spare(self) -> None:
        if not self._isolate:
            return
        key = "spare-" + secrets.token_hex(6)
        cgroup = self._cgroups.create(key, 128)
        self._spares.append((key, cgroup))
        procs = cgroup.procs_files if cgroup else []
        tmp = str(self.envs_dir / key / "tmp")
        # (a /tmp of the default size: a function asking for another gets its own at spawn)
        self._spawner.spare(
            key,
            procs,
            tmp,
            EPHEMERAL_MIN_MB,
            self._tmp_on_disk,
            self._runtime_paths,
            str(self.state_dir),
        )

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        self._spares.clear()
        self._networks_wanted = 0
        for net in self._networks:
            net.close()
        self._networks.clear()
        for pool in self.pools.values():
            for env in list(pool.envs.values()):
                self._stop_env(env, EnvEvent.STOP)
        for t in list(self._tasks):
            t.cancel()
        await self._spawner.stop()  # (it kills the spares, and any child left)
        await asyncio.sleep(0.1)
        self._cgroups.remove()
        self._sweep_stale_mounts()
        self.logs.close()
        if self._uids is not None:  # (after every environment is gone)
            self._uids.release()

    def uid_of(self, slot: int) -> int:
        """The uid of the environment in `slot`: from this instance's leased block."""
        if self._uids is None:  # not isolated: uids are not switched, only reported
            return self.config.uid_base + slot
        return self._uids.uid(slot)

    def _probe_isolation(self) -> bool:
        mode = self.config.isolation
        if mode == "none":
            self.warnings.append(
                "isolation disabled (--isolation none): functions share the host's /tmp view"
            )
            return False
        reason = ""
        if os.geteuid() != 0:
            reason = "faaslab is not running as root"
        else:
            probe = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "from faaslab import linux as s; "
                    "s.unshare_mounts(); s.mount_tmpfs('/mnt', 1); "
                    "s.unshare(s.CLONE_NEWPID | s.CLONE_NEWTIME, 'PID and time namespaces')",
                ],
                capture_output=True,
                text=True,
            )
            if probe.returncode != 0:
                reason = (probe.stderr.strip().splitlines() or ["unknown error"])[-1]
        if reason:
            if mode == "namespaces":
                raise ServiceError(
                    f"--isolation namespaces: mount namespaces are not usable here: {reason}"
                )
            self.warnings.append(
                f"mount namespaces are not usable ({reason}): each environment gets its own /tmp "
                "directory via TMPDIR instead, code is not read-only, and memory limits are rlimits"
            )
            return False
        return True

    def _probe_network(self) -> bool:
        reason = network.probe()
        if reason is None:
            return True
        if self.config.isolation == "namespaces":
            raise ServiceError(
                f"--isolation namespaces: network namespaces are not usable: {reason}"
            )
        self.warnings.append(
            f"network namespaces are not usable ({reason}): functions share the machine's "
            "network and can reach its local services"
        )
        return False

    def _sweep_stale_mounts(self) -> None:
        """Unmount environment tmpfs left by an earlier run that was killed."""
        with contextlib.suppress(OSError):
            for target in linux.mounts_under(str(self.envs_dir)):
                with contextlib.suppress(OSError):
                    linux.umount(target)
        with contextlib.suppress(OSError):
            for d in self.envs_dir.iterdir():
                with contextlib.suppress(OSError):
                    (d / "tmp").rmdir()
                    d.rmdir()

    # -- deployment
    def deploy(self, functions: Iterable[FunctionConfig]) -> None:
        for fn in functions:
            old = self.pools.get(fn.name)
            if old is not None:
                for env in list(old.envs.values()):
                    self._stop_env(env, EnvEvent.STOP)
            self.pools[fn.name] = FunctionPool(fn)
            self.warnings += [w for w in _family(fn).warnings(fn) if w not in self.warnings]

    def remove(self, name: str) -> None:
        """DeleteFunction: the environments of every version stop, the pools and aliases go."""
        name = self.pool(name).fn.name
        for key in [k for k in self.pools if k == name or k.startswith(name + ":")]:
            for host in list(self.pools[key].envs.values()):
                self._stop_env(host, EnvEvent.STOP)
            del self.pools[key]
        self.aliases.pop(name, None)

    def remove_version(self, name: str, version: str) -> None:
        """DeleteFunction with a version's number: that version's environments stop."""
        pool = self.pools.pop(f"{name}:{version}")
        for host in list(pool.envs.values()):
            self._stop_env(host, EnvEvent.STOP)

    # -- versions and aliases (PublishVersion, CreateAlias, ...)
    def publish(self, name: str) -> FunctionConfig:
        """A new version: $LATEST's configuration and code, frozen, with its own pool."""
        latest = self.pool(name).fn
        number = 1 + max((int(v.version) for v in self.versions(name)), default=0)
        fn = dataclasses.replace(latest, version=str(number))
        self.pools[fn.pool_key] = FunctionPool(fn)
        return fn

    def versions(self, name: str) -> list[FunctionConfig]:
        """The published versions of a function, oldest first ($LATEST not included)."""
        found = [p.fn for k, p in self.pools.items() if k.startswith(name + ":")]
        return sorted(found, key=lambda fn: int(fn.version))

    def resolve(self, name: str, qualifier: str | None) -> str:
        """The pool key a qualifier names: $LATEST, a version number, or an alias."""
        if qualifier in (None, LATEST):
            return name
        version = self.aliases.get(name, {}).get(qualifier, qualifier)
        return f"{name}:{version}"

    def reconfigure(self, fn: FunctionConfig, retire: bool = True) -> None:
        """A function's new configuration (UpdateFunctionConfiguration, a concurrency
        change): new invocations get environments with it. `retire`: environments of the
        old one serve no more invocations, as on AWS (idle ones stop now, busy ones when
        they answer)."""
        pool = self.pool(fn.name)
        pool.fn = fn
        if not retire:
            for host in pool.envs.values():  # (the same environments, the new limits)
                host.env.fn = fn
            return
        for host in list(pool.idle):
            self._stop_env(host, EnvEvent.STOP)
        pool.idle.clear()

    def pool(self, name_or_arn: str) -> FunctionPool:
        """A function's pool: NAME, NAME:QUALIFIER or an ARN (qualified or not); the
        qualifier a version number or an alias."""
        name, qualifier = function_ref(name_or_arn)
        pool = self.pools.get(self.resolve(name, qualifier))
        if pool is None:
            suffix = f":{qualifier}" if qualifier not in (None, LATEST) else ""
            raise ResourceNotFound(
                f"Function not found: arn:aws:lambda:{self.config.region}:{DEFAULT_ACCOUNT}"
                f":function:{name}{suffix}"
            )
        return pool

    # -- invoking
    def start_invoke(
        self, fn_name: str, req: InvokeRequest, want_tail: bool, on_done: OnDone
    ) -> None:
        """Begin a sync invoke; `on_done` gets the outcome. Raises 404/429 at once.

        The warm path is synchronous end to end: an idle environment whose runtime waits
        in `next` gets the event written to it before this returns.
        """
        pool = self.pool(fn_name)
        fn = pool.fn
        if fn.reserved_concurrency is not None and pool.busy >= fn.reserved_concurrency:
            self.metrics.throttled(fn_name)
            raise TooManyRequests("ReservedFunctionConcurrentInvocationLimitExceeded")
        # Busy environments are counted (O(environments)) only when they could reach the
        # limit: never on the hot path of a machine with fewer environments than that.
        if (
            sum(len(p.envs) + p.starting for p in self.pools.values()) >= self.config.concurrency
            and self.total_busy() >= self.config.concurrency
        ):
            self.metrics.throttled(fn_name)
            raise TooManyRequests("ConcurrentInvocationLimitExceeded")
        inv = Invocation(req, on_done, want_tail)
        host = self._take_idle(pool)
        if host is not None:
            host.env.assign(inv)
            return
        pool.starting += 1  # counts toward concurrency while the environment starts
        self._spawn_task(self._cold_start(pool, inv))

    async def _cold_start(self, pool: FunctionPool, inv: Invocation) -> None:
        try:
            await self._new_environment(pool, inv)
        except LambdaError as e:
            inv.complete(e)
        except Exception as e:
            inv.complete(ServiceError(f"could not start an environment: {e}"))

    async def invoke(
        self, fn_name: str, req: InvokeRequest, want_tail: bool = False
    ) -> InvokeResult:
        """start_invoke for callers that prefer to await (API routes, Event retries)."""
        fut: asyncio.Future[InvokeResult] = asyncio.get_running_loop().create_future()

        def done(outcome: Outcome) -> None:
            if fut.done():
                return
            if isinstance(outcome, LambdaError):
                fut.set_exception(outcome)
            else:
                fut.set_result(outcome)

        self.start_invoke(fn_name, req, want_tail, done)
        return await fut

    def total_busy(self) -> int:
        return sum(p.busy for p in self.pools.values())

    def _take_idle(self, pool: FunctionPool) -> EnvironmentHost | None:
        while pool.idle:
            host = pool.idle.pop()
            host.in_idle = False
            env = host.env
            # STARTING here means a runtime being replaced after a timeout or crash.
            if env.current is None and env.state in (EnvState.IDLE, EnvState.STARTING):
                return host
        return None

    def make_idle(self, host: EnvironmentHost) -> None:
        pool = self.pools.get(host.fn.pool_key)
        if pool is not None and host.fn is not pool.fn and pool.envs.get(host.id) is host:
            # configured before an update: retired, not reused (after this call returns:
            # the environment is still answering its last invocation)
            asyncio.get_running_loop().call_soon(self._stop_env, host, EnvEvent.STOP)
            return
        if pool is not None and pool.envs.get(host.id) is host and not host.in_idle:
            host.in_idle = True
            pool.idle.append(host)

    async def _new_environment(self, pool: FunctionPool, inv: Invocation) -> EnvironmentHost:
        """A new environment, owned by `inv` from the start: its runtime may ask for work
        before this returns, and must find that invocation, not go idle for others."""
        slot = 0
        while slot in self._slots:
            slot += 1
        self._slots.add(slot)
        assert self._scheduler is not None, "Manager.start() first"
        env = EnvironmentHost(
            self,
            pool.fn,
            slot,
            self.uid_of(slot),
            self.envs_dir,
            self.placement,
            self.logs,
            self._scheduler,
            self.metrics,
        )
        pool.envs[env.id] = env
        pool.starting -= 1  # from here on `env.env.current` counts it as busy
        env.env.assign(inv)
        try:
            await self._open_network(env)
            spare = None
            if self._spares:
                spare, env.cgroup = self._spares.pop(0)
                if env.cgroup is not None:
                    env.cgroup.set_limit(self._memory_limit_mb(pool.fn))
            elif self._isolate:
                env.cgroup = self._cgroups.create(env.id, self._memory_limit_mb(pool.fn))
            if env.cgroup is not None and self.config.cpu_limits:
                env.cgroup.set_cpu(vcpus_for(pool.fn.memory_mb))
            try:
                await self._spawn_runtime(env, first=True, spare=spare)
            finally:
                if spare is not None:  # (after: the zygote serves this spawn first)
                    self._add_spare()
        except Exception as e:
            inv.complete(ServiceError(f"could not start an environment: {e}"))
            self._stop_env(env, EnvEvent.STOP)
            raise
        return env

    async def _open_network(self, host: EnvironmentHost) -> None:
        """The environment's Runtime API listener, and with network namespaces everything
        else it may reach (network.py). Without them: a host port that admits only the
        environment's uid (any local process could otherwise take its invocations)."""
        handler = runtime_api.make_handler(host.env)
        if not self._netns:
            uid = host.uid
            admit = (lambda t: runtime_api.tcp_peer_uid(t) == uid) if self._isolate else None
            host.server = await serve(
                handler, "127.0.0.1", 0, admit=admit, limits=runtime_api.LIMITS
            )
            host.port = host.server.sockets[0].getsockname()[1]
            return
        if self._networks:
            net = self._networks.pop()
            self._spawn_task(self._refill_networks())
        else:
            net = await EnvironmentNetwork.create(self.common)
        host.net = net
        assert net.runtime_api is not None
        host.server = await serve(handler, sock=net.runtime_api, limits=runtime_api.LIMITS)
        net.runtime_api = None  # (the server has it now)
        host.port = RUNTIME_API_PORT
        for service in self.reachable(host.fn) if self.reachable is not None else []:
            await self._offer(host, net, service)

    async def _offer(
        self, host: EnvironmentHost, net: EnvironmentNetwork, service: Service
    ) -> None:
        """Open `service` in the environment's network; a failure goes to its log (the
        function would otherwise only see a refused connection)."""
        try:
            await net.offer(service)
        except OSError as e:
            self.logs.write(
                host.fn.name, host.stream, f"faaslab: {service.name} not reachable: {e}"
            )

    async def _refill_networks(self) -> None:
        """Namespaces made ahead of time, so a cold start does not pay for one."""
        if self._refilling:
            return
        self._refilling = True
        try:
            while len(self._networks) < self._networks_wanted:
                net = await EnvironmentNetwork.create(self.common)
                if self._networks_wanted == 0:  # stopped meanwhile
                    net.close()
                    return
                self._networks.append(net)
        except OSError as e:
            self.warnings.append(f"could not make a network namespace ahead of time: {e}")
        finally:
            self._refilling = False

    def _spawn_task(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run `coro` as a task of the manager's (cancelled at stop)."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def offer(self, service: Service, wanted: Callable[[FunctionConfig], bool]) -> None:
        """Open `service` in the running environments of the functions `wanted` admits
        (a cluster created after they started)."""
        for pool in list(self.pools.values()):
            if not wanted(pool.fn):
                continue
            for host in list(pool.envs.values()):
                if host.net is not None and host.env.state is not EnvState.STOPPED:
                    await self._offer(host, host.net, service)

    async def _spawn_runtime(
        self, env: EnvironmentHost, first: bool, spare: str | None = None
    ) -> None:
        fn = env.fn
        uid = env.uid
        spec = sandbox.SandboxSpec(
            env_id=env.id,
            uid=uid,
            gid=uid,
            env=self._function_env(env),
            code_dir=str(fn.code_dir),
            tmp_dir=env.tmp_dir,
            hide_dir=str(self.state_dir),
            isolate=self._isolate,
            runtime_paths=self._runtime_paths,
            cgroup_procs=env.cgroup.procs_files if env.cgroup else [],
            memory_mb=fn.memory_mb,
            cpus=cpus_for(fn.memory_mb) if self.config.cpu_limits else 0,
            boottime=env.boot_clocks[0],
            monotonic=env.boot_clocks[1],
            command=_family(fn).command(fn),
            opt_dir=None if fn.opt_dir is None else str(fn.opt_dir),
        )
        r, w = os.pipe()
        env.attach_log(r)
        fds = [w]
        if env.net is not None:
            spec.netns_fd_index = len(fds)
            fds.append(env.net.fd)
        if spec.command is None:
            # faaslab's own runtime gets its Runtime API connection ready-made: a Unix
            # socketpair costs half a loopback TCP round trip, and no other process can
            # reach it; on it the calls are binary frames (runtime_link.py). The HTTP
            # Runtime API stays on AWS_LAMBDA_RUNTIME_API's TCP port, for other clients.
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            loop = asyncio.get_running_loop()
            await loop.connect_accepted_socket(lambda: RuntimeLink(env.env), ours)
            spec.api_fd_index = len(fds)
            fds.append(theirs.fileno())
        env.env.spawning(self.config.init_timeout + fn.timeout_s)
        try:
            tmp_mb = fn.ephemeral_mb if first else None
            pid = await self._spawner.spawn(spec, fds, tmp_mb, spare, self._tmp_on_disk)
        finally:
            os.close(w)
            if spec.command is None:
                theirs.close()
        if env.env.state is EnvState.STOPPED:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            return
        self._by_pid[pid] = env
        env.started(pid)

    def _memory_limit_mb(self, fn: FunctionConfig) -> int:
        """MemorySize; plus EphemeralStorage when /tmp is a tmpfs, whose pages the kernel
        charges to the function's memory cgroup (a full /tmp must be ENOSPC, as on AWS,
        not an OOM kill)."""
        return fn.memory_mb + (0 if self._tmp_on_disk else fn.ephemeral_mb)

    def restart_runtime(self, host: EnvironmentHost) -> None:
        """Start a fresh runtime in the same environment (after a timeout or crash)."""
        self._spawn_task(self._restart(host))

    async def _restart(self, host: EnvironmentHost) -> None:
        try:
            await self._spawn_runtime(host, first=False)
        except Exception as e:
            self.logs.write(
                host.fn.name, host.stream, f"faaslab: could not restart the runtime: {e}"
            )
            self.discard(host)

    def _function_env(self, env: EnvironmentHost) -> dict[str, str]:
        fn = env.fn
        values = {
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "_HANDLER": fn.handler,
            "AWS_REGION": fn.region,
            "AWS_DEFAULT_REGION": fn.region,
            "AWS_LAMBDA_FUNCTION_NAME": fn.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": fn.version,
            "AWS_LAMBDA_LOG_GROUP_NAME": fn.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": env.stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{env.port}",
            "AWS_ACCESS_KEY_ID": LOCAL_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET_ACCESS_KEY,
            "AWS_SESSION_TOKEN": base64.b64encode(env.id.encode()).decode(),
            "AWS_ENDPOINT_URL": self.function_edge_url,
            "LAMBDA_RUNTIME_DIR": "/var/runtime",
        }
        execution_env = runtimes.execution_env(fn.runtime)
        if execution_env is not None:
            values["AWS_EXECUTION_ENV"] = execution_env
        # layers' search paths (PATH's /opt/bin, NODE_PATH, ...): at /opt, or where they
        # are when there is no mount namespace to put them there
        task_root, opt = "/var/task", layers.OPT
        if not self._isolate:
            task_root, opt = str(fn.code_dir), str(fn.opt_dir or layers.OPT)
            values["FAASLAB_OPT_DIR"] = opt  # (for the Python runtime's sys.path)
        values.update(layers.variables(fn.runtime, task_root, opt))
        values.update(_family(fn).environment(fn))
        values.update(fn.environment)
        return values

    # -- stopping
    def discard(self, host: EnvironmentHost) -> None:
        self._stop_env(host, EnvEvent.STOP)

    def _stop_env(self, host: EnvironmentHost, event: EnvEvent) -> None:
        if host.env.state is EnvState.STOPPED:
            return
        host.env.stop(event)
        pool = self.pools.get(host.fn.pool_key)
        if pool is not None:
            pool.envs.pop(host.id, None)
            if host in pool.idle:
                pool.idle.remove(host)
        host.close()
        self._spawner.release(host.tmp_dir)
        if host.cgroup is not None:
            cg = host.cgroup
            asyncio.get_running_loop().call_later(0.5, cg.destroy)
        self._slots.discard(host.slot)

    def forget_pid(self, pid: int) -> None:
        self._by_pid.pop(pid, None)

    def _on_exit(self, pid: int, status: int) -> None:
        host = self._by_pid.pop(pid, None)
        if host is not None and host.pid == pid:
            host.exited(status)

    async def _sweep(self) -> None:
        """Flush logs and recycle environments idle too long or past their lifetime."""
        while True:
            await asyncio.sleep(0.25)
            self.logs.flush()
            now = time.monotonic()
            idle_limit = self.clock.emulated_delay(self.config.keep_alive)
            life_limit = self.clock.emulated_delay(self.config.max_lifetime)
            for pool in list(self.pools.values()):
                for host in list(pool.envs.values()):
                    env = host.env
                    if (
                        env.state is EnvState.IDLE
                        and env.current is None
                        and (now - env.last_used > idle_limit or now - env.created > life_limit)
                    ):
                        self._stop_env(host, EnvEvent.EXPIRE)

    # -- async (Event) invocations
    def submit_event(self, fn_name: str, req: InvokeRequest) -> None:
        self.pool(fn_name)  # raises ResourceNotFound now, not later
        self._spawn_task(self._run_event(fn_name, req))

    async def _run_event(self, fn_name: str, req: InvokeRequest) -> None:
        for attempt, delay in enumerate((0.0, *EVENT_RETRY_DELAYS)):
            if delay:
                await asyncio.sleep(self.clock.emulated_delay(delay))
            try:
                result = await self.invoke(fn_name, req)
            except TooManyRequests:
                continue
            except (ResourceNotFound, ServiceError):
                return
            if result.function_error is None:
                return
            if attempt < len(EVENT_RETRY_DELAYS):
                pool = self.pools.get(fn_name)
                if pool is not None:
                    self.logs.write(
                        fn_name,
                        "faaslab",
                        f"async invoke {req.request_id} failed; retry {attempt + 1} of 2",
                    )

    @property
    def function_edge_url(self) -> str:
        """The AWS APIs as a function sees them: its own namespace's listener at the edge's
        port (network.py), or the edge itself when functions share the host's network."""
        if self._netns:
            return f"http://{network.LOOPBACK}:{self.edge_url.rsplit(':', 1)[1]}"
        return self.edge_url

    @property
    def sandbox_description(self) -> str:
        if not self._isolate:
            return "no isolation (per-environment TMPDIR)"
        net = "network, " if self._netns else ""
        uid_range = self._uids.description if self._uids is not None else "own uid"
        tmp = "/tmp on a loop device" if self._tmp_on_disk else "/tmp tmpfs"
        return (
            f"mount, {net}PID and time namespaces, {uid_range}, {tmp}, {self._cgroups.description}"
        )

    def environments(self) -> list[dict[str, Any]]:
        return [host.describe() for pool in self.pools.values() for host in pool.envs.values()]


def vcpus_for(memory_mb: int) -> float:
    """AWS's CPU share for a memory size: proportional, 1 vCPU at 1,769 MB, at most 6."""
    return min(6.0, memory_mb / 1769)


def _loop_devices_usable() -> bool:
    return os.path.exists("/dev/loop-control") and shutil.which("mkfs.ext4") is not None


def cpus_for(memory_mb: int) -> int:
    """The CPU count an environment sees with --cpu-limits (at most the machine's)."""
    return max(1, min(math.ceil(vcpus_for(memory_mb)), os.cpu_count() or 1))


def runtime_paths() -> list[str]:
    """Where the runtime's files are (as Python names them, and really): the sandbox keeps
    them reachable even under /tmp or a 0700 home."""
    import faaslab

    cwd = os.getcwd()  # (on sys.path under `python -m`, but not part of the runtime)
    raw = [
        *(p for p in sys.path if p not in ("", cwd)),
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        os.path.dirname(sys.executable),
        # the package itself, not only its parent: in a 0700 checkout (`mktemp -d`) the
        # parent is covered and only the paths listed here are bound back (reach_plan)
        os.path.dirname(faaslab.__file__),
        os.path.dirname(os.path.dirname(faaslab.__file__)),
    ]
    paths = {p for p in raw if p and os.path.isdir(p)}
    return sorted(paths | {os.path.realpath(p) for p in paths})


def _family(fn: FunctionConfig) -> runtimes.Family:
    family = runtimes.family_of(fn.runtime)
    if family is None:  # the template loader refuses these; a bug if one gets here
        raise ServiceError(f"runtime {fn.runtime} has no launcher")
    return family
