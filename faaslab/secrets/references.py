"""CloudFormation's dynamic references to Secrets Manager:
`{{resolve:secretsmanager:secret-id:SecretString:json-key:version-stage:version-id}}`.

The secret id is a name or an ARN. Secret names cannot hold a colon, and an ARN always has
seven colon-separated fields (`arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-abcdef`), so
the id is the first field, or the first seven when it starts with `arn:`. Every later field
is optional; an empty one takes its default:
`{{resolve:secretsmanager:Db:SecretString::AWSPREVIOUS}}` is all of Db's previous value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

# (secret_id, json_key, version_stage, version_id) -> the referenced value
Lookup = Callable[[str, str | None, str | None, str | None], str]

PREFIX = "{{resolve:secretsmanager:"
_REFERENCE = re.compile(r"\{\{resolve:secretsmanager:([^{}]*)\}\}")
_ARN_FIELDS = 7


@dataclass(frozen=True)
class DynamicReference:
    secret_id: str
    json_key: str | None = None
    version_stage: str | None = None
    version_id: str | None = None


def parse_dynamic_reference(body: str) -> DynamicReference:
    """The fields of one reference; `body` is what follows `resolve:secretsmanager:`, without
    the closing braces. Raises ValueError naming what is wrong."""
    ref = f"{PREFIX}{body}}}}}"
    fields = body.split(":")
    if fields[0] == "arn":
        if len(fields) < _ARN_FIELDS:
            raise ValueError(f"{ref}: the secret ARN is incomplete")
        arn = fields[:_ARN_FIELDS]
        if arn[2] != "secretsmanager" or arn[5] != "secret" or not arn[6]:
            raise ValueError(
                f"{ref}: {':'.join(arn)} is not a secret's ARN "
                "(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)"
            )
        secret_id, rest = ":".join(arn), fields[_ARN_FIELDS:]
    else:
        secret_id, rest = fields[0], fields[1:]
    if not secret_id:
        raise ValueError(f"{ref}: the secret id (a name or an ARN) is missing")
    if len(rest) > 4:
        raise ValueError(
            f"{ref}: too many fields; the form is {{{{resolve:secretsmanager:secret-id:"
            "SecretString:json-key:version-stage:version-id}}"
        )
    secret_type, json_key, stage, version_id = [*rest, "", "", "", ""][:4]
    if secret_type not in ("", "SecretString"):
        raise ValueError(
            f"{ref}: the field after the secret id must be SecretString, got {secret_type!r}"
        )
    if stage and version_id:
        raise ValueError(f"{ref}: give a version stage or a version id, not both")
    return DynamicReference(secret_id, json_key or None, stage or None, version_id or None)


def find_dynamic_references(text: str) -> list[DynamicReference]:
    """Every Secrets Manager reference in `text`, parsed (ValueError if one is malformed)."""
    _check_closed(text)
    return [parse_dynamic_reference(m.group(1)) for m in _REFERENCE.finditer(text)]


def resolve_dynamic_references(text: str, lookup: Lookup) -> str:
    """`text` with each Secrets Manager reference replaced by `lookup`'s value. References to
    other services (`{{resolve:ssm:...}}`) are left as they are."""
    _check_closed(text)

    def value(m: re.Match[str]) -> str:
        ref = parse_dynamic_reference(m.group(1))
        return lookup(ref.secret_id, ref.json_key, ref.version_stage, ref.version_id)

    return _REFERENCE.sub(value, text)


def json_value(secret_string: str, json_key: str | None, where: str) -> str:
    """The part of a SecretString a reference asks for: all of it, or one key of its JSON
    (a non-string value as JSON text, e.g. a port `5432`). Raises ValueError."""
    if json_key is None:
        return secret_string
    try:
        document = json.loads(secret_string)
    except ValueError:
        raise ValueError(
            f"{where}: the secret's value is not JSON, so it has no key {json_key!r}"
        ) from None
    if not isinstance(document, dict) or json_key not in document:
        raise ValueError(f"{where}: the secret's JSON has no key {json_key!r}")
    item = document[json_key]
    return item if isinstance(item, str) else json.dumps(item)


def _check_closed(text: str) -> None:
    start = text.find(PREFIX)
    while start != -1:
        m = _REFERENCE.match(text, start)
        if m is None:
            raise ValueError(
                f"malformed dynamic reference {text[start : start + 80]!r}: expected "
                "{{resolve:secretsmanager:secret-id[:SecretString[:json-key[:version-stage"
                "[:version-id]]]]}}"
            )
        start = text.find(PREFIX, m.end())
