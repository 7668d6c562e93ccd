"""The `faaslab` command. Every command but `up` and `demo` talks to a running
`faaslab up` over HTTP (its edge port), exactly as a user's own tools would."""

from __future__ import annotations

import asyncio
import collections
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import click

from faaslab import __version__
from faaslab.builds.errors import BuildError
from faaslab.cliutil import LOCAL_KEYS, endpoint_option, get
from faaslab.config import from_env, help_for
from faaslab.template import TemplateError, parse_parameter_overrides


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="faaslab")
def main() -> None:
    """faaslab: a serverless cloud on one machine.

    Runs an AWS SAM template's Lambda functions in real, isolated, Lambda-faithful
    containers (no Docker, no AWS account) and serves the AWS APIs on one local port, so
    the unmodified `aws` CLI and boto3 work against it with --endpoint-url.

    \b
    Start:   faaslab up examples/tutorial6/template.yaml
    Invoke:  faaslab invoke helloSqlite --payload '{"name": "Fred"}'
             aws lambda invoke --endpoint-url http://127.0.0.1:4566 \\
                 --function-name helloSqlite out.json
    Watch:   faaslab ps     faaslab logs helloSqlite -f
    Tour:    faaslab demo   (the tutorial, end to end)
    """


# options `up` and `build` share
build_dir_option = click.option(
    "--build-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=help_for("build_dir"),
)
parameter_overrides_option = click.option(
    "--parameter-overrides",
    multiple=True,
    help="Template parameters: Key=Value (repeatable), as `sam deploy`.",
)


@main.command()
@click.argument("template", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--host", default=None, help=help_for("host") + "  [default: 127.0.0.1]")
@click.option("--port", "-p", type=int, default=None, help=help_for("port") + "  [default: 4566]")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=help_for("state_dir"),
)
@click.option("--console/--no-console", default=None, help=help_for("console") + "  [default: on]")
@click.option(
    "--console-port", type=int, default=None, help=help_for("console_port") + "  [default: 0]"
)
@click.option("--build/--no-build", default=None, help=help_for("build") + "  [default: on]")
@build_dir_option
@click.option(
    "--time-scale", type=float, default=None, help=help_for("time_scale") + "  [default: 1]"
)
@click.option(
    "--keep-alive", type=float, default=None, help=help_for("keep_alive") + "  [default: 600]"
)
@click.option(
    "--max-lifetime", type=float, default=None, help=help_for("max_lifetime") + "  [default: 21600]"
)
@click.option(
    "--http-idle-timeout",
    type=float,
    default=None,
    help=help_for("http_idle_timeout") + "  [default: 60]",
)
@click.option(
    "--http-request-timeout",
    type=float,
    default=None,
    help=help_for("http_request_timeout") + "  [default: 20]",
)
@click.option(
    "--concurrency", type=int, default=None, help=help_for("concurrency") + "  [default: 1000]"
)
@click.option(
    "--init-timeout", type=float, default=None, help=help_for("init_timeout") + "  [default: 10]"
)
@click.option(
    "--cpu-limits/--no-cpu-limits", default=None, help=help_for("cpu_limits") + "  [default: off]"
)
@click.option(
    "--cpu-placement/--no-cpu-placement",
    default=None,
    help=help_for("cpu_placement") + "  [default: on]",
)
@click.option(
    "--data-api-timeout",
    type=float,
    default=None,
    help=help_for("data_api_timeout") + "  [default: 45]",
)
@click.option("--region", default=None, help=help_for("region") + "  [default: us-east-1]")
@click.option(
    "--uid-base", type=int, default=None, help=help_for("uid_base") + "  [default: 200000]"
)
@click.option(
    "--db-memory-per-acu-mb",
    type=int,
    default=None,
    help=help_for("db_memory_per_acu_mb") + "  [default: 64]",
)
@click.option(
    "--db-max-pg-connections",
    type=int,
    default=None,
    help=help_for("db_max_pg_connections") + "  [default: 500]",
)
@click.option(
    "--db-fast-path/--no-db-fast-path",
    default=None,
    help=help_for("db_fast_path") + "  [default: on]",
)
@click.option(
    "--request-log/--no-request-log",
    default=None,
    help=help_for("request_log") + "  [default: on]",
)
@click.option(
    "--strict-credentials/--any-credentials",
    default=None,
    help=help_for("strict_credentials") + "  [default: off]",
)
@click.option(
    "--isolation",
    type=click.Choice(["auto", "namespaces", "none"]),
    default=None,
    help=help_for("isolation"),
)
@parameter_overrides_option
def up(template: Path | None, parameter_overrides: tuple[str, ...], **settings: Any) -> None:
    """Run the local cloud for TEMPLATE (default: ./template.yaml) until Ctrl-C.

    Settings can also come from FAASLAB_<NAME> environment variables (e.g.
    FAASLAB_PORT=4600); a flag wins over the variable.
    """
    from faaslab.controlplane import ControlPlane, run_until_signalled

    if template is None and Path("template.yaml").exists():
        template = Path("template.yaml")
    try:
        config = from_env(settings)
        overrides = parse_parameter_overrides(parameter_overrides)
    except (ValueError, TemplateError) as e:
        raise click.ClickException(str(e)) from None
    cp = ControlPlane(config, template, overrides, report=_report)

    async def run() -> None:
        ready = asyncio.Event()
        task = asyncio.create_task(run_until_signalled(cp, ready))
        waiter = asyncio.create_task(ready.wait())
        done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            waiter.cancel()
            task.result()
            return
        _print_banner(cp)
        await task

    try:
        _event_loop_runner()(run())
    except TemplateError as e:
        raise click.ClickException(str(e)) from None
    except BuildError as e:
        raise click.ClickException(f"build failed: {e}") from None
    except OSError as e:
        raise click.ClickException(f"cannot start: {e}") from None
    click.echo("faaslab stopped.", err=True)


def _report(line: str) -> None:
    """A build's progress line, on stderr (warnings in yellow)."""
    if line.startswith("warning:"):
        click.secho(line, fg="yellow", err=True)
    else:
        click.echo(line, err=True)


@main.command()
@click.argument("template", required=False, type=click.Path(dir_okay=False, path_type=Path))
@build_dir_option
@parameter_overrides_option
def build(
    template: Path | None, build_dir: Path | None, parameter_overrides: tuple[str, ...]
) -> None:
    """Build TEMPLATE's functions and layers as `sam build` does (default: ./template.yaml).

    \b
    - CodeUri with requirements.txt (python runtimes): pip install -r requirements.txt
      into a copy of CodeUri, with faaslab's own Python (the one that runs the function);
    - CodeUri with package.json (nodejs runtimes): npm install --omit=dev likewise;
    - Metadata BuildMethod: makefile: make build-<LogicalId> with ARTIFACTS_DIR;
    - a .zip or .jar CodeUri is unpacked as Lambda unpacks it; other code (a jar's
      classes and lib/, a bootstrap) runs as given, without a copy;
    - layers (AWS::Serverless::LayerVersion, or AWS::Lambda::LayerVersion with a local
      Content) are used as given, or built by their Metadata BuildMethod: python3.x
      puts requirements.txt's packages and the files under python/, nodejsNN.x under
      nodejs/; a function's layers are merged in order at /opt.

    Output goes to .faaslab/build/ beside the template (--build-dir): each function's
    /var/task and each layer under its logical id, and a cache of installed
    dependencies keyed by the manifests' contents, the runtime and the architecture, so
    building an unchanged app again installs nothing. `faaslab up` builds the same way
    before it starts (`faaslab up --no-build` runs the last build as it is).
    """
    from faaslab.builds.builder import build_template
    from faaslab.template import load_template

    if template is None:
        template = Path("template.yaml")
    if not template.is_file():
        raise click.ClickException(f"{template}: no such file")
    try:
        config = from_env({"build_dir": build_dir})
        loaded = load_template(template, parse_parameter_overrides(parameter_overrides))
        out = config.resolved_build_dir(template)
        _, builder = build_template(loaded, out, _report)
    except (ValueError, TemplateError) as e:
        raise click.ClickException(str(e)) from None
    except BuildError as e:
        raise click.ClickException(f"build failed: {e}") from None
    counts = collections.Counter(o.status for o in builder.outcomes.values())
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    click.echo(f"Build succeeded ({summary or 'no functions'}): {out}", err=True)


def _event_loop_runner() -> Any:
    """uvloop when installed (it roughly halves the edge's per-request cost), else asyncio."""
    try:
        import uvloop

        return uvloop.run
    except ImportError:
        return asyncio.run


def _print_banner(cp: Any) -> None:
    m = cp.manager
    click.echo(f"faaslab {__version__} up at {cp.url}  (state: {cp.state_dir})", err=True)
    click.echo(f"  sandbox: {m.sandbox_description}", err=True)
    for w in m.warnings:
        click.secho(f"warning: {w}", fg="yellow", err=True)
    if cp.template is not None:
        _print_template_warnings(cp.template)
        for pool in m.pools.values():
            fn = pool.fn
            layers = f", layers {', '.join(la.logical_id for la in fn.layers)}" if fn.layers else ""
            click.echo(
                f"  function {fn.name:<24} {fn.handler}  {fn.memory_mb} MB, {fn.timeout_s:g} s"
                + layers,
                err=True,
            )
        for c in cp.router.routes:
            r = c.route
            click.echo(
                f"  route    {r.method:<6} {cp.url}{r.path} -> {r.function} ({r.kind.value})",
                err=True,
            )
    if cp.clusters is not None:
        click.echo(f"  cluster endpoints: {cp.clusters.paths}", err=True)
        for w in cp.clusters.warnings:
            click.secho(f"warning: {w}", fg="yellow", err=True)
        for c in cp.clusters.clusters.values():
            spec = c.spec
            click.echo(
                f"  cluster  {c.identifier:<24} {spec.engine.value} {spec.version.value} "
                f"(runs {spec.engine.server}) at {cp.config.host}:{c.port}, {c.state.value}",
                err=True,
            )
    if cp.console_url is not None:
        click.echo(f"  console: {cp.console_url}", err=True)
    click.echo("ready: GET /_faaslab/health answers 200. Ctrl-C stops.", err=True)


def _print_template_warnings(template: Any) -> None:
    """Every property and resource of the template that faaslab does not emulate, once."""
    from faaslab.template_properties import report_lines

    lines = report_lines(template.warnings, template.unsupported)
    for i, line in enumerate(lines):
        click.secho(f"warning: {line}" if i == 0 else line, fg="yellow", err=True)


def lambda_client(endpoint: str) -> Any:
    import boto3
    from botocore.config import Config as BotoConfig

    keys = {} if os.environ.get("AWS_ACCESS_KEY_ID") else LOCAL_KEYS
    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        config=BotoConfig(
            read_timeout=910, retries={"total_max_attempts": 1}, max_pool_connections=64
        ),
        **keys,
    )


@main.command()
@click.argument("function")
@click.option("--payload", default="{}", show_default=True, help="JSON event to send.")
@click.option(
    "--parallel",
    "-n",
    default=1,
    show_default=True,
    help="Concurrent callers (calltwice.sh is -n 2).",
)
@click.option(
    "--repeat", "-r", default=1, show_default=True, help="Calls per caller, one after another."
)
@click.option(
    "--quiet", "-q", is_flag=True, help="Only the summary line per call, not the payload."
)
@endpoint_option
def invoke(
    function: str, payload: str, parallel: int, repeat: int, quiet: bool, endpoint: str
) -> None:
    """Invoke FUNCTION and print each response with its round-trip time.

    What the tutorial's callservice.sh (-r K) and calltwice.sh (-n 2) do, through the
    real Lambda Invoke API with boto3.
    """
    try:
        json.loads(payload)
    except ValueError as e:
        raise click.BadParameter(f"not JSON: {e}", param_hint="--payload") from None
    client = lambda_client(endpoint)
    barrier = threading.Barrier(parallel)  # callers start each round together

    def call(caller: int) -> list[tuple[int, float, dict[str, Any], bytes]]:
        out = []
        for i in range(repeat):
            if parallel > 1:
                barrier.wait()
            t = time.perf_counter()
            try:
                r = client.invoke(FunctionName=function, Payload=payload.encode())
            except client.exceptions.ClientError as e:
                raise click.ClickException(str(e)) from None
            except Exception as e:
                raise click.ClickException(f"{type(e).__name__}: {e}") from None
            body = r["Payload"].read()
            out.append((caller, (time.perf_counter() - t) * 1000, r, body))
            if parallel == 1:
                _show(caller, i, out[-1], quiet)
        return out

    if parallel == 1:
        call(0)
        return
    with ThreadPoolExecutor(parallel) as pool:
        results = list(pool.map(call, range(parallel)))
    for caller_results in results:
        for i, res in enumerate(caller_results):
            _show(res[0], i, res, quiet)


def _show(caller: int, i: int, res: tuple[int, float, dict[str, Any], bytes], quiet: bool) -> None:
    _, ms, r, body = res
    err = r.get("FunctionError")
    head = f"[caller {caller} call {i + 1}] {ms:.1f} ms  status {r['StatusCode']}" + (
        f"  FunctionError: {err}" if err else ""
    )
    click.secho(head, fg="red" if err else "green", err=True)
    if not quiet:
        try:
            click.echo(json.dumps(json.loads(body), indent=2))
        except ValueError:
            click.echo(body.decode(errors="replace"))


@main.command()
@endpoint_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def ps(endpoint: str, as_json: bool) -> None:
    """List execution environments: function, id, state (busy/frozen), age, uses, memory."""
    envs = get(endpoint, "/_faaslab/environments")["environments"]
    if as_json:
        click.echo(json.dumps(envs, indent=2))
        return
    if not envs:
        click.echo("no environments (none started yet, or all recycled)")
        return
    click.echo(
        f"{'FUNCTION':<22} {'ID':<12} {'STATE':<9} {'PID':>7} {'AGE':>8} {'IDLE':>8} "
        f"{'USES':>5} {'MEMORY':>12}"
    )
    for e in envs:
        mem = f"{e['memory_mb'] or 0}/{e['memory_limit_mb']} MB"
        click.echo(
            f"{e['function']:<22} {e['id'][:12]:<12} {e['state']:<9} {e['pid'] or '-':>7} "
            f"{_age(e['age_s']):>8} {_age(e['idle_s']):>8} {e['uses']:>5} {mem:>12}"
        )


def _age(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


@main.command()
@click.argument("function")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until Ctrl-C.")
@endpoint_option
def logs(function: str, follow: bool, endpoint: str) -> None:
    """Print FUNCTION's log (START/END/REPORT lines and the function's output)."""
    from faaslab.functions.logs import format_record

    offset = 0
    try:
        while True:
            data = get(endpoint, f"/_faaslab/logs/{function}?offset={offset}")
            for rec in data["records"]:
                click.echo(format_record(rec))
            offset = data["offset"]
            if not follow:
                return
            time.sleep(0.5)
    except KeyboardInterrupt:
        return


@main.command()
@click.option(
    "--port",
    "-p",
    type=int,
    default=None,
    help="Edge port for the demo's cloud  [default: a free one]",
)
def demo(port: int | None) -> None:
    """Run the tutorial (Lambda III: Serverless Databases) end to end on a local cloud.

    Starts faaslab with examples/tutorial6/template.yaml (at --time-scale 60, so the
    Aurora cluster's 5-minute auto-pause takes 5 s), runs each part with the real clients
    (sqlite3, the aws CLI, mariadb through the cluster's endpoint), prints every tutorial
    question with the evidence observed, then stops everything.
    """
    from faaslab.demo import run_demo

    sys.exit(run_demo(port))


def _register_subcommands() -> None:
    from faaslab.databases.cli import db

    main.add_command(db)


_register_subcommands()

if __name__ == "__main__":
    main()
