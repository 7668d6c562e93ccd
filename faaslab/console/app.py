"""The console's routes under `/_console/`, each checked by `security.py` first.

GET  /_console/?token=T            sets the session cookie, redirects to /_console/
GET  /_console/                    the page (index.html, with the CSRF value)
GET  /_console/static/FILE         its scripts and styles (shipped in the package)
GET  /_console/api/events          server-sent events (live.py)
GET  /_console/api/functions       Lambda: functions and their configuration
GET  /_console/api/environments    Lambda: environments
POST /_console/api/functions/F/invoke       Invoke (RequestResponse, log tail)
GET  /_console/api/functions/F/logs?offset=N&filter=PATTERN   (CloudWatch's patterns)
GET  /_console/api/functions/F/test-events  saved test events
PUT|DELETE /_console/api/functions/F/test-events/NAME
ANY  /_console/api/db/...          the clusters: databases/api.py (as `faaslab db`)
POST /_console/api/query           the Query Editor: ExecuteStatement via the Data API
GET  /_console/api/secrets         Secrets Manager: the list; POST .../reveal {"id": ARN}
GET  /_console/api/s3/buckets      S3: the buckets; POST .../s3/sign: a signed request
GET  /_console/api/s3/object?bucket=B&key=K[&version=V][&download=1]   GetObject
ANY  /_console/s3/PATH             the page's signed S3 requests, to S3's API as /PATH

`faaslab up` serves these on the console's own port (controlplane.py), never on the edge.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, unquote

from faaslab.console import security
from faaslab.console.lambda_view import LambdaView
from faaslab.console.live import Live
from faaslab.console.rds_view import RdsView
from faaslab.console.s3_view import S3_PREFIX, S3View
from faaslab.console.secrets_view import SecretsView
from faaslab.console.security import PREFIX, Keys, Refused
from faaslab.databases.manager import Clusters
from faaslab.functions.manager import Manager
from faaslab.http.server import BodyRejected, BodySink, Request, Response, Stream, int_param
from faaslab.rdsdata.api import DataApi
from faaslab.s3.api import S3Api
from faaslab.secrets.store import SecretStore

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# The page loads only what it ships: no inline script, no other origin, never framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}
CSRF_PLACEHOLDER = "__FAASLAB_CSRF__"


@dataclass(frozen=True)
class Static:
    body: bytes
    content_type: str
    etag: str


def load_static() -> dict[str, Static]:
    """Every file under static/, read once (a few tens of KB)."""
    out: dict[str, Static] = {}
    root = resources.files("faaslab.console") / "static"

    def walk(node: object, prefix: str) -> None:
        for child in node.iterdir():  # type: ignore[attr-defined]
            name = prefix + child.name
            if child.is_dir():
                walk(child, name + "/")
            elif Path(child.name).suffix in TYPES:
                body = child.read_bytes()
                tag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                out[name] = Static(body, TYPES[Path(child.name).suffix], tag)

    walk(root, "")
    return out


class Console:
    def __init__(
        self,
        keys: Keys,
        manager: Manager,
        clusters: Clusters,
        data_api: DataApi,
        secrets: SecretStore,
        s3: S3Api,
        region: str,
        state_dir: Path,
    ) -> None:
        self.keys = keys
        self.static = load_static()
        self.live = Live(manager, clusters)
        self.lambdas = LambdaView(manager, state_dir / "console" / "test-events")
        self.rds = RdsView(clusters, data_api)
        self.secrets = SecretsView(secrets)
        self.s3 = S3View(s3, region)

    def close(self) -> None:
        self.live.close()

    def handle(self, req: Request) -> Response | Stream | Awaitable[Response]:
        """Any request to the console's port (controlplane.py sends it here)."""
        if req.path in ("", "/"):
            return Response(308, b"", {"Location": PREFIX + "/"})
        if not (req.path == PREFIX or req.path.startswith(PREFIX + "/")):
            return Response.json({"message": f"no console page {req.path}"}, 404)
        try:
            security.check_host(self.keys, req.headers)
            token = self.keys.query_token(req.query)
            if token is not None and req.method == "GET":
                return self._login(token)
            security.check_session(self.keys, req.headers)
            if req.path.startswith(S3_PREFIX + "/"):
                security.check_from_script(self.keys, req.headers)
                return self.s3.passthrough(req)
            security.check_same_origin(self.keys, req.method, req.headers)
        except Refused as e:
            return _refusal(e)
        rest = req.path[len(PREFIX) :]
        if rest in ("", "/"):
            if rest == "":
                return Response(308, b"", {"Location": PREFIX + "/"})
            return self._page(req)
        if rest.startswith("/static/"):
            return self._file(req, rest[len("/static/") :])
        if rest.startswith("/api/"):
            return self._api(req, [unquote(p) for p in rest[len("/api/") :].split("/")])
        return Response.json({"message": f"no console page {req.path}"}, 404)

    def sink(self, method: str, path: str, query: str, headers: dict[str, str]) -> BodySink | None:
        """An upload from the S3 page streams to disk as the edge's do; any other body is
        small and read whole. Refused before its body unless the page sent it."""
        if not path.startswith(S3_PREFIX + "/"):
            return None
        try:
            security.check_host(self.keys, headers)
            security.check_session(self.keys, headers)
            security.check_from_script(self.keys, headers)
        except Refused as e:
            raise BodyRejected(_refusal(e)) from None
        return self.s3.sink(method, path, query, headers)

    def _login(self, token: str) -> Response:
        if not self.keys.matches(token):
            return _refusal(Refused(403, "wrong console token: open the URL `faaslab up` printed"))
        headers = {"Location": PREFIX + "/", "Set-Cookie": self.keys.set_cookie()}
        headers["Cache-Control"] = "no-store"
        return Response(303, b"", headers)

    def _page(self, req: Request) -> Response:
        page = self.static["index.html"]
        body = page.body.replace(CSRF_PLACEHOLDER.encode(), self.keys.csrf.encode())
        headers = {**SECURITY_HEADERS, "Content-Type": page.content_type}
        headers["Cache-Control"] = "no-store"
        return Response(200, body, headers)

    def _file(self, req: Request, name: str) -> Response:
        found = self.static.get(name)
        if found is None or name == "index.html":
            return Response.json({"message": f"no console file {name}"}, 404)
        headers = {
            **SECURITY_HEADERS,
            "Content-Type": found.content_type,
            "ETag": found.etag,
            "Cache-Control": "private, no-cache",
        }
        if req.headers.get("if-none-match") == found.etag:
            return Response(304, b"", headers)
        return Response(200, found.body, headers)

    def _api(self, req: Request, parts: list[str]) -> Response | Stream | Awaitable[Response]:
        method = req.method
        query = parse_qs(req.query)
        match parts:
            case ["events"] if method == "GET":
                return self.live.stream()
            case ["functions"] if method == "GET":
                return self.lambdas.functions()
            case ["environments"] if method == "GET":
                return self.lambdas.environments()
            case ["functions", name, "invoke"] if method == "POST":
                return self.lambdas.invoke(name, req.body)
            case ["functions", name, "logs"] if method == "GET":
                try:
                    offset = int_param(query, "offset")
                except ValueError as e:
                    return Response.json({"message": str(e)}, 400)
                return self.lambdas.logs(name, offset, query.get("filter", [""])[0])
            case ["functions", name, "test-events"] if method == "GET":
                return self.lambdas.list_events(name)
            case ["functions", name, "test-events", event] if method == "PUT":
                return self.lambdas.save_event(name, event, req.body)
            case ["functions", name, "test-events", event] if method == "DELETE":
                return self.lambdas.delete_event(name, event)
            case ["db", *rest]:
                return self.rds.clusters_api(req, [p for p in rest if p])
            case ["query"] if method == "POST":
                return self.rds.query(req)
            case ["secrets"] if method == "GET":
                return self.secrets.list()
            case ["secrets", "reveal"] if method == "POST":
                try:
                    secret_id = json.loads(req.body or b"{}").get("id")
                except (ValueError, RecursionError, AttributeError):
                    secret_id = None
                if not isinstance(secret_id, str):
                    return Response.json({"message": 'body: {"id": "<name or ARN>"}'}, 400)
                return self.secrets.reveal(secret_id)
            case ["s3", "buckets"] if method == "GET":
                return self.s3.buckets()
            case ["s3", "sign"] if method == "POST":
                return self.s3.sign(req.headers.get("host", ""), req.body, self.keys.csrf)
            case ["s3", "object"] if method == "GET":
                return self.s3.object(req)
        return Response.json({"message": f"no console API {method} {req.path}"}, 404)


def _refusal(e: Refused) -> Response:
    """A refusal with its reason, as JSON (a browser shows it as is)."""
    body = json.dumps({"message": e.message}).encode()
    return Response(
        e.status,
        body,
        {"Content-Type": "application/json", "Cache-Control": "no-store", **SECURITY_HEADERS},
    )
