"""The control-plane APIs served on the protocol layer (faaslab/awsapi/), called with the
unmodified clients: boto3 and the aws CLI."""

from __future__ import annotations

import base64
import io
import json
import os
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import FIXTURES, Faaslab, running_faaslab
from tests.integration.test_unknown_services import cli, client


@pytest.fixture(scope="module")
def fl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faaslab]:
    yield from running_faaslab(FIXTURES / "services.yaml", tmp_path_factory.mktemp("api") / "state")


def test_sts_get_caller_identity(fl: Faaslab) -> None:
    want = {"UserId": "123456789012", "Account": "123456789012"}
    got = client(fl, "sts").get_caller_identity()
    assert {k: got[k] for k in want} == want
    assert got["Arn"] == "arn:aws:iam::123456789012:root"
    done = cli(fl, "sts", "get-caller-identity")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Account"] == "123456789012"


def test_an_operation_faaslab_lacks_is_refused_in_the_protocols_words(fl: Faaslab) -> None:
    with pytest.raises(ClientError) as e:
        client(fl, "sts").get_session_token()
    err = e.value.response
    assert err["Error"]["Code"] == "InvalidAction", err
    assert err["Error"]["Message"] == (
        "faaslab does not implement sts GetSessionToken (it serves GetCallerIdentity)"
    ), err
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_lambda_functions_listed_and_described(fl: Faaslab) -> None:
    lam = client(fl, "lambda")
    names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    assert names == ["context", "recorder"]
    page = lam.list_functions(MaxItems=1)
    assert [f["FunctionName"] for f in page["Functions"]] == ["context"]
    page = lam.list_functions(MaxItems=1, Marker=page["NextMarker"])
    assert [f["FunctionName"] for f in page["Functions"]] == ["recorder"]
    assert "NextMarker" not in page
    conf = lam.get_function_configuration(FunctionName="recorder")
    assert conf["FunctionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:recorder"
    assert (conf["Runtime"], conf["Handler"], conf["MemorySize"]) == (
        "python3.11",
        "recorder.handler",
        128,
    )
    assert (conf["State"], conf["LastUpdateStatus"], conf["PackageType"]) == (
        "Active",
        "Successful",
        "Zip",
    )
    assert conf["CodeSize"] > 0 and len(conf["CodeSha256"]) == 44
    got = lam.get_function(FunctionName=conf["FunctionArn"])
    assert got["Configuration"]["CodeSha256"] == conf["CodeSha256"]
    assert got["Code"]["RepositoryType"] == "S3"
    settings = lam.get_account_settings()
    assert settings["AccountUsage"]["FunctionCount"] == 2
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 1000
    with pytest.raises(ClientError) as e:
        lam.get_function(FunctionName="nope")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    done = cli(fl, "lambda", "list-functions")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Functions"][1]["FunctionName"] == "recorder"
    done = cli(fl, "lambda", "list-layers")
    assert done.returncode != 0
    assert "(UnknownOperationException)" in done.stderr, done.stderr
    assert "faaslab does not implement lambda ListLayers (it serves " in done.stderr


def test_cloudwatch_logs_read_the_functions_logs(fl: Faaslab) -> None:
    lam = client(fl, "lambda")
    marker = f"logs-api-{os.urandom(4).hex()}"
    for path in (marker, "other"):
        lam.invoke(FunctionName="recorder", Payload=json.dumps({"rawPath": path}).encode())[
            "Payload"
        ].read()
    logs = client(fl, "logs")
    groups = [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]]
    assert "/aws/lambda/recorder" in groups
    assert logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/rec")["logGroups"]
    streams = logs.describe_log_streams(
        logGroupName="/aws/lambda/recorder", orderBy="LastEventTime", descending=True
    )["logStreams"]
    stream = streams[0]["logStreamName"]
    assert "[$LATEST]" in stream
    events = logs.get_log_events(
        logGroupName="/aws/lambda/recorder", logStreamName=stream, startFromHead=True
    )["events"]
    messages = [e["message"] for e in events]
    assert any(m.startswith("START RequestId: ") for m in messages), messages
    assert any(m.startswith("REPORT RequestId: ") for m in messages), messages
    found = logs.filter_log_events(
        logGroupName="/aws/lambda/recorder", filterPattern=f'INVOKED "{marker}"'
    )["events"]
    assert [e["message"].strip() for e in found] == [f"INVOKED {marker}"]
    assert found[0]["logStreamName"] == stream
    none = logs.filter_log_events(
        logGroupName="/aws/lambda/recorder", filterPattern=f"INVOKED -{marker} -other"
    )["events"]
    assert none == []
    paged = logs.filter_log_events(logGroupName="/aws/lambda/recorder", limit=1)
    assert len(paged["events"]) == 1 and "nextToken" in paged
    with pytest.raises(ClientError) as e:
        logs.filter_log_events(logGroupName="/aws/lambda/recorder", filterPattern="{ $.a = 1 }")
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        logs.describe_log_streams(logGroupName="/aws/lambda/nope")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    done = cli(
        fl,
        "logs",
        "filter-log-events",
        "--log-group-name",
        "/aws/lambda/recorder",
        "--filter-pattern",
        marker,
    )
    assert done.returncode == 0, done.stderr
    assert [e["message"].strip() for e in json.loads(done.stdout)["events"]] == [
        f"INVOKED {marker}"
    ]


def test_every_api_call_is_in_the_request_log(fl: Faaslab) -> None:
    client(fl, "sts").get_caller_identity()
    with pytest.raises(ClientError):
        client(fl, "lambda").get_function(FunctionName="not-there")
    text = fl.request_log("lambda.GetFunction => 404")
    assert "AWS sts.GetCallerIdentity => 200" in text, text
    assert "AWS lambda.GetFunction => 404" in text, text
    assert "ResourceNotFoundException: Function not found" in text, text
    assert "AWS lambda.GetFunction => 404" in fl.log_path.read_text()  # (the console)


def test_localstacks_test_keys_are_accepted(fl: Faaslab) -> None:
    keys = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
    sts = boto3.client("sts", endpoint_url=fl.url, region_name="us-east-1", **keys)
    assert sts.get_caller_identity()["Account"] == "123456789012"
    s3 = boto3.client("s3", endpoint_url=fl.url, region_name="us-east-1", **keys)
    assert "Buckets" in s3.list_buckets()


def test_lambda_metrics_count_invocations(fl: Faaslab) -> None:
    import datetime

    lam = client(fl, "lambda")
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
    for _ in range(3):
        lam.invoke(FunctionName="recorder", Payload=b"{}")["Payload"].read()
    end = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=1)
    cw = client(fl, "cloudwatch")
    dims = [{"Name": "FunctionName", "Value": "recorder"}]
    got = cw.get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="Invocations",
        Dimensions=dims,
        StartTime=start,
        EndTime=end,
        Period=300,
        Statistics=["Sum"],
    )["Datapoints"]
    assert sum(p["Sum"] for p in got) >= 3, got
    duration = cw.get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="Duration",
        Dimensions=dims,
        StartTime=start,
        EndTime=end,
        Period=300,
        Statistics=["Average", "Maximum"],
    )["Datapoints"]
    assert duration and duration[0]["Unit"] == "Milliseconds"
    assert 0 < duration[0]["Average"] <= duration[0]["Maximum"]
    names = {m["MetricName"] for m in cw.list_metrics(Namespace="AWS/Lambda")["Metrics"]}
    assert {"Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions"} <= names


def _call(lam: Any, name: str) -> dict[str, Any]:
    r = lam.invoke(FunctionName=name, Payload=b"{}")
    assert "FunctionError" not in r
    return dict(json.loads(r["Payload"].read()))


def test_a_memory_sweep_as_faas_runner_does_it(fl: Faaslab) -> None:
    """UpdateFunctionConfiguration, then invoke: new environments have the new memory
    (context, variable, REPORT line); the old environment serves no more invocations."""
    lam = client(fl, "lambda")
    before = _call(lam, "context")
    assert (before["memory"], before["greeting"]) == ("128", "hello")  # (a str, as on AWS)
    for memory in (256, 512):
        out = lam.update_function_configuration(
            FunctionName="context",
            MemorySize=memory,
            Timeout=7,
            Environment={"Variables": {"GREETING": f"hi-{memory}"}},
        )
        assert out["MemorySize"] == memory and out["LastUpdateStatus"] == "InProgress"
        conf = lam.get_function_configuration(FunctionName="context")
        assert (conf["MemorySize"], conf["Timeout"], conf["LastUpdateStatus"]) == (
            memory,
            7,
            "Successful",
        )
        got = _call(lam, "context")
        assert (got["memory"], got["env_memory"], got["greeting"]) == (
            str(memory),
            str(memory),
            f"hi-{memory}",
        )
        assert 3000 < got["remaining_ms"] <= 7000
        assert got["stream"] != before["stream"]  # a new environment
        before = got
    r = lam.invoke(FunctionName="context", Payload=b"{}", LogType="Tail")
    r["Payload"].read()
    tail = base64.b64decode(r["LogResult"]).decode()
    assert "Memory Size: 512 MB" in tail, tail
    with pytest.raises(ClientError) as e:
        lam.update_function_configuration(
            FunctionName="context", Environment={"Variables": {"AWS_REGION": "x"}}
        )
    assert "Reserved keys used in this request: AWS_REGION" in str(e.value)
    with pytest.raises(ClientError) as e:
        lam.update_function_configuration(FunctionName="context", MemorySize=20_000)
    assert e.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as e:
        lam.update_function_configuration(FunctionName="context", TracingConfig={"Mode": "Active"})
    assert "faaslab does not emulate TracingConfig" in str(e.value)
    lam.put_function_concurrency(FunctionName="context", ReservedConcurrentExecutions=5)
    assert lam.get_function_concurrency(FunctionName="context")["ReservedConcurrentExecutions"] == 5
    assert lam.get_function(FunctionName="context")["Concurrency"] == {
        "ReservedConcurrentExecutions": 5
    }
    lam.delete_function_concurrency(FunctionName="context")
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(
        FunctionName="context"
    )


def _zip(source: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", source)
    return buf.getvalue()


def test_functions_created_updated_and_deleted_from_a_zip(fl: Faaslab) -> None:
    lam = client(fl, "lambda")
    code = _zip("def handler(event, context):\n    return {'v': 1, 'got': event}\n")
    created = lam.create_function(
        FunctionName="zipped",
        Runtime="python3.11",
        Role="arn:aws:iam::123456789012:role/any",
        Handler="app.handler",
        Code={"ZipFile": code},
        MemorySize=256,
        Environment={"Variables": {"A": "1"}},
    )
    assert created["State"] == "Pending" and created["MemorySize"] == 256
    lam.get_waiter("function_active_v2").wait(FunctionName="zipped")
    r = lam.invoke(FunctionName="zipped", Payload=b'{"x": 2}')
    assert json.loads(r["Payload"].read()) == {"v": 1, "got": {"x": 2}}
    with pytest.raises(ClientError) as e:
        lam.create_function(
            FunctionName="zipped",
            Runtime="python3.11",
            Role="r",
            Handler="app.handler",
            Code={"ZipFile": code},
        )
    assert e.value.response["Error"]["Code"] == "ResourceConflictException"
    # new code from faaslab's S3, as `aws lambda update-function-code --s3-bucket` does
    s3 = client(fl, "s3")
    s3.create_bucket(Bucket="code")
    s3.put_object(Bucket="code", Key="v2.zip", Body=_zip("def handler(e, c):\n    return 2\n"))
    out = lam.update_function_code(FunctionName="zipped", S3Bucket="code", S3Key="v2.zip")
    assert out["CodeSha256"] != created["CodeSha256"]
    lam.get_waiter("function_updated_v2").wait(FunctionName="zipped")
    assert json.loads(lam.invoke(FunctionName="zipped")["Payload"].read()) == 2
    with pytest.raises(ClientError) as e:
        lam.update_function_code(FunctionName="zipped", ZipFile=b"not a zip")
    assert "Could not unzip uploaded file" in str(e.value)
    lam.delete_function(FunctionName="zipped")
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="zipped")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_the_request_log_has_every_service(fl: Faaslab) -> None:
    """Invoke, S3 (and a refusal with its reason) and an unknown service, beside the
    protocol layer's own lines."""
    lam = client(fl, "lambda")
    lam.invoke(FunctionName="recorder", Payload=b"{}")["Payload"].read()
    s3 = client(fl, "s3")
    s3.create_bucket(Bucket="logged")
    with pytest.raises(ClientError):
        s3.get_object(Bucket="logged", Key="missing")
    fl.request_log(
        "AWS lambda.Invoke => 200",
        "AWS s3.PUT /logged => 200",
        "AWS s3.GET /logged/missing => 404",
        "NoSuchKey: The specified key does not exist.",
    )


def test_versions_and_aliases(fl: Faaslab) -> None:
    lam = client(fl, "lambda")
    lam.update_function_configuration(FunctionName="context", MemorySize=384)
    v1 = lam.publish_version(FunctionName="context", Description="first")
    assert (v1["Version"], v1["MemorySize"], v1["Description"]) == ("1", 384, "first")
    assert v1["FunctionArn"].endswith(":function:context:1")
    lam.update_function_configuration(FunctionName="context", MemorySize=640)
    r = lam.invoke(FunctionName="context", Qualifier="1", Payload=b"{}")
    got = json.loads(r["Payload"].read())
    assert got["memory"] == "384" and "[1]" in got["stream"]  # version 1 kept its memory
    assert r["ExecutedVersion"] == "1"
    latest = json.loads(lam.invoke(FunctionName="context", Payload=b"{}")["Payload"].read())
    assert latest["memory"] == "640" and "[$LATEST]" in latest["stream"]
    v2 = lam.publish_version(FunctionName="context")
    assert v2["Version"] == "2"
    assert lam.publish_version(FunctionName="context")["Version"] == "2"  # (nothing changed)
    versions = [
        v["Version"] for v in lam.list_versions_by_function(FunctionName="context")["Versions"]
    ]
    assert versions == ["$LATEST", "1", "2"]
    alias = lam.create_alias(FunctionName="context", Name="live", FunctionVersion="1")
    assert alias["AliasArn"].endswith(":function:context:live")
    via = json.loads(lam.invoke(FunctionName="context:live", Payload=b"{}")["Payload"].read())
    assert via["memory"] == "384"
    lam.update_alias(FunctionName="context", Name="live", FunctionVersion="2")
    via = json.loads(lam.invoke(FunctionName=alias["AliasArn"], Payload=b"{}")["Payload"].read())
    assert via["memory"] == "640"
    assert (
        lam.get_function_configuration(FunctionName="context", Qualifier="live")["Version"] == "2"
    )
    assert [a["Name"] for a in lam.list_aliases(FunctionName="context")["Aliases"]] == ["live"]
    with pytest.raises(ClientError) as e:
        lam.create_alias(FunctionName="context", Name="x", FunctionVersion="9")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        lam.update_function_configuration(FunctionName="context:1", MemorySize=128)
    assert "published versions are immutable" in str(e.value)
    with pytest.raises(ClientError) as e:
        lam.delete_function(FunctionName="context", Qualifier="2")  # (live points at it)
    assert e.value.response["Error"]["Code"] == "ResourceConflictException"
    lam.delete_function(FunctionName="context", Qualifier="1")
    listed = lam.list_versions_by_function(FunctionName="context")["Versions"]
    assert [v["Version"] for v in listed] == ["$LATEST", "2"]
    lam.delete_alias(FunctionName="context", Name="live")
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="context", Qualifier="live", Payload=b"{}")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
