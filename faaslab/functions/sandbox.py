"""Turning a freshly forked child into a Lambda-like sandbox (runs inside the child).

Order matters: join the cgroup and mount while still root, then drop to the
environment's own unprivileged uid, then hand over to the runtime.

- Mount namespace (unshare CLONE_NEWNS, all mounts private) so nothing leaks back.
- /tmp: the environment's own tmpfs (mounted by the zygote in the host namespace, so it
  outlives a runtime reset, as /tmp does on AWS) bound over /tmp.
- /var/task: the function's code dir, bound read-only.
- The state dir (which holds every environment's tmpfs) is covered by an empty
  read-only tmpfs, so one environment cannot reach another's /tmp.
- Its own uid/gid per environment: no root, and no ptrace/`/proc/PID/root` access to
  other environments' processes.

The mount calls are faaslab.linux's (libc through ctypes: Python 3.11 has no os.mount).
"""

from __future__ import annotations

import functools
import os
import resource
import signal
from collections.abc import Callable
from dataclasses import dataclass, field

from faaslab.linux import (
    CLONE_NEWNET,
    MS_BIND,
    MS_NODEV,
    MS_NOSUID,
    MS_RDONLY,
    MS_REC,
    MS_REMOUNT,
    mount,
    mount_tmpfs,
    setns,
    unshare_mounts,
)


@dataclass
class SandboxSpec:
    """What the control plane asks for; sent to the zygote as JSON."""

    env_id: str
    uid: int
    gid: int
    env: dict[str, str]
    code_dir: str
    tmp_dir: str  # host path of this environment's /tmp (a tmpfs when isolated)
    hide_dir: str  # covered by an empty tmpfs inside the sandbox (the state dir)
    isolate: bool  # False: no namespaces here, TMPDIR points at tmp_dir (with a warning)
    runtime_paths: list[str] = field(default_factory=list)  # must stay reachable: see _cover
    cgroup_procs: list[str] = field(default_factory=list)
    memory_mb: int = 128
    command: list[str] | None = None  # exec this bootstrap instead of faaslab's runtime
    # which of the descriptors sent with the spawn (after the log pipe, index 0) are the
    # runtime's end of its Runtime API socketpair, and the network namespace to join
    api_fd_index: int | None = None
    netns_fd_index: int | None = None


def prepare(cgroup_procs: list[str]) -> None:
    """Phase 1, which needs nothing of the function: a session of its own and the cgroup.
    Joining a fresh memory cgroup costs ~15 ms on cgroup v1 (a new css_set), which is why
    the zygote runs this ahead of time in spare children. (The mount namespace is made
    later: a copy taken now would miss the environment's /tmp, mounted at spawn time.)"""
    os.setsid()
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)
    pid = str(os.getpid())
    for procs in cgroup_procs:
        with open(procs, "w") as f:
            f.write(pid)


def enter(spec: SandboxSpec, prepared: bool = False, netns_fd: int | None = None) -> None:
    """Everything between fork and the runtime, in the child. Raises on failure."""
    if not prepared:
        prepare(spec.cgroup_procs)
    if netns_fd is not None:  # the environment's own network (functions/network.py)
        setns(netns_fd, CLONE_NEWNET)
        os.close(netns_fd)
    if spec.isolate:
        unshare_mounts()
        paths = spec.runtime_paths
        # /var/task first: the code dir may lie below a directory reach_plan covers
        # (a 0700 checkout from `mktemp -d`)
        mount(spec.code_dir, "/var/task", None, MS_BIND)
        mount(spec.code_dir, "/var/task", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID)
        for blocked, children in reach_plan(paths):
            _cover(blocked, functools.partial(mount_tmpfs, blocked, 1, "0755"), children)
        _cover("/tmp", lambda: mount(spec.tmp_dir, "/tmp", None, MS_BIND), under("/tmp", paths))
        hide = spec.hide_dir
        if os.path.isdir(hide):  # (already hidden when it lives under /tmp)
            _cover(hide, lambda: mount_tmpfs(hide, 1, "0555"), under(hide, paths))
            mount("tmpfs", hide, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        task_root = "/var/task"
    else:
        task_root = spec.code_dir
        # Without cgroups the memory limit is an address-space rlimit (coarse, but a limit).
        if not spec.cgroup_procs:
            limit = (spec.memory_mb + 256) * 1024 * 1024  # + the interpreter's own mappings
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.setgroups([])
    os.setgid(spec.gid)
    os.setuid(spec.uid)
    os.chdir(task_root)
    os.environ.clear()
    os.environ.update(spec.env)
    if not spec.isolate:
        os.environ["TMPDIR"] = spec.tmp_dir
    os.environ["LAMBDA_TASK_ROOT"] = task_root


def _traversable(path: str) -> bool:
    try:
        return bool(os.stat(path).st_mode & 0o001)
    except OSError:
        return False


def reach_plan(paths: list[str]) -> list[tuple[str, list[str]]]:
    """Which runtime paths an unprivileged uid could not reach, and how to fix that.

    The interpreter, its stdlib and site-packages often live under a 0700 directory
    (pyenv under /root). For each such blocked ancestor we return (ancestor, [child
    subtrees to keep]); inside the sandbox the ancestor is covered by a 0755 tmpfs and only
    those subtrees are bound back — which also hides the rest of that home directory.
    """
    plan: dict[str, set[str]] = {}
    for p in sorted({os.path.realpath(p) for p in paths if p and os.path.isdir(p)}):
        parts = p.strip("/").split("/")
        for i in range(1, len(parts)):
            ancestor = "/" + "/".join(parts[:i])
            if not _traversable(ancestor):
                plan.setdefault(ancestor, set()).add("/" + "/".join(parts[: i + 1]))
                break
    return [(blocked, sorted(children)) for blocked, children in sorted(plan.items())]


def under(top: str, paths: list[str]) -> list[str]:
    """The outermost of `paths` that lie strictly below `top`."""
    inside = sorted({p for p in paths if p.startswith(top.rstrip("/") + "/")})
    out: list[str] = []
    for p in inside:
        if not any(p.startswith(q + "/") for q in out):
            out.append(p)
    return out


def _cover(target: str, do_mount: Callable[[], None], keep: list[str]) -> None:
    """Mount something over `target`, then bind `keep` (paths below it) back in place.

    Used for /tmp, the state dir and 0700 homes: when the runtime itself lives below
    one of them (a checkout under /tmp, pyenv under /root), its files must stay where the
    interpreter looks for them. O_PATH descriptors keep hold of the originals while they
    are covered; binding from /proc/self/fd needs no staging directory.
    """
    fds = [(os.open(p, os.O_PATH | os.O_DIRECTORY), p) for p in keep if os.path.isdir(p)]
    try:
        do_mount()
        for fd, p in fds:
            os.makedirs(p, exist_ok=True)
            mount(f"/proc/self/fd/{fd}", p, None, MS_BIND | MS_REC)
    finally:
        for fd, _ in fds:
            os.close(fd)
