"""The Secrets Manager API through real boto3, against `SecretsApi.handle` served by faaslab's
HTTP server on a loop in a background thread: every operation, every error code and message,
binary values, the ListSecrets paginator, and each response checked against botocore's model."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from faaslab.http.server import Request, serve
from faaslab.secrets.api import SecretsApi
from faaslab.secrets.errors import MARKED_FOR_DELETION, NOT_FOUND
from faaslab.secrets.store import SecretStore

REGION = "us-east-1"
DAY = 86400


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecretStore]:
    s = SecretStore(tmp_path_factory.mktemp("secrets") / "secrets.db", REGION)
    yield s
    s.close()


@pytest.fixture(scope="module")
def endpoint(store: SecretStore) -> Iterator[str]:
    """`SecretsApi(store).handle` on 127.0.0.1:<free port>, on its own loop and thread."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    port: list[int] = []
    connections: list[asyncio.BaseTransport] = []  # closed at the end (3.11's Server won't)

    def admit(transport: asyncio.BaseTransport) -> bool:
        connections.append(transport)
        return True

    def run() -> None:
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(
            serve(SecretsApi(store).handle, "127.0.0.1", 0, admit=admit)
        )
        port.append(server.sockets[0].getsockname()[1])
        ready.set()
        loop.run_forever()
        for transport in connections:
            transport.close()
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.run_until_complete(asyncio.sleep(0))  # (the transports' close callbacks)
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10), "the test server did not start"
    yield f"http://127.0.0.1:{port[0]}"
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    assert not thread.is_alive()


@pytest.fixture(scope="module")
def sm(endpoint: str) -> Iterator[Any]:
    client = boto3.client(
        "secretsmanager",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}),
    )
    yield client
    client.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def code_and_message(e: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def near_now(t: datetime, offset: float = 0.0) -> bool:
    return abs(t.timestamp() - (time.time() + offset)) < 30


# -- operations


def test_create_get_describe(sm: Any) -> None:
    name = unique("app/db")
    before = time.time()
    created = sm.create_secret(
        Name=name,
        SecretString='{"user":"u"}',
        Description="the db",
        Tags=[{"Key": "env", "Value": "test"}],
    )
    assert created["Name"] == name
    assert created["ARN"].startswith(f"arn:aws:secretsmanager:{REGION}:123456789012:secret:{name}-")
    assert (
        len(created["ARN"])
        == len(f"arn:aws:secretsmanager:{REGION}:123456789012:secret:") + len(name) + 7
    )
    version_id = created["VersionId"]  # boto3's generated ClientRequestToken
    assert len(version_id) == 36
    for address in (name, created["ARN"], created["ARN"][:-7]):
        got = sm.get_secret_value(SecretId=address)
        assert got["SecretString"] == '{"user":"u"}'
        assert (got["ARN"], got["Name"], got["VersionId"]) == (created["ARN"], name, version_id)
        assert got["VersionStages"] == ["AWSCURRENT"]
        assert near_now(got["CreatedDate"])
        assert "SecretBinary" not in got
    described = sm.describe_secret(SecretId=name)
    assert (described["ARN"], described["Name"], described["Description"]) == (
        created["ARN"],
        name,
        "the db",
    )
    assert described["Tags"] == [{"Key": "env", "Value": "test"}]
    assert described["VersionIdsToStages"] == {version_id: ["AWSCURRENT"]}
    assert near_now(described["CreatedDate"]) and near_now(described["LastChangedDate"])
    days = {datetime.fromtimestamp(t - t % DAY, UTC) for t in (before, time.time())}
    assert described["LastAccessedDate"] in days  # a day, as AWS reports it
    assert "DeletedDate" not in described and "RotationEnabled" not in described


def test_secret_binary_round_trip(sm: Any) -> None:
    name = unique("bin")
    data = bytes(range(256)) * 3
    sm.create_secret(Name=name, SecretBinary=data)
    got = sm.get_secret_value(SecretId=name)
    assert got["SecretBinary"] == data and "SecretString" not in got
    put = sm.put_secret_value(SecretId=name, SecretBinary=b"\x00\xff")
    assert sm.get_secret_value(SecretId=name)["SecretBinary"] == b"\x00\xff"
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretBinary"] == data
    assert put["VersionStages"] == ["AWSCURRENT"]


def test_put_secret_value_moves_labels(sm: Any) -> None:
    name = unique("rotating")
    v1 = sm.create_secret(Name=name, SecretString="one")["VersionId"]
    put = sm.put_secret_value(SecretId=name, SecretString="two")
    assert (put["Name"], put["VersionStages"]) == (name, ["AWSCURRENT"])
    v2 = put["VersionId"]
    assert sm.describe_secret(SecretId=name)["VersionIdsToStages"] == {
        v1: ["AWSPREVIOUS"],
        v2: ["AWSCURRENT"],
    }
    previous = sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
    assert (previous["SecretString"], previous["VersionId"]) == ("one", v1)
    assert sm.get_secret_value(SecretId=name, VersionId=v1)["VersionStages"] == ["AWSPREVIOUS"]
    pending = sm.put_secret_value(SecretId=name, SecretString="three", VersionStages=["AWSPENDING"])
    assert pending["VersionStages"] == ["AWSPENDING"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "two"


def test_client_request_token_idempotency(sm: Any) -> None:
    name = unique("idem")
    token = str(uuid.uuid4())
    first = sm.create_secret(Name=name, SecretString="v", ClientRequestToken=token)
    again = sm.create_secret(Name=name, SecretString="v", ClientRequestToken=token)
    assert (again["ARN"], again["VersionId"]) == (first["ARN"], token)
    with pytest.raises(ClientError) as e:
        sm.create_secret(Name=name, SecretString="other", ClientRequestToken=token)
    assert code_and_message(e) == (
        "ResourceExistsException",
        f"You can't use ClientRequestToken {token} because that value is already in use for a "
        f"version of secret {first['ARN']}.",
    )
    put_token = str(uuid.uuid4())
    put = sm.put_secret_value(SecretId=name, SecretString="w", ClientRequestToken=put_token)
    retry = sm.put_secret_value(SecretId=name, SecretString="w", ClientRequestToken=put_token)
    assert put["VersionId"] == retry["VersionId"] == put_token
    assert len(sm.describe_secret(SecretId=name)["VersionIdsToStages"]) == 2
    with pytest.raises(ClientError) as e:
        sm.put_secret_value(SecretId=name, SecretString="x", ClientRequestToken=put_token)
    assert code_and_message(e)[0] == "ResourceExistsException"


def test_update_secret(sm: Any) -> None:
    name = unique("upd")
    created = sm.create_secret(Name=name, SecretString="one")
    meta = sm.update_secret(SecretId=name, Description="described")
    assert (meta["ARN"], meta["Name"]) == (created["ARN"], name)
    assert "VersionId" not in meta
    assert sm.describe_secret(SecretId=name)["Description"] == "described"
    new = sm.update_secret(SecretId=created["ARN"], SecretString="two")
    got = sm.get_secret_value(SecretId=name)
    assert (got["SecretString"], got["VersionId"]) == ("two", new["VersionId"])
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"] == "one"


def test_delete_restore_and_force(sm: Any) -> None:
    name = unique("del")
    arn = sm.create_secret(Name=name, SecretString="v")["ARN"]
    deleted = sm.delete_secret(SecretId=name)
    assert (deleted["ARN"], deleted["Name"]) == (arn, name)
    assert near_now(deleted["DeletionDate"], 30 * DAY)
    with pytest.raises(ClientError) as e:
        sm.get_secret_value(SecretId=name)
    assert code_and_message(e) == ("InvalidRequestException", MARKED_FOR_DELETION)
    with pytest.raises(ClientError) as e:
        sm.create_secret(Name=name, SecretString="v")
    assert code_and_message(e) == (
        "InvalidRequestException",
        "You can't create this secret because a secret with this name is already scheduled for "
        "deletion.",
    )
    assert near_now(sm.describe_secret(SecretId=name)["DeletedDate"])
    listed = sm.list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]
    assert listed == []
    planned = sm.list_secrets(
        Filters=[{"Key": "name", "Values": [name]}], IncludePlannedDeletion=True
    )["SecretList"]
    assert [s["Name"] for s in planned] == [name] and near_now(planned[0]["DeletedDate"])
    restored = sm.restore_secret(SecretId=arn)
    assert (restored["ARN"], restored["Name"]) == (arn, name)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v"
    week = sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    assert near_now(week["DeletionDate"], 7 * DAY)
    forced = sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    assert (forced["ARN"], forced["Name"]) == (arn, name)
    assert near_now(forced["DeletionDate"])
    with pytest.raises(ClientError) as e:
        sm.describe_secret(SecretId=name)
    assert code_and_message(e) == ("ResourceNotFoundException", NOT_FOUND)


def test_list_secrets_paginator_and_filters(sm: Any) -> None:
    prefix = unique("page")
    names = [f"{prefix}/{i}" for i in range(5)]
    for name in names:
        sm.create_secret(Name=name, SecretString="v", Tags=[{"Key": "k", "Value": name}])
    sm.put_secret_value(SecretId=names[0], SecretString="w")
    paginator = sm.get_paginator("list_secrets")
    pages = list(
        paginator.paginate(
            Filters=[{"Key": "name", "Values": [prefix]}], PaginationConfig={"PageSize": 2}
        )
    )
    assert [len(p["SecretList"]) for p in pages] == [2, 2, 1]
    entries = [s for p in pages for s in p["SecretList"]]
    assert [s["Name"] for s in entries] == names
    assert sorted(entries[0]["SecretVersionsToStages"].values()) == [
        ["AWSCURRENT"],
        ["AWSPREVIOUS"],
    ]
    assert all(near_now(s["CreatedDate"]) and near_now(s["LastChangedDate"]) for s in entries)
    tagged = sm.list_secrets(Filters=[{"Key": "tag-value", "Values": [names[3]]}])["SecretList"]
    assert [s["Name"] for s in tagged] == [names[3]]
    built = paginator.paginate(
        Filters=[{"Key": "name", "Values": [prefix]}], PaginationConfig={"MaxItems": 3}
    ).build_full_result()
    assert [s["Name"] for s in built["SecretList"]] == names[:3] and "NextToken" in built
    with pytest.raises(ClientError) as e:
        sm.list_secrets(NextToken="not-a-token")
    assert code_and_message(e) == ("InvalidNextTokenException", "The NextToken value is invalid.")
    with pytest.raises(ClientError) as e:
        sm.list_secrets(MaxResults=101)
    assert code_and_message(e) == (
        "ValidationException",
        "1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: "
        "Member must have value less than or equal to 100",
    )
    with pytest.raises(ClientError) as e:
        sm.list_secrets(Filters=[{"Key": "colour", "Values": ["x"]}])
    assert code_and_message(e)[0] == "InvalidParameterException"


def test_get_random_password(sm: Any) -> None:
    default = sm.get_random_password()["RandomPassword"]
    assert len(default) == 32
    password = sm.get_random_password(
        PasswordLength=50, ExcludePunctuation=True, ExcludeCharacters="abcXYZ", IncludeSpace=False
    )["RandomPassword"]
    assert len(password) == 50 and password.isalnum() and not set(password) & set("abcXYZ")
    with pytest.raises(ClientError) as e:
        sm.get_random_password(PasswordLength=3)
    assert code_and_message(e) == (
        "InvalidParameterException",
        "Password length is too short based on the required types.",
    )
    assert (
        len(
            sm.get_random_password(PasswordLength=3, RequireEachIncludedType=False)[
                "RandomPassword"
            ]
        )
        == 3
    )
    with pytest.raises(ClientError) as e:
        sm.get_random_password(PasswordLength=4097)
    assert code_and_message(e)[0] == "ValidationException"


# -- errors


def test_not_found_everywhere(sm: Any) -> None:
    missing = unique("missing")
    calls = [
        lambda: sm.get_secret_value(SecretId=missing),
        lambda: sm.describe_secret(SecretId=missing),
        lambda: sm.put_secret_value(SecretId=missing, SecretString="v"),
        lambda: sm.update_secret(SecretId=missing, Description="d"),
        lambda: sm.delete_secret(SecretId=missing),
        lambda: sm.restore_secret(SecretId=missing),
    ]
    for call in calls:
        with pytest.raises(ClientError) as e:
            call()
        assert code_and_message(e) == ("ResourceNotFoundException", NOT_FOUND)
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert sm.delete_secret(SecretId=missing, ForceDeleteWithoutRecovery=True)["Name"] == missing


def test_create_errors(sm: Any) -> None:
    name = unique("exists")
    sm.create_secret(Name=name, SecretString="v")
    with pytest.raises(ClientError) as e:
        sm.create_secret(Name=name, SecretString="v")
    assert code_and_message(e) == (
        "ResourceExistsException",
        f"The operation failed because the secret {name} already exists.",
    )
    with pytest.raises(ClientError) as e:
        sm.create_secret(Name="bad name", SecretString="v")
    assert code_and_message(e) == (
        "InvalidParameterException",
        "Invalid name. Must be a valid name containing alphanumeric characters, or any of the "
        "following: -/_+=.@!",
    )
    with pytest.raises(ClientError) as e:
        sm.create_secret(Name=unique("both"), SecretString="v", SecretBinary=b"v")
    assert code_and_message(e) == (
        "InvalidParameterException",
        "You can't specify both a binary secret value and a string secret value in the same "
        "secret.",
    )
    with pytest.raises(ClientError) as e:
        sm.create_secret(Name=unique("replica"), AddReplicaRegions=[{"Region": "eu-west-1"}])
    assert code_and_message(e)[0] == "InvalidParameterException"


def test_value_errors(sm: Any) -> None:
    name = unique("vals")
    v1 = sm.create_secret(Name=name, SecretString="v")["VersionId"]
    with pytest.raises(ClientError) as e:
        sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
    assert code_and_message(e) == (
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret value for staging label: AWSPREVIOUS",
    )
    with pytest.raises(ClientError) as e:
        sm.get_secret_value(SecretId=name, VersionId=v1, VersionStage="AWSPENDING")
    assert code_and_message(e) == (
        "InvalidRequestException",
        "You provided a VersionStage that is not associated to the provided VersionId.",
    )
    with pytest.raises(ClientError) as e:
        sm.put_secret_value(SecretId=name)
    assert code_and_message(e) == (
        "InvalidRequestException",
        "You must provide either SecretString or SecretBinary.",
    )
    with pytest.raises(ClientError) as e:
        sm.put_secret_value(SecretId=name, SecretString="x" * 65537)
    assert code_and_message(e) == (
        "ValidationException",
        "1 validation error detected: Value *** at 'secretString' failed to satisfy constraint: "
        "Member must have length less than or equal to 65536",
    )


def test_delete_errors(sm: Any) -> None:
    name = unique("delerr")
    sm.create_secret(Name=name, SecretString="v")
    with pytest.raises(ClientError) as e:
        sm.delete_secret(SecretId=name, RecoveryWindowInDays=5)
    assert code_and_message(e) == (
        "InvalidParameterException",
        "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
    )
    with pytest.raises(ClientError) as e:
        sm.delete_secret(SecretId=name, RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True)
    assert code_and_message(e) == (
        "InvalidParameterException",
        "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
    )
    sm.delete_secret(SecretId=name)
    for call in (
        lambda: sm.delete_secret(SecretId=name),
        lambda: sm.put_secret_value(SecretId=name, SecretString="w"),
        lambda: sm.update_secret(SecretId=name, SecretString="w"),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert code_and_message(e) == ("InvalidRequestException", MARKED_FOR_DELETION)


# -- the wire itself


def raw(
    endpoint: str, target: str | None, body: bytes, method: str = "POST"
) -> tuple[int, dict[str, str], Any]:
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if target is not None:
        headers["X-Amz-Target"] = target
    req = urllib.request.Request(endpoint + "/", data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), json.loads(r.read())
    except urllib.error.HTTPError as e:
        with e:
            return e.code, dict(e.headers), json.loads(e.read())


def test_error_wire_format(endpoint: str) -> None:
    status, headers, body = raw(
        endpoint, "secretsmanager.DescribeSecret", json.dumps({"SecretId": unique("no")}).encode()
    )
    assert status == 400
    assert headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    assert headers["Content-Type"] == "application/x-amz-json-1.1"
    assert len(headers["x-amzn-RequestId"]) == 36
    assert body == {"__type": "ResourceNotFoundException", "Message": NOT_FOUND}


@pytest.mark.parametrize(
    ("target", "body", "code", "message"),
    [
        ("secretsmanager.RotateSecret", b"{}", "UnknownOperationException", "RotateSecret"),
        ("secretsmanager.ListSecrets", b"{not json", "SerializationException", "not JSON"),
        ("secretsmanager.ListSecrets", b"[]", "SerializationException", "JSON object"),
        (
            "secretsmanager.GetSecretValue",
            b'{"SecretId": 5}',
            "SerializationException",
            "SecretId must be a string.",
        ),
        (
            "secretsmanager.DeleteSecret",
            b'{"SecretId": "x", "ForceDeleteWithoutRecovery": "yes"}',
            "SerializationException",
            "ForceDeleteWithoutRecovery must be a boolean.",
        ),
        (
            "secretsmanager.CreateSecret",
            b'{"Name": "x", "SecretBinary": "***"}',
            "SerializationException",
            "SecretBinary must be base64-encoded binary data.",
        ),
        (
            "secretsmanager.GetSecretValue",
            b"{}",
            "ValidationException",
            "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: "
            "Member must not be null",
        ),
        (
            "secretsmanager.CreateSecret",
            b'{"Name": "x", "ClientRequestToken": "short"}',
            "ValidationException",
            "Value 'short' at 'clientRequestToken' failed to satisfy constraint: Member must have "
            "length greater than or equal to 32",
        ),
        (
            "secretsmanager.PutSecretValue",
            b'{"SecretId": "x", "SecretString": "v", "VersionStages": []}',
            "ValidationException",
            "at 'versionStages'",
        ),
    ],
)
def test_request_errors(endpoint: str, target: str, body: bytes, code: str, message: str) -> None:
    status, headers, answer = raw(endpoint, target, body)
    assert (status, headers["x-amzn-ErrorType"], answer["__type"]) == (400, code, code)
    assert message in answer["Message"]


def test_claims() -> None:
    assert SecretsApi.claims({"x-amz-target": "secretsmanager.ListSecrets"})
    assert not SecretsApi.claims({"x-amz-target": "DynamoDB_20120810.ListTables"})
    assert not SecretsApi.claims({})


def test_non_post_is_refused(store: SecretStore) -> None:
    headers = {"x-amz-target": "secretsmanager.ListSecrets"}
    resp = SecretsApi(store).handle(Request("GET", "/", "", headers, b""))
    assert resp.status == 400 and resp.headers["x-amzn-ErrorType"] == "UnknownOperationException"


def test_internal_errors_are_aws_shaped(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "secrets.db", REGION)
    store.close()  # every call now fails inside SQLite
    headers = {"x-amz-target": "secretsmanager.ListSecrets"}
    resp = SecretsApi(store).handle(Request("POST", "/", "", headers, b"{}"))
    body = json.loads(bytes(resp.body))
    assert (resp.status, resp.headers["x-amzn-ErrorType"], body["__type"]) == (
        500,
        "InternalServiceError",
        "InternalServiceError",
    )
    assert body["Message"].startswith("ProgrammingError: ")


# -- every response against botocore's model


def _members_unknown(shape: Any, value: Any, where: str) -> list[str]:
    """Keys in `value` that `shape` has no member for (boto3 drops those silently)."""
    if shape.type_name == "structure":
        bad = [f"{where}.{k}" for k in value if k not in shape.members]
        for k, v in value.items():
            if k in shape.members:
                bad += _members_unknown(shape.members[k], v, f"{where}.{k}")
        return bad
    if shape.type_name == "list":
        return [
            b
            for i, v in enumerate(value)
            for b in _members_unknown(shape.member, v, f"{where}[{i}]")
        ]
    if shape.type_name == "map":
        return [
            b for k, v in value.items() for b in _members_unknown(shape.value, v, f"{where}[{k}]")
        ]
    return []


def test_responses_use_only_model_members(tmp_path: Path) -> None:
    model = botocore.session.get_session().get_service_model("secretsmanager")
    store = SecretStore(tmp_path / "secrets.db", REGION)
    api = SecretsApi(store)

    def call(operation: str, **body: Any) -> dict[str, Any]:
        req = Request(
            "POST",
            "/",
            "",
            {"x-amz-target": f"secretsmanager.{operation}"},
            json.dumps(body).encode(),
        )
        resp = api.handle(req)
        assert resp.status == 200, bytes(resp.body)
        answer: dict[str, Any] = json.loads(bytes(resp.body))
        output = model.operation_model(operation).output_shape
        assert _members_unknown(output, answer, operation) == []
        return answer

    try:
        created = call(
            "CreateSecret",
            Name="m",
            SecretString="v",
            Description="d",
            KmsKeyId="alias/k",
            Tags=[{"Key": "a", "Value": "b"}],
        )
        assert set(created) == {"ARN", "Name", "VersionId"}
        call("CreateSecret", Name="bin", SecretBinary=base64.b64encode(b"x").decode())
        got = call("GetSecretValue", SecretId="m")
        assert set(got) == {
            "ARN",
            "Name",
            "VersionId",
            "SecretString",
            "VersionStages",
            "CreatedDate",
        }
        assert "SecretBinary" in call("GetSecretValue", SecretId="bin")
        assert set(call("PutSecretValue", SecretId="m", SecretString="w")) == {
            "ARN",
            "Name",
            "VersionId",
            "VersionStages",
        }
        assert set(call("UpdateSecret", SecretId="m", SecretString="x")) == {
            "ARN",
            "Name",
            "VersionId",
        }
        described = call("DescribeSecret", SecretId="m")
        assert {"KmsKeyId", "Tags", "VersionIdsToStages", "LastAccessedDate"} <= set(described)
        listed = call("ListSecrets", MaxResults=1)
        assert set(listed) == {"SecretList", "NextToken"}
        assert "SecretVersionsToStages" in listed["SecretList"][0]
        assert set(call("DeleteSecret", SecretId="m")) == {"ARN", "Name", "DeletionDate"}
        assert "DeletedDate" in call("ListSecrets", IncludePlannedDeletion=True)["SecretList"][0]
        assert set(call("RestoreSecret", SecretId="m")) == {"ARN", "Name"}
        assert set(call("GetRandomPassword")) == {"RandomPassword"}
    finally:
        store.close()
