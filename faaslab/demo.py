"""`faaslab demo`: tutorial 6 ("Lambda III: Serverless Databases") end to end, locally.

Starts a control plane for examples/tutorial6/template.yaml in a background thread (a
fresh state dir each time, so what it shows is reproducible), runs each part with the
clients the tutorial uses — the sqlite3 CLI, the tutorial's callservice.sh/calltwice.sh
over the real `aws` CLI — and prints every question with the evidence it observed.
Every answer is computed from what the run saw; nothing is canned.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import click

from faaslab.config import Config
from faaslab.controlplane import ControlPlane

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "tutorial6"


class LocalCloud:
    """A ControlPlane running on its own event loop in a thread, for scripted use."""

    def __init__(self, template: Path, state_dir: Path, port: int) -> None:
        self.cp = ControlPlane(Config(port=port, state_dir=state_dir), template)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> LocalCloud:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.cp.start(), self._loop).result(60)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.cp.stop(), self._loop).result(60)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return self.cp.url

    def logs(self, function: str) -> list[str]:
        assert self.cp.manager is not None
        self.cp.manager.logs.flush()
        from faaslab.functions.logs import read_records

        records, _ = read_records(self.cp.manager.logs.path(function))
        return [str(r["m"]) for r in records]


def heading(text: str) -> None:
    click.echo()
    click.secho(f"== {text} ", bold=True)


def question(n: int, text: str, answer: str) -> None:
    click.secho(f"Q{n}. {text}", fg="cyan", bold=True)
    click.echo(f"    -> {answer}")


def run(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> str:
    click.secho("$ " + " ".join(cmd), dim=True)
    cp = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    if cp.returncode != 0:
        raise click.ClickException(
            f"{' '.join(cmd)} failed ({cp.returncode}):\n{cp.stdout}\n{cp.stderr}"
        )
    return cp.stdout


def results_in(output: str) -> list[dict[str, Any]]:
    """The JSON documents a callservice.sh run printed (after 'AWS CLI RESULT:')."""
    out = []
    for chunk in output.split("AWS CLI RESULT:")[1:]:
        start = chunk.find("{")
        depth = 0
        for i, ch in enumerate(chunk[start:], start):
            depth += ch == "{"
            depth -= ch == "}"
            if depth == 0:
                out.append(json.loads(chunk[start : i + 1]))
                break
    return out


def brief(r: dict[str, Any]) -> str:
    return (
        f"uuid={r.get('uuid', '?')[:8]} newcontainer={r.get('newcontainer')} "
        f"uses={r.get('uses')} names={r.get('names')}"
    )


def run_demo(port: int | None = None) -> int:
    if not (EXAMPLE / "template.yaml").exists():
        raise click.ClickException(f"the example is missing: {EXAMPLE}/template.yaml")
    started = time.monotonic()
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    env.setdefault("AWS_ACCESS_KEY_ID", "AKIAFAASLABLOCAL0001")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "faaslab/local/secret/key/0001")
    env["AWS_DEFAULT_REGION"] = env.get("AWS_DEFAULT_REGION", "us-east-1")
    work = Path(tempfile.mkdtemp(prefix="faaslab-demo-"))
    try:
        click.secho(
            "faaslab demo: TCSS 562 tutorial 6, Lambda III: Serverless Databases", bold=True
        )
        click.echo(f"(a fresh local cloud; scratch files in {work})")
        part1(work, env)
        with LocalCloud(EXAMPLE / "template.yaml", work / "state", port or 0) as cloud:
            env["FAASLAB_ENDPOINT"] = cloud.url
            click.echo(f"\nlocal cloud up at {cloud.url} with {EXAMPLE / 'template.yaml'}")
            for w in cloud.cp.manager.warnings if cloud.cp.manager else []:
                click.secho(f"warning: {w}", fg="yellow")
            part2(cloud, env)
        click.secho(
            f"\ndemo finished in {time.monotonic() - started:.1f} s; everything stopped.", bold=True
        )
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def part1(work: Path, env: dict[str, str]) -> None:
    heading("Part 1: the sqlite3 command line")
    if shutil.which("sqlite3") is None:
        raise click.ClickException(
            "the sqlite3 CLI is missing: `make install` installs it (apt package sqlite3)"
        )
    out = run(["bash", str(EXAMPLE / "part1_sqlite.sh"), str(work / "part1")], env)
    click.echo(_indent(out))
    sizes = [int(m) for m in re.findall(r"\b(\d+) bytes\b", out)] or [
        int(m.split()[4]) for m in re.findall(r"^-\S+\s+\d+\s+\S+\s+\S+\s+\d+.*new\.db$", out, re.M)
    ]
    size = (work / "part1" / "new.db").stat().st_size
    question(
        1,
        "After creating 'newtable' and loading data, what is the size of new.db?",
        f"{size} bytes (it was {sizes[0] if sizes else 4096} bytes empty): sqlite3 grows the file "
        "by whole pages, here one for the schema and one for the table.",
    )


def part2(cloud: LocalCloud, env: dict[str, str]) -> None:
    heading("Part 2: helloSqlite, a SQLite file in /tmp of a warm container")
    calls: list[dict[str, Any]] = []
    for name in ("Fred Smith", "Susan Smith", "Bill Gates"):
        out = run(["bash", str(EXAMPLE / "callservice.sh"), "helloSqlite", name], env)
        r = results_in(out)[-1]
        calls.append(r)
        click.echo(f"    {_timing(out)} {brief(r)}")
    reports = [line for line in cloud.logs("helloSqlite") if line.startswith("REPORT")]
    durations = [
        m.group(1) for line in reports if (m := re.search(r"\tDuration: ([\d.]+) ms", line))
    ]
    init = next(
        (m.group(1) for line in reports if (m := re.search(r"Init Duration: ([\d.]+)", line))), None
    )
    click.echo(
        f"  the function itself ran {', '.join(durations)} ms (REPORT lines)"
        + (f"; the first call was a cold start (Init Duration {init} ms)" if init else "")
        + "; the rest of each call is the aws CLI starting up"
    )
    same = len({c["uuid"] for c in calls}) == 1
    click.echo(
        f"  one container served all three calls: {same}; "
        f"names grew {[len(c['names']) for c in calls]}"
    )

    heading("calltwice.sh: two clients at the same time")
    out = run(["bash", str(EXAMPLE / "calltwice.sh")], env)
    twice = results_in(out)
    for r in twice:
        click.echo(f"    {brief(r)}")
    if not any(r["newcontainer"] == 1 for r in twice):
        click.echo(
            "  (one warm container served both: the calls did not overlap, as a warm call takes\n"
            "   a few ms here. Two signed requests sent at the same instant instead:)"
        )
        for attempt in range(5):  # (a loaded machine can still serve them one by one)
            together = simultaneous(
                cloud.url, "helloSqlite", [f"Client {2 * attempt + 3}", f"Client {2 * attempt + 4}"]
            )
            for r in together:
                click.echo(f"    {brief(r)}")
            twice += together
            if any(r["newcontainer"] == 1 for r in together):
                break
    new = [r for r in twice if r["newcontainer"] == 1]
    old = [r for r in twice if r["newcontainer"] == 0]
    question(
        2, "When a second client calls at the same time, how is its data different?", _q2(new, old)
    )

    heading("helloSqliteMemory: the in-memory database")
    mem = [_invoke_cli(env, "helloSqliteMemory", n) for n in ("Ann", "Bob", "Cid")]
    for r in mem:
        click.echo(f"    {brief(r)}")
    same_mem = len({r["uuid"] for r in mem}) == 1
    persisted = any(len(r["names"]) > 1 for r in mem)
    question(
        3,
        "With an in-memory DB, does data persist between calls in the same container?",
        f"{'YES' if persisted else 'NO'}: {len(mem)} calls, same container: {same_mem}, "
        f"names per call {[len(r['names']) for r in mem]} (the DB is opened per call).",
    )

    uses = [r["uses"] for r in mem]
    question(
        4,
        "Does the static counter persist across calls in the same container?",
        f"{'YES' if uses == sorted(uses) and uses[-1] > uses[0] else 'NO'}: uses went {uses} "
        "in one container (module globals live as long as the container).",
    )
    by_container: dict[str, list[int]] = {}
    for r in calls + twice:
        by_container.setdefault(r["uuid"][:8], []).append(r["uses"])
    question(
        5,
        "How does the counter differ across containers?",
        "each container counts only its own calls: "
        + ", ".join(f"{k}: {v}" for k, v in by_container.items()),
    )
    creates = [line for line in cloud.logs("helloSqlite") if "create table" in line]
    containers = len({r["uuid"] for r in calls + twice})
    question(
        6,
        "Before inserting rows into 'mytable', what has to be done and why?",
        "check sqlite_master and create 'mytable' when missing: every new container starts "
        f"with an empty /tmp. The log shows the create {len(creates)} time(s) for {containers} "
        "container(s), once per new container.",
    )


def simultaneous(url: str, function: str, names: list[str]) -> list[dict[str, Any]]:
    """Invoke once per name, the requests leaving within microseconds of each other.

    Threads with a barrier are not enough here: a warm call takes ~2 ms, about the time one
    Python client needs to prepare a request, so the second call often finds the first
    container free again. Signed requests are prepared first (botocore, as the aws CLI signs
    them), then written back to back on separate connections.
    """
    import http.client
    import socket
    from urllib.parse import urlsplit

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    host = urlsplit(url)
    creds = Credentials(
        os.environ.get("AWS_ACCESS_KEY_ID", "AKIAFAASLABLOCAL0001"),
        os.environ.get("AWS_SECRET_ACCESS_KEY", "faaslab/local/secret/key/0001"),
    )
    wire = []
    for name in names:
        req = AWSRequest(
            "POST",
            f"{url}/2015-03-31/functions/{function}/invocations",
            data=json.dumps({"name": name}).encode(),
            headers={"Content-Type": "application/json"},
        )
        SigV4Auth(creds, "lambda", "us-east-1").add_auth(req)
        p = req.prepare()
        head = f"POST {urlsplit(p.url).path} HTTP/1.1\r\nHost: {host.netloc}\r\n"
        skip = ("host", "content-length")
        head += "".join(f"{k}: {v}\r\n" for k, v in p.headers.items() if k.lower() not in skip)
        head += f"Content-Length: {len(p.body)}\r\n\r\n"
        wire.append(head.encode() + p.body)
    socks = [socket.create_connection((host.hostname, host.port)) for _ in names]
    try:
        for sock, data in zip(socks, wire, strict=True):
            sock.sendall(data)
        results = []
        for sock in socks:
            resp = http.client.HTTPResponse(sock)
            resp.begin()
            results.append(json.loads(resp.read()))
        return results
    finally:
        for sock in socks:
            sock.close()


def _q2(new: list[dict[str, Any]], old: list[dict[str, Any]]) -> str:
    if not new:
        return "both calls were served by warm containers this time (run again to see a new one)."
    n = new[0]
    o = max(old, key=lambda r: len(r["names"])) if old else None
    prev = f"while the warm container {o['uuid'][:8]} has {o['names']}" if o else ""
    return (
        f"the new container {n['uuid'][:8]} (newcontainer=1) starts with an empty /tmp: "
        "its names are "
        f"{n['names']}, {prev}. Each container has its own /tmp, so its own database."
    )


def _invoke_cli(env: dict[str, str], function: str, name: str) -> dict[str, Any]:
    out = run(["bash", str(EXAMPLE / "callservice.sh"), function, name], env)
    return results_in(out)[-1]


def _timing(out: str) -> str:
    """The `time` of the aws CLI call, as 'aws CLI 0.64 s' (bash prints real 0m0.640s)."""
    m = re.search(r"real\s+(\d+)m([\d.]+)s", out)
    return f"aws CLI {int(m.group(1)) * 60 + float(m.group(2)):.2f} s:" if m else ""


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.rstrip().splitlines())
