"""An AWS API error as handlers raise it; `wire_out` puts it in the protocol's shape."""

from __future__ import annotations


class ApiError(Exception):
    """`code` is AWS's error code (the exception shape's name, e.g. ResourceNotFoundException
    or DBClusterNotFoundFault); `sender` False for the service's own faults (5xx)."""

    def __init__(self, code: str, message: str, status: int = 400, sender: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.sender = sender


def unknown_operation(
    service: str, operation: str, protocol: str, served: list[str] | None = None
) -> ApiError:
    """A request for an operation faaslab does not implement, in the words AWS uses for
    one the service does not have (`InvalidAction` for query services); `served` names
    what it does implement of that service."""
    code = "InvalidAction" if protocol in ("query", "ec2") else "UnknownOperationException"
    message = f"faaslab does not implement {service} {operation}"
    if served:
        message += f" (it serves {', '.join(sorted(served))})"
    return ApiError(code, message)


def malformed(message: str, protocol: str) -> ApiError:
    """A request the protocol cannot parse (bad JSON, a wrongly typed parameter)."""
    if protocol in ("query", "ec2"):
        return ApiError("MalformedQueryString", message)
    return ApiError("SerializationException", message)


def invalid(message: str, protocol: str) -> ApiError:
    """A parameter the model refuses (missing, out of range, wrong type)."""
    if protocol in ("query", "ec2"):
        return ApiError("InvalidParameterValue", message)
    return ApiError("ValidationException", message)
