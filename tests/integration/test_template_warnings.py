"""`faaslab up` names every template property it does not emulate, once, grouped per
resource, and serves them as data; it refuses invalid values in CloudFormation's words."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, invoke, start_faaslab

TEMPLATE = f"""\
Transform: AWS::Serverless-2016-10-31
Resources:
  Probe:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: probe
      Runtime: python3.11
      Handler: probe.handler
      CodeUri: {FIXTURES / "fns"}
      Tracing: Active
      DeadLetterQueue: {{Type: SQS, TargetArn: arn:aws:sqs:us-east-1:123456789012:dlq}}
      AutoPublishAlias: live
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      AccelerateConfiguration: {{AccelerationStatus: Enabled}}
"""


def _wait_for_banner(log: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text()
        if "ready:" in text:
            return text
        time.sleep(0.05)
    raise AssertionError(f"no banner within {timeout} s:\n{log.read_text()}")


def test_up_names_tracing_and_dead_letter_queue_once(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE)
    fl = start_faaslab(template, tmp_path / "state")
    try:
        banner = _wait_for_banner(fl.log_path)
        lines = banner.splitlines()
        head = lines.index(
            "warning: the template asks for things faaslab does not emulate "
            "(accepted, not applied):"
        )
        block = lines[head : head + 6]
        assert block[1] == "  Probe (AWS::Serverless::Function):"
        assert block[2].startswith("    Tracing: X-Ray tracing is not emulated")
        assert block[3].startswith("    DeadLetterQueue: no dead-letter queue")
        assert block[4] == "  Bucket (AWS::S3::Bucket):"
        assert block[5].startswith("    AccelerateConfiguration: no transfer acceleration")
        assert banner.count("Tracing:") == 1 and banner.count("DeadLetterQueue:") == 1
        assert "AutoPublishAlias" not in banner  # (implemented: version 1, alias `live`)

        served = fl.get("/_faaslab/functions")["template_warnings"]
        assert [(w["resource"], w["property"]) for w in served] == [
            ("Probe", "Tracing"),
            ("Probe", "DeadLetterQueue"),
            ("Bucket", "AccelerateConfiguration"),
        ]
        response, _ = invoke(fl.client(), "probe", {})  # the function runs regardless
        assert response["StatusCode"] == 200 and "FunctionError" not in response
        response, _ = invoke(fl.client(), "probe", {}, Qualifier="live")
        assert response["ResponseMetadata"]["HTTPHeaders"]["x-amz-executed-version"] == "1"
    finally:
        assert fl.stop() == 0


def test_up_refuses_two_architectures_in_cloudformation_s_words(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        TEMPLATE.replace("      Tracing: Active\n", "      Architectures: [x86_64, arm64]\n")
    )
    with pytest.raises(RuntimeError) as err:
        start_faaslab(template, tmp_path / "state")
    assert (
        "Resources.Probe.Properties.Architectures: Properties validation failed for resource "
        "Probe with message: #/Architectures: expected maximum item count: 1, found: 2"
    ) in str(err.value)
