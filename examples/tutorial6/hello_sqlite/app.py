"""helloSqlite: the database is a file in /tmp, so it lives as long as the container."""

from __future__ import annotations

import sqlite3
from typing import Any

from hello_common import hello

DB_PATH = "/tmp/mytest.db"
uses = 0  # module level: survives between calls in a warm container (tutorial Q4/Q5)


def handler(event: Any, context: Any) -> dict[str, Any]:
    global uses
    uses += 1
    return hello(event, lambda: sqlite3.connect(DB_PATH), uses)
