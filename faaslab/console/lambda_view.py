"""The Lambda page's API: functions and their configuration, Invoke, logs, saved test
events. Each call goes to the functions manager or its log store; nothing here decides
how a function runs."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from faaslab.awsapi.errors import ApiError
from faaslab.functions import invoke_api
from faaslab.functions.errors import LambdaError
from faaslab.functions.logs import read_records
from faaslab.functions.logs_api import matcher
from faaslab.functions.manager import Manager
from faaslab.functions.model import LATEST, FunctionConfig
from faaslab.http.server import Request, Response

# A saved test event's name, as the Lambda console allows (letters, digits, - _ . , 1-25)
EVENT_NAME = re.compile(r"^[A-Za-z0-9._-]{1,25}$")
MAX_EVENT_BYTES = 256 * 1024  # Lambda's asynchronous payload limit; the console's own cap
MAX_LOG_RECORDS = 2000  # per answer: the page asks again from the offset it got


def describe(fn: FunctionConfig, environments: int) -> dict[str, Any]:
    return {
        "name": fn.name,
        "arn": fn.arn,
        "runtime": fn.runtime,
        "handler": fn.handler,
        "memory_mb": fn.memory_mb,
        "timeout_s": fn.timeout_s,
        "ephemeral_mb": fn.ephemeral_mb,
        "architecture": fn.architecture,
        "environment": fn.environment,
        "reserved_concurrency": fn.reserved_concurrency,
        "layers": [layer.name for layer in fn.layers],
        "vpc": fn.vpc is not None,
        "routes": [f"{r.method} {r.path}" for r in fn.routes],
        "environments": environments,
    }


class LambdaView:
    def __init__(self, manager: Manager, events_dir: Path) -> None:
        self.manager = manager
        self.events_dir = events_dir  # <state>/console/test-events/<function>/<name>.json

    def functions(self) -> Response:
        pools = [p for p in self.manager.pools.values() if p.fn.version == LATEST]
        return Response.json(
            {"functions": [describe(p.fn, len(p.envs)) for p in sorted(pools, key=_name)]}
        )

    def environments(self) -> Response:
        return Response.json({"environments": self.manager.environments(), "t": time.time()})

    async def invoke(self, name: str, body: bytes) -> Response:
        """RequestResponse with the log tail, as the console's Test button does: checked
        by the Invoke API's own parser (payload size, JSON, qualifier), then run."""
        started = time.perf_counter()
        try:
            request = Request("POST", "", "", {"x-amz-log-type": "Tail"}, body)
            function, _, invoke, _ = invoke_api.parse_invoke(request, name)
            result = await self.manager.invoke(function, invoke, want_tail=True)
        except LambdaError as e:
            return _error(e.status, e.error_type, str(e))
        tail = result.log_tail.decode("utf-8", "replace")
        report = next((ln for ln in reversed(tail.splitlines()) if ln.startswith("REPORT ")), "")
        return Response.json(
            {
                "request_id": result.request_id,
                "payload": result.payload.decode("utf-8", "replace"),
                "function_error": result.function_error,
                "log_tail": tail,
                "report": report,
                "round_trip_ms": round((time.perf_counter() - started) * 1000, 2),
            }
        )

    def logs(self, name: str, offset: int, pattern: str = "") -> Response:
        """Records from byte `offset` of the function's log, those matching `pattern` (a
        CloudWatch filter pattern, as FilterLogEvents takes: logs_api.matcher)."""
        try:
            self.manager.pool(name)
            match = matcher(pattern)
        except LambdaError as e:
            return _error(e.status, e.error_type, str(e))
        except ApiError as e:
            return _error(e.status, e.code, e.message)
        self.manager.logs.flush()
        records, end = read_records(self.manager.logs.path(name), offset)
        if pattern.strip():
            records = [r for r in records if match(str(r["m"]))]
        if len(records) > MAX_LOG_RECORDS:  # (the first page of a long log: its last lines)
            records = records[-MAX_LOG_RECORDS:]
        return Response.json({"records": records, "offset": end})

    # -- saved test events (the Lambda console keeps them per function)
    def _dir(self, name: str) -> Path:
        pool = self.manager.pool(name)  # ResourceNotFound for an unknown function
        return self.events_dir / pool.fn.name

    def list_events(self, name: str) -> Response:
        try:
            folder = self._dir(name)
        except LambdaError as e:
            return _error(e.status, e.error_type, str(e))
        events = {}
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            events[path.stem] = path.read_text(encoding="utf-8")
        return Response.json({"events": events})

    def save_event(self, name: str, event: str, body: bytes) -> Response:
        if not EVENT_NAME.match(event):
            return _error(400, "InvalidParameterValueException", _EVENT_NAME_RULE)
        if len(body) > MAX_EVENT_BYTES:
            return _error(413, "RequestTooLargeException", "a test event is at most 256 KB")
        try:
            json.loads(body)
        except (ValueError, RecursionError) as e:
            return _error(400, "InvalidRequestContentException", f"the event is not JSON: {e}")
        try:
            folder = self._dir(name)
        except LambdaError as e:
            return _error(e.status, e.error_type, str(e))
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{event}.tmp"
        tmp.write_bytes(body)
        tmp.replace(folder / f"{event}.json")
        return Response.json({"saved": event})

    def delete_event(self, name: str, event: str) -> Response:
        if not EVENT_NAME.match(event):
            return _error(400, "InvalidParameterValueException", _EVENT_NAME_RULE)
        try:
            path = self._dir(name) / f"{event}.json"
        except LambdaError as e:
            return _error(e.status, e.error_type, str(e))
        if not path.exists():
            return _error(404, "ResourceNotFoundException", f"no saved event {event!r}")
        path.unlink()
        return Response.json({"deleted": event})


_EVENT_NAME_RULE = "an event name is 1-25 letters, digits, '.', '_' or '-'"


def _name(pool: Any) -> str:
    return str(pool.fn.name)


def _error(status: int, code: str, message: str) -> Response:
    return Response.json({"code": code, "message": message}, status)
