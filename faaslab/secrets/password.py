"""Random passwords as Secrets Manager makes them: GetRandomPassword, and the template's
`GenerateSecretString` (the same generator, its password put under a key of a JSON template).

`secrets` draws every character, so passwords are fit for real use; nothing here does I/O.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Mapping
from typing import Any

# The characters ExcludePunctuation removes (AWS's list: string.punctuation, in ASCII order).
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
PASSWORD_LENGTH_DEFAULT = 32
PASSWORD_LENGTH_MAX = 4096
TOO_SHORT = "Password length is too short based on the required types."
ALL_EXCLUDED = "The password can't be generated because every character type is excluded."

_GENERATE_KEYS = frozenset(
    {
        "ExcludeCharacters",
        "ExcludeLowercase",
        "ExcludeNumbers",
        "ExcludePunctuation",
        "ExcludeUppercase",
        "GenerateStringKey",
        "IncludeSpace",
        "PasswordLength",
        "RequireEachIncludedType",
        "SecretStringTemplate",
    }
)


def generate_password(
    length: int = PASSWORD_LENGTH_DEFAULT,
    exclude_characters: str = "",
    exclude_numbers: bool = False,
    exclude_punctuation: bool = False,
    exclude_uppercase: bool = False,
    exclude_lowercase: bool = False,
    include_space: bool = False,
    require_each_included_type: bool = True,
) -> str:
    """A password of `length` characters. With `require_each_included_type`, at least one of
    each included type (lower case, upper case, digit, punctuation; a space is allowed, never
    required). Raises ValueError (AWS's InvalidParameterException message) when impossible."""
    if not 1 <= length <= PASSWORD_LENGTH_MAX:
        raise ValueError(f"PasswordLength must be between 1 and {PASSWORD_LENGTH_MAX}.")
    excluded = set(exclude_characters)
    types = [
        chars
        for chars, off in (
            (string.ascii_lowercase, exclude_lowercase),
            (string.ascii_uppercase, exclude_uppercase),
            (string.digits, exclude_numbers),
            (PUNCTUATION, exclude_punctuation),
        )
        if not off
    ]
    types = ["".join(c for c in chars if c not in excluded) for chars in types]
    types = [chars for chars in types if chars]  # a type excluded character by character
    pool = "".join(types) + (" " if include_space and " " not in excluded else "")
    if not pool:
        raise ValueError(ALL_EXCLUDED)
    chosen = [secrets.choice(chars) for chars in types] if require_each_included_type else []
    if len(chosen) > length:
        raise ValueError(TOO_SHORT)
    chosen += [secrets.choice(pool) for _ in range(length - len(chosen))]
    secrets.SystemRandom().shuffle(chosen)
    return "".join(chosen)


def secret_string_from_template_properties(props: Mapping[str, Any]) -> str | None:
    """The first SecretString of an `AWS::SecretsManager::Secret` from its resolved Properties:
    `SecretString` as given, or one made by `GenerateSecretString`; None when neither is given
    (CloudFormation then creates the secret without a value). Raises ValueError."""
    given, generate = props.get("SecretString"), props.get("GenerateSecretString")
    if given is not None and generate is not None:
        raise ValueError("give SecretString or GenerateSecretString, not both")
    if given is not None:
        if not isinstance(given, str) or not given:
            raise ValueError(f"SecretString must be a non-empty string, got {given!r}")
        return given
    if generate is None:
        return None
    if not isinstance(generate, Mapping):
        raise ValueError(f"GenerateSecretString must be a mapping, got {generate!r}")
    unknown = sorted(set(generate) - _GENERATE_KEYS)
    if unknown:
        raise ValueError(
            f"GenerateSecretString: unknown properties {', '.join(map(str, unknown))} "
            f"(known: {', '.join(sorted(_GENERATE_KEYS))})"
        )
    exclude = generate.get("ExcludeCharacters", "")
    if not isinstance(exclude, str):
        raise ValueError(f"GenerateSecretString.ExcludeCharacters must be a string: {exclude!r}")
    try:
        password = generate_password(
            length=_int(generate, "PasswordLength", PASSWORD_LENGTH_DEFAULT),
            exclude_characters=exclude,
            exclude_numbers=_bool(generate, "ExcludeNumbers", False),
            exclude_punctuation=_bool(generate, "ExcludePunctuation", False),
            exclude_uppercase=_bool(generate, "ExcludeUppercase", False),
            exclude_lowercase=_bool(generate, "ExcludeLowercase", False),
            include_space=_bool(generate, "IncludeSpace", False),
            require_each_included_type=_bool(generate, "RequireEachIncludedType", True),
        )
    except ValueError as e:
        raise ValueError(f"GenerateSecretString: {e}") from None
    template, key = generate.get("SecretStringTemplate"), generate.get("GenerateStringKey")
    if template is None and key is None:
        return password
    if template is None or key is None:
        raise ValueError(
            "GenerateSecretString: SecretStringTemplate and GenerateStringKey go together "
            "(the password is added to the template's JSON under GenerateStringKey)"
        )
    if not isinstance(key, str) or not key:
        raise ValueError(f"GenerateSecretString.GenerateStringKey must be a string: {key!r}")
    if not isinstance(template, str):
        raise ValueError(
            f"GenerateSecretString.SecretStringTemplate must be a JSON string, got {template!r}"
        )
    try:
        document = json.loads(template)
    except ValueError as e:
        raise ValueError(f"GenerateSecretString.SecretStringTemplate is not JSON: {e}") from None
    if not isinstance(document, dict):
        raise ValueError(
            f"GenerateSecretString.SecretStringTemplate must be a JSON object, got {template!r}"
        )
    document[key] = password
    return json.dumps(document, separators=(",", ":"))


def _int(props: Mapping[str, Any], key: str, default: int) -> int:
    value = props.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"GenerateSecretString.{key} must be an integer, got {value!r}")
    if isinstance(value, str) and not value.strip().isdigit():
        raise ValueError(f"GenerateSecretString.{key} must be an integer, got {value!r}")
    return int(value)


def _bool(props: Mapping[str, Any], key: str, default: bool) -> bool:
    """A boolean as templates write it: true/false, or the strings "true"/"false"."""
    value = props.get(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(f"GenerateSecretString.{key} must be true or false, got {value!r}")
