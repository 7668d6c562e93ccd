"""Lambda's management API (everything but Invoke, which keeps its hand-tuned path in
invoke_api.py): the calls people script and tools make before they invoke: ListFunctions,
GetFunction, GetFunctionConfiguration, GetAccountSettings. Served on the protocol layer
(awsapi/): each operation is a handler returning botocore's output shape."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import functools
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from faaslab.awsapi.dispatch import Call, Output, ServiceApi
from faaslab.awsapi.errors import ApiError
from faaslab.functions import runtimes
from faaslab.functions.model import (
    ENV_SIZE_LIMIT,
    EPHEMERAL_MAX_MB,
    EPHEMERAL_MIN_MB,
    MEMORY_MAX_MB,
    MEMORY_MIN_MB,
    RESERVED_ENV_KEYS,
    TIMEOUT_MAX_S,
    FunctionConfig,
    VpcConfig,
    function_ref,
)

# UpdateFunctionConfiguration's parameters: applied, or accepted as AWS's own bookkeeping
# (IAM is not enforced here: the template warns about it too). Any other is refused.
APPLIED = frozenset(
    {
        "FunctionName",
        "Handler",
        "Timeout",
        "MemorySize",
        "Environment",
        "EphemeralStorage",
        "Runtime",
        "RevisionId",
        "Role",
        "Description",
        "VpcConfig",
    }
)
CREATE_APPLIED = (APPLIED - {"RevisionId"}) | {"Code", "PackageType", "Publish", "Architectures"}

LIST_MAX_ITEMS = 50  # ListFunctions' page size, as AWS's
CODE_SIZE_LIMIT = 75 * 1024**3  # TotalCodeSize: 75 GB per region
UNZIPPED_CODE_LIMIT = 250 * 1024 * 1024


@functools.lru_cache(maxsize=256)
def code_digest(code_dir: Path) -> tuple[int, str]:
    """(size in bytes, base64 SHA-256) of a function's code directory, once per directory:
    the code as deployed (a build, an upload's own directory), as AWS's CodeSha256 changes
    only with a deployment. AWS hashes the zip; faaslab runs the directory, so the digest
    is over its files' relative paths and contents in sorted order."""
    digest = hashlib.sha256()
    size = 0
    for path in sorted(p for p in code_dir.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(code_dir)).encode() + b"\0")
        data = path.read_bytes()
        size += len(data)
        digest.update(data)
    return size, base64.b64encode(digest.digest()).decode()


def configuration(fn: FunctionConfig, deployed_at: dt.datetime) -> Output:
    """GetFunctionConfiguration's answer for `fn` (botocore's FunctionConfiguration)."""
    size, sha = code_digest(fn.code_dir)
    out: dict[str, Any] = {
        "FunctionName": fn.name,
        "FunctionArn": fn.version_arn,
        "Runtime": fn.runtime,
        "Role": f"arn:aws:iam::{fn.account}:role/{fn.name}-role",
        "Handler": fn.handler,
        "CodeSize": size,
        "Description": "",
        "Timeout": int(fn.timeout_s),
        "MemorySize": fn.memory_mb,
        "LastModified": deployed_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000",
        "CodeSha256": sha,
        "Version": fn.version,
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": hashlib.sha256(f"{fn}{sha}".encode()).hexdigest()[:32],
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": [fn.architecture],
        "EphemeralStorage": {"Size": fn.ephemeral_mb},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": fn.log_group},
    }
    if fn.environment:
        out["Environment"] = {"Variables": dict(fn.environment)}
    if fn.vpc is not None:
        out["VpcConfig"] = {
            "SubnetIds": list(fn.vpc.subnet_ids),
            "SecurityGroupIds": list(fn.vpc.security_group_ids),
            "VpcId": "vpc-faaslab",
        }
    return out


class LambdaControl:
    """The handlers, over the functions the manager runs (`functions()` lists them)."""

    def __init__(
        self,
        functions: Callable[[], Iterable[FunctionConfig]],
        region: str,
        account: str,
        account_concurrency: int,
        reconfigure: Callable[[FunctionConfig, bool], None] | None = None,
        code: CodeStore | None = None,
        versions: Versions | None = None,
    ) -> None:
        self.versions = versions
        self.functions = functions
        self.reconfigure = reconfigure
        self.code = code
        self.updated: dict[str, dt.datetime] = {}  # LastModified of functions updated here
        self.descriptions: dict[str, str] = {}
        self.region = region
        self.account = account
        self.account_concurrency = account_concurrency
        self.deployed_at = dt.datetime.now(dt.UTC)

    def api(self) -> ServiceApi:
        return ServiceApi(
            "lambda",
            {
                "ListFunctions": self.list_functions,
                "GetFunction": self.get_function,
                "GetFunctionConfiguration": self.get_function_configuration,
                "GetAccountSettings": self.get_account_settings,
                "UpdateFunctionConfiguration": self.update_function_configuration,
                "PutFunctionConcurrency": self.put_function_concurrency,
                "GetFunctionConcurrency": self.get_function_concurrency,
                "DeleteFunctionConcurrency": self.delete_function_concurrency,
                "CreateFunction": self.create_function,
                "DeleteFunction": self.delete_function,
                "UpdateFunctionCode": self.update_function_code,
                "PublishVersion": self.publish_version,
                "ListVersionsByFunction": self.list_versions,
                "CreateAlias": self.create_alias,
                "GetAlias": self.get_alias,
                "UpdateAlias": self.update_alias,
                "DeleteAlias": self.delete_alias,
                "ListAliases": self.list_aliases,
            },
        )

    def _configuration(self, fn: FunctionConfig) -> Output:
        out = configuration(fn, self.updated.get(fn.name, self.deployed_at))
        out["Description"] = self.descriptions.get(fn.pool_key, "")
        return out

    def _find(self, name_or_arn: str, qualifier: str | None = None) -> FunctionConfig:
        """$LATEST, or the version a qualifier (in the ARN or given) names: a number or an
        alias."""
        name, inline = function_ref(name_or_arn)
        qualifier = qualifier or inline
        latest = next((fn for fn in self.functions() if fn.name == name), None)
        if latest is None:
            raise self._not_found(name, qualifier)
        if qualifier in (None, "$LATEST"):
            return latest
        store = self._versions()
        version = store.aliases.get(name, {}).get(qualifier, qualifier)
        for fn in store.versions(name):
            if fn.version == version:
                return fn
        raise self._not_found(name, qualifier)

    def _not_found(self, name_or_arn: str, qualifier: str | None) -> ApiError:
        what = name_or_arn
        if not name_or_arn.startswith("arn:"):
            what = f"arn:aws:lambda:{self.region}:{self.account}:function:{name_or_arn}"
        if qualifier:
            what += f":{qualifier}"
        return ApiError("ResourceNotFoundException", f"Function not found: {what}", 404)

    def list_functions(self, call: Call) -> Output:
        p = call.params
        if p.get("FunctionVersion") not in (None, "ALL"):
            raise ApiError("InvalidParameterValueException", "FunctionVersion must be ALL")
        size = p.get("MaxItems") or LIST_MAX_ITEMS
        if not 1 <= size <= 10_000:
            raise ApiError("InvalidParameterValueException", "MaxItems must be between 1 and 10000")
        names = sorted(fn.name for fn in self.functions())
        start = 0
        if p.get("Marker"):
            marker = p["Marker"]
            if marker not in names:
                raise ApiError("InvalidParameterValueException", "Invalid Marker")
            start = names.index(marker)
        page = names[start : start + size]
        by_name = {fn.name: fn for fn in self.functions()}
        out: dict[str, Any] = {"Functions": [self._configuration(by_name[n]) for n in page]}
        if start + size < len(names):
            out["NextMarker"] = names[start + size]
        return out

    def get_function_configuration(self, call: Call) -> Output:
        fn = self._find(call.params["FunctionName"], call.params.get("Qualifier"))
        return self._configuration(fn)

    def get_function(self, call: Call) -> Output:
        fn = self._find(call.params["FunctionName"], call.params.get("Qualifier"))
        out: dict[str, Any] = {
            "Configuration": self._configuration(fn),
            # AWS gives a presigned S3 URL of the deployment package; faaslab runs the
            # directory, so the Location names it (RepositoryType as AWS's)
            "Code": {"RepositoryType": "S3", "Location": fn.code_dir.as_uri()},
        }
        if fn.reserved_concurrency is not None:
            out["Concurrency"] = {"ReservedConcurrentExecutions": fn.reserved_concurrency}
        return out

    def get_account_settings(self, call: Call) -> Output:
        fns = list(self.functions())
        total = sum(code_digest(fn.code_dir)[0] for fn in fns)
        reserved = sum(fn.reserved_concurrency or 0 for fn in fns)
        return {
            "AccountLimit": {
                "TotalCodeSize": CODE_SIZE_LIMIT,
                "CodeSizeUnzipped": UNZIPPED_CODE_LIMIT,
                "CodeSizeZipped": 50 * 1024 * 1024,
                "ConcurrentExecutions": self.account_concurrency,
                "UnreservedConcurrentExecutions": self.account_concurrency - reserved,
            },
            "AccountUsage": {"TotalCodeSize": total, "FunctionCount": len(fns)},
        }

    # -- changes
    def _apply(self, fn: FunctionConfig, retire: bool) -> None:
        if self.reconfigure is None:
            raise ApiError("ServiceException", "functions cannot be reconfigured here", 500)
        self.reconfigure(fn, retire)
        self.updated[fn.name] = dt.datetime.now(dt.UTC)

    def _changes(self, p: dict[str, Any], fn: FunctionConfig) -> dict[str, Any]:
        """The FunctionConfig fields a Create/UpdateFunctionConfiguration call sets,
        checked as Lambda checks them."""
        changes: dict[str, Any] = {}
        if "Handler" in p:
            changes["handler"] = p["Handler"]
        if "Timeout" in p:
            changes["timeout_s"] = _bounded(p["Timeout"], "timeout", 1, TIMEOUT_MAX_S)
        if "MemorySize" in p:
            changes["memory_mb"] = _bounded(
                p["MemorySize"], "memorySize", MEMORY_MIN_MB, MEMORY_MAX_MB
            )
        if "EphemeralStorage" in p:
            size = p["EphemeralStorage"]["Size"]
            changes["ephemeral_mb"] = _bounded(
                size, "ephemeralStorage.size", EPHEMERAL_MIN_MB, EPHEMERAL_MAX_MB
            )
        if "Runtime" in p:
            _refuse_blocked(p["Runtime"])
            if p["Runtime"] not in runtimes.supported():
                raise _invalid_parameter(
                    f"Value {p['Runtime']} at 'runtime' failed to satisfy constraint: faaslab "
                    f"runs {', '.join(runtimes.supported())}"
                )
            changes["runtime"] = p["Runtime"]
        if "Environment" in p:
            variables = dict((p["Environment"] or {}).get("Variables") or {})
            reserved = sorted(set(variables) & RESERVED_ENV_KEYS)
            if reserved:
                raise _invalid_parameter(
                    "Lambda was unable to configure your environment variables because the "
                    "environment variables you have provided contains reserved keys that are "
                    f"currently not supported for modification. Reserved keys used in this "
                    f"request: {', '.join(reserved)}"
                )
            size = sum(len(k.encode()) + len(v.encode()) for k, v in variables.items())
            if size > ENV_SIZE_LIMIT:
                raise _invalid_parameter(
                    "Lambda was unable to configure your environment variables because the "
                    f"environment variables you have provided exceeded the {ENV_SIZE_LIMIT} "
                    "bytes limit."
                )
            changes["environment"] = variables
        if "VpcConfig" in p:
            vpc = p["VpcConfig"] or {}
            subnets, groups = vpc.get("SubnetIds") or [], vpc.get("SecurityGroupIds") or []
            if bool(subnets) != bool(groups):
                raise _invalid_parameter(
                    "SubnetIds and SecurityIds must coexist or be both empty list."
                )
            changes["vpc"] = VpcConfig(tuple(groups), tuple(subnets)) if subnets else None
        if "Description" in p:
            self.descriptions[fn.name] = p["Description"]
        return changes

    def update_function_configuration(self, call: Call) -> Output:
        p = call.params
        fn = _latest_only(self._find(p["FunctionName"]))
        unknown = sorted(set(p) - APPLIED)
        if unknown:
            raise _invalid_parameter(
                f"faaslab does not emulate {', '.join(unknown)} for functions; it updates "
                "Handler, Timeout, MemorySize, Environment, EphemeralStorage and Runtime"
            )
        current = self._configuration(fn)["RevisionId"]
        if p.get("RevisionId") not in (None, current):
            raise _precondition_failed()
        new = dataclasses.replace(fn, **self._changes(p, fn))
        self._apply(new, retire=True)
        out = self._configuration(new)
        out["LastUpdateStatus"] = "InProgress"  # (as AWS answers the update itself)
        out["LastUpdateStatusReason"] = "The function is being created."
        out["LastUpdateStatusReasonCode"] = "Creating"
        return out

    def put_function_concurrency(self, call: Call) -> Output:
        fn = self._find(call.params["FunctionName"])
        reserved = call.params["ReservedConcurrentExecutions"]
        others = sum(f.reserved_concurrency or 0 for f in self.functions() if f.name != fn.name)
        if reserved < 0 or others + reserved > self.account_concurrency - 100:
            raise _invalid_parameter(
                "Specified ReservedConcurrentExecutions for function decreases account's "
                "UnreservedConcurrentExecution below its minimum value of [100]."
            )
        self._apply(dataclasses.replace(fn, reserved_concurrency=reserved), retire=False)
        return {"ReservedConcurrentExecutions": reserved}

    def get_function_concurrency(self, call: Call) -> Output:
        fn = self._find(call.params["FunctionName"])
        if fn.reserved_concurrency is None:
            return {}
        return {"ReservedConcurrentExecutions": fn.reserved_concurrency}

    def delete_function_concurrency(self, call: Call) -> Output:
        fn = self._find(call.params["FunctionName"])
        self._apply(dataclasses.replace(fn, reserved_concurrency=None), retire=False)
        return {}

    # -- versions and aliases
    def _versions(self) -> Versions:
        if self.versions is None:
            raise ApiError("ServiceException", "versions are not available here", 500)
        return self.versions

    def publish_version(self, call: Call) -> Output:
        p = call.params
        fn = self._find(p["FunctionName"])
        current = self._configuration(fn)
        if p.get("RevisionId") not in (None, current["RevisionId"]):
            raise _precondition_failed()
        if p.get("CodeSha256") not in (None, current["CodeSha256"]):
            raise _invalid_parameter(
                f"CodeSHA256 ({p['CodeSha256']}) is different from current CodeSHA256 in "
                f"$LATEST ({current['CodeSha256']}). Please try again with the CodeSHA256 in "
                "$LATEST."
            )
        return self._configuration(self._publish(fn, p.get("Description")))

    def _publish(self, fn: FunctionConfig, description: str | None) -> FunctionConfig:
        store = self._versions()
        published = store.versions(fn.name)
        if published and self._same(published[-1], fn):
            return published[-1]  # (AWS too: nothing changed, no new version)
        version = store.publish(fn.name)
        if description:
            self.descriptions[version.pool_key] = description
        return version

    def publish_alias(self, name: str, alias: str, description: str | None) -> FunctionConfig:
        """A template's AutoPublishAlias: publish $LATEST (unless unchanged since the last
        version) and point the alias at that version."""
        version = self._publish(self._find(name), description)
        self._versions().aliases.setdefault(version.name, {})[alias] = version.version
        return version

    def _same(self, a: FunctionConfig, b: FunctionConfig) -> bool:
        return dataclasses.replace(a, version="$LATEST") == b

    def list_versions(self, call: Call) -> Output:
        fn = self._find(call.params["FunctionName"])
        found = [fn, *self._versions().versions(fn.name)]
        return {"Versions": [self._configuration(v) for v in found]}

    def _alias(self, name: str, alias: str, version: str) -> Output:
        fn = self._find(name)
        return {
            "AliasArn": f"{fn.arn}:{alias}",
            "Name": alias,
            "FunctionVersion": version,
            "Description": self.descriptions.get(f"{fn.name}@{alias}", ""),
            "RevisionId": hashlib.sha256(f"{fn.name}{alias}{version}".encode()).hexdigest()[:32],
        }

    def _check_version(self, name: str, version: str) -> None:
        if version != "$LATEST" and version not in {
            v.version for v in self._versions().versions(name)
        }:
            raise ApiError(
                "ResourceNotFoundException",
                f"Function not found: arn:aws:lambda:{self.region}:{self.account}:function:"
                f"{name}:{version}",
                404,
            )

    def create_alias(self, call: Call) -> Output:
        p = call.params
        fn = self._find(p["FunctionName"])
        if p.get("RoutingConfig"):
            raise _invalid_parameter("faaslab does not emulate weighted aliases (RoutingConfig)")
        aliases = self._versions().aliases.setdefault(fn.name, {})
        if p["Name"] in aliases:
            raise ApiError(
                "ResourceConflictException",
                f"Alias already exists: {fn.arn}:{p['Name']}",
                409,
            )
        self._check_version(fn.name, p["FunctionVersion"])
        aliases[p["Name"]] = p["FunctionVersion"]
        if p.get("Description"):
            self.descriptions[f"{fn.name}@{p['Name']}"] = p["Description"]
        return self._alias(fn.name, p["Name"], p["FunctionVersion"])

    def _existing_alias(self, p: dict[str, Any]) -> tuple[FunctionConfig, str]:
        fn = self._find(p["FunctionName"])
        version = self._versions().aliases.get(fn.name, {}).get(p["Name"])
        if version is None:
            raise ApiError(
                "ResourceNotFoundException",
                f"Cannot find alias arn: {fn.arn}:{p['Name']}",
                404,
            )
        return fn, version

    def get_alias(self, call: Call) -> Output:
        fn, version = self._existing_alias(call.params)
        return self._alias(fn.name, call.params["Name"], version)

    def update_alias(self, call: Call) -> Output:
        p = call.params
        fn, version = self._existing_alias(p)
        if p.get("RoutingConfig"):
            raise _invalid_parameter("faaslab does not emulate weighted aliases (RoutingConfig)")
        if "FunctionVersion" in p:
            self._check_version(fn.name, p["FunctionVersion"])
            version = p["FunctionVersion"]
            self._versions().aliases[fn.name][p["Name"]] = version
        if "Description" in p:
            self.descriptions[f"{fn.name}@{p['Name']}"] = p["Description"]
        return self._alias(fn.name, p["Name"], version)

    def delete_alias(self, call: Call) -> Output:
        fn, _ = self._existing_alias(call.params)
        del self._versions().aliases[fn.name][call.params["Name"]]
        return {}

    def list_aliases(self, call: Call) -> Output:
        fn = self._find(call.params["FunctionName"])
        wanted = call.params.get("FunctionVersion")
        aliases = sorted(self._versions().aliases.get(fn.name, {}).items())
        return {
            "Aliases": [
                self._alias(fn.name, alias, version)
                for alias, version in aliases
                if wanted in (None, version)
            ]
        }

    # -- code: the deployment package as a zip (how the tutorial deploys its jar)
    def _store(self) -> CodeStore:
        if self.code is None:
            raise ApiError("ServiceException", "functions cannot be created here", 500)
        return self.code

    def _package(self, p: dict[str, Any]) -> bytes:
        """The zip from ZipFile, or from faaslab's S3 (S3Bucket + S3Key)."""
        store = self._store()
        if p.get("ImageUri"):
            raise _invalid_parameter("faaslab runs Zip functions only: give ZipFile or S3Key")
        if p.get("S3ObjectVersion"):
            raise _invalid_parameter("faaslab's S3 has no object versions (S3ObjectVersion)")
        if p.get("ZipFile") is not None:
            return bytes(p["ZipFile"])
        if p.get("S3Bucket") and p.get("S3Key"):
            data = store.read_object(p["S3Bucket"], p["S3Key"])
            if data is None:
                raise _invalid_parameter(
                    f"Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error "
                    f"Message: The specified key does not exist. ({p['S3Bucket']}/{p['S3Key']})"
                )
            return data
        raise _invalid_parameter("Please provide a source for function code.")

    def create_function(self, call: Call) -> Output:
        p = call.params
        store = self._store()
        unknown = sorted(set(p) - CREATE_APPLIED)
        if unknown:
            raise _invalid_parameter(f"faaslab does not emulate {', '.join(unknown)} for functions")
        name = function_ref(p["FunctionName"])[0]
        if any(f.name == name for f in self.functions()):
            raise ApiError("ResourceConflictException", f"Function already exist: {name}", 409)
        if p.get("PackageType", "Zip") != "Zip":
            raise _invalid_parameter("faaslab runs Zip functions only")
        if p.get("Publish"):
            raise _invalid_parameter("faaslab does not publish versions yet (Publish)")
        runtime = p.get("Runtime")
        _refuse_blocked(runtime)
        if runtime not in runtimes.supported():
            raise _invalid_parameter(
                f"Value {runtime} at 'runtime' failed to satisfy constraint: faaslab runs "
                f"{', '.join(runtimes.supported())}"
            )
        if not p.get("Handler"):
            raise _invalid_parameter("Handler is required for a Zip function")
        architectures = p.get("Architectures") or ["x86_64"]
        if len(architectures) != 1 or architectures[0] not in ("x86_64", "arm64"):
            raise _invalid_parameter("Architectures: exactly one of x86_64 or arm64")
        code_dir = store.unpack(name, self._package(p["Code"]))
        fn = FunctionConfig(
            name=name,
            logical_id=name,
            handler=p["Handler"],
            runtime=runtime,
            code_dir=code_dir,
            region=self.region,
            account=self.account,
            architecture=architectures[0],
        )
        fn = dataclasses.replace(fn, **self._changes(p, fn))
        store.add(fn)
        self.updated[name] = dt.datetime.now(dt.UTC)
        out = self._configuration(fn)
        out.update(State="Pending", StateReason="The function is being created.")
        out["StateReasonCode"] = "Creating"
        return out

    def delete_function(self, call: Call) -> Output:
        qualifier = call.params.get("Qualifier")
        if qualifier not in (None, "$LATEST"):
            fn = self._find(call.params["FunctionName"], qualifier)
            if fn.version != qualifier:
                raise _invalid_parameter("Deletion of aliases is not supported: use DeleteAlias")
            pointing = sorted(
                a for a, v in self._versions().aliases.get(fn.name, {}).items() if v == qualifier
            )
            if pointing:
                raise ApiError(
                    "ResourceConflictException",
                    f"Unable to delete version because the following aliases reference it: "
                    f"{pointing}",
                    409,
                )
            self._versions().remove_version(fn.name, qualifier)
            return {}
        fn = self._find(call.params["FunctionName"])
        self._store().remove(fn.name)
        self.updated.pop(fn.name, None)
        return {}

    def update_function_code(self, call: Call) -> Output:
        p = call.params
        fn = _latest_only(self._find(p["FunctionName"]))
        if p.get("Publish"):
            raise _invalid_parameter("faaslab does not publish versions yet (Publish)")
        if p.get("Architectures") not in (None, ["x86_64"], ["arm64"]):
            raise _invalid_parameter("Architectures: one of x86_64 or arm64")
        data = self._package(p)
        if p.get("DryRun"):
            return self._configuration(fn)
        new = dataclasses.replace(fn, code_dir=self._store().unpack(fn.name, data))
        self._apply(new, retire=True)
        out = self._configuration(new)
        out["LastUpdateStatus"] = "InProgress"
        return out


@dataclass
class CodeStore:
    """Where functions created or updated through the API keep their code, and how
    faaslab's own S3 is read (S3Bucket/S3Key) and functions are added and removed."""

    root: Path  # <state>/functions: one directory per function and code digest
    read_object: Callable[[str, str], bytes | None]
    add: Callable[[FunctionConfig], None]
    remove: Callable[[str], None]

    def unpack(self, name: str, data: bytes) -> Path:
        from faaslab.builds.builder import make_readable, unpack
        from faaslab.builds.errors import BuildError

        digest = hashlib.sha256(data).hexdigest()[:16]
        target = self.root / name / digest
        if target.is_dir():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            archive = Path(tmp) / "code.zip"
            archive.write_bytes(data)
            staged = Path(tmp) / "code"
            staged.mkdir()
            try:
                unpack(archive, staged)
            except BuildError as e:
                raise ApiError(
                    "InvalidParameterValueException",
                    f"Could not unzip uploaded file. Please check your file, then try to "
                    f"upload again. ({e})",
                ) from None
            make_readable(staged)
            os.chmod(staged, 0o755)
            staged.rename(target)
        return target


class Versions(Protocol):
    """Where published versions and aliases live (functions/manager.Manager)."""

    aliases: dict[str, dict[str, str]]  # function -> alias -> version

    def publish(self, name: str) -> FunctionConfig: ...

    def versions(self, name: str) -> list[FunctionConfig]: ...

    def remove_version(self, name: str, version: str) -> None: ...


def _refuse_blocked(runtime: object) -> None:
    """A runtime past its deprecation's last phase: Lambda's own words (runtimes.refusal)."""
    refused = runtimes.refusal(runtime) if isinstance(runtime, str) else None
    if refused is not None:
        raise _invalid_parameter(refused)


def _latest_only(fn: FunctionConfig) -> FunctionConfig:
    if fn.version != "$LATEST":
        raise _invalid_parameter(
            f"Version {fn.version} of {fn.name} cannot be changed: published versions are "
            "immutable (update $LATEST, then PublishVersion)"
        )
    return fn


def _precondition_failed() -> ApiError:
    return ApiError(
        "PreconditionFailedException",
        "The Revision Id provided does not match the latest Revision Id. Call the "
        "GetFunction/GetAlias API to retrieve the latest Revision Id",
        412,
    )


def _invalid_parameter(message: str) -> ApiError:
    return ApiError("InvalidParameterValueException", message)


def _bounded(value: Any, name: str, low: int, high: int) -> Any:
    if not low <= value <= high:
        raise ApiError(
            "ValidationException",
            f"1 validation error detected: Value '{value}' at '{name}' failed to satisfy "
            f"constraint: Member must have value {'greater' if value < low else 'less'} than "
            f"or equal to {low if value < low else high}",
        )
    return value
