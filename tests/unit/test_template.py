"""faaslab.template: loading SAM templates into FunctionConfig / ApiRoute records."""

from __future__ import annotations

import base64
import re
import textwrap
from pathlib import Path

import pytest

from faaslab.functions import runtimes
from faaslab.functions.model import ApiRoute, EventKind
from faaslab.template import (
    EMULATED_TYPES,
    Template,
    TemplateError,
    load_template,
    parse_parameter_overrides,
)

HEADER = "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\n"


def write(directory: Path, body: str, header: str = HEADER) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "template.yaml"
    path.write_text(header + textwrap.dedent(body))
    return path


def one_function(props: str, extra: str = "") -> str:
    """A template with function HelloFn; `props` are extra Properties lines (unindented)."""
    lines = textwrap.indent(textwrap.dedent(props), " " * 6)
    return (
        f"{textwrap.dedent(extra)}"
        "Resources:\n"
        "  HelloFn:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        f"{lines}"
    )


def load_one(tmp_path: Path, props: str, extra: str = "", **kwargs: object) -> Template:
    return load_template(write(tmp_path, one_function(props, extra)), **kwargs)  # type: ignore[arg-type]


def error_of(path: Path, **kwargs: object) -> str:
    with pytest.raises(TemplateError) as info:
        load_template(path, **kwargs)  # type: ignore[arg-type]
    return str(info.value)


BASIC = "Handler: app.handler\nRuntime: python3.12\n"


# -- basics and defaults -----------------------------------------------------------------------


def test_minimal_function_gets_lambda_defaults(tmp_path: Path) -> None:
    template = load_one(tmp_path, BASIC)
    assert template.path == (tmp_path / "template.yaml").resolve()
    assert list(template.functions) == ["HelloFn"]
    fn = template.functions["HelloFn"]
    assert fn.name == "HelloFn" and fn.logical_id == "HelloFn"
    assert fn.handler == "app.handler" and fn.runtime == "python3.12"
    assert fn.code_dir == tmp_path.resolve()
    assert (fn.memory_mb, fn.timeout_s, fn.ephemeral_mb) == (128, 3, 512)
    assert fn.environment == {} and fn.reserved_concurrency is None and fn.routes == ()
    assert fn.arn == "arn:aws:lambda:us-east-1:123456789012:function:HelloFn"
    assert template.routes == () and template.unsupported == {} and template.parameters == {}
    emulated = {"AWS::Serverless::Function", "AWS::Lambda::Function", "AWS::RDS::DBCluster"}
    emulated |= {"AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress"}
    emulated |= {"AWS::S3::Bucket", "AWS::SecretsManager::Secret"}
    emulated |= {"AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"}
    assert frozenset(emulated) == EMULATED_TYPES
    assert template.clusters == {}


def test_all_function_properties(tmp_path: Path) -> None:
    template = load_one(
        tmp_path,
        """\
        FunctionName: hello-world
        Handler: pkg.mod.handler
        Runtime: python3.11
        MemorySize: 1024
        Timeout: 2.5
        EphemeralStorage: {Size: 2048}
        ReservedConcurrentExecutions: 0
        Policies: [AWSLambdaBasicExecutionRole]
        Architectures: [x86_64]
        Tracing: Active
        Description: ignored
        Environment:
          Variables:
            TEXT: plain
            FLAG_ON: true
            FLAG_OFF: false
            COUNT: 5
            RATIO: 1.5
            EMPTY: ""
        """,
        region="eu-west-1",
        account="111122223333",
    )
    fn = template.functions["hello-world"]
    assert fn.logical_id == "HelloFn" and fn.handler == "pkg.mod.handler"
    assert (fn.memory_mb, fn.timeout_s, fn.ephemeral_mb) == (1024, 2.5, 2048)
    assert fn.reserved_concurrency == 0
    assert fn.environment == {
        "TEXT": "plain",
        "FLAG_ON": "true",
        "FLAG_OFF": "false",
        "COUNT": "5",
        "RATIO": "1.5",
        "EMPTY": "",
    }
    assert (fn.region, fn.account) == ("eu-west-1", "111122223333")
    assert fn.arn == "arn:aws:lambda:eu-west-1:111122223333:function:hello-world"


# -- Globals -----------------------------------------------------------------------------------


def test_globals_merge_scalars_and_environment_maps(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        Globals:
          Function:
            Runtime: python3.11
            Handler: app.handler
            MemorySize: 256
            Timeout: 10
            Environment:
              Variables:
                SHARED: from-globals
                OVERRIDDEN: from-globals
        Resources:
          Custom:
            Type: AWS::Serverless::Function
            Properties:
              MemorySize: 512
              Environment:
                Variables:
                  OVERRIDDEN: from-function
                  OWN: mine
          Plain:
            Type: AWS::Serverless::Function
        """,
    )
    template = load_template(path)
    custom, plain = template.functions["Custom"], template.functions["Plain"]
    assert custom.runtime == plain.runtime == "python3.11"
    assert (custom.memory_mb, custom.timeout_s) == (512, 10)
    assert (plain.memory_mb, plain.timeout_s) == (256, 10)
    assert custom.environment == {
        "SHARED": "from-globals",
        "OVERRIDDEN": "from-function",
        "OWN": "mine",
    }
    assert plain.environment == {"SHARED": "from-globals", "OVERRIDDEN": "from-globals"}


def test_globals_do_not_apply_to_plain_lambda_functions(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        Globals:
          Function: {Runtime: python3.11, MemorySize: 256}
        Resources:
          Raw:
            Type: AWS::Lambda::Function
            Properties: {Handler: app.handler, Code: ., Runtime: python3.12}
        """,
    )
    fn = load_template(path).functions["Raw"]
    assert (fn.runtime, fn.memory_mb) == ("python3.12", 128)


def test_error_in_globals_names_globals(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        Globals:
          Function: {Runtime: python3.11, Timeout: 901}
        Resources:
          HelloFn:
            Type: AWS::Serverless::Function
            Properties: {Handler: app.handler}
        """,
    )
    assert error_of(path) == f"{path}: Globals.Function.Timeout: must be a number 1-900, got 901"


def test_missing_runtime_everywhere(tmp_path: Path) -> None:
    path = write(tmp_path, one_function("Handler: app.handler\n"))
    assert error_of(path) == (
        f"{path}: Resources.HelloFn.Properties.Runtime: "
        "missing (required) (on the function or in Globals.Function)"
    )


# -- intrinsic functions -----------------------------------------------------------------------

INTRINSICS = """\
Handler: app.handler
Runtime: python3.11
Environment:
  Variables:
    REF_PARAM: !Ref Stage
    REGION: !Ref AWS::Region
    ACCOUNT: !Ref AWS::AccountId
    STACK: !Ref AWS::StackName
    PARTITION: !Ref AWS::Partition
    SUFFIX: !Ref AWS::URLSuffix
    REF_FN: !Ref OtherFn
    SUB: !Sub "${Stage}.${AWS::Region}.${OtherFn}"
    SUB_VARS: !Sub ["${Greeting}, ${Stage}", {Greeting: !Ref AWS::Partition}]
    SUB_LITERAL: !Sub "${!Literal}-${Stage}"
    SUB_ATTR: !Sub "${OtherFn.Arn}"
    GETATT_DOT: !GetAtt OtherFn.Arn
    GETATT_LIST: !GetAtt [OtherFn, Arn]
    JOIN: !Join ["-", [a, !Ref Stage, c]]
    SELECT: !Select [1, [x, y, z]]
    SELECT_SPLIT: !Select [2, !Split [",", "p,q,r"]]
    BASE64: !Base64 hello
    MAP: !FindInMap [Sizes, !Ref Stage, Name]
    NO_VALUE: !Ref AWS::NoValue
    FULL_REF: {Ref: Stage}
    FULL_SUB: {"Fn::Sub": "${AWS::AccountId}-${Stage}"}
    FULL_SUB_VARS: {"Fn::Sub": ["${X}", {X: {Ref: AWS::Region}}]}
    FULL_GETATT: {"Fn::GetAtt": [OtherFn, Arn]}
    FULL_JOIN: {"Fn::Join": ["/", [{Ref: Stage}, b]]}
    FULL_SELECT: {"Fn::Select": ["0", [first, second]]}
"""
INTRINSICS_EXTRA = """\
Parameters:
  Stage: {Type: String, Default: dev}
Mappings:
  Sizes:
    dev: {Name: small}
"""
OTHER_FN = """\
  OtherFn:
    Type: AWS::Serverless::Function
    Properties: {Handler: o.h, Runtime: python3.11, FunctionName: other-fn}
"""


def test_every_intrinsic_form(tmp_path: Path) -> None:
    app = tmp_path / "myapp"
    path = write(app, one_function(INTRINSICS, INTRINSICS_EXTRA) + OTHER_FN)
    env = load_template(path, region="ap-south-1").functions["HelloFn"].environment
    arn = "arn:aws:lambda:ap-south-1:123456789012:function:other-fn"
    assert env == {
        "REF_PARAM": "dev",
        "REGION": "ap-south-1",
        "ACCOUNT": "123456789012",
        "STACK": "myapp",
        "PARTITION": "aws",
        "SUFFIX": "amazonaws.com",
        "REF_FN": "other-fn",
        "SUB": "dev.ap-south-1.other-fn",
        "SUB_VARS": "aws, dev",
        "SUB_LITERAL": "${Literal}-dev",
        "SUB_ATTR": arn,
        "GETATT_DOT": arn,
        "GETATT_LIST": arn,
        "JOIN": "a-dev-c",
        "SELECT": "y",
        "SELECT_SPLIT": "r",
        "BASE64": base64.b64encode(b"hello").decode(),
        "MAP": "small",
        "FULL_REF": "dev",
        "FULL_SUB": "123456789012-dev",
        "FULL_SUB_VARS": "ap-south-1",
        "FULL_GETATT": arn,
        "FULL_JOIN": "dev/b",
        "FULL_SELECT": "first",
    }


def test_stack_name_falls_back_when_dir_name_is_not_a_stack_name(tmp_path: Path) -> None:
    template = load_one(
        tmp_path / "1 bad_dir", BASIC + "Environment: {Variables: {SN: !Ref AWS::StackName}}\n"
    )
    assert template.functions["HelloFn"].environment == {"SN": "faaslab"}


def test_function_name_from_intrinsic(tmp_path: Path) -> None:
    template = load_one(
        tmp_path / "shop",
        BASIC + 'FunctionName: !Sub "${AWS::StackName}-${Stage}-hello"\n',
        "Parameters: {Stage: {Type: String, Default: prod}}\n",
    )
    assert list(template.functions) == ["shop-prod-hello"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("!If [IsProd, a, b]", "!If (Fn::If) is not supported yet"),
        ("!ImportValue shared", "!ImportValue (Fn::ImportValue) is not supported yet"),
        ("!Ref Nope", "!Ref Nope: no parameter or resource named Nope"),
        ("!GetAtt Nope.Arn", "!GetAtt Nope.Arn: no resource named Nope"),
        ("!Sub '${Nope}'", "!Ref Nope: no parameter or resource named Nope"),
        ("!GetAtt NoDot", "!GetAtt takes Resource.Attribute, got 'NoDot'"),
        ("!Select [5, [a]]", "!Select: no item 5 in ['a']"),
        ("!FindInMap [M, a, b]", "!FindInMap: Mappings has no ['M', 'a', 'b']"),
        ("[a, b]", "must be a string, number or boolean, got ['a', 'b']"),
    ],
)
def test_bad_intrinsics_name_the_place(tmp_path: Path, value: str, message: str) -> None:
    path = write(tmp_path, one_function(BASIC + f"Environment: {{Variables: {{VAR: {value}}}}}\n"))
    assert error_of(path) == (
        f"{path}: Resources.HelloFn.Properties.Environment.Variables.VAR: {message}"
    )


def test_unsupported_intrinsic_in_an_ignored_property_is_harmless(tmp_path: Path) -> None:
    template = load_one(tmp_path, BASIC + "Role: !If [IsProd, a, b]\nTags: {t: !GetAZs ''}\n")
    assert template.functions["HelloFn"].handler == "app.handler"


# -- parameters --------------------------------------------------------------------------------

PARAMS = """\
Parameters:
  Stage:
    Type: String
    Default: dev
    AllowedValues: [dev, prod]
  Memory:
    Type: Number
    Default: 256
  Name:
    Type: String
"""
PARAM_PROPS = BASIC + (
    "MemorySize: !Ref Memory\nEnvironment: {Variables: {STAGE: !Ref Stage, NAME: !Ref Name}}\n"
)


def test_parameter_defaults_and_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, one_function(PARAM_PROPS, PARAMS))
    template = load_template(path, parameter_overrides={"Name": "n1"})
    assert template.parameters == {"Stage": "dev", "Memory": "256", "Name": "n1"}
    fn = template.functions["HelloFn"]
    assert fn.memory_mb == 256 and fn.environment == {"STAGE": "dev", "NAME": "n1"}

    overrides = parse_parameter_overrides(
        [
            "Stage=prod ParameterKey=Memory,ParameterValue=2048",
            "ParameterKey=Name,ParameterValue=n2",
        ]
    )
    template = load_template(path, parameter_overrides=overrides)
    assert template.parameters == {"Stage": "prod", "Memory": "2048", "Name": "n2"}
    fn = template.functions["HelloFn"]
    assert fn.memory_mb == 2048 and fn.environment == {"STAGE": "prod", "NAME": "n2"}


def test_parameter_errors(tmp_path: Path) -> None:
    path = write(tmp_path, one_function(PARAM_PROPS, PARAMS))
    assert error_of(path) == (
        f"{path}: Parameters.Name: no value: give it a Default or pass "
        "--parameter-overrides Name=VALUE"
    )
    assert error_of(path, parameter_overrides={"Name": "x", "Stage": "qa"}) == (
        f"{path}: Parameters.Stage: 'qa' is not one of AllowedValues ['dev', 'prod']"
    )
    assert error_of(path, parameter_overrides={"Name": "x", "Memory": "lots"}) == (
        f"{path}: Parameters.Memory: Type Number, got 'lots'"
    )
    assert error_of(path, parameter_overrides={"Name": "x", "Typo": "1"}) == (
        f"{path}: Parameters: no parameter named Typo to override"
    )


def test_list_parameter_and_join(tmp_path: Path) -> None:
    template = load_one(
        tmp_path,
        BASIC
        + "Environment:\n  Variables:\n"
        + "    HOSTS: !Join [';', !Ref Hosts]\n    H1: !Select [1, !Ref Hosts]\n",
        "Parameters: {Hosts: {Type: CommaDelimitedList, Default: 'a, b,c'}}\n",
    )
    assert template.functions["HelloFn"].environment == {"HOSTS": "a;b;c", "H1": "b"}


def test_parse_parameter_overrides_forms() -> None:
    assert parse_parameter_overrides([]) == {}
    assert parse_parameter_overrides(
        [
            "  A=1 B=two=2  ",
            "ParameterKey=C,ParameterValue=x,y",
            'D="hello world" E=\'single q\' F="say \\"hi\\""',
            "G=",
        ]
    ) == {
        "A": "1",
        "B": "two=2",
        "C": "x,y",
        "D": "hello world",
        "E": "single q",
        "F": 'say "hi"',
        "G": "",
    }
    assert parse_parameter_overrides(["A=1", "A=2"]) == {"A": "2"}


@pytest.mark.parametrize("bad", ["novalue", "A=1 stray", "bad-key=1", "=1"])
def test_parse_parameter_overrides_rejects_garbage(bad: str) -> None:
    with pytest.raises(TemplateError, match=r"--parameter-overrides: .* is neither Key=Value"):
        parse_parameter_overrides([bad])


# -- other resources and the attribute resolver ------------------------------------------------

OTHER_RESOURCES = """\
  Bucket:
    Type: AWS::DynamoDB::Table
  Db:
    Type: AWS::RDS::DBInstance
    Properties:
      MasterUsername: !Ref User
      Port: !GetAtt Db.Endpoint.Port
"""
OTHER_PROPS = (
    BASIC
    + """\
Environment:
  Variables:
    BUCKET: !Ref Bucket
    DB_HOST: !GetAtt Db.Endpoint.Address
    DB_URL: !Sub "postgres://${Db.Endpoint.Address}/${Bucket}"
"""
)


def test_attribute_resolver_supplies_other_resources(tmp_path: Path) -> None:
    calls: list[tuple[str, str]] = []

    def resolver(logical_id: str, attr: str) -> str | None:
        calls.append((logical_id, attr))
        return {("Bucket", "Ref"): "bucket-1", ("Db", "Endpoint.Address"): "127.0.0.1"}.get(
            (logical_id, attr)
        )

    path = write(
        tmp_path,
        one_function(OTHER_PROPS, "Parameters: {User: {Type: String, Default: admin}}\n")
        + OTHER_RESOURCES,
    )
    template = load_template(path, attribute_resolver=resolver)
    assert template.functions["HelloFn"].environment == {
        "BUCKET": "bucket-1",
        "DB_HOST": "127.0.0.1",
        "DB_URL": "postgres://127.0.0.1/bucket-1",
    }
    assert ("Bucket", "Ref") in calls and ("Db", "Endpoint.Address") in calls
    assert template.unsupported == {
        "Bucket": "AWS::DynamoDB::Table",
        "Db": "AWS::RDS::DBInstance",
    }
    db = template.resources["Db"]
    assert db["Properties"]["MasterUsername"] == {"Ref": "User"}  # kept raw
    assert template.resolve(db["Properties"]["MasterUsername"], "Resources.Db") == "admin"
    with pytest.raises(TemplateError, match=r"Resources\.Db\.Port: !GetAtt Db\.Endpoint\.Port"):
        template.resolve(db["Properties"]["Port"], "Resources.Db.Port")


def test_ref_without_resolver_is_the_logical_id(tmp_path: Path) -> None:
    props = BASIC + "Environment: {Variables: {BUCKET: !Ref Bucket}}\n"
    path = write(tmp_path, one_function(props) + "  Bucket:\n    Type: AWS::DynamoDB::Table\n")
    assert load_template(path).functions["HelloFn"].environment == {"BUCKET": "Bucket"}
    resolver_says_none = load_template(path, attribute_resolver=lambda lid, attr: None)
    assert resolver_says_none.functions["HelloFn"].environment == {"BUCKET": "Bucket"}


def test_s3_buckets_are_named_referenced_and_checked(tmp_path: Path) -> None:
    props = BASIC + (
        "Environment: {Variables: {NAMED: !Ref Named, GEN: !Ref Generated, "
        "ARN: !GetAtt Named.Arn, DOMAIN: !GetAtt Named.RegionalDomainName}}\n"
    )
    resources = (
        "  Named:\n    Type: AWS::S3::Bucket\n"
        "    Properties: {BucketName: !Sub 'data-${AWS::Region}'}\n"
        "  Generated:\n    Type: AWS::S3::Bucket\n"
    )
    path = write(tmp_path, one_function(props) + resources)
    template = load_template(path)
    env = template.functions["HelloFn"].environment
    assert env["NAMED"] == "data-us-east-1"
    assert env["ARN"] == "arn:aws:s3:::data-us-east-1"
    assert env["DOMAIN"] == "data-us-east-1.s3.us-east-1.amazonaws.com"
    generated = env["GEN"]
    assert re.fullmatch(r"[a-z0-9-]+-generated-[0-9a-f]{12}", generated), generated
    assert load_template(path).functions["HelloFn"].environment["GEN"] == generated  # stable
    assert template.buckets == {"data-us-east-1": "Named", generated: "Generated"}
    assert template.unsupported == {}
    bad = write(
        tmp_path, one_function(BASIC) + resources.replace("data-${AWS::Region}", "Bad_Name")
    )
    assert "Resources.Named.Properties.BucketName: invalid bucket name 'Bad_Name'" in error_of(bad)


def test_getatt_without_emulation_is_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        one_function(OTHER_PROPS, "Parameters: {User: {Type: String, Default: admin}}\n")
        + OTHER_RESOURCES,
    )
    assert error_of(path) == (
        f"{path}: Resources.HelloFn.Properties.Environment.Variables.DB_HOST: "
        "!GetAtt Db.Endpoint.Address: resource Db of type AWS::RDS::DBInstance "
        "has no attribute Endpoint.Address emulated yet"
    )


# -- events ------------------------------------------------------------------------------------


def test_api_and_http_api_routes(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        one_function(
            BASIC
            + textwrap.dedent(
                """\
            Events:
              Get: {Type: Api, Properties: {Path: "/hello/{name}", Method: get}}
              Post: {Type: Api, Properties: {Path: /hello, Method: POST, RestApiId: !Ref MyApi}}
              Http: {Type: HttpApi, Properties: {Path: /items, Method: put}}
              Fallback: {Type: HttpApi}
              Nightly: {Type: Schedule, Properties: {Schedule: rate(1 day)}}
              Upload: {Type: S3, Properties: {Bucket: !Ref Bucket, Events: "s3:ObjectCreated:*"}}
            """
            )
        )
        + "  MyApi:\n    Type: AWS::Serverless::Api\n    Properties: {StageName: Prod}\n",
    )
    template = load_template(path)
    expected = (
        ApiRoute("HelloFn", EventKind.API, "GET", "/hello/{name}"),
        ApiRoute("HelloFn", EventKind.API, "POST", "/hello"),
        ApiRoute("HelloFn", EventKind.HTTP_API, "PUT", "/items"),
        ApiRoute("HelloFn", EventKind.HTTP_API, "ANY", "/{proxy+}"),
    )
    assert template.routes == expected
    assert template.functions["HelloFn"].routes == expected
    assert template.unsupported == {}  # the Api's routes are served; its StageName is warned
    assert [(w.resource, w.prop) for w in template.warnings] == [
        ("HelloFn", "Events.Nightly"),
        ("HelloFn", "Events.Upload"),
        ("MyApi", "StageName"),
    ]
    assert template.warnings[0].reason.startswith("Schedule event sources are not emulated")


@pytest.mark.parametrize(
    ("event", "key", "message"),
    [
        ("{Type: Api, Properties: {Method: get}}", "E.Properties.Path",
         "missing (required for Api events)"),
        ("{Type: Api, Properties: {Path: /x}}", "E.Properties.Method",
         "missing (required for Api events)"),
        ("{Type: Api, Properties: {Path: x, Method: get}}", "E.Properties.Path",
         "must start with /, got 'x'"),
        ("{Type: HttpApi, Properties: {Method: fetch}}", "E.Properties.Method",
         "must be one of ['ANY', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'], "
         "got 'fetch'"),
        ("{Properties: {Path: /x}}", "E.Type", "missing"),
    ],
)  # fmt: skip
def test_bad_events(tmp_path: Path, event: str, key: str, message: str) -> None:
    path = write(tmp_path, one_function(BASIC + f"Events:\n  E: {event}\n"))
    assert error_of(path) == f"{path}: Resources.HelloFn.Properties.Events.{key}: {message}"


def test_duplicate_route_is_an_error(tmp_path: Path) -> None:
    event = "Events: {E: {Type: Api, Properties: {Path: /a, Method: GET}}}\n"
    second = "  Second:\n    Type: AWS::Serverless::Function\n    Properties:\n"
    second += textwrap.indent(BASIC + event.replace("E:", "F:").replace("GET", "get"), " " * 6)
    path = write(tmp_path, one_function(BASIC + event) + second)
    assert error_of(path) == (
        f"{path}: Resources.Second.Properties.Events.F: Api route GET /a is already used by HelloFn"
    )


# -- code location -----------------------------------------------------------------------------


def test_code_uri_is_relative_to_the_template_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = tmp_path / "project" / "app"
    (app / "src" / "hello").mkdir(parents=True)
    (tmp_path / "project" / "shared").mkdir()
    write(
        app,
        """\
        Globals:
          Function: {Runtime: python3.11, Handler: app.handler}
        Resources:
          Hello:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: src/hello}
          Shared:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: ../shared/}
          Here:
            Type: AWS::Serverless::Function
          Raw:
            Type: AWS::Lambda::Function
            Properties: {Handler: app.handler, Runtime: python3.11, Code: src}
        """,
    )
    monkeypatch.chdir(tmp_path)  # resolution must not depend on the working directory
    template = load_template(Path("project/app/template.yaml"))
    dirs = {name: fn.code_dir for name, fn in template.functions.items()}
    assert dirs == {
        "Hello": (app / "src" / "hello").resolve(),
        "Shared": (tmp_path / "project" / "shared").resolve(),
        "Here": app.resolve(),
        "Raw": (app / "src").resolve(),
    }
    assert all(d.is_absolute() for d in dirs.values())


@pytest.mark.parametrize(
    ("prop", "message"),
    [
        ("CodeUri: missing_dir", "missing_dir: no such directory"),
        ("CodeUri: afile.txt", "afile.txt: neither a directory nor a .zip or .jar"),
        ("CodeUri: s3://bucket/code.zip", "s3://bucket/code.zip is not a local directory"),
        ("CodeUri: {Bucket: b, Key: k}", "must be a local directory path"),
    ],
)
def test_bad_code_uri(tmp_path: Path, prop: str, message: str) -> None:
    (tmp_path / "afile.txt").write_text("x")
    path = write(tmp_path, one_function(BASIC + prop + "\n"))
    assert error_of(path).startswith(f"{path}: Resources.HelloFn.Properties.CodeUri: {message}")


def test_lambda_function_code_must_be_a_local_path(tmp_path: Path) -> None:
    body = "Resources:\n  Raw:\n    Type: AWS::Lambda::Function\n    Properties:\n"
    body += "      Handler: a.b\n      Runtime: python3.11\n"
    zipfile = write(tmp_path / "zip", body + "      Code: {ZipFile: 'def h(e, c): pass'}\n")
    assert error_of(zipfile).startswith(
        f"{zipfile}: Resources.Raw.Properties.Code: must be a local directory path"
    )
    missing = write(tmp_path / "none", body)
    assert error_of(missing) == (
        f"{missing}: Resources.Raw.Properties.Code: "
        "missing (a local directory, relative to the template)"
    )


# -- property validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "key", "message"),
    [
        ("MemorySize: big", "MemorySize", "must be an integer 128-10240, got 'big'"),
        ("MemorySize: 64", "MemorySize", "must be an integer 128-10240, got 64"),
        ("MemorySize: 10241", "MemorySize", "must be an integer 128-10240, got 10241"),
        ("MemorySize: 200.5", "MemorySize", "must be an integer 128-10240, got 200.5"),
        ("MemorySize: true", "MemorySize", "must be an integer 128-10240, got True"),
        ("Timeout: 0", "Timeout", "must be a number 1-900, got 0"),
        ("Timeout: 901", "Timeout", "must be a number 1-900, got 901"),
        ("Timeout: soon", "Timeout", "must be a number 1-900, got 'soon'"),
        ("EphemeralStorage: {Size: 100}", "EphemeralStorage.Size",
         "must be an integer 512-10240, got 100"),
        ("EphemeralStorage: 1024", "EphemeralStorage", "must be a mapping with Size"),
        ("ReservedConcurrentExecutions: -1", "ReservedConcurrentExecutions",
         "must be an integer >= 0, got -1"),
        ("FunctionName: 'has space'", "FunctionName",
         "must be 1-64 letters, digits, hyphens or underscores, got 'has space'"),
        ("Environment: {Variables: {AWS_REGION: x}}", "Environment.Variables.AWS_REGION",
         "AWS_REGION is reserved by Lambda and cannot be set"),
        ("Environment: {Variables: {bad-name: x}}", "Environment.Variables.bad-name",
         "names are a letter, then 1+ letters, digits or underscores"),
        ("Environment: {Variables: {A: x}}", "Environment.Variables.A",
         "names are a letter, then 1+ letters, digits or underscores"),
        ("Environment: {Variables: [a]}", "Environment.Variables", "must be a mapping"),
        ("Environment: {Variables: {BIG: " + "x" * 4094 + "}}", "Environment.Variables",
         "4097 bytes of variables; Lambda allows 4096"),
        ("PackageType: Image", "PackageType", "only Zip functions are supported yet"),
        ("Events: [a]", "Events", "must be a mapping"),
    ],
)  # fmt: skip
def test_bad_properties_name_file_and_key(
    tmp_path: Path, props: str, key: str, message: str
) -> None:
    path = write(tmp_path, one_function(BASIC + props + "\n"))
    assert error_of(path) == f"{path}: Resources.HelloFn.Properties.{key}: {message}"


def test_handler_is_required(tmp_path: Path) -> None:
    path = write(tmp_path, one_function("Runtime: python3.11\n"))
    assert error_of(path) == f"{path}: Resources.HelloFn.Properties.Handler: missing (required)"


@pytest.mark.parametrize("runtime", ["ruby3.3", "dotnet8", "java25"])
def test_unsupported_runtime(tmp_path: Path, runtime: str) -> None:
    path = write(tmp_path, one_function(f"Handler: app.handler\nRuntime: {runtime}\n"))
    assert error_of(path) == (
        f"{path}: Resources.HelloFn.Properties.Runtime: "
        f"Runtime {runtime} is not supported yet (faaslab runs {', '.join(runtimes.supported())})"
    )


@pytest.mark.parametrize("runtime", ["java8.al2", "java11", "java17", "java21"])
def test_java_runtimes(tmp_path: Path, runtime: str) -> None:
    path = write(tmp_path, one_function(f"Handler: example.Hello::handle\nRuntime: {runtime}\n"))
    fn = load_template(path).functions["HelloFn"]
    assert (fn.runtime, fn.handler) == (runtime, "example.Hello::handle")


def test_old_python_runtime(tmp_path: Path) -> None:
    path = write(tmp_path, one_function("Handler: app.handler\nRuntime: python3.8\n"))
    assert error_of(path) == (
        f"{path}: Resources.HelloFn.Properties.Runtime: Runtime python3.8 is not supported "
        f"(use {', '.join(runtimes.supported())})"
    )


@pytest.mark.parametrize(
    ("runtime", "successor"), [("nodejs18.x", "nodejs22.x"), ("provided", "provided.al2023")]
)
def test_blocked_runtime_is_refused_in_aws_words(
    tmp_path: Path, runtime: str, successor: str
) -> None:
    """AWS no longer creates or updates functions on a deprecated runtime's last phase."""
    path = write(tmp_path, one_function(f"Handler: app.handler\nRuntime: {runtime}\n"))
    assert error_of(path) == (
        f"{path}: Resources.HelloFn.Properties.Runtime: The runtime parameter of {runtime} is "
        "no longer supported for creating or updating AWS Lambda functions. We recommend you "
        f"use the new runtime ({successor}) while creating or updating functions."
    )


@pytest.mark.parametrize(
    "runtime", ["nodejs20.x", "nodejs22.x", "provided.al2023", "provided.al2", "python3.12"]
)
def test_supported_runtimes_load(tmp_path: Path, runtime: str) -> None:
    template = load_one(tmp_path, f"Handler: app.handler\nRuntime: {runtime}\n")
    assert template.functions["HelloFn"].runtime == runtime


def test_numbers_from_parameters_and_strings(tmp_path: Path) -> None:
    template = load_one(
        tmp_path,
        BASIC + "MemorySize: '512'\nTimeout: !Ref T\nEphemeralStorage: {Size: 1024.0}\n",
        "Parameters: {T: {Type: Number, Default: 0.5e2}}\n",
    )
    fn = template.functions["HelloFn"]
    assert (fn.memory_mb, fn.timeout_s, fn.ephemeral_mb) == (512, 50, 1024)
    assert isinstance(fn.memory_mb, int) and isinstance(fn.ephemeral_mb, int)


# -- document-level errors ---------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert error_of(path) == f"{path}: no such file"


def test_invalid_yaml_reports_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "Resources:\n  Fn:\n    Type: [unclosed\n")
    message = error_of(path)
    assert message.startswith(f"{path}: invalid YAML at line 6, column 1:"), message


def test_unknown_tag_is_invalid_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, one_function(BASIC + "Description: !Bogus x\n"))
    message = error_of(path)
    assert message.startswith(f"{path}: invalid YAML at line 9, column 20:"), message
    assert "!Bogus" in message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Parameters: {}\n", "Resources: missing (a template needs at least one resource)"),
        ("Resources: {}\n", "Resources: empty (a template needs at least one resource)"),
        ("Resources: [a]\n", "Resources: must be a mapping"),
        ("Resources:\n  Fn:\n    Properties: {}\n", "Resources.Fn.Type: missing"),
        ("Resources:\n  Fn: 3\n", "Resources.Fn: must be a mapping with a Type"),
        ("Resources:\n  Bad-Id:\n    Type: AWS::S3::Bucket\n",
         "Resources.Bad-Id: logical ids are letters and digits only"),
        ("Resources:\n  Fn:\n    Type: AWS::S3::Bucket\n    Properties: 3\n",
         "Resources.Fn.Properties: must be a mapping"),
        ("Globals: {Function: {FunctionName: x}}\n" + one_function(BASIC),
         "Globals.Function.FunctionName: 'Globals' section is invalid. 'FunctionName' is not a "
         "supported property of 'Function'. Must be one of the following values - ['Handler', "
         "'Runtime', 'CodeUri', 'DeadLetterQueue', 'Description', 'MemorySize', 'Timeout', "
         "'VpcConfig', 'Environment', 'Tags', 'PropagateTags', 'Tracing', 'KmsKeyArn', "
         "'AutoPublishAlias', 'AutoPublishAliasAllProperties', 'Layers', 'DeploymentPreference', "
         "'RolePath', 'PermissionsBoundary', 'ReservedConcurrentExecutions', "
         "'ProvisionedConcurrencyConfig', 'AssumeRolePolicyDocument', 'EventInvokeConfig', "
         "'FileSystemConfigs', 'CodeSigningConfigArn', 'Architectures', 'SnapStart', "
         "'EphemeralStorage', 'FunctionUrlConfig', 'RuntimeManagementConfig', 'LoggingConfig', "
         "'RecursiveLoop', 'SourceKMSKeyArn', 'TenancyConfig', 'DurableConfig', "
         "'CapacityProviderConfig', 'FunctionScalingConfig', 'PublishToLatestPublished', "
         "'VersionDeletionPolicy']"),
    ],
)  # fmt: skip
def test_document_errors(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, body)
    assert error_of(path) == f"{path}: {message}"


def test_not_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "- just\n- a list\n", header="")
    assert error_of(path) == f"{path}: a template is a YAML mapping with a Resources section"


def test_transform(tmp_path: Path) -> None:
    no_transform = write(tmp_path / "a", one_function(BASIC), header="")
    assert "HelloFn" in load_template(no_transform).functions
    as_list_body = "Transform: [AWS::Serverless-2016-10-31]\n" + one_function(BASIC)
    as_list = write(tmp_path / "b", as_list_body, header="")
    assert "HelloFn" in load_template(as_list).functions
    other_body = "Transform: AWS::LanguageExtensions\n" + one_function(BASIC)
    other = write(tmp_path / "c", other_body, header="")
    assert error_of(other) == (
        f"{other}: Transform: 'AWS::LanguageExtensions' is not supported "
        "(faaslab reads AWS::Serverless-2016-10-31)"
    )


def test_duplicate_function_name(tmp_path: Path) -> None:
    second = "  Second:\n    Type: AWS::Serverless::Function\n    Properties:\n"
    second += textwrap.indent(BASIC + "FunctionName: HelloFn\n", " " * 6)
    path = write(tmp_path, one_function(BASIC) + second)
    assert error_of(path) == (
        f"{path}: Resources.Second.Properties.FunctionName: "
        "function name 'HelloFn' is already used by HelloFn"
    )


def test_function_name_cycle(tmp_path: Path) -> None:
    path = write(tmp_path, one_function(BASIC + "FunctionName: !Sub '${HelloFn}-x'\n"))
    assert error_of(path) == f"{path}: Resources.HelloFn.Properties.FunctionName: refers to itself"


# -- VpcConfig ------------------------------------------------------------------------------


def test_vpc_config_puts_a_function_in_the_vpc(tmp_path: Path) -> None:
    vpc = "VpcConfig:\n  SecurityGroupIds: [sg-1]\n  SubnetIds: [subnet-1, subnet-2]\n"
    fn = load_one(tmp_path, BASIC + vpc).functions["HelloFn"]
    assert fn.vpc is not None
    assert fn.vpc.security_group_ids == ("sg-1",)
    assert fn.vpc.subnet_ids == ("subnet-1", "subnet-2")
    assert load_one(tmp_path / "none", BASIC).functions["HelloFn"].vpc is None
    empty = "VpcConfig:\n  SecurityGroupIds: []\n  SubnetIds: []\n"  # (detached, as on AWS)
    assert load_one(tmp_path / "empty", BASIC + empty).functions["HelloFn"].vpc is None


def test_vpc_config_needs_both_lists_and_known_keys(tmp_path: Path) -> None:
    half = write(tmp_path / "half", one_function(BASIC + "VpcConfig:\n  SubnetIds: [subnet-1]\n"))
    assert "VpcConfig.SecurityGroupIds: missing: SubnetIds and SecurityIds must coexist" in (
        error_of(half)
    )
    typo = "VpcConfig:\n  SecurityGroupIds: [sg-1]\n  SubnetIds: [s-1]\n  Subnets: [s-2]\n"
    bad = write(tmp_path / "typo", one_function(BASIC + typo))
    assert "VpcConfig.Subnets: is not a VpcConfig property" in error_of(bad)


def test_vpc_ipv6_egress_is_named_as_not_emulated(tmp_path: Path) -> None:
    vpc = (
        "VpcConfig:\n  SecurityGroupIds: [sg-1]\n  SubnetIds: [subnet-1]\n"
        "  Ipv6AllowedForDualStack: true\n"
    )
    template = load_one(tmp_path, BASIC + vpc)
    assert template.unsupported == {}
    assert [(w.resource, w.prop) for w in template.warnings] == [
        ("HelloFn", "VpcConfig.Ipv6AllowedForDualStack")
    ]
    assert "IPv6" in template.warnings[0].reason
