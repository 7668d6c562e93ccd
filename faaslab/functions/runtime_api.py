"""The Lambda Runtime API (wire layer), one listener per environment.

Each environment gets its own loopback port (its `AWS_LAMBDA_RUNTIME_API`), so a request
needs no routing by environment: the port is the identity, as 127.0.0.1:9001 is inside
an AWS sandbox. Handlers are thin: parse the path, call the environment, serialise.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

from faaslab.http.server import Deferred, Handler, Limits, Request, Response
from faaslab.linux import peer_uid

if TYPE_CHECKING:
    from faaslab.functions.environment import Environment

PREFIX = "/2018-06-01/runtime/"
ACCEPTED = Response(202, b'{"status":"OK"}', {"Content-Type": "application/json"})
# No idle timeout: a runtime keeps its connection, idle, for as long as its function runs
# (up to 15 minutes) and then posts the result on it; closing it under the runtime would
# race that post.
LIMITS = Limits(idle_timeout=None)


def make_handler(env: Environment) -> Handler:
    """A Handler bound to one environment."""

    def handle(req: Request) -> Response | Deferred | Awaitable[Response]:
        path = req.path
        if not path.startswith(PREFIX):
            return _error(404, "InvalidRequest", f"unknown Runtime API path {path}")
        rest = path[len(PREFIX) :]
        if rest == "invocation/next" and req.method == "GET":
            return env.runtime_next()
        if rest.startswith("invocation/") and req.method == "POST":
            request_id, _, what = rest[len("invocation/") :].partition("/")
            rss = req.headers.get("faaslab-max-rss-kb")  # sent by faaslab's own runtime
            rss_kb = int(rss) if rss and rss.isdigit() else None
            if what == "response":
                return env.runtime_result(request_id, req.body, None, rss_kb)
            if what == "error":
                error_type = req.headers.get("lambda-runtime-function-error-type", "Unhandled")
                return env.runtime_result(request_id, req.body, error_type, rss_kb)
        if rest == "init/error" and req.method == "POST":
            return env.runtime_init_error(req.body)
        return _error(404, "InvalidRequest", f"unknown Runtime API call {req.method} {path}")

    return handle


def tcp_peer_uid(transport: object) -> int | None:
    """The uid owning the peer's end of a loopback TCP connection (linux.peer_uid)."""
    get = getattr(transport, "get_extra_info", None)
    peer = get("peername") if get else None
    local = get("sockname") if get else None
    if not isinstance(peer, tuple) or not isinstance(local, tuple):
        return None
    return peer_uid((peer[0], peer[1]), (local[0], local[1]))


def _error(status: int, error_type: str, message: str) -> Response:
    return Response.json({"errorType": error_type, "errorMessage": message}, status)


def invalid_request_id(request_id: str) -> Response:
    return _error(400, "InvalidRequestID", f"Invalid request ID: {request_id!r}")


def too_large(size: int, limit: int) -> Response:
    return _error(
        413, "RequestEntityTooLarge", f"Exceeded maximum allowed payload size ({limit} bytes)."
    )
