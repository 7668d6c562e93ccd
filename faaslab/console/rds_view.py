"""The RDS page's API: the clusters through the same JSON API the `faaslab db` commands
use (`databases/api.py`: list, describe, create, modify, delete, stop, start, events, metrics,
cost), and the Query Editor through the Data API's own handler, in process."""

from __future__ import annotations

import json
from typing import Any

from faaslab.databases import api as db_api
from faaslab.databases.manager import Clusters
from faaslab.http.server import Request, Response
from faaslab.rdsdata.api import DataApi

QUERY_FIELDS = ("resourceArn", "secretArn", "sql", "database")


class RdsView:
    def __init__(self, clusters: Clusters, data_api: DataApi) -> None:
        self.clusters = clusters
        self.data_api = data_api

    async def clusters_api(self, req: Request, parts: list[str]) -> Response:
        """`/_console/api/db/...`: `/_faaslab/db/...` (databases/api.py's docstring)."""
        return await db_api.handle(self.clusters, req, parts)

    async def query(self, req: Request) -> Response:
        """ExecuteStatement as the RDS Query Editor sends it (a cluster, a Secrets Manager
        secret, a database, SQL), answered by the Data API's handler: its results, column
        metadata and errors are the Data API's own."""
        try:
            body: Any = json.loads(req.body or b"{}")
        except (ValueError, RecursionError):
            return Response.json({"message": "the body is not JSON"}, 400)
        if not isinstance(body, dict):
            return Response.json({"message": "the body must be a JSON object"}, 400)
        statement = {k: body[k] for k in QUERY_FIELDS if body.get(k)}
        statement["includeResultMetadata"] = True
        data_request = Request(
            "POST",
            "/Execute",
            "",
            {"content-type": "application/json"},
            json.dumps(statement).encode(),
        )
        return await self.data_api.handle(data_request)
