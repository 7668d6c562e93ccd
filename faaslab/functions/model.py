"""The functions domain: what a function is, what an invocation carries, what comes back.

These are plain frozen records shared by the template loader, the container manager and
the wire layers; nothing here does I/O.
"""

from __future__ import annotations

import enum
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

# Lambda's documented limits (PRODUCT.md, "Limits").
MEMORY_MIN_MB = 128
MEMORY_MAX_MB = 10_240
TIMEOUT_DEFAULT_S = 3
TIMEOUT_MAX_S = 900
EPHEMERAL_MIN_MB = 512
EPHEMERAL_MAX_MB = 10_240
SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
ASYNC_PAYLOAD_LIMIT = 1024 * 1024  # AWS raised this to 256 KB -> 1 MB in 2025
ENV_SIZE_LIMIT = 4096  # bytes of all keys + values, as Lambda counts them
# Lambda refuses to let a function set these (the runtime sets them itself).
# fmt: off
RESERVED_ENV_KEYS = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})
# fmt: on
DEFAULT_ACCOUNT = "123456789012"
LATEST = "$LATEST"
DEFAULT_REGION = "us-east-1"
LAYERS_MAX = 5  # layers one function may use
UNZIPPED_MAX_BYTES = 262_144_000  # a function's code plus its layers, unzipped


class EventKind(enum.Enum):
    """The two SAM event sources that put a function behind an HTTP route."""

    API = "Api"  # API Gateway REST API, payload format 1.0
    HTTP_API = "HttpApi"  # API Gateway HTTP API, payload format 2.0


@dataclass(frozen=True)
class ApiRoute:
    """One `Events` entry of type Api/HttpApi: METHOD + path template -> function."""

    function: str
    kind: EventKind
    method: str  # upper case, or "ANY"
    path: str  # e.g. "/hello/{name}" or "/{proxy+}"


@dataclass(frozen=True)
class VpcConfig:
    """A function's `VpcConfig`: in a VPC it may reach the clusters whose ingress admits it
    (functions/network.py); without one, none."""

    security_group_ids: tuple[str, ...]
    subnet_ids: tuple[str, ...]


@dataclass(frozen=True)
class LayerConfig:
    """A layer version of the template (`AWS::Serverless::LayerVersion` or
    `AWS::Lambda::LayerVersion`): its content appears under /opt of the functions that list
    it, merged in their order (builds/)."""

    logical_id: str
    name: str  # LayerName, else the logical id
    content: Path  # absolute: ContentUri / Content, a directory or a .zip
    compatible_runtimes: tuple[str, ...] = ()
    build_method: str | None = None  # Metadata.BuildMethod: python3.x, nodejsNN.x, makefile
    region: str = DEFAULT_REGION
    account: str = DEFAULT_ACCOUNT

    @property
    def arn(self) -> str:
        """The version ARN `!Ref` gives (every template layer is version 1 here)."""
        return f"arn:aws:lambda:{self.region}:{self.account}:layer:{self.name}:1"


@dataclass(frozen=True)
class FunctionConfig:
    """A function as deployed: everything the runtime needs to start an environment."""

    name: str  # FunctionName, or the logical id when none is given
    logical_id: str
    handler: str  # "module.function"
    runtime: str  # "python3.11"
    code_dir: Path  # absolute; mounted read-only at /var/task (CodeUri, or its build)
    memory_mb: int = 128
    timeout_s: float = TIMEOUT_DEFAULT_S
    ephemeral_mb: int = EPHEMERAL_MIN_MB
    environment: dict[str, str] = field(default_factory=dict)
    reserved_concurrency: int | None = None
    routes: tuple[ApiRoute, ...] = ()
    vpc: VpcConfig | None = None
    region: str = DEFAULT_REGION
    account: str = DEFAULT_ACCOUNT
    layers: tuple[LayerConfig, ...] = ()  # in the order `Layers` lists them
    opt_dir: Path | None = None  # the layers' merged content, read-only at /opt (builds/)
    architecture: str = "x86_64"  # Architectures[0]: part of a build's cache key
    build_method: str | None = None  # Metadata.BuildMethod (makefile), else the runtime's
    version: str = "$LATEST"  # or a published version's number (PublishVersion)

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.name}"

    @property
    def version_arn(self) -> str:
        """The ARN of this version: qualified, but for $LATEST (as AWS's FunctionArn)."""
        return self.arn if self.version == "$LATEST" else f"{self.arn}:{self.version}"

    @property
    def pool_key(self) -> str:
        """How the manager names this version's environments: NAME, or NAME:VERSION."""
        return self.name if self.version == "$LATEST" else f"{self.name}:{self.version}"

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"


def function_ref(identifier: str) -> tuple[str, str | None]:
    """(name, qualifier or None) of the ways Lambda's APIs name a function: NAME,
    NAME:QUALIFIER, a partial ARN (ACCOUNT:function:NAME[:QUALIFIER]) or an ARN."""
    parts = identifier.split(":")
    if "function" in parts:
        at = parts.index("function")
        rest = parts[at + 1 :]
        return (rest[0] if rest else ""), (rest[1] if len(rest) > 1 else None)
    name, sep, qualifier = identifier.partition(":")
    return name, qualifier if sep else None


class InvocationType(enum.Enum):
    REQUEST_RESPONSE = "RequestResponse"
    EVENT = "Event"
    DRY_RUN = "DryRun"


@dataclass(frozen=True)
class InvokeRequest:
    """One call to a function, as the Invoke API or an API route hands it to the manager."""

    function: str
    payload: bytes
    request_id: str
    client_context: str | None = None  # base64 JSON, passed through to the runtime
    cognito_identity: str | None = None
    trace_id: str | None = None


@dataclass(frozen=True)
class InvokeResult:
    """What the function produced. `function_error` is set ("Unhandled") on any failure."""

    request_id: str
    payload: bytes
    function_error: str | None = None
    log_tail: bytes = b""  # the last 4 KB of this invocation's log, when asked for


# Request and trace ids: unique, not secret (AWS's are visible to every caller), so they
# come from a PRNG seeded once from the OS rather than from os.urandom (a getrandom
# syscall each: three per invoke).
ids = random.Random(os.urandom(32))


def request_id() -> str:
    """A random (version 4) UUID string, as AWS's request ids are."""
    h = f"{(ids.getrandbits(128) & ~(0xF << 76) | (4 << 76)) & ~(0x3 << 62) | (0x2 << 62):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
