"""S3 PUT/GET throughput: faaslab vs moto's server vs a raw file copy, in one run.

    .venv/bin/python benchmarks/s3.py [--seconds 3] [--clients 8] [--big-mb 64] [--rounds 5]

- small: 1 KB objects, `--clients` processes each PUTting (then GETting) its own key over
  one keep-alive connection for `--seconds`: operations per second.
- big: one 64 MB object PUT, then GET, `--rounds` times: MB/s (median).
- raw copy: the same 64 MB file copied on the same disk (shutil.copyfile + fsync, the
  durability faaslab gives an acknowledged PUT; without fsync shown too).
- MD5: hashlib's MD5 of the same 64 MB in this process, once before each PUT round (so
  both see the same machine load; median of the rounds). A PUT's ETag is that hash, and
  MD5 cannot be split across CPUs: it is the floor of a PUT.

The client is the same for both servers: http.client with requests signed once per run
(S3's UNSIGNED-PAYLOAD, so the client hashes nothing; signing is left out of the timing,
faaslab's checking of it is measured). moto does not check signatures; faaslab does, and
also computes the MD5 (ETag) of every body and fsyncs it before answering.
Targets (issue #4): >= 2x moto; 64 MB >= 50% of the raw copy. Issue #14: 64 MB PUT >= 75%
of the MD5 rate.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from invoke import free_port, in_parallel, start_faaslab, wait_http

from faaslab.cliutil import LOCAL_KEYS

HERE = Path(__file__).resolve().parent
BUCKET = "bench"


def start_moto() -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_http(f"http://127.0.0.1:{port}/moto-api/", proc)
    return proc, port


def signed(port: int, method: str, path: str, length: int | None = None) -> dict[str, str]:
    headers = {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
    if length is not None:
        headers["Content-Length"] = str(length)
    req = AWSRequest(method, f"http://127.0.0.1:{port}{path}", headers=headers)
    # (botocore signs payloads over plain http unless told not to)
    req.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    creds = Credentials(LOCAL_KEYS["aws_access_key_id"], LOCAL_KEYS["aws_secret_access_key"])
    S3SigV4Auth(creds, "s3", "us-east-1").add_auth(req)
    return {k: str(v) for k, v in req.headers.items()}


def _small_loop(port: int, method: str, key: str, seconds: float, q: Any) -> None:
    body = os.urandom(1024)
    path = f"/{BUCKET}/{key}"
    conn = http.client.HTTPConnection("127.0.0.1", port)
    put = signed(port, "PUT", path, len(body))
    get = signed(port, "GET", path)
    conn.request("PUT", path, body, put)  # the key exists before GETs start
    conn.getresponse().read()
    count = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if method == "PUT":
            conn.request("PUT", path, body, put)
        else:
            conn.request("GET", path, headers=get)
        r = conn.getresponse()
        data = r.read()
        if r.status != 200 or (method == "GET" and data != body):
            raise SystemExit(f"bad answer from :{port}: {r.status} {data[:300]!r}")
        count += 1
    q.put(count)


def small(port: int, method: str, clients: int, seconds: float) -> float:
    return in_parallel(
        [(_small_loop, (port, method, f"small-{i}")) for i in range(clients)], seconds
    )


def big(port: int, data: bytes, rounds: int) -> tuple[float, float, float]:
    """Median MB/s of PUT and of GET of `data`, and of MD5 over it (in this process,
    before each PUT)."""
    path = f"/{BUCKET}/big"
    conn = http.client.HTTPConnection("127.0.0.1", port)
    mb = len(data) / 1e6
    puts, gets, md5s = [], [], []
    for _ in range(rounds):
        md5s.append(md5_rate(data, 1))
        headers = signed(port, "PUT", path, len(data))
        t = time.perf_counter()
        conn.request("PUT", path, data, headers)
        r = conn.getresponse()
        r.read()
        puts.append(mb / (time.perf_counter() - t))
        assert r.status == 200, r.status
        headers = signed(port, "GET", path)
        got = bytearray(len(data))  # (read into place: the client copies the body once)
        t = time.perf_counter()
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        n = r.readinto(got)
        gets.append(mb / (time.perf_counter() - t))
        assert r.status == 200 and n == len(data) and got[-4096:] == data[-4096:]
    conn.close()
    return statistics.median(puts), statistics.median(gets), statistics.median(md5s)


def raw_copy(src: Path, rounds: int, fsync: bool) -> float:
    speeds = []
    for i in range(rounds):
        dst = src.with_name(f"copy-{i}")
        t = time.perf_counter()
        shutil.copyfile(src, dst)
        if fsync:
            fd = os.open(dst, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
        speeds.append(src.stat().st_size / 1e6 / (time.perf_counter() - t))
        dst.unlink()
    return statistics.median(speeds)


def md5_rate(data: bytes, rounds: int) -> float:
    """MB/s of hashlib's MD5 over `data` (median of `rounds`)."""
    speeds = []
    for _ in range(rounds):
        t = time.perf_counter()
        hashlib.md5(data).digest()
        speeds.append(len(data) / 1e6 / (time.perf_counter() - t))
    return statistics.median(speeds)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--big-mb", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="faaslab-s3bench-", dir=HERE.parent / ".."))
    fl, fl_port = start_faaslab(work / "state")
    moto, moto_port = start_moto()
    try:
        for port in (fl_port, moto_port):
            boto3.client(
                "s3",
                endpoint_url=f"http://127.0.0.1:{port}",
                region_name="us-east-1",
                **LOCAL_KEYS,
            ).create_bucket(Bucket=BUCKET)
        data = os.urandom(args.big_mb * 1024 * 1024)
        src = work / "src.bin"
        src.write_bytes(data)
        rows: list[tuple[str, float, float]] = []
        for method in ("PUT", "GET"):
            f = small(fl_port, method, args.clients, args.seconds)
            m = small(moto_port, method, args.clients, args.seconds)
            rows.append((f"1 KB {method}, {args.clients} clients (ops/s)", f, m))
        fput, fget, md5 = big(fl_port, data, args.rounds)
        mput, mget, _ = big(moto_port, data, args.rounds)
        rows.append((f"{args.big_mb} MB PUT (MB/s)", fput, mput))
        rows.append((f"{args.big_mb} MB GET (MB/s)", fget, mget))
        copy_sync = raw_copy(src, args.rounds, fsync=True)
        copy_nosync = raw_copy(src, args.rounds, fsync=False)
    finally:
        for p in (fl, moto):
            p.terminate()
            p.wait(20)
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'measure':34s} {'faaslab':>10s} {'moto':>10s} {'x moto':>7s}")
    for name, f, m in rows:
        print(f"{name:34s} {f:10,.0f} {m:10,.0f} {f / m:6.2f}x")
    print(f"raw copy {args.big_mb} MB + fsync: {copy_sync:,.0f} MB/s", end="")
    print(f" (without fsync {copy_nosync:,.0f})")
    print(
        f"faaslab {args.big_mb} MB PUT = {fput / copy_sync:.0%} of the raw copy, "
        f"GET = {fget / copy_sync:.0%}  (target >= 50%; vs the copy without fsync: "
        f"{fput / copy_nosync:.0%} / {fget / copy_nosync:.0%})"
    )
    print(
        f"MD5 of {args.big_mb} MB in this process: {md5:,.0f} MB/s; faaslab PUT = "
        f"{fput / md5:.0%} of it (target >= 75%)"
    )


if __name__ == "__main__":
    main()
