"""What a serverless cluster would cost on AWS: ACU-seconds, compute and storage.

Prices (us-east-1, Aurora Standard): v1 $0.06 per ACU-hour, billed per second with a
5-minute minimum each time the cluster is activated (created or resumed); v2 $0.12 per
ACU-hour, per second, no minimum; storage $0.10 per GB-month. Sources: the Aurora FAQ
(aws.amazon.com/rds/aurora/faqs: "You pay a flat rate per second of ACU usage, with a
minimum of 5 minutes of usage each time the database is activated"), the Aurora pricing
page ($0.06 per ACU Hour for v1) and PRODUCT.md's fidelity reference.

Not billed here: I/O requests ($0.20 per million on Aurora Standard), backups, snapshots
and data transfer. faaslab does not meter them, so the totals are compute + storage only.

Pure arithmetic: every time is a float of emulated seconds handed in by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from faaslab.databases.model import Version

PRICE_PER_ACU_HOUR: dict[Version, float] = {Version.V1: 0.06, Version.V2: 0.12}
V1_MINIMUM_SECONDS = 300.0  # per activation
STORAGE_PRICE_PER_GB_MONTH = 0.10
GB = 1 << 30  # AWS meters storage "GB" in binary gigabytes (2**30 bytes)
SECONDS_PER_MONTH = 730 * 3600.0  # AWS's pricing month: 730 hours
IO_BILLED = False  # I/O is not metered: see the module docstring


@dataclass(frozen=True)
class Activation:
    """One period the cluster had compute: from a create/resume to a pause (or still on).

    `capacity` lists the changes as (time, ACUs), oldest first; the first must be at or
    before `start`. A capacity holds until the next change.
    """

    start: float
    end: float | None
    capacity: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"activation ends ({self.end}) before it starts ({self.start})")
        if not self.capacity:
            raise ValueError("an activation needs at least one capacity")
        times = [t for t, _ in self.capacity]
        if times != sorted(times):
            raise ValueError(f"capacity changes are not in time order: {times}")
        if times[0] > self.start:
            raise ValueError(f"no capacity known at the start ({self.start}): first at {times[0]}")
        if any(c < 0 for _, c in self.capacity):
            raise ValueError(f"capacity cannot be negative: {self.capacity}")


def acu_seconds(capacity: Sequence[tuple[float, float]], start: float, until: float) -> float:
    """The integral of a step-wise capacity over [start, until]; the last step holds on."""
    total = 0.0
    for i, (changed_at, acus) in enumerate(capacity):
        next_at = capacity[i + 1][0] if i + 1 < len(capacity) else until
        lo, hi = max(changed_at, start), min(next_at, until)
        if hi > lo:
            total += acus * (hi - lo)
    return total


@dataclass(frozen=True)
class ActivationCharge:
    start: float
    end: float | None  # None: still running (charged up to `now`)
    seconds: float  # how long it ran (so far)
    billed_seconds: float  # with v1's 5-minute minimum
    acu_seconds: float
    billed_acu_seconds: float
    cost: float  # USD


@dataclass(frozen=True)
class Bill:
    """A cluster's charges up to `now`; USD amounts are unrounded (round when printing)."""

    version: Version
    now: float
    price_per_acu_hour: float
    activations: tuple[ActivationCharge, ...]
    acu_seconds: float
    billed_acu_seconds: float
    compute_cost: float
    storage_bytes: int
    storage_seconds: float
    storage_gb_months: float
    storage_cost: float
    total_cost: float

    @property
    def acu_hours(self) -> float:
        return self.billed_acu_seconds / 3600


def bill(
    activations: Iterable[Activation],
    version: Version,
    now: float,
    *,
    storage_bytes: int = 0,
    storage_since: float | None = None,
) -> Bill:
    """Charges for `activations` and for `storage_bytes` kept since `storage_since`.

    A v1 activation shorter than 5 minutes is billed as 5 minutes at its last capacity,
    also while still running (the minimum is owed as soon as it activates). Storage is
    prorated per second; `storage_since` defaults to the first activation's start.
    """
    price = PRICE_PER_ACU_HOUR[version]
    minimum = V1_MINIMUM_SECONDS if version is Version.V1 else 0.0
    charges: list[ActivationCharge] = []
    ordered = sorted(activations, key=lambda a: a.start)
    for a in ordered:
        until = a.end if a.end is not None else now
        if until < a.start:
            raise ValueError(f"activation starting at {a.start} is after now ({now})")
        seconds = until - a.start
        billed_seconds = max(seconds, minimum)
        used = acu_seconds(a.capacity, a.start, until)
        billed = acu_seconds(a.capacity, a.start, a.start + billed_seconds)
        charges.append(
            ActivationCharge(
                start=a.start,
                end=a.end,
                seconds=seconds,
                billed_seconds=billed_seconds,
                acu_seconds=used,
                billed_acu_seconds=billed,
                cost=billed / 3600 * price,
            )
        )
    if storage_bytes < 0:
        raise ValueError(f"storage cannot be negative: {storage_bytes}")
    since = storage_since if storage_since is not None else (ordered[0].start if ordered else now)
    storage_seconds = max(0.0, now - since)
    gb_months = storage_bytes / GB * storage_seconds / SECONDS_PER_MONTH
    storage_cost = gb_months * STORAGE_PRICE_PER_GB_MONTH
    compute_cost = sum(c.cost for c in charges)
    return Bill(
        version=version,
        now=now,
        price_per_acu_hour=price,
        activations=tuple(charges),
        acu_seconds=sum(c.acu_seconds for c in charges),
        billed_acu_seconds=sum(c.billed_acu_seconds for c in charges),
        compute_cost=compute_cost,
        storage_bytes=storage_bytes,
        storage_seconds=storage_seconds,
        storage_gb_months=gb_months,
        storage_cost=storage_cost,
        total_cost=compute_cost + storage_cost,
    )
