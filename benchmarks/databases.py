"""Serverless clusters: resume latency and endpoint overhead, as ratios to the bare engine.

    .venv/bin/python benchmarks/databases.py [--resumes 10] [--selects 2000] [--bulk 5]

Per engine (MariaDB for aurora-mysql, PostgreSQL for aurora-postgresql), in one run:
  bare start   the same engine binary on a copy of the cluster's data dir, started directly
               (no faaslab): spawn -> first `SELECT 1` answered over TCP
  resume       a paused faaslab cluster: client connects -> first `SELECT 1` answered
               through the endpoint (the client is held while the engine starts)
  point select `SELECT v FROM bench WHERE id = %s` on one kept-open connection: through
               the endpoint vs straight to the bare engine's TCP port (same data, same
               settings), interleaved blocks, p50
  bulk read    `SELECT * FROM bench` (about 20 MB), fetched whole: MB/s, same comparison
Targets (issue #3): resume p50 <= 0.5 s and <= 2x the bare start; point select <= 1.15x;
bulk-read throughput >= 0.9x.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from invoke import free_port, start_faaslab

HERE = Path(__file__).resolve().parent
PASSWORD = "Bench-pass99"
ROWS = 100_000  # x ~200 bytes = ~20 MB for the bulk read
SCALE = 300  # --time-scale: AWS's minimum 300 s auto-pause takes 1 s
PAIRS = 6  # connection pairs for the point selects


def api(url: str, path: str) -> Any:
    with urllib.request.urlopen(url + path, timeout=60) as r:
        return json.loads(r.read())


def connect(engine: str, port: int, user: str = "admin1") -> Any:
    if engine == "mysql":
        import pymysql

        return pymysql.connect(
            host="127.0.0.1", port=port, user=user, password=PASSWORD, database="bench"
        )
    import psycopg

    return psycopg.connect(
        host="127.0.0.1", port=port, user=user, password=PASSWORD, dbname="bench", autocommit=True
    )


def first_answer(engine: str, port: int, deadline_s: float = 60) -> float:
    """Seconds until a fresh connection gets `SELECT 1` answered (retrying refusals)."""
    t = time.perf_counter()
    while True:
        try:
            with contextlib.closing(connect(engine, port)) as conn:
                cur = conn.cursor()
                cur.execute("SELECT 1")
                cur.fetchall()
            return time.perf_counter() - t
        except Exception:
            if time.perf_counter() - t > deadline_s:
                raise
            time.sleep(0.001)


class BareEngine:
    """The engine binary on a copy of a paused cluster's data dir, without faaslab."""

    def __init__(self, engine: str, cluster_dir: Path, work: Path) -> None:
        self.engine = engine
        self.dir = work / f"bare-{engine}"
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(mode=0o755)
        subprocess.run(["cp", "-a", str(cluster_dir / "data"), str(self.dir / "data")], check=True)
        self.user = "mysql" if engine == "mysql" else "postgres"
        shutil.chown(self.dir, self.user, self.user)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def argv(self) -> list[str]:
        from faaslab.databases.engine import find_program

        d = self.dir
        if self.engine == "mysql":
            return [
                str(find_program("mariadbd")),
                "--no-defaults",
                f"--datadir={d}/data",
                f"--socket={d}/mysqld.sock",
                f"--pid-file={d}/mysqld.pid",
                "--bind-address=127.0.0.1",
                f"--port={self.port}",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=48M",
                "--innodb-log-file-size=16M",
                "--max-connections=90",  # faaslab's for 1 ACU
            ]
        return [
            str(find_program("postgres")),
            "-D",
            f"{d}/data",
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"port={self.port}",
            "-c",
            f"unix_socket_directories={d}",
            "-c",
            "shared_buffers=96MB",  # faaslab's for 2 ACUs at 64 MiB per ACU
            "-c",
            "max_connections=450",  # faaslab's for 2 ACUs (AWS's table)
        ]

    def start(self) -> float:
        as_root = os.geteuid() == 0
        with open(self.dir / "engine.log", "ab") as log:
            self.proc = subprocess.Popen(
                self.argv(),
                stdout=log,
                stderr=subprocess.STDOUT,
                user=self.user if as_root else None,
                group=self.user if as_root else None,
                extra_groups=[] if as_root else None,
                start_new_session=True,
            )
        t = time.perf_counter()
        first_answer(self.engine, self.port)
        return time.perf_counter() - t

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate() if self.engine == "mysql" else self.proc.send_signal(2)
            self.proc.wait(60)
            self.proc = None


def point_selects(conn: Any, n: int) -> list[float]:
    cur = conn.cursor()
    out = []
    for i in range(n):
        t = time.perf_counter_ns()
        cur.execute("SELECT v FROM bench WHERE id = %s", (i % ROWS + 1,))
        cur.fetchall()
        out.append((time.perf_counter_ns() - t) / 1000)
    return out


def bulk_read(conn: Any) -> float:
    """MB/s for fetching the whole table."""
    cur = conn.cursor()
    t = time.perf_counter()
    cur.execute("SELECT id, v FROM bench")
    rows = cur.fetchall()
    took = time.perf_counter() - t
    size = sum(len(r[1]) + 8 for r in rows)
    return size / took / 1e6


def wait_status(url: str, name: str, status: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while api(url, f"/_faaslab/db/{name}")["Status"] != status:
        if time.monotonic() > deadline:
            raise SystemExit(f"{name} never became {status}")
        time.sleep(0.02)


def bench_engine(engine: str, url: str, state: Path, work: Path, args: Any) -> dict[str, Any]:
    name = f"bench-{engine[:5]}"
    info = api(url, f"/_faaslab/db/{name}")
    port = info["Port"]
    with contextlib.closing(connect(engine, port)) as conn:
        cur = conn.cursor()
        cur.execute("CREATE TABLE bench (id INT PRIMARY KEY, v VARCHAR(250))")
        value = "x" * 200
        for start in range(0, ROWS, 5000):
            rows = [(i + 1, value) for i in range(start, start + 5000)]
            cur.executemany("INSERT INTO bench VALUES (%s, %s)", rows)
        conn.commit()
    wait_status(url, name, "paused")
    bare = BareEngine(engine, state / "clusters" / name, work)
    starts, resumes = [], []
    for _ in range(args.resumes):  # interleaved: bare start, then a resume
        starts.append(bare.start())
        bare.stop()
        wait_status(url, name, "paused")
        time.sleep(0.05)
        resumes.append(first_answer(engine, port))
    bare.start()
    try:
        # Several fresh connection pairs: on 2 vCPUs where a backend lands relative to
        # the client (same core or not) moves a round trip by tens of µs, either way.
        direct: list[float] = []
        ours: list[float] = []
        bulk_direct, bulk_ours = [], []
        for _ in range(PAIRS):
            direct_conn, ours_conn = connect(engine, bare.port), connect(engine, port)
            point_selects(direct_conn, 100)
            point_selects(ours_conn, 100)  # warm both
            for _ in range(4):
                direct += point_selects(direct_conn, args.selects // (4 * PAIRS))
                ours += point_selects(ours_conn, args.selects // (4 * PAIRS))
            if len(bulk_direct) < args.bulk:
                bulk_direct.append(bulk_read(direct_conn))
                bulk_ours.append(bulk_read(ours_conn))
            direct_conn.close()
            ours_conn.close()
    finally:
        bare.stop()
    s50, r50 = statistics.median(starts), statistics.median(resumes)
    d50, o50 = statistics.median(direct), statistics.median(ours)
    bd, bo = statistics.median(bulk_direct), statistics.median(bulk_ours)
    result = {
        "bare_start_s": {"p50": s50, "samples": starts},
        "resume_s": {"p50": r50, "samples": resumes},
        "resume_ratio": r50 / s50,
        "point_select_us": {"direct_p50": d50, "endpoint_p50": o50, "ratio": o50 / d50},
        "bulk_read_mb_s": {"direct": bd, "endpoint": bo, "ratio": bo / bd},
    }
    print(f"{engine}:")
    print(
        f"  resume p50 {r50 * 1000:.0f} ms vs bare engine start {s50 * 1000:.0f} ms: "
        f"{r50 / s50:.2f}x  (targets <= 500 ms, <= 2x)"
    )
    print(
        f"  point select p50 {o50:.0f} us through the endpoint vs {d50:.0f} us direct: "
        f"{o50 / d50:.2f}x  (target <= 1.15x)"
    )
    print(
        f"  bulk read {bo:.0f} MB/s through the endpoint vs {bd:.0f} MB/s direct: "
        f"{bo / bd:.2f}x  (target >= 0.9x)"
    )
    return result


TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  MySql:
    Type: AWS::RDS::DBCluster
    Properties:
      DBClusterIdentifier: bench-mysql
      Engine: aurora-mysql
      EngineMode: serverless
      MasterUsername: admin1
      MasterUserPassword: {password}
      DatabaseName: bench
      ScalingConfiguration: {{AutoPause: true, MinCapacity: 1, MaxCapacity: 1}}
  Postgres:
    Type: AWS::RDS::DBCluster
    Properties:
      DBClusterIdentifier: bench-postg
      Engine: aurora-postgresql
      EngineMode: serverless
      MasterUsername: admin1
      MasterUserPassword: {password}
      DatabaseName: bench
      ScalingConfiguration: {{AutoPause: true, MinCapacity: 2, MaxCapacity: 2}}
"""


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--resumes", type=int, default=10, help="resume / bare-start samples")
    ap.add_argument("--selects", type=int, default=2000, help="point selects per target")
    ap.add_argument("--bulk", type=int, default=5, help="bulk reads per target (<= 6)")
    ap.add_argument("--engines", default="mysql,postgresql")
    ap.add_argument(
        "--no-fast-path",
        action="store_true",
        help="run faaslab with --no-db-fast-path: the endpoint proxies in user space",
    )
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="faaslab-dbbench-"))
    work.chmod(0o755)  # the engines' own users reach the bare copies below it
    template = work / "template.yaml"
    template.write_text(TEMPLATE.format(password=PASSWORD))
    up, port = start_faaslab(
        work / "state",
        "--time-scale",
        str(SCALE),
        *(["--no-db-fast-path"] if args.no_fast_path else []),
        template=template,
    )
    url = f"http://127.0.0.1:{port}"
    results: dict[str, Any] = {
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus",
        "python": platform.python_version(),
    }
    try:
        for engine in args.engines.split(","):
            results[engine] = bench_engine(engine, url, work / "state", work, args)
    finally:
        up.terminate()
        up.wait(60)
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
