"""The secret store and its helpers: versions and labels, idempotency, deletion, listing,
persistence and file modes; passwords, GenerateSecretString, dynamic references, and the
secrets templates create (AWS::SecretsManager::Secret, RDS-managed master passwords)."""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import stat
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from faaslab.secrets.errors import MARKED_FOR_DELETION, NOT_FOUND, SecretsError
from faaslab.secrets.password import (
    ALL_EXCLUDED,
    PUNCTUATION,
    TOO_SHORT,
    generate_password,
    secret_string_from_template_properties,
)
from faaslab.secrets.references import (
    DynamicReference,
    find_dynamic_references,
    parse_dynamic_reference,
    resolve_dynamic_references,
)
from faaslab.secrets.store import (
    RDS_PASSWORD_LENGTH,
    SecretStore,
    delete_rds_cluster_secret,
    deploy_template_secret,
    ensure_rds_cluster_secret,
)

REGION = "eu-west-1"
T0 = 1_700_000_000.5
DAY = 86400.0
TOKEN_A = "a" * 32
TOKEN_B = "b" * 36


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[SecretStore]:
    s = SecretStore(tmp_path / "secrets.db", REGION, clock=clock)
    yield s
    s.close()


def error(exc: pytest.ExceptionInfo[SecretsError]) -> tuple[str, str]:
    return exc.value.code, exc.value.message


# -- addressing


def test_arn_has_the_aws_form_and_every_address_finds_the_secret(store: SecretStore) -> None:
    secret, version_id = store.create("prod/db", "s3cret")
    assert re.fullmatch(
        r"arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-[A-Za-z0-9]{6}", secret.arn
    )
    assert version_id is not None and len(version_id) == 36
    partial = secret.arn[:-7]
    for address in ("prod/db", secret.arn, partial):
        value = store.get_value(address)
        assert (value.secret_string, value.version_id, value.arn) == (
            "s3cret",
            version_id,
            secret.arn,
        )
    other_region = secret.arn.replace("eu-west-1", "us-east-1")
    for missing in ("prod/db-abcdef", secret.arn[:-1] + "?", other_region, "prod", "prod/db/"):
        with pytest.raises(SecretsError) as e:
            store.get_value(missing)
        assert error(e) == ("ResourceNotFoundException", NOT_FOUND)


def test_names_are_checked(store: SecretStore) -> None:
    for bad in ("", "has space", "colon:name", "x" * 513, "é"):
        with pytest.raises(SecretsError) as e:
            store.create(bad, "v")
        assert e.value.code == "InvalidParameterException"
        assert "Invalid name" in e.value.message
    assert store.create("a/b_c+d=e.f@g!h-i", "v")[0].name == "a/b_c+d=e.f@g!h-i"


# -- versions and labels


def test_put_moves_awscurrent_and_keeps_awsprevious(store: SecretStore, clock: Clock) -> None:
    _, v1 = store.create("db", "one")
    clock.now += 10
    v2 = store.put_value("db", "two")
    assert (v2.stages, v2.secret_string, v2.created) == (["AWSCURRENT"], "two", T0 + 10)
    assert store.describe("db").versions == {v1: ["AWSPREVIOUS"], v2.version_id: ["AWSCURRENT"]}
    v3 = store.put_value("db", "three")
    assert store.describe("db").versions == {
        v2.version_id: ["AWSPREVIOUS"],
        v3.version_id: ["AWSCURRENT"],
    }
    assert store.get_value("db").secret_string == "three"
    assert store.get_value("db", version_stage="AWSPREVIOUS").secret_string == "two"
    old = store.get_value("db", version_id=v1)  # unlabelled, still readable
    assert (old.secret_string, old.stages) == ("one", [])
    assert store.describe("db").last_changed == T0 + 10


def test_put_with_other_stages_leaves_awscurrent(store: SecretStore) -> None:
    _, v1 = store.create("db", "one")
    pending = store.put_value("db", "two", version_stages=["AWSPENDING"])
    assert pending.stages == ["AWSPENDING"]
    assert store.get_value("db").version_id == v1
    assert store.get_value("db", version_stage="AWSPENDING").secret_string == "two"
    both = store.put_value("db", "three", version_stages=["AWSPENDING", "AWSCURRENT"])
    assert both.stages == ["AWSCURRENT", "AWSPENDING"]
    assert store.describe("db").versions == {v1: ["AWSPREVIOUS"], both.version_id: both.stages}


def test_first_version_of_an_empty_secret_is_awscurrent(store: SecretStore) -> None:
    secret, version_id = store.create("empty")
    assert version_id is None and secret.versions == {}
    with pytest.raises(SecretsError) as e:
        store.get_value("empty")
    assert error(e) == (
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
    )
    first = store.put_value("empty", "v", version_stages=["AWSPENDING"])
    assert first.stages == ["AWSCURRENT", "AWSPENDING"]


def test_get_value_errors(store: SecretStore) -> None:
    _, v1 = store.create("db", "one")
    assert v1 is not None
    with pytest.raises(SecretsError) as e:
        store.get_value("db", version_stage="AWSPREVIOUS")
    assert error(e) == (
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret value for staging label: AWSPREVIOUS",
    )
    with pytest.raises(SecretsError) as e:
        store.get_value("db", version_id="f" * 36)
    assert error(e) == (
        "ResourceNotFoundException",
        f"Secrets Manager can't find the specified secret value for VersionId: {'f' * 36}",
    )
    with pytest.raises(SecretsError) as e:
        store.get_value("db", version_id=v1, version_stage="AWSPENDING")
    assert error(e) == (
        "InvalidRequestException",
        "You provided a VersionStage that is not associated to the provided VersionId.",
    )
    assert store.get_value("db", version_id=v1, version_stage="AWSCURRENT").secret_string == "one"


def test_values_are_one_of_string_or_binary(store: SecretStore) -> None:
    with pytest.raises(SecretsError) as e:
        store.create("both", "s", b"b")
    assert error(e) == (
        "InvalidParameterException",
        "You can't specify both a binary secret value and a string secret value in the same "
        "secret.",
    )
    store.create("bin", secret_binary=bytes(range(256)))
    value = store.get_value("bin")
    assert (value.secret_binary, value.secret_string) == (bytes(range(256)), None)
    with pytest.raises(SecretsError) as e:
        store.put_value("bin")
    assert error(e) == (
        "InvalidRequestException",
        "You must provide either SecretString or SecretBinary.",
    )
    with pytest.raises(SecretsError) as e:
        store.put_value("bin", "x" * 65537)
    assert e.value.code == "InvalidParameterException"


def test_last_accessed_is_the_day_of_the_last_read(store: SecretStore, clock: Clock) -> None:
    store.create("db", "v")
    assert store.describe("db").last_accessed is None
    store.get_value("db")
    assert store.describe("db").last_accessed == T0 - T0 % DAY
    clock.now += 2 * DAY
    store.get_value("db")
    assert store.describe("db").last_accessed == (T0 + 2 * DAY) - (T0 + 2 * DAY) % DAY


# -- idempotency


def test_create_with_the_same_token_and_value_is_a_retry(store: SecretStore) -> None:
    first, v1 = store.create("db", "one", client_request_token=TOKEN_A)
    again, v2 = store.create("db", "one", client_request_token=TOKEN_A)
    assert (again.arn, v1, v2) == (first.arn, TOKEN_A, TOKEN_A)
    with pytest.raises(SecretsError) as e:
        store.create("db", "changed", client_request_token=TOKEN_A)
    assert error(e) == (
        "ResourceExistsException",
        f"You can't use ClientRequestToken {TOKEN_A} because that value is already in use for a "
        f"version of secret {first.arn}.",
    )
    for token in (TOKEN_B, None):
        with pytest.raises(SecretsError) as e:
            store.create("db", "one", client_request_token=token)
        assert error(e) == (
            "ResourceExistsException",
            "The operation failed because the secret db already exists.",
        )


def test_put_with_the_same_token_and_value_does_nothing(store: SecretStore) -> None:
    _, v1 = store.create("db", "one")
    put = store.put_value("db", "two", client_request_token=TOKEN_B)
    assert put.version_id == TOKEN_B
    retry = store.put_value("db", "two", client_request_token=TOKEN_B)
    assert (retry.version_id, retry.stages) == (TOKEN_B, ["AWSCURRENT"])
    assert store.describe("db").versions == {v1: ["AWSPREVIOUS"], TOKEN_B: ["AWSCURRENT"]}
    with pytest.raises(SecretsError) as e:
        store.put_value("db", "three", client_request_token=TOKEN_B)
    assert e.value.code == "ResourceExistsException"
    assert f"You can't use ClientRequestToken {TOKEN_B}" in e.value.message
    with pytest.raises(SecretsError) as e:
        store.put_value("db", secret_binary=b"two", client_request_token=TOKEN_B)
    assert e.value.code == "ResourceExistsException"


# -- deletion


def test_delete_with_a_recovery_window(store: SecretStore, clock: Clock) -> None:
    secret, _ = store.create("db", "v")
    clock.now += 5
    arn, name, deletion = store.delete("db")
    assert (arn, name, deletion) == (secret.arn, "db", T0 + 5 + 30 * DAY)
    described = store.describe(secret.arn)  # still described
    assert (described.deleted_date, described.deletion_date) == (T0 + 5, T0 + 5 + 30 * DAY)
    for call in (
        lambda: store.get_value("db"),
        lambda: store.put_value("db", "w"),
        lambda: store.update("db", description="d"),
        lambda: store.delete("db"),
    ):
        with pytest.raises(SecretsError) as e:
            call()
        assert error(e) == ("InvalidRequestException", MARKED_FOR_DELETION)
    with pytest.raises(SecretsError) as e:
        store.create("db", "again")
    assert error(e) == (
        "InvalidRequestException",
        "You can't create this secret because a secret with this name is already scheduled for "
        "deletion.",
    )
    assert [s.name for s in store.list_secrets()[0]] == []
    assert [s.name for s in store.list_secrets(include_planned_deletion=True)[0]] == ["db"]
    clock.now += 30 * DAY - 1
    assert store.describe("db").name == "db"
    clock.now += 1  # the window is over: gone for good
    with pytest.raises(SecretsError) as e:
        store.describe("db")
    assert error(e) == ("ResourceNotFoundException", NOT_FOUND)
    assert store.create("db", "new")[0].arn != secret.arn


def test_delete_window_bounds_and_conflicts(store: SecretStore, clock: Clock) -> None:
    store.create("db", "v")
    for days in (6, 31, 0, -1):
        with pytest.raises(SecretsError) as e:
            store.delete("db", recovery_window_in_days=days)
        assert error(e) == (
            "InvalidParameterException",
            "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
        )
    with pytest.raises(SecretsError) as e:
        store.delete("db", recovery_window_in_days=7, force_delete_without_recovery=True)
    assert error(e) == (
        "InvalidParameterException",
        "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
    )
    assert store.delete("db", recovery_window_in_days=7)[2] == T0 + 7 * DAY
    with pytest.raises(SecretsError) as e:
        store.delete("missing")
    assert error(e) == ("ResourceNotFoundException", NOT_FOUND)


def test_force_delete_is_immediate_and_forgiving(store: SecretStore, clock: Clock) -> None:
    secret, _ = store.create("db", "v")
    store.put_value("db", "w")
    assert store.delete(secret.arn, force_delete_without_recovery=True) == (secret.arn, "db", T0)
    with pytest.raises(SecretsError) as e:
        store.describe("db")
    assert e.value.code == "ResourceNotFoundException"
    # A forced delete of a missing secret is not an error (AWS: "does not return
    # ResourceNotFoundException").
    arn, name, _ = store.delete("db", force_delete_without_recovery=True)
    assert (arn, name) == (store.arn_prefix + "db", "db")
    recreated, _ = store.create("db", "fresh")
    assert store.get_value(recreated.arn).secret_string == "fresh"
    assert list(store.describe("db").versions.values()) == [["AWSCURRENT"]]
    # A secret scheduled for deletion can still be forced out.
    store.delete("db")
    store.delete("db", force_delete_without_recovery=True)
    assert store.all(include_planned_deletion=True) == []


def test_restore_cancels_the_deletion(store: SecretStore) -> None:
    store.create("db", "v")
    store.delete("db")
    assert store.restore("db")[1] == "db"
    described = store.describe("db")
    assert (described.deleted_date, described.deletion_date) == (None, None)
    assert store.get_value("db").secret_string == "v"


# -- listing


def test_list_pages_in_creation_order(store: SecretStore, clock: Clock) -> None:
    names = [f"s{i}" for i in range(7)]
    for name in names:
        clock.now += 1
        store.create(name, "v")
    seen, token, pages = [], None, 0
    while True:
        page, token = store.list_secrets(max_results=3, next_token=token)
        seen += [s.name for s in page]
        pages += 1
        if token is None:
            break
    assert (seen, pages) == (names, 3)
    page, _ = store.list_secrets(sort_order="desc", max_results=2)
    assert [s.name for s in page] == ["s6", "s5"]
    page, _ = store.list_secrets(sort_by="name", sort_order="desc", max_results=1)
    assert [s.name for s in page] == ["s6"]
    for bad in ("garbage", "eyJvZmZzZXQiOiAtMX0=", "bnVsbA=="):
        with pytest.raises(SecretsError) as e:
            store.list_secrets(next_token=bad)
        assert error(e) == ("InvalidNextTokenException", "The NextToken value is invalid.")
    for limit in (0, 101):
        with pytest.raises(SecretsError) as e:
            store.list_secrets(max_results=limit)
        assert e.value.code == "InvalidParameterException"


def test_list_filters(store: SecretStore) -> None:
    store.create(
        "prod/Database", "v", description="Primary DB", tags=[{"Key": "env", "Value": "prod"}]
    )
    store.create("prod/cache", "v", tags=[{"Key": "team", "Value": "web"}])
    store.create("dev/database", "v", description="scratch database")

    def names(*filters: dict[str, Any]) -> list[str]:
        return [s.name for s in store.list_secrets(filters=filters)[0]]

    assert names({"Key": "name", "Values": ["prod/"]}) == ["prod/Database", "prod/cache"]
    assert names({"Key": "name", "Values": ["Prod"]}) == []  # case-sensitive
    assert names({"Key": "name", "Values": ["dev", "prod/c"]}) == ["prod/cache", "dev/database"]
    assert names({"Key": "name", "Values": ["!prod"]}) == ["dev/database"]
    assert names({"Key": "tag-key", "Values": ["en"]}) == ["prod/Database"]
    assert names({"Key": "tag-value", "Values": ["web"]}) == ["prod/cache"]
    assert names({"Key": "description", "Values": ["DATA"]}) == ["dev/database"]
    assert names({"Key": "description", "Values": ["primary"]}) == ["prod/Database"]
    assert names({"Key": "all", "Values": ["database"]}) == ["prod/Database", "dev/database"]
    assert names({"Key": "all", "Values": ["prod web"]}) == ["prod/cache"]
    assert names({"Key": "primary-region", "Values": ["eu-"]}) == [
        "prod/Database",
        "prod/cache",
        "dev/database",
    ]
    assert names({"Key": "name", "Values": ["prod"]}, {"Key": "tag-key", "Values": ["team"]}) == [
        "prod/cache"
    ]
    for bad in ({"Key": "colour", "Values": ["x"]}, {"Key": "name", "Values": []}):
        with pytest.raises(SecretsError) as e:
            names(bad)
        assert e.value.code == "InvalidParameterException"


# -- persistence and file modes


def test_secrets_survive_a_reopen(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "state" / "secrets.db"
    first = SecretStore(path, REGION, clock=clock)
    secret, v1 = first.create("db", "one", tags=[{"Key": "k", "Value": "v"}], description="d")
    v2 = first.put_value("db", secret_binary=b"\x00two")
    first.create("gone", "x")
    first.delete("gone")
    first.close()
    again = SecretStore(path, REGION, clock=clock)
    try:
        reread = again.describe("db")
        assert (reread.arn, reread.tags, reread.description) == (
            secret.arn,
            [{"Key": "k", "Value": "v"}],
            "d",
        )
        assert reread.versions == {v1: ["AWSPREVIOUS"], v2.version_id: ["AWSCURRENT"]}
        assert again.get_value(secret.arn).secret_binary == b"\x00two"
        assert again.describe("gone").deletion_date == T0 + 30 * DAY
    finally:
        again.close()


def test_database_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "secrets.db"
    old = os.umask(0)
    try:
        store = SecretStore(path, REGION)
        store.create("db", "v")
        modes = {
            suffix: stat.S_IMODE(os.stat(f"{path}{suffix}").st_mode)
            for suffix in ("", "-wal", "-shm")
        }
        store.close()
    finally:
        os.umask(old)
    assert modes == {"": 0o600, "-wal": 0o600, "-shm": 0o600}


def test_an_existing_database_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "secrets.db"
    path.touch()
    path.chmod(0o644)
    SecretStore(path, REGION).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# -- passwords

LOWER, UPPER, DIGITS = set(string.ascii_lowercase), set(string.ascii_uppercase), set(string.digits)


def test_punctuation_is_aws_list() -> None:
    assert PUNCTUATION == "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" == string.punctuation


def test_default_password() -> None:
    passwords = {generate_password() for _ in range(50)}
    assert len(passwords) == 50  # random, not repeated
    for p in passwords:
        assert len(p) == 32
        assert all(set(p) & chars for chars in (LOWER, UPPER, DIGITS, set(PUNCTUATION)))
        assert " " not in p


def test_password_options_property() -> None:
    rng = random.Random(1234)
    flags = list(itertools.product([False, True], repeat=4))
    for (no_digits, no_punct, no_upper, no_lower), space, require in itertools.product(
        flags, [False, True], [False, True]
    ):
        types = [
            chars
            for chars, off in (
                (LOWER, no_lower),
                (UPPER, no_upper),
                (DIGITS, no_digits),
                (set(PUNCTUATION), no_punct),
            )
            if not off
        ]
        if not types and not space:
            with pytest.raises(ValueError, match=re.escape(ALL_EXCLUDED)):
                generate_password(
                    8,
                    exclude_numbers=no_digits,
                    exclude_punctuation=no_punct,
                    exclude_uppercase=no_upper,
                    exclude_lowercase=no_lower,
                )
            continue
        allowed = set().union(*types) | ({" "} if space else set())
        for _ in range(8):
            length = rng.randint(max(len(types), 1) if require else 1, 80)
            p = generate_password(
                length,
                exclude_numbers=no_digits,
                exclude_punctuation=no_punct,
                exclude_uppercase=no_upper,
                exclude_lowercase=no_lower,
                include_space=space,
                require_each_included_type=require,
            )
            assert len(p) == length
            assert set(p) <= allowed, (p, allowed)
            if require:
                assert all(set(p) & chars for chars in types), (p, types)


def test_excluded_characters_never_appear() -> None:
    rng = random.Random(99)
    alphabet = string.ascii_letters + string.digits + PUNCTUATION
    for _ in range(200):
        excluded = "".join(rng.sample(alphabet, rng.randint(1, 60)))
        p = generate_password(rng.randint(4, 64), exclude_characters=excluded, include_space=True)
        assert not set(p) & set(excluded), (p, excluded)
    digits_only = generate_password(
        40, exclude_characters=string.ascii_letters + PUNCTUATION, require_each_included_type=True
    )
    assert set(digits_only) <= DIGITS  # types excluded character by character are not required


def test_impossible_passwords_are_refused() -> None:
    for length in (0, -1, 4097):
        with pytest.raises(ValueError, match="between 1 and 4096"):
            generate_password(length)
    with pytest.raises(ValueError, match=re.escape(TOO_SHORT)):
        generate_password(3)
    assert len(generate_password(3, require_each_included_type=False)) == 3
    assert len(generate_password(4096)) == 4096
    with pytest.raises(ValueError, match=re.escape(ALL_EXCLUDED)):
        generate_password(exclude_characters=string.ascii_letters + string.digits + PUNCTUATION)


# -- GenerateSecretString


def test_generate_secret_string_template() -> None:
    props = {
        "GenerateSecretString": {
            "SecretStringTemplate": '{"username":"admin","port":5432}',
            "GenerateStringKey": "password",
            "PasswordLength": 30,
            "ExcludeCharacters": '"@/\\',
        }
    }
    for _ in range(30):
        value = secret_string_from_template_properties(props)
        assert value is not None
        document = json.loads(value)
        assert list(document) == ["username", "port", "password"]
        assert (document["username"], document["port"]) == ("admin", 5432)
        assert len(document["password"]) == 30
        assert not set(document["password"]) & set('"@/\\')


def test_generate_secret_string_forms() -> None:
    plain = secret_string_from_template_properties({"GenerateSecretString": {}})
    assert plain is not None and len(plain) == 32
    loose = secret_string_from_template_properties(
        {
            "GenerateSecretString": {
                "PasswordLength": "12",
                "ExcludePunctuation": "true",
                "ExcludeUppercase": True,
                "RequireEachIncludedType": "False",
            }
        }
    )
    assert loose is not None and len(loose) == 12 and set(loose) <= LOWER | DIGITS
    assert secret_string_from_template_properties({"SecretString": "as-is"}) == "as-is"
    assert secret_string_from_template_properties({"Description": "empty secret"}) is None


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"SecretString": "x", "GenerateSecretString": {}}, "not both"),
        ({"SecretString": {"a": 1}}, "SecretString must be a non-empty string"),
        ({"SecretString": ""}, "SecretString must be a non-empty string"),
        ({"GenerateSecretString": "x"}, "must be a mapping"),
        ({"GenerateSecretString": {"Length": 3}}, "unknown properties Length"),
        ({"GenerateSecretString": {"GenerateStringKey": "p"}}, "go together"),
        ({"GenerateSecretString": {"SecretStringTemplate": "{}"}}, "go together"),
        (
            {"GenerateSecretString": {"SecretStringTemplate": "{", "GenerateStringKey": "p"}},
            "SecretStringTemplate is not JSON",
        ),
        (
            {"GenerateSecretString": {"SecretStringTemplate": "[1]", "GenerateStringKey": "p"}},
            "must be a JSON object",
        ),
        ({"GenerateSecretString": {"PasswordLength": "long"}}, "must be an integer"),
        ({"GenerateSecretString": {"PasswordLength": True}}, "must be an integer"),
        ({"GenerateSecretString": {"PasswordLength": 0}}, "between 1 and 4096"),
        ({"GenerateSecretString": {"PasswordLength": 2}}, "too short"),
        ({"GenerateSecretString": {"ExcludeNumbers": "yes"}}, "must be true or false"),
        ({"GenerateSecretString": {"ExcludeCharacters": 5}}, "must be a string"),
    ],
)
def test_generate_secret_string_refusals(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        secret_string_from_template_properties(props)


# -- dynamic references

ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbC123"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("MySecret", DynamicReference("MySecret")),
        ("MySecret:SecretString", DynamicReference("MySecret")),
        ("MySecret:SecretString:password", DynamicReference("MySecret", "password")),
        ("MySecret::password", DynamicReference("MySecret", "password")),
        (
            "MySecret:SecretString::AWSPREVIOUS",
            DynamicReference("MySecret", None, "AWSPREVIOUS"),
        ),
        (
            "MySecret:SecretString:user::" + "9" * 36,
            DynamicReference("MySecret", "user", None, "9" * 36),
        ),
        (ARN, DynamicReference(ARN)),
        (ARN + ":SecretString:password", DynamicReference(ARN, "password")),
        (
            ARN + ":SecretString:password:AWSCURRENT",
            DynamicReference(ARN, "password", "AWSCURRENT"),
        ),
        (ARN[:-7], DynamicReference(ARN[:-7])),  # a partial ARN
    ],
)
def test_parse_dynamic_reference(body: str, expected: DynamicReference) -> None:
    assert parse_dynamic_reference(body) == expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "the secret id (a name or an ARN) is missing"),
        (":SecretString:k", "the secret id (a name or an ARN) is missing"),
        ("S:SecretBinary", "must be SecretString, got 'SecretBinary'"),
        ("S:SecretString:k:AWSCURRENT:" + "1" * 36, "not both"),
        ("S:SecretString:k:st:id:extra", "too many fields"),
        ("arn:aws:secretsmanager:eu-west-1:123456789012", "the secret ARN is incomplete"),
        ("arn:aws:ssm:eu-west-1:123456789012:parameter:p", "is not a secret's ARN"),
        (ARN + ":SecretString:k:st:id:extra", "too many fields"),
    ],
)
def test_malformed_dynamic_references(body: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_dynamic_reference(body)


def test_resolve_dynamic_references_in_text() -> None:
    calls: list[tuple[str, str | None, str | None, str | None]] = []

    def lookup(sid: str, key: str | None, stage: str | None, vid: str | None) -> str:
        calls.append((sid, key, stage, vid))
        return f"<{sid}|{key}>"

    text = (
        "postgres://{{resolve:secretsmanager:Db:SecretString:username}}:"
        f"{{{{resolve:secretsmanager:{ARN}:SecretString:password}}}}@host/"
        "{{resolve:ssm:/param}}"
    )
    assert resolve_dynamic_references(text, lookup) == (
        f"postgres://<Db|username>:<{ARN}|password>@host/{{{{resolve:ssm:/param}}}}"
    )
    assert calls == [("Db", "username", None, None), (ARN, "password", None, None)]
    assert resolve_dynamic_references("no references", lookup) == "no references"
    assert find_dynamic_references(text) == [
        DynamicReference("Db", "username"),
        DynamicReference(ARN, "password"),
    ]
    for broken in (
        "{{resolve:secretsmanager:Db",
        "x {{resolve:secretsmanager:Db}",
        "{{resolve:secretsmanager:a{b}}",
    ):
        with pytest.raises(ValueError, match="malformed dynamic reference"):
            resolve_dynamic_references(broken, lookup)


def test_store_resolves_references(store: SecretStore) -> None:
    secret, _ = store.create("db", json.dumps({"username": "admin", "port": 5432}))
    store.put_value("db", json.dumps({"username": "root"}))
    text = (
        "{{resolve:secretsmanager:db:SecretString:username}} "
        "{{resolve:secretsmanager:db:SecretString:port:AWSPREVIOUS}} "
        f"{{{{resolve:secretsmanager:{secret.arn}}}}}"
    )
    assert resolve_dynamic_references(text, store.resolve_reference) == (
        'root 5432 {"username": "root"}'
    )
    store.create("bin", secret_binary=b"x")
    store.create("text", "not json")
    for ref, message in (
        ("db:SecretString:password", "secret db: the secret's JSON has no key 'password'"),
        ("missing", f"secret missing: {NOT_FOUND}"),
        ("bin", "the secret holds SecretBinary, not SecretString"),
        ("text::k", "the secret's value is not JSON"),
        ("db:SecretString::AWSPENDING", "can't find the specified secret value for staging label"),
    ):
        with pytest.raises(ValueError, match=re.escape(message)):
            resolve_dynamic_references(
                f"{{{{resolve:secretsmanager:{ref}}}}}", store.resolve_reference
            )
    store.delete("db")
    with pytest.raises(ValueError, match=re.escape(MARKED_FOR_DELETION)):
        resolve_dynamic_references("{{resolve:secretsmanager:db}}", store.resolve_reference)


# -- what templates create


def test_template_secret_is_kept_across_deploys(store: SecretStore) -> None:
    props: dict[str, Any] = {
        "Description": "app credentials",
        "GenerateSecretString": {
            "SecretStringTemplate": '{"username":"app"}',
            "GenerateStringKey": "password",
        },
        "Tags": [{"Key": "stack", "Value": "demo"}],
    }
    arn = deploy_template_secret(store, "app-creds", props)
    first = store.get_value(arn)
    assert first.secret_string is not None
    assert json.loads(first.secret_string)["username"] == "app"
    assert store.describe(arn).tags == [{"Key": "stack", "Value": "demo"}]
    # Same template again: nothing regenerated.
    assert deploy_template_secret(store, "app-creds", props) == arn
    assert store.get_value(arn).version_id == first.version_id
    # A value put since is kept too.
    put = store.put_value(arn, '{"username":"app","password":"rotated"}')
    assert deploy_template_secret(store, "app-creds", {**props, "Description": "new"}) == arn
    assert store.get_value(arn).version_id == put.version_id
    assert store.describe(arn).description == "new"
    # A changed template makes a new AWSCURRENT version.
    deploy_template_secret(store, "app-creds", {"SecretString": "literal"})
    current = store.get_value(arn)
    assert current.secret_string == "literal"
    assert store.get_value(arn, version_stage="AWSPREVIOUS").version_id == put.version_id
    store.delete(arn)
    with pytest.raises(ValueError, match="already scheduled for deletion"):
        deploy_template_secret(store, "app-creds", {"SecretString": "literal"})
    with pytest.raises(ValueError, match="secret bad name: Invalid name"):
        deploy_template_secret(store, "bad name", {"SecretString": "x"})
    with pytest.raises(ValueError, match="not both"):
        deploy_template_secret(store, "x", {"SecretString": "x", "GenerateSecretString": {}})


def test_rds_managed_master_secret(store: SecretStore) -> None:
    cluster = f"arn:aws:rds:{REGION}:123456789012:cluster:orders"
    arn = ensure_rds_cluster_secret(store, cluster, "postgres")
    secret = store.describe(arn)
    assert re.fullmatch(
        r"rds!cluster-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", secret.name
    )
    assert arn.startswith(f"{store.arn_prefix}{secret.name}-")
    assert secret.owning_service == "rds"
    assert {"Key": "aws:rds:primaryDBClusterArn", "Value": cluster} in secret.tags
    value = store.get_value(arn).secret_string
    assert value is not None
    document = json.loads(value)
    assert list(document) == ["username", "password"]
    assert document["username"] == "postgres"
    password = document["password"]
    assert len(password) == RDS_PASSWORD_LENGTH
    assert all(" " < c <= "~" and c not in '/"@' for c in password)
    # Another start of the same cluster keeps its secret; another cluster gets its own.
    assert ensure_rds_cluster_secret(store, cluster, "postgres") == arn
    other = ensure_rds_cluster_secret(store, cluster.replace("orders", "users"), "admin")
    assert other != arn
    delete_rds_cluster_secret(store, cluster)
    assert [s.arn for s in store.all(include_planned_deletion=True)] == [other]
