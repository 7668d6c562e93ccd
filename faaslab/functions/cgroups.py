"""Memory and process limits for environments: cgroup v2, cgroup v1, or rlimits.

Detection order: a cgroup2 hierarchy whose memory controller we can enable (a user's
laptop), then the v1 `memory` (+ `pids`) hierarchies (this project's machines), then
no cgroup at all — the zygote falls back to rlimits and faaslab says so once.

Note: /tmp is on disk as on AWS (an ext4 image on a loop device, zygote.py), so the
group's limit is MemorySize. Only where loop devices are missing is /tmp a tmpfs, whose
pages the kernel charges to the writer's memory cgroup: there the limit is MemorySize +
EphemeralStorage (the manager's `_memory_limit_mb`), so a full /tmp gives ENOSPC, not an
OOM kill. "Max Memory Used" is the runtime's own high-water RSS, which excludes /tmp, as
AWS reports it.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path

PIDS_MAX = 1024  # AWS Lambda's per-environment process/thread limit
CPU_PERIOD_US = 100_000


@dataclass
class Cgroup:
    """The cgroup directories of one environment (one per hierarchy on v1)."""

    dirs: list[Path]
    memory_dir: Path
    version: int
    cpu_dir: Path | None = None

    @property
    def procs_files(self) -> list[str]:
        """Files the sandboxed child writes its own pid into (before dropping root)."""
        return [str(d / "cgroup.procs") for d in self.dirs]

    def set_limit(self, limit_mb: int) -> None:
        name = "memory.max" if self.version == 2 else "memory.limit_in_bytes"
        (self.memory_dir / name).write_text(str(limit_mb * 1024 * 1024))

    def set_cpu(self, vcpus: float) -> None:
        """A CPU quota of `vcpus` CPUs (CFS bandwidth: quota per 100 ms period)."""
        cpu_dir = self.cpu_dir
        if cpu_dir is None:
            return
        quota = max(1000, int(vcpus * CPU_PERIOD_US))
        if self.version == 2:
            (cpu_dir / "cpu.max").write_text(f"{quota} {CPU_PERIOD_US}")
        else:
            (cpu_dir / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
            (cpu_dir / "cpu.cfs_quota_us").write_text(str(quota))

    def peak_bytes(self) -> int | None:
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        try:
            return int((self.memory_dir / name).read_text())
        except (OSError, ValueError):
            return None

    def oom_kills(self) -> int:
        """How many processes the kernel OOM-killed in this group so far."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            for line in (self.memory_dir / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def kill_all(self) -> None:
        """SIGKILL every process left in the group (children the runtime forked)."""
        if self.version == 2 and (self.memory_dir / "cgroup.kill").exists():
            try:
                (self.memory_dir / "cgroup.kill").write_text("1")
                return
            except OSError:
                pass
        for d in self.dirs:
            try:
                pids = (d / "cgroup.procs").read_text().split()
            except OSError:
                continue
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                    os.kill(int(pid), signal.SIGCONT)
                except (ProcessLookupError, ValueError):
                    pass

    def destroy(self) -> None:
        for d in self.dirs:
            with contextlib.suppress(OSError):  # a zombie left: the next sweep removes it
                d.rmdir()


class CgroupDriver:
    """Creates per-environment cgroups under one faaslab parent group."""

    def __init__(self, version: int, roots: dict[str, Path], cpu: bool = False) -> None:
        self.version = version  # 2, 1, or 0 (none: rlimits in the zygote)
        self.roots = roots  # controller name -> faaslab's parent dir ("memory" always first)
        self.cpu = cpu  # v2: the cpu controller is enabled in the groups

    @property
    def description(self) -> str:
        if self.version == 0:
            return "rlimits (no writable cgroup hierarchy)"
        controllers = [*self.roots, *(["cpu"] if self.version == 2 and self.cpu else [])]
        return f"cgroup v{self.version} ({', '.join(controllers)})"

    def create(self, env_id: str, limit_mb: int) -> Cgroup | None:
        if self.version == 0:
            return None
        dirs: list[Path] = []
        limit = str(limit_mb * 1024 * 1024)
        for controller, root in self.roots.items():
            d = root / env_id
            d.mkdir(exist_ok=True)
            dirs.append(d)
            if controller == "memory":
                if self.version == 2:
                    (d / "memory.max").write_text(limit)
                    _try_write(d / "memory.swap.max", "0")
                    _try_write(d / "pids.max", str(PIDS_MAX))
                else:
                    _try_write(d / "memory.swappiness", "0")
                    (d / "memory.limit_in_bytes").write_text(limit)
            elif controller == "pids":
                _try_write(d / "pids.max", str(PIDS_MAX))
        cpu_dir = None
        if self.version == 2 and self.cpu:
            cpu_dir = dirs[0]
        elif "cpu" in self.roots:
            cpu_dir = self.roots["cpu"] / env_id
        return Cgroup(dirs, dirs[0], self.version, cpu_dir)

    def remove(self) -> None:
        """At shutdown: every group of this instance, then the instance's own groups."""
        self.sweep()
        for root in self.roots.values():
            with contextlib.suppress(OSError):
                root.rmdir()

    def sweep(self) -> None:
        """Remove leftover environment groups (from a crashed earlier run)."""
        for root in self.roots.values():
            for d in root.iterdir() if root.exists() else []:
                if d.is_dir():
                    Cgroup([d], d, self.version).kill_all()
                    with contextlib.suppress(OSError):
                        d.rmdir()


def _try_write(path: Path, value: str) -> None:
    with contextlib.suppress(OSError):
        path.write_text(value)


def detect(
    instance: str,
    base: Path = Path("/sys/fs/cgroup"),
    mounts: str | None = None,
    cpu: bool = False,
) -> CgroupDriver:
    """Pick the best writable hierarchy on this machine.

    Groups live under faaslab/<instance>/<environment>: `instance` is per state dir, so two
    `faaslab up` on one machine never sweep (kill) each other's environments.
    """
    levels = ("faaslab", instance)
    v2 = _cgroup2_root(mounts)
    if v2 is not None:
        try:
            controllers = (v2 / "cgroup.controllers").read_text().split()
            if "memory" in controllers:
                wanted = ["memory", "pids"] + (["cpu"] if cpu else [])
                enable = " ".join(f"+{c}" for c in wanted if c in controllers)
                parent = v2
                for level in levels:
                    (parent / "cgroup.subtree_control").write_text(enable)
                    parent = parent / level
                    parent.mkdir(exist_ok=True)
                (parent / "cgroup.subtree_control").write_text(enable)
                return CgroupDriver(2, {"memory": parent}, cpu=cpu and "cpu" in controllers)
        except OSError:
            pass
    roots: dict[str, Path] = {}
    for controller in ("memory", "pids", *(["cpu"] if cpu else [])):
        d = base / controller
        if (d / "cgroup.procs").exists():
            try:
                d.joinpath(*levels).mkdir(parents=True, exist_ok=True)
                roots[controller] = d.joinpath(*levels)
            except OSError:
                pass
    if "memory" in roots:
        return CgroupDriver(1, roots)
    return CgroupDriver(0, {})


def _cgroup2_root(mounts: str | None = None) -> Path | None:
    """Where cgroup2 is mounted (from /proc/self/mounts, or the text given)."""
    if mounts is None:
        try:
            mounts = Path("/proc/self/mounts").read_text()
        except OSError:
            return None
    for line in mounts.splitlines():
        parts = line.split()
        if len(parts) > 2 and parts[2] == "cgroup2":
            return Path(parts[1])
    return None
