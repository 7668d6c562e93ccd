"""RDS events of Aurora Serverless clusters (source type `db-cluster`), in AWS's exact wording.

Source: Amazon Aurora User Guide, "Amazon RDS event categories and event messages for
Aurora" (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_Events.Messages.html),
DB cluster events: "The Aurora Serverless events range from RDS-EVENT-0141 to RDS-EVENT-0149".
Units are spelled as AWS's consoles show them: "2 capacity units" (also "1 capacity units":
AWS does not singularise).

The texts are plain functions of their values so the cluster module, the event log and the
tests all produce byte-identical messages.
"""

from __future__ import annotations

import enum

SOURCE_TYPE = "db-cluster"


class EventId(enum.StrEnum):
    SCALING_STARTED = "RDS-EVENT-0141"
    SCALED = "RDS-EVENT-0142"
    SCALING_FAILED = "RDS-EVENT-0143"
    PAUSING = "RDS-EVENT-0144"
    PAUSED = "RDS-EVENT-0145"
    PAUSE_CANCELED = "RDS-EVENT-0146"
    RESUMING = "RDS-EVENT-0147"
    RESUMED = "RDS-EVENT-0148"
    SCALED_NOT_SEAMLESS = "RDS-EVENT-0149"  # ForceApplyCapacityChange went through
    # StopDBCluster / StartDBCluster (any Aurora cluster, same page)
    STOPPED = "RDS-EVENT-0150"
    STARTED = "RDS-EVENT-0151"
    AUTO_STARTING = "RDS-EVENT-0153"


# Templates: `{from_units}`/`{to_units}` are `capacity_units(...)`, `{reason}` has no final dot.
EVENT_TEXTS: dict[EventId, str] = {
    EventId.SCALING_STARTED: (
        "Scaling DB cluster from {from_units} to {to_units} for this reason: {reason}."
    ),
    EventId.SCALED: "The DB cluster has scaled from {from_units} to {to_units}.",
    EventId.SCALING_FAILED: (
        "The DB cluster failed to scale from {from_units} to {to_units} for this reason: {reason}."
    ),
    EventId.PAUSING: "The DB cluster is being paused.",
    EventId.PAUSED: "The DB cluster is paused.",
    EventId.PAUSE_CANCELED: "Pause was canceled for the DB cluster.",
    EventId.RESUMING: "The DB cluster is being resumed.",
    EventId.RESUMED: "The DB cluster is resumed.",
    EventId.SCALED_NOT_SEAMLESS: (
        "The DB cluster has scaled from {from_units} to {to_units}, but scaling wasn't "
        "seamless for this reason: {reason}."
    ),
    EventId.STOPPED: "DB cluster stopped.",
    EventId.STARTED: "DB cluster started.",
    EventId.AUTO_STARTING: (
        "DB cluster is being started due to it exceeding the maximum allowed time being stopped."
    ),
}

AUTOSCALING_REASON = "Autoscaling"  # the reason AWS gives in RDS-EVENT-0141 for load scaling
# The reason in 0141/0142/0149 for a ModifyCurrentDBClusterCapacity call: faaslab's wording
# (AWS's docs show only "Autoscaling").
MANUAL_REASON = "Capacity change requested by ModifyCurrentDBClusterCapacity"
# The reason for 0143/0149 when no scaling point came within SecondsBeforeTimeout. AWS's
# docs give only `reason`; this wording is faaslab's.
NO_SCALING_POINT_REASON = "A scaling point wasn't found before the timeout"

# What a client's open transaction gets when ForceApplyCapacityChange goes through
# (Aurora MySQL 5.7 wording, "How Aurora Serverless v1 works" -> "Timeout action for
# capacity changes"). The server sends errno + SQLSTATE + message; the `mysql` client
# prints them as SEAMLESS_SCALING_ABORT.
SEAMLESS_SCALING_ABORT_ERRNO = 1105
SEAMLESS_SCALING_ABORT_SQLSTATE = "HY000"
SEAMLESS_SCALING_ABORT_MESSAGE = (
    "The last transaction was aborted due to Seamless Scaling. Please retry."
)
SEAMLESS_SCALING_ABORT = (
    f"ERROR {SEAMLESS_SCALING_ABORT_ERRNO} ({SEAMLESS_SCALING_ABORT_SQLSTATE}): "
    f"{SEAMLESS_SCALING_ABORT_MESSAGE}"
)


def capacity_units(capacity: float) -> str:
    """`2` -> "2 capacity units", `0.5` -> "0.5 capacity units"."""
    number = str(int(capacity)) if float(capacity).is_integer() else f"{capacity:g}"
    return f"{number} capacity units"


def scaling_started(from_capacity: float, to_capacity: float, reason: str) -> str:
    """RDS-EVENT-0141."""
    return EVENT_TEXTS[EventId.SCALING_STARTED].format(
        from_units=capacity_units(from_capacity),
        to_units=capacity_units(to_capacity),
        reason=reason,
    )


def scaled(from_capacity: float, to_capacity: float) -> str:
    """RDS-EVENT-0142."""
    return EVENT_TEXTS[EventId.SCALED].format(
        from_units=capacity_units(from_capacity), to_units=capacity_units(to_capacity)
    )


def scaling_failed(from_capacity: float, to_capacity: float, reason: str) -> str:
    """RDS-EVENT-0143."""
    return EVENT_TEXTS[EventId.SCALING_FAILED].format(
        from_units=capacity_units(from_capacity),
        to_units=capacity_units(to_capacity),
        reason=reason,
    )


def scaled_not_seamless(from_capacity: float, to_capacity: float, reason: str) -> str:
    """RDS-EVENT-0149."""
    return EVENT_TEXTS[EventId.SCALED_NOT_SEAMLESS].format(
        from_units=capacity_units(from_capacity),
        to_units=capacity_units(to_capacity),
        reason=reason,
    )


# The fixed texts, for symmetry with the helpers above.
PAUSING = EVENT_TEXTS[EventId.PAUSING]
PAUSED = EVENT_TEXTS[EventId.PAUSED]
PAUSE_CANCELED = EVENT_TEXTS[EventId.PAUSE_CANCELED]
RESUMING = EVENT_TEXTS[EventId.RESUMING]
RESUMED = EVENT_TEXTS[EventId.RESUMED]
