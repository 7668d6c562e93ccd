"""The control-plane APIs served on the protocol layer (faaslab/awsapi/), called with the
unmodified clients: boto3 and the aws CLI."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

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
    assert names == ["recorder"]
    page = lam.list_functions(MaxItems=1)
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
    assert settings["AccountUsage"]["FunctionCount"] == 1
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 1000
    with pytest.raises(ClientError) as e:
        lam.get_function(FunctionName="nope")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    done = cli(fl, "lambda", "list-functions")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Functions"][0]["FunctionName"] == "recorder"
    done = cli(fl, "lambda", "list-layers")
    assert done.returncode != 0
    assert "(UnknownOperationException)" in done.stderr, done.stderr
    assert "faaslab does not implement lambda ListLayers (it serves " in done.stderr


def test_cloudwatch_logs_read_the_functions_logs(fl: Faaslab) -> None:
    lam = client(fl, "lambda")
    marker = f"logs-api-{os.urandom(4).hex()}"
    for path in (marker, "other"):
        lam.invoke(FunctionName="recorder", Payload=json.dumps({"rawPath": path}).encode())
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
    log = fl.state_dir / "requests.log"
    deadline = time.monotonic() + 30
    text = ""
    while time.monotonic() < deadline:
        text = log.read_text() if log.exists() else ""
        if "lambda.GetFunction => 404" in text:
            break
        time.sleep(0.1)
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
