"""Warm-invoke latency, throughput and cold-start overhead, as ratios to a floor.

    .venv/bin/python benchmarks/invoke.py [--requests 3000] [--seconds 5] [--clients 8]

Everything is measured in one run on this machine (they are noisy; only ratios travel):
  floor    a bare loopback HTTP echo server (benchmarks/echo_server.py), same client
  relay    the echo floor plus one hop to a child process (benchmarks/relay_floor.py):
           the least any design that runs handlers in their own process can cost
  faaslab  `faaslab up benchmarks/functions/template.yaml`, handler `return event`
Targets (issue #2): warm p50 <= 2x the floor; >= 2,000 invokes/s with 8 clients;
cold-start overhead (cold RTT - warm RTT, trivial handler) p50 <= 10 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PAYLOAD = b'{"k": 1}'
INVOKE = "/2015-03-31/functions/echo/invocations"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early ({proc.returncode}): {proc.args}")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{url} did not answer")


def start_echo(script: str = "echo_server.py") -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(HERE / script), str(port)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()
    return proc, port


def start_faaslab(
    state: Path,
    *args: str,
    template: Path = HERE / "functions" / "template.yaml",
    env: dict[str, str] | None = None,
    stderr: Any = subprocess.DEVNULL,
) -> tuple[subprocess.Popen[bytes], int]:
    """`faaslab up TEMPLATE` on a free port, quiet (or its output to `stderr`), once its
    health check answers."""
    port = free_port()
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
            str(state),
            *args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        env=env,
    )
    wait_http(f"http://127.0.0.1:{port}/_faaslab/health", proc, timeout=60)
    return proc, port


def sigv4_headers(port: int, path: str, body: bytes, service: str = "lambda") -> dict[str, str]:
    """Headers of a POST signed as boto3 signs it for `service`, with faaslab's local key
    (faaslab checks signatures; the floor and the peers ignore them). Signed once per run,
    outside the timed loops: the client's signing cost is left out, faaslab's checking is
    measured."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from faaslab.auth import LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY

    req = AWSRequest(
        "POST",
        f"http://127.0.0.1:{port}{path}",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    creds = Credentials(LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY)
    SigV4Auth(creds, service, "us-east-1").add_auth(req)
    return {k: str(v) for k, v in req.headers.items()}


def latencies(
    port: int, path: str, n: int, same_answer: bool = True, timeout: float | None = None
) -> list[float]:
    """n sequential POSTs over one keep-alive connection; microseconds each. Each must be
    a 200 without X-Amz-Function-Error, and (`same_answer`) give the payload back as JSON."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = sigv4_headers(port, path, PAYLOAD)
    out = []
    for _ in range(n):
        t = time.perf_counter_ns()
        conn.request("POST", path, PAYLOAD, headers)
        r = conn.getresponse()
        body = r.read()
        out.append((time.perf_counter_ns() - t) / 1000)
        bad = r.status != 200 or r.getheader("X-Amz-Function-Error")
        if bad or (same_answer and json.loads(body or b"null") != json.loads(PAYLOAD)):
            raise SystemExit(f"bad answer from :{port}{path}: {r.status} {body[:300]!r}")
    conn.close()
    return out


def init_durations(port: int, function: str) -> list[float]:
    """The REPORT lines' Init Duration (ms) of a function's cold starts so far."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_faaslab/logs/{function}") as r:
        records = json.loads(r.read())["records"]
    return [
        float(m.group(1))
        for rec in records
        if (m := re.search(r"Init Duration: ([\d.]+) ms", str(rec["m"])))
    ]


def _client_loop(port: int, path: str, seconds: float, q: Any) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = sigv4_headers(port, path, PAYLOAD)
    count = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        conn.request("POST", path, PAYLOAD, headers)
        r = conn.getresponse()
        r.read()
        count += r.status == 200
    q.put(count)


def throughput(port: int, path: str, clients: int, seconds: float) -> float:
    return in_parallel([(_client_loop, (port, path)) for _ in range(clients)], seconds)


def in_parallel(loops: list[tuple[Any, tuple[Any, ...]]], seconds: float) -> float:
    """Run each `loop(*args, seconds, queue)` in its own forked process (no GIL shared with
    the others); each puts its count of answered requests. Requests per second, all told."""
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=loop, args=(*args, seconds, q)) for loop, args in loops]
    for p in procs:
        p.start()
    total = sum(q.get() for _ in procs)
    for p in procs:
        p.join()
    return total / seconds


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def cold_starts(state: Path, samples: int, warm_p50_us: float) -> tuple[list[float], list[float]]:
    """Cold RTT minus the warm p50, and the REPORT lines' Init Duration, per sample."""
    proc, port = start_faaslab(state, "--keep-alive", "0.05")
    overheads, inits = [], []
    try:
        for _ in range(samples):
            time.sleep(0.4)  # the idle environment is recycled (keep-alive 50 ms, sweep 250 ms)
            rtt = latencies(port, INVOKE, 1)[0]
            overheads.append(rtt - warm_p50_us)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_faaslab/logs/echo") as r:
            records = json.loads(r.read())["records"]
        inits = [
            float(m.group(1)) * 1000
            for rec in records
            if (m := re.search(r"Init Duration: ([\d.]+) ms", str(rec["m"])))
        ]
    finally:
        proc.terminate()
        proc.wait(20)
    return overheads, inits


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--requests", type=int, default=3000, help="sequential requests per target")
    ap.add_argument("--seconds", type=float, default=5.0, help="duration of each throughput run")
    ap.add_argument("--clients", type=int, default=8, help="concurrent clients for throughput")
    ap.add_argument("--cold", type=int, default=30, help="cold-start samples")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()

    state = Path(tempfile.mkdtemp(prefix="faaslab-bench-"))
    echo, echo_port = start_echo()
    relay, relay_port = start_echo("relay_floor.py")
    fl, fl_port = start_faaslab(state / "warm")
    results: dict[str, Any] = {
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus",
        "python": platform.python_version(),
    }
    try:
        latencies(echo_port, "/", 300)
        latencies(relay_port, "/", 300)
        latencies(fl_port, INVOKE, 300)  # warm-up: the environment exists and is warm
        floor: list[float] = []
        relayed: list[float] = []
        ours: list[float] = []
        for _ in range(10):  # interleave, so drift hits all alike
            floor += latencies(echo_port, "/", args.requests // 10)
            relayed += latencies(relay_port, "/", args.requests // 10)
            ours += latencies(fl_port, INVOKE, args.requests // 10)
        f50, r50, o50 = (statistics.median(x) for x in (floor, relayed, ours))
        results["latency_us"] = {
            "floor": {"p50": f50, "p90": pct(floor, 0.9), "p99": pct(floor, 0.99)},
            "relay": {"p50": r50, "p90": pct(relayed, 0.9), "p99": pct(relayed, 0.99)},
            "faaslab": {"p50": o50, "p90": pct(ours, 0.9), "p99": pct(ours, 0.99)},
            "ratio_p50": o50 / f50,
            "relay_ratio_p50": r50 / f50,
        }
        print(
            f"warm invoke p50 {o50:.0f} us vs echo floor {f50:.0f} us: "
            f"{o50 / f50:.2f}x  (target <= 2x)"
        )
        print(
            f"   relay floor (echo + one process hop) {r50:.0f} us: {r50 / f50:.2f}x the echo; "
            f"faaslab is {o50 / r50:.2f}x the relay"
        )
        print(
            f"   p90 {pct(ours, 0.9):.0f} / {pct(floor, 0.9):.0f} us, p99 {pct(ours, 0.99):.0f} / "
            f"{pct(floor, 0.99):.0f} us"
        )
        t_floor = throughput(echo_port, "/", args.clients, args.seconds)
        t_ours = throughput(fl_port, INVOKE, args.clients, args.seconds)
        results["throughput_rps"] = {"floor": t_floor, "faaslab": t_ours, "clients": args.clients}
        print(
            f"throughput, {args.clients} clients: {t_ours:.0f} invokes/s (target >= 2000); "
            f"echo floor {t_floor:.0f} req/s ({t_ours / t_floor:.2f}x)"
        )
    finally:
        fl.terminate()
        echo.terminate()
        relay.terminate()
        fl.wait(20)
        echo.wait(5)
        relay.wait(5)
    over, inits = cold_starts(state / "cold", args.cold, o50)
    if over:
        results["cold_start_ms"] = {
            "overhead_p50": statistics.median(over) / 1000,
            "overhead_p90": pct(over, 0.9) / 1000,
            "init_duration_p50": statistics.median(inits) / 1000 if inits else None,
        }
        print(
            f"cold-start overhead p50 {statistics.median(over) / 1000:.1f} ms, "
            f"p90 {pct(over, 0.9) / 1000:.1f} ms "
            f"(target p50 <= 10 ms); REPORT Init Duration p50 "
            f"{statistics.median(inits) / 1000 if inits else float('nan'):.1f} ms"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
