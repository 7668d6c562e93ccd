"""What faaslab does with every property of every resource type its template loader reads.

One table per resource type maps each property that CloudFormation's (or, for
`AWS::Serverless::*`, SAM's) schema knows to a `Support`:

- IMPLEMENTED: faaslab does what AWS does with it (or there is nothing to do: a description);
- WARNED: accepted but not emulated; `faaslab up` names it, with the reason, so nothing a
  template asks for is dropped silently;
- REFUSED: faaslab cannot run the template as written, and says why.

A property missing from its table is not in the schema, and is refused in AWS's words
(SAM's transform for `AWS::Serverless::*`, CloudFormation's for the rest). Nothing here
reads a template: `template.py` asks `check_properties` per resource and collects the
`PropertyWarning`s, which the CLI prints once at `up`, grouped per resource, and the
control plane serves as data.
"""

from __future__ import annotations

import enum
import platform
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
LAMBDA_FUNCTION = "AWS::Lambda::Function"
SERVERLESS_API = "AWS::Serverless::Api"
SERVERLESS_HTTP_API = "AWS::Serverless::HttpApi"
DB_CLUSTER = "AWS::RDS::DBCluster"
S3_BUCKET = "AWS::S3::Bucket"
SECRET = "AWS::SecretsManager::Secret"
SECURITY_GROUP = "AWS::EC2::SecurityGroup"
SECURITY_GROUP_INGRESS = "AWS::EC2::SecurityGroupIngress"
SERVERLESS_LAYER = "AWS::Serverless::LayerVersion"
LAMBDA_LAYER = "AWS::Lambda::LayerVersion"
GLOBALS = "Globals"  # PropertyWarning.resource of a Globals property
TEMPLATE = ""  # PropertyWarning.resource of a note about the whole template


class Status(enum.Enum):
    IMPLEMENTED = "implemented"
    WARNED = "warned"
    REFUSED = "refused"


@dataclass(frozen=True)
class Support:
    """What faaslab does with one property; `reason` says why for WARNED and REFUSED.
    `once`: the same note for every resource (IAM), said once per template."""

    status: Status
    reason: str = ""
    once: bool = False


@dataclass(frozen=True)
class PropertyWarning:
    """A property faaslab accepts and does not emulate. `resource` is a logical id,
    `GLOBALS`, or `TEMPLATE` for a note on the whole template; `prop` is the key path under
    Properties (`Tracing`, `Events.Upload`, `VpcConfig.Ipv6AllowedForDualStack`)."""

    resource: str
    resource_type: str
    prop: str
    reason: str

    def __str__(self) -> str:
        where = self.resource or "template"
        return f"{where}: {self.prop}: {self.reason}"

    def as_dict(self) -> dict[str, str]:
        return {
            "resource": self.resource,
            "type": self.resource_type,
            "property": self.prop,
            "reason": self.reason,
        }


class PropertyRefused(Exception):
    """A property (or value) faaslab refuses; `key` is its path under the resource's
    Properties ("" for the resource itself), `message` AWS's words where AWS has them."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


IMPLEMENTED = Support(Status.IMPLEMENTED)


def warned(reason: str) -> Support:
    return Support(Status.WARNED, reason)


def refused(reason: str) -> Support:
    return Support(Status.REFUSED, reason)


def _same(support: Support, names: str) -> dict[str, Support]:
    """`support` for each of the space-separated property `names`."""
    return dict.fromkeys(names.split(), support)


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# -- shared reasons ---------------------------------------------------------------------------

IAM = Support(
    Status.WARNED,
    "IAM is not enforced here: every function and client signs with faaslab's one local key "
    "pair, which may call every API (on AWS these permissions decide what the code may do)",
    once=True,
)
TAGS = warned("tags are not kept (faaslab has no tagging APIs)")
KMS = warned("no customer-managed KMS keys: data is stored unencrypted on this machine")
NO_VPC = warned(
    "VPCs and subnets are not emulated: security groups alone decide which functions and "
    "clients reach a cluster"
)
API_ROOT = warned("routes are served at the edge's root, without a /StageName prefix in the path")
NO_AUTH = warned("no authorizers, API keys or usage plans: every request reaches the function")
NO_CORS = warned("no CORS: preflight requests are routed like any other, no CORS headers added")
OPENAPI = warned(
    "OpenAPI definitions are not read: only the routes of functions' Api/HttpApi events are served"
)
API_SETTINGS = warned(
    "API Gateway settings are not emulated (no stages, domains, logs, throttling or caching)"
)
DB_OPERATIONS = warned(
    "not emulated: faaslab runs one local engine per cluster (no backups, snapshots, "
    "maintenance windows, monitoring or replicas)"
)

# -- AWS::Serverless::Function and AWS::Lambda::Function ---------------------------------------

_FUNCTION_COMMON: dict[str, Support] = {
    "FunctionName": IMPLEMENTED,
    "Handler": IMPLEMENTED,
    "Runtime": IMPLEMENTED,
    "PackageType": IMPLEMENTED,  # Zip; Image is refused where it is read
    "Description": IMPLEMENTED,
    "MemorySize": IMPLEMENTED,
    "Timeout": IMPLEMENTED,
    "EphemeralStorage": IMPLEMENTED,
    "Environment": IMPLEMENTED,
    "ReservedConcurrentExecutions": IMPLEMENTED,
    "VpcConfig": IMPLEMENTED,
    "Architectures": IMPLEMENTED,  # values checked (and arm64 warned) by `architecture`
    "Layers": IMPLEMENTED,
    "Role": IAM,
    "Tags": TAGS,
    "KmsKeyArn": KMS,
    "FileSystemConfigs": warned("no EFS: nothing is mounted at LocalMountPath"),
    "CodeSigningConfigArn": warned("code signatures are not checked"),
    "SnapStart": warned("no SnapStart snapshots: every cold start runs the init phase"),
    "LoggingConfig": warned(
        "logs are written in faaslab's text format: LogFormat JSON, log levels and "
        "LogGroup are not applied"
    ),
    "RuntimeManagementConfig": warned(
        "runtimes are this machine's interpreters, not managed runtime versions"
    ),
    "RecursiveLoop": warned("recursive invocation loops are not detected or stopped"),
    "ImageConfig": refused("container image functions are not supported yet (PackageType Zip)"),
    "CapacityProviderConfig": warned(
        "capacity providers (Lambda Managed Instances) are not emulated"
    ),
    "FunctionScalingConfig": warned(
        "capacity providers (Lambda Managed Instances) are not emulated"
    ),
    "PublishToLatestPublished": warned("$LATEST.PUBLISHED versions are not emulated"),
    "TenancyConfig": warned("tenant isolation mode is not emulated"),
    "DurableConfig": warned("durable functions are not emulated"),
}

SERVERLESS_FUNCTION_PROPERTIES: dict[str, Support] = {
    **_FUNCTION_COMMON,
    "CodeUri": IMPLEMENTED,
    "Events": IMPLEMENTED,  # each event checked by `check_event`
    "InlineCode": refused("InlineCode is not supported yet: put the code in a CodeUri directory"),
    "ImageUri": refused("container image functions are not supported yet (PackageType Zip)"),
    **_same(IAM, "Policies AssumeRolePolicyDocument RolePath PermissionsBoundary"),
    "PropagateTags": TAGS,
    "SourceKMSKeyArn": KMS,
    "Tracing": warned("X-Ray tracing is not emulated: no segments are recorded"),
    "DeadLetterQueue": warned(
        "no dead-letter queue: an asynchronous event that fails its two retries is dropped"
    ),
    "EventInvokeConfig": warned(
        "asynchronous invocations keep Lambda's defaults (two retries, six hours), with no "
        "destinations"
    ),
    # each `up` publishes version 1 and points the alias at it: a new version whatever
    # changed, which is what the hash and AllProperties options ask for
    **_same(
        IMPLEMENTED,
        "AutoPublishAlias AutoPublishCodeSha256 AutoPublishAliasAllProperties VersionDescription",
    ),
    "VersionDeletionPolicy": warned(
        "no stack updates here: versions are not kept from one `up` to the next anyway"
    ),
    "DeploymentPreference": warned(
        "no CodeDeploy traffic shifting: a new version takes all traffic at once"
    ),
    "ProvisionedConcurrencyConfig": warned(
        "no provisioned concurrency: environments start on demand (a cold start adds a few ms here)"
    ),
    "FunctionUrlConfig": warned("no function URL: give the function an HttpApi event instead"),
}

LAMBDA_FUNCTION_PROPERTIES: dict[str, Support] = {
    **_FUNCTION_COMMON,
    "Code": IMPLEMENTED,  # a local directory (as `aws cloudformation package` takes it)
    "Policy": IAM,
    "TracingConfig": warned("X-Ray tracing is not emulated: no segments are recorded"),
    "DeadLetterConfig": warned(
        "no dead-letter queue: an asynchronous event that fails its two retries is dropped"
    ),
}

# -- events of AWS::Serverless::Function --------------------------------------------------------

NOT_TRIGGERED = (
    "event sources are not emulated: the function is not triggered by it (invoke it directly)"
)
EVENT_TYPES: dict[str, Support] = {
    "Api": IMPLEMENTED,
    "HttpApi": IMPLEMENTED,
    **_same(
        warned(NOT_TRIGGERED),
        "S3 SNS SQS Kinesis DynamoDB MSK MQ SelfManagedKafka DocumentDB Schedule "
        "ScheduleV2 CloudWatchEvent EventBridgeRule CloudWatchLogs IoTRule AlexaSkill "
        "Cognito",
    ),
}
EVENT_PROPERTIES: dict[str, dict[str, Support]] = {
    "Api": {
        "Path": IMPLEMENTED,
        "Method": IMPLEMENTED,
        "RestApiId": IMPLEMENTED,
        "Stage": API_ROOT,
        "Auth": NO_AUTH,
        "RequestModel": warned("request models are not validated"),
        "RequestParameters": warned("required request parameters are not checked"),
        "TimeoutInMillis": warned("the integration timeout is not applied (the function's is)"),
        "ResponseTransferMode": warned("responses are buffered, not streamed"),
    },
    "HttpApi": {
        "Path": IMPLEMENTED,
        "Method": IMPLEMENTED,
        "ApiId": IMPLEMENTED,
        "Stage": API_ROOT,
        "Auth": NO_AUTH,
        "TimeoutInMillis": warned("the integration timeout is not applied (the function's is)"),
        "RouteSettings": API_SETTINGS,
        "PayloadFormatVersion": IMPLEMENTED,  # 2.0; 1.0 is warned by `check_event`
    },
}

# -- AWS::Serverless::Api and AWS::Serverless::HttpApi (routes come from functions' events) ----

SERVERLESS_API_PROPERTIES: dict[str, Support] = {
    "Name": IMPLEMENTED,
    "Description": IMPLEMENTED,
    "StageName": API_ROOT,
    "Auth": NO_AUTH,
    "Cors": NO_CORS,
    "DefinitionBody": OPENAPI,
    "DefinitionUri": OPENAPI,
    "MergeDefinitions": OPENAPI,
    "OpenApiVersion": OPENAPI,
    "Models": warned("request models are not validated"),
    "BinaryMediaTypes": warned(
        "binary media types are not applied: a body that is not UTF-8 is base64-encoded, any "
        "other is passed as text"
    ),
    "Tags": TAGS,
    "PropagateTags": TAGS,
    "Policy": IAM,
    **_same(
        API_SETTINGS,
        "CacheClusterEnabled CacheClusterSize Variables EndpointConfiguration "
        "MethodSettings MinimumCompressionSize GatewayResponses AccessLogSetting "
        "CanarySetting TracingEnabled Domain FailOnWarnings Mode "
        "DisableExecuteApiEndpoint ApiKeySourceType AlwaysDeploy SecurityPolicy "
        "EndpointAccessMode",
    ),
}
SERVERLESS_HTTP_API_PROPERTIES: dict[str, Support] = {
    "Name": IMPLEMENTED,
    "Description": IMPLEMENTED,
    "StageName": API_ROOT,
    "Auth": NO_AUTH,
    "CorsConfiguration": NO_CORS,
    "DefinitionBody": OPENAPI,
    "DefinitionUri": OPENAPI,
    "Tags": TAGS,
    "PropagateTags": TAGS,
    **_same(
        API_SETTINGS,
        "StageVariables AccessLogSettings DefaultRouteSettings RouteSettings Domain "
        "FailOnWarnings DisableExecuteApiEndpoint",
    ),
}

# -- storage, secrets, networks -----------------------------------------------------------------

S3_BUCKET_PROPERTIES: dict[str, Support] = {
    "BucketName": IMPLEMENTED,
    # applied at `up` through the S3 API (s3/bucket_template.py), as CloudFormation does
    "VersioningConfiguration": IMPLEMENTED,
    "BucketEncryption": IMPLEMENTED,
    "LifecycleConfiguration": warned("no lifecycle rules: objects never expire or transition"),
    "CorsConfiguration": IMPLEMENTED,
    "NotificationConfiguration": warned(
        "no event notifications: nothing is sent to functions, queues or topics"
    ),
    "WebsiteConfiguration": warned("no website endpoint"),
    "LoggingConfiguration": warned("no server access logs"),
    "ReplicationConfiguration": warned("no replication"),
    "ObjectLockEnabled": IMPLEMENTED,
    "ObjectLockConfiguration": IMPLEMENTED,
    "AccelerateConfiguration": warned("no transfer acceleration endpoint"),
    # applied through the S3 API too; enforced by s3/access.py
    "AccessControl": IMPLEMENTED,
    "OwnershipControls": IMPLEMENTED,
    "PublicAccessBlockConfiguration": IMPLEMENTED,
    **_same(
        warned("storage analytics, inventories, metrics and tiering are not emulated"),
        "AnalyticsConfigurations InventoryConfigurations MetricsConfigurations "
        "IntelligentTieringConfigurations MetadataConfiguration "
        "MetadataTableConfiguration",
    ),
    "AbacStatus": warned("attribute-based access control is not enforced"),
    "Tags": IMPLEMENTED,  # (PutBucketTagging)
}

SECRET_PROPERTIES: dict[str, Support] = {
    "Name": IMPLEMENTED,
    "Description": IMPLEMENTED,
    "SecretString": IMPLEMENTED,
    "GenerateSecretString": IMPLEMENTED,
    "KmsKeyId": IMPLEMENTED,  # kept and shown, as Secrets Manager shows it
    "Tags": IMPLEMENTED,
    "ReplicaRegions": warned("no replicas: the secret exists in this one region"),
}

SECURITY_GROUP_PROPERTIES: dict[str, Support] = {
    "GroupDescription": IMPLEMENTED,
    "GroupName": IMPLEMENTED,
    "SecurityGroupIngress": IMPLEMENTED,  # TCP rules, enforced at clusters' endpoints
    "SecurityGroupEgress": warned("egress rules are not enforced"),
    "VpcId": NO_VPC,
    "Tags": TAGS,
}

SECURITY_GROUP_INGRESS_PROPERTIES: dict[str, Support] = {
    **_same(
        IMPLEMENTED,
        "GroupId GroupName IpProtocol FromPort ToPort CidrIp CidrIpv6 "
        "SourceSecurityGroupId SourceSecurityGroupName SourcePrefixListId Description",
    ),
    "SourceSecurityGroupOwnerId": warned("one account here: the owner is not checked"),
}

# -- AWS::Serverless::LayerVersion, AWS::Lambda::LayerVersion (builds/ and /opt) ---------------

# CompatibleRuntimes/Architectures only filter listings on Lambda (the build warns when a
# function's runtime is not in the list); the descriptions have nothing to do.
LAYER_COMMON = "LayerName CompatibleRuntimes CompatibleArchitectures Description LicenseInfo"
ONE_VERSION = warned("every template layer is version 1 here: no versions are published or kept")
SERVERLESS_LAYER_PROPERTIES: dict[str, Support] = {
    **_same(IMPLEMENTED, "ContentUri " + LAYER_COMMON),
    "RetentionPolicy": ONE_VERSION,
    "PublishLambdaVersion": ONE_VERSION,
}
LAMBDA_LAYER_PROPERTIES: dict[str, Support] = {
    **_same(IMPLEMENTED, "Content " + LAYER_COMMON),  # (Content: a local path, as SAM CLI's)
}

# -- AWS::RDS::DBCluster ------------------------------------------------------------------------

DB_CLUSTER_PROPERTIES: dict[str, Support] = {
    **_same(
        IMPLEMENTED,
        "Engine EngineMode DBClusterIdentifier MasterUsername MasterUserPassword "
        "ManageMasterUserPassword DatabaseName Port VpcSecurityGroupIds "
        "EnableHttpEndpoint ScalingConfiguration ServerlessV2ScalingConfiguration Tags",
    ),
    "EngineVersion": warned(
        "faaslab runs this machine's MariaDB (aurora-mysql) or PostgreSQL "
        "(aurora-postgresql), whatever the version asked for"
    ),
    "DBSubnetGroupName": NO_VPC,
    "NetworkType": NO_VPC,
    "PubliclyAccessible": NO_VPC,
    "AvailabilityZones": NO_VPC,
    **_same(KMS, "KmsKeyId StorageEncrypted PerformanceInsightsKmsKeyId"),
    "MasterUserSecret": KMS,
    "EnableIAMDatabaseAuthentication": IAM,
    "AssociatedRoles": IAM,
    "MonitoringRoleArn": IAM,
    "DomainIAMRoleName": IAM,
    "Domain": warned("no Kerberos authentication"),
    "DeletionProtection": warned(
        "deletion protection is not applied: `faaslab db delete` deletes the cluster"
    ),
    "DBClusterParameterGroupName": warned("parameter groups are not applied: engine defaults"),
    "DBInstanceParameterGroupName": warned("parameter groups are not applied: engine defaults"),
    **_same(
        DB_OPERATIONS,
        "AllocatedStorage AutoMinorVersionUpgrade BacktrackWindow BackupRetentionPeriod "
        "ClusterScalabilityType CopyTagsToSnapshot DatabaseInsightsMode "
        "DBClusterInstanceClass DBSystemId EnableCloudwatchLogsExports "
        "EnableGlobalWriteForwarding EnableLocalWriteForwarding EngineLifecycleSupport "
        "GlobalClusterIdentifier Iops MonitoringInterval PerformanceInsightsEnabled "
        "PerformanceInsightsRetentionPeriod PreferredBackupWindow "
        "PreferredMaintenanceWindow ReplicationSourceIdentifier RestoreToTime RestoreType "
        "SnapshotIdentifier SourceDBClusterIdentifier SourceDbClusterResourceId "
        "SourceRegion StorageType UseLatestRestorableTime",
    ),
}

# -- the tables, by resource type ---------------------------------------------------------------

TABLES: Mapping[str, Mapping[str, Support]] = {
    SERVERLESS_FUNCTION: SERVERLESS_FUNCTION_PROPERTIES,
    LAMBDA_FUNCTION: LAMBDA_FUNCTION_PROPERTIES,
    SERVERLESS_API: SERVERLESS_API_PROPERTIES,
    SERVERLESS_HTTP_API: SERVERLESS_HTTP_API_PROPERTIES,
    DB_CLUSTER: DB_CLUSTER_PROPERTIES,
    S3_BUCKET: S3_BUCKET_PROPERTIES,
    SECRET: SECRET_PROPERTIES,
    SECURITY_GROUP: SECURITY_GROUP_PROPERTIES,
    SECURITY_GROUP_INGRESS: SECURITY_GROUP_INGRESS_PROPERTIES,
    SERVERLESS_LAYER: SERVERLESS_LAYER_PROPERTIES,
    LAMBDA_LAYER: LAMBDA_LAYER_PROPERTIES,
}

# Keys of a resource beside Type and Properties (CloudFormation's resource attributes, and
# SAM's). Condition is not evaluated: the resource is always created.
RESOURCE_ATTRIBUTES: dict[str, Support] = {
    **_same(
        IMPLEMENTED,
        "Type Properties DependsOn Metadata DeletionPolicy UpdateReplacePolicy "
        "CreationPolicy UpdatePolicy IgnoreGlobals",
    ),
    "Condition": warned("Conditions are not evaluated: the resource is created regardless"),
    "Connectors": IAM,
}

# SAM's Globals sections and the properties each may hold (SAM's own list, in its order);
# faaslab applies Function; the others are checked against the type's table when faaslab
# reads that type, and warned about as a whole when it does not.
GLOBALS_SECTIONS: dict[str, tuple[str, ...]] = {
    "Function": _names(
        """Handler Runtime CodeUri DeadLetterQueue Description MemorySize Timeout VpcConfig
        Environment Tags PropagateTags Tracing KmsKeyArn AutoPublishAlias
        AutoPublishAliasAllProperties Layers DeploymentPreference RolePath PermissionsBoundary
        ReservedConcurrentExecutions ProvisionedConcurrencyConfig AssumeRolePolicyDocument
        EventInvokeConfig FileSystemConfigs CodeSigningConfigArn Architectures SnapStart
        EphemeralStorage FunctionUrlConfig RuntimeManagementConfig LoggingConfig RecursiveLoop
        SourceKMSKeyArn TenancyConfig DurableConfig CapacityProviderConfig FunctionScalingConfig
        PublishToLatestPublished VersionDeletionPolicy"""
    ),
    "Api": _names(
        """Auth Name DefinitionUri CacheClusterEnabled CacheClusterSize MergeDefinitions
        Variables EndpointConfiguration MethodSettings BinaryMediaTypes MinimumCompressionSize
        Cors GatewayResponses AccessLogSetting CanarySetting TracingEnabled OpenApiVersion
        Domain AlwaysDeploy PropagateTags SecurityPolicy EndpointAccessMode"""
    ),
    "HttpApi": _names(
        """Auth AccessLogSettings StageVariables Tags CorsConfiguration DefaultRouteSettings
        Domain RouteSettings FailOnWarnings PropagateTags"""
    ),
    "SimpleTable": ("SSESpecification",),
    "StateMachine": ("PropagateTags",),
    "LayerVersion": ("PublishLambdaVersion",),
    "CapacityProvider": _names(
        """VpcConfig OperatorRole Tags InstanceRequirements ScalingConfig KmsKeyArn
        PropagateTags"""
    ),
    "WebSocketApi": _names(
        """AccessLogSettings ApiKeySelectionExpression DefaultRouteSettings
        DisableExecuteApiEndpoint DisableSchemaValidation Domain FailOnWarnings IpAddressType
        PropagateTags RouteSelectionExpression RouteSettings StageVariables Tags"""
    ),
}
# Globals sections whose resources another part of faaslab implements.
_GLOBALS_IMPLEMENTED: frozenset[str] = frozenset()

_ONCE_REASONS = frozenset(
    support.reason
    for table in (*TABLES.values(), RESOURCE_ATTRIBUTES)
    for support in table.values()
    if support.once
)
ARCHITECTURES = ("x86_64", "arm64")
_MACHINE_ARCHITECTURE = {
    "x86_64": "x86_64",
    "amd64": "x86_64",
    "aarch64": "arm64",
    "arm64": "arm64",
}


# -- checking -----------------------------------------------------------------------------------


def unsupported_property_message(resource_type: str, logical_id: str, key: str) -> str:
    """AWS's words for a property its schema does not know: SAM's transform for its own
    types, CloudFormation's for the others."""
    if resource_type.startswith("AWS::Serverless::"):
        return (
            f"Resource with id [{logical_id}] is invalid. "
            f"property {key} not defined for resource of type {resource_type}"
        )
    return f"Encountered unsupported property {key}"


def check_properties(
    resource_type: str, logical_id: str, properties: Mapping[str, Any]
) -> list[PropertyWarning]:
    """Check one resource's Properties against its type's table: a warning per WARNED
    property; PropertyRefused for a REFUSED or unknown one. Types without a table (those
    faaslab does not read, or another module owns) are not checked."""
    table = TABLES.get(resource_type)
    if table is None:
        return []
    out: list[PropertyWarning] = []
    for key in properties:
        support = table.get(key)
        if support is None:
            raise PropertyRefused(key, unsupported_property_message(resource_type, logical_id, key))
        _apply(support, logical_id, resource_type, key, out)
    return out


def check_resource_attributes(
    logical_id: str, resource: Mapping[str, Any]
) -> list[PropertyWarning]:
    """Check a resource's own keys (DependsOn, Condition, ...), as CloudFormation does."""
    out: list[PropertyWarning] = []
    rtype = str(resource.get("Type"))
    for key in resource:
        support = RESOURCE_ATTRIBUTES.get(key)
        if support is None:
            raise PropertyRefused("", f"Invalid template resource property '{key}'")
        _apply(support, logical_id, rtype, key, out)
    return out


def check_globals(section: str, properties: Any) -> list[PropertyWarning]:
    """Check one Globals section as SAM's transform does (its words for a section or
    property it does not know), then each property against its type's table."""
    if section not in GLOBALS_SECTIONS:
        names = sorted(GLOBALS_SECTIONS)
        raise PropertyRefused(
            "",
            "'Globals' section is invalid. "
            f"'{section}' is not supported. Must be one of the following values - {names}",
        )
    if not isinstance(properties, Mapping):
        raise PropertyRefused(
            "", f"'Globals' section is invalid. Value of {section} must be a dictionary"
        )
    allowed = GLOBALS_SECTIONS[section]
    for key in properties:
        if key not in allowed:
            raise PropertyRefused(
                key,
                "'Globals' section is invalid. "
                f"'{key}' is not a supported property of '{section}'. "
                f"Must be one of the following values - {list(allowed)}",
            )
    rtype = f"AWS::Serverless::{section}"
    if section in _GLOBALS_IMPLEMENTED:
        return []
    table = TABLES.get(rtype)
    if table is None:
        return [
            PropertyWarning(GLOBALS, rtype, f"{section}.{key}", f"{rtype} is not emulated yet")
            for key in properties
        ]
    out: list[PropertyWarning] = []
    for key in properties:
        _apply(table[key], GLOBALS, rtype, f"{section}.{key}", out)
    return out


def check_event(
    logical_id: str, event_name: str, event_type: Any, properties: Mapping[str, Any]
) -> list[PropertyWarning]:
    """One event of an `AWS::Serverless::Function`: its Type (SAM's words for one it does
    not know), and for the routed types (Api, HttpApi) each of its Properties."""
    where = f"Events.{event_name}"
    support = EVENT_TYPES.get(event_type) if isinstance(event_type, str) else None
    if support is None:
        raise PropertyRefused(
            f"{where}.Type",
            f"Event with id [{event_name}] is invalid. Resource dict has missing or invalid "
            f"value for key Type. Event Type is: {event_type}.",
        )
    if support.status is Status.WARNED:
        return [
            PropertyWarning(
                logical_id, SERVERLESS_FUNCTION, where, f"{event_type} {support.reason}"
            )
        ]
    out: list[PropertyWarning] = []
    table = EVENT_PROPERTIES[event_type]
    for key, value in properties.items():
        prop = table.get(key)
        if prop is None:
            raise PropertyRefused(
                f"{where}.Properties.{key}",
                f"Event with id [{event_name}] is invalid. "
                f"property {key} not defined for resource of type {event_type}",
            )
        _apply(prop, logical_id, SERVERLESS_FUNCTION, f"{where}.Properties.{key}", out)
        if key == "PayloadFormatVersion" and str(value) != "2.0":
            out.append(
                PropertyWarning(
                    logical_id,
                    SERVERLESS_FUNCTION,
                    f"{where}.Properties.{key}",
                    f"payload format {value} is not emulated for HTTP APIs: the function "
                    "receives 2.0 events",
                )
            )
    return out


def architecture(value: Any, logical_id: str, resource_type: str) -> PropertyWarning | None:
    """`Architectures` (resolved), checked as CloudFormation's schema checks it (one item,
    x86_64 or arm64); a warning when it is not this machine's architecture, where the
    function runs anyway."""
    if value is None:
        return None
    prefix = f"Properties validation failed for resource {logical_id} with message: "
    if not isinstance(value, list):
        raise PropertyRefused(
            "Architectures", f"{prefix}#/Architectures: expected type: JSONArray, found: String"
        )
    if len(value) > 1:
        raise PropertyRefused(
            "Architectures",
            f"{prefix}#/Architectures: expected maximum item count: 1, found: {len(value)}",
        )
    if not value:
        raise PropertyRefused(
            "Architectures", f"{prefix}#/Architectures: expected minimum item count: 1, found: 0"
        )
    if value[0] not in ARCHITECTURES:
        raise PropertyRefused(
            "Architectures",
            f"{prefix}#/Architectures/0: failed validation constraint for keyword [enum]",
        )
    machine = machine_architecture()
    if value[0] == machine:
        return None
    return PropertyWarning(
        logical_id,
        resource_type,
        "Architectures",
        f"{value[0]} is not emulated: the function runs on this machine's "
        f"{machine or platform.machine()}",
    )


def machine_architecture() -> str | None:
    """This machine's architecture in Lambda's names (x86_64, arm64), None if neither."""
    return _MACHINE_ARCHITECTURE.get(platform.machine().lower())


def summarise(
    warnings: Iterable[PropertyWarning], order: Sequence[str] = ()
) -> list[PropertyWarning]:
    """The warnings as shown: Globals first, then by resource in `order` (the template's),
    each resource's in the order found; each `once` note (IAM) merged into one line for the
    whole template, last, that names where it applies."""
    rank = {lid: i for i, lid in enumerate(order)}
    out: list[PropertyWarning] = []
    merged: dict[str, list[str]] = {}
    ranked = sorted(
        warnings, key=lambda w: -1 if w.resource == GLOBALS else rank.get(w.resource, len(rank))
    )
    for w in ranked:
        if w.reason in _ONCE_REASONS:
            merged.setdefault(w.reason, []).append(f"{w.resource}.{w.prop}")
        else:
            out.append(w)
    for reason, places in merged.items():
        out.append(PropertyWarning(TEMPLATE, "", ", ".join(places), reason))
    return out


def grouped(warnings: Iterable[PropertyWarning]) -> dict[str, list[PropertyWarning]]:
    """Warnings by resource (in order of appearance), for printing one block per resource."""
    out: dict[str, list[PropertyWarning]] = {}
    for w in warnings:
        out.setdefault(w.resource, []).append(w)
    return out


def _apply(
    support: Support, logical_id: str, resource_type: str, prop: str, out: list[PropertyWarning]
) -> None:
    if support.status is Status.REFUSED:
        raise PropertyRefused(prop, support.reason)
    if support.status is Status.WARNED:
        out.append(PropertyWarning(logical_id, resource_type, prop, support.reason))


def report_lines(warnings: Sequence[PropertyWarning], unsupported: Mapping[str, str]) -> list[str]:
    """What `faaslab up` prints: one block per resource naming each property it does not
    emulate and why, then the resources it does not run at all. Empty when there is none."""
    if not warnings and not unsupported:
        return []
    lines = ["the template asks for things faaslab does not emulate (accepted, not applied):"]
    for resource, items in grouped(warnings).items():
        kind = items[0].resource_type
        if resource == TEMPLATE:
            lines.append("  the whole template:")
        else:
            lines.append(f"  {resource}" + (f" ({kind}):" if kind and resource != GLOBALS else ":"))
        lines += [f"    {w.prop}: {w.reason}" for w in items]
    for lid, rtype in unsupported.items():
        lines.append(f"  {lid} ({rtype}): not emulated yet (the resource is not created)")
    return lines
