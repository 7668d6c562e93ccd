"""Lifecycle: a bucket's rules (PutBucketLifecycleConfiguration), checked as S3 checks
them, the `x-amz-expiration` header, and the expirer that applies them.

Rules are the bucket's `lifecycle` configuration document (bucket_config.py), kept as
botocore's shape gives them, with Dates as ISO text.

**Time.** S3 expires an object `Days` days after its creation, rounded up to the next
midnight UTC, or on a rule's `Date`. faaslab counts those days on the injected clock's
emulated time (`faaslab up --time-scale`): an object's emulated age is its real age times
the scale, so `--time-scale 86400` makes a lifecycle day one second (what RGW's
`rgw_lc_debug_interval` does; ceph's s3-tests assume a day of 10 s: `--time-scale 8640`).
A `Date` is a calendar date: it is compared with the real time. The `x-amz-expiration`
header always gives the date S3 would give (unscaled), as clients compute with it.

**The expirer** wakes every 1/10 emulated day (at least every minute, at most twice a
second). A configuration takes effect from the sweep after the one that first sees it
(S3 too applies a new configuration after a lag, in its daily run): a client reading the
bucket right after writing rules still sees objects already due. It reads candidate
objects on a connection of its own in a worker thread (an object can only have expired
if its real age exceeds Days / scale) and deletes each through `ObjectStore.expire`,
which deletes it only if it was not overwritten meanwhile.
AbortIncompleteMultipartUpload aborts uploads the same way.

In a versioned bucket an expired current object gets a delete marker (as DeleteObject);
NoncurrentVersionExpiration removes versions NoncurrentDays after they stopped being
current (keeping NewerNoncurrentVersions), ExpiredObjectDeleteMarker removes a current
delete marker with no version behind it. Transitions are refused with
501 NotImplemented: faaslab has only the STANDARD storage class, and an object "moved"
to GLACIER that still reads like STANDARD would be silently wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import secrets
import sqlite3
import sys
from collections.abc import Iterable
from email.utils import formatdate
from typing import Any

from faaslab.clock import Clock
from faaslab.s3 import tagging, versions
from faaslab.s3.bucket_config import BucketConfigs
from faaslab.s3.errors import S3Error
from faaslab.s3.model import ObjectInfo
from faaslab.s3.store import Deletion, ObjectStore

DAY = 86400.0
_LAST = 253402300799.0  # 9999-12-31T23:59:59Z: no HTTP date after it
MAX_RULES = 1000
MAX_ID = 255
Rule = dict[str, Any]


# -- validation
def validate(document: dict[str, Any]) -> dict[str, Any]:
    """A parsed `<LifecycleConfiguration>` as S3 accepts it, stored form (IDs given to
    rules without one, Dates as ISO text)."""
    rules = document.get("Rules")
    if not isinstance(rules, list) or not rules:
        raise S3Error("MalformedXML")
    if len(rules) > MAX_RULES:
        raise S3Error(
            "InvalidRequest", f"The number of lifecycle rules must not exceed {MAX_RULES}"
        )
    seen: set[str] = set()
    out = []
    for rule in rules:
        rule = dict(rule)
        rule_id = rule.get("ID") or secrets.token_urlsafe(36)[:48]
        if len(rule_id) > MAX_ID:
            raise S3Error(
                "InvalidArgument", f"ID length should not exceed allowed limit of {MAX_ID}"
            )
        if rule_id in seen:
            raise S3Error(
                "InvalidArgument",
                "Rule ID must be unique. Found same ID for more than one rule",
                ArgumentName="ID",
                ArgumentValue=rule_id,
            )
        seen.add(rule_id)
        rule["ID"] = rule_id
        if rule.get("Status") not in ("Enabled", "Disabled"):
            raise S3Error("MalformedXML")
        _check_filter(rule)
        _check_actions(rule)
        out.append(rule)
    return {"Rules": out}


def _check_filter(rule: Rule) -> None:
    if "Filter" in rule and "Prefix" in rule:
        raise S3Error("MalformedXML")
    if "Filter" not in rule and "Prefix" not in rule:
        raise S3Error("MalformedXML")
    f = rule.get("Filter", {})
    if len(f) > 1:  # one of Prefix, Tag, ObjectSize*, And
        raise S3Error("MalformedXML")
    given = [f["Tag"]] if "Tag" in f else f.get("And", {}).get("Tags", [])
    if any("Key" not in t or "Value" not in t for t in given):
        raise S3Error("MalformedXML")
    tags = _filter_tags(rule)
    if tags:
        tagging.validate(tags, tagging.MAX_OBJECT_TAGS)
    both = f.get("And", f)
    low, high = both.get("ObjectSizeGreaterThan"), both.get("ObjectSizeLessThan")
    if (low is not None and low < 0) or (high is not None and high <= 0):
        raise S3Error(
            "InvalidArgument", "'ObjectSizeGreaterThan' and 'ObjectSizeLessThan' must be positive"
        )
    if low is not None and high is not None and high <= low:
        raise S3Error(
            "InvalidArgument",
            "ObjectSizeGreaterThan must be less than ObjectSizeLessThan in the same filter",
        )


def _check_actions(rule: Rule) -> None:
    actions = (
        "Expiration",
        "Transitions",
        "NoncurrentVersionExpiration",
        "NoncurrentVersionTransitions",
        "AbortIncompleteMultipartUpload",
    )
    if not any(a in rule for a in actions):
        raise S3Error("InvalidRequest", "At least one action needs to be specified in a rule")
    exp = rule.get("Expiration")
    if exp is not None:
        given = [k for k in ("Days", "Date", "ExpiredObjectDeleteMarker") if k in exp]
        if len(given) != 1:
            raise S3Error("MalformedXML")
        if "Days" in exp:
            _positive(exp, "Days", "Expiration")
        if "Date" in exp:
            exp["Date"] = _midnight(exp["Date"])
        if exp.get("ExpiredObjectDeleteMarker") and _filter_tags(rule):
            raise S3Error(
                "InvalidRequest", "ExpiredObjectDeleteMarker cannot be specified with tags."
            )
        rule["Expiration"] = exp
    nve = rule.get("NoncurrentVersionExpiration")
    if nve is not None:
        _positive(nve, "NoncurrentDays", "NoncurrentVersionExpiration")
        newer = nve.get("NewerNoncurrentVersions")
        if newer is not None and not 1 <= newer <= 100:
            raise S3Error("InvalidArgument", "'NewerNoncurrentVersions' must be between 1 and 100")
    abort = rule.get("AbortIncompleteMultipartUpload")
    if abort is not None:
        _positive(abort, "DaysAfterInitiation", "AbortIncompleteMultipartUpload")
        if _filter_tags(rule):
            raise S3Error(
                "InvalidRequest", "AbortIncompleteMultipartUpload cannot be specified with Tags."
            )
    for kind in ("Transitions", "NoncurrentVersionTransitions"):
        for t in rule.get(kind, []):
            if "Date" in t:
                _midnight(t["Date"])  # (a malformed date is refused as such first)
            raise S3Error(
                "NotImplemented",
                f"faaslab keeps every object in the STANDARD storage class: lifecycle "
                f"{kind} (to {t.get('StorageClass', '?')}) are not implemented",
            )


def _midnight(value: Any) -> str:
    """A rule's Date, which S3 requires at midnight UTC, as ISO text."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, dt.datetime):
        raise S3Error("MalformedXML")
    when = value.astimezone(dt.UTC)
    if (when.hour, when.minute, when.second, when.microsecond) != (0, 0, 0, 0):
        raise S3Error("InvalidArgument", "'Date' must be at midnight GMT")
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def for_wire(document: dict[str, Any]) -> dict[str, Any]:
    """The stored document as botocore's output shape takes it (Dates as datetimes)."""
    rules = []
    for rule in document["Rules"]:
        rule = dict(rule)
        if "Date" in rule.get("Expiration", {}):
            rule["Expiration"] = {**rule["Expiration"], "Date": _date(rule["Expiration"]["Date"])}
        rules.append(rule)
    return {"Rules": rules}


def _date(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- matching
def _positive(action: dict[str, Any], field: str, name: str) -> None:
    """A lifecycle action's day count must be given and positive (S3's words)."""
    if action.get(field, 0) <= 0:
        raise S3Error("InvalidArgument", f"'{field}' for {name} action must be a positive integer")


def _filter_tags(rule: Rule) -> list[tuple[str, str]]:
    f = rule.get("Filter", {})
    if "Tag" in f:
        return [(f["Tag"]["Key"], f["Tag"]["Value"])]
    return [(t["Key"], t["Value"]) for t in f.get("And", {}).get("Tags", [])]


def prefix_of(rule: Rule) -> str:
    f = rule.get("Filter", {})
    return str(rule.get("Prefix") or f.get("Prefix") or f.get("And", {}).get("Prefix") or "")


def matches(rule: Rule, key: str, size: int, tags: dict[str, str] | None) -> bool:
    """Whether an enabled `rule` applies to the object (`tags` None: not known, and the
    rule needs none)."""
    if rule.get("Status") != "Enabled" or not key.startswith(prefix_of(rule)):
        return False
    f = rule.get("Filter", {})
    both = f.get("And", f)
    low, high = both.get("ObjectSizeGreaterThan"), both.get("ObjectSizeLessThan")
    if (low is not None and size <= low) or (high is not None and size >= high):
        return False
    wanted = _filter_tags(rule)
    if wanted:
        have = tags or {}
        return all(have.get(k) == v for k, v in wanted)
    return True


def needs_tags(document: dict[str, Any]) -> bool:
    return any(_filter_tags(r) for r in document["Rules"])


def aws_expiry(rule: Rule, modified: float) -> float | None:
    """When S3 would expire an object modified at `modified` by `rule` (epoch seconds):
    Days after it, rounded up to the next midnight UTC; or the rule's Date."""
    exp = rule.get("Expiration", {})
    if "Days" in exp:
        return float(math.ceil((modified + exp["Days"] * DAY) / DAY) * DAY)
    if "Date" in exp:
        return _date(exp["Date"]).timestamp()
    return None


def expiration(
    document: dict[str, Any] | None, info: ObjectInfo, tags: dict[str, str] | None
) -> str | None:
    """The `x-amz-expiration` header for the object, or None if no rule expires it."""
    if document is None:
        return None
    best: tuple[float, str] | None = None
    for rule in document["Rules"]:
        when = aws_expiry(rule, info.modified)
        if when is None or not matches(rule, info.key, info.size, tags):
            continue
        if best is None or when < best[0]:
            best = (when, rule["ID"])
    if best is None or best[0] > _LAST:
        return None
    return f'expiry-date="{formatdate(best[0], usegmt=True)}", rule-id="{best[1]}"'


# -- the expirer
class Expirer:
    """Applies every bucket's lifecycle rules on emulated time (see the module's doc)."""

    def __init__(self, store: ObjectStore, configs: BucketConfigs, clock: Clock) -> None:
        self.store = store
        self.configs = configs
        self.clock = clock
        self.period = min(60.0, max(0.5, clock.emulated_delay(DAY / 10)))
        self._task: asyncio.Task[None] | None = None
        self._seen: dict[str, Any] = {}  # bucket -> the rules the last sweep saw

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="s3-lifecycle")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # a sweep that fails is retried at the next one
                print(f"s3 lifecycle: sweep failed: {e!r}", file=sys.stderr)

    def _due(self, rule: Rule, modified: float, now: float) -> bool:
        """Whether the rule's expiry of an object modified at `modified` has come, in
        emulated time (Days) or real time (Date)."""
        when = aws_expiry(rule, modified)
        if when is None:
            return False
        if "Date" in rule.get("Expiration", {}):
            return now >= when
        return modified + self.clock.emulated_delay(when - modified) <= now

    async def sweep(self) -> int:
        """One pass over every bucket with rules; how many objects it expired."""
        done = 0
        seen, self._seen = self._seen, {}
        for bucket, document in self.configs.buckets_with("lifecycle"):
            self._seen[bucket] = document
            if seen.get(bucket) != document:
                continue  # new or changed: applied from the next sweep on
            now = self.clock.now()
            for rule in document["Rules"]:
                if rule.get("Status") != "Enabled":
                    continue
                if "Expiration" in rule and aws_expiry(rule, 0) is not None:
                    found = await asyncio.to_thread(self._candidates, bucket, rule, now)
                    for key, modified in found:
                        if await self.store.expire(bucket, key, modified):
                            done += 1
                if "AbortIncompleteMultipartUpload" in rule:
                    await self._abort_uploads(bucket, rule, now)
                if "NoncurrentVersionExpiration" in rule or rule.get("Expiration", {}).get(
                    "ExpiredObjectDeleteMarker"
                ):
                    await self.expire_noncurrent(bucket, rule, now)
        return done

    def _candidates(self, bucket: str, rule: Rule, now: float) -> list[tuple[str, float]]:
        """(worker thread) Keys the rule has expired by `now`, read on a connection of
        this thread's own (a scan must not hold up the event loop)."""
        prefix = prefix_of(rule)
        exp = rule["Expiration"]
        latest = now if "Date" in exp else now - self.clock.emulated_delay(exp["Days"] * DAY)
        db = sqlite3.connect(self.store.root / "index.db")
        try:
            rows: Iterable[tuple[str, float, int, str | None]] = db.execute(
                "SELECT key, modified, size, version FROM objects WHERE bucket=? AND key >= ? "
                "AND modified <= ? ORDER BY key",
                (bucket, prefix, latest),
            )
            out = []
            for key, modified, size, version in rows:
                if not key.startswith(prefix):
                    break  # (in key order: past the prefix's keys)
                wanted = _filter_tags(rule)
                tags = tagging.tags_of(db, bucket, key, version or "") if wanted else None
                if matches(rule, key, size, tags) and self._due(rule, modified, now):
                    out.append((key, modified))
            return out
        finally:
            db.close()

    async def _abort_uploads(self, bucket: str, rule: Rule, now: float) -> None:
        days = rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
        probe = {"Expiration": {"Days": days}, "Status": "Enabled"}
        for key, upload_id, created in self.store.list_uploads(bucket):
            if key.startswith(prefix_of(rule)) and self._due(probe, created, now):
                with contextlib.suppress(S3Error):  # completed or aborted meanwhile
                    await self.store.abort(bucket, key, upload_id)

    async def expire_noncurrent(self, bucket: str, rule: Rule, now: float) -> int:
        """NoncurrentVersionExpiration (a version expires NoncurrentDays after it stopped
        being current, keeping the NewerNoncurrentVersions newest) and
        ExpiredObjectDeleteMarker (a current delete marker with no version left behind
        it goes), as DeleteObject ?versionId does: a locked version stays."""
        found = await asyncio.to_thread(self._noncurrent, bucket, rule, now)
        done = 0
        for key, version in found:
            result = await self.store.remove(bucket, [Deletion(key, versions.wire_id(version))])
            done += sum(1 for r in result if r.error is None)
        return done

    def _noncurrent(self, bucket: str, rule: Rule, now: float) -> list[tuple[str, str | None]]:
        """(worker thread) (key, version id) of the versions and markers the rule expires."""
        prefix = prefix_of(rule)
        nve = rule.get("NoncurrentVersionExpiration")
        markers = bool(rule.get("Expiration", {}).get("ExpiredObjectDeleteMarker"))
        db = sqlite3.connect(self.store.root / "index.db")
        try:
            rows = db.execute(
                "SELECT key, version, marker, size, modified FROM versions "
                "WHERE bucket=? AND key >= ? ORDER BY key, seq DESC",
                (bucket, prefix),
            )
            by_key: dict[str, list[tuple[str | None, bool, int, float]]] = {}
            for key, version, marker, size, modified in rows:
                if not key.startswith(prefix):
                    break
                by_key.setdefault(key, []).append((version, bool(marker), size, modified))
            out: list[tuple[str, str | None]] = []
            for key, history in by_key.items():
                current = db.execute(
                    "SELECT modified FROM objects WHERE bucket=? AND key=?", (bucket, key)
                ).fetchone()
                if markers and current is None and len(history) == 1 and history[0][1]:
                    out.append((key, history[0][0]))  # a lone delete marker
                    continue
                if nve is None:
                    continue
                # each version stopped being current when the next newer one was made
                successor = current[0] if current is not None else None
                kept = 0
                for version, marker, size, modified in history:
                    since, successor = successor, modified
                    if since is None or marker:  # (the current marker; markers: above)
                        continue
                    tags = tagging.tags_of(db, bucket, key, version or "")
                    if not matches(rule, key, size, tags):
                        continue
                    kept += 1
                    if kept <= nve.get("NewerNoncurrentVersions", 0):
                        continue
                    probe = {"Expiration": {"Days": nve["NoncurrentDays"]}}
                    if self._due(probe, since, now):
                        out.append((key, version))
            return out
        finally:
            db.close()
