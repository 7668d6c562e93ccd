"""The tutorial's functions and `faaslab demo`, through the real clients."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LOCAL_KEYS, ROOT, Faaslab, invoke, start_faaslab

EXAMPLE = ROOT / "examples" / "tutorial6"


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faaslab]:
    fl = start_faaslab(EXAMPLE / "template.yaml", tmp_path_factory.mktemp("tutorial") / "s")
    yield fl
    fl.stop()


def test_file_database_grows_in_a_warm_container(tutorial: Faaslab) -> None:
    lam = tutorial.client()
    _, first = invoke(lam, "helloSqlite", {"name": "Fred Smith"})
    _, second = invoke(lam, "helloSqlite", {"name": "x'); DROP TABLE mytable; --"})
    assert first["newcontainer"] == 1 and second["newcontainer"] == 0
    assert second["uuid"] == first["uuid"]
    assert second["names"] == ["Fred Smith", "x'); DROP TABLE mytable; --"]  # stayed data
    assert second["value"] == "Hello x'); DROP TABLE mytable; --"
    assert second["uses"] == first["uses"] + 1
    assert second["bundled"] == [
        ["Susan Smith", "Tacoma", "Washington"],
        ["Bill Gates", "Redmond", "Washington"],
    ]
    for key in ("version", "lang", "vmuptime", "cpuUsr", "cpuUsrDelta", "runtime", "functionName"):
        assert key in second


def test_memory_database_does_not_persist(tutorial: Faaslab) -> None:
    lam = tutorial.client()
    outs = [invoke(lam, "helloSqliteMemory", {"name": n})[1] for n in ("Ann", "Bob")]
    assert [o["names"] for o in outs] == [["Ann"], ["Bob"]]
    assert outs[0]["uuid"] == outs[1]["uuid"]


def test_callservice_script_with_the_aws_cli(tutorial: Faaslab) -> None:
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "FAASLAB_ENDPOINT": tutorial.url,
        "AWS_ACCESS_KEY_ID": LOCAL_KEYS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": LOCAL_KEYS["aws_secret_access_key"],
    }
    cp = subprocess.run(
        ["bash", str(EXAMPLE / "callservice.sh"), "helloSqlite", "Script Caller"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert cp.returncode == 0, cp.stderr
    assert "Invoking Lambda function using AWS CLI" in cp.stdout and "real" in cp.stdout
    result: Any = json.loads(cp.stdout.split("AWS CLI RESULT:")[1])
    assert result["value"] == "Hello Script Caller"


def test_http_route(tutorial: Faaslab) -> None:
    import urllib.request

    req = urllib.request.Request(
        tutorial.url + "/helloSqliteMemory",
        data=b'{"name": "Curl"}',
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        assert json.loads(r.read())["value"] == "Hello Curl"


def test_demo_answers_every_question() -> None:
    cp = subprocess.run(
        [sys.executable, "-m", "faaslab.cli", "demo"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert cp.returncode == 0, cp.stdout + cp.stderr
    out = cp.stdout
    for q in range(1, 7):
        assert re.search(rf"^Q{q}\. ", out, re.M), f"Q{q} missing"
    assert re.search(r"-> 8192 bytes \(it was 4096 bytes empty\)", out)
    assert re.search(r"Q2\..*\n\s+-> the new container \w+ \(newcontainer=1\)", out)
    assert re.search(r"Q3\..*\n\s+-> NO:", out)
    assert re.search(r"Q4\..*\n\s+-> YES:", out)
    assert "everything stopped" in out
