"""helloSqliteS3: part 3's optional exercise, the SQLite file kept in S3 between containers.

Handler ``app_s3.handler``; the request carries ``name`` and ``dbname``. The tutorial's
recipe (download the file into /tmp if missing, save it back at the end) loses updates
when two containers write at once: each uploads its own copy and the last one wins. Here
``S3Database`` (faaslab/sqlite_s3.py) revalidates the cached copy with a conditional GET,
runs the insert in a transaction and uploads with ``If-Match``; when another container
wrote first it downloads again and replays the insert, so every name survives.

On AWS: copy faaslab/sqlite_s3.py (standard library + boto3) next to this file, as for
saaf.py, and the fallback import below finds it. The bucket comes from the template
(``DB_BUCKET: !Ref TutorialBucket``).
"""

from __future__ import annotations

import os
import re
from typing import Any

from hello_common import Inspector, record_name, request_field, request_name

try:
    from faaslab.sqlite_s3 import S3Database
except ImportError:  # on AWS: sqlite_s3.py vendored next to this file
    from sqlite_s3 import S3Database  # type: ignore[no-redef,import-not-found]

DEFAULT_DB = "mytest.db"
_DB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

uses = 0
databases: dict[str, S3Database] = {}  # one per dbname, for as long as the container lives


def handler(event: Any, context: Any) -> dict[str, Any]:
    global uses
    uses += 1
    inspector = Inspector()
    inspector.inspectAll()
    name = request_name(event)
    dbname = request_field(event, "dbname", DEFAULT_DB)
    if not _DB_NAME.fullmatch(dbname):
        return {"error": f"dbname must match {_DB_NAME.pattern}, got {dbname!r}"}
    db = databases.get(dbname)
    if db is None:
        db = databases[dbname] = S3Database(os.environ["DB_BUCKET"], f"sqlite/{dbname}")
    names = db.transact(lambda con: record_name(con, name))
    inspector.addAttribute("value", f"Hello {name}")
    inspector.addAttribute("names", names)
    inspector.addAttribute("uses", uses)
    inspector.addAttribute("dbname", dbname)
    inspector.addAttribute(
        "s3",
        {
            "bucket": os.environ["DB_BUCKET"],
            "key": f"sqlite/{dbname}",
            "etag": db.etag,
            "downloads": db.stats.downloads,
            "not_modified": db.stats.not_modified,
            "uploads": db.stats.uploads,
            "conflicts": db.stats.conflicts,
        },
    )
    inspector.inspectAllDeltas()
    return inspector.finish()
