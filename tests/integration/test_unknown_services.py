"""SDK calls for AWS services faaslab does not implement: the service's own error, no
retries, and never a run of the API-Gateway function whose route the request would match
(`aws dynamodb list-tables` is a `POST /`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from faaslab.cliutil import LOCAL_KEYS
from tests.conftest import FIXTURES, Faaslab, running_faaslab


@pytest.fixture(scope="module")
def fl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faaslab]:
    yield from running_faaslab(FIXTURES / "services.yaml", tmp_path_factory.mktemp("svc") / "state")


def runs(fl: Faaslab) -> int:
    records = fl.get("/_faaslab/logs/recorder")["records"]
    return sum(1 for rec in records if str(rec["m"]).startswith("INVOKED"))


def client(fl: Faaslab, service: str) -> Any:
    """A boto3 client with botocore's standard retries (up to 3 attempts)."""
    return boto3.client(
        service,
        endpoint_url=fl.url,
        region_name="us-east-1",
        config=Config(retries={"mode": "standard"}),
        **LOCAL_KEYS,
    )


def cli(fl: Faaslab, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": LOCAL_KEYS["aws_access_key_id"]}
    env["AWS_SECRET_ACCESS_KEY"] = LOCAL_KEYS["aws_secret_access_key"]
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    aws = str(Path(sys.executable).parent / "aws")
    return subprocess.run(
        [aws, "--endpoint-url", fl.url, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_signed_calls_for_missing_services_get_their_error_and_run_no_function(
    fl: Faaslab,
) -> None:
    # (STS is served: awsapi/, test_control_apis.py)
    # the aws CLI (its default retry mode): one attempt, the error printed plainly
    for args, code, message in [
        (("dynamodb", "list-tables"), "UnknownOperationException", "dynamodb API (ListTables)"),
        (("sqs", "list-queues"), "UnknownOperationException", "sqs API (ListQueues)"),
        (("sns", "list-topics"), "InvalidAction", "sns API (ListTopics)"),
    ]:
        done = cli(fl, *args)
        assert done.returncode != 0, done.stdout
        assert f"({code})" in done.stderr, done.stderr
        assert f"faaslab does not implement the {message}" in done.stderr, done.stderr
    # boto3, one per protocol: json, json, query, query, ec2, rest-json, rest-xml
    calls = [
        ("dynamodb", lambda c: c.list_tables(), "UnknownOperationException", "ListTables"),
        ("sqs", lambda c: c.list_queues(), "UnknownOperationException", "ListQueues"),
        ("iam", lambda c: c.list_users(), "InvalidAction", "ListUsers"),
        (
            "elasticache",
            lambda c: c.describe_cache_clusters(),
            "InvalidAction",
            "DescribeCacheClusters",
        ),
        ("ec2", lambda c: c.describe_regions(), "InvalidAction", "DescribeRegions"),
        ("eks", lambda c: c.list_clusters(), "UnknownOperationException", "ListClusters"),
        ("route53", lambda c: c.list_hosted_zones(), "InvalidAction", "ListHostedZones"),
    ]
    for service, call, code, operation in calls:
        with pytest.raises(ClientError) as e:
            call(client(fl, service))
        err = e.value.response
        assert err["Error"]["Code"] == code, err
        assert err["Error"]["Message"] == (
            f"faaslab does not implement the {service} API ({operation})"
        ), err
        assert err["ResponseMetadata"]["HTTPStatusCode"] == 400, err
        assert err["ResponseMetadata"]["RetryAttempts"] == 0, err
    # the same routes, unsigned, are API Gateway's: the function runs, once
    req = urllib.request.Request(fl.url + "/", data=b"{}", method="POST")
    with urllib.request.urlopen(req, timeout=60) as r:
        assert json.loads(r.read()) == {"ran": True}
    deadline = time.monotonic() + 30
    while runs(fl) < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert runs(fl) == 1
