"""Running a build plan: copy or unpack each artifact, install its dependencies, merge layers.

Layout of the build directory (`.faaslab/build/` beside the template, as SAM's
`.aws-sam/build/`):

| path | what |
|---|---|
| `<LogicalId>/` | a function's /var/task, or a layer's content (e.g. `python/...`) |
| `<LogicalId>.json` | what it was built from (a fingerprint of its source and manifests) |
| `<FunctionId>.opt/` | the function's layers merged in order, when it has more than one |
| `.cache/<key>/` | installed dependencies by (manifests, runtime, architecture) hash |

An artifact whose fingerprint is unchanged is not touched ("up to date"); one whose source
changed is copied again, and its dependencies come from the cache unless its manifests
changed. Dependencies and merged layers are hard links to the cache (no copy), and every
artifact is built beside its place and renamed into it, so an interrupted build leaves the
last good one. The environment's uid must read what /var/task and /opt show: everything
built is made readable by all (as Lambda requires of a deployment package).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from faaslab.builds.errors import BuildError
from faaslab.builds.plan import Artifact, Tool, cache_key, plan
from faaslab.functions.model import UNZIPPED_MAX_BYTES
from faaslab.template import Template

Report = Callable[[str], None]  # one line of progress for the user
SHOWN_PREFIXES = (
    "Collecting ",
    "Successfully installed",
    "added ",
    "ERROR",
    "npm ERR",
    "npm error",
)
TAIL_LINES = 40  # of a failed tool's output, in the error


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How one artifact was obtained, for the report and the tests."""

    path: Path
    status: str  # "as given" | "up to date" | "built" | "last build" | "not built"
    deps: str = ""  # "" | "installed" | "cached"


class Builder:
    """Builds artifacts into `build_dir`, reporting each step."""

    def __init__(
        self,
        build_dir: Path,
        report: Report,
        python: str = sys.executable,
        npm: str = "npm",
        make: str = "make",
    ) -> None:
        self.build_dir = build_dir
        self.report = report
        self.python = python
        self.npm = npm
        self.make = make
        self.outcomes: dict[str, Outcome] = {}  # by logical id

    # -- one artifact
    def artifact(self, a: Artifact) -> Path:
        if a.logical_id in self.outcomes:
            return self.outcomes[a.logical_id].path
        if not a.needs_build:
            if a.kind == "layer":
                self.report(f"{a.label}: as given ({a.source})")
            self.outcomes[a.logical_id] = Outcome(a.source, "as given")
            return a.source
        out = self.build_dir / a.logical_id
        manifests = _read_manifests(a)
        key = cache_key(a, manifests) if a.tool in (Tool.PIP, Tool.NPM) else ""
        fingerprint = _fingerprint(a, key, self.build_dir)
        if _recorded(out) == fingerprint and out.is_dir():
            self.report(f"{a.label}: up to date ({out})")
            self.outcomes[a.logical_id] = Outcome(out, "up to date")
            return out
        started = time.monotonic()
        self.report(f"{a.label}: building from {a.source}: {describe(a)}")
        self.build_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.build_dir / f"{a.logical_id}.tmp-{os.getpid()}"
        _remove(tmp)
        target = tmp / a.subdir if a.subdir else tmp
        target.mkdir(parents=True)
        deps = ""
        try:
            if a.archive:
                unpack(a.source, target)
            elif a.tool is not Tool.MAKE:  # (a makefile's target writes what it wants)
                copy_source(a.source, target, a.excluded(), self.build_dir)
            if a.tool in (Tool.PIP, Tool.NPM):
                cached = self.build_dir / ".cache" / key
                deps = "cached" if cached.is_dir() else "installed"
                if deps == "cached":
                    self.report(
                        f"  dependencies from cache {key} ({', '.join(manifests)} unchanged)"
                    )
                else:
                    self._install(a, cached)
                link_tree(cached, target, replace=False)
            elif a.tool is Tool.MAKE:
                self._make(a, tmp)
            make_readable(tmp)
            _replace(tmp, out)
        except BaseException:
            _remove(tmp)
            raise
        _record(out, fingerprint, a)
        took = time.monotonic() - started
        self.report(f"{a.label}: built in {took:.1f} s -> {out}")
        self.outcomes[a.logical_id] = Outcome(out, "built", deps)
        return out

    def _install(self, a: Artifact, cached: Path) -> None:
        """Install into a fresh directory, renamed to its cache entry once complete."""
        tmp = cached.with_name(f"{cached.name}.tmp-{os.getpid()}")
        _remove(tmp)
        tmp.mkdir(parents=True)
        started = time.monotonic()
        try:
            if a.tool is Tool.PIP:
                self.report(
                    f"  pip install -r requirements.txt (Python "
                    f"{sys.version_info.major}.{sys.version_info.minor}, which runs "
                    f"{a.runtime} here)"
                )
                argv = [
                    *(self.python, "-m", "pip", "install", "-r"),
                    str(a.source / "requirements.txt"),
                    *("--target", str(tmp), "--disable-pip-version-check", "--no-input"),
                    *("--progress-bar", "off", "--root-user-action", "ignore"),
                ]
                self._run(a, argv, a.source, "pip install -r requirements.txt")
            else:
                for name in a.manifests:
                    if (a.source / name).is_file():
                        shutil.copy2(a.source / name, tmp / name)
                self.report("  npm install --omit=dev")
                argv = [self.npm, "install", "--omit=dev", "--no-audit", "--no-fund"]
                self._run(a, argv, tmp, "npm install --omit=dev")
                for name in a.manifests:  # only node_modules is the dependencies
                    with contextlib.suppress(FileNotFoundError):
                        (tmp / name).unlink()
            _replace(tmp, cached)
        except BaseException:
            _remove(tmp)
            raise
        self.report(f"  dependencies installed in {time.monotonic() - started:.1f} s")

    def _make(self, a: Artifact, artifacts_dir: Path) -> None:
        """SAM's makefile contract: `make build-<LogicalId>` in the source, ARTIFACTS_DIR
        set to the (empty but for the copied source) artifact directory."""
        argv = [self.make, "-f", str(a.source / "Makefile"), f"build-{a.logical_id}"]
        self.report(f"  make build-{a.logical_id}")
        env = {**os.environ, "ARTIFACTS_DIR": str(artifacts_dir)}
        self._run(a, argv, a.source, f"make build-{a.logical_id}", env)

    def _run(
        self,
        a: Artifact,
        argv: list[str],
        cwd: Path,
        what: str,
        env: dict[str, str] | None = None,
    ) -> None:
        tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
            )
        except OSError as e:
            raise BuildError(f"{a.label}: cannot run {argv[0]}: {e}") from None
        assert proc.stdout is not None
        with proc:
            for line in proc.stdout:
                line = line.rstrip()
                tail.append(line)
                if line.lstrip().startswith(SHOWN_PREFIXES):  # (pip's "(from -r ...)" left out)
                    self.report(f"    {line.strip().split(' (from ')[0]}")
        if proc.returncode != 0:
            output = "\n".join(f"    {line}" for line in tail)
            hint = ""
            if a.tool in (Tool.PIP, Tool.NPM):
                hint = "\n(without a registry: `faaslab up --no-build` runs the code as it is)"
            raise BuildError(
                f"{a.label}: `{what}` failed (exit {proc.returncode}):\n{output}{hint}"
            )

    # -- a function's layers
    def opt(self, function_id: str, layers: list[Path], fingerprints: list[str]) -> Path | None:
        """The function's /opt: its one layer, or its layers merged in order (a later
        layer's file replaces an earlier one's, as Lambda extracts them)."""
        if not layers:
            return None
        if len(layers) == 1:
            return layers[0]
        out = self.build_dir / f"{function_id}.opt"
        fingerprint = hashlib.sha256("\0".join(fingerprints).encode()).hexdigest()
        if _recorded(out) == fingerprint and out.is_dir():
            return out
        tmp = self.build_dir / f"{function_id}.opt.tmp-{os.getpid()}"
        _remove(tmp)
        tmp.mkdir(parents=True)
        try:
            for layer in layers:
                ours = layer.is_relative_to(self.build_dir)  # (else the user's as-given files)
                link_tree(layer, tmp, replace=True, link=ours)
            make_readable(tmp)
            _replace(tmp, out)
        except BaseException:
            _remove(tmp)
            raise
        _record(out, fingerprint, None)
        return out

    def fingerprint(self, a: Artifact, path: Path) -> str:
        """What identifies an artifact's content (for merged layers' freshness)."""
        recorded = _recorded(path) if path != a.source else None
        return recorded or _fingerprint(a, "", self.build_dir)


def describe(a: Artifact) -> str:
    """The steps of an artifact's build, in words."""
    steps = [f"unpack {a.source.suffix}" if a.archive else "copy"]
    if a.tool is Tool.MAKE:
        steps = [f"make build-{a.logical_id}"]
    elif a.subdir:
        steps[0] += f" into {a.subdir}/"
    if a.tool is Tool.PIP:
        steps.append(f"pip install for {a.runtime}")
    elif a.tool is Tool.NPM:
        steps.append(f"npm install for {a.runtime}")
    return ", ".join(steps)


def build_template(
    template: Template, build_dir: Path, report: Report, build: bool = True
) -> tuple[Template, Builder]:
    """Build every function and layer of `template` (or, with build=False, take the last
    build where there is one) and return it with each function's code_dir and opt_dir
    pointing at the results."""
    the_plan = plan(template)
    for warning in the_plan.warnings:
        report(f"warning: {warning}")
    builder = Builder(build_dir, report)
    artifact = builder.artifact if build else _last_build(builder, build_dir, report)
    for layer in the_plan.layers.values():  # every layer, as `sam build` (used or not)
        artifact(layer)
    functions = {}
    for name, fn_plan in the_plan.functions.items():
        fn = template.functions[name]
        code = artifact(fn_plan.code)
        layer_dirs = [artifact(layer) for layer in fn_plan.layers]
        prints = [
            builder.fingerprint(a, d) for a, d in zip(fn_plan.layers, layer_dirs, strict=True)
        ]
        opt = (
            builder.opt(fn.logical_id, layer_dirs, prints)
            if build
            else _opt_unbuilt(builder, fn.logical_id, layer_dirs, prints)
        )
        if fn_plan.code.needs_build or fn_plan.layers:
            check_size(fn.logical_id, code, opt)
        functions[name] = dataclasses.replace(fn, code_dir=code, opt_dir=opt)
    return dataclasses.replace(template, functions=functions), builder


def _last_build(builder: Builder, build_dir: Path, report: Report) -> Callable[[Artifact], Path]:
    """--no-build: an artifact is its last build, else its source as it is."""

    def take(a: Artifact) -> Path:
        if a.logical_id in builder.outcomes:
            return builder.outcomes[a.logical_id].path
        out = build_dir / a.logical_id
        if not a.needs_build:
            outcome = Outcome(a.source, "as given")
        elif _recorded(out) is not None and out.is_dir():
            report(f"{a.label}: using the last build ({out})")
            outcome = Outcome(out, "last build")
        elif a.archive:
            raise BuildError(
                f"{a.label}: {a.source.name} must be unpacked: run `faaslab build` "
                "or start without --no-build"
            )
        else:
            report(
                f"warning: {a.label} was never built (--no-build): its {a.tool.value} "
                "dependencies are not installed"
            )
            outcome = Outcome(a.source, "not built")
        builder.outcomes[a.logical_id] = outcome
        return outcome.path

    return take


def _opt_unbuilt(
    builder: Builder, function_id: str, layers: list[Path], prints: list[str]
) -> Path | None:
    if len(layers) <= 1:
        return layers[0] if layers else None
    out = builder.build_dir / f"{function_id}.opt"
    if out.is_dir():
        return out
    return builder.opt(function_id, layers, prints)  # merging installs nothing


def check_size(function_id: str, code: Path, opt: Path | None) -> None:
    """Lambda's limit on a function's unzipped code plus layers."""
    size = tree_size(code) + (tree_size(opt) if opt is not None else 0)
    if size > UNZIPPED_MAX_BYTES:
        raise BuildError(
            f"function {function_id}: Function code combined with layers exceeds the maximum "
            f"allowed size of {UNZIPPED_MAX_BYTES} bytes. The actual size is {size} bytes. "
            "(Lambda's InvalidParameterValueException)"
        )


# -- file operations --------------------------------------------------------------------------


def copy_source(source: Path, target: Path, excluded: frozenset[str], build_dir: Path) -> None:
    """The source directory's files into `target` (build output and state left out)."""
    skip = build_dir.resolve()

    def ignore(directory: str, names: list[str]) -> set[str]:
        out = {n for n in names if Path(directory, n).resolve() == skip}
        if Path(directory).resolve() == source.resolve():
            out |= excluded & set(names)
        return out

    shutil.copytree(source, target, symlinks=True, ignore=ignore, dirs_exist_ok=True)


def unpack(archive: Path, target: Path) -> None:
    """Unpack a .zip/.jar as Lambda does: the Unix modes and symbolic links it records
    (a file without a mode gets 0644, a directory 0755)."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as e:
        raise BuildError(f"{archive}: not a readable .zip ({e})") from None
    with zf:
        root = target.resolve()
        for info in zf.infolist():
            dest = (target / info.filename).resolve()
            if dest != root and root not in dest.parents:
                raise BuildError(f"{archive}: {info.filename!r} points outside the archive")
            mode = info.external_attr >> 16
            if info.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            if stat.S_ISLNK(mode):
                os.symlink(zf.read(info).decode(), dest)
                continue
            with zf.open(info) as src, open(dest, "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.chmod(dest, (mode & 0o777) or 0o644)


def link_tree(source: Path, target: Path, replace: bool, link: bool = True) -> None:
    """Hard-link every file of `source` into `target` (copy across file systems, or
    always without `link`: the user's own files, whose modes the build may change). An
    existing file is replaced (`replace`, later layers) or kept (the function's own code
    beside its dependencies)."""
    for directory, dirnames, filenames in os.walk(source):
        rel = Path(directory).relative_to(source)
        (target / rel).mkdir(parents=True, exist_ok=True)
        for name in filenames + [d for d in dirnames if (Path(directory) / d).is_symlink()]:
            src, dst = Path(directory) / name, target / rel / name
            if dst.exists() or dst.is_symlink():
                if not replace or (dst.is_dir() and not dst.is_symlink()):
                    continue
                dst.unlink()
            if src.is_symlink():
                os.symlink(os.readlink(src), dst)
                continue
            try:
                if not link:
                    raise OSError("copy")
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)


def make_readable(root: Path) -> None:
    """Everyone may read what the owner may read, and enter what the owner may enter: the
    function runs as its own uid."""
    for directory, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames, None]:
            path = Path(directory, name) if name else Path(directory)
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                continue
            bits = st.st_mode & 0o500
            wanted = st.st_mode | bits >> 3 | bits >> 6
            if wanted != st.st_mode:
                os.chmod(path, stat.S_IMODE(wanted))


def tree_size(root: Path) -> int:
    return sum((Path(d) / f).lstat().st_size for d, _, files in os.walk(root) for f in files)


def _walk_listing(source: Path, excluded: frozenset[str], skip: Path) -> Iterator[str]:
    for directory, dirnames, filenames in os.walk(source):
        here = Path(directory)
        if here == source:
            dirnames[:] = [d for d in dirnames if d not in excluded]
        dirnames[:] = sorted(d for d in dirnames if (here / d).resolve() != skip)
        for name in sorted(filenames):
            st = (here / name).lstat()
            rel = (here / name).relative_to(source)
            yield f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_mode}"


def _fingerprint(a: Artifact, key: str, build_dir: Path) -> str:
    """Source listing (names, sizes, mtimes, modes) + how it is built."""
    h = hashlib.sha256()
    for part in (a.tool.value, a.runtime, a.architecture, a.subdir, key, str(a.source)):
        h.update(part.encode() + b"\0")
    if a.archive:
        st = a.source.stat()
        h.update(f"{st.st_size}\0{st.st_mtime_ns}".encode())
    else:
        for line in _walk_listing(a.source, a.excluded(), build_dir.resolve()):
            h.update(line.encode() + b"\n")
    return h.hexdigest()


def _read_manifests(a: Artifact) -> dict[str, bytes]:
    out = {}
    for name in a.manifests:
        path = a.source / name
        if path.is_file():
            out[name] = path.read_bytes()
    return out


def _recorded(out: Path) -> str | None:
    try:
        record = json.loads(out.with_name(out.name + ".json").read_text())
    except (OSError, ValueError):
        return None
    value = record.get("fingerprint") if isinstance(record, dict) else None
    return value if isinstance(value, str) else None


def _record(out: Path, fingerprint: str, a: Artifact | None) -> None:
    record = {"fingerprint": fingerprint, "built": time.time()}
    if a is not None:
        record |= {"source": str(a.source), "tool": a.tool.value, "runtime": a.runtime}
    out.with_name(out.name + ".json").write_text(json.dumps(record, indent=1) + "\n")


def _replace(tmp: Path, out: Path) -> None:
    old = out.with_name(f"{out.name}.old-{os.getpid()}")
    if out.exists():
        os.rename(out, old)
    os.rename(tmp, out)
    _remove(old)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
