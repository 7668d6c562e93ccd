"""Function logs, CloudWatch-style: one group per function, one stream per environment.

Records are JSON lines in `<state>/logs/<function>.jsonl` ({"t": ms, "s": stream, "m":
message}), appended by the control plane only (one writer), so `faaslab logs` can read
and follow them while `faaslab up` runs. The START/END/REPORT lines use AWS's formats.
"""

from __future__ import annotations

import json
import math
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import IO

TAIL_BYTES = 4096


def start_line(request_id: str, version: str = "$LATEST") -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def report_line(
    request_id: str,
    duration_ms: float,
    memory_mb: int,
    max_used_mb: int | None,
    init_ms: float | None = None,
    status: str | None = None,
) -> str:
    """AWS's REPORT line: billed per 1 ms (rounded up), Init Duration only on cold starts."""
    billed = max(1, math.ceil(duration_ms))
    line = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {billed} ms\tMemory Size: {memory_mb} MB\t"
        f"Max Memory Used: {max_used_mb if max_used_mb is not None else 0} MB"
    )
    if init_ms is not None:
        line += f"\tInit Duration: {init_ms:.2f} ms"
    if status:
        line += f"\tStatus: {status}"
    return line


class InvocationLog:
    """The lines of one invocation, kept only as far as `LogType: Tail` needs (4 KB)."""

    __slots__ = ("_lines", "_size")

    def __init__(self) -> None:
        self._lines: deque[str] = deque()
        self._size = 0

    def add(self, line: str) -> None:
        self._lines.append(line)
        self._size += len(line) + 1
        while self._size > 2 * TAIL_BYTES and len(self._lines) > 1:
            self._size -= len(self._lines.popleft()) + 1

    def tail(self) -> bytes:
        data = "".join(line + "\n" for line in self._lines).encode()
        return data[-TAIL_BYTES:]


class LogStore:
    """Appends log records per function and reads them back (for `faaslab logs`).

    `write` only queues the record (a tuple append): encoding and file I/O happen in
    `flush`, which the manager calls every 250 ms and before any read, so logging stays
    off the invoke path.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._files: dict[str, IO[str]] = {}
        self._queue: list[tuple[str, float, str, str]] = []

    def path(self, function: str) -> Path:
        return self.root / f"{function}.jsonl"

    def write(self, function: str, stream: str, message: str) -> None:
        self._queue.append((function, time.time(), stream, message))

    def flush(self) -> None:
        queue, self._queue = self._queue, []
        dumps = json.dumps
        touched = set()
        for function, t, stream, message in queue:
            f = self._files.get(function)
            if f is None:
                f = self._files[function] = open(self.path(function), "a", encoding="utf-8")  # noqa: SIM115
            f.write(f'{{"t": {int(t * 1000)}, "s": {dumps(stream)}, "m": {dumps(message)}}}\n')
            touched.add(f)
        for f in touched:
            f.flush()

    def close(self) -> None:
        self.flush()
        for f in self._files.values():
            f.close()
        self._files.clear()


def read_records(path: Path, offset: int = 0) -> tuple[list[dict[str, object]], int]:
    """Complete records from byte `offset` on, and the offset to continue from."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    records = [json.loads(line) for line in data[:end].splitlines() if line.strip()]
    return records, offset + end


def format_record(rec: dict[str, object]) -> str:
    t = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(str(rec["t"])) / 1000))
    return f"{t}.{int(str(rec['t'])) % 1000:03d}Z {rec['s']} {rec['m']}"


def iter_lines(chunk: bytes, partial: bytearray) -> Iterator[str]:
    """Split pipe output into lines, keeping an unfinished last line in `partial`."""
    partial += chunk
    while True:
        i = partial.find(b"\n")
        if i < 0:
            return
        line = bytes(partial[:i]).decode("utf-8", "replace")
        del partial[: i + 1]
        yield line
