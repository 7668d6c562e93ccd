"""Java functions: which JDK runs each `javaN` runtime, the JVM's options, and faaslab's
Java runtime interface client (built once with javac from `functions/java/`).

Lambda starts a Java function's JVM with a heap of 85% of MemorySize, metaspace 10% and
code cache 5%, the serial collector and (java17, java21) tiered compilation stopped at C1;
faaslab passes the same, so a function that needs more memory than it declared meets
`java.lang.OutOfMemoryError`, not a surprise. The runtime itself (`java/src`) is our own:
the `com.amazonaws.services.lambda.runtime` interfaces (API-compatible with
aws-lambda-java-core 1.2) and a Runtime API client; events and results go through Debian's
Jackson (`java/json`, loaded only when a handler takes or returns objects).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

SOURCES = Path(__file__).resolve().parent / "java"
#: Built jars, one directory per hash of the sources (git-ignored). Inside faaslab's package
#: directory, which every sandbox keeps reachable (manager.runtime_paths).
BUILD_ROOT = SOURCES / "build"
JVM_HOMES = Path("/usr/lib/jvm")
#: Debian's libjackson2-databind-java (and the core and annotations jars it depends on).
JACKSON_JARS = tuple(
    Path("/usr/share/java") / f"jackson-{name}.jar" for name in ("core", "databind", "annotations")
)
#: The Java major version each Lambda runtime runs on AWS.
RUNTIME_MAJOR = {"java8.al2": 8, "java11": 11, "java17": 17, "java21": 21}
#: javac's target for the runtime's own classes: old enough for every JDK above.
RUNTIME_RELEASE = 8
MAIN_CLASS = "faaslab.runtime.Main"


class JavaUnavailable(Exception):
    """No JDK, or the runtime could not be built: the message says what to install."""


@dataclasses.dataclass(frozen=True)
class Jdk:
    home: Path
    major: int

    @property
    def java(self) -> str:
        return str(self.home / "bin" / "java")

    @property
    def javac(self) -> Path:
        return self.home / "bin" / "javac"


def _major(version: str) -> int | None:
    """17 for "17.0.15", 8 for "1.8.0_392"."""
    m = re.match(r"(\d+)(?:\.(\d+))?", version)
    if m is None:
        return None
    first = int(m.group(1))
    return int(m.group(2) or 0) if first == 1 else first


def _release_major(home: Path) -> int | None:
    try:
        text = (home / "release").read_text()
    except OSError:
        return None
    m = re.search(r'^JAVA_VERSION="([^"]+)"', text, re.M)
    return _major(m.group(1)) if m else None


@functools.lru_cache(maxsize=1)
def installed_jdks() -> tuple[Jdk, ...]:
    """The JDKs and JREs of this machine (/usr/lib/jvm/*, $JAVA_HOME, `java` on PATH),
    one per real directory, by ascending version."""
    homes: list[Path] = []
    if JVM_HOMES.is_dir():
        homes += sorted(JVM_HOMES.iterdir())
    if os.environ.get("JAVA_HOME"):
        homes.append(Path(os.environ["JAVA_HOME"]))
    on_path = shutil.which("java")
    if on_path:
        homes.append(Path(os.path.realpath(on_path)).parent.parent)
    found: dict[Path, Jdk] = {}
    for home in homes:
        real = home.resolve()
        if real in found or not (real / "bin" / "java").is_file():
            continue
        major = _release_major(real)
        if major is not None:
            found[real] = Jdk(real, major)
    return tuple(sorted(found.values(), key=lambda j: (j.major, str(j.home))))


def choose_jdk(runtime: str, jdks: tuple[Jdk, ...]) -> tuple[Jdk, str | None]:
    """The JDK for `runtime`, and a note when it is not that runtime's own version: the
    same major if installed, else the oldest newer one (it runs older class files), else
    the newest there is (newer class files then fail with Lambda's init error)."""
    wanted = RUNTIME_MAJOR[runtime]
    if not jdks:
        raise JavaUnavailable(
            f"Runtime {runtime} needs a Java runtime: none found in {JVM_HOMES} or on PATH "
            "(`make install` installs one: apt-get install default-jdk-headless)"
        )
    for jdk in jdks:
        if jdk.major == wanted:
            return jdk, None
    newer = [j for j in jdks if j.major > wanted]
    jdk = newer[0] if newer else jdks[-1]
    note = (
        f"{runtime} functions run on JDK {jdk.major} here ({jdk.home}; no JDK {wanted} installed)"
    )
    if jdk.major < wanted:
        note += f": classes compiled for Java {wanted} fail to load"
    return jdk, note


def jvm_options(runtime: str, memory_mb: int) -> list[str]:
    """The JVM flags Lambda's Java runtimes start with, for a function of `memory_mb`."""
    kb = memory_mb * 1024
    metaspace, code_cache = kb * 10 // 100, kb * 5 // 100
    options = [
        f"-XX:MaxHeapSize={kb - metaspace - code_cache}k",  # the rest: ~85%
        f"-XX:MaxMetaspaceSize={metaspace}k",
        f"-XX:ReservedCodeCacheSize={code_cache}k",
        "-XX:+UseSerialGC",
        "-Xshare:auto",
    ]
    if RUNTIME_MAJOR[runtime] >= 17:  # AWS: "tiered compilation stops at level 1" from java17
        options += ["-XX:+TieredCompilation", "-XX:TieredStopAtLevel=1"]
    else:
        options.append("-XX:-TieredCompilation")
    # (no hsperfdata file in the function's /tmp: a new environment's /tmp starts empty)
    options += ["-XX:-UsePerfData", "-Djava.net.preferIPv4Stack=true"]
    return options


@dataclasses.dataclass(frozen=True)
class RuntimeJars:
    runtime: Path  # the interfaces and the Runtime API client: the JVM's class path
    json: Path  # the Jackson codec, loaded beside Debian's Jackson in a loader of its own

    def json_classpath(self) -> str:
        return os.pathsep.join([str(self.json), *map(str, JACKSON_JARS)])


def source_hash() -> str:
    h = hashlib.sha256()
    for path in sorted(SOURCES.glob("*/**/*.java")):
        if BUILD_ROOT in path.parents:
            continue
        h.update(str(path.relative_to(SOURCES)).encode() + b"\0" + path.read_bytes() + b"\0")
    for jar in JACKSON_JARS:  # Debian's versions: the codec is compiled against them
        h.update(os.path.realpath(jar).encode() + b"\0")
    return h.hexdigest()[:16]


def built_jars() -> RuntimeJars:
    d = BUILD_ROOT / source_hash()
    return RuntimeJars(d / "faaslab-java-runtime.jar", d / "faaslab-java-json.jar")


def ensure_built(announce: bool = True) -> RuntimeJars:
    """The runtime's jars, compiled now if the sources changed since the last build."""
    jars = built_jars()
    if jars.runtime.is_file() and jars.json.is_file():
        return jars
    missing = [str(j) for j in JACKSON_JARS if not j.is_file()]
    if missing:
        raise JavaUnavailable(
            f"Java functions need Jackson from Debian: {', '.join(missing)} missing "
            "(`make install`, or apt-get install libjackson2-databind-java)"
        )
    javac = _javac()
    target = jars.runtime.parent
    if announce:
        print(
            f"faaslab: building the Java runtime with {javac} (once; cached in {target})",
            file=sys.stderr,
            flush=True,
        )
    BUILD_ROOT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=BUILD_ROOT, prefix=".building-") as tmp:
        work = Path(tmp)
        runtime_classes, json_classes, out = work / "rt", work / "json", work / "out"
        out.mkdir()
        _javac_run(javac, runtime_classes, SOURCES / "src", [])
        _javac_run(javac, json_classes, SOURCES / "json", [runtime_classes, *JACKSON_JARS])
        _jar(runtime_classes, out / jars.runtime.name)
        _jar(json_classes, out / jars.json.name)
        for f in out.iterdir():
            f.chmod(0o644)
        out.chmod(0o755)
        try:
            out.rename(target)  # atomic: a concurrent build's result is as good as ours
        except OSError:
            if not jars.runtime.is_file():
                raise
    for old in BUILD_ROOT.iterdir():  # builds of sources that are gone (and their archives)
        if old.is_dir() and old != target and not old.name.startswith("."):
            shutil.rmtree(old, ignore_errors=True)
    return jars


def _javac() -> Path:
    candidates = [j.javac for j in reversed(installed_jdks())]
    on_path = shutil.which("javac")
    if on_path:
        candidates.insert(0, Path(on_path))
    for javac in candidates:
        if javac.is_file():
            return javac
    raise JavaUnavailable(
        "Java functions need javac to build faaslab's Java runtime once "
        "(`make install`, or apt-get install default-jdk-headless)"
    )


def _javac_run(javac: Path, out: Path, sources: Path, classpath: list[Path]) -> None:
    files = sorted(str(p) for p in sources.rglob("*.java"))
    cmd = [str(javac), "--release", str(RUNTIME_RELEASE), "-Xlint:-options", "-nowarn"]
    cmd += ["-encoding", "UTF-8", "-d", str(out)]
    if classpath:
        cmd += ["-cp", os.pathsep.join(map(str, classpath))]
    done = subprocess.run([*cmd, *files], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise JavaUnavailable(f"javac failed building faaslab's Java runtime:\n{done.stderr}")


def _jar(classes: Path, jar: Path) -> None:
    """A jar of `classes`, stored uncompressed: the JVM reads it without inflating."""
    with zipfile.ZipFile(jar, "w", zipfile.ZIP_STORED) as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nCreated-By: faaslab\r\n\r\n")
        for path in sorted(classes.rglob("*")):
            if path.is_file():
                z.write(path, path.relative_to(classes).as_posix())


def cds_archive_path(jdk: Jdk, jars: RuntimeJars) -> Path:
    """Where the class-data archive of the runtime's classes for `jdk` lives (one per JDK:
    an archive maps only into the JVM build that wrote it)."""
    try:
        release = (jdk.home / "release").read_text()
    except OSError:
        release = ""
    key = hashlib.sha256(f"{jdk.home}\0{release}".encode()).hexdigest()[:12]
    return jars.runtime.parent / f"cds-jdk{jdk.major}-{key}.jsa"


def ensure_cds_archive(jdk: Jdk, jars: RuntimeJars) -> Path | None:
    """The archive, made now if missing by a training run (`Main --train`: one invocation
    against an in-process Runtime API) with -XX:ArchiveClassesAtExit: the JDK's networking,
    Jackson and the runtime's classes, loaded and linked once, are then mapped by every
    function's JVM (measured: -13 ms for a stream handler's cold start, -40 ms with
    Jackson). None where the JDK cannot make one (before JDK 13) or the training failed;
    functions then start without it."""
    path = cds_archive_path(jdk, jars)
    if path.is_file():
        return path
    failed = path.with_suffix(".failed")
    if jdk.major < 13 or failed.exists():
        return None
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    cmd = [
        jdk.java,
        *jvm_options("java17", 1769),
        f"-XX:ArchiveClassesAtExit={tmp}",
        f"-Dfaaslab.json.classpath={jars.json_classpath()}",
        "-cp",
        str(jars.runtime),
        MAIN_CLASS,
        "--train",
    ]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if done.returncode != 0 or not tmp.is_file():
            failed.write_text(done.stdout + done.stderr)
            return None
        tmp.chmod(0o644)
        tmp.rename(path)
    except (OSError, subprocess.TimeoutExpired) as e:
        with contextlib.suppress(OSError):
            failed.write_text(str(e))
        return None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return path


def command(runtime: str, handler: str, memory_mb: int) -> list[str]:
    """The argv that starts a Java function's runtime in its sandbox."""
    jdk, note = choose_jdk(runtime, installed_jdks())
    jars = ensure_built()
    archive = cds_archive_path(jdk, jars)
    cds = [f"-XX:SharedArchiveFile={archive}", "-Xlog:cds=off,cds+dynamic=off"]
    return [
        jdk.java,
        *jvm_options(runtime, memory_mb),
        *(cds if archive.is_file() else []),
        f"-Dfaaslab.json.classpath={jars.json_classpath()}",
        f"-Dfaaslab.jdk.note={note or ''}",
        "-cp",
        str(jars.runtime),
        MAIN_CLASS,
        handler,
    ]


def prepare(runtime: str) -> list[str]:
    """Before the first environment: build the runtime if needed; the warning to show at
    `up` when this runtime's own JDK is not installed."""
    try:
        jdk, note = choose_jdk(runtime, installed_jdks())
        ensure_cds_archive(jdk, ensure_built())
    except JavaUnavailable as e:  # (its invocations fail with the same words)
        return [f"{runtime} functions cannot start: {e}"]
    return [note] if note else []


def main() -> None:
    """`python -m faaslab.functions.jvm`: build the runtime now (make install does)."""
    try:
        jars = ensure_built()
    except JavaUnavailable as e:
        sys.exit(f"faaslab: {e}")
    with contextlib.suppress(JavaUnavailable):
        for runtime in RUNTIME_MAJOR:
            jdk, note = choose_jdk(runtime, installed_jdks())
            archive = ensure_cds_archive(jdk, jars)
            print(f"{runtime:<10} JDK {jdk.major} ({jdk.home})" + (f": {note}" if note else ""))
            if archive is None:
                print(f"{'':<10} (no class-data archive: starts load every class)")
    print(f"faaslab Java runtime: {jars.runtime}")


if __name__ == "__main__":
    main()
