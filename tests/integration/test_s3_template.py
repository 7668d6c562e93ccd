"""A template's AWS::S3::Bucket properties are applied at `up` through S3's own API (as
CloudFormation applies them), read back with boto3; one S3 refuses stops `up` with S3's
words and the property's path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import start_faaslab

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Versioned:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: tpl-versioned
      VersioningConfiguration: {Status: Enabled}
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault: {SSEAlgorithm: AES256}
  Locked:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: tpl-locked
      ObjectLockEnabled: true
      VersioningConfiguration: {Status: Enabled}
      ObjectLockConfiguration:
        ObjectLockEnabled: Enabled
        Rule: {DefaultRetention: {Mode: GOVERNANCE, Days: 1}}
"""


def test_bucket_properties_are_applied_and_kept_across_restarts(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE)
    for _ in range(2):  # the second `up` finds the buckets made and applies them again
        fl = start_faaslab(template, tmp_path / "state")
        try:
            s3 = fl.aws("s3")
            assert s3.get_bucket_versioning(Bucket="tpl-versioned")["Status"] == "Enabled"
            put = s3.put_object(Bucket="tpl-versioned", Key="k", Body=b"1")
            assert put["VersionId"] != "null"
            assert put["ServerSideEncryption"] == "AES256"  # the bucket's default encryption
            lock = s3.get_object_lock_configuration(Bucket="tpl-locked")
            assert lock["ObjectLockConfiguration"] == {
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
            }
            banner = fl.log_path.read_text()
            assert "VersioningConfiguration" not in banner and "ObjectLock" not in banner
        finally:
            assert fl.stop() == 0


def test_a_property_s3_refuses_stops_up_with_s3_s_words(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE.replace("{Status: Enabled}", "{Status: Sometimes}", 1))
    with pytest.raises(RuntimeError) as err:
        start_faaslab(template, tmp_path / "state")
    text = str(err.value)
    where = "Resources.Versioned.Properties.VersioningConfiguration: "
    assert where + "IllegalVersioningConfigurationException" in text, text
