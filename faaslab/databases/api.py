"""`/_faaslab/db/...`: the clusters, for the `faaslab db` commands (JSON over the edge).

GET    /_faaslab/db                   list (+ warnings, and how endpoints reach engines)
POST   /_faaslab/db                   create (body: the `db create` options)
GET    /_faaslab/db/ID                describe
PATCH  /_faaslab/db/ID                ModifyDBCluster (body: the `db modify` options)
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
from faaslab.databases.model import ClusterSpec, SpecError, Version
from faaslab.databases.spec import modified_spec, spec_from_options
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
            if req.method == "PATCH":
                return await _modify(clusters, identifier, req)
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
_BOOLEAN = (bool,)
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
# The body of PATCH /_faaslab/db/ID (`faaslab db modify`, the console's Modify form): what
# ModifyDBCluster changes on a serverless cluster, none required; values checked by
# modified_spec, as the RDS API's are.
_MODIFY_OPTIONS: dict[str, tuple[bool, tuple[type, ...]]] = {
    "min_capacity": (False, _NUMBER),
    "max_capacity": (False, _NUMBER),
    "auto_pause_seconds": (False, _NUMBER),
    "auto_pause": (False, _BOOLEAN),
    "enable_http_endpoint": (False, _BOOLEAN),
    "master_password": (False, _STRING),
}
# each scaling option's key in ScalingConfiguration / ServerlessV2ScalingConfiguration
_SCALING_KEYS = {
    "min_capacity": "MinCapacity",
    "max_capacity": "MaxCapacity",
    "auto_pause_seconds": "SecondsUntilAutoPause",
    "auto_pause": "AutoPause",
}
_JSON_TYPES = {str: "a string", int: "a number", float: "a number", bool: "true or false"}


def _options(body: bytes, table: dict[str, tuple[bool, tuple[type, ...]]]) -> dict[str, Any]:
    """The options of `table` from a request body, every one present (None if not given)
    and of its JSON type; SpecError naming the first that is not."""
    try:
        options = json.loads(body or b"{}")
    except (ValueError, RecursionError) as e:  # (not UTF-8; nested past the parser's depth)
        raise SpecError(f"body is not JSON: {e}") from None
    if not isinstance(options, dict):
        raise SpecError(f"body must be a JSON object of options, got {type(options).__name__}")
    unknown = sorted(set(options) - set(table))
    if unknown:
        raise SpecError(f"unknown option {unknown[0]!r}; options: {', '.join(table)}")
    checked: dict[str, Any] = {}
    for name, (required, types) in table.items():
        value = options.get(name)
        if value is None:
            if required:
                raise SpecError(f"option {name!r} is required")
        # (a JSON true is a Python int: only a boolean option takes it)
        elif not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise SpecError(
                f"option {name!r} must be {_JSON_TYPES[types[0]]}, got {json.dumps(value)[:60]}"
            )
        checked[name] = value
    return checked


async def _create(clusters: Clusters, req: Request) -> Response:
    spec = spec_from_options(**_options(req.body, _CREATE_OPTIONS))
    cluster = await clusters.create(spec)
    return Response.json(clusters.describe(cluster.identifier))


def modify_options(body: bytes) -> dict[str, Any]:
    """The PATCH body's options, type-checked; SpecError if none is given."""
    options = _options(body, _MODIFY_OPTIONS)
    if all(value is None for value in options.values()):
        raise SpecError(f"nothing to modify; options: {', '.join(_MODIFY_OPTIONS)}")
    return options


def modified(spec: ClusterSpec, options: dict[str, Any]) -> ClusterSpec:
    """`spec` changed as ModifyDBCluster would change it given `options` (modify_options):
    the scaling options go in the configuration of the cluster's version."""
    v1 = spec.version is Version.V1
    if options["auto_pause"] is not None and not v1:
        raise SpecError(
            "option 'auto_pause' is for Aurora Serverless v1 clusters: a v2 cluster pauses "
            "when its min_capacity is 0"
        )
    scaling = {
        key: options[name] for name, key in _SCALING_KEYS.items() if options[name] is not None
    }
    return modified_spec(
        spec,
        scaling if scaling and v1 else None,
        scaling if scaling and not v1 else None,
        options["enable_http_endpoint"],
        options["master_password"],
    )


async def _modify(clusters: Clusters, identifier: str, req: Request) -> Response:
    options = modify_options(req.body)  # (a bad body is a 400 whether or not the cluster exists)
    spec = modified(clusters.get(identifier).spec, options)
    await clusters.modify(identifier, spec)
    return Response.json(clusters.describe(identifier))
