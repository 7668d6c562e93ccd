"""One page of ListObjects(V2): keys and common prefixes, read from the index by seeks.

Why seeks: with a delimiter, every key under a common prefix collapses into that one
prefix. Reading them all (what a plain `key >= ?` scan does) made a listing's cost grow
with the bucket: 100 common prefixes over 20,000 keys read 20,000 rows. Here, once a key
reveals common prefix P, the scan restarts at the first key after every key that starts
with P (`successor(P)`: P with its last character bumped), which the (bucket, key)
primary key turns into one B-tree seek. A page then costs one seek per common prefix
plus one row per key it shows, however many keys the bucket holds.

Only the current objects (the `objects` table) are listed, in S3's order: UTF-8 bytes,
which is how SQLite compares TEXT (BINARY collation) and how Python compares code points.
"""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field

from faaslab.s3.errors import S3Error

_MAX_CHAR = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)  # not encodable in UTF-8: skipped when bumping


@dataclass(frozen=True, slots=True)
class Entry:
    """A key as a listing shows it (not the whole ObjectInfo: no JSON to decode)."""

    key: str
    etag: str
    size: int
    modified: float


@dataclass(slots=True)
class Page:
    contents: list[Entry] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    truncated: bool = False
    last: str = ""  # the last key or common prefix shown (NextMarker, continuation token)


def max_keys(q: dict[str, str], most: int) -> int:
    """A listing's `max-keys` (at most `most`), refused in S3's words when not a count."""
    try:
        wanted = min(int(q.get("max-keys", most)), most)
    except ValueError:
        raise S3Error(
            "InvalidArgument", "Provided max-keys not an integer or within integer range"
        ) from None
    if wanted < 0:
        raise S3Error(
            "InvalidArgument", "Argument maxKeys must be an integer between 0 and 2147483647"
        )
    return wanted


def decode_token(token: str) -> str:
    """The key a continuation token stands for (our tokens: urlsafe base64 of it)."""
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except ValueError:
        raise S3Error("InvalidArgument", "The continuation token provided is incorrect") from None


def page_tail(
    max_keys: int,
    delimiter: str,
    url: bool,
    truncated: bool,
    entries: list[str],
    prefixes: list[str],
    enc: Callable[[str], str],
) -> list[str]:
    """The elements every listing page (ListObjects, ListObjectVersions) ends with, in
    S3's order: MaxKeys, Delimiter, EncodingType, IsTruncated, the entries, then the
    common prefixes."""
    parts = [f"<MaxKeys>{max_keys}</MaxKeys>"]
    if delimiter:
        parts.append(f"<Delimiter>{enc(delimiter)}</Delimiter>")
    if url:
        parts.append("<EncodingType>url</EncodingType>")
    parts.append(f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>")
    parts += entries
    parts += [f"<CommonPrefixes><Prefix>{enc(p)}</Prefix></CommonPrefixes>" for p in prefixes]
    return parts


def successor(s: str) -> str | None:
    """The least string greater than every string that starts with `s` (None: there is
    none, `s` is empty or all U+10FFFF)."""
    s = s.rstrip(chr(_MAX_CHAR))
    if not s:
        return None
    nxt = ord(s[-1]) + 1
    if nxt in _SURROGATES:
        nxt = _SURROGATES.stop
    return s[:-1] + chr(nxt)


def common_prefix(key: str, prefix: str, delimiter: str) -> str | None:
    """The common prefix `key` rolls up into (through the first delimiter after
    `prefix`), or None."""
    if not delimiter:
        return None
    i = key.find(delimiter, len(prefix))
    return key[: i + len(delimiter)] if i >= 0 else None


def list_page(
    db: sqlite3.Connection,
    bucket: str,
    prefix: str,
    delimiter: str,
    after: str,
    max_keys: int,
) -> Page:
    """The keys with `prefix` that sort after `after` (a marker, start-after or a
    continuation token), up to `max_keys` entries, keys and common prefixes together.

    An `after` that is itself a common prefix of this listing (a previous page's last
    entry) skips every key under it; an `after` inside a common prefix does not (the
    prefix is shown again, as S3 does)."""
    page = Page()
    if max_keys <= 0:
        return page
    end = successor(prefix)  # keys with `prefix` are below it
    if after >= prefix:
        lo, inclusive = after, False
        if common_prefix(after, prefix, delimiter) == after:
            nxt = successor(after)
            if nxt is None:
                return page
            lo, inclusive = nxt, True
    else:
        lo, inclusive = prefix, True
    count = 0
    while True:
        op = ">=" if inclusive else ">"
        sql = f"SELECT key, etag, size, modified FROM objects WHERE bucket=? AND key {op} ?"
        args: list[object] = [bucket, lo]
        if end is not None:
            sql += " AND key < ?"
            args.append(end)
        jumped = False
        for key, etag, size, modified in db.execute(sql + " ORDER BY key", args):
            group = common_prefix(key, prefix, delimiter)
            if count >= max_keys:
                page.truncated = True
                return page
            count += 1
            if group is None:
                page.contents.append(Entry(key, etag, size, modified))
                page.last = key
                continue
            page.prefixes.append(group)
            page.last = group
            nxt = successor(group)
            if nxt is None:  # nothing sorts after this group's keys
                return page
            lo, inclusive, jumped = nxt, True, True
            break  # seek past every key under `group`
        if not jumped:
            return page
