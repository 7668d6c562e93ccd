"""The request log: one line per AWS API call (service, operation, status, milliseconds,
and a 4xx/5xx's reason), on `faaslab up`'s console and in `<state>/requests.log`, as
LocalStack's: a client's failure leaves a trace on the server side.

Lines are queued (a tuple append on the request's path) and written every 250 ms by
`run`, so logging costs a request nothing it waits for.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import time
from pathlib import Path
from typing import IO, TextIO

from faaslab.awsapi.dispatch import Logged

FLUSH_S = 0.25


class RequestLog:
    def __init__(self, path: Path, console: TextIO | None = sys.stderr) -> None:
        self.path = path
        self.console = console
        self._queue: list[tuple[float, Logged]] = []
        self._file: IO[str] | None = None

    def add(self, entry: Logged) -> None:
        self._queue.append((time.time(), entry))

    def flush(self) -> None:
        queue, self._queue = self._queue, []
        if not queue:
            return
        lines = "".join(format_line(t, e) + "\n" for t, e in queue)
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        self._file.write(lines)
        self._file.flush()
        if self.console is not None:
            self.console.write(lines)
            self.console.flush()

    async def run(self) -> None:
        try:
            while True:
                await asyncio.sleep(FLUSH_S)
                self.flush()
        finally:
            self.flush()

    def close(self) -> None:
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None


@functools.lru_cache(maxsize=4)
def _clock(second: int) -> str:
    return time.strftime("%H:%M:%S", time.localtime(second))


def format_line(t: float, e: Logged) -> str:
    stamp = f"{_clock(int(t))}.{int(t * 1000) % 1000:03d}"
    line = f"{stamp} AWS {e.service}.{e.operation} => {e.status} ({e.ms:.1f} ms)"
    if e.error:
        line += f" {e.error}"
    if e.note:
        line += f" (note: {e.note})"
    return line
