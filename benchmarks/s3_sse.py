"""64 MB PUT/GET through faaslab's S3: in the clear and with SSE-S3, optionally against
a baseline checkout of faaslab too, rounds interleaved (a busy machine drifts).

    .venv/bin/python benchmarks/s3_sse.py [--big-mb 64] [--rounds 7] [--baseline DIR]

`--baseline DIR`: another faaslab source tree (e.g. `git worktree add --detach DIR main`),
served by this venv's Python with DIR first on PYTHONPATH: its plain PUT/GET (and 1 KB
PUT/GET rates) are measured in the same rounds, the servers' order alternating, so "did
the unencrypted path get slower" is answered by one run. The MD5 of the body (the ETag's
cost, the floor of any PUT) is measured in the same run.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import boto3
from invoke import start_faaslab
from s3 import signed

from faaslab.cliutil import LOCAL_KEYS

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE.parent / "tests" / "contract" / "fixtures" / "s3.yaml"
BUCKET = "bench"


def serve(state: Path, source: Path | None) -> tuple[subprocess.Popen[bytes], int]:
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = str(source)
    proc, port = start_faaslab(state, "--no-request-log", template=TEMPLATE, env=env)
    boto3.client(
        "s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1", **LOCAL_KEYS
    ).create_bucket(Bucket=BUCKET)
    return proc, port


def put_get(port: int, data: bytes, extra: dict[str, str]) -> tuple[float, float]:
    """MB/s of one PUT (with `extra` headers) and one GET of `data`."""
    path = f"/{BUCKET}/big"
    mb = len(data) / 1e6
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {**signed(port, "PUT", path, len(data)), **extra}
    t = time.perf_counter()
    conn.request("PUT", path, data, headers)
    r = conn.getresponse()
    r.read()
    put = mb / (time.perf_counter() - t)
    assert r.status == 200, (r.status, r.read())
    got = bytearray(len(data))
    t = time.perf_counter()
    conn.request("GET", path, headers=signed(port, "GET", path))
    r = conn.getresponse()
    n = r.readinto(got)
    get = mb / (time.perf_counter() - t)
    assert r.status == 200 and n == len(data) and got[-4096:] == data[-4096:]
    conn.close()
    return put, get


def small(port: int, count: int) -> tuple[float, float]:
    """PUTs and GETs per second of one 1 KB object, one keep-alive client."""
    path = f"/{BUCKET}/small"
    body = os.urandom(1024)
    conn = http.client.HTTPConnection("127.0.0.1", port)
    put_h, get_h = signed(port, "PUT", path, len(body)), signed(port, "GET", path)
    rates = []
    for method in ("PUT", "GET"):
        t = time.perf_counter()
        for _ in range(count):
            conn.request(
                method, path, body if method == "PUT" else None, put_h if method == "PUT" else get_h
            )
            r = conn.getresponse()
            r.read()
            assert r.status == 200, r.status
        rates.append(count / (time.perf_counter() - t))
    conn.close()
    return rates[0], rates[1]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--big-mb", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--baseline", type=Path, default=None)
    ap.add_argument("--small", type=int, default=500, help="1 KB requests per round")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="faaslab-s3ssebench-"))
    servers = {"this tree": serve(work / "this", None)}
    if args.baseline is not None:
        servers["baseline"] = serve(work / "base", args.baseline.resolve())
    data = os.urandom(args.big_mb * 1024 * 1024)
    runs: list[tuple[str, str, dict[str, str]]] = [(name, "plain", {}) for name in servers] + [
        ("this tree", "SSE-S3", {"x-amz-server-side-encryption": "AES256"})
    ]
    results: dict[tuple[str, str], list[tuple[float, float]]] = {(n, k): [] for n, k, _ in runs}
    smalls: dict[str, list[tuple[float, float]]] = {name: [] for name in servers}
    md5s = []
    try:
        for _ in range(args.rounds):
            for name, kind, extra in runs:
                results[(name, kind)].append(put_get(servers[name][1], data, extra))
            order = list(servers.items())
            if len(smalls[order[0][0]]) % 2:
                order.reverse()
            for name, (_, port) in order:
                smalls[name].append(small(port, args.small))
            t = time.perf_counter()
            hashlib.md5(data).digest()
            md5s.append(len(data) / 1e6 / (time.perf_counter() - t))
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(20)
        shutil.rmtree(work, ignore_errors=True)
    md5 = statistics.median(md5s)
    print(f"{args.big_mb} MB, median of {args.rounds} interleaved rounds (MB/s)")
    print(f"{'server':12s} {'body':8s} {'PUT':>8s} {'GET':>8s} {'PUT/MD5':>8s}")
    for (name, kind), values in results.items():
        put = statistics.median(v[0] for v in values)
        get = statistics.median(v[1] for v in values)
        print(f"{name:12s} {kind:8s} {put:8,.0f} {get:8,.0f} {put / md5:8.0%}")
    print(f"MD5 of the body on this machine: {md5:,.0f} MB/s")
    print("1 KB object, one keep-alive client (requests/s, median)")
    for name, values in smalls.items():
        put = statistics.median(v[0] for v in values)
        get = statistics.median(v[1] for v in values)
        print(f"{name:12s} PUT {put:8,.0f}  GET {get:8,.0f}")


if __name__ == "__main__":
    main()
