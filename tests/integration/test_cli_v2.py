"""The everyday control-plane commands through the aws CLI v2 (Debian's `awscli`, 2.x,
at /usr/bin/aws; the venv's `aws` is v1): both CLIs must work against faaslab. v2 speaks
CloudWatch's query protocol where boto3 speaks CBOR, and its `logs tail` is its own
command (FilterLogEvents, polled with --follow)."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, Faaslab, running_faaslab

AWS_V2 = Path("/usr/bin/aws")


@pytest.fixture(scope="module")
def fl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faaslab]:
    yield from running_faaslab(FIXTURES / "services.yaml", tmp_path_factory.mktemp("v2") / "s")


def v2_env() -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_PAGER": "",
    }


def aws2(fl: Faaslab, *args: str) -> str:
    done = subprocess.run(
        [str(AWS_V2), "--endpoint-url", fl.url, *args],
        env=v2_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def invoke_recorder(fl: Faaslab, event: dict[str, str], out: str) -> None:
    aws2(
        fl,
        "lambda",
        "invoke",
        "--function-name",
        "recorder",
        "--payload",
        json.dumps(event),
        "--cli-binary-format",
        "raw-in-base64-out",
        out,
    )


def test_the_cli_is_v2() -> None:
    out = subprocess.run([str(AWS_V2), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("aws-cli/2."), out.stdout  # (make install installs awscli)


def test_everyday_commands(fl: Faaslab, tmp_path: Path) -> None:
    assert json.loads(aws2(fl, "sts", "get-caller-identity"))["Account"] == "123456789012"
    names = json.loads(aws2(fl, "lambda", "list-functions"))["Functions"]
    assert [f["FunctionName"] for f in names] == ["context", "recorder"]
    out = tmp_path / "out.json"
    invoke_recorder(fl, {"path": "/v2"}, str(out))
    assert json.loads(out.read_text())["statusCode"] == 200
    conf = json.loads(
        aws2(
            fl,
            "lambda",
            "update-function-configuration",
            "--function-name",
            "context",
            "--memory-size",
            "256",
        )
    )
    assert conf["MemorySize"] == 256
    metrics = json.loads(aws2(fl, "cloudwatch", "list-metrics", "--namespace", "AWS/Lambda"))
    assert any(m["MetricName"] == "Invocations" for m in metrics["Metrics"])
    assert json.loads(aws2(fl, "rds", "describe-db-clusters"))["DBClusters"] == []
    tail = aws2(fl, "logs", "tail", "/aws/lambda/recorder", "--since", "1h")
    assert "INVOKED /v2" in tail, tail


def test_logs_tail_follow_shows_a_new_invocation(fl: Faaslab) -> None:
    follow = subprocess.Popen(
        [
            str(AWS_V2),
            "--endpoint-url",
            fl.url,
            "logs",
            "tail",
            "/aws/lambda/recorder",
            "--follow",
            "--since",
            "1s",
        ],
        env=v2_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    assert follow.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(follow.stdout or []), daemon=True)
    reader.start()
    try:
        marker = f"/follow-{os.urandom(3).hex()}"
        deadline = time.monotonic() + 90
        while not any(marker in line for line in list(lines)):
            assert time.monotonic() < deadline, lines
            invoke_recorder(fl, {"path": marker}, "/dev/null")
            time.sleep(1)  # (the CLI polls every few seconds: give it time, then look)
    finally:
        follow.terminate()
        follow.wait(30)
        reader.join(30)
        for pipe in (follow.stdout, follow.stderr):
            if pipe is not None:
                pipe.close()
