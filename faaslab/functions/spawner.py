"""The control plane's side of the zygote: start it, ask for children, hear of exits."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from faaslab import linux
from faaslab.functions.errors import ServiceError
from faaslab.functions.sandbox import SandboxSpec


def describe_status(status: int) -> tuple[int | None, str]:
    """(exit code or None, AWS's wording) for a raw wait status."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        names = {
            signal.SIGKILL: "killed",
            signal.SIGSEGV: "segmentation fault",
            signal.SIGABRT: "aborted",
            signal.SIGTERM: "terminated",
            signal.SIGBUS: "bus error",
        }
        return None, f"signal: {names.get(signal.Signals(sig), signal.Signals(sig).name.lower())}"
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1
    return code, f"exit status {code}"


class Spawner:
    """Owns the zygote process; one request at a time, answers matched in order."""

    def __init__(self, on_exit: Callable[[int, int], None]) -> None:
        self._on_exit = on_exit
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._waiters: list[asyncio.Future[dict[str, Any]]] = []
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "faaslab.functions.zygote", str(child.fileno())],
            pass_fds=[child.fileno()],
            stdin=subprocess.DEVNULL,
        )
        child.close()
        parent.setblocking(False)
        self._sock = parent
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._waiters.append(ready)
        loop.add_reader(parent.fileno(), self._readable)
        try:
            await asyncio.wait_for(ready, 30)
        except TimeoutError:
            raise ServiceError("the runtime zygote did not start within 30 s") from None

    def _readable(self) -> None:
        assert self._sock is not None
        while True:
            try:
                data = self._sock.recv(1 << 20)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                asyncio.get_running_loop().remove_reader(self._sock.fileno())
                for w in self._waiters:
                    if not w.done():
                        w.set_exception(ServiceError("the runtime zygote exited"))
                self._waiters.clear()
                return
            msg = json.loads(data)
            if msg["op"] == "exited":
                self._on_exit(msg["pid"], msg["status"])
            elif self._waiters:
                w = self._waiters.pop(0)
                if not w.done():
                    w.set_result(msg)

    async def spawn(
        self,
        spec: SandboxSpec,
        fds: list[int],
        tmp_mb: int | None,
        spare: str | None = None,
        tmp_disk: bool = False,
    ) -> int:
        """Fork a sandboxed runtime; returns its pid. `fds`: the log pipe's write end, then
        optionally the runtime's end of its Runtime API socket. `tmp_mb` mounts a new /tmp
        (`tmp_disk`: an ext4 image on a loop device, else a tmpfs)."""
        if self._sock is None:
            raise ServiceError("the runtime zygote is not running")
        msg = {
            "op": "spawn",
            "spec": dataclasses.asdict(spec),
            "tmp_mb": tmp_mb,
            "tmp_disk": tmp_disk,
            "spare": spare,
        }
        async with self._lock:
            fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            socket.send_fds(self._sock, [json.dumps(msg).encode()], fds)
            reply = await fut
        if reply["op"] != "spawned":
            raise ServiceError(f"could not start an environment: {reply.get('error')}")
        return int(reply["pid"])

    def spare(
        self,
        key: str,
        cgroup_procs: list[str],
        tmp_dir: str,
        tmp_mb: int,
        tmp_disk: bool,
        runtime_paths: list[str],
        hide_dir: str,
    ) -> None:
        """Ask for a spare child to be forked and prepared ahead of time, with a /tmp of
        `tmp_mb` at `tmp_dir` (moved into place if the function's size matches; no answer)."""
        self._send(
            {
                "op": "spare",
                "key": key,
                "cgroup_procs": cgroup_procs,
                "tmp_dir": tmp_dir,
                "tmp_mb": tmp_mb,
                "tmp_disk": tmp_disk,
                "runtime_paths": runtime_paths,
                "hide_dir": hide_dir,
            }
        )

    def _send(self, msg: dict[str, Any]) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.send(json.dumps(msg).encode())

    def release(self, tmp_dir: str) -> None:
        """Unmount and remove an environment's /tmp (in a thread: unmounting a loop
        device's file system takes a few ms; fire and forget)."""
        asyncio.get_running_loop().run_in_executor(None, linux.release_mount_dir, tmp_dir)

    async def stop(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(ValueError, RuntimeError):
                asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        if self._proc is not None:
            try:
                await asyncio.wait_for(asyncio.to_thread(self._proc.wait), 5)
            except TimeoutError:
                self._proc.kill()
            self._proc = None
