"""The zygote: a pre-started runtime process that forks new environments on request.

Starting a Python interpreter costs ~20-40 ms; forking one that already has the runtime
loaded costs ~1 ms. The control plane starts one zygote (`python -m
faaslab.functions.zygote FD`) and talks to it over a SOCK_SEQPACKET socket: JSON messages,
plus the log pipe's write end passed as a file descriptor (SCM_RIGHTS).

Messages in:  {"op": "spawn", "spec": SandboxSpec, "tmp_mb": N|null, "tmp_disk": bool,
               "spare": key|null} + [log fd, api fd?]
              {"op": "spare", "key", "cgroup_procs", "tmp_dir", "tmp_mb", "tmp_disk",
               "runtime_paths", "hide_dir"}
                  (fork a spare ahead of time; mount a /tmp of that size for it, and make
                  its sandbox's mount namespace around it)
Messages out: {"op": "spawned", "env_id", "pid"} | {"op": "failed", "env_id", "error"}
              {"op": "exited", "pid", "status"}   (raw wait status; the zygote reaps)

Spares: a child forked ahead of time that has already done the slow, function-independent
part of a sandbox (sandbox.prepare: joining its cgroup, which costs ~15 ms on cgroup v1;
mounting a /tmp of the default size, ~3-6 ms on a loop device; the mount namespace with
Lambda's view of the machine around that /tmp, ~2 ms: sandbox.prepare_view). Slow work
is done in the children, never in the zygote's loop, which would hold up every other
spawn meanwhile (an environment's /tmp is unmounted by the control plane, in a thread).
A spawn naming a spare hands it the spec and the fds
over its own socket, and it finishes in ~1 ms.

The zygote stays root and single-threaded (forking a threaded process is unsafe); each
child drops to its environment's uid in sandbox.enter().
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import traceback
from typing import Any

from faaslab import linux
from faaslab.functions import bootstrap, cgroups, entrypoint, sandbox

MAX_MSG = 1 << 20

# Modules every runtime needs, loaded once here so each fork starts with them in memory.
PRELOAD = ("json", "traceback", "importlib", "socket", "httptools", "decimal", "uuid", "datetime")


_children: set[int] = set()
_spare_tmps: dict[str, str] = {}  # spare key -> where it mounts its /tmp ahead of time
_own_pid_ns = -1  # /proc/self/ns/pid of the zygote (see linux.fork_in_new_pid_namespace)
_spares: dict[str, tuple[int, socket.socket]] = {}  # key -> (pid, our end of its socket)
_groups: dict[int, list[str]] = {}  # child -> its cgroups' cgroup.procs files


def _kill_quietly(pid: int) -> None:
    for sig in (signal.SIGKILL, signal.SIGCONT):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _spawn(sock: socket.socket, msg: dict[str, Any], fds: list[int]) -> None:
    spec = sandbox.SandboxSpec(**msg["spec"])
    tmp = (msg.get("tmp_mb"), bool(msg.get("tmp_disk")))
    _spare_tmps.pop(msg.get("spare") or "", None)
    spare = _spares.pop(msg.get("spare") or "", None)
    if spare is not None:
        pid, channel = spare
        try:
            data = {"spec": msg["spec"], "tmp_mb": tmp[0], "tmp_disk": tmp[1]}
            socket.send_fds(channel, [json.dumps(data).encode()], fds)
        except OSError:
            spare = None  # it died meanwhile: fork one the slow way below
        channel.close()
    if spare is None:
        pid = _fork() if spec.isolate else os.fork()
        if pid == 0:  # the child: never returns
            _child(sock, spec, fds, False, tmp, None)
        _children.add(pid)
    _groups[pid] = spec.cgroup_procs
    for fd in fds:
        os.close(fd)
    _send(sock, {"op": "spawned", "env_id": spec.env_id, "pid": pid})


def _place_tmp(
    spec: sandbox.SandboxSpec, size_mb: int | None, on_disk: bool, ready: tuple[str, int] | None
) -> None:
    """The environment's /tmp, made by the child itself while still in the host's mount
    namespace (so it outlives the runtime: a restart finds it), not by the zygote, which
    would hold up every other spawn meanwhile. `ready`: a spare's /tmp made ahead of time,
    moved into place (MS_MOVE) if it has the size asked for."""
    try:
        if spec.isolate and size_mb:
            os.makedirs(os.path.dirname(spec.tmp_dir), exist_ok=True)
            if ready is not None and ready[1] == size_mb:
                os.makedirs(spec.tmp_dir, mode=0o700, exist_ok=True)
                linux.mount(ready[0], spec.tmp_dir, None, linux.MS_MOVE)
            else:
                _mount_tmp(spec.tmp_dir, size_mb, on_disk)
            os.chown(spec.tmp_dir, spec.uid, spec.gid)
            os.chmod(spec.tmp_dir, 0o700)
        elif not spec.isolate:
            os.makedirs(spec.tmp_dir, mode=0o700, exist_ok=True)
            os.chown(spec.tmp_dir, spec.uid, spec.gid)
    finally:
        if ready is not None:  # (moved, or not the size this function asked for)
            linux.release_mount_dir(ready[0])


def _mount_tmp(path: str, size_mb: int, on_disk: bool) -> None:
    """An environment's /tmp: a private copy of an empty ext4 image of its size on a loop
    device (disk: not charged to the function's memory, as on AWS), or a tmpfs."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    if not on_disk:
        linux.mount_tmpfs(path, size_mb)
        return
    template = os.path.join(os.path.dirname(os.path.dirname(path)), f".tmp-{size_mb}m.ext4")
    if not os.path.exists(template):  # once per size (~20 ms)
        linux.make_ext4_image(template, size_mb)
    linux.mount_image_copy(template, path)


def _make_spare(sock: socket.socket, msg: dict[str, Any]) -> None:
    sandbox.warm(msg.get("runtime_paths", []))  # (once: every child inherits it)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = _fork()
    if pid == 0:
        code = 1
        try:
            ours.close()
            sandbox.prepare(msg["cgroup_procs"])
            ready = None
            if msg.get("tmp_dir"):  # a /tmp ahead of time, in the size most functions use
                try:
                    _mount_tmp(msg["tmp_dir"], msg["tmp_mb"], bool(msg.get("tmp_disk")))
                    ready = (msg["tmp_dir"], msg["tmp_mb"])
                except (OSError, subprocess.CalledProcessError):
                    linux.release_mount_dir(msg["tmp_dir"])  # (made at spawn time instead)
            view = None
            if ready is not None and msg.get("hide_dir"):
                try:  # Lambda's view of the machine, ahead of time too (~2 ms)
                    view = sandbox.prepare_view(msg["runtime_paths"], msg["hide_dir"], ready[0])
                except OSError:
                    traceback.print_exc()  # (made at spawn time instead)
            data, fds, _flags, _addr = socket.recv_fds(theirs, MAX_MSG, 4)
            if not data:  # never used: the zygote is stopping
                if view is not None:
                    sandbox.leave_view(view)
                if ready is not None:
                    linux.release_mount_dir(ready[0])
                os._exit(0)
            theirs.close()
            got = json.loads(data)
            spec = sandbox.SandboxSpec(**got["spec"])
            tmp = (got["tmp_mb"], bool(got["tmp_disk"]))
            if view is not None and ready is not None and tmp[0] != ready[1]:  # (another size)
                sandbox.leave_view(view)
                view = None
            _child(sock, spec, fds, True, tmp, ready, view)
        except BaseException:
            traceback.print_exc()
        os._exit(code)
    theirs.close()
    _children.add(pid)
    _groups[pid] = msg["cgroup_procs"]
    _spares[msg["key"]] = (pid, ours)
    if msg.get("tmp_dir"):
        _spare_tmps[msg["key"]] = msg["tmp_dir"]


def _fork() -> int:
    """Fork an environment's process as pid 1 of its own PID namespace: its /proc lists
    its own processes only, and when it dies the kernel kills whatever it started."""
    return linux.fork_in_new_pid_namespace(_own_pid_ns)


def _child(
    sock: socket.socket,
    spec: sandbox.SandboxSpec,
    fds: list[int],
    prepared: bool,
    tmp: tuple[int | None, bool],
    ready_tmp: tuple[str, int] | None,
    view: sandbox.View | None = None,
) -> None:
    """The environment's process (a spare's, or forked for this spawn): never returns.
    fds[0] is its log pipe; the spec says which the others are (the Runtime API socket,
    the network namespace). `view`: a spare's sandbox made ahead of time, with its /tmp."""
    code = 1
    log_fd = fds[0]
    api_fd = None if spec.api_fd_index is None else fds[spec.api_fd_index]
    netns_fd = None if spec.netns_fd_index is None else fds[spec.netns_fd_index]
    try:
        sock.close()
        for _pid, channel in _spares.values():  # other spares' sockets are not ours
            channel.close()
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(log_fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        if view is not None and not sandbox.adopt_tmp(view, spec):
            sandbox.leave_view(view)
            view = None
        if view is None:
            _place_tmp(spec, tmp[0], tmp[1], ready_tmp)
        sandbox.enter(spec, prepared, netns_fd, view)
        if spec.command:
            entrypoint.exec_runtime(spec.command)
        bootstrap.run(dict(os.environ), api_fd)
    except SystemExit as e:  # sys.exit() in a handler ends the runtime, as on AWS
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if e.code is not None and not isinstance(e.code, int):
            print(e.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _send(sock: socket.socket, msg: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):  # the control plane is gone: main() sees EOF next
        sock.send(json.dumps(msg).encode())


def _reap(sock: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _children.discard(pid)
        _groups.pop(pid, None)
        for key in [k for k, (p, _) in _spares.items() if p == pid]:
            _spares.pop(key)[1].close()
            if key in _spare_tmps:  # (a spare that died unused)
                linux.release_mount_dir(_spare_tmps.pop(key))
        _send(sock, {"op": "exited", "pid": pid, "status": status})


def main(fd: int) -> None:
    cwd = os.getcwd()  # `python -m` put the control plane's cwd first; functions get /var/task
    sys.path[:] = [p for p in sys.path if p not in ("", cwd)]
    for name in PRELOAD:
        __import__(name)
    os.makedirs("/var/task", exist_ok=True)
    global _own_pid_ns
    _own_pid_ns = os.open("/proc/self/ns/pid", os.O_RDONLY)
    sock = socket.socket(fileno=fd)
    rfd, wfd = os.pipe()
    os.set_blocking(wfd, False)
    os.set_blocking(rfd, False)
    signal.set_wakeup_fd(wfd)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the control plane, which stops us
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ, "sock")
    sel.register(rfd, selectors.EVENT_READ, "sig")
    _send(sock, {"op": "ready", "pid": os.getpid()})
    while True:
        for key, _ in sel.select():
            if key.data == "sig":
                try:
                    while os.read(rfd, 512):
                        pass
                except BlockingIOError:
                    pass
                _reap(sock)
                continue
            try:
                data, fds, _flags, _addr = socket.recv_fds(sock, MAX_MSG, 4)
            except ConnectionError:
                data = b""
            if not data:  # the control plane went away: stop every environment with us
                for pid in list(_children):
                    _kill_quietly(pid)
                for procs in _groups.values():  # (frozen ones die once thawed; forks too)
                    cgroups.kill_groups(procs)
                return
            msg = json.loads(data)
            op = msg.get("op")
            if op == "spawn":
                _spawn(sock, msg, fds)
            elif op == "spare":
                _make_spare(sock, msg)
            _reap(sock)


if __name__ == "__main__":
    main(int(sys.argv[1]))
