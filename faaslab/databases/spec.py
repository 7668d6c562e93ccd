"""Build a validated `ClusterSpec` from a template's `AWS::RDS::DBCluster` or from the options
of `faaslab db create`.

Both paths end in `_build`, so a cluster is checked the same way however it was declared.
Messages are AWS's own wherever its wording is known: RDS's `InvalidParameterValue` answers
to CreateDBCluster, else the constraint text of the RDS API reference (botocore's `rds`
service model). A `PropertyError` names the property (`ScalingConfiguration.MinCapacity`); the
template layer prefixes the file and the resource's key path.

Ingress. A cluster's `VpcSecurityGroupIds` name security groups; their inbound rules that admit
TCP on the cluster's port give the CIDRs the local endpoint accepts (`ClusterSpec.ingress`).
Port ranges are checked against the port the template asks for (`Port`, else the engine's
default), not the port the local endpoint really listens on: a rule "tcp 3306" means "may
reach the database", whichever local port faaslab picked. Everything runs on one machine, so
a rule whose source is not a CIDR (`SourceSecurityGroupId`, `SourceSecurityGroupName`,
`SourcePrefixListId`: "the clients in that group") admits the loopback addresses, where those
clients (functions, `faaslab db connect`) are; so does a group that is not in the template,
whose rules faaslab cannot read. A cluster without security groups admits loopback only
(`LOOPBACK_INGRESS`); a cluster whose groups admit nothing on its port admits no one, as on AWS.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from faaslab.databases.model import (
    LOOPBACK_INGRESS,
    PAUSE_DEFAULT_S,
    PAUSE_MAX_S,
    PAUSE_MIN_S,
    TIMEOUT_DEFAULT_S,
    TIMEOUT_MAX_S,
    TIMEOUT_MIN_S,
    V1_CAPACITIES,
    V2_MAX_CAPACITY,
    ClusterSpec,
    Engine,
    SpecError,
    TimeoutAction,
    Version,
)

Resolve = Callable[[Any, str], Any]  # (raw value, key path) -> value with intrinsics resolved
ManagedPassword = Callable[[str, str], str]  # (cluster identifier, master username) -> password

PORT_MIN, PORT_MAX = 1150, 65535  # CreateDBCluster `Port`: "Valid Values: 1150-65535"
V1_DEFAULT_MAX_CAPACITY = 16  # RDS's ScalingConfiguration when none is given: MaxCapacity 16
V2_MIN_MAX_CAPACITY = 1.0  # "The maximum capacity must be at least 1.0."
V2_CLI_DEFAULT_MIN_CAPACITY = 0.5  # `faaslab db create --version v2` without --min-capacity
PASSWORD_MIN = 8
IDENTIFIER_MAX = 63
USERNAME_MAX = {Engine.MYSQL: 16, Engine.POSTGRESQL: 63}
PASSWORD_MAX = {Engine.MYSQL: 41, Engine.POSTGRESQL: 99}
DATABASE_NAME_MAX = {Engine.MYSQL: 64, Engine.POSTGRESQL: 63}
# Master user names RDS refuses with "MasterUsername admin cannot be used as it is a reserved
# word used by the engine": `rdsadmin` on every engine, `admin` on aurora-postgresql only
# (`admin` works on aurora-mysql, `postgres` on aurora-postgresql).
RESERVED_USERNAMES = {
    Engine.MYSQL: frozenset({"rdsadmin"}),
    Engine.POSTGRESQL: frozenset({"rdsadmin", "admin"}),
}
CLI_ENGINES = {"mysql": Engine.MYSQL, "postgresql": Engine.POSTGRESQL}
LOCAL_ADDRESS = "127.0.0.1"

_IDENTIFIER = re.compile(r"[A-Za-z](?:-?[A-Za-z0-9])*")  # no "--", no "-" at the end
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_DATABASE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_PASSWORD_BANNED = frozenset('/"@ ')
_TCP = frozenset({"tcp", "6"})
_ALL_PROTOCOLS = "-1"
_RULE_SOURCES = ("SourceSecurityGroupId", "SourceSecurityGroupName", "SourcePrefixListId")

_IDENTIFIER_INVALID = (
    "The parameter DBClusterIdentifier is not a valid identifier. Identifiers must begin with "
    "a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a "
    "hyphen or contain two consecutive hyphens."
)
_PASSWORD_CHARACTERS = (
    "The parameter MasterUserPassword is not a valid password. Only printable ASCII "
    "characters besides '/', '@', '\"', ' ' may be used."
)
_MIN_ABOVE_MAX = "The minimum capacity must be less than or equal to the maximum capacity."


class PropertyError(SpecError):
    """A `SpecError` about one property; `key` is its path under the resource's Properties."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class IngressRule:
    """One inbound rule that admits TCP: from a CIDR, or (`cidr` None) from the clients in
    another security group, which on one machine are loopback clients."""

    cidr: str | None
    from_port: int | None = None  # None: every port (IpProtocol -1, or no ports given)
    to_port: int | None = None

    def covers(self, port: int) -> bool:
        if self.from_port is None or self.to_port is None:
            return True
        return self.from_port <= port <= self.to_port

    @property
    def cidrs(self) -> tuple[str, ...]:
        return LOOPBACK_INGRESS if self.cidr is None else (self.cidr,)


@dataclass(frozen=True)
class _Scaling:
    """A scaling configuration as given; None is "not given" (the defaults are in `_build`)."""

    min_capacity: float | None = None
    max_capacity: float | None = None
    auto_pause: bool | None = None  # v1 only; v2 pauses when MinCapacity is 0
    seconds_until_auto_pause: int | None = None
    seconds_before_timeout: int | None = None  # v1 only
    timeout_action: str | None = None  # v1 only


def security_group_id(logical_id: str) -> str:
    """The stable id faaslab gives a template's security group (`!Ref`, `!GetAtt X.GroupId`)."""
    return "sg-" + hashlib.sha256(logical_id.encode()).hexdigest()[:17]


def cluster_arn(identifier: str, region: str, account: str) -> str:
    return f"arn:aws:rds:{region}:{account}:cluster:{identifier}"


def default_identifier(logical_id: str) -> str:
    """The identifier of a cluster without `DBClusterIdentifier`: its logical id, lower case,
    made a valid identifier (a letter first, at most 63 characters, hyphens kept single)."""
    name = re.sub(r"[^a-z0-9]+", "-", logical_id.lower()).strip("-")
    if not re.match(r"[a-z]", name):
        name = f"db-{name}" if name else "db"
    return name[:IDENTIFIER_MAX].rstrip("-")


# -- the template ------------------------------------------------------------------------------


def parse_cluster(
    logical_id: str,
    properties: Mapping[str, Any],
    resolve: Resolve,
    where: str,
    security_groups: Mapping[str, Sequence[IngressRule]],
    managed_password: ManagedPassword | None = None,
) -> ClusterSpec:
    """A `ClusterSpec` from the Properties of an `AWS::RDS::DBCluster` as written (intrinsics
    unresolved). Each property is resolved when read, through `resolve(value, key_path)` (None
    for `AWS::NoValue`); `where` is the key path of Properties. `security_groups` maps the ids
    that `VpcSecurityGroupIds` resolve to onto the groups' TCP rules. With
    `ManageMasterUserPassword`, `managed_password(identifier, username)` gives the password
    kept in Secrets Manager (created on first use). Raises `PropertyError`."""

    def get(key: str) -> Any:
        return resolve(properties[key], f"{where}.{key}") if key in properties else None

    engine = _engine(_string(get("Engine"), "Engine"))
    mode = (_string(get("EngineMode"), "EngineMode") or "provisioned").lower()
    v1 = _mapping(get("ScalingConfiguration"), "ScalingConfiguration")
    v2 = _mapping(get("ServerlessV2ScalingConfiguration"), "ServerlessV2ScalingConfiguration")
    if mode == "serverless":
        if v2 is not None:
            raise PropertyError(
                "ServerlessV2ScalingConfiguration",
                "is for Aurora Serverless v2 (EngineMode provisioned); EngineMode serverless "
                "(Aurora Serverless v1) takes ScalingConfiguration",
            )
        version, scaling = Version.V1, _scaling(v1 or {}, "ScalingConfiguration", v1=True)
    elif mode == "provisioned":
        if v1 is not None:
            raise PropertyError(
                "ScalingConfiguration",
                "is for EngineMode serverless (Aurora Serverless v1); Aurora Serverless v2 "
                "(EngineMode provisioned) takes ServerlessV2ScalingConfiguration",
            )
        if v2 is None:
            raise PropertyError(
                "ServerlessV2ScalingConfiguration",
                "faaslab emulates serverless clusters only: give this provisioned cluster a "
                "ServerlessV2ScalingConfiguration (Aurora Serverless v2), or use EngineMode "
                "serverless with ScalingConfiguration (Aurora Serverless v1)",
            )
        version = Version.V2
        scaling = _scaling(v2, "ServerlessV2ScalingConfiguration", v1=False)
    else:
        raise PropertyError(
            "EngineMode",
            f"EngineMode {mode} is not supported: faaslab emulates serverless clusters only "
            "(EngineMode serverless for v1, provisioned with ServerlessV2ScalingConfiguration "
            "for v2)",
        )
    raw_identifier = _string(get("DBClusterIdentifier"), "DBClusterIdentifier")
    identifier = default_identifier(logical_id) if raw_identifier is None else raw_identifier
    username = _string(get("MasterUsername"), "MasterUsername")
    password = _string(get("MasterUserPassword"), "MasterUserPassword")
    if _bool(get("ManageMasterUserPassword"), "ManageMasterUserPassword"):
        if password is not None:
            raise PropertyError(
                "ManageMasterUserPassword",
                "You can't specify MasterUserPassword and ManageMasterUserPassword together.",
            )
        if managed_password is None:
            raise PropertyError(
                "ManageMasterUserPassword", "needs Secrets Manager, which is not available here"
            )
        password = managed_password(_identifier(identifier), _username(engine, username))
    group_ids = _string_list(get("VpcSecurityGroupIds"), "VpcSecurityGroupIds")
    return _build(
        identifier=identifier,
        engine=engine,
        version=version,
        scaling=scaling,
        master_username=username,
        master_password=password,
        database_name=_string(get("DatabaseName"), "DatabaseName"),
        port=_int(get("Port"), "Port"),
        group_ids=group_ids,
        security_groups=security_groups,
        enable_http_endpoint=bool(_bool(get("EnableHttpEndpoint"), "EnableHttpEndpoint")),
        logical_id=logical_id,
        tags=_tags(get("Tags")),
    )


def parse_ingress_rule(rule: Any) -> IngressRule | None:
    """One resolved inbound rule (an item of `SecurityGroupIngress`, or the Properties of an
    `AWS::EC2::SecurityGroupIngress`); None for a rule that admits no TCP (udp, icmp...)."""
    if not isinstance(rule, Mapping):
        raise PropertyError("", f"must be a mapping with IpProtocol and a source, got {rule!r}")
    protocol = _string(rule.get("IpProtocol"), "IpProtocol")
    if protocol is None:
        raise PropertyError("IpProtocol", "missing (required): tcp, -1 (all) or another protocol")
    protocol = protocol.lower()
    if protocol == _ALL_PROTOCOLS:
        low = high = None
    else:
        low = _port_bound(rule.get("FromPort"), "FromPort")
        high = _port_bound(rule.get("ToPort"), "ToPort")
        if low is not None and high is not None and low > high:
            raise PropertyError("FromPort", f"FromPort {low} is greater than ToPort {high}")
    cidr: str | None = None
    if rule.get("CidrIp") is not None:
        cidr = _cidr(rule["CidrIp"], "CidrIp", ipaddress.IPv4Network)
    elif rule.get("CidrIpv6") is not None:
        cidr = _cidr(rule["CidrIpv6"], "CidrIpv6", ipaddress.IPv6Network)
    elif not any(rule.get(key) is not None for key in _RULE_SOURCES):
        raise PropertyError(
            "", f"needs a source: CidrIp, CidrIpv6, {', '.join(_RULE_SOURCES)} (one of them)"
        )
    if protocol not in _TCP and protocol != _ALL_PROTOCOLS:
        return None
    return IngressRule(cidr=cidr, from_port=low, to_port=high)


def cluster_ingress(
    group_ids: Sequence[str], security_groups: Mapping[str, Sequence[IngressRule]], port: int
) -> tuple[str, ...]:
    """The CIDRs that the groups' rules admit on `port` (see the module docstring)."""
    if not group_ids:
        return LOOPBACK_INGRESS
    cidrs: dict[str, None] = {}
    for group_id in group_ids:
        rules = security_groups.get(group_id)
        for rule in (IngressRule(cidr=None),) if rules is None else rules:
            if rule.covers(port):
                cidrs.update(dict.fromkeys(rule.cidrs))
    return tuple(cidrs)


# -- `faaslab db create` -----------------------------------------------------------------------


def spec_from_options(
    identifier: str,
    engine: str,
    version: Version | str,
    min_capacity: float | None,
    max_capacity: float | None,
    auto_pause_seconds: int | None,
    master_username: str,
    master_password: str,
    database_name: str | None = None,
    port: int | None = None,
) -> ClusterSpec:
    """A `ClusterSpec` from `faaslab db create NAME --engine mysql|postgresql ...`, checked
    exactly as a template's cluster is.

    v1: `auto_pause_seconds` None or 0 = no auto-pause; capacities default to RDS's (the
    engine's smallest, and 16). v2: as on AWS, MinCapacity 0 is what makes a cluster pause,
    and `auto_pause_seconds` only sets when (default 300): without `min_capacity`, it is 0 if
    `auto_pause_seconds` is given, else 0.5; `auto_pause_seconds` with a MinCapacity above 0 is
    an error. `max_capacity` defaults to 16 (at least `min_capacity`)."""
    chosen = CLI_ENGINES.get(engine.lower()) or _engine(engine)
    try:
        chosen_version = Version(version)
    except ValueError:
        raise PropertyError("EngineMode", f"version must be v1 or v2, got {version!r}") from None
    pause = auto_pause_seconds or None
    if chosen_version is Version.V1:
        scaling = _Scaling(
            min_capacity=min_capacity,
            max_capacity=max_capacity,
            auto_pause=pause is not None,
            seconds_until_auto_pause=pause,
        )
    else:
        if pause is not None and min_capacity not in (None, 0):
            raise PropertyError(
                "ServerlessV2ScalingConfiguration.SecondsUntilAutoPause",
                f"Aurora Serverless v2 pauses only with MinCapacity 0, got MinCapacity "
                f"{min_capacity:g}: use --min-capacity 0 to auto-pause",
            )
        if min_capacity is None:
            min_capacity = 0.0 if pause is not None else V2_CLI_DEFAULT_MIN_CAPACITY
        if max_capacity is None:
            max_capacity = max(float(V1_DEFAULT_MAX_CAPACITY), min_capacity)
        scaling = _Scaling(
            min_capacity=min_capacity, max_capacity=max_capacity, seconds_until_auto_pause=pause
        )
    return _build(
        identifier=identifier,
        engine=chosen,
        version=chosen_version,
        scaling=scaling,
        master_username=master_username,
        master_password=master_password,
        database_name=database_name,
        port=port,
        group_ids=[],
        security_groups={},
        enable_http_endpoint=False,
        logical_id=None,
        tags={},
    )


# -- the shared checks -------------------------------------------------------------------------


def _build(
    *,
    identifier: str,
    engine: Engine,
    version: Version,
    scaling: _Scaling,
    master_username: str | None,
    master_password: str | None,
    database_name: str | None,
    port: int | None,
    group_ids: Sequence[str],
    security_groups: Mapping[str, Sequence[IngressRule]],
    enable_http_endpoint: bool,
    logical_id: str | None,
    tags: dict[str, str],
) -> ClusterSpec:
    if port is not None and not PORT_MIN <= port <= PORT_MAX:
        raise PropertyError(
            "Port", f"Port {port} is not valid. Valid Values: {PORT_MIN}-{PORT_MAX}"
        )
    capacity = _v1_scaling(engine, scaling) if version is Version.V1 else _v2_scaling(scaling)
    return ClusterSpec(
        identifier=_identifier(identifier),
        engine=engine,
        version=version,
        master_username=_username(engine, master_username),
        master_password=_password(engine, master_password),
        database_name=None if database_name is None else _database_name(engine, database_name),
        port=port,
        ingress=cluster_ingress(group_ids, security_groups, port or engine.default_port),
        enable_http_endpoint=enable_http_endpoint,
        logical_id=logical_id,
        tags=tags,
        **capacity,
    )


def _engine(value: str | None) -> Engine:
    if value is None:
        raise PropertyError("Engine", "missing (required): aurora-mysql or aurora-postgresql")
    try:
        return Engine(value.lower())
    except ValueError:
        pass
    if value.lower() == "aurora":
        hint = "aurora is Aurora MySQL 5.6, retired by AWS: use aurora-mysql"
    else:
        hint = "faaslab emulates Aurora Serverless clusters: aurora-mysql or aurora-postgresql"
    raise PropertyError("Engine", f"Engine {value} is not supported ({hint})")


def _v1_scaling(engine: Engine, scaling: _Scaling) -> dict[str, Any]:
    key = "ScalingConfiguration"
    allowed = V1_CAPACITIES[engine]
    low = allowed[0] if scaling.min_capacity is None else scaling.min_capacity
    high = scaling.max_capacity
    if high is None:
        high = max(V1_DEFAULT_MAX_CAPACITY, low)
    for name, value in (("MinCapacity", low), ("MaxCapacity", high)):
        if value not in allowed:
            raise PropertyError(
                f"{key}.{name}",
                f"Capacity value {value:g} is not valid. For {engine}, valid capacity values "
                f"are {', '.join(map(str, allowed))}.",
            )
    if low > high:
        raise PropertyError(
            f"{key}.MinCapacity",
            f"MinCapacity {low:g} is greater than MaxCapacity {high:g}. {_MIN_ABOVE_MAX}",
        )
    timeout_action = scaling.timeout_action or TimeoutAction.ROLLBACK.value
    if timeout_action not in {action.value for action in TimeoutAction}:
        raise PropertyError(
            f"{key}.TimeoutAction",
            f"TimeoutAction {timeout_action} is not valid: the action to take when the timeout "
            "is reached is either ForceApplyCapacityChange or RollbackCapacityChange.",
        )
    return {
        "min_capacity": float(low),
        "max_capacity": float(high),
        "auto_pause": True if scaling.auto_pause is None else scaling.auto_pause,
        "seconds_until_auto_pause": _pause_seconds(scaling, key, "between 300 and 86,400 seconds"),
        "seconds_before_timeout": _timeout_seconds(scaling, key),
        "timeout_action": TimeoutAction(timeout_action),
    }


def _v2_scaling(scaling: _Scaling) -> dict[str, Any]:
    key = "ServerlessV2ScalingConfiguration"
    low, high = scaling.min_capacity, scaling.max_capacity
    if low is None or high is None:
        raise PropertyError(
            key,
            "Both MinCapacity and MaxCapacity must be specified when you initialize "
            "Serverless v2 scaling configuration.",
        )
    for name, word, value in (("MinCapacity", "minimum", low), ("MaxCapacity", "maximum", high)):
        invalid = f"Serverless v2 {word} capacity {value:g} isn't valid."
        if not float(value * 2).is_integer():
            raise PropertyError(
                f"{key}.{name}",
                f"{invalid} You can specify ACU values in half-step increments, "
                "such as 8, 8.5, 9, and so on.",
            )
        if not 0 <= value <= V2_MAX_CAPACITY:
            raise PropertyError(
                f"{key}.{name}",
                f"{invalid} The smallest value that you can use is 0 and the largest "
                f"value is {V2_MAX_CAPACITY:g}.",
            )
    if high < V2_MIN_MAX_CAPACITY:
        raise PropertyError(
            f"{key}.MaxCapacity",
            f"Serverless v2 maximum capacity {high:g} isn't valid. The maximum capacity must "
            "be at least 1.0.",
        )
    if low > high:
        raise PropertyError(
            f"{key}.MinCapacity",
            f"MinCapacity {low:g} is greater than MaxCapacity {high:g}. {_MIN_ABOVE_MAX}",
        )
    pause = _pause_seconds(
        scaling, key, "between 300 seconds (five minutes) and 86,400 seconds (one day)"
    )
    return {
        "min_capacity": float(low),
        "max_capacity": float(high),
        "auto_pause": low == 0,
        "seconds_until_auto_pause": pause,
    }


def _pause_seconds(scaling: _Scaling, key: str, between: str) -> int:
    seconds = scaling.seconds_until_auto_pause
    if seconds is None:
        return PAUSE_DEFAULT_S
    if not PAUSE_MIN_S <= seconds <= PAUSE_MAX_S:
        raise PropertyError(
            f"{key}.SecondsUntilAutoPause",
            f"SecondsUntilAutoPause {seconds} is not valid. Specify a value {between}.",
        )
    return seconds


def _timeout_seconds(scaling: _Scaling, key: str) -> int:
    seconds = scaling.seconds_before_timeout
    if seconds is None:
        return TIMEOUT_DEFAULT_S
    if not TIMEOUT_MIN_S <= seconds <= TIMEOUT_MAX_S:
        raise PropertyError(
            f"{key}.SecondsBeforeTimeout",
            f"SecondsBeforeTimeout {seconds} is not valid. Specify a value between "
            f"{TIMEOUT_MIN_S} and {TIMEOUT_MAX_S} seconds.",
        )
    return seconds


def _identifier(value: str) -> str:
    if len(value) > IDENTIFIER_MAX:
        raise PropertyError(
            "DBClusterIdentifier",
            "The parameter DBClusterIdentifier is not a valid identifier because it is longer "
            f"than {IDENTIFIER_MAX} characters.",
        )
    if not _IDENTIFIER.fullmatch(value):
        raise PropertyError("DBClusterIdentifier", _IDENTIFIER_INVALID)
    return value.lower()  # "This parameter is stored as a lowercase string."


def _username(engine: Engine, value: str | None) -> str:
    key = "MasterUsername"
    if not value:
        raise PropertyError(
            key, "The parameter MasterUsername must be provided and must not be blank."
        )
    if not _USERNAME.fullmatch(value):
        raise PropertyError(
            key,
            "MasterUsername must begin with a letter and contain only alphanumeric characters "
            "or underscores.",
        )
    limit = USERNAME_MAX[engine]
    if len(value) > limit:
        raise PropertyError(
            key,
            f"MasterUsername {value} is not valid: for {engine} it must be 1 to {limit} letters, "
            "numbers or underscores.",
        )
    if value.lower() in RESERVED_USERNAMES[engine]:
        raise PropertyError(
            key,
            f"MasterUsername {value} cannot be used as it is a reserved word used by the engine",
        )
    return value


def _password(engine: Engine, value: str | None) -> str:
    key = "MasterUserPassword"
    if not value:
        raise PropertyError(
            key, "The parameter MasterUserPassword must be provided and must not be blank."
        )
    if "{{resolve:" in value:
        raise PropertyError(key, "a dynamic reference ({{resolve:...}}) that was not resolved")
    if len(value) < PASSWORD_MIN:
        raise PropertyError(
            key,
            "The parameter MasterUserPassword is not a valid password because it is shorter "
            f"than {PASSWORD_MIN} characters.",
        )
    limit = PASSWORD_MAX[engine]
    if len(value) > limit:
        raise PropertyError(
            key,
            "The parameter MasterUserPassword is not a valid password because it is longer "
            f"than {limit} characters.",
        )
    if any(not " " <= char <= "~" or char in _PASSWORD_BANNED for char in value):
        raise PropertyError(key, _PASSWORD_CHARACTERS)
    return value


def _database_name(engine: Engine, value: str) -> str:
    key = "DatabaseName"
    if not _DATABASE_NAME.fullmatch(value):
        raise PropertyError(
            key, "DatabaseName must begin with a letter and contain only alphanumeric characters."
        )
    limit = DATABASE_NAME_MAX[engine]
    if len(value) > limit:
        raise PropertyError(
            key, f"DatabaseName must contain 1 to {limit} alphanumeric characters for {engine}."
        )
    return value


# -- CloudFormation's scalar types (a !Ref of a String parameter gives "true", "300") ---------


def _scaling(config: Mapping[str, Any], key: str, v1: bool) -> _Scaling:
    known = {"MinCapacity", "MaxCapacity", "SecondsUntilAutoPause"}
    known |= {"AutoPause", "SecondsBeforeTimeout", "TimeoutAction"} if v1 else set()
    for name in config:
        if name not in known:
            raise PropertyError(f"{key}.{name}", f"not a property of {key}: {sorted(known)}")
    timeout_action = _string(config.get("TimeoutAction"), f"{key}.TimeoutAction")
    return _Scaling(
        min_capacity=_number(config.get("MinCapacity"), f"{key}.MinCapacity"),
        max_capacity=_number(config.get("MaxCapacity"), f"{key}.MaxCapacity"),
        auto_pause=_bool(config.get("AutoPause"), f"{key}.AutoPause"),
        seconds_until_auto_pause=_int(
            config.get("SecondsUntilAutoPause"), f"{key}.SecondsUntilAutoPause"
        ),
        seconds_before_timeout=_int(
            config.get("SecondsBeforeTimeout"), f"{key}.SecondsBeforeTimeout"
        ),
        timeout_action=timeout_action,
    )


def _mapping(value: Any, key: str) -> Mapping[str, Any] | None:
    if value is None or isinstance(value, Mapping):
        return value
    raise PropertyError(key, f"must be a mapping, got {value!r}")


def _string(value: Any, key: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise PropertyError(key, f"must be a string, got {value!r}")


def _string_list(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PropertyError(key, f"must be a list of security group ids, got {value!r}")
    return [_string(item, f"{key}[{i}]") or "" for i, item in enumerate(value)]


def _bool(value: Any, key: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise PropertyError(key, f"must be true or false, got {value!r}")


def _int(value: Any, key: str) -> int | None:
    number = _number(value, key)
    if number is None:
        return None
    if not number.is_integer():
        raise PropertyError(key, f"must be an integer, got {value!r}")
    return int(number)


def _number(value: Any, key: str) -> float | None:
    if value is None:
        return None
    number: Any = value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise PropertyError(key, f"must be a number, got {value!r}") from None
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise PropertyError(key, f"must be a number, got {value!r}")
    if not math.isfinite(number):
        raise PropertyError(key, f"must be a number, got {value!r}")
    return float(number)


def _port_bound(value: Any, key: str) -> int | None:
    port = _int(value, key)
    if port is None or port == -1:  # -1: every port
        return None
    if not 0 <= port <= 65535:
        raise PropertyError(key, f"must be a port 0-65535 (or -1 for all), got {value!r}")
    return port


def _cidr(
    value: Any, key: str, kind: type[ipaddress.IPv4Network] | type[ipaddress.IPv6Network]
) -> str:
    field = key[0].lower() + key[1:]  # EC2 names the parameter cidrIp / cidrIpv6
    invalid = f"Value ({value}) for parameter {field} is invalid. This is not a valid CIDR block."
    if not isinstance(value, str):
        raise PropertyError(key, invalid)
    try:
        return str(kind(value.strip(), strict=False))
    except ValueError:
        raise PropertyError(key, invalid) from None


def _tags(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, list):
        raise PropertyError("Tags", f"must be a list of {{Key, Value}} mappings, got {value!r}")
    tags: dict[str, str] = {}
    for i, item in enumerate(value):
        key = f"Tags[{i}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("Key"), str):
            raise PropertyError(key, f"must be a mapping with Key and Value, got {item!r}")
        tags[item["Key"]] = _string(item.get("Value"), f"{key}.Value") or ""
    return tags


# -- ModifyDBCluster -------------------------------------------------------------------------


def modified_spec(
    spec: ClusterSpec,
    scaling: Mapping[str, Any] | None = None,
    v2_scaling: Mapping[str, Any] | None = None,
    enable_http_endpoint: bool | None = None,
    master_password: str | None = None,
) -> ClusterSpec:
    """`spec` with what a ModifyDBCluster call changes, checked as a new cluster's are. A
    partial scaling configuration keeps the values it does not name, as RDS does."""
    v1 = spec.version is Version.V1
    changes: dict[str, Any] = {}
    if (scaling is not None and not v1) or (v2_scaling is not None and v1):
        wrong = (
            "ScalingConfiguration" if scaling is not None else "ServerlessV2ScalingConfiguration"
        )
        raise PropertyError(
            wrong,
            f"{wrong} does not apply to this cluster (Aurora Serverless {'v1' if v1 else 'v2'})",
        )
    given = scaling if v1 else v2_scaling
    if given is not None:
        key = "ScalingConfiguration" if v1 else "ServerlessV2ScalingConfiguration"
        current: dict[str, Any] = {
            "MinCapacity": spec.min_capacity,
            "MaxCapacity": spec.max_capacity,
            "SecondsUntilAutoPause": spec.seconds_until_auto_pause,
        }
        if v1:
            current |= {
                "AutoPause": spec.auto_pause,
                "SecondsBeforeTimeout": spec.seconds_before_timeout,
                "TimeoutAction": spec.timeout_action.value,
            }
        merged = _scaling({**current, **given}, key, v1=v1)
        changes |= _v1_scaling(spec.engine, merged) if v1 else _v2_scaling(merged)
    if enable_http_endpoint is not None:
        changes["enable_http_endpoint"] = enable_http_endpoint
    if master_password is not None:
        changes["master_password"] = _password(spec.engine, master_password)
    return dataclasses.replace(spec, **changes)
