"""RDS Data API: ExecuteStatement latency for a point select vs the same query over a
direct driver connection, in one run, on both engines.

    .venv/bin/python benchmarks/data_api.py [--requests 2000]

- direct: PyMySQL / psycopg connected once to the cluster's endpoint (as root, the connect
  hook sends it straight to the engine), `SELECT name FROM t WHERE id = 1`, sequentially.
- Data API: the same statement as `POST /Execute`, over one keep-alive connection with
  http.client, the request signed once per run (botocore's SigV4; signing is left out of
  the timing, faaslab's checking of it is measured). Also boto3's `execute_statement`,
  whose own client-side work (serialising, signing, parsing) is shown apart.
Target (issue #5): Data API p50 <= 3x the direct driver's.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pymysql
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from invoke import start_faaslab

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


def cluster(port: int, name: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_faaslab/db/{name}") as r:
        return dict(json.loads(r.read()))


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
        creds = Credentials(LOCAL_KEYS["aws_access_key_id"], LOCAL_KEYS["aws_secret_access_key"])
        print(f"{'engine':10s} {'direct':>9s} {'Data API':>9s} {'ratio':>6s} {'boto3':>9s}")
        for engine, name in (("mysql", "benchmysql"), ("postgresql", "benchpg")):
            c = cluster(port, name)
            arn = f"arn:aws:rds:us-east-1:123456789012:cluster:{name}"
            if engine == "mysql":
                conn: Any = pymysql.connect(
                    host="127.0.0.1",
                    port=c["Port"],
                    user="bench",
                    password=PASSWORD,
                    database="bench",
                    autocommit=True,
                )
            else:
                conn = psycopg.connect(
                    host="127.0.0.1",
                    port=c["Port"],
                    user="bench",
                    password=PASSWORD,
                    dbname="bench",
                    autocommit=True,
                )
            cur = conn.cursor()
            cur.execute("DROP TABLE IF EXISTS t")
            cur.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(40))")
            cur.execute("INSERT INTO t VALUES (1, 'Fred Smith')")

            def direct(cur: Any = cur) -> None:
                cur.execute(SQL)
                assert cur.fetchall()[0][0] == "Fred Smith"

            body = json.dumps(
                {"resourceArn": arn, "secretArn": secret, "sql": SQL, "database": "bench"}
            ).encode()
            req = AWSRequest(
                "POST", f"{url}/Execute", data=body, headers={"Content-Type": "application/json"}
            )
            SigV4Auth(creds, "rds-data", "us-east-1").add_auth(req)
            headers = {k: str(v) for k, v in req.headers.items()}
            http_conn = http.client.HTTPConnection("127.0.0.1", port)

            def lean(
                http_conn: http.client.HTTPConnection = http_conn,
                body: bytes = body,
                headers: dict[str, str] = headers,
            ) -> None:
                http_conn.request("POST", "/Execute", body, headers)
                r = http_conn.getresponse()
                out = json.loads(r.read())
                assert r.status == 200, out
                assert out["records"] == [[{"stringValue": "Fred Smith"}]], out

            def via_boto3(arn: str = arn) -> None:
                out = data.execute_statement(
                    resourceArn=arn, secretArn=secret, sql=SQL, database="bench"
                )
                assert out["records"] == [[{"stringValue": "Fred Smith"}]]

            for f in (direct, lean, via_boto3):
                timed(200, f)  # warm up
            d, api, b3 = [], [], []
            for _ in range(4):  # interleaved blocks: a noisy minute hits all three
                d += timed(args.requests // 4, direct)
                api += timed(args.requests // 4, lean)
                b3 += timed(args.requests // 8, via_boto3)
            conn.close()
            print(
                f"{engine:10s} {p50(d):7.0f}us {p50(api):7.0f}us {p50(api) / p50(d):5.2f}x "
                f"{p50(b3):7.0f}us"
            )
        print("(p50s; target: Data API <= 3x direct)")
    finally:
        fl.terminate()
        fl.wait(30)


if __name__ == "__main__":
    main()
