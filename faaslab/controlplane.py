"""The control plane behind `faaslab up`: one asyncio process owning every component.

It loads the template, starts the container manager, and serves the edge port: AWS APIs
(S3, Secrets Manager, the Data API, Lambda Invoke; a signed request for any other service
gets that service's error, services.py), API-Gateway routes and `/_faaslab/*` for the
CLI. The web console (console/) has a port of its own. The edge only routes; each
component's wire module parses and serialises its own API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import sys
import time
from collections.abc import Awaitable
from pathlib import Path
from urllib.parse import parse_qs, unquote

from faaslab import sts
from faaslab.auth import LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY, AuthError, Verifier
from faaslab.awsapi.dispatch import Logged, ServiceApi
from faaslab.builds.builder import Report, build_template
from faaslab.clock import Clock
from faaslab.config import Config
from faaslab.console.app import Console
from faaslab.console.s3_view import S3_PREFIX as CONSOLE_S3_PREFIX
from faaslab.console.security import Keys as ConsoleKeys
from faaslab.databases import api as db_api
from faaslab.databases.endpoint import Endpoint
from faaslab.databases.manager import Clusters
from faaslab.databases.rds_api import RdsApi
from faaslab.functions import apigw, invoke_api
from faaslab.functions.control_api import CodeStore, LambdaControl
from faaslab.functions.errors import LambdaError
from faaslab.functions.invoke_api import FUNCTIONS_PREFIX, INVOKE_PATH, InvokeApi, error_response
from faaslab.functions.logs import read_records
from faaslab.functions.logs_api import LogsApi
from faaslab.functions.manager import Manager
from faaslab.functions.model import DEFAULT_ACCOUNT, LATEST, ApiRoute, FunctionConfig, InvokeRequest
from faaslab.functions.network import Service
from faaslab.http.server import (
    BodyRejected,
    BodySink,
    Deferred,
    Handler,
    Limits,
    Request,
    Response,
    Stream,
    int_param,
    serve,
)
from faaslab.linux import peer_uid
from faaslab.metrics_api import ClusterMetrics, FunctionMetrics, MetricsApi
from faaslab.rdsdata.api import DataApi
from faaslab.requestlog import RequestLog
from faaslab.s3 import bucket_template
from faaslab.s3.api import S3Api
from faaslab.s3.store import ObjectStore
from faaslab.secrets.api import SecretsApi
from faaslab.secrets.errors import SecretsError
from faaslab.secrets.store import SecretStore, deploy_template_secret, ensure_rds_cluster_secret
from faaslab.services import API_GATEWAY, signed_service, unknown_service
from faaslab.state import StateDB
from faaslab.template import SecretsHooks, Template, TemplateError, load_template
from faaslab.template_properties import S3_BUCKET_PROPERTIES, Status

EDGE_MAX_BODY = 8 * 1024 * 1024
STARTING = Response(503, b'{"message":"faaslab is starting"}', {"Content-Type": "application/json"})
HEALTH = Response(200, b'{"status":"ok"}', {"Content-Type": "application/json"})


class ControlPlane:
    def __init__(
        self,
        config: Config,
        template_path: Path | None,
        parameter_overrides: dict[str, str] | None = None,
        report: Report | None = None,
    ) -> None:
        self.config = config
        self.report: Report = report or (lambda line: None)  # build progress, for the user
        self.template_path = template_path
        self.parameter_overrides = parameter_overrides or {}
        self.state_dir = config.resolved_state_dir(template_path)
        self.clock = Clock(config.time_scale)
        self.template: Template | None = None
        self.manager: Manager | None = None
        self.db: StateDB | None = None
        self.clusters: Clusters | None = None
        self.invoke_api: InvokeApi | None = None
        self.s3: S3Api | None = None
        self.secrets: SecretStore | None = None
        self.secrets_api: SecretsApi | None = None
        self.data_api: DataApi | None = None
        self._secret_cache: dict[str, tuple[int, str]] = {}  # ARN -> (store generation, value)
        self.router = apigw.Router([])
        self.server: asyncio.Server | None = None
        self.port = config.port
        self.ready = False  # the edge answers 503 until every component has started
        self.verifier = Verifier(
            {LOCAL_ACCESS_KEY_ID: LOCAL_SECRET_ACCESS_KEY}, strict=config.strict_credentials
        )
        # the control-plane APIs on the protocol layer (awsapi/), by SigV4 signing name
        self.apis: dict[str, ServiceApi] = {"sts": sts.api(DEFAULT_ACCOUNT)}
        self.request_log: RequestLog | None = None  # every API call, on the console and on disk
        self._request_log_task: asyncio.Task[None] | None = None
        self.console: Console | None = None  # the web console (console/), once started
        self.console_server: asyncio.Server | None = None  # its own port

    @property
    def console_url(self) -> str | None:
        """The console's URL with this instance's token (printed in `up`'s banner)."""
        return None if self.console is None else self.console.keys.url(self.config.host)

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    async def start(self) -> None:
        """Load the template first (so errors come before anything starts), then serve."""
        if self.template_path is not None and not self.template_path.is_file():
            raise TemplateError(f"{self.template_path}: no such file")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.db = StateDB(self.state_dir / "faaslab.db")
        self.clusters = Clusters(self.config, self.clock, self.state_dir, self.db)
        self.secrets = SecretStore(self.state_dir / "secrets.db", self.config.region)
        self.secrets_api = SecretsApi(self.secrets)
        self.data_api = DataApi(
            self.clusters,
            self._secret_string,
            self.clock,
            self.config.region,
            DEFAULT_ACCOUNT,
            statement_timeout=self.config.data_api_timeout,
        )
        if self.template_path is not None:
            self.template = load_template(
                self.template_path,
                self.parameter_overrides,
                region=self.config.region,
                cluster_port=self.clusters.port_for,
                secrets=self._secrets_hooks(),
            )
            self.template, _ = await asyncio.to_thread(
                build_template,
                self.template,
                self.config.resolved_build_dir(self.template_path),
                self.report,
                self.config.build,
            )
        self.s3 = S3Api(
            ObjectStore(self.state_dir / "s3", self.config.region),
            self.verifier,
            self.config.region,
            self.clock,
        )
        self.s3.start()
        if self.template is not None:
            await self._make_buckets(self.template)
        self.server = await serve(
            self.handle,
            self.config.host,
            self.config.port,
            max_body=EDGE_MAX_BODY,
            sinks=self._body_sink,
            limits=self._edge_limits,
            observe=self._observed,
        )
        self.port = self.server.sockets[0].getsockname()[1]
        self.manager = Manager(
            self.config,
            self.clock,
            self.state_dir,
            self.url,
            common=[Service(self.port, self._serve_edge, "the AWS APIs")],
            reachable=self._reachable,
        )
        self.clusters.endpoint_watchers.append(self._endpoint_opened)
        await self.manager.start()
        self.invoke_api = InvokeApi(self.manager)
        manager = self.manager

        def functions() -> list[FunctionConfig]:  # ($LATEST: versions are not functions)
            return [pool.fn for pool in manager.pools.values() if pool.fn.version == LATEST]

        region = self.config.region
        s3_store = self.s3.store

        def read_object(bucket: str, key: str) -> bytes | None:
            info = s3_store.head(bucket, key) if s3_store.bucket_exists(bucket) else None
            return None if info is None else bytes(s3_store.read(info))

        code = CodeStore(
            self.state_dir / "functions",
            read_object,
            lambda fn: manager.deploy([fn]),
            manager.remove,
        )
        lambda_control = LambdaControl(
            functions,
            region,
            DEFAULT_ACCOUNT,
            self.config.concurrency,
            manager.reconfigure,
            code,
            manager,
        )
        self.apis["lambda"] = lambda_control.api()
        started_ms = int(time.time() * 1000)
        clusters = self.clusters
        # (security groups: a VpcSecurityGroupIds id faaslab cannot read admits local
        # clients, as spec.cluster_ingress says; the template's groups are its own)
        self.apis["rds"] = RdsApi(clusters, region, dict).api()
        self.apis["monitoring"] = MetricsApi(
            [
                ClusterMetrics(lambda: sorted(clusters.clusters), clusters.db.metrics),
                FunctionMetrics(manager.metrics, lambda: [fn.name for fn in functions()]),
            ]
        ).api()
        self.apis["logs"] = LogsApi(
            manager.logs, functions, region, DEFAULT_ACCOUNT, started_ms
        ).api()
        console = sys.stderr if self.config.request_log else None
        self.request_log = RequestLog(self.state_dir / "requests.log", console)
        for api in self.apis.values():
            api.log = self.request_log.add
        self._request_log_task = asyncio.create_task(self.request_log.run())
        if self.template is not None:
            self.manager.deploy(self.template.functions.values())
            for name, publish in self.template.auto_publish.items():
                lambda_control.publish_alias(name, publish.alias, publish.description)
            self.router = apigw.Router(list(self.template.routes))
        await self.clusters.start(self.template.clusters if self.template else {})
        if self.config.console:
            await self._start_console()
        self.ready = True

    async def _start_console(self) -> None:
        """The web console, on a port of its own: pages the edge serves for the template's
        API routes are another origin, which cannot read the console's answers."""
        assert self.manager and self.clusters and self.data_api and self.secrets and self.s3
        self.console_server = await serve(
            self._console,
            self.config.host,
            self.config.console_port,
            max_body=EDGE_MAX_BODY,
            sinks=self._console_sink,
            limits=self._edge_limits,
            observe=self._console_observed,
        )
        self.console = Console(
            ConsoleKeys.generate(self.console_server.sockets[0].getsockname()[1]),
            self.manager,
            self.clusters,
            self.data_api,
            self.secrets,
            self.s3,
            self.config.region,
            self.state_dir,
        )

    async def _make_buckets(self, template: Template) -> None:
        """The template's buckets, with the properties S3's API can apply (as
        CloudFormation applies them: through PutBucketVersioning, PutBucketCors, ...)."""
        implemented = frozenset(
            name
            for name, support in S3_BUCKET_PROPERTIES.items()
            if support.status is Status.IMPLEMENTED
        )
        keys = (LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY)
        assert self.s3 is not None
        for bucket, lid in template.buckets.items():
            where = f"Resources.{lid}.Properties"
            props = template.resolve(template.resources[lid].get("Properties") or {}, where)
            try:
                await bucket_template.apply(
                    self.s3.handle, bucket, props, keys, self.config.region, implemented
                )
            except bucket_template.BucketPropertyError as e:
                raise TemplateError(f"{template.path}: {where}.{e}") from None

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        if self.console_server is not None:
            self.console_server.close()
        if self.console is not None:
            self.console.close()
        if self._request_log_task is not None:
            self._request_log_task.cancel()
        if self.request_log is not None:
            self.request_log.close()
        if self.clusters is not None:
            await self.clusters.stop()
        if self.manager is not None:
            await self.manager.stop()
        if self.data_api is not None:
            self.data_api.close()
        if self.secrets is not None:
            self.secrets.close()
        if self.db is not None:
            self.db.close()
        if self.s3 is not None:
            await self.s3.stop()
            self.s3.store.close()

    # -- Secrets Manager, for templates and the Data API
    def _secrets_hooks(self) -> SecretsHooks:
        store = self.secrets
        assert store is not None

        def managed(cluster: str, username: str) -> tuple[str, str]:
            arn = ensure_rds_cluster_secret(store, cluster, username)
            return arn, store.resolve_reference(arn, "password", None, None)

        return SecretsHooks(
            deploy=lambda name, props: deploy_template_secret(store, name, props),
            lookup=store.resolve_reference,
            managed=managed,
        )

    def _secret_string(self, arn: str) -> str:
        """A secret's current SecretString (the Data API's credentials); LookupError with
        Secrets Manager's message when it cannot be had."""
        assert self.secrets is not None
        generation = self.secrets.generation()
        cached = self._secret_cache.get(arn)
        if cached is not None and cached[0] == generation:
            return cached[1]  # (a read per call costs a write transaction: last_accessed)
        try:
            value = self.secrets.get_value(arn).secret_string
        except SecretsError as e:
            raise LookupError(e.message) from None
        if value is None:
            raise LookupError("the secret has no SecretString")
        self._secret_cache[arn] = (self.secrets.generation(), value)
        return value

    # -- what a function's network namespace holds (functions/network.py)
    def _reachable(self, fn: FunctionConfig) -> list[Service]:
        """Beyond the AWS APIs (every function's): a cluster's endpoint for a function in a
        VPC (`VpcConfig`) when the cluster's ingress admits it (`admits_vpc_clients`). A
        function outside any VPC reaches no cluster, as on AWS for a non-public one."""
        out: list[Service] = []
        if fn.vpc is not None and self.clusters is not None:
            for identifier, endpoint in self.clusters.endpoints.items():
                if endpoint.admits_vpc_clients:
                    out.append(Service(endpoint.port, endpoint.adopt, f"cluster {identifier}"))
        return out

    async def _endpoint_opened(self, identifier: str, endpoint: Endpoint) -> None:
        """A cluster created while functions run: their VPC's environments reach it too."""
        if self.manager is not None and endpoint.admits_vpc_clients:
            service = Service(endpoint.port, endpoint.adopt, f"cluster {identifier}")
            await self.manager.offer(service, lambda fn: fn.vpc is not None)

    async def _serve_edge(self, sock: socket.socket, origin: str) -> asyncio.AbstractServer:
        return await serve(
            self.handle,
            max_body=EDGE_MAX_BODY,
            sinks=self._body_sink,
            limits=self._edge_limits,
            sock=sock,
            origin=origin,
            observe=self._observed,
        )

    @property
    def _edge_limits(self) -> Limits:
        return Limits(
            idle_timeout=self.config.http_idle_timeout,
            request_timeout=self.config.http_request_timeout,
        )

    # -- the edge
    def _body_sink(
        self, method: str, path: str, query: str, headers: dict[str, str]
    ) -> BodySink | None:
        """S3 PUT bodies stream to disk as they arrive (objects up to 5 GiB). An Invoke
        whose Content-Length is over Lambda's limit is refused here, before its body."""
        if self.s3 is None or not self.ready:
            return None
        if path.startswith(FUNCTIONS_PREFIX):
            refusal = invoke_api.oversized(headers)  # (None for the usual small payload)
            if refusal is not None and not S3Api.claims(headers):
                raise BodyRejected(refusal)
        if method != "PUT":  # (S3 streams only PUT bodies: an invoke goes no further)
            return None
        if not S3Api.claims_signed(query, headers) and self.router.match(method, path):
            return None  # an unsigned PUT to an API route is the route's
        return self.s3.sink(method, path, query, headers)

    def handle(self, req: Request) -> Response | Deferred | Stream | Awaitable[Response]:
        if not self.ready:
            return STARTING
        if self.s3 is not None and (
            S3Api.claims_signed(req.query, req.headers) or self._s3_preflight(req)
        ):
            return self.s3.handle(req)
        if self.secrets_api is not None and SecretsApi.claims(req.headers):
            return self._signed(req, self.secrets_api.handle, json_protocol=True)
        if self.data_api is not None and DataApi.claims(req):
            return self._signed(req, self.data_api.handle)
        path = req.path
        if path.startswith("/2015-03-31/functions/") and self.invoke_api is not None:
            return self._signed(req, self._lambda_api)
        if path.startswith("/_faaslab/"):
            return self._internal(req)
        service = signed_service(req)  # (here, not first: Invoke's path needs none of it)
        api = self.apis.get(service) if service is not None else None
        if api is not None:
            return self._signed(req, api.handle)
        if service is not None and service != API_GATEWAY:
            # an SDK call for an API faaslab lacks: its error, never a function's route
            return unknown_service(req, service)
        match = self.router.match(req.method, path)
        if match is not None:
            return self._api_route(req, *match)
        if self.s3 is not None and self.s3.claims_anonymous(path, req.headers):
            # after the routes: a template's route wins over a bucket of the same name
            return self.s3.handle(req)
        return Response.json({"message": "Not Found"}, 404)

    def _s3_preflight(self, req: Request) -> bool:
        """A CORS preflight for a bucket or object, path style (`OPTIONS /bucket/key`).
        Browsers send it unsigned, so no credential scope names S3: it is S3's when the
        path's first segment is an existing bucket. Checked before the template's API
        routes, so a catch-all route (`ANY /{proxy+}`) does not take browser uploads'
        preflights; a route whose first segment is also a bucket's name loses its OPTIONS
        to S3. (Virtual-hosted style, `<bucket>.localhost`, is S3's by its Host.)"""
        if req.method != "OPTIONS" or self.s3 is None:
            return False
        bucket = unquote(req.path[1:].partition("/")[0])
        return bool(bucket) and self.s3.store.bucket_exists(bucket)

    def _observed(self, req: Request, resp: Response, started: float) -> None:
        """The request log's line for an edge request not served by a `ServiceApi` (those
        log themselves, with their operation's name): S3, Secrets Manager, the Data API,
        Invoke, API routes. Not /_faaslab (the CLI's own calls)."""
        log = self.request_log
        if log is None:
            return
        path = req.path
        if path.startswith("/_faaslab/"):
            return
        if path.startswith(FUNCTIONS_PREFIX) and path.endswith("/invocations"):
            service, operation = "lambda", "Invoke"
        elif (
            S3Api.claims_signed(req.query, req.headers)
            or self._s3_preflight(req)
            or self._anonymous_s3(req)
        ):
            service, operation = "s3", f"{req.method} {path}"
        elif SecretsApi.claims(req.headers):
            target = req.headers.get("x-amz-target", "")
            service, operation = "secretsmanager", target.rpartition(".")[2]
        else:
            signed = signed_service(req)
            if signed is not None and signed in self.apis:
                return  # (its ServiceApi logged it)
            if signed == "rds-data":
                service, operation = "rds-data", path.strip("/")
            elif signed is not None and signed != API_GATEWAY:
                service, operation = signed, f"{req.method} {path}"
            else:
                service, operation = "apigateway", f"{req.method} {path}"
        _log_line(log, service, operation, resp, started)

    def _console_observed(self, req: Request, resp: Response, started: float) -> None:
        """The request log's line for the S3 requests the console's page sends (S3's calls,
        as they would be on the edge); the console's own API is not AWS's: not logged."""
        if self.request_log is not None and req.path.startswith(CONSOLE_S3_PREFIX + "/"):
            path = req.path[len(CONSOLE_S3_PREFIX) :]
            _log_line(self.request_log, "s3", f"{req.method} {path}", resp, started)

    def _anonymous_s3(self, req: Request) -> bool:
        """An unsigned request handle() gave to S3 (no route took it)."""
        return (
            self.s3 is not None
            and "authorization" not in req.headers
            and self.router.match(req.method, req.path) is None
            and self.s3.claims_anonymous(req.path, req.headers)
        )

    def _signed(
        self, req: Request, handler: Handler, json_protocol: bool = False
    ) -> Response | Deferred | Stream | Awaitable[Response]:
        """`handler(req)` if the request's SigV4 signature checks out, else the 403."""
        try:
            self.verifier.verify(req)
        except AuthError as e:
            return e.response(json_protocol=json_protocol)
        return handler(req)

    def _lambda_api(self, req: Request) -> Response | Deferred | Awaitable[Response]:
        assert self.invoke_api is not None
        m = INVOKE_PATH.match(req.path)
        if m and req.method == "POST":
            return self.invoke_api.invoke(req, m.group("name"))
        return self.apis["lambda"].handle(req)

    async def _api_route(self, req: Request, route: ApiRoute, params: dict[str, str]) -> Response:
        assert self.manager is not None
        event = apigw.build_event(route, params, req)
        invoke = InvokeRequest(
            route.function, json.dumps(event).encode(), event["requestContext"]["requestId"]
        )
        try:
            result = await self.manager.invoke(route.function, invoke)
        except LambdaError as e:
            if e.status == 429:
                return Response.json({"message": "Too Many Requests"}, 429)
            return apigw.BAD_GATEWAY
        return apigw.to_response(route, result)

    def _internal(self, req: Request) -> Response | Awaitable[Response]:
        assert self.manager is not None and self.clusters is not None
        parts = [unquote(p) for p in req.path.split("/")[2:]]
        if parts != ["health"]:  # (readiness is no secret)
            if req.origin is not None:  # a function's own listener (functions/network.py)
                return Response.json({"message": "not available to functions"}, 403)
            if not self._from_owner(req):
                return Response.json({"message": "only faaslab's own user may use /_faaslab"}, 403)
        query = parse_qs(req.query)
        if parts == ["health"]:
            return HEALTH
        if parts and parts[0] == "db":
            return db_api.handle(self.clusters, req, parts[1:])
        if parts == ["environments"]:
            return Response.json({"environments": self.manager.environments()})
        if parts == ["functions"]:
            return Response.json(
                {
                    "functions": [
                        {
                            "name": p.fn.name,
                            "handler": p.fn.handler,
                            "runtime": p.fn.runtime,
                            "memory_mb": p.fn.memory_mb,
                            "timeout_s": p.fn.timeout_s,
                            "arn": p.fn.arn,
                            "environments": len(p.envs),
                        }
                        for p in self.manager.pools.values()
                    ],
                    "routes": [
                        {
                            "function": c.route.function,
                            "method": c.route.method,
                            "path": c.route.path,
                            "kind": c.route.kind.value,
                        }
                        for c in self.router.routes
                    ],
                    "warnings": self.manager.warnings,
                    "unsupported": dict(self.template.unsupported) if self.template else {},
                    "template_warnings": [
                        w.as_dict() for w in (self.template.warnings if self.template else ())
                    ],
                }
            )
        if len(parts) == 2 and parts[0] == "logs":
            try:
                self.manager.pool(parts[1])
            except LambdaError as e:
                return error_response(e)
            try:
                offset = int_param(query, "offset")
            except ValueError as e:
                return Response.json({"message": str(e)}, 400)
            self.manager.logs.flush()
            records, offset = read_records(self.manager.logs.path(parts[1]), offset)
            return Response.json({"records": records, "offset": offset})
        return Response.json({"message": f"unknown faaslab endpoint {req.path}"}, 404)

    # -- the console's port
    def _console(self, req: Request) -> Response | Stream | Awaitable[Response]:
        """The web console: for faaslab's own user, as /_faaslab is (a peer of another
        user refused; functions have no route to this port), then its token
        (console/security.py)."""
        if self.console is None:
            return STARTING
        if not self._from_owner(req):
            return Response.json({"message": "only faaslab's own user may use the console"}, 403)
        return self.console.handle(req)

    def _console_sink(
        self, method: str, path: str, query: str, headers: dict[str, str]
    ) -> BodySink | None:
        return None if self.console is None else self.console.sink(method, path, query, headers)

    def _from_owner(self, req: Request) -> bool:
        """Whether the request's TCP peer belongs to the user faaslab runs as (the CLI's
        endpoints: logs, environments, clusters). Fail closed: a peer whose owner is not
        found (already gone, IPv6, another machine) is refused."""
        if req.peer is None or req.local is None:
            return False
        uid = peer_uid(req.peer, req.local)
        return uid is not None and uid == os.geteuid()


async def run_until_signalled(cp: ControlPlane, ready: asyncio.Event | None = None) -> None:
    """Run `faaslab up`: start, wait for Ctrl-C / SIGTERM, stop cleanly."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await cp.start()
        if ready is not None:
            ready.set()
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await cp.stop()


def _log_line(
    log: RequestLog, service: str, operation: str, resp: Response, started: float
) -> None:
    error = _reason(bytes(resp.body[:600])) if resp.status >= 400 else ""
    ms = (time.perf_counter() - started) * 1000
    log.add(Logged(service, operation, resp.status, ms, error))


def _reason(body: bytes) -> str:
    """A refusal's code and message from its body (AWS's JSON or XML error shapes)."""
    text = body.decode("utf-8", "replace")
    try:
        doc = json.loads(text)
    except ValueError:
        found = [re.search(rf"<{tag}>([^<]*)</{tag}>", text) for tag in ("Code", "Message")]
        return ": ".join(m.group(1) for m in found if m is not None) or text[:120]
    if not isinstance(doc, dict):
        return text[:120]
    code = doc.get("__type") or doc.get("errorType") or doc.get("Type") or ""
    message = doc.get("message") or doc.get("Message") or doc.get("errorMessage") or ""
    return ": ".join(str(p) for p in (code, message) if p)[:300]
