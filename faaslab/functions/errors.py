"""Errors of the functions component, each carrying its AWS identity.

`error_type` is what goes in `x-amzn-ErrorType`, `status` the HTTP status; the edge maps
any `LambdaError` to a response in exactly one place (`invoke_api.error_response`).
"""

from __future__ import annotations

from typing import Any, ClassVar


class LambdaError(Exception):
    error_type: ClassVar[str] = "ServiceException"
    status: ClassVar[int] = 500

    def body(self) -> dict[str, Any]:
        return {"Type": "User" if self.status < 500 else "Service", "message": str(self)}


class ServiceError(LambdaError):
    """Something in faaslab itself failed (not the function)."""


class ResourceNotFound(LambdaError):
    error_type = "ResourceNotFoundException"
    status = 404


class InvalidRequestContent(LambdaError):
    error_type = "InvalidRequestContentException"
    status = 400


class InvalidParameterValue(LambdaError):
    error_type = "InvalidParameterValueException"
    status = 400


class RequestTooLarge(LambdaError):
    """An Invoke payload over Lambda's limit. AWS answers it with an error type its service
    model does not list (botocore raises a plain ClientError with this code), not the
    model's RequestTooLargeException."""

    error_type = "RequestEntityTooLargeException"
    status = 413


class TooManyRequests(LambdaError):
    error_type = "TooManyRequestsException"
    status = 429

    def __init__(self, reason: str) -> None:
        super().__init__("Rate Exceeded.")
        self.reason = reason

    def body(self) -> dict[str, Any]:
        return {"Reason": self.reason, "Type": "User", "message": "Rate Exceeded."}
