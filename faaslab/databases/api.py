"""`/_faaslab/db/...`: the clusters, for the `faaslab db` commands (JSON over the edge).

GET    /_faaslab/db                   list (+ warnings, and how endpoints reach engines)
POST   /_faaslab/db                   create (body: the `db create` options)
GET    /_faaslab/db/ID                describe
DELETE /_faaslab/db/ID                delete (engine stopped, data removed)
GET    /_faaslab/db/ID/events?after=N RDS events
GET    /_faaslab/db/ID/cost           billing breakdown
GET    /_faaslab/db/ID/metrics?since=T  sampled metrics
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from faaslab.databases.manager import ClusterError, Clusters
from faaslab.databases.model import SpecError
from faaslab.http.server import Request, Response


def _error(e: ClusterError | SpecError) -> Response:
    if isinstance(e, SpecError):
        return Response.json({"message": str(e), "code": "InvalidParameterValue"}, 400)
    return Response.json({"message": str(e), "code": e.code}, e.status)


async def handle(clusters: Clusters, req: Request, parts: list[str]) -> Response:
    """`parts` is the path after /_faaslab/db, split on '/'."""
    query = parse_qs(req.query)
    try:
        if not parts:
            if req.method == "POST":
                return await _create(clusters, req)
            return Response.json(
                {
                    "clusters": clusters.describe_all(),
                    "warnings": clusters.warnings,
                    "endpoint_paths": clusters.paths,
                }
            )
        identifier = parts[0]
        if len(parts) == 1:
            if req.method == "DELETE":
                description = clusters.describe(identifier)
                await clusters.delete(identifier)
                description["Status"] = "deleted"
                return Response.json(description)
            return Response.json(clusters.describe(identifier))
        if parts[1:] == ["events"]:
            after = int(query.get("after", ["0"])[0])
            return Response.json({"events": clusters.events(identifier, after)})
        if parts[1:] == ["cost"]:
            return Response.json(clusters.cost(identifier))
        if parts[1:] == ["metrics"]:
            since = float(query.get("since", ["0"])[0])
            return Response.json({"metrics": clusters.metrics(identifier, since)})
    except (ClusterError, SpecError) as e:
        return _error(e)
    except ValueError as e:
        return Response.json({"message": f"bad query: {e}"}, 400)
    return Response.json({"message": f"unknown faaslab endpoint {req.path}"}, 404)


async def _create(clusters: Clusters, req: Request) -> Response:
    from faaslab.databases.spec import spec_from_options

    try:
        options: dict[str, Any] = json.loads(req.body or b"{}")
    except ValueError as e:
        return Response.json({"message": f"body is not JSON: {e}"}, 400)
    try:
        spec = spec_from_options(**options)
    except TypeError as e:
        return Response.json({"message": f"bad options: {e}"}, 400)
    cluster = await clusters.create(spec)
    return Response.json(clusters.describe(cluster.identifier))
