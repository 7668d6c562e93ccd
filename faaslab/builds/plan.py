"""What a build of a template does, decided before anything is copied or installed.

`sam build`'s rules, for the tools this machine has:

- a function's CodeUri directory with `requirements.txt` (python runtimes) gets
  `pip install -r requirements.txt` into a copy of itself; with `package.json` (nodejs
  runtimes) `npm install --omit=dev`; `Metadata.BuildMethod: makefile` runs
  `make build-<LogicalId>` with ARTIFACTS_DIR, as SAM does;
- anything else (a jar's classes and lib/, a `bootstrap`) is used as given: no copy;
- a .zip or .jar CodeUri is unpacked, as Lambda unpacks it into /var/task;
- a layer is used as given (unpacked if a .zip) unless its `Metadata.BuildMethod` names a
  runtime: python3.x builds its requirements.txt and files into python/, nodejsNN.x its
  package.json into nodejs/ (the directories each runtime searches under /opt).

Installed dependencies are cached by a hash of (manifest contents, runtime, architecture),
so an unchanged requirements.txt is never installed twice.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from faaslab.builds.errors import BuildError
from faaslab.functions.model import FunctionConfig, LayerConfig
from faaslab.template import Template

PIP_MANIFESTS: tuple[str, ...] = ("requirements.txt",)
NPM_MANIFESTS: tuple[str, ...] = ("package.json", "package-lock.json", "npm-shrinkwrap.json")
UNBUILT_JAVA = ("pom.xml", "build.gradle", "build.gradle.kts")  # Maven Central is unreachable
# Never copied into a build: build output and state (CodeUri "." is the template's own dir).
EXCLUDED = frozenset({".aws-sam", ".faaslab", ".git"})


class Tool(enum.Enum):
    """How an artifact's dependencies are installed."""

    AS_GIVEN = "as given"
    PIP = "pip"
    NPM = "npm"
    MAKE = "makefile"


@dataclass(frozen=True)
class Artifact:
    """One build output: a function's /var/task, or one layer's share of /opt."""

    logical_id: str
    kind: str  # "function" or "layer"
    source: Path  # a directory, or a .zip/.jar to unpack
    tool: Tool
    runtime: str  # whose tools build it: the function's Runtime, a layer's BuildMethod
    architecture: str = "x86_64"
    subdir: str = ""  # where source and dependencies go inside it ("python" for a layer)
    manifests: tuple[str, ...] = ()  # the files (in source) whose contents key the cache

    @property
    def archive(self) -> bool:
        return not self.source.is_dir()

    @property
    def needs_build(self) -> bool:
        """False: the source directory itself is the artifact (nothing to copy)."""
        return self.tool is not Tool.AS_GIVEN or self.archive or bool(self.subdir)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.logical_id}"

    def excluded(self) -> frozenset[str]:
        """Top-level names of the source not copied (npm installs node_modules afresh)."""
        return EXCLUDED | ({"node_modules"} if self.tool is Tool.NPM else set())


@dataclass(frozen=True)
class FunctionPlan:
    name: str  # the function's name
    code: Artifact
    layers: tuple[Artifact, ...]  # in the function's order: a later one's files win


@dataclass(frozen=True)
class BuildPlan:
    functions: dict[str, FunctionPlan]  # by function name
    layers: dict[str, Artifact]  # by logical id
    warnings: list[str] = field(default_factory=list)


def plan(template: Template) -> BuildPlan:
    """The artifacts of every function and layer; BuildError for what cannot be built."""
    warnings: list[str] = []
    layers = {lid: layer_artifact(layer) for lid, layer in template.layers.items()}
    functions = {}
    for name, fn in template.functions.items():
        code = function_artifact(fn, warnings)
        for layer in fn.layers:
            if layer.compatible_runtimes and fn.runtime not in layer.compatible_runtimes:
                warnings.append(
                    f"function {fn.logical_id} ({fn.runtime}) uses layer {layer.logical_id}, "
                    f"whose CompatibleRuntimes are {', '.join(layer.compatible_runtimes)} "
                    "(Lambda only filters listings by them: it runs the function anyway)"
                )
        functions[name] = FunctionPlan(
            name, code, tuple(layers[layer.logical_id] for layer in fn.layers)
        )
    return BuildPlan(functions, layers, warnings)


def function_artifact(fn: FunctionConfig, warnings: list[str]) -> Artifact:
    source, lid, runtime = fn.code_dir, fn.logical_id, fn.runtime

    def artifact(tool: Tool, manifests: tuple[str, ...] = ()) -> Artifact:
        return Artifact(lid, "function", source, tool, runtime, fn.architecture, "", manifests)

    method = fn.build_method
    if method is not None and method != runtime:
        if method != "makefile":
            raise BuildError(
                f"function {lid}: Metadata.BuildMethod {method} is not supported (faaslab "
                "builds requirements.txt, package.json and makefile)"
            )
        if not (source / "Makefile").is_file():
            raise BuildError(f"function {lid}: BuildMethod makefile needs {source}/Makefile")
        return artifact(Tool.MAKE)
    if not source.is_dir():
        return artifact(Tool.AS_GIVEN)
    if runtime.startswith("python") and (source / "requirements.txt").is_file():
        return artifact(Tool.PIP, PIP_MANIFESTS)
    if runtime.startswith("nodejs") and (source / "package.json").is_file():
        return artifact(Tool.NPM, NPM_MANIFESTS)
    if runtime.startswith("java"):
        for name in UNBUILT_JAVA:
            if (source / name).is_file():
                warnings.append(
                    f"function {lid}: {name} is not built (Maven Central is out of reach "
                    "here): CodeUri is used as given (classes and lib/*.jar, or point it "
                    "at the built jar)"
                )
                break
    return artifact(Tool.AS_GIVEN)


def layer_artifact(layer: LayerConfig) -> Artifact:
    source, lid, method = layer.content, layer.logical_id, layer.build_method
    if method is None:
        return Artifact(lid, "layer", source, Tool.AS_GIVEN, "")
    if not source.is_dir():
        raise BuildError(
            f"layer {lid}: BuildMethod {method} builds a directory; {source.name} is an "
            "archive, used as given without a BuildMethod"
        )
    if method == "makefile":
        if not (source / "Makefile").is_file():
            raise BuildError(f"layer {lid}: BuildMethod makefile needs {source}/Makefile")
        return Artifact(lid, "layer", source, Tool.MAKE, method)
    if method.startswith("python"):
        manifests = PIP_MANIFESTS if (source / "requirements.txt").is_file() else ()
        tool = Tool.PIP if manifests else Tool.AS_GIVEN
        return Artifact(lid, "layer", source, tool, method, "x86_64", "python", manifests)
    if method.startswith("nodejs"):
        manifests = NPM_MANIFESTS if (source / "package.json").is_file() else ()
        tool = Tool.NPM if manifests else Tool.AS_GIVEN
        return Artifact(lid, "layer", source, tool, method, "x86_64", "nodejs", manifests)
    raise BuildError(
        f"layer {lid}: Metadata.BuildMethod {method} is not supported (faaslab builds "
        "python3.x, nodejsNN.x and makefile layers)"
    )


def cache_key(artifact: Artifact, manifests: dict[str, bytes]) -> str:
    """The dependency cache's key: what the installer reads, and for what it installs."""
    h = hashlib.sha256()
    for part in (artifact.tool.value, artifact.runtime, artifact.architecture):
        h.update(part.encode() + b"\0")
    for name in sorted(manifests):
        h.update(name.encode() + b"\0" + hashlib.sha256(manifests[name]).digest())
    return h.hexdigest()[:16]
