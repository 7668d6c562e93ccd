"""The RDS API for serverless clusters (query protocol, on awsapi/): Describe, Create,
Modify, Delete, Stop, Start DBCluster, ModifyCurrentDBClusterCapacity, DescribeEvents,
over the same clusters `faaslab db` and templates manage, with RDS's field names, so
`aws rds describe-db-clusters` and scripts written for AWS see them as they would there.

A parameter faaslab does not emulate is refused (InvalidParameterCombination, naming
it), except the few that change nothing a local cluster has (backups, maintenance
windows, subnet groups, encryption at rest), which are accepted and listed in the
request's log line: nothing is dropped silently.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from faaslab.awsapi.dispatch import Call, Output, ServiceApi
from faaslab.awsapi.errors import ApiError
from faaslab.databases.cluster import Cluster, State
from faaslab.databases.manager import MANUAL_TIMEOUT_DEFAULT_S, ClusterError, Clusters
from faaslab.databases.model import ClusterSpec, SpecError, TimeoutAction, Version
from faaslab.databases.spec import IngressRule, modified_spec, parse_cluster

# CreateDBCluster parameters that parse_cluster reads (CloudFormation's names are RDS's)
CREATE_PARAMETERS = frozenset(
    {
        "DBClusterIdentifier",
        "Engine",
        "EngineMode",
        "ScalingConfiguration",
        "ServerlessV2ScalingConfiguration",
        "MasterUsername",
        "MasterUserPassword",
        "DatabaseName",
        "Port",
        "VpcSecurityGroupIds",
        "EnableHttpEndpoint",
        "Tags",
    }
)
# ModifyDBCluster parameters applied (ApplyImmediately: every change is immediate here)
MODIFY_PARAMETERS = frozenset(
    {
        "DBClusterIdentifier",
        "ScalingConfiguration",
        "ServerlessV2ScalingConfiguration",
        "EnableHttpEndpoint",
        "MasterUserPassword",
        "ApplyImmediately",
    }
)
# accepted with no effect on a local cluster (and said so in the request log)
NO_EFFECT = frozenset(
    {
        "EngineVersion",
        "DBSubnetGroupName",
        "AvailabilityZones",
        "BackupRetentionPeriod",
        "PreferredBackupWindow",
        "PreferredMaintenanceWindow",
        "StorageEncrypted",
        "KmsKeyId",
        "CopyTagsToSnapshot",
        "DBClusterParameterGroupName",
        "DeletionProtection",
    }
)
# Aurora's RDS statuses for faaslab's cluster states: a paused cluster is `available`
# with capacity 0 (v1) or 0 ACUs (v2), as RDS reports it; the resume shows as resuming.
STATUS = {
    State.CREATING: "creating",
    State.AVAILABLE: "available",
    State.PAUSING: "available",
    State.PAUSED: "available",
    State.RESUMING: "resuming",
    State.SCALING: "scaling-capacity",
    State.STOPPING: "stopping",
    State.STOPPED: "stopped",
    State.STARTING: "starting",
    State.DELETING: "deleting",
    State.FAILED: "inaccessible-encryption-credentials-recoverable",
}
ENGINE_VERSION = {"aurora-mysql": "8.0.mysql_aurora.3.08.0", "aurora-postgresql": "16.6"}


class RdsApi:
    def __init__(
        self,
        clusters: Clusters,
        region: str,
        security_groups: Callable[[], Mapping[str, Sequence[IngressRule]]],
    ) -> None:
        self.clusters = clusters
        self.region = region
        self.security_groups = security_groups

    def api(self) -> ServiceApi:
        return ServiceApi(
            "rds",
            {
                "DescribeDBClusters": self.describe_db_clusters,
                "CreateDBCluster": self.create_db_cluster,
                "DeleteDBCluster": self.delete_db_cluster,
                "DescribeEvents": self.describe_events,
                "ModifyDBCluster": self.modify_db_cluster,
                "StopDBCluster": self.stop_db_cluster,
                "StartDBCluster": self.start_db_cluster,
                "ModifyCurrentDBClusterCapacity": self.modify_current_capacity,
            },
        )

    def _cluster(self, identifier: str) -> Cluster:
        try:
            return self.clusters.get(identifier)
        except ClusterError as e:
            raise _api_error(e) from None

    def _names(self, cluster: Cluster) -> set[str]:
        return {cluster.identifier, self.clusters.arn(cluster.identifier)}

    def db_cluster(self, cluster: Cluster) -> dict[str, Any]:
        """The cluster as RDS's DBCluster shape."""
        spec = cluster.spec
        paused = cluster.state in (State.PAUSED, State.PAUSING)
        out: dict[str, Any] = {
            "DBClusterIdentifier": spec.identifier,
            "DBClusterArn": self.clusters.arn(spec.identifier),
            "DbClusterResourceId": "cluster-" + spec.identifier.upper().replace("-", "")[:26],
            "Engine": spec.engine.value,
            "EngineVersion": ENGINE_VERSION[spec.engine.value],
            "EngineMode": "serverless" if spec.version is Version.V1 else "provisioned",
            "Status": STATUS[cluster.state],
            "Endpoint": "127.0.0.1",
            "ReaderEndpoint": "127.0.0.1",
            "Port": cluster.port,
            "MasterUsername": spec.master_username,
            "MultiAZ": False,
            "AllocatedStorage": 1,
            "StorageEncrypted": True,
            "DeletionProtection": False,
            "HttpEndpointEnabled": spec.enable_http_endpoint,
            "ClusterCreateTime": dt.datetime.fromtimestamp(cluster.created, dt.UTC),
            "AvailabilityZones": [f"{self.region}a", f"{self.region}b", f"{self.region}c"],
            "TagList": [{"Key": k, "Value": v} for k, v in spec.tags.items()],
        }
        if spec.database_name:
            out["DatabaseName"] = spec.database_name
        if spec.version is Version.V1:
            out["Capacity"] = 0 if paused else int(cluster.capacity)
            out["ScalingConfigurationInfo"] = {
                "MinCapacity": int(spec.min_capacity),
                "MaxCapacity": int(spec.max_capacity),
                "AutoPause": spec.auto_pause,
                "SecondsUntilAutoPause": spec.seconds_until_auto_pause,
                "TimeoutAction": spec.timeout_action.value,
                "SecondsBeforeTimeout": spec.seconds_before_timeout,
            }
        else:
            scaling: dict[str, Any] = {
                "MinCapacity": spec.min_capacity,
                "MaxCapacity": spec.max_capacity,
            }
            if spec.min_capacity == 0:
                scaling["SecondsUntilAutoPause"] = spec.seconds_until_auto_pause
            out["ServerlessV2ScalingConfiguration"] = scaling
        return out

    # -- operations
    def describe_db_clusters(self, call: Call) -> Output:
        p = call.params
        if p.get("DBClusterIdentifier"):
            chosen = [self._cluster(p["DBClusterIdentifier"])]
        else:
            chosen = [self.clusters.clusters[i] for i in sorted(self.clusters.clusters)]
        for f in p.get("Filters") or []:
            values = set(f.get("Values") or [])
            name = f.get("Name")
            if name in ("db-cluster-id", "db-cluster-resource-id"):
                chosen = [
                    c for c in chosen if {c.identifier, self.clusters.arn(c.identifier)} & values
                ]
            elif name == "engine":
                chosen = [c for c in chosen if c.spec.engine.value in values]
            else:
                raise ApiError(
                    "InvalidParameterValue",
                    f"Unrecognized filter name: {name}. faaslab filters by db-cluster-id "
                    "and engine.",
                )
        size = p.get("MaxRecords") or 100
        if not 20 <= size <= 100:
            raise ApiError(
                "InvalidParameterValue", "Invalid value for MaxRecords: must be between 20 and 100"
            )
        start = int(p["Marker"]) if str(p.get("Marker", "")).isdigit() else 0
        out: dict[str, Any] = {
            "DBClusters": [self.db_cluster(c) for c in chosen[start : start + size]]
        }
        if start + size < len(chosen):
            out["Marker"] = str(start + size)
        return out

    async def create_db_cluster(self, call: Call) -> Output:
        p = dict(call.params)
        unknown = sorted(set(p) - CREATE_PARAMETERS - NO_EFFECT)
        if unknown:
            raise ApiError(
                "InvalidParameterCombination",
                f"faaslab does not emulate {', '.join(unknown)} for serverless clusters",
            )
        _note_no_effect(call)
        properties = {k: v for k, v in p.items() if k in CREATE_PARAMETERS}
        try:
            spec: ClusterSpec = parse_cluster(
                p["DBClusterIdentifier"],
                properties,
                lambda value, _where: value,
                "CreateDBCluster",
                self.security_groups(),
            )
            cluster = await self.clusters.create(spec, source="api")
        except (ClusterError, SpecError) as e:
            raise _api_error(e) from None
        return {"DBCluster": self.db_cluster(cluster)}

    async def modify_db_cluster(self, call: Call) -> Output:
        p = call.params
        unknown = sorted(set(p) - MODIFY_PARAMETERS - NO_EFFECT)
        if unknown:
            raise ApiError(
                "InvalidParameterCombination",
                f"faaslab does not emulate {', '.join(unknown)} for serverless clusters "
                "(it modifies the scaling configuration, EnableHttpEndpoint and "
                "MasterUserPassword)",
            )
        _note_no_effect(call)
        cluster = self._cluster(p["DBClusterIdentifier"])
        try:
            spec = modified_spec(
                cluster.spec,
                p.get("ScalingConfiguration"),
                p.get("ServerlessV2ScalingConfiguration"),
                p.get("EnableHttpEndpoint"),
                p.get("MasterUserPassword"),
            )
            cluster = await self.clusters.modify(cluster.identifier, spec)
        except (ClusterError, SpecError) as e:
            raise _api_error(e) from None
        return {"DBCluster": self.db_cluster(cluster)}

    def stop_db_cluster(self, call: Call) -> Output:
        try:
            cluster = self.clusters.stop_cluster(call.params["DBClusterIdentifier"])
        except ClusterError as e:
            raise _api_error(e) from None
        return {"DBCluster": self.db_cluster(cluster)}

    def start_db_cluster(self, call: Call) -> Output:
        try:
            cluster = self.clusters.start_cluster(call.params["DBClusterIdentifier"])
        except ClusterError as e:
            raise _api_error(e) from None
        return {"DBCluster": self.db_cluster(cluster)}

    async def modify_current_capacity(self, call: Call) -> Output:
        p = call.params
        seconds = p.get("SecondsBeforeTimeout", MANUAL_TIMEOUT_DEFAULT_S)
        try:
            action = TimeoutAction(p.get("TimeoutAction") or TimeoutAction.FORCE.value)
        except ValueError:
            raise ApiError(
                "InvalidParameterValue",
                f"Invalid value {p['TimeoutAction']} for TimeoutAction: use "
                "ForceApplyCapacityChange or RollbackCapacityChange",
            ) from None
        cluster = self._cluster(p["DBClusterIdentifier"])
        if "Capacity" not in p:  # nothing asked: what it runs at
            current = 0 if cluster.state in (State.PAUSED, State.PAUSING) else cluster.capacity
            return {
                "DBClusterIdentifier": cluster.identifier,
                "CurrentCapacity": int(current),
                "SecondsBeforeTimeout": seconds,
                "TimeoutAction": action.value,
            }
        try:
            cluster, current = await self.clusters.request_capacity(
                cluster.identifier, p["Capacity"], seconds, action
            )
        except ClusterError as e:
            raise _api_error(e) from None
        return {
            "DBClusterIdentifier": cluster.identifier,
            "PendingCapacity": int(p["Capacity"]),
            "CurrentCapacity": int(current),
            "SecondsBeforeTimeout": seconds,
            "TimeoutAction": action.value,
        }

    async def delete_db_cluster(self, call: Call) -> Output:
        p = call.params
        if not p.get("SkipFinalSnapshot") and not p.get("FinalDBSnapshotIdentifier"):
            raise ApiError(
                "InvalidParameterCombination",
                "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.",
            )
        if p.get("FinalDBSnapshotIdentifier"):
            raise ApiError(
                "InvalidParameterCombination",
                "faaslab does not take snapshots: delete with --skip-final-snapshot",
            )
        cluster = self._cluster(p["DBClusterIdentifier"])
        described = self.db_cluster(cluster)
        try:
            await self.clusters.delete(cluster.identifier)
        except ClusterError as e:
            raise _api_error(e) from None
        described["Status"] = "deleting"
        return {"DBCluster": described}

    def describe_events(self, call: Call) -> Output:
        p = call.params
        if p.get("SourceType") not in (None, "db-cluster"):
            return {"Events": []}  # (faaslab's events all come from clusters)
        now = dt.datetime.now(dt.UTC)
        start = p.get("StartTime")
        end = p.get("EndTime")
        if start is None:
            start = now - dt.timedelta(minutes=p.get("Duration") or 60)
        if end is None:
            end = now
        identifiers = (
            [self._cluster(p["SourceIdentifier"]).identifier]
            if p.get("SourceIdentifier")
            else sorted(self.clusters.clusters)
        )
        events: list[dict[str, Any]] = []
        for identifier in identifiers:
            for e in self.clusters.db.events(identifier):
                when = dt.datetime.fromtimestamp(e.time, dt.UTC)
                if start <= when <= end:
                    events.append(
                        {
                            "SourceIdentifier": identifier,
                            "SourceType": "db-cluster",
                            "Message": e.message,
                            "EventCategories": [],
                            "Date": when,
                            "SourceArn": self.clusters.arn(identifier),
                        }
                    )
        events.sort(key=lambda ev: ev["Date"])
        size = p.get("MaxRecords") or 100
        offset = int(p["Marker"]) if str(p.get("Marker", "")).isdigit() else 0
        out: dict[str, Any] = {"Events": events[offset : offset + size]}
        if offset + size < len(events):
            out["Marker"] = str(offset + size)
        return out


def _note_no_effect(call: Call) -> None:
    ignored = sorted(set(call.params) & NO_EFFECT)
    if ignored:
        call.notes.append(f"no effect on a local cluster: {', '.join(ignored)}")


def _api_error(e: ClusterError | SpecError) -> ApiError:
    if isinstance(e, ClusterError):
        return ApiError(e.code, str(e), e.status)
    return ApiError("InvalidParameterValue", str(e))
