"""faaslab's settings, in one object.

Precedence: command-line flag > environment variable `FAASLAB_<NAME>` > default. Every
setting has a help text; the CLI's `--help` shows the same text (cli.py reads it from
SETTINGS), so the reference never drifts from the code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Config:
    host: str = _setting("127.0.0.1", "Address the edge and every endpoint bind to.")
    port: int = _setting(
        4566,
        "Edge port: the AWS APIs (Lambda, S3, RDS, the Data API, Secrets Manager, CloudWatch "
        "Logs and metrics, STS), the template's API routes, /_faaslab/ for the CLI.",
    )
    console: bool = _setting(
        True,
        "Serve the web console (Lambda, RDS, S3, Secrets Manager pages, live) on a port of "
        "its own, for this user only: its URL, with a per-instance token, is in the ready "
        "banner.",
    )
    console_port: int = _setting(
        0,
        "The web console's port (0: one the system picks, printed in the banner). A port of "
        "its own keeps it out of the origin that serves the template's API routes, whose "
        "pages could otherwise drive it.",
    )
    state_dir: Path | None = _setting(
        None,
        "Where state lives (logs, environments' /tmp, data). "
        "Default: .faaslab/ beside the template.",
    )
    build: bool = _setting(
        True,
        "Build functions and layers at start as `sam build` does (pip for requirements.txt, "
        "npm for package.json, .zip CodeUris unpacked; cached, so an unchanged app starts at "
        "once). Off: run what the last `faaslab build` made, or each CodeUri as it is.",
    )
    build_dir: Path | None = _setting(
        None,
        "Where builds go (each function's /var/task, each layer, the dependency cache). "
        "Default: .faaslab/build/ beside the template.",
    )
    time_scale: float = _setting(
        1.0,
        "Speed up emulated AWS timers (keep-alive, lifetime, retries): 60 makes a minute a second.",
    )
    init_timeout: float = _setting(
        10.0,
        "Lambda's init phase limit (s). A runtime still importing after this plus the "
        "function's timeout (AWS retries init within the invoke) is stopped.",
    )
    keep_alive: float = _setting(
        600.0, "Seconds an idle environment stays warm before it is recycled (AWS: ~5-10 min)."
    )
    max_lifetime: float = _setting(
        21600.0,
        "Seconds after which an environment is retired at its next idle moment (AWS: hours).",
    )
    cpu_limits: bool = _setting(
        False,
        "Give each environment the CPU AWS gives its MemorySize (1 vCPU at 1,769 MB, at most "
        "6): slower, truer timings for experiments. Off: every function may use all cores.",
    )
    cpu_placement: bool = _setting(
        True,
        "Run the control plane on one CPU and the environment it serves alone beside it, so a "
        "warm invoke never wakes another CPU (~8% faster in a VM); overlapping invocations "
        "run on the other CPUs. Off: the kernel's scheduler places everything.",
    )
    data_api_timeout: float = _setting(
        45.0,
        "The RDS Data API's limit on one call, in seconds (AWS: 45). A statement still running "
        "then is stopped, unless the call asked for continueAfterTimeout. Shorten it to see "
        "how code copes with StatementTimeoutException.",
    )
    http_idle_timeout: float = _setting(
        60.0,
        "Seconds a keep-alive connection to the edge may sit with no request before it is "
        "closed (an AWS load balancer's default idle timeout).",
    )
    http_request_timeout: float = _setting(
        20.0,
        "Seconds a client may take to send a request's headers, or pause while sending its "
        "body, before the edge answers 408 and closes (S3 allows ~20). A request the "
        "handler has (a long invoke, an upload that flows) is never cut.",
    )
    concurrency: int = _setting(1000, "Account concurrency limit; beyond it invokes get 429.")
    request_log: bool = _setting(
        True,
        "Print each AWS call (service.operation => status, ms) on the terminal; it is always "
        "appended to <state>/requests.log.",
    )
    strict_credentials: bool = _setting(
        False,
        "Refuse AWS access keys faaslab does not know. By default any key is accepted (as "
        "LocalStack does: test/test works); signatures made with faaslab's own key are "
        "always verified.",
    )
    region: str = _setting("us-east-1", "AWS region the emulated resources live in.")
    uid_base: int = _setting(
        200000,
        "Lowest uid/gid for environments; each gets its own unprivileged uid. The instance "
        "leases the first free block of uids at or above it, machine-wide (blocks of 65,536 "
        "under /run/faaslab/uids), so two faaslab instances never share a uid.",
    )
    db_memory_per_acu_mb: int = _setting(
        64,
        "Memory one Aurora capacity unit (ACU) gives a local cluster's buffer pool, in MiB. "
        "AWS's ACU has 2 GiB, which would not fit a laptop; capacity still scales linearly.",
    )
    db_max_pg_connections: int = _setting(
        500,
        "Cap on PostgreSQL clusters' max_connections (every slot costs shared memory at start; "
        "AWS's tables go up to 5,000).",
    )
    db_fast_path: bool = _setting(
        True,
        "Local clients of an available cluster connect straight to its engine (eBPF connect "
        "hook) and held clients are spliced in the kernel (eBPF sockmap): needs root and "
        "Linux 5.15+. Off, or where unavailable: a user-space proxy (~100 us per query).",
    )
    isolation: str = _setting(
        "auto", "auto | namespaces | none: sandbox environments with mount namespaces or not."
    )

    def resolved_state_dir(self, template: Path | None) -> Path:
        if self.state_dir is not None:
            return self.state_dir.resolve()
        base = template.resolve().parent if template else Path.cwd()
        return base / ".faaslab"

    def resolved_build_dir(self, template: Path) -> Path:
        if self.build_dir is not None:
            return self.build_dir.resolve()
        return template.resolve().parent / ".faaslab" / "build"


ISOLATION_MODES = ("auto", "namespaces", "none")
SETTINGS = {f.name: f for f in fields(Config)}


def help_for(name: str) -> str:
    return str(SETTINGS[name].metadata["help"])


def from_env(overrides: dict[str, Any]) -> Config:
    """Build a Config: explicit (flag) values win over FAASLAB_* variables over defaults."""
    values: dict[str, Any] = {}
    for name, f in SETTINGS.items():
        env = os.environ.get(f"FAASLAB_{name.upper()}")
        if overrides.get(name) is not None:
            values[name] = overrides[name]
        elif env is not None:
            values[name] = _coerce(f.type, env, name)
    for name in ("http_idle_timeout", "http_request_timeout"):
        if name in values and not values[name] > 0:
            raise ValueError(f"{name} must be a positive number of seconds, got {values[name]}")
    for name in ("port", "console_port"):
        if name in values and not 0 <= values[name] <= 65535:
            raise ValueError(f"{name} must be 0 (any free port) to 65535, got {values[name]}")
    edge_port = values.get("port", SETTINGS["port"].default)
    if values.get("console_port") and values["console_port"] == edge_port:
        raise ValueError(
            "console_port must differ from the edge port: the console needs an origin of its own"
        )
    if values.get("isolation", "auto") not in ISOLATION_MODES:
        raise ValueError(
            f"isolation must be one of {', '.join(ISOLATION_MODES)}, got {values['isolation']!r}"
        )
    return Config(**values)


def _coerce(typ: Any, raw: str, name: str) -> Any:
    t = str(typ)
    if t == "bool":
        if raw.lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            raise ValueError(f"FAASLAB_{name.upper()}={raw!r} is not a boolean (true/false)")
        return raw.lower() in ("1", "true", "yes", "on")
    try:
        if "int" in t and "float" not in t:
            return int(raw)
        if "float" in t:
            return float(raw)
        if "Path" in t:
            return Path(raw)
    except ValueError:
        raise ValueError(f"FAASLAB_{name.upper()}={raw!r} is not a valid {t}") from None
    return raw
