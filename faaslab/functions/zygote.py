"""The zygote: a pre-started runtime process that forks new environments on request.

Starting a Python interpreter costs ~20-40 ms; forking one that already has the runtime
loaded costs ~1 ms. The control plane starts one zygote (`python -m
faaslab.functions.zygote FD`) and talks to it over a SOCK_SEQPACKET socket: JSON messages,
plus the log pipe's write end passed as a file descriptor (SCM_RIGHTS).

Messages in:  {"op": "spawn", "spec": SandboxSpec, "tmp_mb": N|null} + [log fd, api fd?]
              {"op": "release", "tmp_dir": path}
Messages out: {"op": "spawned", "env_id", "pid"} | {"op": "failed", "env_id", "error"}
              {"op": "exited", "pid", "status"}   (raw wait status; the zygote reaps)

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
import sys
import traceback
from typing import Any

from faaslab.functions import bootstrap, sandbox

MAX_MSG = 1 << 20

# Modules every runtime needs, loaded once here so each fork starts with them in memory.
PRELOAD = ("json", "traceback", "importlib", "socket", "httptools", "decimal", "uuid", "datetime")


_children: set[int] = set()


def _kill_quietly(pid: int) -> None:
    for sig in (signal.SIGKILL, signal.SIGCONT):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _spawn(sock: socket.socket, msg: dict[str, Any], fds: list[int]) -> None:
    spec = sandbox.SandboxSpec(**msg["spec"])
    try:
        if msg.get("tmp_mb") and spec.isolate:
            os.makedirs(spec.tmp_dir, mode=0o700, exist_ok=True)
            sandbox.mount_tmpfs(spec.tmp_dir, int(msg["tmp_mb"]))
            os.chown(spec.tmp_dir, spec.uid, spec.gid)
            os.chmod(spec.tmp_dir, 0o700)
        elif not spec.isolate:
            os.makedirs(spec.tmp_dir, mode=0o700, exist_ok=True)
            os.chown(spec.tmp_dir, spec.uid, spec.gid)
    except OSError as e:
        for fd in fds:
            os.close(fd)
        _send(sock, {"op": "failed", "env_id": spec.env_id, "error": f"preparing /tmp: {e}"})
        return
    log_fd = fds[0]
    api_fd = fds[1] if len(fds) > 1 else None
    pid = os.fork()
    if pid == 0:  # the child: never returns
        _child(sock, spec, log_fd, api_fd)
    for fd in fds:
        os.close(fd)
    _children.add(pid)
    _send(sock, {"op": "spawned", "env_id": spec.env_id, "pid": pid})


def _child(sock: socket.socket, spec: sandbox.SandboxSpec, log_fd: int, api_fd: int | None) -> None:
    code = 1
    try:
        sock.close()
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(log_fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        sandbox.enter(spec)
        if spec.command:
            os.execvpe(spec.command[0], spec.command, dict(os.environ))
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


def _release(msg: dict[str, Any]) -> None:
    tmp = msg["tmp_dir"]
    with contextlib.suppress(OSError):
        sandbox.umount(tmp)
    with contextlib.suppress(OSError):
        os.rmdir(tmp)


def _send(sock: socket.socket, msg: dict[str, Any]) -> None:
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
        _send(sock, {"op": "exited", "pid": pid, "status": status})


def main(fd: int) -> None:
    for name in PRELOAD:
        __import__(name)
    os.makedirs("/var/task", exist_ok=True)
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
                return
            msg = json.loads(data)
            op = msg.get("op")
            if op == "spawn":
                _spawn(sock, msg, fds)
            elif op == "release":
                _release(msg)
            _reap(sock)


if __name__ == "__main__":
    main(int(sys.argv[1]))
