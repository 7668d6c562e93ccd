"""Operations as typed handlers: a service is a table of them, the wire is `wire_in` and
`wire_out`'s. A handler gets the parsed parameters and returns the output as a dict (or
raises ApiError); it never sees the protocol, so one handler serves a CloudWatch call in
CBOR, JSON or query alike. An operation without a handler is refused in the protocol's
own words, never answered by another."""

from __future__ import annotations

import inspect
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.model import OperationModel, ServiceModel

from faaslab.awsapi import models, wire_in, wire_out
from faaslab.awsapi.errors import ApiError, unknown_operation
from faaslab.http.server import Request, Response


@dataclass
class Call:
    """One parsed API call, as a handler sees it."""

    service: str
    operation: str
    params: dict[str, Any]
    request: Request
    request_id: str
    notes: list[str] = field(default_factory=list)  # for the request log: what was not done


Output = dict[str, Any]
Handler = Callable[[Call], "Output | Awaitable[Output]"]


@dataclass(slots=True)
class Logged:
    """One line of the request log: what was called and how it ended."""

    service: str
    operation: str
    status: int
    ms: float
    error: str = ""  # code and message of a 4xx/5xx
    note: str = ""  # what the handler accepted but did not act on


@dataclass
class ServiceApi:
    """The operations faaslab serves of one AWS service (botocore's model `name`)."""

    name: str
    handlers: dict[str, Handler]
    log: Callable[[Logged], None] | None = None
    model: ServiceModel = field(init=False)

    def __post_init__(self) -> None:
        model = models.service_model(self.name)
        if model is None:
            raise ValueError(f"botocore has no model of {self.name}")
        missing = set(self.handlers) - set(model.operation_names)
        if missing:  # (a typo would otherwise never be called)
            raise ValueError(f"{self.name} has no operations {sorted(missing)}")
        self.model = model

    def handle(self, req: Request) -> Response | Awaitable[Response]:
        rid = str(uuid.uuid4())
        start = time.perf_counter()
        protocol = models.protocol_of(self.model, req)
        name = "?"
        try:
            protocol, op, params = wire_in.parse(self.model, req)
            name = op.name
            handler = self.handlers.get(op.name)
            if handler is None:
                raise unknown_operation(self.name, op.name, protocol, list(self.handlers))
            call = Call(self.name, op.name, params, req, rid)
            out = handler(call)
        except ApiError as e:
            return self._error(protocol, name, e, rid, start)
        if inspect.isawaitable(out):
            return self._finish_later(protocol, op, out, call, start)
        return self._result(protocol, op, out, call, start)

    async def _finish_later(
        self,
        protocol: str,
        op: OperationModel,
        pending: Awaitable[Output],
        call: Call,
        start: float,
    ) -> Response:
        try:
            out = await pending
        except ApiError as e:
            return self._error(protocol, op.name, e, call.request_id, start)
        return self._result(protocol, op, out, call, start)

    def _result(
        self, protocol: str, op: OperationModel, out: Output, call: Call, start: float
    ) -> Response:
        response = wire_out.result(self.model, protocol, op, out, call.request_id)
        self._log(op.name, response.status, start, note="; ".join(call.notes))
        return response

    def _error(self, protocol: str, name: str, e: ApiError, rid: str, start: float) -> Response:
        response = wire_out.error(self.model, protocol, e, rid)
        self._log(name, response.status, start, f"{e.code}: {e.message}")
        return response

    def _log(
        self, operation: str, status: int, start: float, error: str = "", note: str = ""
    ) -> None:
        if self.log is not None:
            ms = (time.perf_counter() - start) * 1000
            self.log(Logged(self.name, operation, status, ms, error, note))
