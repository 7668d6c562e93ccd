"""Java functions: cold start and warm invoke, against this machine's bare JVM start.

    .venv/bin/python benchmarks/runtime_java.py [--requests 2000] [--cold 15]

Everything in one run (these machines are noisy; only same-run ratios travel):
  bare      `java -cp DIR bench.Hello` (prints hello, exits): the least a JVM start costs
            here, with the JDK's defaults and with the flags Lambda's java17 uses, run
            between the cold samples
  cold      `faaslab up` with --keep-alive 0.05, so every sample starts an environment: the
            client's round trip and the REPORT line's Init Duration, for a stream handler
            (no JSON library) and a Map handler (Jackson loaded during init)
  warm      sequential invokes on one keep-alive connection: java17 stream and Map
            handlers, and python3.11's `return event`, same client, interleaved
Functions: benchmarks/functions/java (compiled here with javac), 1769 MB (one vCPU).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from invoke import init_durations, latencies, pct, start_faaslab

from faaslab.functions import jvm

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "functions" / "java"
PAYLOAD = b'{"k":1}'
FUNCTIONS = {  # name: (runtime, handler, CodeUri key)
    "javaEcho": ("java17", "bench.Echo", "java"),
    "javaMap": ("java17", "bench.MapEcho", "java"),
    "pyEcho": ("python3.11", "handlers.echo", "python"),
}


def compile_functions(work: Path) -> Path:
    out = work / "classes"
    core = jvm.ensure_built().runtime
    sources = sorted(str(p) for p in SOURCES.glob("*.java"))
    cmd = ["javac", "--release", "17", "-d", str(out), "-cp", str(core), *sources]
    subprocess.run(cmd, check=True)
    return out


def write_template(work: Path, classes: Path) -> Path:
    code = {"java": classes, "python": HERE / "functions"}
    lines = ["Transform: AWS::Serverless-2016-10-31", "Resources:"]
    for name, (runtime, handler, key) in FUNCTIONS.items():
        lines += [
            f"  {name[0].upper()}{name[1:]}:",
            "    Type: AWS::Serverless::Function",
            "    Properties:",
            f"      FunctionName: {name}",
            f"      Runtime: {runtime}",
            f"      Handler: {handler}",
            f"      CodeUri: {code[key]}",
            "      MemorySize: 1769",
            "      Timeout: 30",
        ]
    path = work / "template.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def bare_starts(classes: Path, n: int, flags: list[str]) -> list[float]:
    """Wall-clock ms of `java FLAGS -cp classes bench.Hello`, n times."""
    java = jvm.choose_jdk("java17", jvm.installed_jdks())[0].java
    out = []
    for _ in range(n):
        t = time.perf_counter()
        done = subprocess.run(
            [java, *flags, "-cp", str(classes), "bench.Hello"], capture_output=True, check=True
        )
        out.append((time.perf_counter() - t) * 1000)
        assert done.stdout == b"hello\n"
    return out


def invoke_times(port: int, function: str, n: int) -> list[float]:
    """n sequential invokes on one keep-alive connection; µs each (answers checked)."""
    return latencies(port, f"/2015-03-31/functions/{function}/invocations", n, timeout=60)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--requests", type=int, default=2000, help="warm invokes per function")
    ap.add_argument("--cold", type=int, default=15, help="cold starts per Java function")
    args = ap.parse_args()
    if shutil.which("javac") is None:
        raise SystemExit("needs a JDK (make install)")

    work = Path(tempfile.mkdtemp(prefix="faaslab-bench-java-"))
    try:
        classes = compile_functions(work)
        template = write_template(work, classes)
        lambda_flags = jvm.jvm_options("java17", 1769)
        bare_starts(classes, 3, [])  # (the JDK's files in the page cache)

        # Warm: one environment each, interleaved blocks.
        proc, port = start_faaslab(work / "warm", template=template)
        try:
            warm: dict[str, list[float]] = {name: [] for name in FUNCTIONS}
            for name in FUNCTIONS:
                invoke_times(port, name, 200)  # the environment exists, the JIT has run
            for _ in range(10):
                for name in FUNCTIONS:
                    warm[name] += invoke_times(port, name, args.requests // 10)
        finally:
            proc.terminate()
            proc.wait(30)
        py50 = statistics.median(warm["pyEcho"])
        for name in ("javaEcho", "javaMap"):
            w = warm[name]
            w50 = statistics.median(w)
            print(
                f"warm {name:<8} p50 {w50:.0f} us, p90 {pct(w, 0.9):.0f} us, "
                f"p99 {pct(w, 0.99):.0f} us: {w50 / py50:.2f}x python3.11's {py50:.0f} us"
            )

        # Cold: every sample a new environment (keep-alive 50 ms, the sweep every 250 ms),
        # each next to a bare start with the JDK's defaults and one with Lambda's flags,
        # so the machine's drift hits floor and sample alike.
        proc, port = start_faaslab(work / "cold", "--keep-alive", "0.05", template=template)
        bare_default: list[float] = []
        bare_lambda: list[float] = []
        cold: dict[str, list[float]] = {"javaEcho": [], "javaMap": []}
        try:
            for _ in range(args.cold):
                for name in cold:
                    bare_default += bare_starts(classes, 1, [])
                    bare_lambda += bare_starts(classes, 1, lambda_flags)
                    time.sleep(0.4)
                    cold[name].append(invoke_times(port, name, 1)[0] / 1000)
            inits = {name: init_durations(port, name) for name in cold}
        finally:
            proc.terminate()
            proc.wait(30)
        b50 = statistics.median(bare_lambda)
        print(
            f"bare `java -cp ... bench.Hello`: p50 {statistics.median(bare_default):.0f} ms "
            f"(JDK defaults), {b50:.0f} ms (Lambda's java17 flags: the floor below)"
        )
        for name, rtts in cold.items():
            c50, i50 = statistics.median(rtts), statistics.median(inits[name])
            print(
                f"cold {name:<8} round trip p50 {c50:.0f} ms (p90 {pct(rtts, 0.9):.0f}), "
                f"Init Duration p50 {i50:.0f} ms: {c50 / b50:.2f}x the bare JVM start, "
                f"init {i50 / b50:.2f}x"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
