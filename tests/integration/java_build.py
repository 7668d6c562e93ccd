"""Builds the Java test functions (tests/integration/fixtures/java) with javac, in the
layouts Lambda accepts: classes in a directory, a jar, classes + lib/*.jar, and a jar that
bundles its own copy of aws-lambda-java-core."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

from faaslab.functions import jvm

SOURCES = Path(__file__).resolve().parent / "fixtures" / "java"


def javac(out: Path, sources: list[Path], classpath: list[Path], release: int = 17) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    cp = ":".join(map(str, classpath))
    cmd = ["javac", "--release", str(release), "-nowarn", "-d", str(out), "-cp", cp]
    done = subprocess.run([*cmd, *map(str, sources)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"javac failed:\n{done.stderr}")
    return out


def jar(classes: Path, path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(classes.rglob("*")):
            if p.is_file():
                z.write(p, p.relative_to(classes).as_posix())
    return path


def build(work: Path) -> dict[str, Path]:
    """The code of every test function, by layout."""
    core = jvm.ensure_built(announce=False).runtime  # the interfaces to compile against
    plain = [p for p in sorted((SOURCES / "src").rglob("*.java")) if p.name != "UsesLib.java"]
    classes = javac(work / "classes", plain, [core])
    greeter = javac(work / "greeter", sorted((SOURCES / "lib").rglob("*.java")), [])
    zip_layout = javac(
        work / "ziplayout", [SOURCES / "src" / "example" / "UsesLib.java"], [core, greeter]
    )
    (zip_layout / "lib").mkdir()
    jar(greeter, zip_layout / "lib" / "greeter.jar")
    # A fat jar as the Maven shade plugin makes it: aws-lambda-java-core's classes inside
    # (here a LambdaRuntime that differs from the runtime's), beside the handler.
    interfaces = sorted((jvm.SOURCES / "src" / "com").rglob("*.java"))
    own = [p for p in interfaces if p.name != "LambdaRuntime.java"]
    fat = javac(work / "fat", [*own, *sorted((SOURCES / "bundled").glob("*.java"))], [])
    # A class file too new for the JDK that runs java17 (its major version made Java 21's).
    too_new = javac(work / "toonew", [SOURCES / "src" / "example" / "Boom.java"], [core])
    boom = too_new / "example" / "Boom.class"
    data = bytearray(boom.read_bytes())
    data[6:8] = (65).to_bytes(2, "big")
    boom.write_bytes(bytes(data))
    return {
        "classes": classes,
        "jar": jar(classes, work / "hello.jar"),
        "ziplayout": zip_layout,
        "fat": jar(fat, work / "fat.jar"),
        "toonew": too_new,
    }
