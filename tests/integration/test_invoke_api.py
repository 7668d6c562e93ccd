"""The Invoke API's contract with the unmodified clients: boto3, the aws CLI, curl-like HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import FIXTURES, LOCAL_KEYS, Faaslab, free_port, invoke


def test_unknown_function_is_resource_not_found(lam: Any) -> None:
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as e:
        invoke(lam, "nope")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope" in str(e.value)


def test_malformed_json_is_invalid_request_content(lam: Any) -> None:
    with pytest.raises(lam.exceptions.InvalidRequestContentException) as e:
        lam.invoke(FunctionName="probe", Payload=b"{not json")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Could not parse request body into json" in str(e.value)


@pytest.mark.parametrize("size", [6 * 1024 * 1024 + 10, 9 * 1024 * 1024])
def test_oversized_payload_is_request_entity_too_large(lam: Any, size: int) -> None:
    """AWS's answer, for a body the edge buffers (under its 8 MiB) and one it refuses at the
    headers (9 MB: before, the connection was reset under boto3)."""
    big = json.dumps({"x": "a" * size})
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="probe", Payload=big)
    assert e.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert e.value.response["Error"]["Message"] == (
        "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    )
    small_enough = json.dumps({"x": "a" * (1024 * 1024)})
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="probe", Payload=small_enough, InvocationType="Event")
    assert e.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert "byte payload is too large for the Event invocation type" in str(e.value)
    r, _ = invoke(lam, "probe")  # the edge still serves
    assert r["StatusCode"] == 200


def test_invoke_by_arn_and_qualifier(lam: Any) -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:probe"
    r, out = invoke(lam, arn)
    assert out["context"]["function_name"] == "probe"
    r, out = invoke(lam, "probe", Qualifier="$LATEST")
    assert r["StatusCode"] == 200
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        invoke(lam, "probe", Qualifier="7")


def test_dry_run_and_event(faaslab: Faaslab, lam: Any) -> None:
    r = lam.invoke(FunctionName="probe", InvocationType="DryRun")
    assert r["StatusCode"] == 204
    marker = f"event-{time.time_ns()}"
    r = lam.invoke(
        FunctionName="probe",
        InvocationType="Event",
        Payload=json.dumps({"action": "print", "text": marker}),
    )
    assert r["StatusCode"] == 202
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        records = faaslab.get("/_faaslab/logs/probe")["records"]
        if any(rec["m"] == marker for rec in records):
            break
        time.sleep(0.1)
    else:
        pytest.fail("the Event invocation never ran")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="nope", InvocationType="Event", Payload=b"{}")


def aws_lambda_invoke(
    faaslab: Faaslab, out: Path, *args: str, keys: tuple[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`aws lambda invoke` (the real CLI) against faaslab, with the local keys by default."""
    key, secret = keys or (LOCAL_KEYS["aws_access_key_id"], LOCAL_KEYS["aws_secret_access_key"])
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    aws = str(Path(sys.executable).parent / "aws")
    return subprocess.run(
        [
            aws,
            "lambda",
            "invoke",
            "--endpoint-url",
            faaslab.url,
            "--function-name",
            "probe",
            *args,
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_aws_cli_invoke(faaslab: Faaslab, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    cp = aws_lambda_invoke(faaslab, out, "--payload", '{"from": "aws-cli"}', "--log-type", "Tail")
    assert cp.returncode == 0, cp.stderr
    meta = json.loads(cp.stdout)
    assert meta["StatusCode"] == 200 and meta["ExecutedVersion"] == "$LATEST" and meta["LogResult"]
    assert json.loads(out.read_text())["event"] == {"from": "aws-cli"}


def _http(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_http_api_route_payload_v2(faaslab: Faaslab) -> None:
    status, out = _http(faaslab.url + "/probe/fred?x=1")
    assert status == 200
    event = out["event"]
    assert event["version"] == "2.0"
    assert event["pathParameters"] == {"name": "fred"}
    assert event["queryStringParameters"] == {"x": "1"}
    assert event["requestContext"]["http"]["method"] == "GET"


def test_rest_api_route_needs_proxy_response(faaslab: Faaslab) -> None:
    # The probe returns plain JSON; a REST API proxy integration answers 502 for that, as on AWS.
    status, out = _http(faaslab.url + "/rest/a/b", "POST", b'{"k": 1}')
    assert status == 502 and out == {"message": "Internal server error"}
    status, _ = _http(faaslab.url + "/no/such/route")
    assert status == 404


def test_broken_template_is_refused_with_its_location(tmp_path: Path) -> None:
    bad = tmp_path / "template.yaml"
    (tmp_path / "fns").symlink_to(FIXTURES / "fns")
    bad.write_text(
        (FIXTURES / "template.yaml").read_text().replace("MemorySize: 128", "MemorySize: lots")
    )
    cp = subprocess.run(
        [sys.executable, "-m", "faaslab.cli", "up", str(bad), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cp.returncode != 0
    assert "template.yaml" in cp.stderr and "Faults" in cp.stderr and "MemorySize" in cp.stderr


def test_cli_invoke_ps_logs(faaslab: Faaslab) -> None:
    env = {**os.environ, "FAASLAB_ENDPOINT": faaslab.url}
    cli = [sys.executable, "-m", "faaslab.cli"]
    cp = subprocess.run(
        [
            *cli,
            "invoke",
            "probe",
            "--payload",
            '{"action": "print", "text": "via-cli"}',
            "--parallel",
            "2",
            "--repeat",
            "2",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert cp.returncode == 0, cp.stderr
    assert cp.stderr.count("status 200") == 4
    cp = subprocess.run([*cli, "ps"], capture_output=True, text=True, env=env, timeout=30)
    assert cp.returncode == 0 and "probe" in cp.stdout and "FUNCTION" in cp.stdout
    cp = subprocess.run(
        [*cli, "logs", "probe"], capture_output=True, text=True, env=env, timeout=30
    )
    assert cp.returncode == 0 and "via-cli" in cp.stdout and "REPORT RequestId:" in cp.stdout
    cp = subprocess.run([*cli, "logs", "nope"], capture_output=True, text=True, env=env, timeout=30)
    assert cp.returncode != 0 and "Function not found" in cp.stderr


def test_credentials_are_checked(faaslab: Faaslab, tmp_path: Path) -> None:
    import boto3

    wrong_secret: Any = boto3.client(
        "lambda",
        endpoint_url=faaslab.url,
        region_name="us-east-1",
        aws_access_key_id=LOCAL_KEYS["aws_access_key_id"],
        aws_secret_access_key="wrong",
    )
    with pytest.raises(wrong_secret.exceptions.ClientError) as e:
        wrong_secret.invoke(FunctionName="probe", Payload=b"{}")
    assert e.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # The aws CLI with LocalStack's test/test keys: accepted (--strict-credentials refuses)
    cp = aws_lambda_invoke(faaslab, tmp_path / "out.json", keys=("test", "test"))
    assert cp.returncode == 0, cp.stderr
    status, body = _http(faaslab.url + "/2015-03-31/functions/probe/invocations", "POST", b"{}")
    assert status == 403 and body == {"message": "Missing Authentication Token"}


def test_curl_reaches_the_http_api_route(faaslab: Faaslab) -> None:
    import shutil

    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    cp = subprocess.run(
        [curl, "-s", "-w", "\\n%{http_code}", faaslab.url + "/probe/curl?q=1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    body, _, code = cp.stdout.rpartition("\n")
    assert code == "200"
    assert json.loads(body)["event"]["pathParameters"] == {"name": "curl"}


def test_logs_follow(faaslab: Faaslab, lam: Any) -> None:
    env = {**os.environ, "FAASLAB_ENDPOINT": faaslab.url}
    follower = subprocess.Popen(
        [sys.executable, "-m", "faaslab.cli", "logs", "probe", "-f"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        time.sleep(1.0)  # it has printed the history and is following
        marker = f"followed-{time.time_ns()}"
        invoke(lam, "probe", {"action": "print", "text": marker})
        assert follower.stdout is not None
        deadline = time.monotonic() + 10
        seen = False
        while time.monotonic() < deadline and not seen:
            line = follower.stdout.readline()
            seen = marker in line
        assert seen
    finally:
        follower.terminate()
        follower.wait(10)
        if follower.stdout is not None:
            follower.stdout.close()
