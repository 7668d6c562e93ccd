"""RDS Data API: ExecuteStatement latency for a point select vs the same query over a
direct driver connection, in one run, on both engines.

    .venv/bin/python benchmarks/data_api.py [--requests 2000]

- direct: PyMySQL / psycopg connected once to the cluster's endpoint (as root, the connect
  hook sends it straight to the engine), `SELECT name FROM t WHERE id = 1`, sequentially.
- Data API: the same statement as `POST /Execute` over one keep-alive connection, signed
  once per run (botocore's SigV4; signing is left out of the timing, faaslab's checking of
  it is measured), with two clients: http.client, and a raw socket sending the request's
  bytes and reading the answer by Content-Length (what a compiled SDK's client costs;
  http.client spends ~100 us per request building and parsing headers in Python).
- floor: benchmarks/sql_floor_server.py, the least an HTTP front to the engine costs with
  the Data API's drivers (no signature, no parsing, no pool, no types), same clients.
- boto3's `execute_statement`, for scale: its own client-side work is ~0.5 ms.
Target (issue #5): Data API p50 <= 3x the direct driver's.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
import databases
import psycopg
import pymysql
from invoke import free_port, sigv4_headers, start_faaslab

from faaslab.cliutil import LOCAL_KEYS

HERE = Path(__file__).resolve().parent
SQL = "SELECT name FROM t WHERE id = 1"
PASSWORD = "Bench-pass-123"


def p50(xs: list[float]) -> float:
    return statistics.median(xs)


def timed(n: int, call: Any) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter_ns()
        call()
        out.append((time.perf_counter_ns() - t) / 1000)
    return out


class RawHttp:
    """One keep-alive HTTP/1.1 connection: a fixed request, the answer read by length."""

    def __init__(self, port: int, path: str, body: bytes, headers: dict[str, str]) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items() if k.lower() != "host")
        self.request = f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body

    def call(self) -> tuple[int, bytes]:
        self.sock.sendall(self.request)
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += self.recv()
        head, _, body = buf.partition(b"\r\n\r\n")
        m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        assert m is not None, head
        while len(body) < int(m[1]):
            body += self.recv()
        return int(head[9:12]), body

    def recv(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise SystemExit("the server closed the connection")
        return chunk


def http_client_call(port: int, path: str, body: bytes, headers: dict[str, str]) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port)

    def call() -> tuple[int, bytes]:
        conn.request("POST", path, body, headers)
        r = conn.getresponse()
        return r.status, r.read()

    return call


def start_floor(engine: str, db_port: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    argv = [str(port), engine, str(db_port), "bench", PASSWORD, "bench"]
    script = str(HERE / "sql_floor_server.py")
    proc = subprocess.Popen([sys.executable, script, *argv], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    if proc.stdout.readline() != b"ready\n":
        raise SystemExit("the floor server did not start")
    return proc, port


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--requests", type=int, default=2000)
    args = ap.parse_args()
    state = Path(tempfile.mkdtemp(prefix="faaslab-dataapi-"))
    fl, port = start_faaslab(state, template=HERE / "dataapi.yaml")
    try:
        url = f"http://127.0.0.1:{port}"
        sm = boto3.client("secretsmanager", endpoint_url=url, region_name="us-east-1", **LOCAL_KEYS)
        secret = sm.describe_secret(SecretId="bench-creds")["ARN"]
        data = boto3.client("rds-data", endpoint_url=url, region_name="us-east-1", **LOCAL_KEYS)
        print(
            f"{'engine':10s} {'client':11s} {'direct':>7s} {'floor':>7s} {'Data API':>8s} "
            f"{'API/direct':>10s} {'API/floor':>9s} {'floor/direct':>12s}"
        )
        boto_lines = []
        for engine, name in (("mysql", "benchmysql"), ("postgresql", "benchpg")):
            c = databases.api(url, f"/_faaslab/db/{name}")
            arn = f"arn:aws:rds:us-east-1:123456789012:cluster:{name}"
            driver, db_key = (pymysql, "database") if engine == "mysql" else (psycopg, "dbname")
            conn: Any = driver.connect(
                host="127.0.0.1",
                port=c["Port"],
                user="bench",
                password=PASSWORD,
                autocommit=True,
                **{db_key: "bench"},
            )
            cur = conn.cursor()
            cur.execute("DROP TABLE IF EXISTS t")
            cur.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(40))")
            cur.execute("INSERT INTO t VALUES (1, 'Fred Smith')")
            floor_proc, floor_port = start_floor(engine, c["Port"])

            def direct(cur: Any = cur) -> None:
                cur.execute(SQL)
                assert cur.fetchall()[0][0] == "Fred Smith"

            body = json.dumps(
                {"resourceArn": arn, "secretArn": secret, "sql": SQL, "database": "bench"}
            ).encode()
            headers = sigv4_headers(port, "/Execute", body, service="rds-data")

            def checked(call: Any) -> Any:
                def run() -> None:
                    status, answer = call()
                    out = json.loads(answer)
                    assert status == 200, out
                    assert out["records"] == [[{"stringValue": "Fred Smith"}]], out

                return run

            clients = {
                "http.client": (
                    checked(http_client_call(port, "/Execute", body, headers)),
                    checked(http_client_call(floor_port, "/Execute", body, {})),
                ),
                "raw socket": (
                    checked(RawHttp(port, "/Execute", body, headers).call),
                    checked(RawHttp(floor_port, "/Execute", body, {}).call),
                ),
            }

            def via_boto3(arn: str = arn) -> None:
                out = data.execute_statement(
                    resourceArn=arn, secretArn=secret, sql=SQL, database="bench"
                )
                assert out["records"] == [[{"stringValue": "Fred Smith"}]]

            for f in (direct, via_boto3, *(g for pair in clients.values() for g in pair)):
                timed(200, f)  # warm up
            d: list[float] = []
            b3: list[float] = []
            api: dict[str, list[float]] = {k: [] for k in clients}
            floor: dict[str, list[float]] = {k: [] for k in clients}
            n = args.requests // 4
            for _ in range(4):  # interleaved blocks: a noisy minute hits them all
                d += timed(n, direct)
                for k, (call_api, call_floor) in clients.items():
                    api[k] += timed(n, call_api)
                    floor[k] += timed(n, call_floor)
                b3 += timed(n // 2, via_boto3)
            conn.close()
            floor_proc.terminate()
            floor_proc.wait(10)
            for k in clients:
                a, f = p50(api[k]), p50(floor[k])
                print(
                    f"{engine:10s} {k:11s} {p50(d):5.0f}us {f:5.0f}us {a:6.0f}us "
                    f"{a / p50(d):9.2f}x {a / f:8.2f}x {f / p50(d):11.2f}x"
                )
            boto_lines.append(f"{engine}: boto3 execute_statement {p50(b3):.0f}us")
        print("\n".join(boto_lines))
        print("(p50s; target: Data API <= 3x direct)")
    finally:
        fl.terminate()
        fl.wait(30)


if __name__ == "__main__":
    main()
