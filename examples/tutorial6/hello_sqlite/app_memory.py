"""helloSqliteMemory: the in-memory variant (the tutorial's ``jdbc:sqlite:``).

Handler ``app_memory.handler``. The database is opened per call, as in the Java, so nothing
persists between calls even in a warm container (Q3), while the ``uses`` counter does (Q4).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from hello_common import hello

uses = 0


def handler(event: Any, context: Any) -> dict[str, Any]:
    global uses
    uses += 1
    return hello(event, lambda: sqlite3.connect(":memory:"), uses)
