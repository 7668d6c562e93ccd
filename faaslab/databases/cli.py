"""`faaslab db ...`: serverless clusters from the terminal (the tutorial's console steps)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from typing import Any

import click

from faaslab.cliutil import endpoint_option, get, request


@click.group()
def db() -> None:
    """Serverless SQL clusters (Aurora Serverless on real MariaDB / PostgreSQL).

    \b
    Create:   faaslab db create tutorial --engine mysql --min-capacity 1 --max-capacity 1 \\
                  --auto-pause 300 --master-username admin1 --master-password 'secret99'
    Use:      faaslab db connect tutorial        (the engine's own client, through the endpoint)
    Watch:    faaslab db list | describe | events | metrics | cost NAME
    Change:   faaslab db modify NAME --min-capacity 0 --max-capacity 8
    Remove:   faaslab db delete NAME

    Clusters from a template's AWS::RDS::DBCluster resources appear here too.
    """


@db.command()
@click.argument("name")
@click.option(
    "--engine",
    type=click.Choice(["mysql", "postgresql"]),
    required=True,
    help="mysql = aurora-mysql (runs MariaDB); postgresql = aurora-postgresql.",
)
@click.option(
    "--serverless-version",
    type=click.Choice(["v1", "v2"]),
    default="v1",
    show_default=True,
    help="v1: capacities double (MySQL 1-256, PostgreSQL 2-384), scaling points. "
    "v2: 0.5-ACU steps, MinCapacity 0 = auto-pause.",
)
@click.option("--min-capacity", type=float, default=None, help="ACUs  [default: v1 1/2, v2 0]")
@click.option("--max-capacity", type=float, default=None, help="ACUs  [default: v1 16, v2 4]")
@click.option(
    "--auto-pause",
    type=int,
    default=300,
    show_default=True,
    help="Pause after this many seconds with no connections (300-86400); 0 = never.",
)
@click.option(
    "--master-username",
    default="admin1",
    show_default=True,
    help="The cluster's master user (AWS reserves rdsadmin; aurora-postgresql also admin).",
)
@click.option(
    "--master-password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=False,
    help='8-41 printable ASCII characters (PostgreSQL: up to 99), not / " @ or space. '
    "Asked for when not given.",
)
@click.option("--database-name", default=None, help="A database to create at once.")
@click.option("--port", type=int, default=None, help="Endpoint port  [default: a free one]")
@endpoint_option
def create(
    name: str,
    engine: str,
    serverless_version: str,
    min_capacity: float | None,
    max_capacity: float | None,
    auto_pause: int,
    master_username: str,
    master_password: str,
    database_name: str | None,
    port: int | None,
    endpoint: str,
) -> None:
    """Create cluster NAME and wait until it is available."""
    v1 = serverless_version == "v1"
    if min_capacity is None:
        min_capacity = (1 if engine == "mysql" else 2) if v1 else 0
    if max_capacity is None:
        max_capacity = 16 if v1 else 4
    click.echo(f"creating {name} ({engine}, {serverless_version}) ...", err=True)
    t = time.monotonic()
    described = request(
        endpoint,
        "POST",
        "/_faaslab/db",
        {
            "identifier": name,
            "engine": engine,
            "version": serverless_version,
            "min_capacity": min_capacity,
            "max_capacity": max_capacity,
            "auto_pause_seconds": auto_pause or None,
            "master_username": master_username,
            "master_password": master_password,
            "database_name": database_name,
            "port": port,
        },
    )
    click.echo(f"available in {time.monotonic() - t:.1f} s", err=True)
    _print_description(described)


@db.command(name="list")
@endpoint_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(endpoint: str, as_json: bool) -> None:
    """List clusters: name, engine, status, endpoint, capacity, connections."""
    data = get(endpoint, "/_faaslab/db")
    if as_json:
        click.echo(json.dumps(data["clusters"], indent=2))
        return
    for w in data.get("warnings", []):
        click.secho(f"warning: {w}", fg="yellow", err=True)
    if not data["clusters"]:
        click.echo("no clusters (faaslab db create NAME ..., or AWS::RDS::DBCluster in a template)")
        return
    click.echo(
        f"{'NAME':<24} {'ENGINE':<18} {'VER':<3} {'STATUS':<10} {'ENDPOINT':<16} "
        f"{'ACU':>5} {'MIN-MAX':>9} {'CONN':>4}"
    )
    for c in data["clusters"]:
        click.echo(
            f"{c['DBClusterIdentifier']:<24} {c['Engine']:<18} {c['ServerlessVersion']:<3} "
            f"{c['Status']:<10} {'127.0.0.1:' + str(c['Port']):<16} {c['Capacity']:>5g} "
            f"{_range(c):>9} {c['Connections']:>4}"
        )


def _range(c: dict[str, Any]) -> str:
    return f"{c['MinCapacity']:g}-{c['MaxCapacity']:g}"


def _show_description(c: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(c, indent=2))
    else:
        _print_description(c)


def _print_description(c: dict[str, Any]) -> None:
    pause = f"after {c['SecondsUntilAutoPause']} s idle" if c["AutoPause"] else "never"
    lines = [
        ("cluster", f"{c['DBClusterIdentifier']}  ({c['DBClusterArn']})"),
        ("engine", f"{c['Engine']} {c['ServerlessVersion']} (runs {c['LocalEngine']})"),
        ("status", c["Status"] + (f": {c['Failure']}" if c.get("Failure") else "")),
        ("endpoint", f"{c['Endpoint']}:{c['Port']}"),
        ("master user", c["MasterUsername"]),
        ("database", c["DatabaseName"] or "-"),
        ("capacity", f"{c['Capacity']:g} ACU (min {c['MinCapacity']:g}, max {c['MaxCapacity']:g})"),
        ("auto-pause", pause),
        ("data api", "enabled" if c["HttpEndpointEnabled"] else "disabled"),
        ("connections", str(c["Connections"])),
        ("ingress", ", ".join(c["Ingress"])),
    ]
    for key, value in lines:
        click.echo(f"  {key + ':':<13} {value}")


@db.command()
@click.argument("name")
@endpoint_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def describe(name: str, endpoint: str, as_json: bool) -> None:
    """Show one cluster's configuration and state."""
    data = get(endpoint, f"/_faaslab/db/{name}")
    _show_description(data, as_json)


@db.command()
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@endpoint_option
def delete(name: str, yes: bool, endpoint: str) -> None:
    """Delete cluster NAME: its engine stops and its data is removed for good."""
    if not yes:
        click.confirm(f"Delete {name} and all its data?", abort=True)
    request(endpoint, "DELETE", f"/_faaslab/db/{name}")
    click.echo(f"deleted {name}")


@db.command()
@click.argument("name")
@click.option(
    "--min-capacity",
    type=float,
    default=None,
    help="ACUs (v1: a capacity the engine allows; v2: 0-256 in 0.5 steps, 0 = auto-pause).",
)
@click.option("--max-capacity", type=float, default=None, help="ACUs (v2: at least 1).")
@click.option(
    "--auto-pause-seconds",
    type=int,
    default=None,
    help="Seconds with no connections before it pauses (300-86400).",
)
@click.option(
    "--auto-pause/--no-auto-pause",
    default=None,
    help="v1 only: whether it pauses at all (v2 pauses when its min capacity is 0).",
)
@click.option(
    "--enable-http-endpoint/--disable-http-endpoint",
    default=None,
    help="Switch the Data API on or off.",
)
@click.option(
    "--master-password",
    default=None,
    help="A new master password (the same rules as at create).",
)
@endpoint_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def modify(
    name: str,
    min_capacity: float | None,
    max_capacity: float | None,
    auto_pause_seconds: int | None,
    auto_pause: bool | None,
    enable_http_endpoint: bool | None,
    master_password: str | None,
    endpoint: str,
    as_json: bool,
) -> None:
    """Change cluster NAME's capacity range, auto-pause, Data API or master password (as
    `aws rds modify-db-cluster`); what is not given stays as it is. The cluster must be
    available or paused; a capacity outside the new range is brought inside it at once."""
    options = {
        "min_capacity": min_capacity,
        "max_capacity": max_capacity,
        "auto_pause_seconds": auto_pause_seconds,
        "auto_pause": auto_pause,
        "enable_http_endpoint": enable_http_endpoint,
        "master_password": master_password,
    }
    given = {key: value for key, value in options.items() if value is not None}
    if not given:
        raise click.UsageError("nothing to modify: give at least one option (see --help)")
    described = request(endpoint, "PATCH", f"/_faaslab/db/{name}", given)
    _show_description(described, as_json)


@db.command()
@click.argument("name")
@endpoint_option
def stop(name: str, endpoint: str) -> None:
    """Stop cluster NAME (as `aws rds stop-db-cluster`): its engine stops and clients are
    refused until `faaslab db start`, or until it has been stopped seven (emulated) days.
    Aurora Serverless v1 clusters cannot be stopped: they pause on their own."""
    out = request(endpoint, "POST", f"/_faaslab/db/{name}/stop")
    click.echo(f"{name}: {out['Status']}")


@db.command()
@click.argument("name")
@endpoint_option
def start(name: str, endpoint: str) -> None:
    """Start stopped cluster NAME (as `aws rds start-db-cluster`)."""
    out = request(endpoint, "POST", f"/_faaslab/db/{name}/start")
    click.echo(f"{name}: {out['Status']}")


def _when(epoch: float) -> str:
    return (
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))
        + f".{int(epoch * 1000) % 1000:03d}"
    )


@db.command()
@click.argument("name")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events until Ctrl-C.")
@endpoint_option
def events(name: str, follow: bool, endpoint: str) -> None:
    """The cluster's RDS events (pause, resume, scaling), with AWS's texts."""
    after = 0
    try:
        while True:
            for e in get(endpoint, f"/_faaslab/db/{name}/events?after={after}")["events"]:
                click.echo(f"{_when(e['Date'])}  {e['EventId']:<16} {e['Message']}")
                after = e["Id"]
            if not follow:
                return
            time.sleep(0.5)
    except KeyboardInterrupt:
        return


@db.command()
@click.argument("name")
@click.option("--database", "-d", default=None, help="Database to open  [default: the cluster's]")
@click.option("--user", "-u", default=None, help="[default: the master user]")
@endpoint_option
@click.argument("client_args", nargs=-1, type=click.UNPROCESSED)
def connect(
    name: str, database: str | None, user: str | None, endpoint: str, client_args: tuple[str, ...]
) -> None:
    """Open the engine's own client (`mariadb` / `psql`) on NAME through its endpoint.

    The client asks for the password (or takes MYSQL_PWD / PGPASSWORD). Arguments after
    `--` go to the client, e.g. `faaslab db connect NAME -- -e 'SHOW DATABASES'`.
    """
    c = get(endpoint, f"/_faaslab/db/{name}")
    user = user or c["MasterUsername"]
    database = database or c["DatabaseName"]
    host, port = c["Endpoint"], str(c["Port"])
    if c["Engine"] == "aurora-mysql":
        program = shutil.which("mariadb") or shutil.which("mysql")
        argv = [program or "mariadb", "-h", host, "-P", port, "-u", user]
        if "MYSQL_PWD" not in os.environ:
            argv.append("-p")
        if database:
            argv.append(database)
    else:
        program = shutil.which("psql")
        argv = [program or "psql", "-h", host, "-p", port, "-U", user]
        argv += ["-d", database or "postgres"]
    if program is None:
        raise click.ClickException(f"{argv[0]} not found: install its client package")
    argv += list(client_args)
    sys.stdout.flush()
    os.execv(argv[0], argv)


@db.command()
@click.argument("name")
@endpoint_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def cost(name: str, endpoint: str, as_json: bool) -> None:
    """What the cluster has cost so far at AWS's prices (per activation, plus storage).

    v1: $0.06 per ACU-hour, billed per second with a 5-minute minimum each time it is
    activated; v2: $0.12 per ACU-hour; storage $0.10 per GB-month. Times are emulated
    (with --time-scale 60 a real second counts as a minute).
    """
    bill = get(endpoint, f"/_faaslab/db/{name}/cost")
    if as_json:
        click.echo(json.dumps(bill, indent=2))
        return
    click.echo(f"{name} ({bill['version']}): ${bill['price_per_acu_hour']:.2f} per ACU-hour")
    for i, a in enumerate(bill["activations"], 1):
        state = "running" if a["end"] is None else "ended"
        click.echo(
            f"  activation {i}: {a['seconds']:9.0f} s ({state}), billed {a['billed_seconds']:.0f} s"
            f" x ACUs = {a['billed_acu_seconds']:.0f} ACU-s  ${a['cost']:.6f}"
        )
    click.echo(
        f"  compute: {bill['billed_acu_seconds'] / 3600:.4f} ACU-hours  ${bill['compute_cost']:.6f}"
    )
    click.echo(
        f"  storage: {bill['storage_bytes'] / 2**20:.1f} MiB for "
        f"{bill['storage_seconds'] / 3600:.2f} h  ${bill['storage_cost']:.6f}"
    )
    click.echo(f"  total:   ${bill['total_cost']:.6f}")


_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int = 60) -> str:
    """The last `width` values as one line of block characters, scaled to their range."""
    values = values[-width:]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = hi - lo or 1.0
    return "".join(_BARS[min(7, int((v - lo) / span * 7.999))] for v in values)


@db.command()
@click.argument("name")
@click.option("--since", type=float, default=0.0, help="Only samples after this epoch time.")
@endpoint_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def metrics(name: str, since: float, endpoint: str, as_json: bool) -> None:
    """CloudWatch-style metrics, sampled every few seconds, drawn in the terminal:
    ServerlessDatabaseCapacity, ACUUtilization, CPUUtilization, DatabaseConnections, Queries."""
    data = get(endpoint, f"/_faaslab/db/{name}/metrics?since={since}")["metrics"]
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for metric, points in data.items():
        values = [v for _, v in points]
        if not values:
            click.echo(f"{metric:<27} (no samples yet: the cluster has not been running)")
            continue
        click.echo(
            f"{metric:<27} {sparkline(values)}  last {values[-1]:g}  "
            f"min {min(values):g}  max {max(values):g}  ({len(values)} samples)"
        )
