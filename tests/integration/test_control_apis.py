"""The control-plane APIs served on the protocol layer (faaslab/awsapi/), called with the
unmodified clients: boto3 and the aws CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator

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
    assert err["Error"]["Message"] == "faaslab does not implement sts GetSessionToken", err
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
