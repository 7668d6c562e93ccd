"""The HelloSqlite function of the tutorial, ported from Java: shared by both variants.

Runs unchanged on AWS Lambda: copy faaslab/saaf.py (stdlib only) next to this file as
saaf.py before `sam deploy`.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from typing import Any

try:
    from faaslab.saaf import Inspector
except ImportError:  # on AWS, with saaf.py vendored beside this file
    from saaf import Inspector  # type: ignore[no-redef]

TASK_ROOT = os.environ.get("LAMBDA_TASK_ROOT", os.path.dirname(os.path.abspath(__file__)))
BUNDLED_DB = os.path.join(TASK_ROOT, "cities.db")  # preloaded with the sqlite3 CLI (part 1)


def request_name(event: Any) -> str:
    """The name from a direct invoke ({"name": ...}) or an HTTP API event (JSON body)."""
    if isinstance(event, dict):
        if isinstance(event.get("body"), str):
            try:
                body = json.loads(event["body"])
            except ValueError:
                body = {}
            if isinstance(body, dict) and "name" in body:
                return str(body["name"])
        if "name" in event:
            return str(event["name"])
    return "Fred Smith"


def hello(event: Any, connect: Callable[[], sqlite3.Connection], uses: int) -> dict[str, Any]:
    inspector = Inspector()
    inspector.inspectAll()
    name = request_name(event)
    con = connect()
    try:
        # Detect whether 'mytable' exists (a new container starts with an empty /tmp).
        found = con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name='mytable'"
        ).fetchone()
        if found is None:
            print("trying to create table 'mytable'")
            con.execute("CREATE TABLE mytable (name text, col2 text, col3 text)")
        # A bound parameter, never string concatenation: the tutorial's Java builds this
        # statement with '+', which a name like  x'); DROP TABLE mytable; --  would exploit.
        con.execute("INSERT INTO mytable VALUES (?, 'b', 'c')", (name,))
        con.commit()
        names = [row[0] for row in con.execute("SELECT name FROM mytable")]
    finally:
        con.close()
    inspector.addAttribute("value", f"Hello {name}")
    inspector.addAttribute("names", names)
    inspector.addAttribute("uses", uses)
    inspector.addAttribute("bundled", bundled_cities())
    inspector.inspectAllDeltas()
    return inspector.finish()


def bundled_cities() -> list[list[str]]:
    """Rows of the read-only database shipped in the code dir (/var/task)."""
    if not os.path.exists(BUNDLED_DB):
        return []
    con = sqlite3.connect(f"file:{BUNDLED_DB}?mode=ro", uri=True)
    try:
        return [list(row) for row in con.execute("SELECT name, city, state FROM newtable")]
    finally:
        con.close()
