"""Lambda runtimes: the identifiers faaslab accepts and how an environment starts each.

One registry, so the template loader (which names are valid), the manager (what to exec,
which variables to set) and the CLI (what is installed) agree. A runtime family is a
small object: adding Java, Node.js or a custom runtime is one entry here plus its client
code, never a branch in the manager.
"""

from __future__ import annotations

import datetime
import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from faaslab.functions import jvm
from faaslab.functions.model import FunctionConfig


class Family(Protocol):
    """How environments of one runtime family start."""

    @property
    def names(self) -> tuple[str, ...]:
        """The `Runtime` identifiers, e.g. ("python3.11", ...)."""
        ...

    def command(self, fn: FunctionConfig) -> list[str] | None:
        """The argv to exec in the sandbox; None = faaslab's own (preloaded) Python runtime."""
        ...

    def environment(self, fn: FunctionConfig) -> dict[str, str]:
        """Variables this runtime adds to Lambda's common ones (the function's own win)."""
        ...

    def warnings(self, fn: FunctionConfig) -> list[str]:
        """What `up` should say about how this function's runtime differs from AWS's here.
        Called once per deployed function before its first environment, so a family may
        also get ready here (Java builds its runtime once: may block)."""
        ...


@dataclass(frozen=True)
class Python:
    """python3.x: faaslab's own runtime, forked ready-made from the zygote; AWS's
    `awslambdaric` instead when the function sets FAASLAB_BOOTSTRAP=awslambdaric."""

    names: tuple[str, ...] = ("python3.9", "python3.10", "python3.11", "python3.12", "python3.13")

    def command(self, fn: FunctionConfig) -> list[str] | None:
        if fn.environment.get("FAASLAB_BOOTSTRAP") == "awslambdaric":
            return [sys.executable, "-m", "awslambdaric", fn.handler]
        return None

    def environment(self, fn: FunctionConfig) -> dict[str, str]:
        return {"PYTHONUNBUFFERED": "1"}

    def warnings(self, fn: FunctionConfig) -> list[str]:
        return []


@dataclass(frozen=True)
class Java:
    """java8.al2, java11, java17, java21: faaslab's Java runtime (functions/jvm.py) on the
    machine's JDK of that version, or the nearest one with a warning at `up`."""

    names: tuple[str, ...] = tuple(jvm.RUNTIME_MAJOR)

    def command(self, fn: FunctionConfig) -> list[str] | None:
        return jvm.command(fn.runtime, fn.handler, fn.memory_mb)

    def environment(self, fn: FunctionConfig) -> dict[str, str]:
        return {}

    def warnings(self, fn: FunctionConfig) -> list[str]:
        return jvm.prepare(fn.runtime)


NODE_RUNTIME = Path(__file__).resolve().parent / "node" / "index.cjs"


@functools.lru_cache(maxsize=1)
def node_version() -> str | None:
    """The machine's Node.js version ("v20.20.2"), or None without one."""
    node = shutil.which("node")
    if node is None:
        return None
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


@dataclass(frozen=True)
class NodeJs:
    """nodejs20.x, nodejs22.x: faaslab's own Node.js runtime interface client
    (functions/node/, JavaScript) run by the machine's `node`, with the flags of AWS's
    /var/runtime/bootstrap (its NODE_PATH: layers.variables). One machine has one node: a runtime of
    another major version runs on it, and `up` says so."""

    names: tuple[str, ...] = ("nodejs20.x", "nodejs22.x")

    def command(self, fn: FunctionConfig) -> list[str] | None:
        # AWS's bootstrap gives V8 a tenth of MemorySize as new space (half of it per semi
        # space) and the rest as old space: a heap that outgrows it fails in V8 rather
        # than in the kernel, as long as the process's other memory fits.
        new_space = fn.memory_mb // 10
        return [
            shutil.which("node") or "/usr/bin/node",
            "--expose-gc",
            "--max-http-header-size",
            "81920",
            f"--max-semi-space-size={new_space // 2}",
            f"--max-old-space-size={fn.memory_mb - new_space}",
            str(NODE_RUNTIME),
        ]

    def environment(self, fn: FunctionConfig) -> dict[str, str]:
        return {}  # (NODE_PATH, Lambda's, comes with the layers' paths: layers.variables)

    def warnings(self, fn: FunctionConfig) -> list[str]:
        out = []
        major = fn.runtime.removeprefix("nodejs").removesuffix(".x")
        version = node_version()
        if version is None:
            out.append(f"{fn.name}: {fn.runtime} needs `node`, and this machine has none")
        elif version.lstrip("v").split(".")[0] != major:
            out.append(
                f"{fn.name}: {fn.runtime} runs on this machine's Node.js {version} "
                f"(AWS runs Node.js {major})"
            )
        ended = END_OF_SUPPORT.get(fn.runtime)
        if ended is not None and datetime.date.today() >= ended:
            out.append(
                f"{fn.name}: {fn.runtime} reached end of support on AWS Lambda on {ended} "
                f"(Node.js {major}'s end of life); AWS then blocks creating, later updating, "
                "its functions"
            )
        return out


# Supported here, deprecated on AWS since: Node.js's own end-of-life dates.
END_OF_SUPPORT = {"nodejs20.x": datetime.date(2026, 4, 30)}

# Where Lambda's init looks for a custom runtime's entrypoint, in this order: the
# function's code, then a layer's (a layer's files are at /opt).
BOOTSTRAPS = ("/var/task/bootstrap", "/opt/bootstrap")


@dataclass(frozen=True)
class Provided:
    """provided.al2023, provided.al2: the function's own `bootstrap` executable, which
    speaks the Runtime API itself (a shell script with curl, a compiled binary,
    awslambdaric...). A missing or unexecutable one fails init with
    Runtime.InvalidEntrypoint (functions/entrypoint.py)."""

    names: tuple[str, ...] = ("provided.al2023", "provided.al2")

    def command(self, fn: FunctionConfig) -> list[str] | None:
        in_code = os.path.lexists(os.path.join(fn.code_dir, "bootstrap"))
        return [BOOTSTRAPS[0] if in_code else BOOTSTRAPS[1]]

    def environment(self, fn: FunctionConfig) -> dict[str, str]:
        return {}

    def warnings(self, fn: FunctionConfig) -> list[str]:
        return []


FAMILIES: tuple[Family, ...] = (Python(), NodeJs(), Provided(), Java())


def execution_env(runtime: str) -> str | None:
    """AWS_EXECUTION_ENV: "AWS_Lambda_<runtime>", which Lambda does not define for the
    OS-only runtimes (the provided family)."""
    return None if runtime in Provided.names else f"AWS_Lambda_{runtime}"


# Runtimes AWS no longer lets anyone create or update functions with (their deprecation's
# last phase), refused in its words: faaslab deploys as `sam deploy` would.
BLOCKED = ("nodejs18.x", "nodejs16.x", "nodejs14.x", "nodejs12.x", "nodejs10.x", "provided")
SUCCESSOR = {"provided": "provided.al2023"}


def refusal(runtime: str) -> str | None:
    """AWS's words for a runtime it no longer accepts, else None."""
    if runtime not in BLOCKED:
        return None
    successor = SUCCESSOR.get(runtime, "nodejs22.x")
    return (
        f"The runtime parameter of {runtime} is no longer supported for creating or updating "
        f"AWS Lambda functions. We recommend you use the new runtime ({successor}) while "
        "creating or updating functions."
    )


def family_of(runtime: str) -> Family | None:
    for family in FAMILIES:
        if runtime in family.names:
            return family
    return None


def supported() -> tuple[str, ...]:
    return tuple(name for family in FAMILIES for name in family.names)
