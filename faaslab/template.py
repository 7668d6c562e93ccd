"""Load an AWS SAM `template.yaml` into the records faaslab runs.

Reads YAML with CloudFormation's short-form tags, resolves the intrinsic functions that a
function's configuration uses (Ref, Sub, GetAtt, Join, Select, Split, Base64, FindInMap),
merges `Globals.Function` into each `AWS::Serverless::Function` the way SAM does, and checks
every property against Lambda's limits. Every error names the file and the key path.
Intrinsics are resolved lazily, per property, so an unsupported one (`!If`) only fails when
a property faaslab needs uses it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faaslab.databases.model import ClusterSpec, SpecError
from faaslab.databases.spec import (
    LOCAL_ADDRESS,
    IngressRule,
    ManagedPassword,
    PropertyError,
    cluster_arn,
    parse_cluster,
    parse_ingress_rule,
    security_group_id,
)
from faaslab.functions import model, runtimes
from faaslab.functions.model import (
    DEFAULT_ACCOUNT,
    DEFAULT_REGION,
    ENV_SIZE_LIMIT,
    RESERVED_ENV_KEYS,
    ApiRoute,
    EventKind,
    FunctionConfig,
    LayerConfig,
)
from faaslab.s3.model import bucket_name_problem
from faaslab.sam_yaml import TemplateError as TemplateError  # (part of this module's API)
from faaslab.sam_yaml import parse_parameter_overrides as parse_parameter_overrides
from faaslab.sam_yaml import read_template_file
from faaslab.secrets.references import Lookup, resolve_dynamic_references
from faaslab.template_properties import (
    TABLES,
    PropertyRefused,
    PropertyWarning,
    architecture,
    check_event,
    check_globals,
    check_properties,
    check_resource_attributes,
    summarise,
)

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
LAMBDA_FUNCTION = "AWS::Lambda::Function"
DB_CLUSTER = "AWS::RDS::DBCluster"
S3_BUCKET = "AWS::S3::Bucket"
SECRET = "AWS::SecretsManager::Secret"
SECURITY_GROUP = "AWS::EC2::SecurityGroup"  # only feeds clusters' ingress rules
SECURITY_GROUP_INGRESS = "AWS::EC2::SecurityGroupIngress"  # likewise
SERVERLESS_LAYER = "AWS::Serverless::LayerVersion"
LAMBDA_LAYER = "AWS::Lambda::LayerVersion"
LAYER_TYPES = (SERVERLESS_LAYER, LAMBDA_LAYER)
# Resource types faaslab runs; later components (S3, ...) extend this set.
EMULATED_TYPES: frozenset[str] = frozenset(
    {
        SERVERLESS_FUNCTION,
        LAMBDA_FUNCTION,
        DB_CLUSTER,
        S3_BUCKET,
        SECRET,
        SECURITY_GROUP,
        SECURITY_GROUP_INGRESS,
        SERVERLESS_LAYER,
        LAMBDA_LAYER,
    }
)
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
DEFAULT_STACK_NAME = "faaslab"
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"})
HTTP_API_DEFAULT_PATH = "/{proxy+}"  # SAM's `$default` route: an HttpApi event without Path

AttributeResolver = Callable[[str, str], str | None]
ClusterPort = Callable[[ClusterSpec], int]  # the port a cluster's local endpoint listens on
# (name, resolved Properties) -> the ARN of the secret, created or updated in the store
SecretDeployer = Callable[[str, dict[str, Any]], str]
# (cluster ARN, master username) -> (secret ARN, password): ManageMasterUserPassword
ManagedSecret = Callable[[str, str], tuple[str, str]]

_FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ALIAS_NAME = re.compile(r"(?!^[0-9]+$)[A-Za-z0-9_-]{1,128}")  # Lambda's alias pattern


@dataclass(frozen=True)
class AutoPublish:
    """A function's `AutoPublishAlias`: at each `up` its code and configuration are
    published as a version and the alias points at it, as a SAM deployment does."""

    alias: str
    description: str | None = None  # VersionDescription


_LOGICAL_ID = re.compile(r"[A-Za-z0-9]+")
_LAYER_NAME = re.compile(r"[A-Za-z0-9_-]{1,140}")
ARCHIVE_SUFFIXES = (".zip", ".jar")  # code that Lambda unpacks into /var/task or /opt
_STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")
_ENV_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]+")  # Lambda's pattern: at least two characters
_SUB_VAR = re.compile(r"\$\{([^}]*)\}")
_BUCKET_ATTRIBUTES = {
    "Arn": "arn:aws:s3:::{name}",
    "DomainName": "{name}.s3.amazonaws.com",
    "RegionalDomainName": "{name}.s3.{region}.amazonaws.com",
    "DualStackDomainName": "{name}.s3.dualstack.{region}.amazonaws.com",
    "WebsiteURL": "http://{name}.s3-website-{region}.amazonaws.com",
}
_NO_VALUE = object()  # what `!Ref AWS::NoValue` resolves to: the key or item is dropped


@dataclass(frozen=True)
class SecretsHooks:
    """How a template reaches Secrets Manager (the control plane's store)."""

    deploy: SecretDeployer
    lookup: Lookup  # {{resolve:secretsmanager:...}} -> the value
    managed: ManagedSecret


@dataclass(frozen=True)
class Template:
    """A loaded template: the functions and clusters to run, routes and everything else, raw."""

    path: Path
    functions: dict[str, FunctionConfig]  # by function name
    clusters: dict[str, ClusterSpec]  # by DBClusterIdentifier
    buckets: dict[str, str]  # bucket name -> logical id
    routes: tuple[ApiRoute, ...]
    auto_publish: dict[str, AutoPublish]  # by function name
    layers: dict[str, LayerConfig]  # by logical id
    parameters: dict[str, str]  # resolved values, overrides applied
    unsupported: dict[str, str]  # logical id -> Type, of the resources faaslab does not run
    warnings: tuple[PropertyWarning, ...]  # properties accepted but not emulated
    resources: dict[str, dict[str, Any]]  # as written; intrinsics in full form ({"Ref": x})
    _resolver: _Context | None = field(default=None, repr=False, compare=False)

    def resolve(self, value: Any, where: str) -> Any:
        """Resolve the intrinsics in a piece of `resources`; `where` names it in errors."""
        if self._resolver is None:
            return value
        out = self._resolver.resolve(value, where)
        return None if out is _NO_VALUE else out


def load_template(
    path: Path,
    parameter_overrides: dict[str, str] | None = None,
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
    attribute_resolver: AttributeResolver | None = None,
    cluster_port: ClusterPort | None = None,
    secrets: SecretsHooks | None = None,
) -> Template:
    """Read, resolve and check a SAM template; raise TemplateError on anything wrong.

    `cluster_port(spec)` is the port a cluster's local endpoint really listens on (the control
    plane's choice, which it persists); `!GetAtt X.Endpoint.Port` gives it. Without it: the
    cluster's `Port`, else the engine's default port. `secrets` connects the template to
    Secrets Manager (its secrets are created, `{{resolve:secretsmanager:...}}` looked up,
    managed master passwords made); without it secrets get placeholder ARNs and dynamic
    references stay unresolved."""
    ctx = _Context(
        path, read_template_file(path), region, account, attribute_resolver, cluster_port, secrets
    )
    ctx.load_parameters(parameter_overrides or {})
    for lid, resource in ctx.resources.items():  # first: clusters may resolve them
        if resource["Type"] == SECRET:
            ctx.secret_arn(lid)
    clusters: dict[str, ClusterSpec] = {}
    for lid, resource in ctx.resources.items():  # before functions, whose config may use them
        if resource["Type"] != DB_CLUSTER:
            continue
        spec = ctx.cluster(lid)
        if spec.identifier in clusters:
            raise ctx.error(
                f"Resources.{lid}.Properties.DBClusterIdentifier",
                f"DB cluster identifier {spec.identifier!r} is already used by "
                f"{clusters[spec.identifier].logical_id}",
            )
        clusters[spec.identifier] = spec
    buckets: dict[str, str] = {}
    for lid, resource in ctx.resources.items():
        if resource["Type"] == S3_BUCKET:
            name = ctx.bucket_name(lid)
            if name in buckets:
                raise ctx.error(
                    f"Resources.{lid}.Properties.BucketName",
                    f"bucket name {name!r} is already used by {buckets[name]}",
                )
            buckets[name] = lid
    functions: dict[str, FunctionConfig] = {}
    unsupported: dict[str, str] = {}
    for lid, resource in ctx.resources.items():
        rtype = resource["Type"]
        if rtype not in EMULATED_TYPES:
            if rtype not in TABLES:  # (those with a table are read: API routes)
                unsupported[lid] = rtype
            continue
        if rtype not in (SERVERLESS_FUNCTION, LAMBDA_FUNCTION):
            continue
        config = ctx.build_function(lid, rtype)
        if config.name in functions:
            raise ctx.error(
                f"Resources.{lid}.Properties.FunctionName",
                f"function name {config.name!r} is already used by "
                f"{functions[config.name].logical_id}",
            )
        functions[config.name] = config
    routes = tuple(route for config in functions.values() for route in config.routes)
    return Template(
        path=ctx.path,
        functions=functions,
        clusters=clusters,
        buckets=buckets,
        routes=routes,
        auto_publish=dict(ctx.auto_publish),
        layers=ctx.layers(),
        parameters=dict(ctx.params),
        unsupported=unsupported,
        warnings=tuple(  # (a resource not created at all is named in `unsupported`)
            summarise(
                [w for w in ctx.warnings if w.resource not in unsupported],
                order=list(ctx.resources),
            )
        ),
        resources=ctx.resources,
        _resolver=ctx,
    )


def _architecture(value: Any) -> str:
    """`Architectures`' one entry (x86_64 by default); its checking is the loader's."""
    if isinstance(value, list) and value and isinstance(value[0], str):
        return value[0]
    return "x86_64"


def _is_intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return isinstance(key, str) and (key == "Ref" or key.startswith("Fn::"))


def _merge(glob: Any, local: Any) -> Any:
    """SAM's Globals rule: maps merge (the function wins per key), lists concatenate,
    anything else (scalars, intrinsics) is replaced by the function's value."""
    mergeable = not _is_intrinsic(glob) and not _is_intrinsic(local)
    if isinstance(glob, dict) and isinstance(local, dict) and mergeable:
        out = dict(glob)
        for key, value in local.items():
            out[key] = _merge(glob[key], value) if key in glob else value
        return out
    if isinstance(glob, list) and isinstance(local, list):
        return glob + local
    return local


def _text(value: Any) -> str | None:
    """A scalar as CloudFormation stringifies it; None for lists and maps."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return None
    return str(value)


class _Context:
    """One template being loaded: its sections, parameter values and resolution state."""

    def __init__(
        self,
        path: Path,
        doc: dict[str, Any],
        region: str,
        account: str,
        attribute_resolver: AttributeResolver | None,
        cluster_port: ClusterPort | None = None,
        secrets: SecretsHooks | None = None,
    ) -> None:
        self.label = str(path)
        self.path = path.resolve()
        self.base_dir = self.path.parent
        self.doc = doc
        self.region = region
        self.account = account
        self.attribute_resolver = attribute_resolver
        self.cluster_port = cluster_port or (lambda spec: spec.port or spec.engine.default_port)
        stack = self.base_dir.name
        self.stack = stack if _STACK_NAME.fullmatch(stack) else DEFAULT_STACK_NAME
        self.params: dict[str, str] = {}
        self.param_types: dict[str, str] = {}
        self.names: dict[str, str] = {}  # logical id -> function name
        self.auto_publish: dict[str, AutoPublish] = {}  # function name -> its alias
        self.naming: set[str] = set()  # function names being resolved (cycle check)
        self.routes: dict[tuple[Any, ...], str] = {}  # route key -> logical id
        self.clusters: dict[str, ClusterSpec] = {}  # logical id -> spec
        self.parsing: set[str] = set()  # clusters being parsed (cycle check)
        self.warnings: list[PropertyWarning] = []  # in template order
        self.check_transform()
        self.mappings = self.section(doc, "Mappings", "Mappings")
        globals_ = self.section(doc, "Globals", "Globals")
        for section, props in globals_.items():
            self.warnings += self.checked(f"Globals.{section}", check_globals, section, props)
        self.globals_function = self.section(globals_, "Function", "Globals.Function")
        self.resources = self.load_resources()
        self.security_groups = _SecurityGroups(self)
        self.secrets = secrets
        self.secret_arns: dict[str, str] = {}  # logical id -> ARN
        self.managed_secret_arns: dict[str, str] = {}  # cluster logical id -> its secret
        self.layer_configs: dict[str, LayerConfig] = {}  # logical id -> layer

    def error(self, where: str, message: str) -> TemplateError:
        return TemplateError(f"{self.label}: {where}: {message}")

    def checked(
        self, where: str, check: Callable[..., list[PropertyWarning]], *args: Any
    ) -> list[PropertyWarning]:
        """A `template_properties` check's warnings; its refusal as a TemplateError that
        names the key under `where`."""
        try:
            return check(*args)
        except PropertyRefused as e:
            raise self.error(f"{where}.{e.key}" if e.key else where, e.message) from None

    def section(self, parent: dict[str, Any], key: str, where: str) -> dict[str, Any]:
        value = parent.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(where, "must be a mapping")
        return value

    def check_transform(self) -> None:
        transform = self.doc.get("Transform")
        items = (
            [] if transform is None else transform if isinstance(transform, list) else [transform]
        )
        for item in items:
            if item != SAM_TRANSFORM:
                raise self.error(
                    "Transform", f"{item!r} is not supported (faaslab reads {SAM_TRANSFORM})"
                )

    def load_resources(self) -> dict[str, dict[str, Any]]:
        if "Resources" not in self.doc:
            raise self.error("Resources", "missing (a template needs at least one resource)")
        resources = self.section(self.doc, "Resources", "Resources")
        if not resources:
            raise self.error("Resources", "empty (a template needs at least one resource)")
        for lid, resource in resources.items():
            where = f"Resources.{lid}"
            if not isinstance(lid, str) or not _LOGICAL_ID.fullmatch(lid):
                raise self.error(where, "logical ids are letters and digits only")
            if not isinstance(resource, dict):
                raise self.error(where, "must be a mapping with a Type")
            if "Type" not in resource:
                raise self.error(f"{where}.Type", "missing")
            if not isinstance(resource["Type"], str):
                raise self.error(f"{where}.Type", f"must be a string, got {resource['Type']!r}")
            props = self.section(resource, "Properties", f"{where}.Properties")
            self.warnings += self.checked(where, check_resource_attributes, lid, resource)
            self.warnings += self.checked(
                f"{where}.Properties", check_properties, resource["Type"], lid, props
            )
        return resources

    def load_parameters(self, overrides: dict[str, str]) -> None:
        section = self.section(self.doc, "Parameters", "Parameters")
        unknown = sorted(set(overrides) - set(section))
        if unknown:
            raise self.error("Parameters", f"no parameter named {', '.join(unknown)} to override")
        for name, spec in section.items():
            where = f"Parameters.{name}"
            if not isinstance(spec, dict):
                raise self.error(where, "must be a mapping with a Type")
            ptype = str(spec.get("Type", "String"))
            value = overrides.get(name)
            if value is None and "Default" in spec:
                value = _text(spec["Default"])
                if value is None:
                    raise self.error(f"{where}.Default", "must be a string or number")
            if value is None:
                raise self.error(
                    where,
                    f"no value: give it a Default or pass --parameter-overrides {name}=VALUE",
                )
            allowed = spec.get("AllowedValues")
            if isinstance(allowed, list) and value not in [_text(v) for v in allowed]:
                raise self.error(where, f"{value!r} is not one of AllowedValues {allowed}")
            if ptype == "Number":
                try:
                    float(value)
                except ValueError:
                    raise self.error(where, f"Type Number, got {value!r}") from None
            self.params[name] = value
            self.param_types[name] = ptype

    # -- intrinsic functions ---------------------------------------------------------------

    def resolve(self, value: Any, where: str) -> Any:
        if isinstance(value, dict):
            if _is_intrinsic(value):
                ((key, arg),) = value.items()
                return self.intrinsic(key, arg, where)
            out = {}
            for key, item in value.items():
                resolved = self.resolve(item, f"{where}.{key}")
                if resolved is not _NO_VALUE:
                    out[key] = resolved
            return out
        if isinstance(value, list):
            items = [self.resolve(item, f"{where}[{i}]") for i, item in enumerate(value)]
            return [item for item in items if item is not _NO_VALUE]
        if isinstance(value, str):
            return self.dynamic_references(value, where)
        return value

    def intrinsic(self, key: str, arg: Any, where: str) -> Any:
        tag = "!" + key.removeprefix("Fn::")
        if key == "Ref":
            if not isinstance(arg, str):
                raise self.error(where, f"!Ref takes a name, got {arg!r}")
            return self.ref(arg, where)
        if key == "Fn::Sub":
            return self.dynamic_references(self.sub(arg, where), where)
        arg = self.resolve(arg, where)
        if key == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else arg
            if not (isinstance(parts, list) and len(parts) == 2 and all(parts)):
                raise self.error(where, f"!GetAtt takes Resource.Attribute, got {arg!r}")
            return self.attribute(str(parts[0]), str(parts[1]), where)
        if key == "Fn::Join":
            if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list)):
                raise self.error(where, f"!Join takes [delimiter, [values...]], got {arg!r}")
            return str(arg[0]).join(self.text(item, tag, where) for item in arg[1])
        if key == "Fn::Select":
            if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list)):
                raise self.error(where, f"!Select takes [index, [values...]], got {arg!r}")
            try:
                return arg[1][int(arg[0])]
            except (ValueError, TypeError, IndexError):
                raise self.error(where, f"!Select: no item {arg[0]!r} in {arg[1]}") from None
        if key == "Fn::Split":
            if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str)):
                raise self.error(where, f"!Split takes [delimiter, string], got {arg!r}")
            return self.text(arg[1], tag, where).split(arg[0])
        if key == "Fn::Base64":
            return base64.b64encode(self.text(arg, tag, where).encode()).decode()
        if key == "Fn::FindInMap":
            if not (isinstance(arg, list) and len(arg) == 3):
                raise self.error(where, f"!FindInMap takes [Map, TopKey, SecondKey], got {arg!r}")
            try:
                return self.mappings[arg[0]][arg[1]][arg[2]]
            except (KeyError, TypeError):
                raise self.error(where, f"!FindInMap: Mappings has no {arg}") from None
        raise self.error(where, f"{tag} ({key}) is not supported yet")

    def text(self, value: Any, tag: str, where: str) -> str:
        out = _text(value)
        if out is None or value is _NO_VALUE:
            raise self.error(where, f"{tag}: expected a string, got {value!r}")
        return out

    def ref(self, name: str, where: str) -> Any:
        if name in self.params:
            value, ptype = self.params[name], self.param_types[name]
            if ptype.startswith("AWS::SSM::Parameter::Value"):
                raise self.error(where, f"!Ref {name}: {ptype} parameters are not supported yet")
            if ptype == "CommaDelimitedList" or ptype.startswith("List<"):
                return [item.strip() for item in value.split(",")]
            return value
        if name == "AWS::NoValue":
            return _NO_VALUE
        pseudo: dict[str, Any] = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::StackName": self.stack,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.resources:
            rtype = self.resources[name]["Type"]
            if rtype in (SERVERLESS_FUNCTION, LAMBDA_FUNCTION):
                return self.function_name(name)
            if rtype == DB_CLUSTER:
                return self.cluster(name).identifier
            if rtype == S3_BUCKET:
                return self.bucket_name(name)
            if rtype == SECRET:
                return self.secret_arn(name)
            if rtype == SECURITY_GROUP:
                return security_group_id(name)
            if rtype in LAYER_TYPES:
                return self.layer(name).arn
            got = self.attribute_resolver(name, "Ref") if self.attribute_resolver else None
            return name if got is None else got
        published = self.published_ref(name)
        if published is not None:
            return published
        raise self.error(where, f"!Ref {name}: no parameter or resource named {name}")

    def published_ref(self, name: str) -> str | None:
        """The resources SAM makes of an AutoPublishAlias, by the names SAM gives them:
        `Fn.Alias` and `FnAlias<alias>` (the alias's ARN), `Fn.Version` (the version's)."""
        for lid, resource in self.resources.items():
            if resource["Type"] != SERVERLESS_FUNCTION or not name.startswith(lid):
                continue
            alias = self.alias_of(lid)
            if alias is None:
                continue
            arn = f"arn:aws:lambda:{self.region}:{self.account}:function:{self.function_name(lid)}"
            rest = name[len(lid) :]
            if rest in (".Alias", f"Alias{alias}"):
                return f"{arn}:{alias}"
            if rest == ".Version":
                return f"{arn}:1"  # (each `up` publishes the template's code as version 1)
        return None

    def alias_of(self, lid: str) -> str | None:
        """A serverless function's AutoPublishAlias (its own or from Globals), resolved."""
        own = self.resources[lid].get("Properties") or {}
        props = _merge(self.function_globals(lid), own)
        if "AutoPublishAlias" not in props:
            return None
        alias = self.resolve(props["AutoPublishAlias"], f"Resources.{lid}.AutoPublishAlias")
        return alias if isinstance(alias, str) else None

    def attribute(self, lid: str, attr: str, where: str) -> str:
        if lid not in self.resources:
            raise self.error(where, f"!GetAtt {lid}.{attr}: no resource named {lid}")
        rtype = self.resources[lid]["Type"]
        if rtype in (SERVERLESS_FUNCTION, LAMBDA_FUNCTION) and attr == "Arn":
            name = self.function_name(lid)
            return f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"
        if rtype == DB_CLUSTER and attr in _CLUSTER_ATTRIBUTES:
            return self.cluster_attribute(lid, attr)
        if rtype == SECURITY_GROUP and attr == "GroupId":
            return security_group_id(lid)
        if rtype == SECRET and attr == "Id":
            return self.secret_arn(lid)
        if rtype == DB_CLUSTER and attr == "MasterUserSecret.SecretArn" and self.secrets:
            self.cluster(lid)
            if lid in self.managed_secret_arns:
                return self.managed_secret_arns[lid]
        if rtype == S3_BUCKET and attr in _BUCKET_ATTRIBUTES:
            name = self.bucket_name(lid)
            return _BUCKET_ATTRIBUTES[attr].format(name=name, region=self.region)
        got = self.attribute_resolver(lid, attr) if self.attribute_resolver else None
        if got is None:
            raise self.error(
                where,
                f"!GetAtt {lid}.{attr}: resource {lid} of type {rtype} "
                f"has no attribute {attr} emulated yet",
            )
        return got

    def secret_arn(self, lid: str) -> str:
        """The ARN of a template secret, which is created (or updated) in the store the
        first time the template names it. Its name: `Name`, else the logical id (stable,
        so a restart finds the same secret and keeps a generated password)."""
        if lid in self.secret_arns:
            return self.secret_arns[lid]
        where = f"Resources.{lid}.Properties"
        raw = self.resources[lid].get("Properties") or {}
        props = self.resolve(raw, where)
        if not isinstance(props, dict):
            raise self.error(where, f"expected a mapping, got {props!r}")
        name = props.get("Name", lid)
        if not isinstance(name, str) or not name:
            raise self.error(f"{where}.Name", f"expected a string, got {name!r}")
        if self.secrets is None:
            suffix = hashlib.sha256(name.encode()).hexdigest()[:6]
            arn = f"arn:aws:secretsmanager:{self.region}:{self.account}:secret:{name}-{suffix}"
        else:
            try:
                arn = self.secrets.deploy(name, props)
            except ValueError as e:
                raise self.error(where, str(e)) from None
        self.secret_arns[lid] = arn
        return arn

    def dynamic_references(self, value: str, where: str) -> str:
        if self.secrets is None or "{{resolve:secretsmanager:" not in value:
            return value
        try:
            return resolve_dynamic_references(value, self.secrets.lookup)
        except (ValueError, LookupError) as e:
            raise self.error(where, f"dynamic reference: {e}") from None

    def managed_password(self, lid: str) -> ManagedPassword | None:
        if self.secrets is None:
            return None
        hooks = self.secrets

        def make(identifier: str, username: str) -> str:
            arn, password = hooks.managed(
                cluster_arn(identifier, self.region, self.account), username
            )
            self.managed_secret_arns[lid] = arn
            return password

        return make

    def bucket_name(self, lid: str) -> str:
        """BucketName, or CloudFormation's kind of generated name (stack-logicalid-suffix,
        lower case), stable across restarts so the bucket's objects stay where they are."""
        where = f"Resources.{lid}.Properties.BucketName"
        props = self.resources[lid].get("Properties") or {}
        if "BucketName" in props:
            name = self.resolve(props["BucketName"], where)
            if not isinstance(name, str):
                raise self.error(where, f"expected a string, got {name!r}")
            problem = bucket_name_problem(name)
            if problem is not None:
                raise self.error(where, f"invalid bucket name {name!r}: {problem}")
            return name
        suffix = hashlib.sha256(f"{self.stack}/{lid}".encode()).hexdigest()[:12]
        base = re.sub(r"[^a-z0-9-]", "-", f"{self.stack}-{lid}".lower()).strip("-")
        return f"{base[: 63 - 13]}-{suffix}"

    def sub(self, arg: Any, where: str) -> str:
        variables: dict[str, Any] = {}
        if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], dict):
            arg, variables = arg
        if not isinstance(arg, str):
            raise self.error(where, f"!Sub takes a string or [string, {{vars}}], got {arg!r}")

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                value = self.resolve(variables[name], f"{where}.{name}")
            elif "." in name:
                lid, attr = name.split(".", 1)
                value = self.attribute(lid, attr, where)
            else:
                value = self.ref(name, where)
            return self.text(value, f"!Sub ${{{name}}}", where)

        return _SUB_VAR.sub(substitute, arg)

    # -- database clusters and the security groups that feed them ---------------------------

    def cluster(self, lid: str) -> ClusterSpec:
        if lid in self.clusters:
            return self.clusters[lid]
        where = f"Resources.{lid}.Properties"
        if lid in self.parsing:
            raise self.error(where, f"cluster {lid} refers to itself")
        self.parsing.add(lid)
        properties = self.resources[lid].get("Properties") or {}
        try:
            spec = parse_cluster(
                lid,
                properties,
                self.resolve_optional,
                where,
                self.security_groups,
                self.managed_password(lid),
            )
        except SpecError as exc:
            raise self.error(_key_path(where, exc), str(exc)) from None
        finally:
            self.parsing.discard(lid)
        self.clusters[lid] = spec
        return spec

    def cluster_attribute(self, lid: str, attr: str) -> str:
        spec = self.cluster(lid)
        if attr == "Endpoint.Port":
            return str(self.cluster_port(spec))
        if attr == "DBClusterArn":
            return cluster_arn(spec.identifier, self.region, self.account)
        return LOCAL_ADDRESS  # Endpoint.Address, ReadEndpoint.Address

    def resolve_optional(self, value: Any, where: str) -> Any:
        out = self.resolve(value, where)
        return None if out is _NO_VALUE else out

    def group_rules(self, lid: str) -> list[IngressRule]:
        """The TCP rules of security group `lid`'s own `SecurityGroupIngress`."""
        where = f"Resources.{lid}.Properties.SecurityGroupIngress"
        raw = (self.resources[lid].get("Properties") or {}).get("SecurityGroupIngress")
        items = self.resolve_optional(raw, where)
        if items is None:
            return []
        if not isinstance(items, list):
            raise self.error(where, f"must be a list of rules, got {items!r}")
        return [rule for i, item in enumerate(items) if (rule := self.rule(item, f"{where}[{i}]"))]

    def standalone_rules(self) -> dict[str, list[IngressRule]]:
        """The TCP rules of the `AWS::EC2::SecurityGroupIngress` resources, by group id."""
        out: dict[str, list[IngressRule]] = {}
        for lid, resource in self.resources.items():
            if resource["Type"] != SECURITY_GROUP_INGRESS:
                continue
            where = f"Resources.{lid}.Properties"
            props = self.resolve_optional(resource.get("Properties") or {}, where)
            group = props.get("GroupId", props.get("GroupName"))
            if not isinstance(group, str):
                raise self.error(f"{where}.GroupId", f"must name a security group, got {group!r}")
            rule = self.rule(props, where)
            if rule is not None:
                out.setdefault(group, []).append(rule)
        return out

    def rule(self, item: Any, where: str) -> IngressRule | None:
        try:
            return parse_ingress_rule(item)
        except SpecError as exc:
            raise self.error(_key_path(where, exc), str(exc)) from None

    # -- functions -------------------------------------------------------------------------

    def function_name(self, lid: str) -> str:
        if lid in self.names:
            return self.names[lid]
        where = f"Resources.{lid}.Properties.FunctionName"
        if lid in self.naming:
            raise self.error(where, "refers to itself")
        self.naming.add(lid)
        raw = (self.resources[lid].get("Properties") or {}).get("FunctionName")
        name = lid if raw is None else self.resolve(raw, where)
        self.naming.discard(lid)
        if not isinstance(name, str) or not _FUNCTION_NAME.fullmatch(name):
            raise self.error(
                where, f"must be 1-64 letters, digits, hyphens or underscores, got {name!r}"
            )
        self.names[lid] = name
        return name

    def build_function(self, lid: str, rtype: str) -> FunctionConfig:
        own: dict[str, Any] = self.resources[lid].get("Properties") or {}
        glob = self.function_globals(lid) if rtype == SERVERLESS_FUNCTION else {}
        props: dict[str, Any] = _merge(glob, own)

        def place(*keys: str) -> str:
            for source, prefix in (
                (own, f"Resources.{lid}.Properties"),
                (glob, "Globals.Function"),
            ):
                node: Any = source
                for key in keys:
                    node = node.get(key, _NO_VALUE) if isinstance(node, dict) else _NO_VALUE
                if node is not _NO_VALUE:
                    return ".".join((prefix, *keys))
            return ".".join((f"Resources.{lid}.Properties", *keys))

        def get(key: str) -> Any:
            value = self.resolve(props[key], place(key)) if key in props else None
            return None if value is _NO_VALUE else value

        name = self.function_name(lid)
        if get("PackageType") not in (None, "Zip", "Image"):
            raise self.error(
                place("PackageType"),
                f"Properties validation failed for resource {lid} with message: "
                "#/PackageType: failed validation constraint for keyword [enum]",
            )
        if get("PackageType") == "Image":
            raise self.error(place("PackageType"), "only Zip functions are supported yet")
        handler = get("Handler")
        if not isinstance(handler, str) or not handler:
            bad = "missing (required)" if handler is None else f"must be a string, got {handler!r}"
            raise self.error(place("Handler"), bad)
        runtime = get("Runtime")
        if runtime is None:
            hint = (
                " (on the function or in Globals.Function)" if rtype == SERVERLESS_FUNCTION else ""
            )
            raise self.error(place("Runtime"), f"missing (required){hint}")
        if runtime not in runtimes.supported():
            supported = ", ".join(runtimes.supported())
            refused = runtimes.refusal(runtime) if isinstance(runtime, str) else None
            if refused is not None:
                msg = refused
            elif isinstance(runtime, str) and runtime.startswith(("python", "nodejs", "provided")):
                msg = f"Runtime {runtime} is not supported (use {supported})"
            else:
                msg = f"Runtime {runtime} is not supported yet (faaslab runs {supported})"
            raise self.error(place("Runtime"), msg)
        ephemeral = get("EphemeralStorage") or {}
        if not isinstance(ephemeral, dict):
            raise self.error(place("EphemeralStorage"), "must be a mapping with Size")
        for key in ephemeral:
            if key != "Size":
                where = place("EphemeralStorage", str(key))
                raise self.error(where, f"Encountered unsupported property {key}")
        bounded = self.bounded
        memory = bounded(
            get("MemorySize"), place("MemorySize"), model.MEMORY_MIN_MB, model.MEMORY_MAX_MB
        )
        timeout = bounded(get("Timeout"), place("Timeout"), 1, model.TIMEOUT_MAX_S, integer=False)
        storage = bounded(
            ephemeral.get("Size"),
            place("EphemeralStorage", "Size"),
            model.EPHEMERAL_MIN_MB,
            model.EPHEMERAL_MAX_MB,
        )
        reserved_where = place("ReservedConcurrentExecutions")
        reserved = bounded(get("ReservedConcurrentExecutions"), reserved_where, 0, None)
        try:
            arch = architecture(get("Architectures"), lid, rtype)
        except PropertyRefused as e:
            raise self.error(place("Architectures"), e.message) from None
        if arch is not None:
            self.warnings.append(arch)
        serverless = rtype == SERVERLESS_FUNCTION
        target = name  # what the function's API events invoke: its alias, if it has one
        if serverless and (publish := self.auto_publish_of(get, place)) is not None:
            self.auto_publish[name] = publish
            target = f"{name}:{publish.alias}"
        return FunctionConfig(
            name=name,
            logical_id=lid,
            handler=handler,
            runtime=runtime,
            code_dir=self.code_dir(rtype, get, place),
            memory_mb=model.MEMORY_MIN_MB if memory is None else int(memory),
            timeout_s=model.TIMEOUT_DEFAULT_S if timeout is None else timeout,
            ephemeral_mb=model.EPHEMERAL_MIN_MB if storage is None else int(storage),
            environment=self.environment(props, place),
            reserved_concurrency=None if reserved is None else int(reserved),
            routes=self.events(lid, target, own) if serverless else (),
            vpc=self.vpc_config(get("VpcConfig"), place, lid, rtype),
            region=self.region,
            account=self.account,
            layers=self.function_layers(get("Layers"), place("Layers")),
            architecture=_architecture(get("Architectures")),
            build_method=self.build_method(lid),
        )

    def auto_publish_of(
        self, get: Callable[[str], Any], place: Callable[..., str]
    ) -> AutoPublish | None:
        alias = get("AutoPublishAlias")
        if alias is None:
            return None
        if not isinstance(alias, str) or not _ALIAS_NAME.fullmatch(alias):
            raise self.error(
                place("AutoPublishAlias"),
                f"must be an alias name (1-128 letters, digits, - or _, not only digits), "
                f"got {alias!r}",
            )
        description = get("VersionDescription")
        if description is not None and not isinstance(description, str):
            raise self.error(place("VersionDescription"), "must be a string")
        return AutoPublish(alias, description)

    def function_globals(self, lid: str) -> dict[str, Any]:
        """Globals.Function less what the function's `IgnoreGlobals` leaves out ("*": all)."""
        ignore = self.resources[lid].get("IgnoreGlobals")
        if ignore is None:
            return self.globals_function
        if ignore == "*":
            return {}
        where = f"Resources.{lid}.IgnoreGlobals"
        if not isinstance(ignore, list):
            raise self.error(
                where, f"Resource {lid} has invalid resource attribute 'IgnoreGlobals'."
            )
        out = dict(self.globals_function)
        for key in ignore:
            if key not in out:
                raise self.error(
                    where,
                    f"Resource {lid} has invalid resource attribute 'IgnoreGlobals' on item "
                    f"'{key}'.",
                )
            del out[key]
        return out

    def vpc_config(
        self, value: Any, place: Callable[..., str], lid: str, rtype: str
    ) -> model.VpcConfig | None:
        """`VpcConfig`: security groups and subnets, both needed for a function to be in the
        VPC (Lambda refuses one without the other; empty lists detach it). IPv6 egress is
        warned about: functions here reach nothing outside faaslab."""
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.error(
                place("VpcConfig"), "must be a mapping with SecurityGroupIds, SubnetIds"
            )
        lists: dict[str, tuple[str, ...]] = {}
        for key in ("SecurityGroupIds", "SubnetIds"):
            items = value.get(key) or []
            if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
                raise self.error(place("VpcConfig", key), f"must be a list of ids, got {items!r}")
            lists[key] = tuple(items)
        extra = sorted(set(value) - {"SecurityGroupIds", "SubnetIds", "Ipv6AllowedForDualStack"})
        if extra:
            raise self.error(place("VpcConfig", extra[0]), "is not a VpcConfig property")
        if value.get("Ipv6AllowedForDualStack") not in (None, False, "false"):
            self.warnings.append(
                PropertyWarning(
                    lid,
                    rtype,
                    "VpcConfig.Ipv6AllowedForDualStack",
                    "no IPv6 egress: functions reach nothing outside faaslab",
                )
            )
        groups, subnets = lists["SecurityGroupIds"], lists["SubnetIds"]
        if not groups and not subnets:
            return None
        if not groups or not subnets:
            missing = "SecurityGroupIds" if not groups else "SubnetIds"
            raise self.error(
                place("VpcConfig", missing),
                "missing: SubnetIds and SecurityIds must coexist or be both empty list "
                "(Lambda's InvalidParameterValueException)",
            )
        return model.VpcConfig(groups, subnets)

    def bounded(
        self, value: Any, where: str, low: int, high: int | None, integer: bool = True
    ) -> float | None:
        """A number property (int, float or numeric string from a !Ref) within bounds."""
        if value is None:
            return None
        bounds = f"{low}-{high}" if high is not None else f">= {low}"
        kind = "an integer" if integer else "a number"
        error = self.error(where, f"must be {kind} {bounds}, got {value!r}")
        number: Any = value
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                raise error from None
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise error
        if integer and not float(number).is_integer():
            raise error
        if not low <= number <= (high if high is not None else float("inf")):
            raise error
        return int(number) if float(number).is_integer() else float(number)

    def code_dir(self, rtype: str, get: Callable[[str], Any], place: Callable[..., str]) -> Path:
        key = "CodeUri" if rtype == SERVERLESS_FUNCTION else "Code"
        where = place(key)
        uri = get(key)
        if uri is None and rtype == SERVERLESS_FUNCTION:
            uri = "."
        if uri is None:
            raise self.error(where, "missing (a local directory, relative to the template)")
        if not isinstance(uri, str):
            raise self.error(where, f"must be a local directory path; {uri!r} is not supported yet")
        return self.local_code(uri, where)

    def local_code(self, uri: str, where: str) -> Path:
        """A CodeUri / ContentUri: a local directory, or a .zip (or .jar) that Lambda
        unpacks (the build does: builds/)."""
        if "://" in uri:
            raise self.error(where, f"{uri} is not a local directory (S3 code is not supported)")
        code = (self.base_dir / uri).resolve()
        if not code.exists():
            raise self.error(where, f"{uri}: no such directory or .zip file ({code})")
        if not code.is_dir() and code.suffix.lower() not in ARCHIVE_SUFFIXES:
            raise self.error(where, f"{uri}: neither a directory nor a .zip or .jar ({code})")
        return code

    def build_method(self, lid: str) -> str | None:
        """`Metadata.BuildMethod` of a function or layer, as `sam build` reads it."""
        metadata = self.resources[lid].get("Metadata") or {}
        method = metadata.get("BuildMethod") if isinstance(metadata, dict) else None
        if method is not None and not isinstance(method, str):
            raise self.error(f"Resources.{lid}.Metadata.BuildMethod", "must be a string")
        return method

    # -- layers ------------------------------------------------------------------------------

    def layers(self) -> dict[str, LayerConfig]:
        """Every layer of the template, by logical id (read on first use)."""
        for lid, resource in self.resources.items():
            if resource["Type"] in LAYER_TYPES:
                self.layer(lid)
        return dict(self.layer_configs)

    def layer(self, lid: str) -> LayerConfig:
        if lid in self.layer_configs:
            return self.layer_configs[lid]
        resource = self.resources[lid]
        where = f"Resources.{lid}.Properties"
        props = resource.get("Properties") or {}
        key = "ContentUri" if resource["Type"] == SERVERLESS_LAYER else "Content"
        uri = self.resolve_optional(props.get(key), f"{where}.{key}")
        if uri is None:
            raise self.error(f"{where}.{key}", "missing (a local directory or .zip)")
        if not isinstance(uri, str):  # {S3Bucket, S3Key}: what `sam package` writes
            raise self.error(
                f"{where}.{key}",
                f"{uri!r}: faaslab reads layer content from a local directory or .zip, not S3",
            )
        name = self.resolve_optional(props.get("LayerName", lid), f"{where}.LayerName")
        if not isinstance(name, str) or not _LAYER_NAME.fullmatch(name):
            raise self.error(
                f"{where}.LayerName",
                f"must be 1-140 letters, digits, hyphens or underscores, got {name!r}",
            )
        runtimes_ = self.resolve_optional(
            props.get("CompatibleRuntimes") or [], f"{where}.CompatibleRuntimes"
        )
        if not isinstance(runtimes_, list) or not all(isinstance(r, str) for r in runtimes_):
            raise self.error(f"{where}.CompatibleRuntimes", f"must be a list, got {runtimes_!r}")
        if len(runtimes_) > 15:
            raise self.error(
                f"{where}.CompatibleRuntimes", "Member must have length less than or equal to 15"
            )
        for other in self.layer_configs.values():
            if other.name == name:
                raise self.error(
                    f"{where}.LayerName",
                    f"layer name {name!r} is already used by {other.logical_id}",
                )
        config = LayerConfig(
            logical_id=lid,
            name=name,
            content=self.local_code(uri, f"{where}.{key}"),
            compatible_runtimes=tuple(runtimes_),
            build_method=self.build_method(lid),
            region=self.region,
            account=self.account,
        )
        self.layer_configs[lid] = config
        return config

    def function_layers(self, value: Any, where: str) -> tuple[LayerConfig, ...]:
        """A function's `Layers`: ARNs (`!Ref` of the template's layers), at most five.
        Layers from elsewhere cannot be had here: faaslab downloads nothing."""
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.error(where, f"must be a list of layer ARNs, got {value!r}")
        if len(value) > model.LAYERS_MAX:
            raise self.error(
                where,
                f"Cannot reference more than {model.LAYERS_MAX} layers. "
                "(Lambda's InvalidParameterValueException)",
            )
        by_arn = {layer.arn: layer for layer in self.layers().values()}
        out: list[LayerConfig] = []
        for i, arn in enumerate(value):
            if not isinstance(arn, str) or arn not in by_arn:
                raise self.error(
                    f"{where}[{i}]",
                    f"{arn!r} is not a layer of this template: faaslab runs layers from local "
                    "content only (define it as an AWS::Serverless::LayerVersion with a "
                    "ContentUri and use !Ref)",
                )
            out.append(by_arn[arn])
        return tuple(out)

    def environment(self, props: dict[str, Any], place: Callable[..., str]) -> dict[str, str]:
        env_spec = props.get("Environment")
        if env_spec is None:
            return {}
        if not isinstance(env_spec, dict) or _is_intrinsic(env_spec):
            raise self.error(place("Environment"), "must be a mapping with Variables")
        for key in env_spec:
            if key != "Variables":
                raise self.error(
                    place("Environment", str(key)), f"Encountered unsupported property {key}"
                )
        variables = env_spec.get("Variables") or {}
        if not isinstance(variables, dict) or _is_intrinsic(variables):
            raise self.error(place("Environment", "Variables"), "must be a mapping")
        env: dict[str, str] = {}
        for key, raw in variables.items():
            where = place("Environment", "Variables", str(key))
            if not isinstance(key, str) or not _ENV_KEY.fullmatch(key):
                raise self.error(
                    where, "names are a letter, then 1+ letters, digits or underscores"
                )
            if key in RESERVED_ENV_KEYS:
                raise self.error(where, f"{key} is reserved by Lambda and cannot be set")
            value = self.resolve(raw, where)
            if value is _NO_VALUE:
                continue
            text = _text(value)
            if text is None:
                raise self.error(where, f"must be a string, number or boolean, got {value!r}")
            env[key] = text
        size = sum(len(k.encode()) + len(v.encode()) for k, v in env.items())
        if size > ENV_SIZE_LIMIT:
            raise self.error(
                place("Environment", "Variables"),
                f"{size} bytes of variables; Lambda allows {ENV_SIZE_LIMIT}",
            )
        return env

    def events(self, lid: str, name: str, own: dict[str, Any]) -> tuple[ApiRoute, ...]:
        events = self.section(own, "Events", f"Resources.{lid}.Properties.Events")
        routes: list[ApiRoute] = []
        for event_name, event in events.items():
            where = f"Resources.{lid}.Properties.Events.{event_name}"
            if not isinstance(event, dict):
                raise self.error(where, "must be a mapping with a Type")
            etype = self.resolve(event.get("Type"), f"{where}.Type")
            if etype is None:
                raise self.error(f"{where}.Type", "missing")
            ep = self.section(event, "Properties", f"{where}.Properties")
            self.warnings += self.checked(
                f"Resources.{lid}.Properties", check_event, lid, event_name, etype, ep
            )
            if etype not in ("Api", "HttpApi"):
                continue
            kind = EventKind(etype)
            http_api = kind is EventKind.HTTP_API
            path = self.resolve(ep.get("Path"), f"{where}.Properties.Path")
            method = self.resolve(ep.get("Method"), f"{where}.Properties.Method")
            path = HTTP_API_DEFAULT_PATH if path is None and http_api else path
            method = "ANY" if method is None and http_api else method
            missing = "missing (required for Api events)"
            if not isinstance(path, str) or not path.startswith("/"):
                bad = missing if path is None else f"must start with /, got {path!r}"
                raise self.error(f"{where}.Properties.Path", bad)
            if not isinstance(method, str) or method.upper() not in HTTP_METHODS:
                bad = f"must be one of {sorted(HTTP_METHODS)}, got {method!r}"
                raise self.error(f"{where}.Properties.Method", missing if method is None else bad)
            route = ApiRoute(function=name, kind=kind, method=method.upper(), path=path)
            api = repr(ep.get("RestApiId" if kind is EventKind.API else "ApiId"))
            key = (kind, route.method, path, api)
            if key in self.routes:
                raise self.error(
                    where,
                    f"{etype} route {route.method} {path} is already used by {self.routes[key]}",
                )
            self.routes[key] = lid
            routes.append(route)
        return tuple(routes)


_CLUSTER_ATTRIBUTES = frozenset(
    {"Endpoint.Address", "Endpoint.Port", "ReadEndpoint.Address", "DBClusterArn"}
)


def _key_path(where: str, exc: SpecError) -> str:
    key = exc.key if isinstance(exc, PropertyError) else ""
    return f"{where}.{key}" if key else where


class _SecurityGroups(Mapping[str, Sequence[IngressRule]]):
    """The template's security groups by the id `!Ref` gives them, each with its TCP rules
    (its own `SecurityGroupIngress` plus `AWS::EC2::SecurityGroupIngress` resources). Rules
    are resolved when a cluster first asks, so groups that no cluster uses are never read."""

    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx
        self.ids = {
            security_group_id(lid): lid
            for lid, resource in ctx.resources.items()
            if resource["Type"] == SECURITY_GROUP
        }
        self.rules: dict[str, tuple[IngressRule, ...]] = {}
        self.standalone: dict[str, list[IngressRule]] | None = None

    def __getitem__(self, group_id: str) -> tuple[IngressRule, ...]:
        if group_id not in self.ids:
            raise KeyError(group_id)
        if group_id not in self.rules:
            if self.standalone is None:
                self.standalone = self.ctx.standalone_rules()
            own = self.ctx.group_rules(self.ids[group_id])
            self.rules[group_id] = (*own, *self.standalone.get(group_id, ()))
        return self.rules[group_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)
