"""Function logs: AWS's START/END/REPORT formats, the 4 KB tail, the JSON-lines store."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from faaslab.functions.logs import (
    TAIL_BYTES,
    InvocationLog,
    LogStore,
    end_line,
    format_record,
    iter_lines,
    read_records,
    report_line,
    start_line,
)

RID = "8f5b1a9e-0c2d-4e3f-9a1b-2c3d4e5f6a7b"


# -- START / END / REPORT


def test_start_and_end_lines() -> None:
    assert start_line(RID) == f"START RequestId: {RID} Version: $LATEST"
    assert start_line(RID, "3") == f"START RequestId: {RID} Version: 3"
    assert end_line(RID) == f"END RequestId: {RID}"


def test_report_line_exact_format() -> None:
    assert report_line(RID, 12.3456, 128, 41) == (
        f"REPORT RequestId: {RID}\tDuration: 12.35 ms\tBilled Duration: 13 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 41 MB"
    )


def test_report_line_with_init_and_status() -> None:
    line = report_line(RID, 100.0, 512, 80, init_ms=250.456, status="timeout")
    assert line == (
        f"REPORT RequestId: {RID}\tDuration: 100.00 ms\tBilled Duration: 100 ms\t"
        "Memory Size: 512 MB\tMax Memory Used: 80 MB\tInit Duration: 250.46 ms\t"
        "Status: timeout"
    )


def test_report_line_fields_are_tab_separated() -> None:
    fields = report_line(RID, 1.5, 256, 50, init_ms=3.0).split("\t")
    assert fields == [
        f"REPORT RequestId: {RID}",
        "Duration: 1.50 ms",
        "Billed Duration: 2 ms",
        "Memory Size: 256 MB",
        "Max Memory Used: 50 MB",
        "Init Duration: 3.00 ms",
    ]


@pytest.mark.parametrize(
    ("duration", "billed"),
    [(0.0, 1), (0.01, 1), (0.5, 1), (1.0, 1), (1.001, 2), (12.0, 12), (12.01, 13), (999.9, 1000)],
)
def test_billed_duration_rounds_up_to_whole_ms_and_is_at_least_one(
    duration: float, billed: int
) -> None:
    assert f"\tBilled Duration: {billed} ms\t" in report_line(RID, duration, 128, 1)


def test_init_duration_only_when_given() -> None:
    assert "Init Duration" not in report_line(RID, 5.0, 128, 10)
    assert "Init Duration: 0.00 ms" in report_line(RID, 5.0, 128, 10, init_ms=0.0)


def test_status_only_when_given() -> None:
    assert "Status" not in report_line(RID, 5.0, 128, 10)
    assert "Status" not in report_line(RID, 5.0, 128, 10, status="")
    assert report_line(RID, 5.0, 128, 10, status="error").endswith("\tStatus: error")


def test_unknown_max_memory_reports_zero() -> None:
    assert report_line(RID, 5.0, 128, None).endswith("\tMax Memory Used: 0 MB")


# -- the per-invocation tail


def test_tail_small_log_is_complete() -> None:
    log = InvocationLog()
    for line in ("START x", "hello", "END x"):
        log.add(line)
    assert log.tail() == b"START x\nhello\nEND x\n"


def test_tail_empty() -> None:
    assert InvocationLog().tail() == b""


def test_tail_is_at_most_4096_bytes_and_keeps_the_last_lines() -> None:
    log = InvocationLog()
    lines = [f"line {i:05d} " + "x" * 50 for i in range(1000)]
    for line in lines:
        log.add(line)
    tail = log.tail()
    assert TAIL_BYTES == 4096
    assert len(tail) == 4096
    expected = "".join(line + "\n" for line in lines).encode()
    assert tail == expected[-4096:]
    assert tail.endswith(f"{lines[-1]}\n".encode())
    assert b"line 00000" not in tail


def test_tail_of_one_huge_line_keeps_its_end() -> None:
    log = InvocationLog()
    log.add("a" * 10_000 + "THE-END")
    tail = log.tail()
    assert len(tail) == 4096
    assert tail.endswith(b"THE-END\n")


def test_tail_counts_utf8_bytes() -> None:
    log = InvocationLog()
    for _ in range(3000):
        log.add("\u00e9\u00e9")  # 2 chars, 4 bytes, + newline
    tail = log.tail()
    assert len(tail) == 4096


# -- splitting pipe output into lines


def test_iter_lines_keeps_partial_lines_across_chunks() -> None:
    partial = bytearray()
    assert list(iter_lines(b"hel", partial)) == []
    assert partial == b"hel"
    assert list(iter_lines(b"lo\nwor", partial)) == ["hello"]
    assert partial == b"wor"
    assert list(iter_lines(b"ld\n\nlast\nnext", partial)) == ["world", "", "last"]
    assert partial == b"next"
    assert list(iter_lines(b"\n", partial)) == ["next"]
    assert partial == b""


def test_iter_lines_multibyte_char_split_across_chunks() -> None:
    data = "caf\u00e9\n".encode()
    partial = bytearray()
    assert list(iter_lines(data[:4], partial)) == []  # cut inside the 2-byte é
    assert list(iter_lines(data[4:], partial)) == ["caf\u00e9"]


def test_iter_lines_invalid_utf8_is_replaced() -> None:
    partial = bytearray()
    assert list(iter_lines(b"\xffok\n", partial)) == ["\ufffdok"]


# -- the store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LogStore]:
    s = LogStore(tmp_path / "logs")
    yield s
    s.close()


def test_store_creates_root(tmp_path: Path) -> None:
    s = LogStore(tmp_path / "a" / "b")
    try:
        assert (tmp_path / "a" / "b").is_dir()
        assert s.path("fn") == tmp_path / "a" / "b" / "fn.jsonl"
    finally:
        s.close()


def test_write_touches_no_disk_until_flush(store: LogStore) -> None:
    store.write("fn", "2026/01/01/[$LATEST]abc", "hello")
    assert not store.path("fn").exists()
    assert read_records(store.path("fn")) == ([], 0)
    store.flush()
    records, offset = read_records(store.path("fn"))
    assert [r["m"] for r in records] == ["hello"]
    assert records[0]["s"] == "2026/01/01/[$LATEST]abc"
    assert offset == store.path("fn").stat().st_size


def test_record_shape_and_timestamp(store: LogStore) -> None:
    before = int(time.time() * 1000)
    store.write("fn", "s1", 'quote " and \\ and \u00e9\ttab')
    store.flush()
    after = int(time.time() * 1000)
    raw = store.path("fn").read_text(encoding="utf-8")
    assert raw.endswith("\n") and raw.count("\n") == 1
    rec = json.loads(raw)
    assert set(rec) == {"t", "s", "m"}
    assert isinstance(rec["t"], int)
    assert before <= rec["t"] <= after
    assert rec["m"] == 'quote " and \\ and \u00e9\ttab'


def test_message_with_newline_stays_one_record(store: LogStore) -> None:
    store.write("fn", "s", "line1\nline2")
    store.flush()
    records, _ = read_records(store.path("fn"))
    assert [r["m"] for r in records] == ["line1\nline2"]


def test_functions_get_separate_files(store: LogStore) -> None:
    store.write("a", "s", "for a")
    store.write("b", "s", "for b")
    store.flush()
    assert [r["m"] for r in read_records(store.path("a"))[0]] == ["for a"]
    assert [r["m"] for r in read_records(store.path("b"))[0]] == ["for b"]


def test_read_continues_from_returned_offset(store: LogStore) -> None:
    p = store.path("fn")
    store.write("fn", "s", "one")
    store.write("fn", "s", "two")
    store.flush()
    records, offset = read_records(p)
    assert [r["m"] for r in records] == ["one", "two"]
    assert read_records(p, offset) == ([], offset)
    store.write("fn", "s", "three")
    store.flush()
    records, offset2 = read_records(p, offset)
    assert [r["m"] for r in records] == ["three"]
    assert offset2 == p.stat().st_size > offset


def test_read_returns_only_complete_lines(tmp_path: Path) -> None:
    p = tmp_path / "fn.jsonl"
    first = b'{"t": 1, "s": "s", "m": "done"}\n'
    p.write_bytes(first + b'{"t": 2, "s": "s", "m": "hal')
    records, offset = read_records(p)
    assert records == [{"t": 1, "s": "s", "m": "done"}]
    assert offset == len(first)
    with open(p, "ab") as f:
        f.write(b'f"}\n')
    records, offset = read_records(p, offset)
    assert records == [{"t": 2, "s": "s", "m": "half"}]
    assert offset == p.stat().st_size


def test_read_missing_file_keeps_offset(tmp_path: Path) -> None:
    assert read_records(tmp_path / "nope.jsonl", 17) == ([], 17)


def test_close_flushes_queue(tmp_path: Path) -> None:
    s = LogStore(tmp_path)
    s.write("fn", "s", "last words")
    s.close()
    assert [r["m"] for r in read_records(s.path("fn"))[0]] == ["last words"]


def test_format_record() -> None:
    # 2023-11-14T22:13:20Z is 1700000000 s
    rec: dict[str, object] = {"t": 1_700_000_000_007, "s": "2023/11/14/[$LATEST]ab", "m": "hi"}
    assert format_record(rec) == "2023-11-14T22:13:20.007Z 2023/11/14/[$LATEST]ab hi"
    rec["t"] = 1_700_000_000_999
    assert format_record(rec).startswith("2023-11-14T22:13:20.999Z ")
    rec["t"] = 0
    assert format_record(rec).startswith("1970-01-01T00:00:00.000Z ")
