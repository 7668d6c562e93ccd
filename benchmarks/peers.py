"""Warm-invoke latency of faaslab and two local Lambda emulators, as ratios to one floor.

    .venv/bin/python benchmarks/peers.py [--requests 2000] [--json PATH]

Measured in one run on this machine, with the same client (invoke.latencies: sequential POSTs
of {"k": 1} over one keep-alive http.client connection, each answer checked byte for byte),
in interleaved blocks after a warm-up:
  floor      benchmarks/echo_server.py, a bare loopback HTTP echo server
  faaslab    `faaslab up benchmarks/functions/template.yaml`, handler `return event`
  smyth      Smyth (PyPI `smyth`), its CLI from a temp dir holding [tool.smyth] in pyproject.toml
  ministack  MiniStack (PyPI `ministack`), function created with boto3 CreateFunction (zip)
All hit the Lambda Invoke API, POST /2015-03-31/functions/echo/invocations (the floor: /).
The peers live in their own virtualenv, benchmarks/.peers-venv, made on first use.
Also checked per target: an answer to a fresh payload (no canned reply), concurrent clients
getting their own answers, what listens (peers), what a function sees of the host (peers).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from invoke import (
    INVOKE,
    PAYLOAD,
    free_port,
    latencies,
    pct,
    sigv4_headers,
    start_echo,
    start_faaslab,
    wait_http,
)

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "peers"
VENV = HERE / ".peers-venv"
PINS = {"smyth": "0.7.1", "ministack": "1.5.33"}  # the versions this script's setup was read from
MARKER_ENV = {"FAASLAB_PEERS_MARKER": "1"}  # set in each peer server's env; can a function see it?
DUMMY_ROLE = "arn:aws:iam::000000000000:role/faaslab-peers"


def say(msg: str) -> None:
    print(f"[peers] {msg}", flush=True)


@dataclass
class Target:
    name: str
    port: int
    path: str
    proc: subprocess.Popen[bytes] | None = None
    group: bool = False  # started in its own session: stop the whole process group
    variant: bool = False  # a diagnostic variant of a peer, not the peer as shipped
    config: str = ""
    notes: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


# --- the peers' virtualenv -------------------------------------------------------------------


def peers_python() -> Path:
    """benchmarks/.peers-venv/bin/python with the pinned smyth and ministack, made if missing."""
    py = VENV / "bin" / "python"
    probe = (
        "from importlib.metadata import version as v; "
        "import smyth, ministack, hypercorn, uvicorn; "
        "print(v('smyth'), v('ministack'))"
    )
    want = f"{PINS['smyth']} {PINS['ministack']}"

    def installed() -> str:
        if not py.exists():
            return ""
        r = subprocess.run([py, "-c", probe], capture_output=True, text=True, timeout=60)
        return r.stdout.strip() if r.returncode == 0 else ""

    have = installed()
    if have == want:
        say(
            f"using {VENV.relative_to(HERE.parent)} (smyth {PINS['smyth']}, ministack "
            f"{PINS['ministack']})"
        )
        return py
    if not py.exists():
        base = shutil.which("python3") or sys.executable
        say(f"creating {VENV.relative_to(HERE.parent)} ({base} -m venv)")
        subprocess.run([base, "-m", "venv", str(VENV)], check=True, timeout=300)
    pkgs = [f"{name}=={ver}" for name, ver in PINS.items()]
    say(f"pip install {' '.join(pkgs)} into it (peers stay out of faaslab's venv)")
    r = subprocess.run(
        [py, "-m", "pip", "install", "--disable-pip-version-check", "-q", *pkgs],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if r.returncode != 0:
        print(r.stdout[-3000:], r.stderr[-3000:], sep="\n")
        raise SystemExit(f"pip install into {VENV} failed ({r.returncode})")
    have = installed()
    if have != want:
        raise SystemExit(f"peers venv broken after install: {have!r}, wanted {want!r}")
    return py


# --- process lifetime ------------------------------------------------------------------------


def start_group(
    cmd: list[str], cwd: Path, env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(t: Target) -> None:
    p = t.proc
    if p is None:
        return
    if not t.group:
        p.terminate()
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(p.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        p.wait(15)
    # whatever of the group is still there (runners, workers, a reloader's child)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(p.pid, signal.SIGKILL)
    if p.poll() is None:
        p.wait(5)


def tail(log: Path, n: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def listeners(pgid: int) -> list[str]:
    """Listening TCP/UDP sockets of the processes in process group pgid, from `ss`."""
    try:
        out = subprocess.run(
            ["ss", "-H", "-ltunp"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        return [f"? (ss failed: {e})"]
    found = set()
    for line in out.splitlines():
        cols = line.split()
        if len(cols) < 5:
            continue
        for pid in re.findall(r"pid=(\d+)", line):
            try:
                if os.getpgid(int(pid)) == pgid:
                    found.add(f"{cols[0]} {cols[4]}")
            except ProcessLookupError:
                pass
    return sorted(found)


def loopback_only(addrs: list[str]) -> bool:
    return all(re.search(r" (127\.\d+\.\d+\.\d+|\[::1\]|localhost):\d+$", a) for a in addrs)


@contextlib.contextmanager
def stopped_on_error(t: Target) -> Iterator[None]:
    try:
        yield
    except BaseException:
        stop(t)
        raise


# --- the peers -------------------------------------------------------------------------------


def peer_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "VIRTUAL_ENV"))}
    env.update(MARKER_ENV)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def start_smyth(py: Path, work: Path, reload: bool = True) -> Target:
    """Smyth from a dir with its config: its own CLI (uvicorn with reload=True, hard-coded), or,
    with reload=False, its app factory under plain `uvicorn` (a diagnostic variant)."""
    port = free_port()
    shutil.copy(FIXTURES / "handlers.py", work / "handlers.py")
    handlers = {
        "echo": ("handlers.smyth_echo", "/echo"),
        "probe": ("handlers.smyth_probe", "/probe"),
    }
    lines = ["[tool.smyth]", 'host = "127.0.0.1"', f"port = {port}", 'log_level = "ERROR"', ""]
    for name, (handler_path, url_path) in handlers.items():
        lines += [
            f"[tool.smyth.handlers.{name}]",
            f'handler_path = "{handler_path}"',
            f'url_path = "{url_path}"',
            'log_level = "ERROR"',  # its default DEBUG logs every message through rich
            "timeout = 10",
            "",
        ]
    (work / "pyproject.toml").write_text("\n".join(lines))
    env = peer_env()
    env["PYTHONPATH"] = str(work)  # the runner processes import `handlers` from here
    if reload:
        name = "smyth"
        cmd = [str(py), "-m", "smyth", "--host", "127.0.0.1", "--port", str(port), "--quiet"]
    else:
        name = "smyth, no reload"
        cmd = [str(py), "-m", "uvicorn", "smyth.server.app:create_app", "--factory"]
        cmd += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "error"]
    say(f"starting {name}: {' '.join(cmd[1:])} (cwd {work})")
    t = Target(name, port, INVOKE, group=True)
    t.info["log"] = str(work / "server.log")
    t.proc = start_group(cmd, work, env, work / "server.log")
    with stopped_on_error(t):
        wait_http(f"http://127.0.0.1:{port}/smyth/api/status", t.proc, timeout=60)
    t.config = (
        f"[tool.smyth] host 127.0.0.1, port {port}; handlers echo = handlers.smyth_echo "
        "(returns {statusCode: 200, body: json.dumps(event)}), probe; concurrency 1 (default), "
        "strategy first_warm (default), log_level ERROR; "
    )
    if reload:
        t.config += "`python -m smyth --quiet` (its CLI: uvicorn reload=True, hard-coded)"
    else:
        t.config += f"`{' '.join(cmd[1:])}`"
        t.notes.append(
            "diagnostic variant: without uvicorn's reloader the listening socket is made by "
            "asyncio (proto TCP), so TCP_NODELAY is set on connections; with reload (Smyth's "
            "CLI) uvicorn binds socket.socket(family) with proto 0, asyncio skips TCP_NODELAY, "
            "and h11's two writes per response (headers, body) meet Nagle x delayed ACK: ~40 ms"
        )
    return t


def create_functions(port: int) -> None:
    """CreateFunction echo and probe through MiniStack's Lambda API; wait until Active."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "lambda",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=60),
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.write(FIXTURES / "handlers.py", "handlers.py")
    functions = (
        ("echo", "handlers.echo"),
        ("echo_log", "handlers.echo_log"),
        ("probe", "handlers.probe"),
    )
    for name, handler in functions:
        say(f"ministack: CreateFunction {name} (python3.11, {handler}, zip, role {DUMMY_ROLE})")
        client.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=DUMMY_ROLE,
            Handler=handler,
            Code={"ZipFile": buf.getvalue()},
            Timeout=10,
            MemorySize=1769,
        )
        deadline = time.monotonic() + 60
        while True:
            state = client.get_function(FunctionName=name)["Configuration"].get("State")
            if state == "Active":
                break
            if state == "Failed" or time.monotonic() > deadline:
                raise RuntimeError(f"ministack function {name} is {state}, not Active")
            time.sleep(0.1)


def start_ministack(py: Path, work: Path) -> Target:
    """`python -m ministack` on 127.0.0.1 and a free port; echo created via boto3 CreateFunction."""
    port = free_port()
    tmp = work / "tmp"
    tmp.mkdir()
    env = peer_env()
    env.update(
        GATEWAY_PORT=str(port),
        BIND_HOST="127.0.0.1",
        IOT_MTLS_ENABLED="0",
        SFTP_ENABLED="0",
        LAMBDA_EXECUTOR="local",  # its default: a warm python subprocess per function, no Docker
        LOG_LEVEL="WARNING",
        TMPDIR=str(tmp),  # its pid file and the functions' code dirs go here, not into /tmp
    )
    cmd = [str(py), "-m", "ministack"]
    say(
        f"starting ministack: {' '.join(cmd[1:])} with GATEWAY_PORT={port} BIND_HOST=127.0.0.1 "
        "IOT_MTLS_ENABLED=0 SFTP_ENABLED=0 LAMBDA_EXECUTOR=local LOG_LEVEL=WARNING"
    )
    t = Target("ministack", port, INVOKE, group=True)
    t.info["log"] = str(work / "server.log")
    t.proc = start_group(cmd, work, env, work / "server.log")
    with stopped_on_error(t):
        wait_http(f"http://127.0.0.1:{port}/_ministack/health", t.proc, timeout=90)
        create_functions(port)
    t.config = (
        f"BIND_HOST=127.0.0.1 GATEWAY_PORT={port} IOT_MTLS_ENABLED=0 SFTP_ENABLED=0 "
        "LAMBDA_EXECUTOR=local LOG_LEVEL=WARNING TMPDIR=<private>; CreateFunction echo "
        "(python3.11, handlers.echo returns event, zip, dummy role), Active before use"
    )
    return t


# --- checks ----------------------------------------------------------------------------------


def post(port: int, path: str, body: bytes, timeout: float = 30) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", path, body, sigv4_headers(port, path, body))
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def verify(t: Target) -> None:
    """A fresh payload comes back as itself: no canned reply can pass for an echo."""
    event = {"k": 1, "nonce": uuid.uuid4().hex}
    status, body = post(t.port, t.path, json.dumps(event).encode())
    try:
        ok = status == 200 and json.loads(body) == event
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(f"{t.name} does not echo: {status} {body[:300]!r}")


def mixups(t: Target, clients: int, per_client: int) -> dict[str, Any]:
    """Concurrent clients, each with its own payloads: does every client get its own answer?"""

    def one(c: int) -> tuple[int, int, int, str]:
        ok = wrong = errors = 0
        sample = ""
        conn = http.client.HTTPConnection("127.0.0.1", t.port, timeout=30)
        deadline = time.monotonic() + 120
        for n in range(per_client):
            if time.monotonic() > deadline:
                errors += per_client - n
                break
            event = {"k": 1, "client": c, "n": n}
            try:
                data = json.dumps(event).encode()
                conn.request("POST", t.path, data, sigv4_headers(t.port, t.path, data))
                r = conn.getresponse()
                body = r.read()
            except OSError as e:
                errors += 1
                sample = sample or f"error {e}"
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", t.port, timeout=30)
                continue
            try:
                got = json.loads(body) if r.status == 200 else None
            except ValueError:
                got = None
            if got == event:
                ok += 1
            elif r.status == 200:
                wrong += 1
                sample = sample or f"sent {event}, got {body[:300]!r}"
            else:
                errors += 1
                sample = sample or f"sent {event}, got {r.status} {body[:300]!r}"
        conn.close()
        return ok, wrong, errors, sample

    with ThreadPoolExecutor(clients) as pool:
        res = list(pool.map(one, range(clients)))
    try:  # and does it still answer one caller afterwards?
        status, body = post(t.port, t.path, PAYLOAD)
        after = "ok" if status == 200 and json.loads(body) == json.loads(PAYLOAD) else f"{status}"
    except (OSError, ValueError) as e:
        after = f"error {e}"
    return {
        "after_burst": after,
        "clients": clients,
        "requests": clients * per_client,
        "own_answer": sum(r[0] for r in res),
        "someone_elses_answer": sum(r[1] for r in res),
        "errors": sum(r[2] for r in res),
        "sample": next((r[3] for r in res if r[3]), ""),
    }


def isolation(t: Target, path: str) -> dict[str, Any]:
    """What the function sees: a file made in the host's /tmp, an env var of the peer server."""
    with tempfile.NamedTemporaryFile(dir="/tmp", prefix="faaslab-peers-sentinel-") as f:
        status, body = post(t.port, path, json.dumps({"sentinel": f.name}).encode())
    if status != 200:
        return {"error": f"{status} {body[:200]!r}"}
    return dict(json.loads(body))


# --- main ------------------------------------------------------------------------------------


def guarded(name: str, skipped: dict[str, str], fn: Callable[[], Target]) -> Target | None:
    try:
        return fn()
    except (Exception, SystemExit) as e:
        skipped[name] = f"{type(e).__name__}: {e}"
        say(f"SKIPPING {name}: {skipped[name]}")
        return None


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--requests", type=int, default=2000, help="sequential requests per target")
    ap.add_argument("--warmup", type=int, default=300, help="warm-up requests per target")
    ap.add_argument("--blocks", type=int, default=10, help="interleaved blocks")
    ap.add_argument(
        "--mixup",
        type=int,
        default=50,
        help="requests per client in the concurrency check (0: off)",
    )
    ap.add_argument("--mixup-clients", type=int, default=4)
    ap.add_argument(
        "--no-variants",
        action="store_true",
        help="skip the diagnostic variants (smyth without reload, ministack handler that logs)",
    )
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()

    py = peers_python()
    work = Path(tempfile.mkdtemp(prefix="faaslab-peers-"))
    skipped: dict[str, str] = {}
    targets: list[Target] = []
    results: dict[str, Any] = {
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus",
        "python": platform.python_version(),
        "peers": dict(PINS),
        "payload": PAYLOAD.decode(),
        "requests": args.requests,
    }
    try:
        say("starting the echo floor and faaslab (as benchmarks/invoke.py does)")
        echo_proc, echo_port = start_echo()
        targets.append(Target("floor", echo_port, "/", echo_proc, config="echo_server.py"))
        fl_proc, fl_port = start_faaslab(work / "faaslab")
        targets.append(
            Target(
                "faaslab",
                fl_port,
                INVOKE,
                fl_proc,
                config="faaslab up benchmarks/functions/template.yaml (handlers.echo: event)",
            )
        )
        starters: list[tuple[str, Callable[[Path], Target]]] = [
            ("smyth", lambda d: start_smyth(py, d)),
            ("ministack", lambda d: start_ministack(py, d)),
        ]
        if not args.no_variants:
            starters.append(("smyth, no reload", lambda d: start_smyth(py, d, reload=False)))
        for name, starter in starters:
            d = work / name.replace(", ", "-").replace(" ", "-")
            d.mkdir()
            t = guarded(name, skipped, lambda s=starter, d=d: s(d))
            if t is None:
                if (d / "server.log").exists():
                    print(tail(d / "server.log"))
                continue
            targets.append(t)
            if name == "smyth, no reload":
                t.variant = True
            if name == "ministack" and not args.no_variants:
                targets.append(
                    Target(
                        "ministack, handler logs",
                        t.port,
                        t.path.replace("/echo/", "/echo_log/"),
                        variant=True,
                        config="same server, function echo_log: print('echo'); return event",
                        notes=[
                            "diagnostic variant: after each invoke MiniStack waits for the "
                            "function's stderr (Worker._drain_stderr_bounded): 50 ms when it "
                            "printed nothing, 5 ms of quiet after a line"
                        ],
                    )
                )

        for t in list(targets):
            try:
                verify(t)
                say(f"{t.name}: warm-up ({args.warmup} invokes), answers checked")
                latencies(t.port, t.path, args.warmup)
            except (Exception, SystemExit) as e:
                skipped[t.name] = f"wrong answers: {e}"
                say(f"SKIPPING {t.name}: {skipped[t.name]}")
                if t.name in ("floor", "faaslab"):
                    raise
                targets.remove(t)
                stop(t)

        for t in targets:
            if t.group and t.proc is not None:
                addrs = listeners(t.proc.pid)
                t.info["listens"] = addrs
                if not loopback_only(addrs):
                    t.notes.append(f"LISTENS BEYOND LOOPBACK: {', '.join(addrs)}")
                say(f"{t.name} listens on: {', '.join(addrs) or '(nothing found)'}")

        per = max(1, args.requests // args.blocks)
        samples: dict[str, list[float]] = {t.name: [] for t in targets}
        say(f"measuring: {args.blocks} interleaved blocks x {per} sequential invokes per target")
        for b in range(args.blocks):
            k = b % len(targets)
            for t in targets[k:] + targets[:k]:  # rotate the order too, not just interleave
                samples[t.name] += latencies(t.port, t.path, per)

        if args.mixup > 0:
            say(f"concurrency check: {args.mixup_clients} clients x {args.mixup} distinct payloads")
            for t in targets:
                if t.variant:
                    continue
                m = mixups(t, args.mixup_clients, args.mixup)
                t.info["concurrency_check"] = m
                if m["someone_elses_answer"] or m["errors"]:
                    t.notes.append(
                        f"concurrent clients: {m['someone_elses_answer']}/{m['requests']} got "
                        f"another client's answer, {m['errors']} errors (e.g. {m['sample']})"
                    )
                if m["after_burst"] != "ok":
                    t.notes.append(f"after the burst, one caller alone gets: {m['after_burst']}")

        for t in targets:
            if t.name in ("smyth", "ministack"):
                t.info["isolation"] = iso = isolation(t, t.path.replace("/echo/", "/probe/"))
                if iso.get("sentinel_visible"):
                    t.notes.append("function sees the host's /tmp")
                if iso.get("host_env_visible"):
                    t.notes.append("function inherits the server's environment")
                if "uid" in iso and iso["uid"] == os.getuid():
                    t.notes.append(f"function runs as the server's uid {iso['uid']}")
    finally:
        for t in reversed(targets):
            stop(t)
        shutil.rmtree(work, ignore_errors=True)

    floor50 = statistics.median(samples["floor"])
    rows = []
    for t in targets:
        xs = samples[t.name]
        p50 = statistics.median(xs)
        rows.append((t.name, p50, pct(xs, 0.9), pct(xs, 0.99), p50 / floor50))
        t.info.update(
            {"n": len(xs), "p50_us": p50, "p90_us": pct(xs, 0.9), "p99_us": pct(xs, 0.99)}
        )
        t.info["ratio_p50_to_floor"] = p50 / floor50
    print()
    print(f"warm invoke latency, {PAYLOAD.decode()}, {len(samples['floor'])} requests per target")
    print(f"{'target':<24} {'p50 us':>9} {'p90 us':>9} {'p99 us':>9} {'x floor':>8}")
    for variants in (False, True):
        shown = [row for t, row in zip(targets, rows, strict=True) if t.variant == variants]
        if variants and shown:
            print("diagnostic variants (not the peers as shipped):")
        for name, p50, p90, p99, ratio in shown:
            print(f"{name:<24} {p50:>9.0f} {p90:>9.0f} {p99:>9.0f} {ratio:>8.2f}")
    for name, why in skipped.items():
        print(f"{name:<24} skipped: {why}")
    print()
    for t in targets:
        print(f"{t.name}: {t.config}")
        for note in t.notes:
            print(f"  ! {note}")
        if "isolation" in t.info:
            print(f"  probe: {t.info['isolation']}")
    if args.json:
        results["targets"] = {
            t.name: {"config": t.config, "variant": t.variant, "notes": t.notes, **t.info}
            for t in targets
        }
        results["skipped"] = skipped
        args.json.write_text(json.dumps(results, indent=2))
        say(f"wrote {args.json}")


if __name__ == "__main__":
    main()
