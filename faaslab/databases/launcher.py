"""Put a database engine in a mount namespace of its own, as its own unprivileged user.

`enter()` runs in the child between fork and exec (subprocess's preexec_fn), so a resume
pays no interpreter start (a Python launcher process cost ~20-55 ms, a third of
PostgreSQL's whole start). It only makes syscalls through already-loaded libc functions.

Why a namespace: the cluster's directory lives in faaslab's state dir, which may sit below
a directory the engine's user cannot enter (`/root`, pytest's 0700 temp dirs), and
PostgreSQL refuses to run as root. Inside a private mount namespace the directory is
bound at `ENGINE_ROOT` (below a fresh tmpfs on /tmp, which is also the engine's own
/tmp), so the engine reaches it by a short path whatever the host path is — short
enough for Unix socket names, too.
"""

from __future__ import annotations

import os

from faaslab.linux import (
    MS_BIND,
    MS_REC,
    mount,
    mount_tmpfs,
    set_parent_death_signal,
    unshare_mounts,
)

ENGINE_ROOT = "/tmp/cluster"  # where the cluster dir appears to the engine


def enter(directory: str, uid: int, gid: int, cgroup_procs: list[str], death_signal: int) -> None:
    pid = str(os.getpid())
    for procs in cgroup_procs:  # (--cpu-limits: the capacity's CPU share) while still root
        with open(procs, "w") as f:
            f.write(pid)
    unshare_mounts()
    # Opened in the new namespace (a bind source must be), before /tmp may cover it.
    keep = os.open(directory, os.O_PATH | os.O_DIRECTORY)
    mount_tmpfs("/tmp", 64, "1777")
    os.mkdir(ENGINE_ROOT, 0o755)
    mount(f"/proc/self/fd/{keep}", ENGINE_ROOT, None, MS_BIND | MS_REC)
    os.close(keep)
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    # If faaslab dies (even by kill -9), the engine gets its clean-shutdown signal rather
    # than living on as an orphan holding the data dir. (Set after the uid change, which
    # would clear it.)
    set_parent_death_signal(death_signal)
    os.chdir(ENGINE_ROOT)
