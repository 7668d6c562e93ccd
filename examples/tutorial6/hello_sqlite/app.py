"""helloSqlite: the SQLite database is a file in /tmp, so it lives as long as the container.

Handler ``app.handler``. The shared logic (and the SAAF import, with its fallback for AWS,
where faaslab/saaf.py is copied next to this file) is in hello_common.py.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from hello_common import hello

# /tmp/mytest.db, as in the tutorial (jdbc:sqlite:mytest.db in /tmp). TMPDIR is unset on AWS
# and in faaslab's sandboxes; only faaslab without root sets it, to each environment's own
# directory, so that the database stays per container there too.
DB_PATH = os.path.join(os.environ.get("TMPDIR") or "/tmp", "mytest.db")

# Module globals live as long as the container, like the Java `static int uses` (Q4, Q5).
uses = 0


def handler(event: Any, context: Any) -> dict[str, Any]:
    global uses
    uses += 1
    return hello(event, lambda: sqlite3.connect(DB_PATH), uses)
