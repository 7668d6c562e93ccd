"""Turning a freshly forked child into a Lambda-like sandbox (runs inside the child).

Order matters: join the cgroup and mount while still root, then drop to the
environment's own unprivileged uid, then hand over to the runtime.

- PID namespace: the zygote forks the child as pid 1 of a new one (zygote._fork); a
  fresh /proc lists the environment's processes only.
- Mount namespace (unshare CLONE_NEWNS, all mounts private) so nothing leaks back; the
  root read-only; /tmp the environment's own file system (mounted by the zygote in the
  host namespace, so it outlives a runtime reset, as /tmp does on AWS) bound over /tmp.
- /var/task: the function's code dir, bound read-only; /opt: its layers (if any), likewise.
- Host directories (homes, /work-like trees, /var, /run, /dev/shm, the state dir with
  every environment's /tmp) are covered by empty read-only tmpfs; the runtime's own
  paths are bound back, read-only.
- /proc/meminfo (MemorySize), /proc/cpuinfo and cpu/online (--cpu-limits) and the boot
  id are the environment's own; a time namespace starts its uptime and btime at the
  environment's creation (the same after a runtime restart: the spec carries the clocks).
- Its own uid/gid per environment: no root, and no ptrace/`/proc/PID/root` access to
  other environments' processes.

The mount calls are faaslab.linux's (libc through ctypes: Python 3.11 has no os.mount).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import resource
import signal
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from faaslab.linux import (
    CLONE_NEWNET,
    CLONE_NEWNS,
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_RDONLY,
    MS_REC,
    MS_REMOUNT,
    enter_new_time_namespace,
    mount,
    mount_tmpfs,
    mounts_under,
    setns,
    umount,
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
    cpus: int = 0  # CPUs the environment sees (/proc/cpuinfo, cpu/online); 0: the host's
    boottime: float = 0.0  # host CLOCK_BOOTTIME when the environment started: its uptime 0
    monotonic: float = 0.0  # host CLOCK_MONOTONIC then
    command: list[str] | None = None  # exec this bootstrap instead of faaslab's runtime
    # which of the descriptors sent with the spawn (after the log pipe, index 0) are the
    # runtime's end of its Runtime API socketpair, and the network namespace to join
    api_fd_index: int | None = None
    netns_fd_index: int | None = None
    opt_dir: str | None = None  # the function's layers (builds/), bound read-only at /opt


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


# Top-level directories a Lambda root has (read-only); every other one (home
# directories, /work, /srv, /mnt, /opt ...) is covered by an empty read-only tmpfs, as are
# /var (but /var/task), /run and /dev/shm. Runtime paths below a covered directory are
# bound back (read-only) where they were.
SYSTEM_DIRS = frozenset(
    {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "dev", "proc", "sys", "tmp"}
)
ALSO_COVERED = ("/var", "/run", "/dev/shm", "/dev/mqueue")


def enter(
    spec: SandboxSpec,
    prepared: bool = False,
    netns_fd: int | None = None,
    view: View | None = None,
) -> None:
    """Everything between fork and the runtime, in the child. Raises on failure. `view`:
    the one a spare made ahead of time, its /tmp already the environment's."""
    if not prepared:
        prepare(spec.cgroup_procs)
    if netns_fd is not None:  # the environment's own network (functions/network.py)
        setns(netns_fd, CLONE_NEWNET)
        os.close(netns_fd)
    if view is not None:
        finish(view, spec)
        task_root = "/var/task"
    elif spec.isolate:
        _isolate(spec)
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


def _isolate(spec: SandboxSpec) -> None:
    """Lambda's view of the machine, in a new mount namespace (the child is already pid 1
    of its own PID namespace: the zygote forked it so)."""
    view = _make_view(spec.runtime_paths, spec.hide_dir, spec.tmp_dir)
    finish(view, spec)


@dataclass
class View:
    """A mount namespace showing Lambda's view of the machine, all but what belongs to one
    function: its code at /var/task, /proc's numbers, the time namespace (`finish`).

    A spare makes it ahead of time (`prepare_view`): covering the host's directories and
    mounting /proc is ~2 ms of a cold start. Every source is opened (O_PATH) before
    anything is covered, and the covered directories' originals stay open: the code and
    the environment's /tmp may lie below a directory covered here (a 0700 `mktemp -d`
    holding checkout and state dir), and a bind must come from this namespace's own
    mounts (mount(2) refuses another namespace's: EINVAL)."""

    originals: dict[str, int]  # each directory mounted over -> its original (O_PATH)
    writable: list[str]  # covered, still writable until `finish` (the staging /var)
    host_ns: int = -1  # a spare's: the host's mount namespace, where its /tmp lives
    own_ns: int = -1
    envs: int = -1  # a spare's: the host's directory of environments' /tmp (O_PATH)
    tmp_dir: str = ""  # a spare's /tmp made ahead of time (host path), bound at /tmp here

    def close(self) -> None:
        for fd in (*self.originals.values(), self.host_ns, self.own_ns, self.envs):
            if fd >= 0:
                os.close(fd)
        self.originals.clear()
        self.host_ns = self.own_ns = self.envs = -1


def _make_view(runtime_paths: list[str], hide_dir: str, tmp_dir: str) -> View:
    """Unshare the mount namespace and cover the host: the root read-only, `tmp_dir` at
    /tmp, empty read-only tmpfs over the host's directories with the runtime's own paths
    bound back, /proc of the environment's PID namespace."""
    keep, planned = plan(tuple(runtime_paths))
    covered = list(planned)
    unshare_mounts()
    fds = _open_dirs([tmp_dir, *keep])
    view = View(_open_dirs(["/tmp", *covered, hide_dir]), [])
    try:
        mount("none", "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY)
        # /tmp first: runtime paths below it (a checkout in /tmp) are bound back into it
        _drop_other_tmps(["/tmp", *covered], tmp_dir)
        bound = _cover("/tmp", lambda: _bind(fds[tmp_dir], "/tmp"), keep, fds)
        with contextlib.suppress(OSError):  # (by its descriptor: /tmp may hide its path now)
            umount(f"/proc/self/fd/{fds[tmp_dir]}")
        for top in covered:
            bound += _cover(top, functools.partial(mount_tmpfs, top, 1, "0755"), keep, fds)
        os.makedirs("/var/task", exist_ok=True)
        for p in bound:  # the runtime's own files are not the function's to change
            mount("none", p, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID)
        if os.path.isdir(hide_dir):  # (here only if a runtime path's binding shows it)
            _cover(hide_dir, functools.partial(mount_tmpfs, hide_dir, 1, "0555"), keep, fds)
            covered.append(hide_dir)
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        for top in covered:  # (a read-only mount, not superblock: staged files are held)
            if top == STAGING:
                view.writable.append(top)
            else:
                _seal(top)
    except BaseException:
        view.close()
        raise
    finally:
        for fd in fds.values():
            os.close(fd)
    return view


def _drop_other_tmps(tops: list[str], tmp_dir: str) -> None:
    """Detach the copies of the other environments' /tmp mounts (`…/envs/<id>/tmp`, of
    this faaslab instance or another, spares' too) that the view is about to cover.
    Covered, they would still hold those file systems while this environment lives, and
    each copy makes removing its mount point in the host's namespace cost ~1 ms (the
    kernel detaches it from every namespace). Nothing else is touched: the function's
    code may lie on any other mount."""
    for m in mounts_under(*tops):
        if m != tmp_dir and OTHER_TMP.search(m):
            with contextlib.suppress(OSError):
                umount(m)


OTHER_TMP = re.compile(r"/envs/[^/]+/tmp$")


STAGING = "/var"  # an empty tmpfs in the view: /proc's files are written there first


def _seal(top: str) -> None:
    mount("none", top, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def prepare_view(runtime_paths: list[str], hide_dir: str, tmp_dir: str) -> View:
    """A spare's view, made ahead of time with the /tmp it mounted at `tmp_dir`; the
    spare stays in it. The host's namespace stays open: the environment's /tmp must be
    moved to its place there at spawn (a restarted runtime binds it again)."""
    host_ns = os.open("/proc/self/ns/mnt", os.O_RDONLY)
    envs = os.open(os.path.dirname(os.path.dirname(tmp_dir)), os.O_PATH | os.O_DIRECTORY)
    try:
        view = _make_view(runtime_paths, hide_dir, tmp_dir)
    except BaseException:
        setns(host_ns, CLONE_NEWNS, "host mount namespace")
        os.close(host_ns)
        os.close(envs)
        raise
    view.host_ns = host_ns
    view.envs = envs
    view.own_ns = os.open("/proc/self/ns/mnt", os.O_RDONLY)
    view.tmp_dir = tmp_dir
    return view


def adopt_tmp(view: View, spec: SandboxSpec) -> bool:
    """A spare's /tmp becomes the environment's, if it has the same place: its directory
    renamed (the mount below moves with it, in every namespace) through the descriptor
    of the host's envs directory (the view's root is read-only). One rename: no mkdir,
    move and rmdirs in the host's namespace."""
    ours, theirs = Path(view.tmp_dir), Path(spec.tmp_dir)
    if ours.parent.parent != theirs.parent.parent or ours.name != theirs.name:
        return False
    os.rename(ours.parent.name, theirs.parent.name, src_dir_fd=view.envs, dst_dir_fd=view.envs)
    os.chown("/tmp", spec.uid, spec.gid)
    os.chmod("/tmp", 0o700)
    return True


def leave_view(view: View) -> None:
    """Back to the host's mount namespace, the view dropped (a spawn it does not fit)."""
    setns(view.host_ns, CLONE_NEWNS, "host mount namespace")
    view.close()


def finish(view: View, spec: SandboxSpec) -> None:
    """The function's part of the view: its code at /var/task and its layers at /opt
    (read-only), /proc's numbers, the staging directory sealed, the time namespace."""
    try:
        code = _open_original(view.originals, spec.code_dir)
        try:
            _bind(code, "/var/task", readonly=True)
        finally:
            os.close(code)
        if spec.opt_dir is not None:  # over /opt's empty tmpfs: the layers, merged
            _check_opt(plan(tuple(spec.runtime_paths))[0])
            opt = _open_original(view.originals, spec.opt_dir)
            try:
                _bind(opt, "/opt", readonly=True)
            finally:
                os.close(opt)
        _fake_proc_files(spec)
        for top in view.writable:
            _seal(top)
    finally:
        view.close()
    enter_new_time_namespace(spec.boottime, spec.monotonic)


def _check_opt(keep: list[str]) -> None:
    """Layers replace /opt whole: the host needs one to mount on (the root is read-only
    here), and the runtime must not live below it."""
    if not os.path.isdir("/opt"):
        raise OSError("layers are mounted at /opt, and this machine has no /opt directory")
    inside = [p for p in keep if p.startswith("/opt/")]
    if inside:
        raise OSError(f"layers replace /opt, where the runtime itself lives ({inside[0]})")


def _open_original(originals: dict[str, int], path: str) -> int:
    """An O_PATH descriptor of a host directory as it was before the view covered it:
    looked up from the original of the innermost covered directory holding it."""
    holders = [d for d in originals if path == d or path.startswith(d.rstrip("/") + "/")]
    if not holders:
        return os.open(path, os.O_PATH | os.O_DIRECTORY)
    top = max(holders, key=len)
    rel = os.path.relpath(path, top)
    return os.open(rel, os.O_PATH | os.O_DIRECTORY, dir_fd=originals[top])


@functools.lru_cache(maxsize=4)
def plan(runtime_paths: tuple[str, ...]) -> tuple[list[str], tuple[str, ...]]:
    """(paths to keep reachable, directories to cover): the same for every environment,
    so the zygote computes it once (~2 ms) and every child inherits it."""
    wanted = {*runtime_paths, *_etc_targets()}
    # A kept directory that other uids cannot enter (a `mktemp -d` checkout: 0700) is not
    # bound back itself, or its mode would hide everything below it: its kept children
    # are, inside a fresh 0755 directory (reach_plan).
    blocked = {ancestor for ancestor, _ in reach_plan(sorted(wanted))}
    keep = sorted(wanted - blocked)
    return keep, tuple(_covered_dirs(keep))


@functools.lru_cache(maxsize=2)
def _host_text(path: str) -> str:
    """/proc/meminfo and /proc/cpuinfo as the zygote read them (their layout is what the
    generated files copy; the numbers that matter are the environment's own)."""
    with open(path) as f:
        return f.read()


def warm(runtime_paths: list[str]) -> None:
    """Compute, ahead of any spawn, what is the same for every environment."""
    plan(tuple(runtime_paths))
    for path in ("/proc/meminfo", "/proc/cpuinfo"):
        with contextlib.suppress(OSError):
            _host_text(path)


def _etc_targets() -> list[str]:
    """Directories /etc's symlinks point into (resolv.conf into /run, on systemd hosts)."""
    out = []
    for name in ("resolv.conf", "hosts", "localtime"):
        real = os.path.realpath("/etc/" + name)
        if not real.startswith("/etc/") and os.path.exists(real):
            out.append(os.path.dirname(real))
    return out


def _open_dirs(paths: list[str]) -> dict[str, int]:
    fds: dict[str, int] = {}
    for p in paths:
        if p not in fds and os.path.isdir(p):
            fds[p] = os.open(p, os.O_PATH | os.O_DIRECTORY)
    return fds


def _covered_dirs(keep: list[str]) -> list[str]:
    """The outermost directories to cover with an empty tmpfs."""
    tops = [
        "/" + name
        for name in sorted(os.listdir("/"))
        if name not in SYSTEM_DIRS and os.path.isdir("/" + name) and not os.path.islink("/" + name)
    ]
    tops += [p for p in ALSO_COVERED if os.path.isdir(p) and p not in tops]
    tops += [blocked for blocked, _ in reach_plan(keep) if not blocked.startswith("/tmp/")]
    return under("/", tops)


def _bind(fd: int, target: str, readonly: bool = False) -> None:
    mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC)
    if readonly:
        mount("none", target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID)


def _fake_proc_files(spec: SandboxSpec) -> None:
    """The environment's own /proc/meminfo (MemTotal = MemorySize), CPU count and boot
    id, bound over the kernel's. Staged in the /run tmpfs (still writable) and unlinked:
    the bind keeps the file."""
    files = {
        "/proc/meminfo": _meminfo(spec.memory_mb),
        "/proc/sys/kernel/random/boot_id": str(uuid.UUID(hex=spec.env_id[:32].ljust(32, "0")))
        + "\n",
    }
    if spec.cpus:
        files["/proc/cpuinfo"] = _cpuinfo(spec.cpus)
        files["/sys/devices/system/cpu/online"] = f"0-{spec.cpus - 1}\n" if spec.cpus > 1 else "0\n"
    for i, (target, text) in enumerate(files.items()):
        if not os.path.exists(target):
            continue
        staged = f"/var/.faaslab-{i}"  # (/var is an empty tmpfs here, still writable)
        with open(staged, "w") as f:
            f.write(text)
        mount(staged, target, None, MS_BIND)
        os.unlink(staged)


def _meminfo(memory_mb: int) -> str:
    """The host's /proc/meminfo with MemorySize as the machine's memory (a snapshot)."""
    total = memory_mb * 1024
    values = {"MemTotal": total, "MemFree": total * 9 // 10, "MemAvailable": total * 9 // 10}
    lines = []
    for line in _host_text("/proc/meminfo").splitlines():
        key, _, rest = line.partition(":")
        if rest:
            unit = " kB" if rest.strip().endswith("kB") else ""
            number = values.get(key)
            if number is None:
                host = int(rest.split()[0]) if rest.split() else 0
                number = min(host, total // 20) if unit else host
            lines.append(f"{key + ':':<16}{number:>8}{unit}\n")
    return "".join(lines)


def _cpuinfo(cpus: int) -> str:
    """The host's /proc/cpuinfo, its first `cpus` processors only."""
    blocks = [b for b in _host_text("/proc/cpuinfo").split("\n\n") if b.strip()]
    return "\n\n".join(blocks[:cpus]) + "\n\n"


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


def _cover(
    target: str, do_mount: Callable[[], None], keep: list[str], fds: dict[str, int]
) -> list[str]:
    """Mount something over `target`, then bind the outermost `keep` paths below it back
    in place; returns those.

    Used for /tmp, home directories, /work-like trees, /var, /run, the state dir: when the
    runtime itself lives below one of them (a checkout under /work or /tmp, pyenv under
    /root), its files must stay where the interpreter looks for them. The O_PATH
    descriptors in `fds` (opened before anything was covered) keep hold of the originals;
    binding from /proc/self/fd needs no staging directory.
    """
    do_mount()
    back = [p for p in under(target, keep) if p in fds]
    for p in back:
        os.makedirs(p, exist_ok=True)
        mount(f"/proc/self/fd/{fds[p]}", p, None, MS_BIND | MS_REC)
    return back
