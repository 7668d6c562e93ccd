"""The tutorial's Java HelloSqlite, ported to Python: the code shared by both variants.

``app.py`` (file database in /tmp) and ``app_memory.py`` (in-memory database) differ only in
how they open the connection; everything else is here.

The same code runs on AWS Lambda: copy faaslab/saaf.py (standard library only) into this
directory before ``sam deploy``, and the ``saaf`` fallback import below finds it.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

try:
    from faaslab.saaf import Inspector
except ImportError:  # on AWS: saaf.py vendored next to this file
    from saaf import Inspector  # type: ignore[no-redef,import-not-found]

DEFAULT_NAME = "Fred Smith"

#: The code directory: /var/task on AWS and in faaslab's sandboxes.
TASK_ROOT = os.environ.get("LAMBDA_TASK_ROOT", os.path.dirname(os.path.abspath(__file__)))
#: A database preloaded with the sqlite3 CLI (part 1) and deployed with the code, read-only.
BUNDLED_DB = os.path.join(TASK_ROOT, "cities.db")


def request_name(event: Any) -> str:
    """The name from a direct invoke ({"name": ...}) or from an HttpApi event's JSON body."""
    return request_field(event, "name", DEFAULT_NAME)


def request_field(event: Any, field: str, default: str) -> str:
    """A field of a direct invoke's event, or of an HttpApi event's JSON body."""
    if not isinstance(event, dict):
        return default
    body = event.get("body")
    if isinstance(body, str):
        try:
            if event.get("isBase64Encoded"):
                body = base64.b64decode(body).decode("utf-8")
            parsed = json.loads(body)
        except ValueError:  # (binascii.Error and UnicodeDecodeError are ValueErrors too)
            parsed = None
        if isinstance(parsed, dict) and field in parsed:
            return str(parsed[field])
    return str(event.get(field, default))


def hello(event: Any, connect: Callable[[], sqlite3.Connection], uses: int) -> dict[str, Any]:
    """One HelloSqlite call: SAAF metrics plus the names stored in the database so far.

    ``connect`` opens the database (a file or memory); ``uses`` is the caller's call counter.
    """
    inspector = Inspector()
    inspector.inspectAll()

    name = request_name(event)
    con = connect()
    try:
        names = record_name(con, name)
        con.commit()
    finally:
        con.close()

    inspector.addAttribute("value", f"Hello {name}")
    inspector.addAttribute("names", names)
    inspector.addAttribute("uses", uses)
    inspector.addAttribute("bundled", bundled_rows())
    inspector.inspectAllDeltas()
    return inspector.finish()


def record_name(con: sqlite3.Connection, name: str) -> list[str]:
    """Insert `name` into mytable (created first if missing) and return every name stored."""
    # Detect whether 'mytable' exists: a new container starts with an empty /tmp (and an
    # in-memory database is always empty), so it must be created before the first insert.
    found = con.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name='mytable'"
    ).fetchone()
    if found is None:
        print("trying to create table 'mytable'")
        con.execute("CREATE TABLE mytable (name text, col2 text, col3 text)")
    # A bound parameter, never string concatenation: the tutorial's Java pastes the name
    # into the SQL with '+', so O'Brien breaks it and a crafted name is injected SQL,
    # e.g.  x', (select group_concat(name) from mytable), 'c') --
    con.execute("insert into mytable values (?, 'b', 'c')", (name,))
    return [row[0] for row in con.execute("select name from mytable")]


def bundled_rows(path: str = BUNDLED_DB) -> list[list[str]]:
    """The rows of the read-only database deployed with the code ([] if it is absent)."""
    if not os.path.isfile(path):
        return []
    # mode=ro: the code directory is read-only on Lambda, so SQLite must not try to write.
    con = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True)
    try:
        return [list(row) for row in con.execute("select name, city, state from newtable")]
    finally:
        con.close()
