"""helloMySQL: the tutorial's Java HelloMySQL (part 6), ported to Python.

Each call inserts the request's name into TEST.mytable on the tcss562 cluster and returns
every name stored so far, with the SAAF metrics. The table must exist: part 5 creates it
with the mysql client (``CREATE TABLE mytable (name VARCHAR(40), col2 VARCHAR(40),
col3 VARCHAR(40))``).

The connection settings come from environment variables that the template wires from the
cluster (``!GetAtt Tcss562.Endpoint.Address`` / ``.Endpoint.Port``, the master user
parameters, database TEST); they replace the Java version's db.properties.

A connection is opened per call and closed before returning, as the Java does: a frozen
container holding a connection would count as a client, and the cluster would never pause.

On AWS, PyMySQL and saaf.py must be in the deployment package: ``sam build`` installs
requirements.txt; copy faaslab/saaf.py (standard library only) beside this file.
"""

from __future__ import annotations

import base64
import json
import os
import time
from typing import Any

import pymysql

try:
    from faaslab.saaf import Inspector
except ImportError:  # on AWS: saaf.py vendored next to this file
    from saaf import Inspector  # type: ignore[no-redef,import-not-found]

DEFAULT_NAME = "Fred Smith"


def request_name(event: Any) -> str:
    """The name from a direct invoke ({"name": ...}) or from an HttpApi event's JSON body.
    (The same as hello_sqlite/hello_common.py's: each CodeUri is deployed on its own, so
    a function cannot import another function's code.)"""
    if not isinstance(event, dict):
        return DEFAULT_NAME
    body = event.get("body")
    if isinstance(body, str):
        try:
            if event.get("isBase64Encoded"):
                body = base64.b64decode(body).decode("utf-8")
            parsed = json.loads(body)
        except ValueError:  # (binascii.Error and UnicodeDecodeError are ValueErrors too)
            parsed = None
        if isinstance(parsed, dict) and "name" in parsed:
            return str(parsed["name"])
    return str(event.get("name", DEFAULT_NAME))


def connect() -> pymysql.connections.Connection[Any]:
    """Open TEST on the cluster. A paused cluster holds the connection while it resumes
    (~25-30 s on AWS, hence the function's 5-minute timeout)."""
    host, port = os.environ["DB_HOST"], int(os.environ["DB_PORT"])
    started = time.perf_counter()
    con = pymysql.connect(
        host=host,
        port=port,
        user=os.environ["DB_USER"],
        password=os.environ["DB_PASSWORD"],
        database=os.environ.get("DB_NAME", "TEST"),
        connect_timeout=60,
    )
    print(f"connected to {host}:{port} in {(time.perf_counter() - started) * 1000:.1f} ms")
    return con


def handler(event: Any, context: Any) -> dict[str, Any]:
    inspector = Inspector()
    inspector.inspectAll()

    name = request_name(event)
    con = connect()
    try:
        with con.cursor() as cur:
            # A bound parameter, never string concatenation: the Java pastes the name into
            # the SQL, so O'Brien breaks the call and a crafted name is executed as SQL.
            cur.execute("insert into mytable values (%s, 'b', 'c')", (name,))
            con.commit()
            cur.execute("select name from mytable")
            names = [row[0] for row in cur.fetchall()]
    finally:
        con.close()

    inspector.addAttribute("value", f"Hello {name}")
    inspector.addAttribute("names", names)
    inspector.inspectAllDeltas()
    return inspector.finish()
