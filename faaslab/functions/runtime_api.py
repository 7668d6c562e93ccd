"""The Lambda Runtime API over HTTP: one codec of `runtime_protocol`, one listener per
environment.

Each environment gets its own listener (127.0.0.1:9001 in its network namespace, or a
loopback port of its own: its `AWS_LAMBDA_RUNTIME_API`), so a request needs no routing
by environment: the listener is the identity, as 127.0.0.1:9001 is inside an AWS
sandbox. Handlers are thin: decode AWS's paths and headers into protocol values, call
the environment's entry points (`RuntimeCalls`), encode the answer with AWS's status
codes and error bodies.
"""

from __future__ import annotations

from collections.abc import Awaitable

from faaslab.functions import runtime_protocol as rp
from faaslab.http.server import Deferred, Handler, Limits, Request, Response
from faaslab.linux import peer_uid

PREFIX = "/2018-06-01/runtime/"
ACCEPTED = Response(202, b'{"status":"OK"}', {"Content-Type": "application/json"})
# AWS's status for each refusal of a result
REFUSAL_STATUS = {rp.INVALID_REQUEST_ID: 400, rp.PAYLOAD_TOO_LARGE: 413}
# No idle timeout: a runtime keeps its connection, idle, for as long as its function runs
# (up to 15 minutes) and then posts the result on it; closing it under the runtime would
# race that post.
LIMITS = Limits(idle_timeout=None)


def decode(req: Request) -> rp.Said | None:
    """The protocol value a Runtime API request carries; None for an unknown call."""
    path = req.path
    if not path.startswith(PREFIX):
        return None
    rest = path[len(PREFIX) :]
    if rest == "invocation/next" and req.method == "GET":
        return rp.NEXT
    if rest.startswith("invocation/") and req.method == "POST":
        request_id, _, what = rest[len("invocation/") :].partition("/")
        rss = req.headers.get("faaslab-max-rss-kb")  # sent by faaslab's own runtime
        rss_kb = int(rss) if rss and rss.isdigit() else None
        if what == "response":
            return rp.Result(request_id, req.body, rss_kb)
        if what == "error":
            error_type = req.headers.get("lambda-runtime-function-error-type", "Unhandled")
            return rp.Error(request_id, error_type, req.body, rss_kb)
    if rest == "init/error" and req.method == "POST":
        error_type = req.headers.get("lambda-runtime-function-error-type", "Unhandled")
        return rp.InitError(error_type, req.body)
    return None


def event_response(event: rp.Event) -> Response:
    """An invocation as `GET next` answers it: the payload, the context in headers."""
    headers = {
        "Lambda-Runtime-Aws-Request-Id": event.request_id,
        "Lambda-Runtime-Deadline-Ms": str(event.deadline_ms),
        "Lambda-Runtime-Invoked-Function-Arn": event.function_arn,
        "Lambda-Runtime-Trace-Id": event.trace_id,
        "Content-Type": "application/json",
    }
    if event.client_context:
        headers["Lambda-Runtime-Client-Context"] = event.client_context
    if event.cognito_identity:
        headers["Lambda-Runtime-Cognito-Identity"] = event.cognito_identity
    return Response(200, event.payload, headers)


def reply_response(reply: rp.Reply) -> Response:
    if isinstance(reply, rp.Refused):
        return _error(REFUSAL_STATUS[reply.error_type], reply.error_type, reply.message)
    return ACCEPTED


class _PendingNext:
    """A `GET next` waiting for work: the event resolves the request's Deferred."""

    __slots__ = ("deferred",)

    def __init__(self) -> None:
        self.deferred = Deferred()

    @property
    def waiting(self) -> bool:
        return not self.deferred.done

    def deliver(self, event: rp.Event) -> None:
        self.deferred.resolve(event_response(event))


def make_handler(calls: rp.RuntimeCalls) -> Handler:
    """A Handler bound to one environment's entry points."""

    def handle(req: Request) -> Response | Deferred | Awaitable[Response]:
        said = decode(req)
        if said is None:
            if not req.path.startswith(PREFIX):
                return _error(404, "InvalidRequest", f"unknown Runtime API path {req.path}")
            return _error(
                404, "InvalidRequest", f"unknown Runtime API call {req.method} {req.path}"
            )
        if isinstance(said, rp.Next):
            pending = _PendingNext()
            calls.runtime_next(pending)
            return pending.deferred
        if isinstance(said, rp.InitError):
            return reply_response(calls.runtime_init_error(said))
        return reply_response(calls.runtime_result(said))

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
