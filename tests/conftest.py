"""Shared fixtures: a real `faaslab up` process and real AWS clients pointed at it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "integration" / "fixtures"
LOCAL_KEYS = {
    "aws_access_key_id": "AKIAFAASLABLOCAL0001",
    "aws_secret_access_key": "faaslab/local/secret/key/0001",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Faaslab:
    """A running `faaslab up` subprocess."""

    proc: subprocess.Popen[str]
    url: str
    state_dir: Path
    log_path: Path

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as r:
            return json.loads(r.read())

    def environments(self, function: str | None = None) -> list[dict[str, Any]]:
        envs = self.get("/_faaslab/environments")["environments"]
        return [e for e in envs if function is None or e["function"] == function]

    def client(self) -> Any:
        """boto3's Lambda client."""
        return self.aws("lambda", read_timeout=60, max_pool_connections=32)

    def aws(self, service: str, secret: str | None = None, **config: Any) -> Any:
        """A boto3 client of `service` on this faaslab, signed with the local key (or with
        `secret` instead of its secret key), never retrying: tests see every answer."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            config=Config(retries={"total_max_attempts": 1}, **config),
            aws_access_key_id=LOCAL_KEYS["aws_access_key_id"],
            aws_secret_access_key=secret or LOCAL_KEYS["aws_secret_access_key"],
        )

    def request_log(self, *wanted: str, timeout: float = 30) -> str:
        """<state>/requests.log once it holds every `wanted` text (it is written every
        250 ms); AssertionError with what it holds if that takes longer than `timeout`."""
        log = self.state_dir / "requests.log"
        deadline = time.monotonic() + timeout
        while True:
            text = log.read_text() if log.exists() else ""
            if all(w in text for w in wanted):
                return text
            assert time.monotonic() < deadline, (wanted, text)
            time.sleep(0.1)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def start_faaslab(template: Path, state_dir: Path, *args: str, cwd: Path = ROOT) -> Faaslab:
    port = free_port()
    log_path = state_dir.parent / f"{state_dir.name}-faaslab.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "faaslab.cli",
                "up",
                str(template),
                "--port",
                str(port),
                "--state-dir",
                str(state_dir),
                *args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=cwd,
        )
    fl = Faaslab(proc, f"http://127.0.0.1:{port}", state_dir, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"faaslab up exited {proc.returncode}:\n{log_path.read_text()}")
        try:
            fl.get("/_faaslab/health")
            return fl
        except OSError:
            time.sleep(0.05)
    fl.stop()
    raise RuntimeError(f"faaslab up did not become healthy:\n{log_path.read_text()}")


def running_faaslab(template: Path, state_dir: Path, *args: str) -> Iterator[Faaslab]:
    """A fixture's body: `faaslab up` for the tests, then a clean stop with no traceback
    in the control plane's own output (an exception there is a faaslab bug, even when
    every request was answered: function errors go to the function logs instead)."""
    fl = start_faaslab(template, state_dir, *args)
    try:
        yield fl
    finally:  # (also when a test body looping over this generator fails: it is closed)
        code = fl.stop()
    assert code == 0
    assert "Traceback" not in fl.log_path.read_text(), fl.log_path.read_text()
    assert mounts_under(state_dir) == [], "a stopped faaslab left these mounted"


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below `path` (an environment's /tmp left behind is a leak)."""
    prefix = str(path.resolve())
    with open("/proc/self/mounts") as f:
        points = [line.split()[1].replace("\\040", " ") for line in f]
    return [p for p in points if p == prefix or p.startswith(prefix + "/")]


@pytest.fixture(scope="session")
def faaslab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faaslab]:
    yield from running_faaslab(FIXTURES / "template.yaml", tmp_path_factory.mktemp("state") / "s")


@pytest.fixture(scope="session")
def lam(faaslab: Faaslab) -> Any:
    return faaslab.client()


def invoke(client: Any, function: str, event: Any = None, **kw: Any) -> tuple[dict[str, Any], Any]:
    """Invoke and decode: (raw response, parsed payload)."""
    r = client.invoke(
        FunctionName=function, Payload=json.dumps(event if event is not None else {}), **kw
    )
    body = r["Payload"].read()
    return r, json.loads(body) if body else None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
