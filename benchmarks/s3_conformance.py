"""ceph's s3-tests against faaslab and moto's server, in one run: pass counts side by side.

    .venv/bin/python benchmarks/s3_conformance.py [--suite DIR] [--out DIR]
        [--servers faaslab,moto] [--sequential] [-k EXPR]

Starts a fresh `faaslab up` (benchmarks/functions/template.yaml: one function and no
bucket, as the suite expects an account without buckets; its own state directory, a free
port) and `python -m moto.server` (a free port), runs the suite's `run.sh` against each
(in parallel unless --sequential; the whole suite takes ~15 min per server here), prints
`faaslab N passed / moto M passed of T` and the counts per area (test names grouped by the
first keyword they contain). Per-test results stay in OUT/<server>/ (junit.xml,
pytest.txt, shim.log). Not part of `make test`.

The suite's venv: $VENV if set, else /work/s3tests-venv if present, else run.sh makes one
in OUT/<server>/venv.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import threading
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

from invoke import start_faaslab
from s3 import start_moto

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED_VENV = Path("/work/s3tests-venv")

# area of a test: the first of these its name contains ("other" if none)
AREAS = [
    "versioning",
    "object_lock",
    "lifecycle",
    "policy",
    "acl",
    "cors",
    "tagging",
    "encryption",
    "sse",
    "post_object",
    "presigned",
    "checksum",
    "copy",
    "multipart",
    "list",
    "anon",
    "bucket",
    "object",
]


def run_suite(suite: Path, port: int, out: Path, pytest_args: list[str]) -> None:
    env = dict(os.environ)
    if "VENV" not in env and (SHARED_VENV / "bin" / "pytest").exists():
        env["VENV"] = str(SHARED_VENV)
    subprocess.run(
        ["bash", str(suite / "run.sh"), str(port), str(out), *pytest_args],
        env=env,
        stdout=subprocess.DEVNULL,
        check=False,
    )


def results(junit: Path) -> dict[str, str]:
    """test name -> passed | failed | skipped, from pytest's junit.xml."""
    out: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        tags = {child.tag for child in case}
        outcome = "passed"
        if tags & {"failure", "error"}:
            outcome = "failed"
        elif "skipped" in tags:
            outcome = "skipped"
        out[case.get("name", "")] = outcome
    return out


def area(name: str) -> str:
    return next((a for a in AREAS if a in name), "other")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--suite",
        type=Path,
        default=REPO.parent / "shared" / "conformance" / "s3-tests",
        help="the s3-tests directory with run.sh (default: ../shared/conformance/s3-tests "
        "from the repository root)",
    )
    ap.add_argument("--out", type=Path, help="where results go (default: a new temp directory)")
    ap.add_argument(
        "--servers", default="faaslab,moto", help="comma-separated: faaslab, moto (default both)"
    )
    ap.add_argument(
        "--sequential", action="store_true", help="one server after the other, not together"
    )
    ap.add_argument("-k", dest="expr", help="only tests matching this pytest -k expression")
    args = ap.parse_args()
    if not (args.suite / "run.sh").exists():
        ap.error(f"no run.sh in {args.suite}")
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    if not servers or set(servers) - {"faaslab", "moto"}:
        ap.error("--servers takes faaslab and/or moto")
    out = args.out or Path(tempfile.mkdtemp(prefix="s3-conformance-"))
    out.mkdir(parents=True, exist_ok=True)
    pytest_args = ["-k", args.expr] if args.expr else []
    procs: list[subprocess.Popen[bytes]] = []
    state = Path(tempfile.mkdtemp(prefix="s3-conformance-state-", dir=REPO.parent))
    try:
        ports: dict[str, int] = {}
        if "faaslab" in servers:
            fl, ports["faaslab"] = start_faaslab(state / "state")
            procs.append(fl)
        if "moto" in servers:
            moto, ports["moto"] = start_moto()
            procs.append(moto)
        jobs = [
            threading.Thread(target=run_suite, args=(args.suite, port, out / name, pytest_args))
            for name, port in ports.items()
        ]
        for job in jobs:
            job.start()
            if args.sequential:
                job.join()
        for job in jobs:
            job.join()
    finally:
        for p in procs:
            p.terminate()
            p.wait(30)
        shutil.rmtree(state, ignore_errors=True)
    outcomes = {name: results(out / name / "junit.xml") for name in servers}
    total = max(len(o) for o in outcomes.values())
    passed = {name: sum(v == "passed" for v in o.values()) for name, o in outcomes.items()}
    print(" / ".join(f"{name} {n} passed" for name, n in passed.items()) + f" of {total}")
    names = sorted(set().union(*outcomes.values()))
    per_area = {
        name: Counter(area(t) for t, v in o.items() if v == "passed")
        for name, o in outcomes.items()
    }
    totals = Counter(area(t) for t in names)
    print(f"{'area':12s} {'tests':>6s} " + " ".join(f"{n:>8s}" for n in servers))
    for a in sorted(totals, key=lambda a: -totals[a]):
        print(f"{a:12s} {totals[a]:6d} " + " ".join(f"{per_area[n][a]:8d}" for n in servers))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
