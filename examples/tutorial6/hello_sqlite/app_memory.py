"""helloSqliteMemory: the in-memory variant (jdbc:sqlite: in the tutorial's Java), opened
per call, so nothing persists between calls even in the same container (tutorial Q3)."""

from __future__ import annotations

import sqlite3
from typing import Any

from hello_common import hello

uses = 0


def handler(event: Any, context: Any) -> dict[str, Any]:
    global uses
    uses += 1
    return hello(event, lambda: sqlite3.connect(":memory:"), uses)
