"""faaslab.template_properties: the per-type property tables, AWS-worded refusals, and the
warnings a template's loader collects for what faaslab does not emulate."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from faaslab import template_properties as tp
from faaslab.template import AutoPublish, Template, TemplateError, load_template
from faaslab.template_properties import (
    GLOBALS,
    GLOBALS_SECTIONS,
    TABLES,
    TEMPLATE,
    PropertyWarning,
    Status,
)

HEADER = "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\n"
BASIC = "Handler: app.handler\nRuntime: python3.12\n"


def write(directory: Path, body: str) -> Path:
    path = directory / "template.yaml"
    path.write_text(HEADER + textwrap.dedent(body))
    return path


def resource(lid: str, rtype: str, props: str = "", extra: str = "") -> str:
    """One resource's YAML (under Resources:), `props` unindented Properties lines."""
    out = f"  {lid}:\n    Type: {rtype}\n{textwrap.indent(textwrap.dedent(extra), '    ')}"
    if props:
        out += "    Properties:\n" + textwrap.indent(textwrap.dedent(props), " " * 6)
    return out


def load(tmp_path: Path, *resources: str, head: str = "") -> Template:
    return load_template(write(tmp_path, head + "Resources:\n" + "".join(resources)))


def refusal(tmp_path: Path, *resources: str, head: str = "") -> str:
    with pytest.raises(TemplateError) as info:
        load(tmp_path, *resources, head=head)
    return str(info.value).split(": ", 1)[1]  # without the file name


def found(template: Template) -> list[tuple[str, str]]:
    return [(w.resource, w.prop) for w in template.warnings]


FN = "AWS::Serverless::Function"
LAMBDA = "AWS::Lambda::Function"


# -- the tables --------------------------------------------------------------------------------


def test_each_status_is_in_the_tables_with_a_reason_where_one_is_owed() -> None:
    fn = TABLES[FN]
    assert fn["Handler"].status is Status.IMPLEMENTED
    assert fn["Tracing"].status is Status.WARNED and "X-Ray" in fn["Tracing"].reason
    assert fn["InlineCode"].status is Status.REFUSED and "CodeUri" in fn["InlineCode"].reason
    assert fn["Layers"].status is Status.IMPLEMENTED  # (the build implements layers)
    for rtype, table in TABLES.items():
        for key, support in table.items():
            assert key.isidentifier(), (rtype, key)
            assert (support.status is Status.IMPLEMENTED) == (not support.reason), (rtype, key)


def test_the_issue_s_properties_are_all_warned() -> None:
    function = {
        "Tracing", "DeadLetterQueue", "EventInvokeConfig", "SnapStart", "FileSystemConfigs",
        "DeploymentPreference", "ProvisionedConcurrencyConfig", "KmsKeyArn",
        "CodeSigningConfigArn", "Policies", "Role", "LoggingConfig", "RuntimeManagementConfig",
    }  # fmt: skip
    bucket = {
        "LifecycleConfiguration", "NotificationConfiguration",
    }  # fmt: skip
    assert {TABLES[FN][key].status for key in function} == {Status.WARNED}
    assert {TABLES["AWS::S3::Bucket"][key].status for key in bucket} == {Status.WARNED}
    assert TABLES[FN]["Role"].once and TABLES[FN]["Policies"].once


def test_globals_sections_name_only_properties_the_type_knows() -> None:
    """SAM's Globals lists agree with the tables: a Globals property is checked there."""
    for section in ("Function", "Api", "HttpApi"):
        table = TABLES[f"AWS::Serverless::{section}"]
        assert set(GLOBALS_SECTIONS[section]) <= set(table), section


def test_lambda_and_serverless_functions_share_what_both_have() -> None:
    shared = set(TABLES[FN]) & set(TABLES[LAMBDA])
    assert {"Handler", "Runtime", "Architectures", "SnapStart", "Layers"} <= shared
    assert "Tracing" not in TABLES[LAMBDA] and "TracingConfig" in TABLES[LAMBDA]


# -- refusals in AWS's words -------------------------------------------------------------------


def test_unknown_property_of_a_sam_type_in_sam_s_words(tmp_path: Path) -> None:
    assert refusal(tmp_path, resource("HelloFn", FN, BASIC + "Tracer: Active\n")) == (
        "Resources.HelloFn.Properties.Tracer: Resource with id [HelloFn] is invalid. "
        "property Tracer not defined for resource of type AWS::Serverless::Function"
    )


@pytest.mark.parametrize(
    ("rtype", "props"),
    [
        (LAMBDA, BASIC + "Code: .\nTimeOut: 3\n"),
        ("AWS::S3::Bucket", "Versioning: {Status: Enabled}\n"),
        ("AWS::SecretsManager::Secret", "SecretString: x\nSecret: y\n"),
        ("AWS::EC2::SecurityGroup", "GroupDescription: g\nIngress: []\n"),
    ],
)
def test_unknown_property_in_cloudformation_s_words(tmp_path: Path, rtype: str, props: str) -> None:
    bad = props.strip().splitlines()[-1].split(":")[0]
    assert refusal(tmp_path, resource("Thing", rtype, props)) == (
        f"Resources.Thing.Properties.{bad}: Encountered unsupported property {bad}"
    )


@pytest.mark.parametrize(
    ("props", "key"),
    [
        ("Environment: {Variables: {A: b}, Vars: {C: d}}\n", "Environment.Vars"),
        ("EphemeralStorage: {Size: 1024, Sise: 2048}\n", "EphemeralStorage.Sise"),
    ],
)
def test_unknown_nested_function_property_refused(tmp_path: Path, props: str, key: str) -> None:
    bad = key.rsplit(".", 1)[1]
    assert refusal(tmp_path, resource("HelloFn", FN, BASIC + props)) == (
        f"Resources.HelloFn.Properties.{key}: Encountered unsupported property {bad}"
    )


def test_unknown_cluster_property_in_cloudformation_s_words(tmp_path: Path) -> None:
    props = "Engine: aurora-mysql\nEngineMode: serverless\nMasterUsername: admin\nBogus: 1\n"
    assert refusal(tmp_path, resource("Db", "AWS::RDS::DBCluster", props)) == (
        "Resources.Db.Properties.Bogus: Encountered unsupported property Bogus"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[x86_64, arm64]", "#/Architectures: expected maximum item count: 1, found: 2"),
        ("[]", "#/Architectures: expected minimum item count: 1, found: 0"),
        ("[x86]", "#/Architectures/0: failed validation constraint for keyword [enum]"),
        ("x86_64", "#/Architectures: expected type: JSONArray, found: String"),
    ],
)
def test_architectures_refused_as_cloudformation_refuses_them(
    tmp_path: Path, value: str, message: str
) -> None:
    for rtype, code in ((FN, ""), (LAMBDA, "Code: .\n")):
        props = BASIC + code + f"Architectures: {value}\n"
        assert refusal(tmp_path, resource("HelloFn", rtype, props)) == (
            "Resources.HelloFn.Properties.Architectures: Properties validation failed for "
            f"resource HelloFn with message: {message}"
        )


def test_architectures_from_globals_are_refused_there(tmp_path: Path) -> None:
    head = "Globals:\n  Function:\n    Architectures: [arm64, x86_64]\n"
    assert refusal(tmp_path, resource("HelloFn", FN, BASIC), head=head).startswith(
        "Globals.Function.Architectures: Properties validation failed for resource HelloFn"
    )


def test_refused_property_says_why(tmp_path: Path) -> None:
    props = BASIC + "InlineCode: 'def handler(e, c): return 1'\n"
    assert refusal(tmp_path, resource("HelloFn", FN, props)) == (
        "Resources.HelloFn.Properties.InlineCode: InlineCode is not supported yet: put the code "
        "in a CodeUri directory"
    )


def test_unknown_event_type_in_sam_s_words(tmp_path: Path) -> None:
    props = BASIC + "Events:\n  Tick: {Type: Cron, Properties: {}}\n"
    assert refusal(tmp_path, resource("HelloFn", FN, props)) == (
        "Resources.HelloFn.Properties.Events.Tick.Type: Event with id [Tick] is invalid. "
        "Resource dict has missing or invalid value for key Type. Event Type is: Cron."
    )


def test_unknown_api_event_property_refused(tmp_path: Path) -> None:
    props = BASIC + "Events:\n  Get: {Type: Api, Properties: {Path: /x, Method: get, Verb: x}}\n"
    assert refusal(tmp_path, resource("HelloFn", FN, props)) == (
        "Resources.HelloFn.Properties.Events.Get.Properties.Verb: Event with id [Get] is "
        "invalid. property Verb not defined for resource of type Api"
    )


def test_unknown_globals_section_and_property_in_sam_s_words(tmp_path: Path) -> None:
    names = sorted(GLOBALS_SECTIONS)
    head = "Globals:\n  Functions:\n    Timeout: 3\n"
    assert refusal(tmp_path, resource("HelloFn", FN, BASIC), head=head) == (
        "Globals.Functions: 'Globals' section is invalid. 'Functions' is not supported. "
        f"Must be one of the following values - {names}"
    )
    head = "Globals:\n  HttpApi:\n    StageName: x\n"
    assert refusal(tmp_path, resource("HelloFn", FN, BASIC), head=head).startswith(
        "Globals.HttpApi.StageName: 'Globals' section is invalid. 'StageName' is not a "
        "supported property of 'HttpApi'. Must be one of the following values - ['Auth', "
    )


def test_unknown_resource_attribute_in_cloudformation_s_words(tmp_path: Path) -> None:
    bad = resource("Bucket", "AWS::S3::Bucket", extra="DependOn: Other\n")
    assert refusal(tmp_path, bad) == (
        "Resources.Bucket: Invalid template resource property 'DependOn'"
    )


# -- warnings ----------------------------------------------------------------------------------


def test_tracing_is_named_and_auto_publish_alias_is_not(tmp_path: Path) -> None:
    props = BASIC + "Tracing: Active\nAutoPublishAlias: live\nVersionDescription: first\n"
    template = load(tmp_path, resource("HelloFn", FN, props))
    assert found(template) == [("HelloFn", "Tracing")]
    [tracing] = template.warnings
    assert tracing.resource_type == FN and "X-Ray" in tracing.reason
    assert template.functions["HelloFn"].handler == "app.handler"  # still runs
    assert template.auto_publish == {"HelloFn": AutoPublish("live", "first")}


def test_iam_is_said_once_for_the_whole_template(tmp_path: Path) -> None:
    template = load(
        tmp_path,
        resource("One", FN, BASIC + "Policies: [AWSLambdaBasicExecutionRole]\n"),
        resource("Two", LAMBDA, BASIC + "Code: .\nRole: arn:aws:iam::123456789012:role/r\n"),
        resource("Three", FN, BASIC + "Tracing: Active\n"),
    )
    assert found(template) == [("Three", "Tracing"), (TEMPLATE, "One.Policies, Two.Role")]
    assert template.warnings[-1].reason == tp.IAM.reason


def test_globals_properties_are_named_once_at_globals(tmp_path: Path) -> None:
    head = "Globals:\n  Function:\n    Tracing: Active\n    Timeout: 10\n  Api:\n    Cors: '*'\n"
    template = load(tmp_path, resource("A", FN, BASIC), resource("B", FN, BASIC), head=head)
    assert found(template) == [(GLOBALS, "Function.Tracing"), (GLOBALS, "Api.Cors")]
    assert template.functions["A"].timeout_s == 10


def test_ignore_globals_leaves_the_named_globals_out(tmp_path: Path) -> None:
    head = "Globals:\n  Function:\n    Timeout: 10\n    MemorySize: 256\n"
    template = load(
        tmp_path,
        resource("Some", FN, BASIC, extra="IgnoreGlobals: [Timeout]\n"),
        resource("All", FN, BASIC, extra="IgnoreGlobals: '*'\n"),
        resource("None", FN, BASIC),
        head=head,
    )
    fns = template.functions
    assert (fns["Some"].timeout_s, fns["Some"].memory_mb) == (3, 256)
    assert (fns["All"].timeout_s, fns["All"].memory_mb) == (3, 128)
    assert (fns["None"].timeout_s, fns["None"].memory_mb) == (10, 256)
    bad = resource("Bad", FN, BASIC, extra="IgnoreGlobals: [Tracing]\n")
    assert refusal(tmp_path, bad, head=head) == (
        "Resources.Bad.IgnoreGlobals: Resource Bad has invalid resource attribute "
        "'IgnoreGlobals' on item 'Tracing'."
    )


def test_arm64_runs_on_this_machine_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tp.platform, "machine", lambda: "x86_64")
    arm = load(tmp_path, resource("HelloFn", FN, BASIC + "Architectures: [arm64]\n"))
    assert found(arm) == [("HelloFn", "Architectures")]
    assert arm.warnings[0].reason == (
        "arm64 is not emulated: the function runs on this machine's x86_64"
    )
    x86 = load(tmp_path, resource("HelloFn", FN, BASIC + "Architectures: [x86_64]\n"))
    assert found(x86) == []


def test_event_sources_and_api_settings_are_warned(tmp_path: Path) -> None:
    events = (
        "Events:\n"
        "  Queue: {Type: SQS, Properties: {Queue: arn:aws:sqs:us-east-1:1:q}}\n"
        "  Get: {Type: Api, Properties: {Path: /x, Method: get, Auth: {ApiKeyRequired: true}}}\n"
        "  Old: {Type: HttpApi, Properties: {Path: /y, Method: get, PayloadFormatVersion: '1.0'}}\n"
    )
    template = load(tmp_path, resource("HelloFn", FN, BASIC + events))
    assert found(template) == [
        ("HelloFn", "Events.Queue"),
        ("HelloFn", "Events.Get.Properties.Auth"),
        ("HelloFn", "Events.Old.Properties.PayloadFormatVersion"),
    ]
    assert template.warnings[0].reason.startswith("SQS event sources are not emulated")
    assert len(template.routes) == 2


def test_bucket_cluster_group_and_condition_warnings(tmp_path: Path) -> None:
    cluster = (
        "Engine: aurora-postgresql\nEngineVersion: '16.4'\nMasterUsername: master\n"
        "MasterUserPassword: Secret-pass99\nBackupRetentionPeriod: 7\n"
        "ServerlessV2ScalingConfiguration: {MinCapacity: 0.5, MaxCapacity: 2}\n"
    )
    template = load(
        tmp_path,
        resource(
            "Bucket",
            "AWS::S3::Bucket",
            "VersioningConfiguration: {Status: Enabled}\nAccelerateConfiguration: {}\n",
            extra="Condition: IsProd\n",
        ),
        resource("Db", "AWS::RDS::DBCluster", cluster),
        resource("Group", "AWS::EC2::SecurityGroup", "GroupDescription: g\nVpcId: vpc-1\n"),
        head="Conditions:\n  IsProd: !Equals [a, a]\n",
    )
    assert found(template) == [
        ("Bucket", "Condition"),
        ("Bucket", "AccelerateConfiguration"),  # (the rest is applied)
        ("Db", "EngineVersion"),
        ("Db", "BackupRetentionPeriod"),
        ("Group", "VpcId"),
    ]
    assert template.unsupported == {}


def test_not_emulated_resource_types_stay_unsupported_not_checked(tmp_path: Path) -> None:
    table = resource("Table", "AWS::DynamoDB::Table", "AnythingAtAll: 1\n", "Condition: C\n")
    template = load(tmp_path, table, head="Conditions:\n  C: !Equals [a, a]\n")
    assert template.unsupported == {"Table": "AWS::DynamoDB::Table"}
    assert template.warnings == ()  # (not "created regardless": it is not created at all)


def test_package_type_enum_in_cloudformation_s_words(tmp_path: Path) -> None:
    assert refusal(tmp_path, resource("HelloFn", FN, BASIC + "PackageType: zip\n")) == (
        "Resources.HelloFn.Properties.PackageType: Properties validation failed for resource "
        "HelloFn with message: #/PackageType: failed validation constraint for keyword [enum]"
    )
    assert refusal(tmp_path, resource("HelloFn", FN, BASIC + "PackageType: Image\n")) == (
        "Resources.HelloFn.Properties.PackageType: only Zip functions are supported yet"
    )


def test_the_tutorial_template_warns_only_where_it_should() -> None:
    root = Path(__file__).resolve().parents[2]
    template = load_template(root / "examples" / "tutorial6" / "template.yaml")
    assert found(template) == [
        ("Tcss562", "EngineVersion"),
        ("DefaultGroup", "VpcId"),
        (TEMPLATE, "HelloSqliteS3.Policies, HelloDataApi.Policies"),
    ]
    assert template.unsupported == {}


# -- what `up` prints --------------------------------------------------------------------------


def test_report_lines_group_per_resource() -> None:
    warnings = [
        PropertyWarning(GLOBALS, "AWS::Serverless::Function", "Function.Tracing", "no X-Ray"),
        PropertyWarning("Fn", "AWS::Serverless::Function", "Tracing", "no X-Ray"),
        PropertyWarning("Fn", "AWS::Serverless::Function", "AutoPublishAlias", "no aliases"),
        PropertyWarning(TEMPLATE, "", "Fn.Role", "IAM is not enforced"),
    ]
    assert tp.report_lines(warnings, {"Q": "AWS::SQS::Queue"}) == [
        "the template asks for things faaslab does not emulate (accepted, not applied):",
        "  Globals:",
        "    Function.Tracing: no X-Ray",
        "  Fn (AWS::Serverless::Function):",
        "    Tracing: no X-Ray",
        "    AutoPublishAlias: no aliases",
        "  the whole template:",
        "    Fn.Role: IAM is not enforced",
        "  Q (AWS::SQS::Queue): not emulated yet (the resource is not created)",
    ]
    assert tp.report_lines([], {}) == []
    assert warnings[1].as_dict() == {
        "resource": "Fn",
        "type": "AWS::Serverless::Function",
        "property": "Tracing",
        "reason": "no X-Ray",
    }


def test_auto_publish_alias_routes_and_refs(tmp_path: Path) -> None:
    props = BASIC + (
        "FunctionName: hello\n"
        "Events:\n  Get: {Type: HttpApi, Properties: {Path: /hi, Method: GET}}\n"
        "Environment:\n  Variables:\n"
        "    ALIAS: !Ref HelloFn.Alias\n    VERSION: !Ref HelloFn.Version\n"
        "    BY_ID: !Ref HelloFnAliasprod\n"
    )
    head = "Globals:\n  Function:\n    AutoPublishAlias: prod\n"
    template = load(tmp_path, resource("HelloFn", FN, props), head=head)
    assert template.auto_publish == {"hello": AutoPublish("prod")}
    [route] = template.routes
    assert route.function == "hello:prod"  # SAM's events invoke the alias
    env = template.functions["hello"].environment
    arn = "arn:aws:lambda:us-east-1:123456789012:function:hello"
    assert (env["ALIAS"], env["VERSION"], env["BY_ID"]) == (
        f"{arn}:prod",
        f"{arn}:1",
        f"{arn}:prod",
    )


@pytest.mark.parametrize("alias", ["123", "has space", "x" * 129])
def test_auto_publish_alias_must_be_an_alias_name(tmp_path: Path, alias: str) -> None:
    message = refusal(tmp_path, resource("HelloFn", FN, BASIC + f"AutoPublishAlias: '{alias}'\n"))
    assert "must be an alias name" in message
