"""CloudWatch Logs over the functions' log store (logs.py): a group per function
(`/aws/lambda/<name>`), a stream per environment, as on AWS, so `aws logs tail --follow`,
`aws logs filter-log-events` and SDK scripts read faaslab's logs unchanged.

Filter patterns: CloudWatch's term syntax (`ERROR`, `"exact phrase"`, `?a ?b` for any
of, `-term` to exclude). JSON and space-delimited patterns (`{ $.x = 1 }`, `[a, b]`) are
refused in AWS's words rather than matched wrongly.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from faaslab.awsapi.dispatch import Call, Output, ServiceApi
from faaslab.awsapi.errors import ApiError
from faaslab.functions.logs import LogStore, read_records
from faaslab.functions.model import FunctionConfig

PAGE = 10_000  # events per page at most (AWS: 10,000 or 1 MB)
GROUPS_PAGE = 50
LAMBDA_PREFIX = "/aws/lambda/"


@dataclass(frozen=True)
class Event:
    stream: str
    timestamp: int  # ms
    message: str
    index: int  # its position in the group: the event id and the paging position


def _invalid(message: str) -> ApiError:
    return ApiError("InvalidParameterException", message)


def _token(position: int, kind: str = "f") -> str:
    return base64.urlsafe_b64encode(json.dumps([kind, position]).encode()).decode()


def _read_token(token: str) -> tuple[str, int]:
    try:
        kind, position = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError):
        raise _invalid("The specified nextToken is invalid.") from None
    if kind not in ("f", "b") or not isinstance(position, int) or position < 0:
        raise _invalid("The specified nextToken is invalid.")
    return kind, position


def _position(token: str | None) -> int | None:
    """A forward paging token's position (None without a token)."""
    if token is None:
        return None
    kind, position = _read_token(token)
    if kind != "f":
        raise _invalid("The specified nextToken is invalid.")
    return position


def matcher(pattern: str | None) -> Callable[[str], bool]:
    """A CloudWatch term filter pattern as a predicate over a message."""
    text = (pattern or "").strip()
    if not text:
        return lambda _m: True
    if text.startswith(("{", "[")) or re.match(r"%.*%$", text):
        raise _invalid(
            f'faaslab matches term patterns only (words, "phrases", ?any, -exclude), '
            f"not JSON, space-delimited or regular-expression patterns: {text}"
        )
    try:
        terms = shlex.split(text)
    except ValueError:
        raise _invalid(f"Invalid filter pattern: {text}") from None
    anyof = [t[1:] for t in terms if t.startswith("?") and len(t) > 1]
    exclude = [t[1:] for t in terms if t.startswith("-") and len(t) > 1]
    required = [t for t in terms if not t.startswith(("?", "-"))]

    def match(message: str) -> bool:
        if any(t not in message for t in required):
            return False
        if anyof and not any(t in message for t in anyof):
            return False
        return not any(t in message for t in exclude)

    return match


class LogsApi:
    """The handlers, over the manager's log store and its functions."""

    def __init__(
        self,
        store: LogStore,
        functions: Callable[[], Iterable[FunctionConfig]],
        region: str,
        account: str,
        created_ms: int,
    ) -> None:
        self.store = store
        self.functions = functions
        self.region = region
        self.account = account
        self.created_ms = created_ms

    def api(self) -> ServiceApi:
        return ServiceApi(
            "logs",
            {
                "DescribeLogGroups": self.describe_log_groups,
                "DescribeLogStreams": self.describe_log_streams,
                "GetLogEvents": self.get_log_events,
                "FilterLogEvents": self.filter_log_events,
            },
        )

    # -- groups and their events
    def _groups(self) -> dict[str, str]:
        """Log group name -> function name: the deployed functions' and any with logs."""
        names = {fn.name for fn in self.functions()}
        names |= {p.stem for p in self.store.root.glob("*.jsonl")}
        return {LAMBDA_PREFIX + n: n for n in sorted(names)}

    def _function(self, params: dict[str, Any]) -> str:
        group = params.get("logGroupName") or params.get("logGroupIdentifier")
        if not group:
            raise _invalid("Either logGroupName or logGroupIdentifier must be given.")
        if group.startswith("arn:"):
            group = group.split(":log-group:", 1)[-1].removesuffix(":*")
        function = self._groups().get(group)
        if function is None:
            raise ApiError(
                "ResourceNotFoundException", "The specified log group does not exist.", 400
            )
        return function

    def _events(self, function: str) -> list[Event]:
        self.store.flush()
        records, _ = read_records(self.store.path(function))
        return [Event(str(r["s"]), int(str(r["t"])), str(r["m"]), i) for i, r in enumerate(records)]

    def _arn(self, group: str) -> str:
        return f"arn:aws:logs:{self.region}:{self.account}:log-group:{group}"

    # -- operations
    def describe_log_groups(self, call: Call) -> Output:
        p = call.params
        limit = p.get("limit") or GROUPS_PAGE
        prefix = p.get("logGroupNamePrefix") or ""
        pattern = p.get("logGroupNamePattern")
        groups = [
            g
            for g in self._groups()
            if g.startswith(prefix) and (not pattern or pattern.lower() in g.lower())
        ]
        start = _position(p.get("nextToken")) or 0
        page = groups[start : start + limit]
        out: dict[str, Any] = {
            "logGroups": [
                {
                    "logGroupName": g,
                    "creationTime": self.created_ms,
                    "metricFilterCount": 0,
                    "arn": self._arn(g) + ":*",
                    "logGroupArn": self._arn(g),
                    "storedBytes": self._size(g),
                    "logGroupClass": "STANDARD",
                }
                for g in page
            ]
        }
        if start + limit < len(groups):
            out["nextToken"] = _token(start + limit)
        return out

    def _size(self, group: str) -> int:
        try:
            return self.store.path(group.removeprefix(LAMBDA_PREFIX)).stat().st_size
        except OSError:
            return 0

    def describe_log_streams(self, call: Call) -> Output:
        p = call.params
        function = self._function(p)
        prefix = p.get("logStreamNamePrefix") or ""
        order = p.get("orderBy") or "LogStreamName"
        if order == "LastEventTime" and prefix:
            raise _invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
        streams: dict[str, list[Event]] = {}
        for e in self._events(function):
            if e.stream.startswith(prefix):
                streams.setdefault(e.stream, []).append(e)
        rows: list[dict[str, Any]] = [
            {
                "logStreamName": name,
                "creationTime": events[0].timestamp,
                "firstEventTimestamp": events[0].timestamp,
                "lastEventTimestamp": events[-1].timestamp,
                "lastIngestionTime": events[-1].timestamp,
                "arn": f"{self._arn(LAMBDA_PREFIX + function)}:log-stream:{name}",
                "storedBytes": 0,  # (AWS reports 0 too: deprecated)
            }
            for name, events in streams.items()
        ]
        key = "logStreamName" if order == "LogStreamName" else "lastEventTimestamp"
        rows.sort(key=lambda r: r[key], reverse=bool(p.get("descending")))
        limit = p.get("limit") or 50
        start = _position(p.get("nextToken")) or 0
        out: dict[str, Any] = {"logStreams": rows[start : start + limit]}
        if start + limit < len(rows):
            out["nextToken"] = _token(start + limit)
        return out

    def get_log_events(self, call: Call) -> Output:
        p = call.params
        function = self._function(p)
        stream = p["logStreamName"]
        events = [e for e in self._events(function) if e.stream == stream]
        if not events and not any(fn.name == function for fn in self.functions()):
            raise ApiError("ResourceNotFoundException", "The specified log stream does not exist.")
        events = _in_window(events, p)
        limit = min(p.get("limit") or PAGE, PAGE)
        token = p.get("nextToken")
        kind, position = _read_token(token) if token else ("", 0)
        if kind == "f":
            page = events[position : position + limit]
            first = position
        elif kind == "b":
            first = max(0, position - limit)
            page = events[first:position]
        elif p.get("startFromHead"):
            first = 0
            page = events[:limit]
        else:
            first = max(0, len(events) - limit)
            page = events[first:]
        return {
            "events": [_output_event(e) for e in page],
            "nextForwardToken": _token(first + len(page), "f"),
            "nextBackwardToken": _token(first, "b"),
        }

    def filter_log_events(self, call: Call) -> Output:
        p = call.params
        function = self._function(p)
        names = p.get("logStreamNames")
        prefix = p.get("logStreamNamePrefix")
        if names and prefix:
            raise _invalid("logStreamNames and logStreamNamePrefix cannot both be given.")
        match = matcher(p.get("filterPattern"))
        events = _in_window(self._events(function), p)
        start = _position(p.get("nextToken")) or 0
        chosen = [
            e
            for e in events
            if e.index >= start
            and (not names or e.stream in names)
            and (not prefix or e.stream.startswith(prefix))
            and match(e.message)
        ]
        limit = min(p.get("limit") or PAGE, PAGE)
        page = chosen[:limit]
        out: dict[str, Any] = {
            "events": [
                {**_output_event(e), "logStreamName": e.stream, "eventId": _event_id(e)}
                for e in page
            ],
            "searchedLogStreams": [
                {"logStreamName": s, "searchedCompletely": True}
                for s in sorted({e.stream for e in events})
            ],
        }
        if len(chosen) > limit:
            out["nextToken"] = _token(page[-1].index + 1)
        return out


def _in_window(events: list[Event], p: dict[str, Any]) -> list[Event]:
    start, end = p.get("startTime"), p.get("endTime")
    return [
        e
        for e in events
        if (start is None or e.timestamp >= start) and (end is None or e.timestamp <= end)
    ]


def _output_event(e: Event) -> dict[str, Any]:
    return {"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.timestamp}


def _event_id(e: Event) -> str:
    return f"{e.timestamp:020d}{e.index:036d}"
