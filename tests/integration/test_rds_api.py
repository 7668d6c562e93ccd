"""The RDS API over faaslab's serverless clusters (databases/rds_api.py), with boto3 and
the aws CLI: a cluster created by the API is a real engine a driver logs in to; describe,
events and delete see the clusters `faaslab db` and templates make too."""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pymysql
import pytest
from botocore.exceptions import ClientError

from tests.conftest import FIXTURES, Faaslab, start_faaslab
from tests.integration.test_clusters import faaslab_cli
from tests.integration.test_unknown_services import cli, client

PASSWORD = "Secret-pass99"


@pytest.fixture(scope="module")
def fl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faaslab]:
    fl = start_faaslab(
        FIXTURES / "services.yaml", tmp_path_factory.mktemp("rds") / "s", "--time-scale", "300"
    )
    yield fl
    assert fl.stop() == 0


def wait_status(rds: Any, name: str, wanted: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        cluster = rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]
        if cluster["Status"] == wanted or time.monotonic() > deadline:
            return dict(cluster)
        time.sleep(0.2)


def wait_capacity(rds: Any, name: str, wanted: int) -> int:
    deadline = time.monotonic() + 120
    while True:
        capacity = rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]["Capacity"]
        if capacity == wanted or time.monotonic() > deadline:
            return int(capacity)
        time.sleep(0.1)


def test_create_describe_log_in_and_delete(fl: Faaslab) -> None:
    rds = client(fl, "rds")
    created = rds.create_db_cluster(
        DBClusterIdentifier="api-v2",
        Engine="aurora-mysql",
        EngineMode="provisioned",
        ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 4},
        MasterUsername="admin",
        MasterUserPassword=PASSWORD,
        DatabaseName="TEST",
        EnableHttpEndpoint=True,
        Tags=[{"Key": "course", "Value": "tcss562"}],
    )["DBCluster"]
    assert created["DBClusterIdentifier"] == "api-v2"
    assert created["DBClusterArn"] == "arn:aws:rds:us-east-1:123456789012:cluster:api-v2"
    cluster = wait_status(rds, "api-v2", "available")
    assert cluster["Status"] == "available"
    assert cluster["ServerlessV2ScalingConfiguration"] == {"MinCapacity": 0.5, "MaxCapacity": 4.0}
    assert (cluster["Engine"], cluster["EngineMode"], cluster["HttpEndpointEnabled"]) == (
        "aurora-mysql",
        "provisioned",
        True,
    )
    assert cluster["TagList"] == [{"Key": "course", "Value": "tcss562"}]
    conn = pymysql.connect(
        host=cluster["Endpoint"],
        port=cluster["Port"],
        user="admin",
        password=PASSWORD,
        database="TEST",
        connect_timeout=60,
    )
    with conn, conn.cursor() as cur:
        cur.execute("SELECT 1 + 1")
        assert cur.fetchone() == (2,)
    listed = json.loads(cli(fl, "rds", "describe-db-clusters").stdout)["DBClusters"]
    assert [c["DBClusterIdentifier"] for c in listed] == ["api-v2"]
    events = rds.describe_events(SourceType="db-cluster", SourceIdentifier="api-v2")["Events"]
    assert events and all(e["SourceIdentifier"] == "api-v2" for e in events), events
    with pytest.raises(ClientError) as e:
        rds.create_db_cluster(
            DBClusterIdentifier="api-v2",
            Engine="aurora-mysql",
            ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 4},
            MasterUsername="admin",
            MasterUserPassword=PASSWORD,
        )
    assert e.value.response["Error"]["Code"] == "DBClusterAlreadyExistsFault"
    with pytest.raises(ClientError) as e:
        rds.delete_db_cluster(DBClusterIdentifier="api-v2")
    assert e.value.response["Error"]["Code"] == "InvalidParameterCombination"
    gone = rds.delete_db_cluster(DBClusterIdentifier="api-v2", SkipFinalSnapshot=True)
    assert gone["DBCluster"]["Status"] == "deleting"
    with pytest.raises(ClientError) as e:
        rds.describe_db_clusters(DBClusterIdentifier="api-v2")
    assert e.value.response["Error"]["Code"] == "DBClusterNotFoundFault"


def test_parameters_faaslab_does_not_emulate_are_refused(fl: Faaslab) -> None:
    with pytest.raises(ClientError) as e:
        client(fl, "rds").create_db_cluster(
            DBClusterIdentifier="api-x",
            Engine="aurora-postgresql",
            ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 4},
            MasterUsername="admin",
            MasterUserPassword=PASSWORD,
            GlobalClusterIdentifier="global-1",
        )
    err = e.value.response["Error"]
    assert err["Code"] == "InvalidParameterCombination"
    assert "GlobalClusterIdentifier" in err["Message"]


def test_cloudwatch_metrics_of_a_cluster(fl: Faaslab) -> None:
    rds = client(fl, "rds")
    rds.create_db_cluster(
        DBClusterIdentifier="metered",
        Engine="aurora-postgresql",
        ServerlessV2ScalingConfiguration={"MinCapacity": 1, "MaxCapacity": 4},
        MasterUsername="master",
        MasterUserPassword=PASSWORD,
    )
    wait_status(rds, "metered", "available")
    cw = client(fl, "cloudwatch")  # (boto3 speaks CloudWatch's rpc-v2-cbor protocol)
    dims = [{"Name": "DBClusterIdentifier", "Value": "metered"}]
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    deadline = time.monotonic() + 120
    while True:
        end = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=1)
        got = cw.get_metric_statistics(
            Namespace="AWS/RDS",
            MetricName="ServerlessDatabaseCapacity",
            Dimensions=dims,
            StartTime=start,
            EndTime=end,
            Period=60,
            Statistics=["Maximum", "SampleCount"],
        )
        if got["Datapoints"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert got["Datapoints"], got
    assert all(p["Maximum"] >= 1.0 for p in got["Datapoints"]), got
    names = {
        m["MetricName"] for m in cw.list_metrics(Namespace="AWS/RDS", Dimensions=dims)["Metrics"]
    }
    assert {"ServerlessDatabaseCapacity", "ACUUtilization", "DatabaseConnections"} <= names
    data = cw.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "acu",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/RDS",
                        "MetricName": "ServerlessDatabaseCapacity",
                        "Dimensions": dims,
                    },
                    "Period": 60,
                    "Stat": "Average",
                },
            }
        ],
        StartTime=start,
        EndTime=end,
    )["MetricDataResults"]
    assert data[0]["Id"] == "acu" and data[0]["Values"], data
    with pytest.raises(ClientError) as e:
        cw.get_metric_data(
            MetricDataQueries=[{"Id": "m", "Expression": "SUM(METRICS())"}],
            StartTime=start,
            EndTime=end,
        )
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    done = cli(fl, "cloudwatch", "list-metrics", "--namespace", "AWS/RDS")
    assert done.returncode == 0, done.stderr
    assert "ServerlessDatabaseCapacity" in done.stdout
    rds.delete_db_cluster(DBClusterIdentifier="metered", SkipFinalSnapshot=True)


def test_modify_the_scaling_configuration(fl: Faaslab) -> None:
    rds = client(fl, "rds")
    rds.create_db_cluster(
        DBClusterIdentifier="resized",
        Engine="aurora-mysql",
        ServerlessV2ScalingConfiguration={"MinCapacity": 2, "MaxCapacity": 8},
        MasterUsername="admin",
        MasterUserPassword=PASSWORD,
        EngineVersion="8.0.mysql_aurora.3.08.0",
        BackupRetentionPeriod=7,
    )
    cluster = wait_status(rds, "resized", "available")
    assert cluster["ServerlessV2ScalingConfiguration"] == {"MinCapacity": 2.0, "MaxCapacity": 8.0}
    # only MaxCapacity: MinCapacity stays; the running capacity comes down into the range
    out = rds.modify_db_cluster(
        DBClusterIdentifier="resized",
        ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 1},
        EnableHttpEndpoint=True,
        ApplyImmediately=True,
    )["DBCluster"]
    assert out["ServerlessV2ScalingConfiguration"] == {"MinCapacity": 0.5, "MaxCapacity": 1.0}
    assert out["HttpEndpointEnabled"] is True
    described = fl.get("/_faaslab/db/resized")
    assert described["Capacity"] == 1.0 and described["MaxCapacity"] == 1.0
    with pytest.raises(ClientError) as e:
        rds.modify_db_cluster(
            DBClusterIdentifier="resized",
            ServerlessV2ScalingConfiguration={"MinCapacity": 4},  # above MaxCapacity 1
        )
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "MinCapacity 4 is greater than MaxCapacity 1" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        rds.modify_db_cluster(
            DBClusterIdentifier="resized", ScalingConfiguration={"MinCapacity": 2}
        )
    assert "does not apply to this cluster" in e.value.response["Error"]["Message"]
    fl.request_log("(note: no effect on a local cluster: BackupRetentionPeriod, EngineVersion)")
    rds.delete_db_cluster(DBClusterIdentifier="resized", SkipFinalSnapshot=True)


def test_stop_and_start_a_cluster(fl: Faaslab) -> None:
    rds = client(fl, "rds")
    rds.create_db_cluster(
        DBClusterIdentifier="stoppable",
        Engine="aurora-postgresql",
        ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 2},
        MasterUsername="master",
        MasterUserPassword=PASSWORD,
    )
    port = wait_status(rds, "stoppable", "available")["Port"]
    stopping = json.loads(
        cli(fl, "rds", "stop-db-cluster", "--db-cluster-identifier", "stoppable").stdout
    )["DBCluster"]
    assert stopping["Status"] == "stopping"
    assert wait_status(rds, "stoppable", "stopped")["Status"] == "stopped"
    # a stopped cluster takes no connections (a paused one would resume)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(
            host="127.0.0.1",
            port=port,
            user="master",
            password=PASSWORD,
            dbname="postgres",
            connect_timeout=30,
        ).close()
    assert wait_status(rds, "stoppable", "stopped")["Status"] == "stopped"
    with pytest.raises(ClientError) as e:
        rds.stop_db_cluster(DBClusterIdentifier="stoppable")
    assert e.value.response["Error"]["Code"] == "InvalidDBClusterStateFault"
    started = rds.start_db_cluster(DBClusterIdentifier="stoppable")["DBCluster"]
    assert started["Status"] == "starting"
    wait_status(rds, "stoppable", "available")
    with psycopg.connect(
        host="127.0.0.1",
        port=port,
        user="master",
        password=PASSWORD,
        dbname="postgres",
        connect_timeout=60,
    ) as conn:
        assert conn.execute("SELECT 2 + 2").fetchone() == (4,)
    with pytest.raises(ClientError) as e:
        rds.start_db_cluster(DBClusterIdentifier="stoppable")
    assert e.value.response["Error"]["Code"] == "InvalidDBClusterStateFault"
    # `faaslab db` shares the state: its stop is the API's stop
    assert faaslab_cli(fl, "db", "stop", "stoppable").strip() == "stoppable: stopping"
    assert wait_status(rds, "stoppable", "stopped")["Status"] == "stopped"
    assert faaslab_cli(fl, "db", "start", "stoppable").strip() == "stoppable: starting"
    wait_status(rds, "stoppable", "available")
    messages = [
        ev["Message"]
        for ev in rds.describe_events(SourceType="db-cluster", SourceIdentifier="stoppable")[
            "Events"
        ]
    ]
    assert "DB cluster stopped." in messages and "DB cluster started." in messages
    rds.delete_db_cluster(DBClusterIdentifier="stoppable", SkipFinalSnapshot=True)


def test_modify_current_capacity_of_a_v1_cluster(fl: Faaslab) -> None:
    rds = client(fl, "rds")
    rds.create_db_cluster(
        DBClusterIdentifier="manual-v1",
        Engine="aurora-mysql",
        EngineMode="serverless",
        ScalingConfiguration={"MinCapacity": 1, "MaxCapacity": 8, "AutoPause": False},
        MasterUsername="admin",
        MasterUserPassword=PASSWORD,
    )
    cluster = wait_status(rds, "manual-v1", "available")
    assert cluster["Capacity"] == 1
    out = rds.modify_current_db_cluster_capacity(
        DBClusterIdentifier="manual-v1", Capacity=4, SecondsBeforeTimeout=10
    )
    assert (out["PendingCapacity"], out["CurrentCapacity"]) == (4, 1)
    assert (out["SecondsBeforeTimeout"], out["TimeoutAction"]) == (10, "ForceApplyCapacityChange")
    # (autoscaling may bring it down after its 15-minute cooldown: 3 s at this time scale)
    assert wait_capacity(rds, "manual-v1", 4) == 4
    messages = [
        ev["Message"]
        for ev in rds.describe_events(SourceType="db-cluster", SourceIdentifier="manual-v1")[
            "Events"
        ]
    ]
    assert "The DB cluster has scaled from 1 capacity units to 4 capacity units." in messages
    for bad, words in ((3, "Valid capacity values are 1, 2, 4"), (16, "MaxCapacity 8")):
        with pytest.raises(ClientError) as e:
            rds.modify_current_db_cluster_capacity(DBClusterIdentifier="manual-v1", Capacity=bad)
        assert e.value.response["Error"]["Code"] == "InvalidDBClusterCapacityFault"
        assert words in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        rds.stop_db_cluster(DBClusterIdentifier="manual-v1")  # v1 pauses; it cannot stop
    assert e.value.response["Error"]["Code"] == "InvalidParameterCombination"
    done = cli(
        fl,
        "rds",
        "modify-current-db-cluster-capacity",
        "--db-cluster-identifier",
        "manual-v1",
        "--capacity",
        "2",
        "--timeout-action",
        "RollbackCapacityChange",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["TimeoutAction"] == "RollbackCapacityChange"
    rds.delete_db_cluster(DBClusterIdentifier="manual-v1", SkipFinalSnapshot=True)


def test_modify_current_capacity_refuses_an_unknown_timeout_action(fl: Faaslab) -> None:
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = (
        "Action=ModifyCurrentDBClusterCapacity&Version=2014-10-31&DBClusterIdentifier=x"
        "&Capacity=2&TimeoutAction=Sometimes"
    )
    req = AWSRequest("POST", fl.url + "/", data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    SigV4Auth(Credentials("AKIAFAASLABLOCAL0001", "faaslab/local/secret/key/0001"), "rds",
              "us-east-1").add_auth(req)  # fmt: skip
    prepared = urllib.request.Request(
        fl.url + "/", data=body.encode(), headers=dict(req.headers), method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(prepared, timeout=30)
    assert e.value.code == 400
    assert b"InvalidParameterValue" in e.value.read()
