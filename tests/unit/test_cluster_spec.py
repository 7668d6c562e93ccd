"""faaslab.databases.spec and the template's AWS::RDS::DBCluster support."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from faaslab.databases.model import (
    LOOPBACK_INGRESS,
    ClusterSpec,
    Engine,
    SpecError,
    TimeoutAction,
    Version,
)
from faaslab.databases.spec import (
    IngressRule,
    PropertyError,
    default_identifier,
    parse_cluster,
    parse_ingress_rule,
    security_group_id,
    spec_from_options,
)
from faaslab.template import Template, TemplateError, load_template

HEADER = "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\n"
PASSWORD = "s3cret-pass"
V2_MYSQL: dict[str, Any] = {
    "Engine": "aurora-mysql",
    "ServerlessV2ScalingConfiguration": {"MinCapacity": 0.5, "MaxCapacity": 4},
    "MasterUsername": "master",  # valid on both engines ("admin" is not, on PostgreSQL)
    "MasterUserPassword": PASSWORD,
}
V1_MYSQL: dict[str, Any] = {
    "Engine": "aurora-mysql",
    "EngineMode": "serverless",
    "MasterUsername": "master",  # valid on both engines ("admin" is not, on PostgreSQL)
    "MasterUserPassword": PASSWORD,
}


def keep(value: Any, where: str) -> Any:
    return value


def parse(
    props: dict[str, Any], groups: dict[str, tuple[IngressRule, ...]] | None = None
) -> ClusterSpec:
    return parse_cluster("Db", props, keep, "Resources.Db.Properties", groups or {})


def with_(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """`base` with properties changed; a change to None removes the property."""
    out = {**base, **changes}
    return {key: value for key, value in out.items() if value is not None}


def refused(props: dict[str, Any]) -> tuple[str, str]:
    with pytest.raises(PropertyError) as info:
        parse(props)
    return info.value.key, str(info.value)


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(HEADER + textwrap.dedent(body))
    return path


def load(tmp_path: Path, body: str, **kwargs: Any) -> Template:
    return load_template(write(tmp_path, body), **kwargs)


def load_error(tmp_path: Path, body: str, **kwargs: Any) -> str:
    with pytest.raises(TemplateError) as info:
        load(tmp_path, body, **kwargs)
    return str(info.value)


# -- valid clusters ----------------------------------------------------------------------------


def test_v2_mysql_with_defaults() -> None:
    spec = parse(V2_MYSQL)
    assert spec == ClusterSpec(
        identifier="db",
        engine=Engine.MYSQL,
        version=Version.V2,
        master_username="master",
        master_password=PASSWORD,
        min_capacity=0.5,
        max_capacity=4.0,
        auto_pause=False,  # v2 pauses only at MinCapacity 0
        seconds_until_auto_pause=300,
        database_name=None,
        port=None,
        ingress=LOOPBACK_INGRESS,
        enable_http_endpoint=False,
        logical_id="Db",
        tags={},
    )


def test_v2_postgresql_scaling_to_zero_pauses() -> None:
    spec = parse(
        {
            "Engine": "aurora-postgresql",
            "EngineMode": "provisioned",
            "DBClusterIdentifier": "Orders-DB",
            "ServerlessV2ScalingConfiguration": {
                "MinCapacity": 0,
                "MaxCapacity": 8.5,
                "SecondsUntilAutoPause": 3600,
            },
            "MasterUsername": "postgres",  # allowed on aurora-postgresql
            "MasterUserPassword": "p" * 99,
            "DatabaseName": "orders_2024",
            "Port": 5433,
            "EnableHttpEndpoint": True,
            "Tags": [{"Key": "team", "Value": "shop"}, {"Key": "tier", "Value": 2}],
        }
    )
    assert spec.identifier == "orders-db"  # stored lower case, as RDS does
    assert (spec.engine, spec.version) == (Engine.POSTGRESQL, Version.V2)
    assert (spec.min_capacity, spec.max_capacity) == (0.0, 8.5)
    assert (spec.auto_pause, spec.seconds_until_auto_pause) == (True, 3600)
    assert (spec.master_username, spec.database_name, spec.port) == (
        "postgres",
        "orders_2024",
        5433,
    )
    assert spec.enable_http_endpoint is True
    assert spec.tags == {"team": "shop", "tier": "2"}


def test_v1_mysql_gets_rds_default_scaling() -> None:
    spec = parse(V1_MYSQL)
    assert spec.version is Version.V1
    assert (spec.min_capacity, spec.max_capacity) == (1.0, 16.0)
    assert (spec.auto_pause, spec.seconds_until_auto_pause) == (True, 300)
    assert (spec.seconds_before_timeout, spec.timeout_action) == (300, TimeoutAction.ROLLBACK)


def test_v1_postgresql_full_scaling_configuration() -> None:
    spec = parse(
        with_(
            V1_MYSQL,
            Engine="aurora-postgresql",
            MasterUsername="master",
            ScalingConfiguration={
                "AutoPause": False,
                "MinCapacity": 2,
                "MaxCapacity": 384,
                "SecondsUntilAutoPause": 86400,
                "SecondsBeforeTimeout": 60,
                "TimeoutAction": "ForceApplyCapacityChange",
            },
        )
    )
    assert (spec.engine, spec.version) == (Engine.POSTGRESQL, Version.V1)
    assert (spec.min_capacity, spec.max_capacity) == (2.0, 384.0)
    assert (spec.auto_pause, spec.seconds_until_auto_pause) == (False, 86400)
    assert (spec.seconds_before_timeout, spec.timeout_action) == (60, TimeoutAction.FORCE)
    assert parse(with_(V1_MYSQL, Engine="aurora-postgresql")).min_capacity == 2.0  # PG's smallest


def test_strings_are_read_as_cloudformation_reads_them() -> None:
    spec = parse(
        with_(
            V1_MYSQL,
            ScalingConfiguration={
                "AutoPause": "FALSE",
                "MinCapacity": "2",
                "MaxCapacity": "8.0",
                "SecondsUntilAutoPause": "600",
                "SecondsBeforeTimeout": " 120 ",
            },
            Port="3307",
            EnableHttpEndpoint="true",
            MasterUserPassword=12345678,
        )
    )
    assert (spec.auto_pause, spec.min_capacity, spec.max_capacity) == (False, 2.0, 8.0)
    assert (spec.seconds_until_auto_pause, spec.seconds_before_timeout) == (600, 120)
    assert (spec.port, spec.enable_http_endpoint, spec.master_password) == (3307, True, "12345678")


@pytest.mark.parametrize(
    ("logical_id", "identifier"),
    [
        ("Db", "db"),
        ("OrdersCluster2", "orderscluster2"),
        ("9Lives", "db-9lives"),
        ("X" * 70, "x" * 63),
    ],
)
def test_default_identifier_is_the_logical_id_made_valid(logical_id: str, identifier: str) -> None:
    assert default_identifier(logical_id) == identifier
    assert parse_cluster(logical_id, V2_MYSQL, keep, "P", {}).identifier == identifier


# -- validation, with AWS's messages -----------------------------------------------------------

BAD_IDENTIFIER = (
    "The parameter DBClusterIdentifier is not a valid identifier. Identifiers must begin with "
    "a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a "
    "hyphen or contain two consecutive hyphens."
)


@pytest.mark.parametrize("identifier", ["1db", "my--db", "my-db-", "my_db", "", "dé", "-db"])
def test_bad_identifiers(identifier: str) -> None:
    assert refused(with_(V2_MYSQL, DBClusterIdentifier=identifier)) == (
        "DBClusterIdentifier",
        BAD_IDENTIFIER,
    )


def test_identifier_length() -> None:
    assert parse(with_(V2_MYSQL, DBClusterIdentifier="a" * 63)).identifier == "a" * 63
    assert refused(with_(V2_MYSQL, DBClusterIdentifier="a" * 64)) == (
        "DBClusterIdentifier",
        "The parameter DBClusterIdentifier is not a valid identifier because it is longer than "
        "63 characters.",
    )


@pytest.mark.parametrize(
    ("engine", "message"),
    [
        (
            "mysql",
            "Engine mysql is not supported (faaslab emulates Aurora Serverless clusters: "
            "aurora-mysql or aurora-postgresql)",
        ),
        (
            "postgres",
            "Engine postgres is not supported (faaslab emulates Aurora Serverless clusters: "
            "aurora-mysql or aurora-postgresql)",
        ),
        (
            "aurora",
            "Engine aurora is not supported (aurora is Aurora MySQL 5.6, retired by AWS: "
            "use aurora-mysql)",
        ),
        (None, "missing (required): aurora-mysql or aurora-postgresql"),
    ],
)
def test_engines_other_than_aurora_serverless(engine: str | None, message: str) -> None:
    assert refused(with_(V2_MYSQL, Engine=engine)) == ("Engine", message)


def test_engine_is_case_insensitive() -> None:
    assert parse(with_(V2_MYSQL, Engine="Aurora-PostgreSQL")).engine is Engine.POSTGRESQL


def test_engine_modes() -> None:
    assert refused(with_(V2_MYSQL, ServerlessV2ScalingConfiguration=None)) == (
        "ServerlessV2ScalingConfiguration",
        "faaslab emulates serverless clusters only: give this provisioned cluster a "
        "ServerlessV2ScalingConfiguration (Aurora Serverless v2), or use EngineMode serverless "
        "with ScalingConfiguration (Aurora Serverless v1)",
    )
    key, message = refused(with_(V2_MYSQL, EngineMode="parallelquery"))
    assert key == "EngineMode"
    assert message.startswith("EngineMode parallelquery is not supported: faaslab emulates")
    key, message = refused(with_(V2_MYSQL, EngineMode="serverless"))
    assert key == "ServerlessV2ScalingConfiguration"
    assert "EngineMode serverless (Aurora Serverless v1) takes ScalingConfiguration" in message
    key, message = refused(with_(V2_MYSQL, ScalingConfiguration={"MinCapacity": 2}))
    assert key == "ScalingConfiguration"
    assert "is for EngineMode serverless (Aurora Serverless v1)" in message


def test_v1_capacities_per_engine() -> None:
    def v1(engine: str, **scaling: Any) -> dict[str, Any]:
        return with_(V1_MYSQL, Engine=engine, ScalingConfiguration=scaling)

    mysql_values = "1, 2, 4, 8, 16, 32, 64, 128, 256"
    assert refused(v1("aurora-mysql", MinCapacity=3)) == (
        "ScalingConfiguration.MinCapacity",
        "Capacity value 3 is not valid. For aurora-mysql, valid capacity values are "
        f"{mysql_values}.",
    )
    assert refused(v1("aurora-mysql", MaxCapacity=384)) == (
        "ScalingConfiguration.MaxCapacity",
        f"Capacity value 384 is not valid. For aurora-mysql, valid capacity values are "
        f"{mysql_values}.",
    )
    assert refused(v1("aurora-postgresql", MinCapacity=1)) == (
        "ScalingConfiguration.MinCapacity",
        "Capacity value 1 is not valid. For aurora-postgresql, valid capacity values are "
        "2, 4, 8, 16, 32, 64, 192, 384.",
    )
    assert refused(v1("aurora-mysql", MinCapacity=1.5))[1].startswith("Capacity value 1.5 is")
    assert refused(v1("aurora-mysql", MinCapacity=8, MaxCapacity=4)) == (
        "ScalingConfiguration.MinCapacity",
        "MinCapacity 8 is greater than MaxCapacity 4. The minimum capacity must be less than or "
        "equal to the maximum capacity.",
    )
    # without MaxCapacity, RDS's default of 16 stretches to a larger MinCapacity
    assert parse(v1("aurora-mysql", MinCapacity=32)).max_capacity == 32.0


@pytest.mark.parametrize("seconds", [299, 86401, 0])
def test_v1_seconds_until_auto_pause(seconds: int) -> None:
    props = with_(V1_MYSQL, ScalingConfiguration={"SecondsUntilAutoPause": seconds})
    assert refused(props) == (
        "ScalingConfiguration.SecondsUntilAutoPause",
        f"SecondsUntilAutoPause {seconds} is not valid. Specify a value between 300 and 86,400 "
        "seconds.",
    )


def test_v1_timeout_settings() -> None:
    assert refused(with_(V1_MYSQL, ScalingConfiguration={"SecondsBeforeTimeout": 601})) == (
        "ScalingConfiguration.SecondsBeforeTimeout",
        "SecondsBeforeTimeout 601 is not valid. Specify a value between 60 and 600 seconds.",
    )
    assert refused(with_(V1_MYSQL, ScalingConfiguration={"TimeoutAction": "Wait"})) == (
        "ScalingConfiguration.TimeoutAction",
        "TimeoutAction Wait is not valid: the action to take when the timeout is reached is "
        "either ForceApplyCapacityChange or RollbackCapacityChange.",
    )
    assert refused(with_(V1_MYSQL, ScalingConfiguration={"MinACU": 2})) == (
        "ScalingConfiguration.MinACU",
        "not a property of ScalingConfiguration: ['AutoPause', 'MaxCapacity', 'MinCapacity', "
        "'SecondsBeforeTimeout', 'SecondsUntilAutoPause', 'TimeoutAction']",
    )


V2_KEY = "ServerlessV2ScalingConfiguration"


@pytest.mark.parametrize(
    ("scaling", "key", "message"),
    [
        (
            {"MinCapacity": 0.7, "MaxCapacity": 4},
            "MinCapacity",
            "Serverless v2 minimum capacity 0.7 isn't valid. You can specify ACU values in "
            "half-step increments, such as 8, 8.5, 9, and so on.",
        ),
        (
            {"MinCapacity": 1, "MaxCapacity": 4.25},
            "MaxCapacity",
            "Serverless v2 maximum capacity 4.25 isn't valid. You can specify ACU values in "
            "half-step increments, such as 8, 8.5, 9, and so on.",
        ),
        (
            {"MinCapacity": -0.5, "MaxCapacity": 4},
            "MinCapacity",
            "Serverless v2 minimum capacity -0.5 isn't valid. The smallest value that you can "
            "use is 0 and the largest value is 256.",
        ),
        (
            {"MinCapacity": 1, "MaxCapacity": 256.5},
            "MaxCapacity",
            "Serverless v2 maximum capacity 256.5 isn't valid. The smallest value that you can "
            "use is 0 and the largest value is 256.",
        ),
        (
            {"MinCapacity": 0, "MaxCapacity": 0.5},
            "MaxCapacity",
            "Serverless v2 maximum capacity 0.5 isn't valid. The maximum capacity must be at "
            "least 1.0.",
        ),
        (
            {"MinCapacity": 16, "MaxCapacity": 8},
            "MinCapacity",
            "MinCapacity 16 is greater than MaxCapacity 8. The minimum capacity must be less than "
            "or equal to the maximum capacity.",
        ),
        (
            {"MinCapacity": 0, "MaxCapacity": 4, "SecondsUntilAutoPause": 100},
            "SecondsUntilAutoPause",
            "SecondsUntilAutoPause 100 is not valid. Specify a value between 300 seconds (five "
            "minutes) and 86,400 seconds (one day).",
        ),
        (
            {"MinCapacity": 0, "MaxCapacity": 4, "AutoPause": True},
            "AutoPause",
            "not a property of ServerlessV2ScalingConfiguration: ['MaxCapacity', 'MinCapacity', "
            "'SecondsUntilAutoPause']",
        ),
    ],
)
def test_v2_capacity_rules(scaling: dict[str, Any], key: str, message: str) -> None:
    assert refused(with_(V2_MYSQL, ServerlessV2ScalingConfiguration=scaling)) == (
        f"{V2_KEY}.{key}",
        message,
    )


@pytest.mark.parametrize("scaling", [{"MinCapacity": 1}, {"MaxCapacity": 4}, {}])
def test_v2_needs_both_capacities(scaling: dict[str, Any]) -> None:
    assert refused(with_(V2_MYSQL, ServerlessV2ScalingConfiguration=scaling)) == (
        V2_KEY,
        "Both MinCapacity and MaxCapacity must be specified when you initialize Serverless v2 "
        "scaling configuration.",
    )


def test_v2_largest_range() -> None:
    spec = parse(
        with_(V2_MYSQL, ServerlessV2ScalingConfiguration={"MinCapacity": 256, "MaxCapacity": 256})
    )
    assert (spec.min_capacity, spec.max_capacity, spec.auto_pause) == (256.0, 256.0, False)


BAD_USERNAME = (
    "MasterUsername must begin with a letter and contain only alphanumeric characters or "
    "underscores."
)


@pytest.mark.parametrize(
    ("engine", "username", "message"),
    [
        (
            "aurora-mysql",
            None,
            "The parameter MasterUsername must be provided and must not be blank.",
        ),
        (
            "aurora-mysql",
            "",
            "The parameter MasterUsername must be provided and must not be blank.",
        ),
        ("aurora-mysql", "1admin", BAD_USERNAME),
        ("aurora-mysql", "app-user", BAD_USERNAME),
        ("aurora-mysql", "_app", BAD_USERNAME),
        (
            "aurora-mysql",
            "a" * 17,
            f"MasterUsername {'a' * 17} is not valid: for aurora-mysql it must be 1 to 16 letters, "
            "numbers or underscores.",
        ),
        (
            "aurora-postgresql",
            "a" * 64,
            f"MasterUsername {'a' * 64} is not valid: for aurora-postgresql it must be 1 to 63 "
            "letters, numbers or underscores.",
        ),
        (
            "aurora-postgresql",
            "Admin",
            "MasterUsername Admin cannot be used as it is a reserved word used by the engine",
        ),
        (
            "aurora-mysql",
            "rdsadmin",
            "MasterUsername rdsadmin cannot be used as it is a reserved word used by the engine",
        ),
        (
            "aurora-postgresql",
            "rdsadmin",
            "MasterUsername rdsadmin cannot be used as it is a reserved word used by the engine",
        ),
    ],
)
def test_master_username_rules(engine: str, username: str | None, message: str) -> None:
    assert refused(with_(V2_MYSQL, Engine=engine, MasterUsername=username)) == (
        "MasterUsername",
        message,
    )


def test_master_usernames_aws_accepts() -> None:
    assert parse(with_(V2_MYSQL, MasterUsername="admin")).master_username == "admin"
    assert (
        parse(with_(V2_MYSQL, MasterUsername="app_user_16chars")).master_username
        == "app_user_16chars"
    )
    long_pg = "a" * 63
    assert (
        parse(with_(V2_MYSQL, Engine="aurora-postgresql", MasterUsername=long_pg)).master_username
        == long_pg
    )


BAD_PASSWORD_CHARACTERS = (
    "The parameter MasterUserPassword is not a valid password. Only printable ASCII characters "
    "besides '/', '@', '\"', ' ' may be used."
)


@pytest.mark.parametrize(
    ("engine", "password", "message"),
    [
        (
            "aurora-mysql",
            None,
            "The parameter MasterUserPassword must be provided and must not be blank.",
        ),
        (
            "aurora-mysql",
            "hunter2",
            "The parameter MasterUserPassword is not a valid password because it is shorter than "
            "8 characters.",
        ),
        (
            "aurora-mysql",
            "p" * 42,
            "The parameter MasterUserPassword is not a valid password because it is longer than "
            "41 characters.",
        ),
        (
            "aurora-postgresql",
            "p" * 100,
            "The parameter MasterUserPassword is not a valid password because it is longer than "
            "99 characters.",
        ),
        ("aurora-mysql", "pass/word", BAD_PASSWORD_CHARACTERS),
        ("aurora-mysql", "pass@word", BAD_PASSWORD_CHARACTERS),
        ("aurora-mysql", 'pass"word', BAD_PASSWORD_CHARACTERS),
        ("aurora-mysql", "pass word", BAD_PASSWORD_CHARACTERS),
        ("aurora-mysql", "passwörd1", BAD_PASSWORD_CHARACTERS),
        ("aurora-mysql", "pass\tword", BAD_PASSWORD_CHARACTERS),
        (
            "aurora-mysql",
            "{{resolve:secretsmanager:Db:SecretString:password}}",
            "a dynamic reference ({{resolve:...}}) that was not resolved",
        ),
    ],
)
def test_master_password_rules(engine: str, password: str | None, message: str) -> None:
    assert refused(with_(V2_MYSQL, Engine=engine, MasterUserPassword=password)) == (
        "MasterUserPassword",
        message,
    )


def test_master_passwords_aws_accepts() -> None:
    tricky = "!#$%&'()*+,-.:;<=>?[\\]^_`{|}~"
    assert parse(with_(V2_MYSQL, MasterUserPassword=tricky)).master_password == tricky
    assert parse(with_(V2_MYSQL, MasterUserPassword="p" * 41)).master_password == "p" * 41
    pg = with_(V2_MYSQL, Engine="aurora-postgresql", MasterUserPassword="p" * 99)
    assert parse(pg).master_password == "p" * 99


def test_managed_master_password_needs_secrets_manager_and_no_password() -> None:
    assert refused(with_(V2_MYSQL, ManageMasterUserPassword="true")) == (
        "ManageMasterUserPassword",
        "You can't specify MasterUserPassword and ManageMasterUserPassword together.",
    )
    props = with_(V2_MYSQL, ManageMasterUserPassword="true", MasterUserPassword=None)
    assert refused(props) == (
        "ManageMasterUserPassword",
        "needs Secrets Manager, which is not available here",
    )


def test_template_secrets_references_and_managed_passwords(tmp_path: Path) -> None:
    """Secrets in templates (SecretsHooks): created with their resolved Properties, !Ref
    gives the ARN, {{resolve:secretsmanager:...}} is looked up, ManageMasterUserPassword
    asks for the cluster's own secret."""
    from faaslab.template import SecretsHooks

    deployed: dict[str, dict[str, Any]] = {}
    managed: list[tuple[str, str]] = []

    def deploy(name: str, props: dict[str, Any]) -> str:
        deployed[name] = props
        return f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf"

    def lookup(secret_id: str, key: str | None, stage: str | None, version: str | None) -> str:
        assert secret_id == "db-creds" and key == "password", (secret_id, key)
        return "Looked-up-pass1"

    def make(cluster_arn: str, username: str) -> tuple[str, str]:
        managed.append((cluster_arn, username))
        return (
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-1-XyZ",
            "Managed-pass1",
        )

    body = """\
    Resources:
      Creds:
        Type: AWS::SecretsManager::Secret
        Properties:
          Name: db-creds
          SecretString: !Sub '{"username": "master", "password": "${AWS::Region}-x"}'
      Referenced:
        Type: AWS::RDS::DBCluster
        Properties:
          Engine: aurora-mysql
          ServerlessV2ScalingConfiguration: {MinCapacity: 0.5, MaxCapacity: 2}
          MasterUsername: master
          MasterUserPassword: '{{resolve:secretsmanager:db-creds:SecretString:password}}'
      Managed:
        Type: AWS::RDS::DBCluster
        Properties:
          Engine: aurora-postgresql
          ServerlessV2ScalingConfiguration: {MinCapacity: 0.5, MaxCapacity: 2}
          MasterUsername: master
          ManageMasterUserPassword: true
      Fn:
        Type: AWS::Serverless::Function
        Properties:
          Handler: app.handler
          Runtime: python3.12
          Environment:
            Variables:
              CREDS: !Ref Creds
              MANAGED: !GetAtt Managed.MasterUserSecret.SecretArn
    """
    path = write(tmp_path, body)
    template = load_template(path, secrets=SecretsHooks(deploy, lookup, make))
    assert deployed == {
        "db-creds": {
            "Name": "db-creds",
            "SecretString": '{"username": "master", "password": "us-east-1-x"}',
        }
    }
    assert template.clusters["referenced"].master_password == "Looked-up-pass1"
    assert template.clusters["managed"].master_password == "Managed-pass1"
    assert managed == [("arn:aws:rds:us-east-1:123456789012:cluster:managed", "master")]
    env = template.functions["Fn"].environment
    assert env["CREDS"].endswith(":secret:db-creds-AbCdEf")
    assert env["MANAGED"].endswith(":secret:rds!cluster-1-XyZ")


BAD_DATABASE_NAME = (
    "DatabaseName must begin with a letter and contain only alphanumeric characters."
)


@pytest.mark.parametrize(
    ("engine", "name", "message"),
    [
        ("aurora-mysql", "my-db", BAD_DATABASE_NAME),
        ("aurora-mysql", "1db", BAD_DATABASE_NAME),
        ("aurora-postgresql", "_db", BAD_DATABASE_NAME),
        ("aurora-mysql", "", BAD_DATABASE_NAME),
        (
            "aurora-mysql",
            "d" * 65,
            "DatabaseName must contain 1 to 64 alphanumeric characters for aurora-mysql.",
        ),
        (
            "aurora-postgresql",
            "d" * 64,
            "DatabaseName must contain 1 to 63 alphanumeric characters for aurora-postgresql.",
        ),
    ],
)
def test_database_name_rules(engine: str, name: str, message: str) -> None:
    assert refused(with_(V2_MYSQL, Engine=engine, DatabaseName=name)) == ("DatabaseName", message)


def test_database_names_aws_accepts() -> None:
    assert parse(with_(V2_MYSQL, DatabaseName="d" * 64)).database_name == "d" * 64
    assert parse(with_(V2_MYSQL, DatabaseName="Shop_2")).database_name == "Shop_2"


@pytest.mark.parametrize("port", [1149, 65536, 80])
def test_port_range(port: int) -> None:
    assert refused(with_(V2_MYSQL, Port=port)) == (
        "Port",
        f"Port {port} is not valid. Valid Values: 1150-65535",
    )


def test_port_bounds_are_allowed() -> None:
    assert parse(with_(V2_MYSQL, Port=1150)).port == 1150
    assert parse(with_(V2_MYSQL, Port="65535")).port == 65535


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        ({"EnableHttpEndpoint": "yes"}, "EnableHttpEndpoint", "must be true or false, got 'yes'"),
        ({"Port": "33o6"}, "Port", "must be a number, got '33o6'"),
        ({"Port": 3306.5}, "Port", "must be an integer, got 3306.5"),
        ({"Port": True}, "Port", "must be a number, got True"),
        (
            {"ServerlessV2ScalingConfiguration": {"MinCapacity": "nan", "MaxCapacity": 4}},
            f"{V2_KEY}.MinCapacity",
            "must be a number, got 'nan'",
        ),
        ({"ServerlessV2ScalingConfiguration": [1, 4]}, V2_KEY, "must be a mapping, got [1, 4]"),
        ({"MasterUsername": ["admin"]}, "MasterUsername", "must be a string, got ['admin']"),
        (
            {"Tags": {"team": "shop"}},
            "Tags",
            "must be a list of {Key, Value} mappings, got {'team': 'shop'}",
        ),
        (
            {"Tags": [{"Value": "x"}]},
            "Tags[0]",
            "must be a mapping with Key and Value, got {'Value': 'x'}",
        ),
        (
            {"VpcSecurityGroupIds": "sg-1"},
            "VpcSecurityGroupIds",
            "must be a list of security group ids, got 'sg-1'",
        ),
    ],
)
def test_property_types(change: dict[str, Any], key: str, message: str) -> None:
    assert refused(with_(V2_MYSQL, **change)) == (key, message)


def test_property_error_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="must be true or false"):
        parse(with_(V2_MYSQL, EnableHttpEndpoint="maybe"))


# -- ingress -----------------------------------------------------------------------------------


def test_no_security_groups_means_loopback_only() -> None:
    assert parse(V2_MYSQL).ingress == LOOPBACK_INGRESS == ("127.0.0.0/8", "::1/128")


def test_ingress_keeps_rules_that_cover_the_requested_port() -> None:
    groups = {
        "sg-a": (
            IngressRule("10.0.0.0/16", 3306, 3306),
            IngressRule("192.168.1.0/24", 80, 80),  # another port
            IngressRule("172.16.0.0/12", 3000, 4000),
            IngressRule(None, 3306, 3306),  # clients in another group: loopback here
        ),
        "sg-b": (IngressRule("10.0.0.0/16"), IngressRule("2001:db8::/32")),
    }
    spec = parse(with_(V2_MYSQL, VpcSecurityGroupIds=["sg-a", "sg-b"]), groups)
    assert spec.ingress == (
        "10.0.0.0/16",
        "172.16.0.0/12",
        "127.0.0.0/8",
        "::1/128",
        "2001:db8::/32",
    )
    on_5433 = parse(with_(V2_MYSQL, Port=5433, VpcSecurityGroupIds=["sg-a"]), groups)
    assert on_5433.ingress == ()  # no rule covers 5433: nobody may connect, as on AWS
    pg = parse(with_(V2_MYSQL, Engine="aurora-postgresql", VpcSecurityGroupIds=["sg-b"]), groups)
    assert pg.ingress == ("10.0.0.0/16", "2001:db8::/32")


def test_a_group_outside_the_template_admits_loopback() -> None:
    spec = parse(with_(V2_MYSQL, VpcSecurityGroupIds=["sg-0123456789abcdef0"]))
    assert spec.ingress == LOOPBACK_INGRESS


def test_parse_ingress_rule() -> None:
    assert parse_ingress_rule(
        {"IpProtocol": "tcp", "FromPort": "3306", "ToPort": 3306, "CidrIp": "10.1.2.3/16"}
    ) == IngressRule("10.1.0.0/16", 3306, 3306)
    assert parse_ingress_rule({"IpProtocol": -1, "CidrIpv6": "::/0", "FromPort": 5}) == IngressRule(
        "::/0"
    )
    assert parse_ingress_rule({"IpProtocol": "6", "SourceSecurityGroupId": "sg-1"}) == IngressRule(
        None
    )
    assert parse_ingress_rule({"IpProtocol": "TCP", "CidrIp": "0.0.0.0/0", "FromPort": -1}) == (
        IngressRule("0.0.0.0/0")
    )
    assert parse_ingress_rule({"IpProtocol": "udp", "CidrIp": "0.0.0.0/0"}) is None


@pytest.mark.parametrize(
    ("rule", "key", "message"),
    [
        (
            {"IpProtocol": "tcp", "CidrIp": "10.0.0.300/24"},
            "CidrIp",
            "Value (10.0.0.300/24) for parameter cidrIp is invalid. This is not a valid CIDR "
            "block.",
        ),
        (
            {"IpProtocol": "tcp", "CidrIp": "::/0"},
            "CidrIp",
            "Value (::/0) for parameter cidrIp is invalid. This is not a valid CIDR block.",
        ),
        (
            {"IpProtocol": "tcp", "CidrIpv6": "10.0.0.0/8"},
            "CidrIpv6",
            "Value (10.0.0.0/8) for parameter cidrIpv6 is invalid. This is not a valid CIDR block.",
        ),
        (
            {"CidrIp": "10.0.0.0/8"},
            "IpProtocol",
            "missing (required): tcp, -1 (all) or another protocol",
        ),
        (
            {"IpProtocol": "tcp", "FromPort": 5000, "ToPort": 4000, "CidrIp": "10.0.0.0/8"},
            "FromPort",
            "FromPort 5000 is greater than ToPort 4000",
        ),
        (
            {"IpProtocol": "tcp", "FromPort": 70000, "CidrIp": "10.0.0.0/8"},
            "FromPort",
            "must be a port 0-65535 (or -1 for all), got 70000",
        ),
        (
            {"IpProtocol": "tcp"},
            "",
            "needs a source: CidrIp, CidrIpv6, SourceSecurityGroupId, SourceSecurityGroupName, "
            "SourcePrefixListId (one of them)",
        ),
    ],
)
def test_bad_ingress_rules(rule: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(PropertyError) as info:
        parse_ingress_rule(rule)
    assert (info.value.key, str(info.value)) == (key, message)


def test_security_group_ids_are_stable_and_distinct() -> None:
    assert re.fullmatch(r"sg-[0-9a-f]{17}", security_group_id("DbSecurityGroup"))
    assert security_group_id("DbSecurityGroup") == security_group_id("DbSecurityGroup")
    assert security_group_id("DbSecurityGroup") != security_group_id("AppSecurityGroup")


# -- templates ---------------------------------------------------------------------------------

APP = """\
Parameters:
  DbUser: {Type: String, Default: app}
  DbPassword: {Type: String, NoEcho: true, Default: s3cret-pass}
  MinAcu: {Type: Number, Default: 1}
  Pause: {Type: String, Default: "true"}
  PauseAfter: {Type: Number, Default: 600}
Resources:
  AppSecurityGroup:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: functions
  DbSecurityGroup:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: database
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 3306, ToPort: 3306, CidrIp: 10.0.0.0/16}
        - IpProtocol: tcp
          FromPort: 3306
          ToPort: 3306
          SourceSecurityGroupId: !Ref AppSecurityGroup
        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}
  BastionIngress:
    Type: AWS::EC2::SecurityGroupIngress
    Properties:
      GroupId: !GetAtt DbSecurityGroup.GroupId
      IpProtocol: tcp
      FromPort: 3306
      ToPort: 3306
      CidrIp: 203.0.113.7/32
  OtherIngress:
    Type: AWS::EC2::SecurityGroupIngress
    Properties:
      GroupId: !Ref AppSecurityGroup
      IpProtocol: tcp
      FromPort: 3306
      ToPort: 3306
      CidrIp: 198.51.100.0/24
  Db:
    Type: AWS::RDS::DBCluster
    Properties:
      Engine: aurora-mysql
      EngineMode: serverless
      DBClusterIdentifier: !Sub "${AWS::StackName}-db"
      MasterUsername: !Ref DbUser
      MasterUserPassword: !Ref DbPassword
      DatabaseName: shop
      EnableHttpEndpoint: true
      VpcSecurityGroupIds: [!GetAtt DbSecurityGroup.GroupId]
      ScalingConfiguration:
        AutoPause: !Ref Pause
        MinCapacity: !Ref MinAcu
        MaxCapacity: 4
        SecondsUntilAutoPause: !Ref PauseAfter
      Tags:
        - {Key: app, Value: !Ref AWS::StackName}
  Replica:
    Type: AWS::RDS::DBInstance
    Properties:
      DBClusterIdentifier: !Ref Db
  HelloMySQL:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      VpcConfig:
        SecurityGroupIds: [!Ref AppSecurityGroup]
        SubnetIds: [subnet-0123456789abcdef0]
      Environment:
        Variables:
          DB_HOST: !GetAtt Db.Endpoint.Address
          DB_PORT: !GetAtt Db.Endpoint.Port
          DB_READER: !GetAtt [Db, ReadEndpoint.Address]
          DB_ARN: !GetAtt Db.DBClusterArn
          DB_ID: !Ref Db
          DB_URL: !Sub "mysql://${Db.Endpoint.Address}:${Db.Endpoint.Port}/shop"
          DB_SG: !Ref DbSecurityGroup
          APP_SG: !GetAtt AppSecurityGroup.GroupId
"""


def test_cluster_from_a_template(tmp_path: Path) -> None:
    stack = tmp_path / "shop"
    stack.mkdir()
    template = load(stack, APP)
    assert list(template.clusters) == ["shop-db"]
    spec = template.clusters["shop-db"]
    assert (spec.logical_id, spec.engine, spec.version) == ("Db", Engine.MYSQL, Version.V1)
    assert (spec.master_username, spec.master_password) == ("app", "s3cret-pass")
    assert (spec.min_capacity, spec.max_capacity) == (1.0, 4.0)
    assert (spec.auto_pause, spec.seconds_until_auto_pause) == (True, 600)
    assert (spec.database_name, spec.enable_http_endpoint, spec.tags) == (
        "shop",
        True,
        {"app": "shop"},
    )
    # CIDR rule, the functions' group (loopback), the standalone rule; not the port-22 rule,
    # nor the rule added to the functions' group
    assert spec.ingress == ("10.0.0.0/16", "127.0.0.0/8", "::1/128", "203.0.113.7/32")
    assert template.unsupported == {"Replica": "AWS::RDS::DBInstance"}


def test_cluster_attributes_wire_into_functions(tmp_path: Path) -> None:
    stack = tmp_path / "shop"
    stack.mkdir()
    env = load(stack, APP).functions["HelloMySQL"].environment
    assert env == {
        "DB_HOST": "127.0.0.1",
        "DB_PORT": "3306",
        "DB_READER": "127.0.0.1",
        "DB_ARN": "arn:aws:rds:us-east-1:123456789012:cluster:shop-db",
        "DB_ID": "shop-db",
        "DB_URL": "mysql://127.0.0.1:3306/shop",
        "DB_SG": security_group_id("DbSecurityGroup"),
        "APP_SG": security_group_id("AppSecurityGroup"),
    }


def test_cluster_port_is_the_endpoints_real_port(tmp_path: Path) -> None:
    stack = tmp_path / "shop"
    stack.mkdir()
    asked: list[ClusterSpec] = []

    def cluster_port(spec: ClusterSpec) -> int:
        asked.append(spec)
        return 41234

    template = load(
        stack, APP, region="eu-west-1", account="000000000042", cluster_port=cluster_port
    )
    env = template.functions["HelloMySQL"].environment
    assert (env["DB_PORT"], env["DB_URL"]) == ("41234", "mysql://127.0.0.1:41234/shop")
    assert env["DB_ARN"] == "arn:aws:rds:eu-west-1:000000000042:cluster:shop-db"
    assert asked and all(spec is template.clusters["shop-db"] for spec in asked)
    # the security group rules still match the port the template asked for (3306)
    assert "10.0.0.0/16" in template.clusters["shop-db"].ingress


def test_endpoint_port_without_cluster_port(tmp_path: Path) -> None:
    body = """\
    Resources:
      Pg:
        Type: AWS::RDS::DBCluster
        Properties:
          Engine: aurora-postgresql
          ServerlessV2ScalingConfiguration: {MinCapacity: 0, MaxCapacity: 2}
          MasterUsername: postgres
          MasterUserPassword: s3cret-pass
      AskedPort:
        Type: AWS::RDS::DBCluster
        Properties:
          Engine: aurora-mysql
          Port: 3310
          ServerlessV2ScalingConfiguration: {MinCapacity: 0.5, MaxCapacity: 2}
          MasterUsername: admin
          MasterUserPassword: s3cret-pass
      Fn:
        Type: AWS::Serverless::Function
        Properties:
          Handler: app.handler
          Runtime: python3.12
          Environment:
            Variables:
              PG: !Sub "${Pg}:${Pg.Endpoint.Port}"
              MY: !GetAtt AskedPort.Endpoint.Port
    """
    template = load(tmp_path, body)
    assert template.functions["Fn"].environment == {"PG": "pg:5432", "MY": "3310"}
    assert sorted(template.clusters) == ["askedport", "pg"]
    assert template.unsupported == {}


def test_parameters_override_cluster_settings(tmp_path: Path) -> None:
    stack = tmp_path / "shop"
    stack.mkdir()
    template = load(
        stack,
        APP,
        parameter_overrides={"MinAcu": "2", "Pause": "false", "PauseAfter": "86400"},
    )
    spec = template.clusters["shop-db"]
    assert (spec.min_capacity, spec.auto_pause, spec.seconds_until_auto_pause) == (
        2.0,
        False,
        86400,
    )


def test_cluster_errors_name_file_resource_and_key(tmp_path: Path) -> None:
    stack = tmp_path / "shop"
    stack.mkdir()
    path = stack / "template.yaml"
    message = load_error(stack, APP, parameter_overrides={"MinAcu": "3"})
    assert message == (
        f"{path}: Resources.Db.Properties.ScalingConfiguration.MinCapacity: Capacity value 3 is "
        "not valid. For aurora-mysql, valid capacity values are 1, 2, 4, 8, 16, 32, 64, 128, 256."
    )
    message = load_error(stack, APP, parameter_overrides={"DbUser": "rdsadmin"})
    assert message == (
        f"{path}: Resources.Db.Properties.MasterUsername: MasterUsername rdsadmin cannot be used "
        "as it is a reserved word used by the engine"
    )


def test_security_group_errors_name_the_group(tmp_path: Path) -> None:
    stack = tmp_path / "shop"
    stack.mkdir()
    bad_rule = APP.replace("CidrIp: 10.0.0.0/16}", "CidrIp: 10.0.0/33}")
    assert load_error(stack, bad_rule) == (
        f"{stack / 'template.yaml'}: Resources.DbSecurityGroup.Properties.SecurityGroupIngress[0]"
        ".CidrIp: Value (10.0.0/33) for parameter cidrIp is invalid. This is not a valid CIDR "
        "block."
    )
    no_source = APP.replace("      CidrIp: 203.0.113.7/32\n", "")
    assert load_error(stack, no_source) == (
        f"{stack / 'template.yaml'}: Resources.BastionIngress.Properties: needs a source: "
        "CidrIp, CidrIpv6, SourceSecurityGroupId, SourceSecurityGroupName, SourcePrefixListId "
        "(one of them)"
    )
    no_group = APP.replace("      GroupId: !GetAtt DbSecurityGroup.GroupId\n", "")
    assert load_error(stack, no_group) == (
        f"{stack / 'template.yaml'}: Resources.BastionIngress.Properties.GroupId: must name a "
        "security group, got None"
    )


def test_groups_no_cluster_uses_are_never_read(tmp_path: Path) -> None:
    body = """\
    Resources:
      Unused:
        Type: AWS::EC2::SecurityGroup
        Properties:
          SecurityGroupIngress: !If [IsProd, [], []]
      Db:
        Type: AWS::RDS::DBCluster
        Properties:
          Engine: aurora-mysql
          ServerlessV2ScalingConfiguration: {MinCapacity: 0.5, MaxCapacity: 2}
          MasterUsername: admin
          MasterUserPassword: s3cret-pass
    """
    template = load(tmp_path, body)
    assert template.clusters["db"].ingress == LOOPBACK_INGRESS
    used = body.replace(
        "MasterUsername: admin",
        "MasterUsername: admin\n          VpcSecurityGroupIds: [!Ref Unused]",
    )
    assert load_error(tmp_path, used) == (
        f"{tmp_path / 'template.yaml'}: Resources.Unused.Properties.SecurityGroupIngress: "
        "!If (Fn::If) is not supported yet"
    )


def test_duplicate_identifiers_name_both_resources(tmp_path: Path) -> None:
    body = """\
    Resources:
      Db:
        Type: AWS::RDS::DBCluster
        Properties: &cluster
          Engine: aurora-mysql
          ServerlessV2ScalingConfiguration: {MinCapacity: 0.5, MaxCapacity: 2}
          MasterUsername: admin
          MasterUserPassword: s3cret-pass
      DB:
        Type: AWS::RDS::DBCluster
        Properties: *cluster
    """
    assert load_error(tmp_path, body) == (
        f"{tmp_path / 'template.yaml'}: Resources.DB.Properties.DBClusterIdentifier: DB cluster "
        "identifier 'db' is already used by Db"
    )


def test_clusters_are_checked_before_functions(tmp_path: Path) -> None:
    body = """\
    Resources:
      Fn:
        Type: AWS::Serverless::Function
        Properties:
          Handler: app.handler
          Runtime: nodejs20.x
      Db:
        Type: AWS::RDS::DBCluster
        Properties:
          Engine: mysql
    """
    assert load_error(tmp_path, body) == (
        f"{tmp_path / 'template.yaml'}: Resources.Db.Properties.Engine: Engine mysql is not "
        "supported (faaslab emulates Aurora Serverless clusters: aurora-mysql or "
        "aurora-postgresql)"
    )


def test_cluster_referring_to_itself(tmp_path: Path) -> None:
    body = """\
    Resources:
      Db:
        Type: AWS::RDS::DBCluster
        Properties:
          Engine: aurora-mysql
          ServerlessV2ScalingConfiguration: {MinCapacity: 0.5, MaxCapacity: 2}
          MasterUsername: admin
          MasterUserPassword: s3cret-pass
          Port: !GetAtt Db.Endpoint.Port
    """
    assert load_error(tmp_path, body) == (
        f"{tmp_path / 'template.yaml'}: Resources.Db.Properties: cluster Db refers to itself"
    )


def test_other_cluster_attributes_go_to_the_attribute_resolver(tmp_path: Path) -> None:
    body = """\
    Resources:
      Db:
        Type: AWS::RDS::DBCluster
        Properties:
          Engine: aurora-mysql
          ServerlessV2ScalingConfiguration: {MinCapacity: 0.5, MaxCapacity: 2}
          MasterUsername: admin
          MasterUserPassword: s3cret-pass
      Fn:
        Type: AWS::Serverless::Function
        Properties:
          Handler: app.handler
          Runtime: python3.12
          Environment:
            Variables:
              SECRET: !GetAtt Db.MasterUserSecret.SecretArn
    """

    def resolver(logical_id: str, attr: str) -> str | None:
        return "arn:secret" if (logical_id, attr) == ("Db", "MasterUserSecret.SecretArn") else None

    template = load(tmp_path, body, attribute_resolver=resolver)
    assert template.functions["Fn"].environment == {"SECRET": "arn:secret"}
    assert load_error(tmp_path, body) == (
        f"{tmp_path / 'template.yaml'}: Resources.Fn.Properties.Environment.Variables.SECRET: "
        "!GetAtt Db.MasterUserSecret.SecretArn: resource Db of type AWS::RDS::DBCluster has no "
        "attribute MasterUserSecret.SecretArn emulated yet"
    )


# -- faaslab db create -------------------------------------------------------------------------


def test_spec_from_options_v1_mysql() -> None:
    spec = spec_from_options(
        "Orders", "mysql", "v1", None, None, None, "admin", PASSWORD, "shop", 3307
    )
    assert spec == ClusterSpec(
        identifier="orders",
        engine=Engine.MYSQL,
        version=Version.V1,
        master_username="admin",
        master_password=PASSWORD,
        min_capacity=1.0,
        max_capacity=16.0,
        auto_pause=False,  # no --auto-pause
        seconds_until_auto_pause=300,
        database_name="shop",
        port=3307,
        ingress=LOOPBACK_INGRESS,
    )
    paused = spec_from_options("orders", "MySQL", Version.V1, 2, 8, 900, "admin", PASSWORD)
    assert (paused.min_capacity, paused.max_capacity) == (2.0, 8.0)
    assert (paused.auto_pause, paused.seconds_until_auto_pause) == (True, 900)
    assert spec_from_options("o", "mysql", "v1", 2, 8, 0, "admin", PASSWORD).auto_pause is False


def test_spec_from_options_v2_postgresql() -> None:
    pausing = spec_from_options("pg", "postgresql", "v2", None, 4, 600, "postgres", PASSWORD)
    assert (pausing.engine, pausing.version) == (Engine.POSTGRESQL, Version.V2)
    assert (pausing.min_capacity, pausing.max_capacity) == (0.0, 4.0)
    assert (pausing.auto_pause, pausing.seconds_until_auto_pause) == (True, 600)
    steady = spec_from_options("pg", "postgresql", "v2", None, None, None, "postgres", PASSWORD)
    assert (steady.min_capacity, steady.max_capacity, steady.auto_pause) == (0.5, 16.0, False)
    zero = spec_from_options("pg", "postgresql", "v2", 0, 2, None, "postgres", PASSWORD)
    assert (zero.auto_pause, zero.seconds_until_auto_pause) == (True, 300)  # AWS's default
    big = spec_from_options("pg", "postgresql", "v2", 32, None, None, "postgres", PASSWORD)
    assert (big.min_capacity, big.max_capacity) == (32.0, 32.0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("my--db", "mysql", "v1", None, None, None, "admin", PASSWORD), BAD_IDENTIFIER),
        (
            ("db", "oracle", "v1", None, None, None, "admin", PASSWORD),
            "Engine oracle is not supported (faaslab emulates Aurora Serverless clusters: "
            "aurora-mysql or aurora-postgresql)",
        ),
        (
            ("db", "mysql", "v3", None, None, None, "admin", PASSWORD),
            "version must be v1 or v2, got 'v3'",
        ),
        (
            ("db", "postgresql", "v1", 1, None, None, "admin2", PASSWORD),
            "Capacity value 1 is not valid. For aurora-postgresql, valid capacity values are "
            "2, 4, 8, 16, 32, 64, 192, 384.",
        ),
        (
            ("db", "mysql", "v1", None, None, 60, "admin", PASSWORD),
            "SecondsUntilAutoPause 60 is not valid. Specify a value between 300 and 86,400 "
            "seconds.",
        ),
        (
            ("db", "mysql", "v2", 1, 4, 600, "admin", PASSWORD),
            "Aurora Serverless v2 pauses only with MinCapacity 0, got MinCapacity 1: use "
            "--min-capacity 0 to auto-pause",
        ),
        (
            ("db", "mysql", "v2", 0.25, 4, None, "admin", PASSWORD),
            "Serverless v2 minimum capacity 0.25 isn't valid. You can specify ACU values in "
            "half-step increments, such as 8, 8.5, 9, and so on.",
        ),
        (
            ("db", "postgresql", "v2", 0.5, 4, None, "admin", PASSWORD),
            "MasterUsername admin cannot be used as it is a reserved word used by the engine",
        ),
        (
            ("db", "mysql", "v2", 0.5, 4, None, "admin", "short"),
            "The parameter MasterUserPassword is not a valid password because it is shorter than "
            "8 characters.",
        ),
    ],
)
def test_spec_from_options_shares_the_checks(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(SpecError) as info:
        spec_from_options(*args)
    assert str(info.value) == message


def test_spec_from_options_checks_name_and_port() -> None:
    with pytest.raises(SpecError, match=re.escape(BAD_DATABASE_NAME)):
        spec_from_options("db", "mysql", "v1", None, None, None, "admin", PASSWORD, "my-db")
    with pytest.raises(
        SpecError, match=re.escape("Port 99 is not valid. Valid Values: 1150-65535")
    ):
        spec_from_options("db", "mysql", "v1", None, None, None, "admin", PASSWORD, port=99)
