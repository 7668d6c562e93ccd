"""faaslab's own Python runtime: the process inside an environment.

It is a Lambda Runtime API client, exactly like AWS's `awslambdaric` (which also works as
a bootstrap): import the handler (init), then loop `GET next` -> handler -> `POST
response|error`. It runs in a child forked from the zygote, so the interpreter and these
modules are already loaded; only the user's handler module is imported here.

Why a hand-rolled client: the loop is the hot path of every warm invoke, and a keep-alive
socket with httptools' response parser costs a fraction of http.client (which parses
headers with the email package). The wire format is plain HTTP/1.1 either way.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import resource
import socket
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

import httptools

from faaslab.functions import runtime_link as link
from faaslab.functions.layers import OPT, python_paths

API = "/2018-06-01/runtime"
RECV_SIZE = 65536


class RuntimeClient:
    """A keep-alive HTTP/1.1 connection to the Runtime API.

    Requests may be pipelined: `send` writes without waiting, `receive` returns the next
    response in order. After an invocation the runtime sends its result and its next
    `GET next` in one go, so the control plane wakes once for both.
    """

    def __init__(self, address: str, fd: int | None = None) -> None:
        host, _, port = address.rpartition(":")
        self._addr = (host or "127.0.0.1", int(port))
        # A connection handed over by faaslab (a Unix socketpair), else TCP to `address`.
        self._sock: socket.socket | None = socket.socket(fileno=fd) if fd is not None else None
        self._host_header = address
        self._responses: deque[tuple[int, dict[str, str], bytes]] = deque()
        self._out: list[bytes] = []  # requests written together by the next send
        self._sink = _ResponseSink(self._responses)
        self._parser = httptools.HttpResponseParser(self._sink)
        self._sink.parser = self._parser

    def _connect(self) -> socket.socket:
        s = socket.create_connection(self._addr)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = s
        return s

    def send(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        more: bool = False,
    ) -> None:
        """Write a request; with `more`, keep it until the next send (one write for both:
        the result and the next `GET` wake the control plane once)."""
        head = f"{method} {path} HTTP/1.1\r\nHost: {self._host_header}\r\n"
        if headers:
            for k, v in headers.items():
                head += f"{k}: {v}\r\n"
        head += f"Content-Length: {len(body)}\r\n\r\n"
        self._out.append(head.encode("latin-1"))
        if body:
            self._out.append(body)
        if more:
            return
        s = self._sock or self._connect()
        out, self._out = self._out, []
        if sum(map(len, out)) < 65536:
            s.sendall(b"".join(out))
        else:
            for part in out:
                s.sendall(part)

    def receive(self) -> tuple[int, dict[str, str], bytes]:
        assert self._sock is not None
        while not self._responses:
            # 64 KiB: a larger recv size makes CPython allocate (mmap) and shrink (mremap)
            # a buffer on every call, 3 syscalls per invocation for nothing.
            data = self._sock.recv(RECV_SIZE)
            if not data:
                raise ConnectionError("Runtime API closed the connection")
            self._parser.feed_data(data)
        return self._responses.popleft()

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        self.send(method, path, body, headers)
        return self.receive()


class LinkClient:
    """The same calls as RuntimeClient, over faaslab's binary runtime link (runtime_link.py)
    on the socketpair the control plane handed over: no HTTP to build or parse, and no
    202 to wait for (a result is its own acknowledgement, and implies `next`)."""

    def __init__(self, fd: int) -> None:
        self._sock = socket.socket(fileno=fd)
        self._buf = bytearray()
        self._result: bytes | None = None  # an R/E frame waiting for the `next` it implies
        self._acks = 0  # 202s the loop will ask for (answered here, never sent)

    def send(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        more: bool = False,
    ) -> None:
        h = {k.lower(): v for k, v in (headers or {}).items()}
        if method == "GET":  # invocation/next
            out, self._result = (self._result or link.frame(b"N", [])), None
            self._sock.sendall(out)
            return
        if path.endswith("/init/error"):
            # acknowledged for real: the runtime exits next, and the control plane must
            # have read why before it sees the exit
            error_type = h.get("lambda-runtime-function-error-type", "Unhandled")
            self._sock.sendall(link.frame(b"I", [error_type.encode()], body))
            return
        self._acks += 1
        request_id = path.rsplit("/", 2)[-2]
        rss = h.get("faaslab-max-rss-kb", "").encode()
        if path.endswith("/response"):
            self._result = link.frame(b"R", [request_id.encode(), rss], body)
        else:
            error_type = h.get("lambda-runtime-function-error-type", "Unhandled")
            self._result = link.frame(b"E", [request_id.encode(), rss, error_type.encode()], body)

    def close(self) -> None:
        self._sock.close()

    def receive(self) -> tuple[int, dict[str, str], bytes]:
        if self._acks:
            self._acks -= 1
            return 202, {}, b""
        buf = self._buf
        while True:
            if len(buf) >= 4:
                n = int.from_bytes(buf[:4], "big")
                if len(buf) >= 4 + n:
                    body = bytes(buf[4 : 4 + n])
                    del buf[: 4 + n]
                    if body[:1] == b"A":
                        return 202, {}, b""
                    fields, payload = link.split(body, len(link.EVENT_HEADERS))
                    headers = {
                        name: value.decode()
                        for name, value in zip(link.EVENT_HEADERS, fields, strict=True)
                        if value
                    }
                    return 200, headers, payload
            data = self._sock.recv(RECV_SIZE)
            if not data:
                raise ConnectionError("the control plane closed the runtime link")
            buf += data


Client = RuntimeClient | LinkClient


class _ResponseSink:
    """httptools callback target: each complete response is appended to `out`."""

    __slots__ = ("body", "headers", "out", "parser")

    def __init__(self, out: deque[tuple[int, dict[str, str], bytes]]) -> None:
        self.out = out
        self.parser: Any = None
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []

    def on_message_begin(self) -> None:
        self.headers = {}
        self.body = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.out.append((self.parser.get_status_code(), self.headers, b"".join(self.body)))


class LambdaContext:
    """The context object handed to a handler, with AWS's attribute names."""

    def __init__(self, request_id: str, headers: dict[str, str], env: dict[str, str]) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = headers.get("lambda-runtime-invoked-function-arn", "")
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self._deadline_ms = int(headers.get("lambda-runtime-deadline-ms", "0"))
        cc = headers.get("lambda-runtime-client-context")
        ci = headers.get("lambda-runtime-cognito-identity")
        self.client_context: Any = json.loads(cc) if cc else None
        self.identity: Any = json.loads(ci) if ci else None

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)


def _error_body(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    tb = traceback.format_list(traceback.extract_tb(exc.__traceback__))
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": [line.rstrip("\n") for line in tb],
    }


def load_handler(spec: str) -> Callable[[Any, LambdaContext], Any]:
    """Import "module.function" from /var/task, raising the Runtime.* errors AWS uses."""
    module_name, _, fn_name = spec.rpartition(".")
    if not module_name:
        raise _InitError(
            "Runtime.MalformedHandlerName",
            f"Bad handler '{spec}': not enough values to unpack (expected 2, got 1)",
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except SyntaxError as e:
        raise _InitError(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {e}"
        ) from e
    except ImportError as e:
        raise _InitError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {e}"
        ) from e
    fn = getattr(module, fn_name, None)
    if fn is None:
        raise _InitError(
            "Runtime.HandlerNotFound", f"Handler '{fn_name}' missing on module '{module_name}'"
        )
    return fn  # type: ignore[no-any-return]


class _InitError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def _initialise(client: Client, env: dict[str, str]) -> Callable[[Any, LambdaContext], Any]:
    """The init phase: import the handler, or report the init error and exit as AWS does."""
    try:
        return load_handler(env["_HANDLER"])
    except _InitError as e:
        err: dict[str, Any] = {"errorMessage": str(e), "errorType": e.error_type, "stackTrace": []}
        print(f"[ERROR] {e.error_type}: {e}", file=sys.stderr, flush=True)
    except Exception as e:  # an exception raised by the module's own top-level code
        err = _error_body(e)
        traceback.print_exc()
    _flush()
    _post_error(client, f"{API}/init/error", err)
    client.receive()
    os._exit(1)


def _post_error(client: Client, path: str, err: dict[str, Any], more: bool = False) -> None:
    """Send an error without waiting: the caller reads its 202 in order (pipelining)."""
    _flush()
    client.send(
        "POST",
        path,
        json.dumps(err).encode(),
        {"Lambda-Runtime-Function-Error-Type": err["errorType"]},
        more=more,
    )


def run(env: dict[str, str] | None = None, api_fd: int | None = None) -> None:
    """The runtime loop. Never returns normally: the environment is killed from outside."""
    env = dict(os.environ) if env is None else env
    client: Client = (
        LinkClient(api_fd) if api_fd is not None else RuntimeClient(env["AWS_LAMBDA_RUNTIME_API"])
    )
    task_root = env.get("LAMBDA_TASK_ROOT", "/var/task")
    if task_root not in sys.path:
        sys.path.insert(0, task_root)
    # then the layers' directories, as Lambda's Python runtime orders them
    runtime = env.get("AWS_EXECUTION_ENV", "").removeprefix("AWS_Lambda_")
    opt = [p for p in python_paths(runtime, env.get("FAASLAB_OPT_DIR", OPT)) if p not in sys.path]
    at = sys.path.index(task_root) + 1
    sys.path[at:at] = opt
    # Function output must reach the log in order with START/END lines: write through.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(line_buffering=True)
    handler = _initialise(client, env)
    next_path = f"{API}/invocation/next"
    dumps = json.dumps
    client.send("GET", next_path)
    while True:
        status, headers, body = client.receive()
        if status != 200:
            raise SystemExit(f"Runtime API answered {status} to next")
        request_id = headers["lambda-runtime-aws-request-id"]
        error_path = f"{API}/invocation/{request_id}/error"
        trace = headers.get("lambda-runtime-trace-id")
        if trace:
            os.environ["_X_AMZN_TRACE_ID"] = trace
        try:
            event = json.loads(body) if body else None
            result = handler(event, LambdaContext(request_id, headers, env))
            try:
                payload = dumps(result).encode()
            except (TypeError, ValueError) as e:
                _post_error(
                    client,
                    error_path,
                    {
                        "errorMessage": f"Unable to marshal response: {e}",
                        "errorType": "Runtime.MarshalError",
                        "requestId": request_id,
                        "stackTrace": [],
                    },
                    more=True,
                )
            else:
                _flush()
                # Peak RSS for the REPORT line, from the one place it is cheap to read.
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                client.send(
                    "POST",
                    f"{API}/invocation/{request_id}/response",
                    payload,
                    {"Faaslab-Max-Rss-Kb": str(rss)},
                    more=True,
                )
        except Exception as e:
            traceback.print_exc()
            _post_error(client, error_path, {**_error_body(e), "requestId": request_id}, more=True)
        client.send("GET", next_path)  # pipelined behind the result
        client.receive()  # the result's 202


def _flush() -> None:
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
        sys.stderr.flush()


if (
    __name__ == "__main__"
):  # a bootstrap that can also be exec'ed: python -m faaslab.functions.bootstrap
    run()
