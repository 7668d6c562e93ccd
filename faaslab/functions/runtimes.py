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


FAMILIES: tuple[Family, ...] = (Python(),)


def family_of(runtime: str) -> Family | None:
    for family in FAMILIES:
        if runtime in family.names:
            return family
    return None


def supported() -> tuple[str, ...]:
    return tuple(name for family in FAMILIES for name in family.names)
