"""Memory and process limits, and freezing, for environments: cgroup v2, cgroup v1, or rlimits.

Detection order: a cgroup2 hierarchy whose memory controller we can enable (a user's
laptop), then the v1 `memory` (+ `pids`) hierarchies (this project's machines), then
no cgroup at all — the zygote falls back to rlimits and faaslab says so once.

Note: /tmp is on disk as on AWS (an ext4 image on a loop device, zygote.py), so the
group's limit is MemorySize. Only where loop devices are missing is /tmp a tmpfs, whose
pages the kernel charges to the writer's memory cgroup: there the limit is MemorySize +
EphemeralStorage (the manager's `_memory_limit_mb`), so a full /tmp gives ENOSPC, not an
OOM kill. "Max Memory Used" is the runtime's own high-water RSS, which excludes /tmp, as
AWS reports it.

Freezing: an idle environment is frozen as a whole (every process the runtime forked
too), with the cgroup freezer: v2's `cgroup.freeze` in the environment's group, v1's
`freezer` hierarchy. A frozen task ignores SIGCONT, so nothing inside can thaw it. The
freeze/thaw write is on the warm-invoke path: the group keeps its state file open
(one pwrite per change), and on v1 an empty group of the instance stays frozen for the
instance's lifetime (`_anchor`): v1 freezing flips a kernel static key on the first
frozen group of the machine, which costs ~55 us of code patching per write; with the
key held it is ~3 us, as cheap as a signal.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass, field
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
    freezer_dir: Path | None = None  # v2: the group itself; v1: its `freezer` group
    _freeze_fd: int | None = field(default=None, init=False, repr=False)  # its state file

    def freeze(self) -> bool:
        """Freeze every process of the environment; False if the freezer failed."""
        return self._set_frozen(True)

    def thaw(self) -> bool:
        return self._set_frozen(False)

    def _set_frozen(self, frozen: bool) -> bool:
        if self.freezer_dir is None:
            return False
        fd = self._freeze_fd
        try:
            if fd is None:
                fd = self._freeze_fd = os.open(
                    self.freezer_dir / _freeze_file(self.version), os.O_WRONLY | os.O_CLOEXEC
                )
            os.pwrite(fd, _freeze_value(self.version, frozen), 0)
            return True
        except OSError:
            return False

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
        """SIGKILL every process left in the group (children the runtime forked), frozen
        or not: a task frozen by the v1 freezer dies only once thawed, so the group is
        thawed after the kill (no process runs user code in between: SIGKILL is pending)."""
        try:
            if self.version == 2 and (self.memory_dir / "cgroup.kill").exists():
                try:
                    (self.memory_dir / "cgroup.kill").write_text("1")
                    return
                except OSError:
                    pass
            self._kill_listed()
        finally:
            self.thaw()

    def _kill_listed(self) -> None:
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
        if self._freeze_fd is not None:
            os.close(self._freeze_fd)
            self._freeze_fd = None
        for d in self.dirs:
            with contextlib.suppress(OSError):  # a zombie left: the next sweep removes it
                d.rmdir()


class CgroupDriver:
    """Creates per-environment cgroups under one faaslab parent group."""

    def __init__(
        self, version: int, roots: dict[str, Path], cpu: bool = False, freeze: bool = False
    ) -> None:
        self.version = version  # 2, 1, or 0 (none: rlimits in the zygote)
        self.roots = roots  # controller name -> faaslab's parent dir ("memory" always first)
        self.cpu = cpu  # v2: the cpu controller is enabled in the groups
        # v2: cgroup.freeze works in the groups (kernel 5.2+); v1: "freezer" in roots
        self.freeze = freeze if version == 2 else "freezer" in roots
        self._anchor: Path | None = None
        if version == 1 and "freezer" in roots:
            self._anchor = roots["freezer"] / ANCHOR
            try:
                self._anchor.mkdir(exist_ok=True)
                (self._anchor / "freezer.state").write_text("FROZEN")
            except OSError:
                self._anchor = None  # freezing still works, each write is slower

    @property
    def description(self) -> str:
        if self.version == 0:
            return "rlimits (no writable cgroup hierarchy)"
        controllers = [
            *self.roots,
            *(["cpu"] if self.version == 2 and self.cpu else []),
            *(["freeze"] if self.version == 2 and self.freeze else []),
        ]
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
        freezer_dir = None
        if self.version == 2 and self.freeze:
            freezer_dir = dirs[0]
        elif "freezer" in self.roots:
            freezer_dir = self.roots["freezer"] / env_id
        return Cgroup(dirs, dirs[0], self.version, cpu_dir, freezer_dir)

    def remove(self) -> None:
        """At shutdown: every group of this instance, then the instance's own groups."""
        self.sweep()
        if self._anchor is not None:
            _try_write(self._anchor / "freezer.state", "THAWED")
            with contextlib.suppress(OSError):
                self._anchor.rmdir()
        for root in self.roots.values():
            with contextlib.suppress(OSError):
                root.rmdir()

    def sweep(self) -> None:
        """Remove leftover environment groups (from a crashed earlier run)."""
        # the freezer first: its kill_all thaws, so frozen leftovers die before the other
        # hierarchies' groups are removed
        for controller, root in sorted(self.roots.items(), key=lambda cr: cr[0] != "freezer"):
            for d in root.iterdir() if root.exists() else []:
                if d.is_dir() and d.name != ANCHOR:
                    in_freezer = controller == "freezer" or (self.version == 2 and self.freeze)
                    freezer = d if in_freezer else None
                    Cgroup([d], d, self.version, freezer_dir=freezer).kill_all()
                    with contextlib.suppress(OSError):
                        d.rmdir()


def kill_groups(procs_files: list[str]) -> None:
    """SIGKILL every process of the groups whose cgroup.procs files are given, then thaw
    them (for the zygote, which knows its children's groups only by these paths)."""
    dirs = [Path(f).parent for f in procs_files]
    for d in dirs:
        version = 2 if (d / "cgroup.freeze").exists() else 1
        freezer = d if (d / _freeze_file(version)).exists() else None
        Cgroup([d], d, version, freezer_dir=freezer)._kill_listed()
    for d in dirs:
        for version in (1, 2):
            if (d / _freeze_file(version)).exists():
                _try_write(d / _freeze_file(version), _freeze_value(version, False).decode())


ANCHOR = "keep-frozen"  # v1: an empty group that holds the freezer's static key on


def _freeze_file(version: int) -> str:
    return "cgroup.freeze" if version == 2 else "freezer.state"


def _freeze_value(version: int, frozen: bool) -> bytes:
    if version == 2:
        return b"1" if frozen else b"0"
    return b"FROZEN" if frozen else b"THAWED"


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
    v2 = cgroup2_root(mounts)
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
                return CgroupDriver(
                    2,
                    {"memory": parent},
                    cpu=cpu and "cpu" in controllers,
                    freeze=(parent / "cgroup.freeze").exists(),
                )
        except OSError:
            pass
    roots: dict[str, Path] = {}
    for controller in ("memory", "pids", "freezer", *(["cpu"] if cpu else [])):
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


def cgroup2_root(mounts: str | None = None) -> Path | None:
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
