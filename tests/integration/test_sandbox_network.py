"""A function's network is its own: the AWS APIs, and nothing of the machine's.

Each environment runs in a network namespace of its own in which only the control plane
listens (functions/network.py). From inside a real function: the machine's own services
(MariaDB, PostgreSQL, Redis, any loopback listener) are unreachable, the AWS APIs are
reachable at AWS_ENDPOINT_URL but `/_faaslab/*` is not, and another `faaslab up` on the
same machine is invisible. From outside: the admin endpoints answer only faaslab's own user.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import FIXTURES, Faaslab, invoke, start_faaslab
from tests.integration.test_clusters import wait_for

MACHINE_SERVICES = {3306: "MariaDB", 5432: "PostgreSQL", 6379: "Redis"}


@pytest.fixture
def host_listener() -> Iterator[int]:
    """A listener of the machine's own, on loopback: a function must not reach it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def connect_from_function(lam: Any, targets: list[tuple[str, int]]) -> dict[str, str]:
    _, out = invoke(lam, "probe", {"action": "connect", "targets": targets})
    return dict(out["connect"])


def test_function_reaches_none_of_the_machines_services(
    faaslab: Faaslab, lam: Any, host_listener: int
) -> None:
    ports = [*MACHINE_SERVICES, host_listener]
    reachable_here = []
    for port in ports:  # what the machine itself can reach: the test means something
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            reachable_here.append(port)
        except OSError:
            pass
    assert host_listener in reachable_here
    targets = [("127.0.0.1", p) for p in reachable_here] + [("127.0.0.2", host_listener)]
    seen = connect_from_function(lam, targets)
    for host, port in targets:
        assert seen[f"{host}:{port}"].startswith("ConnectionRefusedError"), (host, port, seen)


def test_function_reaches_the_aws_apis_and_its_runtime_api(faaslab: Faaslab, lam: Any) -> None:
    _, out = invoke(lam, "probe", {})
    env = out["env"]
    assert env["AWS_LAMBDA_RUNTIME_API"] == "127.0.0.1:9001"  # as in a Lambda sandbox
    edge_port = int(faaslab.url.rsplit(":", 1)[1])
    assert env["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{edge_port}"
    seen = connect_from_function(lam, [("127.0.0.1", edge_port), ("127.0.0.1", 9001)])
    assert set(seen.values()) == {"connected"}, seen


def test_functions_are_refused_the_admin_endpoints(faaslab: Faaslab, lam: Any) -> None:
    edge = invoke(lam, "probe", {})[1]["env"]["AWS_ENDPOINT_URL"]
    for path in ("/_faaslab/environments", "/_faaslab/logs/probe", "/_faaslab/db"):
        _, out = invoke(lam, "probe", {"action": "fetch", "url": edge + path})
        assert out["fetch"] == 403, (path, out)
    assert len(faaslab.environments("probe")) >= 1  # (the owner still may)


def _get_as(uid: int | None, url: str, bind: str | None = None) -> int:
    """GET `url` with curl, run as `uid`, from source address `bind`: the status code."""
    source = ["--interface", bind] if bind else []
    out = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", *source, url],
        user=uid,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(out.stdout)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("curl") is None, reason="needs root and curl")
def test_admin_endpoints_answer_only_faaslabs_own_user(faaslab: Faaslab) -> None:
    url = faaslab.url + "/_faaslab/environments"
    assert _get_as(None, url) == 200
    assert _get_as(None, url, bind="127.0.0.2") == 200  # any source address: the owner counts
    assert _get_as(65534, url) == 403  # nobody
    assert _get_as(65534, url, bind="127.0.0.2") == 403
    assert _get_as(65534, faaslab.url + "/_faaslab/health") == 200  # (readiness is public)


def test_another_faaslab_on_the_machine_is_out_of_reach(
    faaslab: Faaslab, lam: Any, tmp_path: Any
) -> None:
    other = start_faaslab(FIXTURES / "template.yaml", tmp_path / "other")
    try:
        other_lam = other.client()
        _, theirs = invoke(other_lam, "probe", {})
        other_port = int(other.url.rsplit(":", 1)[1])
        seen = connect_from_function(lam, [("127.0.0.1", other_port)])
        assert seen[f"127.0.0.1:{other_port}"].startswith("ConnectionRefusedError"), seen
        # its environments' Runtime API is 127.0.0.1:9001 in *their* namespace; ours
        # answers ours: asking it for work gets our own environment's error, not their event
        _, ours = invoke(
            lam,
            "probe",
            {"action": "fetch", "url": "http://127.0.0.1:9001/2018-06-01/runtime/invocation/x"},
        )
        assert ours["fetch"] == 404
        assert theirs["uses"] == 1
    finally:
        assert other.stop() == 0
    log = other.log_path.read_text()
    assert "Traceback" not in log, log


def _sockets(pid: int) -> int:
    fd_dir = f"/proc/{pid}/fd"
    count = 0
    for fd in os.listdir(fd_dir):
        with contextlib.suppress(OSError):  # (closed meanwhile)
            count += os.readlink(f"{fd_dir}/{fd}").startswith("socket:")
    return count


def test_an_environments_listeners_close_with_it(tmp_path: Any) -> None:
    """Its listeners keep a namespace alive: none may outlive the environment."""
    fl = start_faaslab(FIXTURES / "template.yaml", tmp_path / "s", "--keep-alive", "0.5")
    try:
        baseline = _sockets(fl.proc.pid)
        lam = fl.client()
        for _ in range(3):  # three environments, one after the other
            invoke(lam, "probe", {})
            assert _sockets(fl.proc.pid) >= baseline + 3  # runtime API, AWS APIs, link
            wait_for(lambda: not fl.environments("probe"), 60, "the environment expired")
        wait_for(lambda: _sockets(fl.proc.pid) <= baseline + 2, 60, "listeners closed")
    finally:
        assert fl.stop() == 0


def test_bad_vpc_config_is_refused_with_the_property_named(tmp_path: Any) -> None:
    template = tmp_path / "t.yaml"
    template.write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  F:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        "      Runtime: python3.11\n"
        "      Handler: probe.handler\n"
        f"      CodeUri: {FIXTURES / 'fns'}\n"
        "      VpcConfig:\n"
        "        SecurityGroupIds: [sg-1]\n"
    )
    with pytest.raises(RuntimeError) as err:
        start_faaslab(template, tmp_path / "s")
    assert "Resources.F.Properties.VpcConfig.SubnetIds" in str(err.value)
    assert "SubnetIds and SecurityIds must coexist or be both empty list" in str(err.value)
