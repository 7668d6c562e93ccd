"""Live updates: one timer snapshots what faaslab already records and streams the changes
to every open console page as server-sent events.

Nothing is added to the invoke path: while at least one page listens, a 250 ms timer
reads the functions manager's environments, the clusters' descriptions and RDS events,
the log files' new records (the log store writes them every 250 ms anyway) and, every
second, the clusters' new metric samples; a change is sent once, to every page. With no
page open the timer does not run.

Events (`event:` name, JSON `data:`):
  hello         {"environments": [...], "clusters": [...], "t": now} on connecting
  environments  {"environments": [...], "t": now} when one changes state, uses or memory
  clusters      {"clusters": [...]} when a status, capacity or setting changes
  rds-event     {"cluster": ID, "events": [...]} new RDS events
  metrics       {"cluster": ID, "metrics": {name: [[t, v], ...]}} new samples
  logs          {"function": NAME, "from": offset, "to": offset, "records": [...]}
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from faaslab.databases.manager import ClusterError, Clusters
from faaslab.functions.logs import read_records
from faaslab.functions.manager import Manager
from faaslab.functions.model import LATEST
from faaslab.http.server import Stream

INTERVAL_S = 0.25
METRICS_EVERY = 4  # ticks: metrics are sampled once a second
KEEPALIVE_EVERY = 60  # ticks: a comment line, so a vanished page is noticed
HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-store",
    "X-Accel-Buffering": "no",
}

Writer = Callable[[bytes], None]


def sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _env_signature(env: dict[str, Any]) -> tuple[Any, ...]:
    # (age and idle time grow by themselves: the page counts them on from `t`)
    return (env["id"], env["state"], env["uses"], env["memory_mb"])


class Live:
    def __init__(self, manager: Manager, clusters: Clusters) -> None:
        self.manager = manager
        self.clusters = clusters
        self.writers: set[Writer] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._ticks = 0
        self._envs: object = None
        self._clusters: object = None
        self._event_ids: dict[str, int] = {}  # cluster -> last RDS event id sent
        self._metrics_since: dict[str, float] = {}  # cluster -> newest sample time sent
        self._log_offsets: dict[str, int] = {}  # function -> log file offset sent

    def stream(self) -> Stream:
        holder: list[Writer] = []

        def opened(write: Writer) -> None:
            holder.append(write)
            if not self.writers:
                self._start()
            self.writers.add(write)
            envs = self.manager.environments()
            write(b"retry: 2000\n\n")
            write(
                sse(
                    "hello",
                    {
                        "environments": envs,
                        "clusters": self.clusters.describe_all(),
                        "t": time.time(),
                    },
                )
            )

        def closed() -> None:
            if holder:
                self.writers.discard(holder[0])
            if not self.writers:
                self._stop()

        return Stream(dict(HEADERS), opened, closed)

    def close(self) -> None:
        self.writers.clear()
        self._stop()

    # -- the timer
    def _start(self) -> None:
        """Baselines (what a page gets from the JSON API when it opens), then the timer."""
        self._envs = [_env_signature(e) for e in self.manager.environments()]
        self._clusters = self.clusters.describe_all()
        for identifier in list(self.clusters.clusters):
            events = self.clusters.db.events(identifier, self._event_ids.get(identifier, 0))
            if events:
                self._event_ids[identifier] = events[-1].id
            self._metrics_since.setdefault(identifier, self.clusters.clock.now())
        for name in self._functions():
            self._log_offsets[name] = self._log_size(name)
        self._timer = asyncio.get_running_loop().call_later(INTERVAL_S, self._tick)

    def _stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _tick(self) -> None:
        self._timer = None
        if not self.writers:
            return
        self._ticks += 1
        try:
            self._sample()
        finally:
            if self.writers:
                self._timer = asyncio.get_running_loop().call_later(INTERVAL_S, self._tick)

    def _send(self, data: bytes) -> None:
        for write in list(self.writers):
            write(data)

    def _sample(self) -> None:
        envs = self.manager.environments()
        signature = [_env_signature(e) for e in envs]
        if signature != self._envs:
            self._envs = signature
            self._send(sse("environments", {"environments": envs, "t": time.time()}))
        clusters = self.clusters.describe_all()
        if clusters != self._clusters:
            self._clusters = clusters
            self._send(sse("clusters", {"clusters": clusters}))
        for identifier in list(self.clusters.clusters):
            self._cluster_events(identifier)
            if self._ticks % METRICS_EVERY == 0:
                self._cluster_metrics(identifier)
        for name in self._functions():
            self._logs(name)
        if self._ticks % KEEPALIVE_EVERY == 0:
            self._send(b": keep-alive\n\n")

    def _cluster_events(self, identifier: str) -> None:
        after = self._event_ids.get(identifier, 0)
        try:
            events = self.clusters.events(identifier, after)
        except ClusterError:  # (deleted since the list was read)
            return
        if events:
            self._event_ids[identifier] = int(events[-1]["Id"])
            self._send(sse("rds-event", {"cluster": identifier, "events": events}))

    def _cluster_metrics(self, identifier: str) -> None:
        since = self._metrics_since.get(identifier, 0.0)
        try:
            metrics = self.clusters.metrics(identifier, since)
        except ClusterError:
            return
        newest = max((t for samples in metrics.values() for t, _ in samples), default=None)
        if newest is not None:
            self._metrics_since[identifier] = newest + 1e-6
            fresh = {name: samples for name, samples in metrics.items() if samples}
            self._send(sse("metrics", {"cluster": identifier, "metrics": fresh}))

    def _functions(self) -> list[str]:
        return [p.fn.name for p in self.manager.pools.values() if p.fn.version == LATEST]

    def _log_size(self, name: str) -> int:
        try:
            return self.manager.logs.path(name).stat().st_size
        except OSError:
            return 0

    def _logs(self, name: str) -> None:
        offset = self._log_offsets.get(name, 0)
        if self._log_size(name) <= offset:
            return
        records, end = read_records(self.manager.logs.path(name), offset)
        if records:
            self._log_offsets[name] = end
            self._send(
                sse("logs", {"function": name, "from": offset, "to": end, "records": records})
            )
