"""Lambda's management API (everything but Invoke, which keeps its hand-tuned path in
invoke_api.py): the calls people script and tools make before they invoke: ListFunctions,
GetFunction, GetFunctionConfiguration, GetAccountSettings. Served on the protocol layer
(awsapi/): each operation is a handler returning botocore's output shape."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from faaslab.awsapi.dispatch import Call, Output, ServiceApi
from faaslab.awsapi.errors import ApiError
from faaslab.functions.model import FunctionConfig

LIST_MAX_ITEMS = 50  # ListFunctions' page size, as AWS's
CODE_SIZE_LIMIT = 75 * 1024**3  # TotalCodeSize: 75 GB per region
UNZIPPED_CODE_LIMIT = 250 * 1024 * 1024


@functools.lru_cache(maxsize=256)
def code_digest(code_dir: Path, stamp: float) -> tuple[int, str]:
    """(size in bytes, base64 SHA-256) of a function's code directory. AWS hashes the
    deployment zip; faaslab runs the directory, so the digest is over its files' relative
    paths and contents in sorted order: it changes exactly when the code does."""
    del stamp  # (part of the cache key: the directory's newest change)
    digest = hashlib.sha256()
    size = 0
    for path in sorted(p for p in code_dir.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(code_dir)).encode() + b"\0")
        data = path.read_bytes()
        size += len(data)
        digest.update(data)
    return size, base64.b64encode(digest.digest()).decode()


def _newest_change(code_dir: Path) -> float:
    try:
        return max((os.stat(p).st_mtime for p in code_dir.rglob("*")), default=0.0)
    except OSError:
        return 0.0


def configuration(fn: FunctionConfig, deployed_at: dt.datetime) -> Output:
    """GetFunctionConfiguration's answer for `fn` (botocore's FunctionConfiguration)."""
    size, sha = code_digest(fn.code_dir, _newest_change(fn.code_dir))
    out: dict[str, Any] = {
        "FunctionName": fn.name,
        "FunctionArn": fn.arn,
        "Runtime": fn.runtime,
        "Role": f"arn:aws:iam::{fn.account}:role/{fn.name}-role",
        "Handler": fn.handler,
        "CodeSize": size,
        "Description": "",
        "Timeout": int(fn.timeout_s),
        "MemorySize": fn.memory_mb,
        "LastModified": deployed_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000",
        "CodeSha256": sha,
        "Version": "$LATEST",
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": hashlib.sha256(f"{fn}{sha}".encode()).hexdigest()[:32],
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
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
    ) -> None:
        self.functions = functions
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
            },
        )

    def _find(self, name_or_arn: str, qualifier: str | None = None) -> FunctionConfig:
        name = _function_name(name_or_arn)
        if qualifier not in (None, "$LATEST"):
            raise self._not_found(name_or_arn, qualifier)
        for fn in self.functions():
            if fn.name == name:
                return fn
        raise self._not_found(name_or_arn, qualifier)

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
        out: dict[str, Any] = {
            "Functions": [configuration(by_name[n], self.deployed_at) for n in page]
        }
        if start + size < len(names):
            out["NextMarker"] = names[start + size]
        return out

    def get_function_configuration(self, call: Call) -> Output:
        fn = self._find(call.params["FunctionName"], call.params.get("Qualifier"))
        return configuration(fn, self.deployed_at)

    def get_function(self, call: Call) -> Output:
        fn = self._find(call.params["FunctionName"], call.params.get("Qualifier"))
        out: dict[str, Any] = {
            "Configuration": configuration(fn, self.deployed_at),
            # AWS gives a presigned S3 URL of the deployment package; faaslab runs the
            # directory, so the Location names it (RepositoryType as AWS's)
            "Code": {"RepositoryType": "S3", "Location": fn.code_dir.as_uri()},
        }
        if fn.reserved_concurrency is not None:
            out["Concurrency"] = {"ReservedConcurrentExecutions": fn.reserved_concurrency}
        return out

    def get_account_settings(self, call: Call) -> Output:
        fns = list(self.functions())
        total = sum(code_digest(fn.code_dir, _newest_change(fn.code_dir))[0] for fn in fns)
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


def _function_name(name_or_arn: str) -> str:
    """A function's name from its name, partial ARN (123456789012:function:NAME) or ARN."""
    parts = name_or_arn.split(":")
    if "function" in parts:
        return parts[parts.index("function") + 1]
    return name_or_arn
