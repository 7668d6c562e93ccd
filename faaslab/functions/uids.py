"""Environment uids, unique across every faaslab instance on the machine.

Each environment runs as its own unprivileged uid; the Runtime API port, signals,
`/proc/PID/root` and /tmp are guarded by that uid. Two `faaslab up` must therefore
never hand out the same uid: each instance leases a block of BLOCK uids under
LEASE_DIR for its lifetime — an flock on one file per block, taken without waiting, so
the kernel releases it when the control plane exits, even on kill -9.

Blocks are aligned to BLOCK whatever `--uid-base` says: instance A (base 200000) and
instance B (base 230000) both lock the block file of 196608, so their ranges can
never overlap. An instance's range is its block from its base on (`--uid-base` is the
lowest uid it may use, not a promise of that exact uid); if that block is taken, the
next free one is leased. Every environment uid is >= FLOOR, whatever the instance.

A block whose lease was free may still hold processes of an instance that was killed
with its zygote (which otherwise kills them when the control plane goes): those orphans
are killed when the block is leased, before any new environment gets one of its uids.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from faaslab.functions.cgroups import cgroup2_root

LEASE_DIR = Path("/run/faaslab/uids")
BLOCK = 65536
FLOOR = BLOCK  # below: system and login accounts (and 65534, nobody)
LAST_UID = 2**32 - 2  # (uid_t -1 is "no uid")


@dataclass
class UidLease:
    """A held block: uids first .. first + size - 1."""

    first: int
    size: int
    path: Path
    _fd: int | None

    def uid(self, slot: int) -> int:
        if not 0 <= slot < self.size:
            raise OverflowError(f"no free uid: all {self.size} uids of this instance are in use")
        return self.first + slot

    @property
    def description(self) -> str:
        return f"uids {self.first}-{self.first + self.size - 1} (lease {self.path})"

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # (closing the last fd drops the flock)
            self._fd = None


def acquire(base: int, need: int, lease_dir: Path = LEASE_DIR) -> UidLease:
    """Lease the first free block at or above `base` with at least `need` uids from base."""
    if base < FLOOR:
        raise ValueError(f"--uid-base {base} is below {FLOOR}: those uids belong to real accounts")
    lease_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # (no function may flock one)
    block = base // BLOCK * BLOCK
    while block + BLOCK - 1 <= LAST_UID:
        first = max(base, block)
        size = block + BLOCK - first
        if size >= need:
            path = lease_dir / f"{block}.lock"
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
            else:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)  # who holds it, for people
                return UidLease(first, size, path, fd)
        block += BLOCK
    raise OverflowError(f"no free block of {need} uids from {base} on (all leased)")


def kill_leftovers(first: int, size: int, proc: Path = Path("/proc")) -> list[int]:
    """SIGKILL the processes a dead instance left with uids of the range: in a faaslab
    cgroup, and orphaned — neither they nor their in-range ancestors have a live zygote
    as parent (a live instance of older faaslab, which leased nothing, keeps its own).
    Returns their pids. Frozen ones are thawed so they can die."""
    status: dict[int, tuple[int, list[int]]] = {}  # pid -> (ppid, uids), faaslab cgroups only
    for entry in proc.iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError):
                if "/faaslab/" in (entry / "cgroup").read_text():
                    status[int(entry.name)] = _status(entry / "status")
    ours = {
        pid for pid, (_, uids) in status.items() if any(first <= u < first + size for u in uids)
    }
    killed = []
    for pid in ours:
        top, seen = pid, {pid}
        while status[top][0] in ours and status[top][0] not in seen:  # (pid reuse: no loop)
            top = status[top][0]
            seen.add(top)
        if _is_zygote(proc / str(status[top][0])):
            continue  # a live instance's environment
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        _thaw_freezer_of(proc / str(pid) / "cgroup")
    return killed


def _status(path: Path) -> tuple[int, list[int]]:
    ppid, uids = 0, []
    for line in path.read_text().splitlines():
        if line.startswith("PPid:"):
            ppid = int(line.split()[1])
        elif line.startswith("Uid:"):
            uids = [int(u) for u in line.split()[1:4]]
    return ppid, uids


def _is_zygote(entry: Path) -> bool:
    try:
        return b"faaslab.functions.zygote" in (entry / "cmdline").read_bytes()
    except OSError:
        return False


def _thaw_freezer_of(cgroup_file: Path) -> None:
    """Thaw the v1 freezer / v2 group the process is in (a frozen task dies only awake)."""
    with contextlib.suppress(OSError):
        for line in cgroup_file.read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if controllers == "freezer":
                target = Path("/sys/fs/cgroup/freezer" + path) / "freezer.state"
                value = "THAWED"
            elif controllers == "" and (v2 := cgroup2_root()) is not None:
                target = Path(str(v2) + path) / "cgroup.freeze"
                value = "0"
            else:
                continue
            with contextlib.suppress(OSError):
                target.write_text(value)
