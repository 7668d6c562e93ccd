"""Secrets Manager's errors: code and AWS's message, rendered as JSON 1.1 errors.

botocore reads a JSON-protocol error's code from `__type` and its message from `message` or
`Message`; Secrets Manager's error shapes name the member `Message`, so that is the key sent.
"""

from __future__ import annotations

import uuid

from faaslab.http.server import Response

JSON_11 = "application/x-amz-json-1.1"
NOT_FOUND = "Secrets Manager can't find the specified secret."
MARKED_FOR_DELETION = (
    "You can't perform this operation on the secret because it was marked for deletion."
)


class SecretsError(Exception):
    """A Secrets Manager error response: HTTP 400, as AWS sends every client error (500 for
    InternalServiceError)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        self.status = 500 if code == "InternalServiceError" else 400
        super().__init__(self.message)

    def response(self) -> Response:
        return Response.json(
            {"__type": self.code, "Message": self.message},
            self.status,
            {
                "Content-Type": JSON_11,
                "x-amzn-ErrorType": self.code,
                "x-amzn-RequestId": str(uuid.uuid4()),
            },
        )


def not_found() -> SecretsError:
    return SecretsError("ResourceNotFoundException", NOT_FOUND)


def invalid_parameter(message: str) -> SecretsError:
    return SecretsError("InvalidParameterException", message)


def invalid_request(message: str) -> SecretsError:
    return SecretsError("InvalidRequestException", message)
