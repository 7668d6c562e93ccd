"""API-Gateway-style routes for functions with `Api` / `HttpApi` events.

`Api` (REST API, Lambda proxy integration) sends payload format 1.0 and needs the
function to return {statusCode, headers, body}; anything else is a 502, as on AWS.
`HttpApi` sends format 2.0 and also accepts any JSON result (200, body = the JSON).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from faaslab.functions.model import DEFAULT_ACCOUNT, ApiRoute, EventKind, InvokeResult
from faaslab.http.server import Request, Response

BAD_GATEWAY = Response(
    502, b'{"message":"Internal server error"}', {"Content-Type": "application/json"}
)
API_ID = "faaslab0"


@dataclass(frozen=True)
class CompiledRoute:
    route: ApiRoute
    pattern: re.Pattern[str]
    params: tuple[str, ...]  # path parameter names, in the order of the pattern's groups
    specificity: tuple[int, int, int]


def compile_route(route: ApiRoute) -> CompiledRoute:
    """Path template -> regex: {name} matches one segment, {name+} the rest of the path."""
    regex = ""
    literal = 0
    params: list[str] = []
    for part in re.split(r"(\{[^}]+\})", route.path):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            params.append(name.rstrip("+"))
            regex += "(.+)" if name.endswith("+") else "([^/]+)"
        else:
            regex += re.escape(part)
            literal += len(part)
    greedy = 1 if "+}" in route.path else 0
    specific = 0 if route.method == "ANY" else 1  # API Gateway: ANY only catches the rest
    return CompiledRoute(
        route, re.compile(f"^{regex}/?$"), tuple(params), (-greedy, literal, specific)
    )


class Router:
    def __init__(self, routes: list[ApiRoute]) -> None:
        compiled = [compile_route(r) for r in routes]
        # Most specific first: literal paths before greedy ones, longer literals first.
        self.routes = sorted(compiled, key=lambda c: c.specificity, reverse=True)

    def match(self, method: str, path: str) -> tuple[ApiRoute, dict[str, str]] | None:
        for c in self.routes:
            if c.route.method not in ("ANY", method):
                continue
            m = c.pattern.match(path)
            if m:
                return c.route, {n: unquote(v) for n, v in zip(c.params, m.groups(), strict=True)}
        return None


def build_event(route: ApiRoute, params: dict[str, str], req: Request) -> dict[str, Any]:
    body, is_b64 = _body(req)
    now = time.time()
    request_id = str(uuid.uuid4())
    source_ip = req.peer[0] if req.peer else "127.0.0.1"
    headers = dict(req.headers)
    query = parse_qsl(req.query, keep_blank_values=True)
    if route.kind is EventKind.HTTP_API:
        catch_all = route.method == "ANY" and route.path == "/{proxy+}"
        route_key = "$default" if catch_all else f"{route.method} {route.path}"
        return {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": req.path,
            "rawQueryString": req.query,
            "cookies": [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
            or None,
            "headers": headers,
            "queryStringParameters": _joined(query) or None,
            "pathParameters": params or None,
            "requestContext": {
                "accountId": DEFAULT_ACCOUNT,
                "apiId": API_ID,
                "domainName": headers.get("host", "localhost"),
                "http": {
                    "method": req.method,
                    "path": req.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": source_ip,
                    "userAgent": headers.get("user-agent", ""),
                },
                "requestId": request_id,
                "routeKey": route_key,
                "stage": "$default",
                "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "timeEpoch": int(now * 1000),
            },
            "body": body,
            "isBase64Encoded": is_b64,
        }
    multi: dict[str, list[str]] = {}
    for k, v in query:
        multi.setdefault(k, []).append(v)
    return {
        "resource": route.path,
        "path": req.path,
        "httpMethod": req.method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi.items()} or None,
        "multiValueQueryStringParameters": multi or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": DEFAULT_ACCOUNT,
            "apiId": API_ID,
            "httpMethod": req.method,
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("user-agent", "")},
            "path": f"/Prod{req.path}",
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTimeEpoch": int(now * 1000),
            "resourcePath": route.path,
            "stage": "Prod",
        },
        "body": body,
        "isBase64Encoded": is_b64,
    }


def _joined(query: list[tuple[str, str]]) -> dict[str, str]:
    """Payload 2.0 joins repeated query keys with commas (AWS's documented behaviour)."""
    out: dict[str, str] = {}
    for k, v in query:
        out[k] = f"{out[k]},{v}" if k in out else v
    return out


def _body(req: Request) -> tuple[str | None, bool]:
    if not req.body:
        return None, False
    try:
        return req.body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(req.body).decode(), True


def to_response(route: ApiRoute, result: InvokeResult) -> Response:
    """Map a function's result to the HTTP answer API Gateway would give."""
    if result.function_error:
        return BAD_GATEWAY
    try:
        out = json.loads(result.payload)
    except ValueError:
        return BAD_GATEWAY
    if isinstance(out, dict) and "statusCode" in out:
        return _proxy_response(out) or BAD_GATEWAY
    if route.kind is EventKind.HTTP_API:
        # Format 2.0 infers a response from any valid JSON (AWS's documented behaviour).
        body = out if isinstance(out, str) else json.dumps(out)
        return Response(200, body.encode(), {"Content-Type": "application/json"})
    return BAD_GATEWAY


def _proxy_response(out: dict[str, Any]) -> Response | None:
    raw = out["statusCode"]
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        return None
    try:
        status = int(raw)
    except ValueError:
        return None
    if not 100 <= status <= 599:
        return None
    headers = {str(k): str(v) for k, v in (out.get("headers") or {}).items()}
    for k, values in (out.get("multiValueHeaders") or {}).items():
        headers[str(k)] = ", ".join(str(v) for v in values)
    body = out.get("body") or ""
    if not isinstance(body, str):
        body = json.dumps(body)
    try:
        data = (
            base64.b64decode(body, validate=True) if out.get("isBase64Encoded") else body.encode()
        )
    except binascii.Error:
        return None
    headers.setdefault("Content-Type", "application/json")
    return Response(status, data, headers)
