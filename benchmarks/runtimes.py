"""Cold start and warm invoke per runtime, each against its own bare start on this machine.

    .venv/bin/python benchmarks/runtimes.py [--warm 1000] [--cold 20] [--bare 20] [--json F]

For each runtime entry, in one run:
  bare     the runtime started bare, with a function's environment variables (`node -e
           0`, the compiled hello binary, `python3 -c pass`): the floor of a cold start
  cold     an Invoke that finds no environment (`--keep-alive 0.05`): round trip, and the
           REPORT line's Init Duration (spawn -> the runtime's first `next`)
  warm     sequential Invokes of a warm environment, one keep-alive connection
Cold and bare samples alternate, round robin over the runtimes, and warm invokes run in
blocks taken in turns: the machine's other load falls on all of them alike.
Printed: cold - bare and cold / bare (what faaslab adds to starting the runtime: the
sandbox, the spawn, the Invoke's own round trip), and warm / python's warm (the runtime's
own per-invoke cost next to faaslab's own Python runtime, which is forked ready-made and
talks over a binary link rather than HTTP).

Entries: NODE, PROVIDED (a C bootstrap compiled with gcc) and PYTHON below; any
`benchmarks/runtime_*.py` defining `ENTRIES` (a list of `Entry`) adds its own, e.g. Java:
an entry says how to write its function's code into a directory, its template
properties, and the argv of its bare start.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from invoke import init_durations, latencies, start_faaslab

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


@dataclass(frozen=True)
class Entry:
    """One runtime to measure. `write(dir)` puts the function's code in `dir` (an echo
    handler: the runtime's cost, not the handler's) and returns the argv of the runtime's
    bare start, which may use files it wrote there."""

    name: str  # the column's label, and the function's name in the generated template
    runtime: str  # Runtime
    handler: str  # Handler
    write: Callable[[Path], list[str]]
    needs: tuple[str, ...] = ()  # programs that must be installed, else the entry is skipped


def _node(code: Path) -> list[str]:
    (code / "app.mjs").write_text("export const handler = async (event) => event;\n")
    return ["node", "-e", "0"]


def _provided(code: Path) -> list[str]:
    source = ROOT / "tests" / "integration" / "fixtures" / "provided" / "compiled" / "bootstrap.c"
    subprocess.run(["gcc", "-O2", "-o", str(code / "bootstrap"), str(source)], check=True)
    (code / "hello.c").write_text('#include <stdio.h>\nint main(void){puts("hello");return 0;}\n')
    subprocess.run(["gcc", "-O2", "-o", str(code / "hello"), str(code / "hello.c")], check=True)
    return [str(code / "hello")]


def _python(code: Path) -> list[str]:
    (code / "app.py").write_text("def handler(event, context):\n    return event\n")
    return [sys.executable, "-c", "pass"]


NODE = Entry("nodejs20.x", "nodejs20.x", "app.handler", _node, ("node",))
PROVIDED = Entry("provided.al2023", "provided.al2023", "app.handler", _provided, ("gcc",))
PYTHON = Entry("python3.11", "python3.11", "app.handler", _python)
REFERENCE = PYTHON.name


def entries() -> list[Entry]:
    found = [NODE, PROVIDED, PYTHON]
    for path in sorted(HERE.glob("runtime_*.py")):
        found += getattr(importlib.import_module(path.stem), "ENTRIES", [])
    return [e for e in found if all(shutil.which(p) for p in e.needs)]


# A bare start gets a function's environment, not this shell's: a NODE_EXTRA_CA_CERTS
# (Debian sets one) alone makes `node -e 0` parse a CA bundle, ~40 ms here.
BARE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": ":UTC"}


def bare_starts(argv: list[str], n: int) -> list[float]:
    """Wall time of n bare starts, µs each."""
    out = []
    for _ in range(n):
        t = time.perf_counter_ns()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=BARE_ENV)
        out.append((time.perf_counter_ns() - t) / 1000)
    return out


def write_template(work: Path, chosen: list[Entry]) -> tuple[Path, dict[str, list[str]]]:
    lines = ["Transform: AWS::Serverless-2016-10-31", "Resources:"]
    bare = {}
    for i, e in enumerate(chosen):
        code = work / f"fn{i}"
        code.mkdir()
        bare[e.name] = e.write(code)
        lines += [
            f"  Fn{i}:",
            "    Type: AWS::Serverless::Function",
            "    Properties:",
            f"      FunctionName: {json.dumps(e.name.replace('.', '-'))}",
            f"      Runtime: {e.runtime}",
            f"      Handler: {e.handler}",
            f"      CodeUri: {code}",
            "      MemorySize: 1769",
            "      Timeout: 10",
        ]
    template = work / "template.yaml"
    template.write_text("\n".join(lines) + "\n")
    return template, bare


def p50(xs: list[float]) -> float:
    return statistics.median(xs)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--warm", type=int, default=1000, help="warm invokes per runtime")
    ap.add_argument("--cold", type=int, default=20, help="cold starts per runtime")
    ap.add_argument("--bare", type=int, default=20, help="bare starts per runtime")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--only", action="append", help="only this runtime (repeatable)")
    ap.add_argument("--up", action="append", default=[], help="an option for `faaslab up`")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="faaslab-runtimes-"))
    chosen = [e for e in entries() if not args.only or e.name in args.only]
    template, bare_argv = write_template(work, chosen)
    proc, port = start_faaslab(work / "state", "--keep-alive", "0.05", *args.up, template=template)
    results: dict[str, dict[str, float]] = {}
    try:
        paths = {
            e.name: f"/2015-03-31/functions/{e.name.replace('.', '-')}/invocations" for e in chosen
        }
        cold: dict[str, list[float]] = {e.name: [] for e in chosen}
        bare: dict[str, list[float]] = {e.name: [] for e in chosen}
        warm: dict[str, list[float]] = {e.name: [] for e in chosen}
        for e in chosen:  # (first starts warm the disk caches: left out)
            bare_starts(bare_argv[e.name], 1)
        # Round robin, so that every runtime and its floor see the same machine (other
        # load on it comes and goes): each round, per runtime, one cold invoke after the
        # idle environments are recycled (keep-alive 50 ms, sweep 250 ms) and one bare start.
        for _ in range(max(args.cold, args.bare)):
            time.sleep(0.4)
            for e in chosen:
                if len(cold[e.name]) < args.cold:
                    cold[e.name] += latencies(port, paths[e.name], 1, same_answer=False)
                if len(bare[e.name]) < args.bare:
                    bare[e.name] += bare_starts(bare_argv[e.name], 1)
        blocks = 10
        for e in chosen:
            latencies(port, paths[e.name], 20, same_answer=False)  # (a warm environment for each)
        for _ in range(blocks):
            for e in chosen:
                warm[e.name] += latencies(
                    port, paths[e.name], same_answer=False, n=max(1, args.warm // blocks)
                )
        for e in chosen:
            inits = init_durations(port, e.name.replace(".", "-"))
            results[e.name] = {
                "bare_start_p50_ms": p50(bare[e.name]) / 1000,
                "cold_invoke_p50_ms": p50(cold[e.name]) / 1000,
                "init_duration_p50_ms": p50(inits) if inits else float("nan"),
                "warm_invoke_p50_us": p50(warm[e.name]),
            }
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(work, ignore_errors=True)

    ref = results[REFERENCE]["warm_invoke_p50_us"] if REFERENCE in results else float("nan")
    print(f"{platform.node()}: {platform.machine()}, Python {platform.python_version()}")
    print(
        f"{'runtime':<18}{'bare start':>12}{'cold invoke':>13}{'cold-bare':>11}{'cold/bare':>11}"
        f"{'Init Dur.':>11}{'warm p50':>11}{'warm/' + REFERENCE:>18}"
    )
    for name, r in results.items():
        r["cold_minus_bare_ms"] = r["cold_invoke_p50_ms"] - r["bare_start_p50_ms"]
        r["cold_over_bare"] = r["cold_invoke_p50_ms"] / r["bare_start_p50_ms"]
        r["warm_over_reference"] = r["warm_invoke_p50_us"] / ref
        print(
            f"{name:<18}{r['bare_start_p50_ms']:>9.1f} ms{r['cold_invoke_p50_ms']:>10.1f} ms"
            f"{r['cold_minus_bare_ms']:>8.1f} ms{r['cold_over_bare']:>10.2f}x"
            f"{r['init_duration_p50_ms']:>8.1f} ms"
            f"{r['warm_invoke_p50_us']:>8.0f} µs{r['warm_over_reference']:>17.2f}x"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
