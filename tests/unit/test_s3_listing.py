"""listing.list_page (seeks past common prefixes) against a plain scan of every key, on a
real SQLite index with store.py's schema."""

from __future__ import annotations

import itertools
import random
import sqlite3

import pytest

from faaslab.s3.listing import common_prefix, list_page, successor
from faaslab.s3.store import _SCHEMA

KEYS = [
    "a",
    "a/",
    "a/b",
    "a/b/c",
    "a/c",
    "a//d",
    "a+b/x",
    "ab",
    "b--c--d",
    "b--c-e",
    "b--x",
    "b-",
    "c/\U0010ffff/z",
    "c/\U0010ffff",
    "c/\ud7ff/y",
    "c/\ue000",
    "é/1",
    "é/2",
    "zz",
]


def _db(keys: list[str]) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.executescript(_SCHEMA)
    db.executemany(
        "INSERT INTO objects VALUES ('b', ?, NULL, NULL, 1, 'e', 0, 't', '{}', '{}', '{}')",
        [(k,) for k in keys],
    )
    return db


def _scan(
    keys: list[str], prefix: str, delimiter: str, after: str, max_keys: int
) -> tuple[list[tuple[str, str]], bool]:
    """S3's listing by reading every key: the reference."""
    skip = after if common_prefix(after, prefix, delimiter) == after and after >= prefix else None
    entries: list[tuple[str, str]] = []
    for k in sorted(keys):
        if not k.startswith(prefix) or k <= after or (skip and k.startswith(skip)):
            continue
        group = common_prefix(k, prefix, delimiter)
        entry = ("prefix", group) if group is not None else ("key", k)
        if entries and entries[-1] == entry:
            continue
        entries.append(entry)
    return sorted(entries[:max_keys], key=lambda e: e[1]), 0 < max_keys < len(entries)


def _page(db: sqlite3.Connection, *args: object) -> tuple[list[tuple[str, str]], bool]:
    page = list_page(db, "b", *args)  # type: ignore[arg-type]
    got = [("key", e.key) for e in page.contents] + [("prefix", p) for p in page.prefixes]
    return sorted(got, key=lambda e: e[1]), page.truncated


@pytest.mark.parametrize(
    ("prefix", "delimiter"),
    [
        ("", ""),
        ("", "/"),
        ("a", "/"),
        ("a/", "/"),
        ("", "--"),
        ("b--", "-"),
        ("c/", "/"),
        ("", "\U0010ffff"),
        ("é", "/"),
        ("nope", "/"),
    ],
)
def test_every_page_and_marker_matches_a_full_scan(prefix: str, delimiter: str) -> None:
    db = _db(KEYS)
    markers = ["", *KEYS, "a/b/", "b--c-", "0", "\U0010ffff"]
    for after, max_keys in itertools.product(markers, [0, 1, 2, 3, 1000]):
        want = _scan(KEYS, prefix, delimiter, after, max_keys)
        assert _page(db, prefix, delimiter, after, max_keys) == want, (after, max_keys)


def test_paging_with_the_last_entry_visits_everything_once() -> None:
    rng = random.Random(7)
    keys = sorted(
        {"/".join(rng.choice("ab/") for _ in range(rng.randint(1, 6))) for _ in range(300)}
    )
    db = _db(keys)
    for delimiter in ("", "/", "b/"):
        want, _ = _scan(keys, "", delimiter, "", 10**6)
        seen: list[tuple[str, str]] = []
        after = ""
        while True:
            page = list_page(db, "b", "", delimiter, after, 7)
            got, _ = _page(db, "", delimiter, after, 7)
            seen += got
            if not page.truncated:
                break
            after = page.last
        assert seen == want


def test_successor_bounds_every_string_with_the_prefix() -> None:
    assert successor("a/") == "a0"
    assert successor("") is None
    assert successor("\U0010ffff") is None
    assert successor("a\U0010ffff") == "b"
    assert successor("\ud7ff") == "\ue000"
