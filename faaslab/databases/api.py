"""`/_faaslab/db/...`: the clusters, for the `faaslab db` commands (JSON over the edge).

GET    /_faaslab/db                   list (+ warnings, and how endpoints reach engines)
POST   /_faaslab/db                   create (body: the `db create` options)
GET    /_faaslab/db/ID                describe
DELETE /_faaslab/db/ID                delete (engine stopped, data removed)
POST   /_faaslab/db/ID/stop           StopDBCluster; POST /_faaslab/db/ID/start: StartDBCluster
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
from faaslab.http.server import Request, Response, int_param


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
        if parts[1:] == ["stop"] and req.method == "POST":
            clusters.stop_cluster(identifier)
            return Response.json(clusters.describe(identifier))
        if parts[1:] == ["start"] and req.method == "POST":
            clusters.start_cluster(identifier)
            return Response.json(clusters.describe(identifier))
        if parts[1:] == ["events"]:
            after = int_param(query, "after")
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


# The body of POST /_faaslab/db (what `faaslab db create` sends): each option, whether it
# must be given, and the JSON types it may have. Types are checked here, values by
# spec_from_options: a list where a string belongs must be a 400, not a TypeError deep
# in the checks.
_STRING = (str,)
_NUMBER = (int, float)
_CREATE_OPTIONS: dict[str, tuple[bool, tuple[type, ...]]] = {
    "identifier": (True, _STRING),
    "engine": (True, _STRING),
    "version": (True, _STRING),
    "master_username": (True, _STRING),
    "master_password": (True, _STRING),
    "min_capacity": (False, _NUMBER),
    "max_capacity": (False, _NUMBER),
    "auto_pause_seconds": (False, _NUMBER),
    "database_name": (False, _STRING),
    "port": (False, _NUMBER),
}
_JSON_TYPES = {str: "a string", int: "a number", float: "a number"}


def _create_options(body: bytes) -> dict[str, Any]:
    """The create options from a request body, every one present (None if not given) and
    of its JSON type; SpecError naming the first that is not."""
    try:
        options = json.loads(body or b"{}")
    except (ValueError, RecursionError) as e:  # (not UTF-8; nested past the parser's depth)
        raise SpecError(f"body is not JSON: {e}") from None
    if not isinstance(options, dict):
        raise SpecError(f"body must be a JSON object of options, got {type(options).__name__}")
    unknown = sorted(set(options) - set(_CREATE_OPTIONS))
    if unknown:
        raise SpecError(f"unknown option {unknown[0]!r}; options: {', '.join(_CREATE_OPTIONS)}")
    checked: dict[str, Any] = {}
    for name, (required, types) in _CREATE_OPTIONS.items():
        value = options.get(name)
        if value is None:
            if required:
                raise SpecError(f"option {name!r} is required")
        elif isinstance(value, bool) or not isinstance(value, types):
            raise SpecError(
                f"option {name!r} must be {_JSON_TYPES[types[0]]}, got {json.dumps(value)[:60]}"
            )
        checked[name] = value
    return checked


async def _create(clusters: Clusters, req: Request) -> Response:
    from faaslab.databases.spec import spec_from_options

    spec = spec_from_options(**_create_options(req.body))
    cluster = await clusters.create(spec)
    return Response.json(clusters.describe(cluster.identifier))
