"""Lambda runtimes: the identifiers faaslab accepts and how an environment starts each.

One registry, so the template loader (which names are valid), the manager (what to exec,
which variables to set) and the CLI (what is installed) agree. A runtime family is a
small object: adding Java, Node.js or a custom runtime is one entry here plus its client
code, never a branch in the manager.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
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

    def prepare(self, fn: FunctionConfig) -> list[str]:
        """Once per deployed function, before its first environment (may block: builds);
        returns warnings to show at `up`."""
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

    def prepare(self, fn: FunctionConfig) -> list[str]:
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

    def prepare(self, fn: FunctionConfig) -> list[str]:
        return jvm.prepare(fn.runtime)


FAMILIES: tuple[Family, ...] = (Python(), Java())


def family_of(runtime: str) -> Family | None:
    for family in FAMILIES:
        if runtime in family.names:
            return family
    return None


def supported() -> tuple[str, ...]:
    return tuple(name for family in FAMILIES for name in family.names)
