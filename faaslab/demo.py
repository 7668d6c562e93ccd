"""`faaslab demo`: tutorial 6 ("Lambda III: Serverless Databases") end to end, locally.

Starts a control plane for examples/tutorial6/template.yaml in a background thread (a
fresh state dir each time, so what it shows is reproducible), runs each part with the
clients the tutorial uses — the sqlite3 CLI, the tutorial's callservice.sh/calltwice.sh
over the real `aws` CLI, the real `mariadb` client on the Aurora cluster's endpoint, the
`faaslab db` commands for the RDS console's views — and prints every question with the
evidence it observed. Every answer is computed from what the run saw; nothing is canned.

The cloud runs at DEMO_TIME_SCALE, so the cluster's 5-minute auto-pause (and its bill)
passes in seconds; engine starts, invocations and the clients' timings stay real.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from faaslab.cliutil import get
from faaslab.config import Config
from faaslab.controlplane import ControlPlane
from faaslab.databases import billing
from faaslab.template_properties import report_lines

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "tutorial6"
#: An emulated minute per real second: SecondsUntilAutoPause 300 passes in 5 s, and the
#: bill counts emulated time. Function keep-alive (600 s) becomes 10 s, longer than part
#: 2 or the wait for the pause in part 6 keeps a container idle.
DEMO_TIME_SCALE = 60.0
CLUSTER = "tcss562"  # the template's DBClusterIdentifier, the tutorial's cluster name
#: The `faaslab` command of this installation (run_demo puts its directory first in PATH).
FAASLAB = (
    ["faaslab"]
    if (Path(sys.executable).parent / "faaslab").exists()
    else [sys.executable, "-m", "faaslab.cli"]
)


class LocalCloud:
    """A ControlPlane running on its own event loop in a thread, for scripted use."""

    def __init__(self, template: Path, state_dir: Path, port: int, time_scale: float = 1.0) -> None:
        # (the request log stays in the state dir: the demo's output is its own narrative;
        # no web console: nobody could open it before the demo stops)
        config = Config(
            port=port,
            state_dir=state_dir,
            time_scale=time_scale,
            request_log=False,
            console=False,
        )
        self.cp = ControlPlane(config, template)
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


def question(n: int, text: str, answer: str, lang: str = "") -> None:
    """A question and its answer; `lang`: the same question answered by another language's
    functions (its text is not repeated)."""
    click.secho(f"Q{n} in {lang}." if lang else f"Q{n}. {text}", fg="cyan", bold=True)
    click.echo(f"    -> {answer}")


@dataclass(frozen=True)
class Variant:
    """The tutorial's functions in one language: the Python ports, or the Java originals."""

    lang: str  # "" for the Python ports (the questions' first answers)
    sqlite: str
    memory: str
    mysql: str
    statics: str  # what keeps a counter across calls


PYTHON = Variant(
    "",
    "helloSqlite",
    "helloSqliteMemory",
    "helloMySQL",
    "module globals live as long as the container",
)
JAVA = Variant(
    "Java",
    "helloSqliteJava",
    "helloSqliteMemoryJava",
    "helloMySQLJava",
    "a static field lives as long as the container's JVM",
)


def run(
    cmd: list[str], env: dict[str, str], cwd: Path | None = None, stdin: Path | None = None
) -> str:
    shown = " ".join(map(_shell_word, cmd)) + (f" < {_shell_word(str(stdin))}" if stdin else "")
    click.secho("$ " + shown, dim=True)
    with open(stdin or os.devnull) as given:
        cp = subprocess.run(
            cmd, env=env, cwd=cwd, stdin=given, capture_output=True, text=True, timeout=120
        )
    if cp.returncode != 0:
        raise click.ClickException(
            f"{' '.join(cmd)} failed ({cp.returncode}):\n{cp.stdout}\n{cp.stderr}"
        )
    return cp.stdout


def _shell_word(word: str) -> str:
    """`word` as a shell would need it typed: "Mary O'Brien" rather than shlex's
    'Mary O'"'"'Brien' when double quotes are enough."""
    quoted = shlex.quote(word)
    if quoted != word and "'" in word and not any(c in word for c in '"$`\\!'):
        return f'"{word}"'
    return quoted


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


JAVA_EXAMPLE = EXAMPLE / "java"


def build_java_functions() -> None:
    """The tutorial's Java functions, built (java/build.sh, as `make java` runs it) when a
    package is missing or older than a source."""
    zips = [JAVA_EXAMPLE / "build" / f"hello-{name}.zip" for name in ("sqlite", "mysql")]
    sources = [*JAVA_EXAMPLE.glob("src/**/*.java"), *JAVA_EXAMPLE.glob("*.*")]
    newest = max((p.stat().st_mtime for p in sources), default=0.0)
    if all(z.exists() and z.stat().st_mtime >= newest for z in zips):
        return
    click.echo("building the tutorial's Java functions (examples/tutorial6/java/build.sh)")
    done = subprocess.run(["bash", str(JAVA_EXAMPLE / "build.sh")], capture_output=True, text=True)
    if done.returncode != 0:
        raise click.ClickException(f"building the Java functions failed:\n{done.stderr}")


def run_demo(port: int | None = None) -> int:
    if not (EXAMPLE / "template.yaml").exists():
        raise click.ClickException(f"the example is missing: {EXAMPLE}/template.yaml")
    build_java_functions()
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
        db_size = part1(work, env)
        template = EXAMPLE / "template.yaml"
        with LocalCloud(template, work / "state", port or 0, DEMO_TIME_SCALE) as cloud:
            env["FAASLAB_ENDPOINT"] = cloud.url
            click.echo(
                f"\nlocal cloud up at {cloud.url} with {template}\n(time scale "
                f"{DEMO_TIME_SCALE:g}: an emulated minute of the cluster's timers and bill "
                "passes in a real second)"
            )
            for w in cloud.cp.manager.warnings if cloud.cp.manager else []:
                click.secho(f"warning: {w}", fg="yellow")
            if cloud.cp.template is not None:
                lines = report_lines(cloud.cp.template.warnings, cloud.cp.template.unsupported)
                for i, line in enumerate(lines):
                    click.secho(f"warning: {line}" if i == 0 else line, fg="yellow")
            part2(cloud, env)
            part2(cloud, env, JAVA, db_size)
            part3(cloud, env)
            engine_pids = aurora_parts(cloud, env)
        alive = [pid for pid in engine_pids if _alive(pid)]
        if alive:
            raise click.ClickException(f"the cluster's engine is still running: pids {alive}")
        click.secho(
            f"\ndemo finished in {time.monotonic() - started:.1f} s; everything stopped "
            f"(functions' environments, and the cluster's engine: pids {sorted(engine_pids)} "
            "gone).",
            bold=True,
        )
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def part1(work: Path, env: dict[str, str]) -> int:
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
    return size


def part2(cloud: LocalCloud, env: dict[str, str], v: Variant = PYTHON, db_size: int = 0) -> None:
    """Questions 2-6 on the Python ports, or (v=JAVA) on the tutorial's own Java code."""
    if v.lang:
        heading(f"Part 2 in Java: {v.sqlite}, the tutorial's HelloSqlite.java (java17)")
        question(1, "", f"the same {db_size} bytes: part 1 uses the sqlite3 CLI only", v.lang)
    else:
        heading("Part 2: helloSqlite, a SQLite file in /tmp of a warm container")
    calls: list[dict[str, Any]] = []
    for name in ("Fred Smith", "Susan Smith", "Bill Gates"):
        out = run(["bash", str(EXAMPLE / "callservice.sh"), v.sqlite, name], env)
        r = results_in(out)[-1]
        calls.append(r)
        click.echo(f"    {_timing(out)} {brief(r)}")
    reports = [line for line in cloud.logs(v.sqlite) if line.startswith("REPORT")]
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
    out = run(["bash", str(EXAMPLE / "calltwice.sh"), v.sqlite], env)
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
                cloud.url, v.sqlite, [f"Client {2 * attempt + 3}", f"Client {2 * attempt + 4}"]
            )
            for r in together:
                click.echo(f"    {brief(r)}")
            twice += together
            if any(r["newcontainer"] == 1 for r in together):
                break
    new = [r for r in twice if r["newcontainer"] == 1]
    old = [r for r in twice if r["newcontainer"] == 0]
    question(
        2,
        "When a second client calls at the same time, how is its data different?",
        _q2(new, old),
        v.lang,
    )

    heading(f"{v.memory}: the in-memory database")
    mem = [_invoke_cli(env, v.memory, n) for n in ("Ann", "Bob", "Cid")]
    for r in mem:
        click.echo(f"    {brief(r)}")
    same_mem = len({r["uuid"] for r in mem}) == 1
    persisted = any(len(r["names"]) > 1 for r in mem)
    question(
        3,
        "With an in-memory DB, does data persist between calls in the same container?",
        f"{'YES' if persisted else 'NO'}: {len(mem)} calls, same container: {same_mem}, "
        f"names per call {[len(r['names']) for r in mem]} (the DB is opened per call).",
        v.lang,
    )

    uses = [r["uses"] for r in mem]
    question(
        4,
        "Does the static counter persist across calls in the same container?",
        f"{'YES' if uses == sorted(uses) and uses[-1] > uses[0] else 'NO'}: uses went {uses} "
        f"in one container ({v.statics}).",
        v.lang,
    )
    by_container: dict[str, list[int]] = {}
    for r in calls + twice:
        by_container.setdefault(r["uuid"][:8], []).append(r["uses"])
    question(
        5,
        "How does the counter differ across containers?",
        "each container counts only its own calls: "
        + ", ".join(f"{k}: {n}" for k, n in by_container.items()),
        v.lang,
    )
    creates = [line for line in cloud.logs(v.sqlite) if "create table" in line]
    containers = len({r["uuid"] for r in calls + twice})
    question(
        6,
        "Before inserting rows into 'mytable', what has to be done and why?",
        "check sqlite_master and create 'mytable' when missing: every new container starts "
        f"with an empty /tmp. The log shows the create {len(creates)} time(s) for {containers} "
        "container(s), once per new container.",
        v.lang,
    )


def part3(cloud: LocalCloud, env: dict[str, str]) -> None:
    heading("Part 3 (optional exercise): the SQLite file kept in S3 between containers")
    assert cloud.cp.template is not None
    bucket = next(n for n, lid in cloud.cp.template.buckets.items() if lid == "TutorialBucket")
    click.echo(
        f"  helloSqliteS3 keeps sqlite/<dbname> in bucket {bucket} (generated name, as\n"
        "  CloudFormation does); each call revalidates the container's copy in /tmp with a\n"
        "  conditional GET and uploads the new file with If-Match (faaslab/sqlite_s3.py)"
    )
    calls = []
    for name in ("Ann", "Bob", "Cid"):
        out = run(["bash", str(EXAMPLE / "callservice.sh"), "helloSqliteS3", name, DB_NAME], env)
        r = results_in(out)[-1]
        calls.append(r)
        click.echo(f"    {_timing(out)} {brief(r)} s3={_s3_brief(r)}")
    click.echo("  four clients at the same instant (new containers pull the file from S3):")
    together: list[dict[str, Any]] = []
    for attempt in range(5):
        names = [f"Parallel {4 * attempt + i + 1}" for i in range(4)]
        batch = simultaneous(cloud.url, "helloSqliteS3", names, {"dbname": DB_NAME})
        for r in batch:
            click.echo(f"    {brief(r)} s3={_s3_brief(r)}")
        together += batch
        if any(r["newcontainer"] == 1 for r in batch):
            break
    final = _invoke_cli(env, "helloSqliteS3", "Dee", DB_NAME)
    click.echo(f"    {brief(final)} s3={_s3_brief(final)}")
    click.echo(
        _indent(
            run(["aws", "--endpoint-url", cloud.url, "s3", "ls", f"s3://{bucket}/sqlite/"], env)
        )
    )
    results = [*calls, *together, final]
    sent = [r["value"].removeprefix("Hello ") for r in results]
    missing = [n for n in sent if n not in final["names"]]
    containers = len({r["uuid"] for r in results})
    per_container: dict[str, int] = {}  # (each container's counts are cumulative)
    for r in results:
        per_container[r["uuid"]] = max(per_container.get(r["uuid"], 0), r["s3"]["conflicts"])
    conflicts = sum(per_container.values())
    click.secho(
        "Part 3. Do parallel containers see each other's names through S3?", fg="cyan", bold=True
    )
    click.echo(
        f"    -> {'YES' if not missing else 'NO'}: {len(sent)} names sent through {containers} "
        f"containers, the last call's database has {len(final['names'])} names"
        + (f", missing {missing}" if missing else ", none lost")
        + (
            f". {conflicts} upload(s) found another container's write first (If-Match: "
            "412/409) and replayed their insert on the newer file; without the condition, "
            "each would have overwritten that write and dropped its names."
            if conflicts
            else ". No two uploads overlapped this time, so no insert had to be replayed."
        )
    )


def _s3_brief(r: dict[str, Any]) -> str:
    s = r.get("s3", {})
    return (
        f"(downloads {s.get('downloads')}, not modified {s.get('not_modified')}, "
        f"uploads {s.get('uploads')}, conflicts {s.get('conflicts')})"
    )


DB_NAME = "names.db"  # part 3's database file (the request's dbname)


# -- parts 4-6: the Aurora Serverless MySQL cluster and helloMySQL

#: The tutorial's bastion session (part 5), statement by statement.
PART5_SQL = EXAMPLE / "part5_mysql.sql"
#: callservice.sh's names for helloMySQL (3x-5x, as the tutorial asks); a quote included,
#: which the Java's string concatenation would break on.
MYSQL_NAMES = ("Fred Smith", "Susan Smith", "Bill Gates", "Mary O'Brien")
RESUMING, RESUMED = "RDS-EVENT-0147", "RDS-EVENT-0148"
PAUSING, PAUSED, PAUSE_CANCELED = "RDS-EVENT-0144", "RDS-EVENT-0145", "RDS-EVENT-0146"


class ClusterView:
    """The cluster as the `faaslab db` commands see it (the edge's /_faaslab/db API), and
    the engine pids it had, so the demo can check at the end that they are gone."""

    def __init__(self, url: str, identifier: str) -> None:
        self.url = url
        self.identifier = identifier
        self.engine_pids: set[int] = set()

    def describe(self) -> dict[str, Any]:
        c: dict[str, Any] = get(self.url, f"/_faaslab/db/{self.identifier}")
        if c.get("EnginePid"):
            self.engine_pids.add(int(c["EnginePid"]))
        return c

    def events(self) -> list[dict[str, Any]]:
        return list(get(self.url, f"/_faaslab/db/{self.identifier}/events")["events"])

    def cost(self) -> dict[str, Any]:
        return dict(get(self.url, f"/_faaslab/db/{self.identifier}/cost"))

    def wait_for(self, status: str, timeout: float) -> float:
        """Seconds until the cluster's status is `status` (polled every 50 ms)."""
        started = time.monotonic()
        while self.describe()["Status"] != status:
            if time.monotonic() - started > timeout:
                raise click.ClickException(
                    f"cluster {self.identifier} not {status} after {timeout:.0f} s"
                )
            time.sleep(0.05)
        return time.monotonic() - started


def aurora_parts(cloud: LocalCloud, env: dict[str, str]) -> set[int]:
    """Parts 4-6 on the template's cluster; returns the engine pids seen."""
    cluster = ClusterView(cloud.url, CLUSTER)
    part4(cluster, env)
    part5(cloud, cluster, env)
    part6(cloud, cluster, env)
    part6(cloud, cluster, env, JAVA)
    data_api_part(cloud, cluster, env)
    cluster_records(cluster, env)
    return cluster.engine_pids


def part4(cluster: ClusterView, env: dict[str, str]) -> None:
    heading("Part 4: an Aurora Serverless MySQL cluster, from the template")
    click.echo(_indent(run([*FAASLAB, "db", "describe", CLUSTER], env)))
    c = cluster.describe()
    price = cluster.cost()["price_per_acu_hour"]
    click.echo(
        f"  {c['Engine']} EngineMode {c['EngineMode']} (Serverless {c['ServerlessVersion']}): "
        f"a real {c['LocalEngine']} server; clients connect to the endpoint "
        f"{c['Endpoint']}:{c['Port']}"
        + (
            " (while the cluster is available, the kernel hands local ones straight to "
            "the engine).\n"
            if c.get("DirectPort")
            else ".\n"
        )
        + f"  Capacity {c['MinCapacity']:g}-{c['MaxCapacity']:g} ACU: MaxCapacity "
        f"{c['MaxCapacity']:g} disables auto-scaling, so an active hour costs at most "
        f"${price * c['MaxCapacity']:.2f} (${price:.2f} per ACU-hour, per second, "
        f"{billing.V1_MINIMUM_SECONDS / 60:.0f}-minute minimum per activation).\n"
        f"  Pause after {c['SecondsUntilAutoPause']} s without connections "
        f"({c['SecondsUntilAutoPause'] / DEMO_TIME_SCALE:g} s here); status now: {c['Status']}."
    )


def part5(cloud: LocalCloud, cluster: ClusterView, env: dict[str, str]) -> None:
    heading("Part 5: the bastion's mysql client, through the cluster's endpoint")
    c = cluster.describe()
    assert cloud.cp.template is not None
    spec = cloud.cp.template.clusters[CLUSTER]
    click.echo(
        "  On AWS: an EC2 VM in the cluster's VPC, a MYSQL/Aurora inbound rule in its security\n"
        f"  group, then mysql --host=<Database endpoint> --port=3306 --user={spec.master_username}"
        " --password=...\n"
        f"  Here: the endpoint {c['Endpoint']}:{c['Port']} admits {', '.join(c['Ingress'])}, and "
        "`faaslab db connect` runs the real client on it (password from MYSQL_PWD):"
    )
    seen = len(cluster.events())
    db_env = dict(env, MYSQL_PWD=spec.master_password)
    started = time.monotonic()
    connect = [*FAASLAB, "db", "connect", CLUSTER, "--", "--table", "--verbose"]
    out = run(connect, db_env, stdin=PART5_SQL)
    took = time.monotonic() - started
    click.echo(_indent(out))
    created = "| TEST" in out and "| mytable" in out and "| fred" in out
    during = [e["EventId"] for e in cluster.events()[seen:]]
    if RESUMING in during:
        resumed = _spans(cluster.events(), RESUMING, RESUMED)[-1]
        note = (
            f"the cluster had paused ({c['SecondsUntilAutoPause']} emulated s without "
            "connections since it was created), so the endpoint held this client while it "
            f"resumed ({RESUMING} -> {RESUMED} in {resumed:.2f} s), as the tutorial warns "
            "(up to 30 s on AWS)"
        )
    elif PAUSE_CANCELED in during:
        note = f"it arrived while the cluster was being paused: pause canceled ({PAUSE_CANCELED})"
    else:
        note = "the cluster was available and served the client at once"
    click.echo(
        f"  database TEST, table mytable and the row 'fred' created: {created}; the client "
        f"session took {took:.2f} s: {note}."
    )


def part6(
    cloud: LocalCloud, cluster: ClusterView, env: dict[str, str], v: Variant = PYTHON
) -> None:
    """helloMySQL's calls, the auto-pause, and Q7 (v=JAVA: the tutorial's HelloMySQL.java)."""
    assert cloud.cp.template is not None
    fn = cloud.cp.template.functions[v.mysql]
    e = fn.environment
    url = f"jdbc:mysql://{e['DB_HOST']}:{e['DB_PORT']}/{e['DB_NAME']}"
    if v.lang:
        heading(f"Part 6 in Java: {v.mysql}, the tutorial's HelloMySQL.java (java17)")
        props = (EXAMPLE / "java" / "db.properties").read_text()
        line = next(x for x in props.splitlines() if x.startswith("url="))
        click.echo(f"  its db.properties: {line}, which it fills in from the template: {url}")
    else:
        heading("Part 6: helloMySQL, a Lambda function on the cluster")
        click.echo(
            f"  db.properties, from the template's environment: url {url}, username "
            f"{e['DB_USER']}; Timeout {fn.timeout_s:g} s, {fn.memory_mb} MB"
        )
    if fn.vpc is not None:
        click.echo(
            f"  in the cluster's VPC (VpcConfig: subnets {', '.join(fn.vpc.subnet_ids)}, group "
            f"{', '.join(fn.vpc.security_group_ids)}); a function without one finds nothing "
            "at the endpoint's port, as on AWS"
        )
    callservice = str(EXAMPLE / "callservice.sh")
    warm: list[float] = []
    for name in MYSQL_NAMES if not v.lang else ("Java Smith", "Java O'Brien"):
        out = run(["bash", callservice, v.mysql, name], env)
        before = _mysql_result(out)
        warm.append(_seconds(out) or 0.0)
        click.echo(f"    {_timing(out)} {_brief_mysql(before)}")
    click.echo(
        "  each call appended its name to TEST.mytable (after the bastion's 'fred' and any "
        "earlier calls'); the first call was also the function's own cold start."
    )

    c = cluster.describe()
    click.echo(
        f"  no connections now: waiting for the auto-pause ({c['SecondsUntilAutoPause']} s, "
        f"{c['SecondsUntilAutoPause'] / DEMO_TIME_SCALE:g} s at time scale {DEMO_TIME_SCALE:g}) ..."
    )
    waited = cluster.wait_for("paused", timeout=60 + c["SecondsUntilAutoPause"] / DEMO_TIME_SCALE)
    click.echo(f"  status: {cluster.describe()['Status']} after {waited:.1f} s")

    out = run(["bash", callservice, v.mysql, f"After Pause{' ' + v.lang if v.lang else ''}"], env)
    r = _mysql_result(out)
    cold = _seconds(out) or 0.0
    click.echo(_indent("\n".join(out.splitlines()[:4])))
    click.echo(f"    {_brief_mysql(r)}")
    # The function logs how long pymysql.connect took: the last call's wait was the resume.
    connects = [
        float(m.group(1))
        for line in cloud.logs(v.mysql)
        if (m := re.search(r"connected to \S+ in ([\d.]+) ms", line))
    ]
    warm_ms = connects[:-1] or connects
    resumes = _spans(cluster.events(), RESUMING, RESUMED)
    baseline = sorted(warm[1:])[len(warm[1:]) // 2] if len(warm) > 1 else warm[0]
    kept = [n for n in before["names"] if n in r["names"]]
    question(
        7,
        "Aurora Serverless deprovisions itself after ~5 minutes of inactivity; when COLD, the "
        "first call to the serverless database takes ~25-30 seconds to bring the database back "
        "up. Capture that call's callservice.sh output from your terminal as the answer for #7.",
        f"the call after the pause took {cold:.2f} s (aws CLI `real` above), against "
        f"{baseline:.2f} s for the warm calls before it. The cluster resumed in "
        f"{resumes[-1]:.2f} s ({RESUMING} -> {RESUMED}): {v.mysql}'s container was "
        f"{'new' if r['newcontainer'] else 'warm'} (newcontainer={r['newcontainer']}), and its "
        f"connect waited {connects[-1]:.1f} ms, held by the endpoint while MariaDB started "
        f"(warm connects: {min(warm_ms):.1f}-{max(warm_ms):.1f} ms; SAAF runtime "
        f"{r['runtime']} ms). AWS's Aurora Serverless v1 takes ~25-30 s to resume; here a local "
        f"MariaDB restarts on its own data dir. The data survived the pause: {len(kept)} of "
        f"{len(before['names'])} names kept, plus the new one.",
        v.lang,
    )


def data_api_part(cloud: LocalCloud, cluster: ClusterView, env: dict[str, str]) -> None:
    heading("Beyond the tutorial: helloDataApi, helloMySQL over the RDS Data API")
    click.echo(
        "  no driver and no connection in the function: SQL goes over HTTP (boto3 rds-data),\n"
        "  authenticated by the secret tcss562-credentials (Secrets Manager, from the template)"
    )
    c = cluster.describe()
    waited = cluster.wait_for("paused", timeout=60 + c["SecondsUntilAutoPause"] / DEMO_TIME_SCALE)
    click.echo(f"  the cluster paused again ({waited:.1f} s); calling helloDataApi now:")
    callservice = str(EXAMPLE / "callservice.sh")
    out = run(["bash", callservice, "helloDataApi", "Via Data API"], env)
    first = results_in(out)[-1]
    click.echo(f"    {_timing(out)} names={first['names']}")
    retries = [line for line in cloud.logs("helloDataApi") if "cluster answered after" in line]
    out = run(["bash", callservice, "helloDataApi", "Warm Data API"], env)
    second = results_in(out)[-1]
    click.echo(f"    {_timing(out)} names={second['names']}")
    click.secho(
        "Data API. What does a call to a paused cluster get over the Data API?",
        fg="cyan",
        bold=True,
    )
    click.echo(
        "    -> an immediate BadRequestException 'Communications link failure' (Aurora "
        "Serverless v1; v2 answers DatabaseResumingException), and the cluster starts resuming; "
        + (
            f"the function retried: '{retries[-1].split(chr(9))[-1].strip()}'. "
            if retries
            else "this time the cluster was back before the first statement. "
        )
        + "A driver connection (part 6) is held instead. Both calls saw every name stored so "
        f"far ({len(second['names'])} now): the Data API and the mysql client share one database."
    )


def cluster_records(cluster: ClusterView, env: dict[str, str]) -> None:
    heading("The cluster's recent events (the RDS console's list)")
    click.echo(_indent(run([*FAASLAB, "db", "events", CLUSTER], env)))
    events = cluster.events()
    pauses, resumes = _spans(events, PAUSING, PAUSED), _spans(events, RESUMING, RESUMED)
    click.echo(
        f"  {len(pauses)} pause(s), {len(resumes)} resume(s); each resume took "
        + ", ".join(f"{s:.2f} s" for s in resumes)
        + " (the tutorial's AWS log shows 34-37 s)."
    )

    heading("CloudWatch's graphs of the cluster, sampled during the run")
    click.echo(_indent(run([*FAASLAB, "db", "metrics", CLUSTER], env)))

    heading("What the cluster cost, at AWS's prices")
    click.echo(_indent(run([*FAASLAB, "db", "cost", CLUSTER], env)))
    bill = cluster.cost()
    c = cluster.describe()
    lived = (time.time() - c["ClusterCreateTime"]) * DEMO_TIME_SCALE
    ran = sum(a["seconds"] for a in bill["activations"])
    click.echo(
        f"  {len(bill['activations'])} activation(s): the creation, then one per resume, each "
        f"billed for at least {billing.V1_MINIMUM_SECONDS:.0f} s. The cluster has existed "
        f"{lived / 60:.0f} emulated minutes and had compute for {ran / 60:.0f} of them; while "
        f"paused only storage is billed. Compute: ${bill['compute_cost']:.4f}."
    )


def _mysql_result(out: str) -> dict[str, Any]:
    results = results_in(out)
    if not results or "names" not in results[-1] or results[-1].get("error"):
        raise click.ClickException(f"helloMySQL did not answer with names:\n{out}")
    return results[-1]


def _brief_mysql(r: dict[str, Any]) -> str:
    return (
        f"uuid={r['uuid'][:8]} newcontainer={r['newcontainer']} value={r['value']!r} "
        f"names={r['names']}"
    )


def _spans(events: list[dict[str, Any]], start: str, end: str) -> list[float]:
    """Seconds from each `start` event to the `end` event after it (e.g. resume times)."""
    spans: list[float] = []
    began: float | None = None
    for e in events:
        if e["EventId"] == start:
            began = e["Date"]
        elif e["EventId"] == end and began is not None:
            spans.append(e["Date"] - began)
            began = None
    return spans


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def simultaneous(
    url: str, function: str, names: list[str], extra: dict[str, str] | None = None
) -> list[dict[str, Any]]:
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
            data=json.dumps({"name": name, **(extra or {})}).encode(),
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


def _invoke_cli(env: dict[str, str], function: str, name: str, *extra: str) -> dict[str, Any]:
    """callservice.sh's last result; `extra` are its further arguments (part 3's dbname)."""
    out = run(["bash", str(EXAMPLE / "callservice.sh"), function, name, *extra], env)
    return results_in(out)[-1]


def _timing(out: str) -> str:
    """The `time` of the aws CLI call, as 'aws CLI 0.64 s:' (bash prints real 0m0.640s)."""
    seconds = _seconds(out)
    return f"aws CLI {seconds:.2f} s:" if seconds is not None else ""


def _seconds(out: str) -> float | None:
    """The real time bash's `time` printed in a callservice.sh output (real 0m0.640s)."""
    m = re.search(r"real\s+(\d+)m([\d.]+)s", out)
    return int(m.group(1)) * 60 + float(m.group(2)) if m else None


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.rstrip().splitlines())
