"""The Lambda Runtime API as typed values: what a runtime says, and what it hears.

A runtime says `Next` (give me work), `Result` or `Error` (for one request id) and
`InitError` (its init failed); it hears an `Event` (an invocation with its context) and,
to a result or an init error, a `Reply` (accepted, or refused in AWS's words).

Two codecs put these values on a wire: `runtime_api.py` (AWS's HTTP paths, headers,
status codes and error bodies, for `awslambdaric` and any other bootstrap) and
`runtime_link.py` (faaslab's binary frames on its own runtime's socketpair). Both call
the same entry points (`RuntimeCalls`, implemented by `environment.Environment`), so
the environment never sees a request, a header or a frame.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Next:
    """The runtime asks for its next invocation (and waits for it)."""


NEXT = Next()


@dataclass(frozen=True, slots=True)
class Result:
    """The handler's response to `request_id`."""

    request_id: str
    payload: bytes
    max_rss_kb: int | None = None  # the runtime's own peak RSS, when it says (faaslab's does)


@dataclass(frozen=True, slots=True)
class Error:
    """The handler failed: `payload` is Lambda's error document
    (`{"errorType", "errorMessage", "stackTrace"}`, see `error_body`), passed to the
    caller as the runtime wrote it; `error_type` is what the runtime declared for it."""

    request_id: str
    error_type: str
    payload: bytes
    max_rss_kb: int | None = None


@dataclass(frozen=True, slots=True)
class InitError:
    """The runtime could not initialise (e.g. `Runtime.ImportModuleError`); it exits next."""

    error_type: str
    payload: bytes


Said = Next | Result | Error | InitError


@dataclass(frozen=True, slots=True)
class Event:
    """An invocation delivered to the runtime: its payload and the context the HTTP
    Runtime API sends as `Lambda-Runtime-*` headers."""

    request_id: str
    deadline_ms: int  # epoch milliseconds
    function_arn: str
    trace_id: str
    client_context: str | None
    cognito_identity: str | None
    payload: bytes


@dataclass(frozen=True, slots=True)
class Accepted:
    """A result or an init error was taken."""


ACCEPTED = Accepted()


@dataclass(frozen=True, slots=True)
class Refused:
    """A result the environment cannot take, with AWS's error type and message."""

    error_type: str  # INVALID_REQUEST_ID or PAYLOAD_TOO_LARGE
    message: str


INVALID_REQUEST_ID = "InvalidRequestID"
PAYLOAD_TOO_LARGE = "RequestEntityTooLarge"

Reply = Accepted | Refused


def invalid_request_id(request_id: str) -> Refused:
    return Refused(INVALID_REQUEST_ID, f"Invalid request ID: {request_id!r}")


def too_large(limit: int) -> Refused:
    return Refused(PAYLOAD_TOO_LARGE, f"Exceeded maximum allowed payload size ({limit} bytes).")


class Waiter(Protocol):
    """A runtime's pending `next`: the codec's way to hand it an event, now or later
    (no task and no future on the warm path: `deliver` writes to the wire at once)."""

    @property
    def waiting(self) -> bool:
        """False once the runtime's connection is gone: the event must not be spent on it."""
        ...

    def deliver(self, event: Event) -> None: ...


class RuntimeCalls(Protocol):
    """What a runtime's calls reach, whichever codec carried them."""

    def runtime_next(self, waiter: Waiter) -> None:
        """`waiter` gets the next invocation, at once when one is already assigned."""
        ...

    def runtime_result(self, said: Result | Error) -> Reply: ...

    def runtime_init_error(self, said: InitError) -> Reply: ...


def error_body(error_type: str, message: str, stack_trace: list[str] | None = None) -> bytes:
    """Lambda's error document, as a runtime posts it and as the caller receives it."""
    doc: dict[str, object] = {"errorType": error_type, "errorMessage": message}
    if stack_trace is not None:
        doc["stackTrace"] = stack_trace
    return json.dumps(doc).encode()
