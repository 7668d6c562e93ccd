"""What a serverless SQL cluster is: its configuration and AWS's fixed facts about it.

Shared by the template loader, `faaslab db create`, the cluster state machine and the
scaling policy, so that every path validates and describes clusters the same way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

LOOPBACK_INGRESS: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
SYSTEM_PORTS = frozenset({3306, 5432})  # the machine's own engines; faaslab never takes them


class Engine(enum.StrEnum):
    """`Engine` as CloudFormation spells it; what runs locally is in `server`."""

    MYSQL = "aurora-mysql"
    POSTGRESQL = "aurora-postgresql"

    @property
    def server(self) -> str:
        return "mariadb" if self is Engine.MYSQL else "postgresql"

    @property
    def default_port(self) -> int:
        return 3306 if self is Engine.MYSQL else 5432


class Version(enum.StrEnum):
    """Aurora Serverless v1 (`EngineMode: serverless`) or v2 (ServerlessV2ScalingConfiguration)."""

    V1 = "v1"
    V2 = "v2"


class TimeoutAction(enum.StrEnum):
    ROLLBACK = "RollbackCapacityChange"
    FORCE = "ForceApplyCapacityChange"


# v1's allowed capacities, per engine (AWS's lists)
V1_CAPACITIES: dict[Engine, tuple[int, ...]] = {
    Engine.MYSQL: (1, 2, 4, 8, 16, 32, 64, 128, 256),
    Engine.POSTGRESQL: (2, 4, 8, 16, 32, 64, 192, 384),
}
V2_MAX_CAPACITY = 256.0
# AWS: an ACU is "about 2 GiB of memory with corresponding CPU"; faaslab uses Lambda's
# ratio (1 vCPU per 1,769 MB), so 1 ACU = 1.16 vCPU.
VCPU_PER_ACU = 2048 / 1769
PAUSE_MIN_S, PAUSE_MAX_S, PAUSE_DEFAULT_S = 300, 86_400, 300
TIMEOUT_MIN_S, TIMEOUT_MAX_S, TIMEOUT_DEFAULT_S = 60, 600, 300


@dataclass(frozen=True)
class ClusterSpec:
    """A cluster as configured (template or `faaslab db create`), already validated."""

    identifier: str  # DBClusterIdentifier: lower case, 1-63 chars, starts with a letter
    engine: Engine
    version: Version
    master_username: str
    master_password: str
    min_capacity: float
    max_capacity: float
    auto_pause: bool = True
    seconds_until_auto_pause: int = PAUSE_DEFAULT_S
    seconds_before_timeout: int = TIMEOUT_DEFAULT_S  # v1 only
    timeout_action: TimeoutAction = TimeoutAction.ROLLBACK  # v1 only
    database_name: str | None = None
    port: int | None = None  # asked for; the endpoint may get another (see SYSTEM_PORTS)
    ingress: tuple[str, ...] = LOOPBACK_INGRESS  # CIDRs allowed to reach the endpoint
    enable_http_endpoint: bool = False  # the RDS Data API
    logical_id: str | None = None  # the template resource it came from
    tags: dict[str, str] = field(default_factory=dict)


class SpecError(ValueError):
    """An invalid cluster configuration, with AWS's message for it."""
