"""The Secrets Manager API (wire layer): AWS JSON 1.1, `POST /` with
`X-Amz-Target: secretsmanager.<Operation>`, member names as in botocore's service model.

Checks each member's type and bounds the way the service does (boto3 checks only some of
them before sending), calls the store, and renders records and errors. The caller has
already checked the request's signature.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from faaslab.http.server import Request, Response
from faaslab.secrets.errors import JSON_11, SecretsError, invalid_parameter
from faaslab.secrets.password import PASSWORD_LENGTH_DEFAULT, PASSWORD_LENGTH_MAX, generate_password
from faaslab.secrets.store import LIST_MAX, NAME_MAX, SECRET_MAX, Secret, SecretStore

TARGET_PREFIX = "secretsmanager."
_SENSITIVE = frozenset({"SecretString", "SecretBinary"})


class SecretsApi:
    def __init__(self, store: SecretStore) -> None:
        self.store = store
        self._operations: dict[str, Callable[[_Params], dict[str, Any]]] = {
            "CreateSecret": self.create_secret,
            "GetSecretValue": self.get_secret_value,
            "DescribeSecret": self.describe_secret,
            "PutSecretValue": self.put_secret_value,
            "UpdateSecret": self.update_secret,
            "DeleteSecret": self.delete_secret,
            "RestoreSecret": self.restore_secret,
            "ListSecrets": self.list_secrets,
            "GetRandomPassword": self.get_random_password,
        }

    @staticmethod
    def claims(headers: Mapping[str, str]) -> bool:
        """Whether a request is for Secrets Manager (headers with lower-case names)."""
        return headers.get("x-amz-target", "").startswith(TARGET_PREFIX)

    def handle(self, req: Request) -> Response:
        try:
            target = req.headers.get("x-amz-target", "")
            operation = self._operations.get(target.removeprefix(TARGET_PREFIX))
            if req.method != "POST" or not target.startswith(TARGET_PREFIX) or operation is None:
                raise SecretsError(
                    "UnknownOperationException",
                    f"Secrets Manager has no operation {target!r} for {req.method} (faaslab "
                    f"serves {', '.join(sorted(self._operations))})",
                )
            try:
                body = json.loads(req.body or b"{}")
            except (ValueError, RecursionError) as e:  # (not UTF-8; nested past the parser)
                raise SecretsError("SerializationException", f"The body is not JSON: {e}") from None
            if not isinstance(body, dict):
                raise SecretsError("SerializationException", "The body must be a JSON object.")
            result = operation(_Params(body))
        except SecretsError as e:
            return e.response()
        except Exception as e:  # a faaslab bug (or a broken disk): still an AWS-shaped answer
            error = SecretsError("InternalServiceError", f"{type(e).__name__}: {e}")
            return error.response()
        return Response.json(
            result, headers={"Content-Type": JSON_11, "x-amzn-RequestId": str(uuid.uuid4())}
        )

    # -- the operations: request members -> response members

    def create_secret(self, p: _Params) -> dict[str, Any]:
        if p.get("AddReplicaRegions") or p.get("CrossAccountPrimaryARN"):
            raise invalid_parameter("faaslab does not replicate secrets to other Regions.")
        secret, version_id = self.store.create(
            p.string("Name", required=True, max_len=NAME_MAX) or "",
            p.string("SecretString", max_len=SECRET_MAX),
            p.blob("SecretBinary"),
            client_request_token=p.token(),
            description=p.string("Description", min_len=0, max_len=2048),
            kms_key_id=p.string("KmsKeyId", min_len=0, max_len=2048),
            tags=p.tags(),
        )
        return _named(secret, version_id)

    def get_secret_value(self, p: _Params) -> dict[str, Any]:
        version = self.store.get_value(
            p.secret_id(),
            p.string("VersionId", min_len=32, max_len=64),
            p.string("VersionStage", max_len=256),
        )
        out: dict[str, Any] = {
            "ARN": version.arn,
            "Name": version.name,
            "VersionId": version.version_id,
        }
        if version.secret_string is not None:
            out["SecretString"] = version.secret_string
        if version.secret_binary is not None:
            out["SecretBinary"] = base64.b64encode(version.secret_binary).decode()
        out["VersionStages"] = version.stages
        out["CreatedDate"] = version.created
        return out

    def describe_secret(self, p: _Params) -> dict[str, Any]:
        return _describe(self.store.describe(p.secret_id()), "VersionIdsToStages")

    def put_secret_value(self, p: _Params) -> dict[str, Any]:
        version = self.store.put_value(
            p.secret_id(),
            p.string("SecretString", max_len=SECRET_MAX),
            p.blob("SecretBinary"),
            client_request_token=p.token(),
            version_stages=p.string_list("VersionStages", max_items=20, max_len=256),
        )
        return {
            "ARN": version.arn,
            "Name": version.name,
            "VersionId": version.version_id,
            "VersionStages": version.stages,
        }

    def update_secret(self, p: _Params) -> dict[str, Any]:
        secret, version_id = self.store.update(
            p.secret_id(),
            description=p.string("Description", min_len=0, max_len=2048),
            kms_key_id=p.string("KmsKeyId", min_len=0, max_len=2048),
            secret_string=p.string("SecretString", max_len=SECRET_MAX),
            secret_binary=p.blob("SecretBinary"),
            client_request_token=p.token(),
        )
        return _named(secret, version_id)

    def delete_secret(self, p: _Params) -> dict[str, Any]:
        arn, name, deletion = self.store.delete(
            p.secret_id(),
            recovery_window_in_days=p.integer("RecoveryWindowInDays"),
            force_delete_without_recovery=bool(p.boolean("ForceDeleteWithoutRecovery")),
        )
        return {"ARN": arn, "Name": name, "DeletionDate": deletion}

    def restore_secret(self, p: _Params) -> dict[str, Any]:
        arn, name = self.store.restore(p.secret_id())
        return {"ARN": arn, "Name": name}

    def list_secrets(self, p: _Params) -> dict[str, Any]:
        page, token = self.store.list_secrets(
            max_results=p.integer("MaxResults", 1, LIST_MAX),
            next_token=p.string("NextToken", max_len=4096),
            filters=p.filters(),
            include_planned_deletion=bool(p.boolean("IncludePlannedDeletion")),
            sort_order=p.string("SortOrder") or "asc",
            sort_by=p.string("SortBy") or "created-date",
        )
        out: dict[str, Any] = {"SecretList": [_describe(s, "SecretVersionsToStages") for s in page]}
        if token is not None:
            out["NextToken"] = token
        return out

    def get_random_password(self, p: _Params) -> dict[str, Any]:
        length = p.integer("PasswordLength", 1, PASSWORD_LENGTH_MAX)
        try:
            password = generate_password(
                length=PASSWORD_LENGTH_DEFAULT if length is None else length,
                exclude_characters=p.string("ExcludeCharacters", min_len=0, max_len=4096) or "",
                exclude_numbers=bool(p.boolean("ExcludeNumbers")),
                exclude_punctuation=bool(p.boolean("ExcludePunctuation")),
                exclude_uppercase=bool(p.boolean("ExcludeUppercase")),
                exclude_lowercase=bool(p.boolean("ExcludeLowercase")),
                include_space=bool(p.boolean("IncludeSpace")),
                require_each_included_type=p.boolean("RequireEachIncludedType") is not False,
            )
        except ValueError as e:
            raise invalid_parameter(str(e)) from None
        return {"RandomPassword": password}


def _named(secret: Secret, version_id: str | None) -> dict[str, Any]:
    """What Create/UpdateSecret answer: the secret, and the version if one was written."""
    out: dict[str, Any] = {"ARN": secret.arn, "Name": secret.name}
    if version_id is not None:
        out["VersionId"] = version_id
    return out


def _describe(secret: Secret, versions_key: str) -> dict[str, Any]:
    """DescribeSecret's answer, or a ListSecrets entry (which names the version map
    `SecretVersionsToStages`). Members AWS omits when unset are omitted."""
    out: dict[str, Any] = {"ARN": secret.arn, "Name": secret.name}
    if secret.description is not None:
        out["Description"] = secret.description
    if secret.kms_key_id is not None:
        out["KmsKeyId"] = secret.kms_key_id
    out["LastChangedDate"] = secret.last_changed
    if secret.last_accessed is not None:
        out["LastAccessedDate"] = secret.last_accessed
    if secret.deleted_date is not None:
        out["DeletedDate"] = secret.deleted_date
    if secret.tags:
        out["Tags"] = secret.tags
    if secret.versions:
        out[versions_key] = secret.versions
    if secret.owning_service is not None:
        out["OwningService"] = secret.owning_service
    out["CreatedDate"] = secret.created
    return out


class _Params:
    """A request's members, each checked as the service model types it. A member of the
    wrong JSON type is a SerializationException; one out of bounds a ValidationException."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def get(self, key: str) -> Any:
        return self.body.get(key)

    def string(
        self, key: str, *, required: bool = False, min_len: int = 1, max_len: int | None = None
    ) -> str | None:
        value = self.body.get(key)
        if value is None:
            if required:
                raise _invalid(key, None, "Member must not be null")
            return None
        if not isinstance(value, str):
            raise _wrong_type(key, "a string")
        if len(value) < min_len:
            raise _invalid(
                key, value, f"Member must have length greater than or equal to {min_len}"
            )
        if max_len is not None and len(value) > max_len:
            raise _invalid(key, value, f"Member must have length less than or equal to {max_len}")
        return value

    def secret_id(self) -> str:
        return self.string("SecretId", required=True, max_len=2048) or ""

    def token(self) -> str | None:
        return self.string("ClientRequestToken", min_len=32, max_len=64)

    def boolean(self, key: str) -> bool | None:
        value = self.body.get(key)
        if value is not None and not isinstance(value, bool):
            raise _wrong_type(key, "a boolean")
        return value

    def integer(self, key: str, low: int | None = None, high: int | None = None) -> int | None:
        value = self.body.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong_type(key, "an integer")
        if low is not None and value < low:
            raise _invalid(key, value, f"Member must have value greater than or equal to {low}")
        if high is not None and value > high:
            raise _invalid(key, value, f"Member must have value less than or equal to {high}")
        return value

    def blob(self, key: str) -> bytes | None:
        value = self.string(key, max_len=4 * ((SECRET_MAX + 2) // 3))
        if value is None:
            return None
        try:
            data = base64.b64decode(value, validate=True)
        except binascii.Error:
            raise _wrong_type(key, "base64-encoded binary data") from None
        if not data:
            raise _invalid(key, None, "Member must have length greater than or equal to 1")
        return data

    def string_list(self, key: str, *, max_items: int, max_len: int) -> list[str] | None:
        value = self.body.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _wrong_type(key, "a list of strings")
        if not 1 <= len(value) <= max_items:
            raise _invalid(key, value, f"Member must have length between 1 and {max_items}")
        for item in value:
            if not 1 <= len(item) <= max_len:
                raise _invalid(key, value, f"Member must have length between 1 and {max_len}")
        return value

    def tags(self) -> list[dict[str, str]]:
        value = self.body.get("Tags")
        if value is None:
            return []
        if not isinstance(value, list) or not all(
            isinstance(t, dict)
            and isinstance(t.get("Key"), str)
            and isinstance(t.get("Value"), str)
            for t in value
        ):
            raise _wrong_type("Tags", "a list of {Key, Value} strings")
        return value

    def filters(self) -> list[dict[str, Any]]:
        value = self.body.get("Filters")
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(f, dict) for f in value):
            raise _wrong_type("Filters", "a list of {Key, Values}")
        if len(value) > 10:
            raise _invalid("Filters", None, "Member must have length less than or equal to 10")
        return value


def _member(key: str) -> str:
    """AWS names members in validation messages in lower camel case (secretId)."""
    return key[:1].lower() + key[1:]


def _invalid(key: str, value: Any, constraint: str) -> SecretsError:
    shown = "null" if value is None else ("***" if key in _SENSITIVE else f"'{value}'")
    return SecretsError(
        "ValidationException",
        f"1 validation error detected: Value {shown} at '{_member(key)}' failed to satisfy "
        f"constraint: {constraint}",
    )


def _wrong_type(key: str, expected: str) -> SecretsError:
    return SecretsError("SerializationException", f"{key} must be {expected}.")
