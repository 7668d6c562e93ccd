"""The tutorial's functions, its Aurora cluster and `faaslab demo`, through the real clients."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest

from faaslab.demo import build_java_functions
from tests.conftest import LOCAL_KEYS, ROOT, Faaslab, invoke, start_faaslab

EXAMPLE = ROOT / "examples" / "tutorial6"
DB_USER, DB_PASSWORD = "tcss562", "Tutorial-pass562"  # the template's parameter defaults


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faaslab]:
    build_java_functions()  # (what `make java` does; the template deploys them)
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
    saaf_07 = ("version", "lang", "invocations", "bootTime", "architecture", "cpuCores")
    for key in (*saaf_07, "cpuUser", "cpuUserDelta", "runtime", "functionName"):
        assert key in second
    assert second["version"] == 0.7 and second["invocations"] == first["invocations"] + 1


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


@pytest.fixture(scope="module")
def mytable(tutorial: Faaslab) -> int:
    """Part 5: TEST.mytable created with the real mariadb client (`faaslab db connect`, the
    tutorial's bastion session in part5_mysql.sql); the cluster's endpoint port."""
    env = dict(os.environ, FAASLAB_ENDPOINT=tutorial.url, MYSQL_PWD=DB_PASSWORD)
    with open(EXAMPLE / "part5_mysql.sql") as sql:
        cp = subprocess.run(
            [sys.executable, "-m", "faaslab.cli", "db", "connect", "tcss562", "--", "--table"],
            stdin=sql,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
    assert cp.returncode == 0, cp.stderr
    assert re.search(r"^\| fred +\| testcol2 \| testcol3 \|$", cp.stdout, re.M), cp.stdout
    port: int = tutorial.get("/_faaslab/db/tcss562")["Port"]
    return port


def test_template_cluster_is_the_tutorials(tutorial: Faaslab) -> None:
    c = tutorial.get("/_faaslab/db/tcss562")
    assert (c["Engine"], c["EngineMode"], c["MasterUsername"]) == (
        "aurora-mysql",
        "serverless",
        DB_USER,
    )
    assert (c["MinCapacity"], c["MaxCapacity"], c["Capacity"]) == (1, 1, 1)
    assert c["AutoPause"] is True and c["SecondsUntilAutoPause"] == 300
    assert c["DatabaseName"] is None  # part 5 creates TEST with the client
    functions = {f["name"]: f for f in tutorial.get("/_faaslab/functions")["functions"]}
    assert functions["helloMySQL"]["timeout_s"] == 300
    assert functions["helloMySQL"]["memory_mb"] == 512


def test_hello_mysql_keeps_every_name_in_the_cluster(tutorial: Faaslab, mytable: int) -> None:
    lam = tutorial.client()
    names = ["Fred Smith", "Mary O'Brien", "x'); DROP TABLE mytable; --"]
    outs = [invoke(lam, "helloMySQL", {"name": n})[1] for n in names]
    for i, out in enumerate(outs):
        assert out["value"] == f"Hello {names[i]}"
        assert out["names"] == ["fred", *names[: i + 1]]  # the bastion's row, then each call's
        for key in ("uuid", "newcontainer", "runtime", "cpuUserDelta", "functionName"):
            assert key in out
    assert [o["newcontainer"] for o in outs] == [1, 0, 0]
    # The rows are in the cluster's MariaDB, as any other client sees them.
    con = pymysql.connect(
        host="127.0.0.1", port=mytable, user=DB_USER, password=DB_PASSWORD, database="TEST"
    )
    try:
        with con.cursor() as cur:
            cur.execute("select name, col2, col3 from mytable")
            rows = cur.fetchall()
    finally:
        con.close()
    assert rows == (("fred", "testcol2", "testcol3"), *((n, "b", "c") for n in names))
    # The handler closes its connection: a frozen container must not keep the cluster awake.
    # (Polled: the endpoint counts a close when it reads the EOF, just after the answers.)
    deadline = time.monotonic() + 10
    while tutorial.get("/_faaslab/db/tcss562")["Connections"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert tutorial.get("/_faaslab/db/tcss562")["Connections"] == 0


def test_hello_mysql_http_route(tutorial: Faaslab, mytable: int) -> None:
    import urllib.request

    req = urllib.request.Request(
        tutorial.url + "/helloMySQL",
        data=b'{"name": "Curl"}',
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        out = json.loads(r.read())
    assert out["value"] == "Hello Curl" and out["names"][-1] == "Curl"


def test_hello_sqlite_in_java(tutorial: Faaslab) -> None:
    """The tutorial's own HelloSqlite.java (java17, built by `make java`)."""
    lam = tutorial.client()
    _, first = invoke(lam, "helloSqliteJava", {"name": "Fred Smith"})
    _, second = invoke(lam, "helloSqliteJava", {"name": "x'); DROP TABLE mytable; --"})
    assert first["newcontainer"] == 1 and second["newcontainer"] == 0, first
    assert second["uuid"] == first["uuid"]
    assert second["names"] == ["Fred Smith", "x'); DROP TABLE mytable; --"]
    assert second["uses"] == first["uses"] + 1
    # SAAF 0.7's names and units (CPU times in ms), from the Java Inspector
    assert (second["version"], second["lang"], second["platform"]) == (0.7, "java", "AWS Lambda")
    assert second["invocations"] == 2 and second["functionMemory"] == "512"
    for key in (
        "bootTime",
        "cpuUser",
        "cpuUserDelta",
        "cpuKernelDelta",
        "cpuCores",
        "architecture",
        "availableCPUs",
        "userRuntime",
        "runtime",
        "pageFaultsDelta",
    ):
        assert key in second, key
    assert second["cpuUser"] % 10 == 0  # ticks of 10 ms, in ms
    logs = tutorial.get("/_faaslab/logs/helloSqliteJava")["records"]
    assert sum("trying to create table 'mytable'" in str(r["m"]) for r in logs) == 1
    outs = [invoke(lam, "helloSqliteMemoryJava", {"name": n})[1] for n in ("Ann", "Bob")]
    assert [o["names"] for o in outs] == [["Ann"], ["Bob"]]
    assert [o["uses"] for o in outs] == [1, 2]


def test_hello_mysql_in_java(tutorial: Faaslab, mytable: int) -> None:
    """HelloMySQL.java: its db.properties reaches the cluster through the template's
    variables; MariaDB Connector/J takes the tutorial's jdbc:mysql: URL."""
    lam = tutorial.client()
    outs = [invoke(lam, "helloMySQLJava", {"name": n})[1] for n in ("Java 1", "Java 2")]
    assert "error" not in outs[1], outs[1]
    assert outs[1]["names"][0] == "fred" and outs[1]["names"][-2:] == ["Java 1", "Java 2"]
    assert outs[1]["value"] == "Hello Java 2"
    logs = tutorial.get("/_faaslab/logs/helloMySQLJava")["records"]
    assert any(f"connected to 127.0.0.1:{mytable} in " in str(r["m"]) for r in logs)


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
    # the request log stays in the state dir: no lines of it inside the demo's narrative
    assert " AWS lambda.Invoke => " not in out + cp.stderr
    for q in range(1, 8):
        assert re.search(rf"^Q{q}\. ", out, re.M), f"Q{q} missing"
        assert re.search(rf"^Q{q} in Java\.$", out, re.M), f"Q{q} in Java missing"
    assert re.search(r"Q2 in Java\.\n\s+-> the new container \w+ \(newcontainer=1\)", out)
    assert re.search(r"Q3 in Java\.\n\s+-> NO:", out)
    assert re.search(r"Q4 in Java\.\n\s+-> YES: uses went \[1, 2, 3\]", out)
    assert re.search(r"Q7 in Java\.\n\s+-> the call after the pause took [\d.]+ s", out)
    assert re.search(r"-> 8192 bytes \(it was 4096 bytes empty\)", out)
    assert re.search(r"Q2\..*\n\s+-> the new container \w+ \(newcontainer=1\)", out)
    assert re.search(r"Q3\..*\n\s+-> NO:", out)
    assert re.search(r"Q4\..*\n\s+-> YES:", out)
    # Part 5: the bastion session with the real mariadb client created TEST.mytable.
    assert re.search(r"^ +\| fred +\| testcol2 \| testcol3 \|$", out, re.M)
    assert "database TEST, table mytable and the row 'fred' created: True" in out
    # Part 6: each helloMySQL call appended its name after the bastion's row.
    names = re.findall(r"value=.*? names=(\[.*\])$", out, re.M)
    assert names[:4] == [
        "['fred', 'Fred Smith']",
        "['fred', 'Fred Smith', 'Susan Smith']",
        "['fred', 'Fred Smith', 'Susan Smith', 'Bill Gates']",
        """['fred', 'Fred Smith', 'Susan Smith', 'Bill Gates', "Mary O'Brien"]""",
    ]
    # Q7: the cluster paused, and the next call resumed it, with the client's timings.
    assert re.search(r"status: paused after [\d.]+ s", out)
    q7 = re.search(
        r"^Q7\..*\n\s+-> the call after the pause took ([\d.]+) s \(aws CLI `real` above\), "
        r"against ([\d.]+) s for the warm calls before it\. The cluster resumed in ([\d.]+) s "
        r"\(RDS-EVENT-0147 -> RDS-EVENT-0148\).*its connect waited ([\d.]+) ms.*"
        r"The data survived the pause: 5 of 5 names kept",
        out,
        re.M,
    )
    assert q7, out
    cold, warm, resume, waited = map(float, q7.groups())
    assert cold > 0 and warm > 0 and 0 < resume < 30 and waited > 0
    assert "value='Hello After Pause'" in out
    # The RDS events, in the order a pause and a resume produce them, with AWS's texts.
    events = re.findall(r"^ +\S+ \S+ +(RDS-EVENT-\d{4}) +(.*)$", out, re.M)
    codes = [code for code, _ in events]
    assert codes[0] == "RDS-EVENT-0170"
    cycle = ["RDS-EVENT-0144", "RDS-EVENT-0145", "RDS-EVENT-0147", "RDS-EVENT-0148"]
    last = max(i for i, code in enumerate(codes) if code == "RDS-EVENT-0148")  # Q7's resume
    assert codes[last - 3 : last + 1] == cycle, codes
    assert events[last - 3 : last + 1] == [
        ("RDS-EVENT-0144", "The DB cluster is being paused."),
        ("RDS-EVENT-0145", "The DB cluster is paused."),
        ("RDS-EVENT-0147", "The DB cluster is being resumed."),
        ("RDS-EVENT-0148", "The DB cluster is resumed."),
    ]
    # The bill: one activation for the creation and one per resume, at $0.06 per ACU-hour.
    assert "tcss562 (v1): $0.06 per ACU-hour" in out
    activations = re.findall(r"^ +activation \d+: ", out, re.M)
    assert len(activations) == 1 + codes.count("RDS-EVENT-0148")
    assert re.search(r"^ +total: +\$\d+\.\d{6}$", out, re.M)
    stopped = re.search(r"everything stopped .*cluster's engine: pids \[([\d, ]+)\] gone", out)
    assert stopped, out
    for pid in map(int, stopped.group(1).split(", ")):
        assert not Path(f"/proc/{pid}").exists() or _not_mariadbd(pid)


def _not_mariadbd(pid: int) -> bool:
    """A pid the demo's engine had may have been reused since by another process."""
    try:
        return "mariadbd" not in Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return True
