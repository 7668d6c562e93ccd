"""S3 listing with a delimiter: its cost should grow with the page, not with the bucket.

    .venv/bin/python benchmarks/s3_list.py [--keys 20000] [--prefixes 100] [--big 1000000]

- `--keys` keys spread over `--prefixes` common prefixes (`p000/k00000` ...) are PUT into
  faaslab and into moto's server (8 client processes), then each lists the bucket with
  `delimiter=/` (one page: the `--prefixes` common prefixes) and without (the first 1000
  keys): median latency of 20 calls, over one keep-alive connection, signed once.
- `--big` keys (same 100 prefixes) only in faaslab: they are written straight into a
  stopped faaslab's index (rows as a PUT of an empty object writes them: putting a million
  objects over HTTP would take ~10 min here, and moto's server ~90), then it is started
  again and listed the same way. 0 skips it.
"""

from __future__ import annotations

import argparse
import http.client
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
from invoke import in_parallel, start_faaslab
from s3 import signed, start_moto

from faaslab.cliutil import LOCAL_KEYS

HERE = Path(__file__).resolve().parent
BUCKET = "listing"


def key_name(i: int, prefixes: int) -> str:
    return f"p{i % prefixes:03d}/k{i:07d}"


def _put_loop(port: int, keys: list[str], seconds: float, q: Any) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    for key in keys:
        path = f"/{BUCKET}/{key}"
        conn.request("PUT", path, b"", signed(port, "PUT", path, 0))
        r = conn.getresponse()
        r.read()
        assert r.status == 200, r.status
    q.put(len(keys))


def populate(port: int, keys: list[str], clients: int = 8) -> float:
    boto3.client(
        "s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1", **LOCAL_KEYS
    ).create_bucket(Bucket=BUCKET)
    t = time.perf_counter()
    in_parallel([(_put_loop, (port, keys[i::clients])) for i in range(clients)], 1.0)
    return time.perf_counter() - t


def list_ms(port: int, query: str, expect: bytes, calls: int = 20) -> float:
    """Median milliseconds of one ListObjectsV2 call with `query`."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    path = f"/{BUCKET}?{query}"
    headers = signed(port, "GET", path)
    times = []
    for _ in range(calls):
        t = time.perf_counter()
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        body = r.read()
        times.append((time.perf_counter() - t) * 1000)
        assert r.status == 200 and expect in body, (r.status, body[:300])
    conn.close()
    return statistics.median(times)


def measure(port: int, prefixes: int) -> tuple[float, float]:
    last = f"<Prefix>p{prefixes - 1:03d}/</Prefix>".encode()
    delim = list_ms(port, "list-type=2&delimiter=%2F", last)
    flat = list_ms(port, "list-type=2", b"<IsTruncated>true</IsTruncated>")
    return delim, flat


def write_rows(state: Path, count: int, prefixes: int) -> None:
    db = sqlite3.connect(state / "s3" / "index.db")
    db.execute("INSERT OR IGNORE INTO buckets VALUES (?, ?, 'us-east-1')", (BUCKET, time.time()))
    now = time.time()
    empty = "d41d8cd98f00b204e9800998ecf8427e"
    with db:
        db.executemany(
            "INSERT OR REPLACE INTO objects (bucket, key, blob, data, size, etag, modified, "
            "content_type, metadata, headers, checksums) "
            "VALUES (?, ?, NULL, x'', 0, ?, ?, 'binary/octet-stream', '{}', '{}', '{}')",
            ((BUCKET, key_name(i, prefixes), empty, now) for i in range(count)),
        )
    db.close()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--keys", type=int, default=20_000)
    ap.add_argument("--prefixes", type=int, default=100)
    ap.add_argument("--big", type=int, default=1_000_000)
    args = ap.parse_args()
    keys = [key_name(i, args.prefixes) for i in range(args.keys)]
    rows: list[tuple[str, str, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="faaslab-s3list-", dir=HERE.parent / "..") as tmp:
        work = Path(tmp)
        fl, fl_port = start_faaslab(work / "state")
        moto, moto_port = start_moto()
        try:
            for name, port in (("faaslab", fl_port), ("moto", moto_port)):
                took = populate(port, keys)
                print(f"{name}: {args.keys:,} PUTs in {took:.1f} s", file=sys.stderr)
                rows.append((name, f"{args.keys:,}", *measure(port, args.prefixes)))
        finally:
            moto.terminate()
            moto.wait(20)
            fl.terminate()
            fl.wait(20)
        if args.big:
            write_rows(work / "state", args.big, args.prefixes)
            fl, fl_port = start_faaslab(work / "state")
            try:
                rows.append(("faaslab", f"{args.big:,}", *measure(fl_port, args.prefixes)))
            finally:
                fl.terminate()
                fl.wait(20)
    print(f"{'server':8s} {'keys':>10s} {'delimiter=/ (ms)':>17s} {'first 1000 keys (ms)':>21s}")
    for name, count, delim, flat in rows:
        print(f"{name:8s} {count:>10s} {delim:17.1f} {flat:21.1f}")


if __name__ == "__main__":
    main()
