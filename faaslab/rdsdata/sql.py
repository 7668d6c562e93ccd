"""Data API statements made executable: `:name` parameters to driver placeholders, `Field`
values (and their `typeHint`s) to Python values.

What this relies on (botocore's `rds-data` 2018-08-01 model and the Aurora User Guide's
"Calling the Data API" / "data-api-operations" pages):

* `SqlParameter` is `{name, value: Field, typeHint}`; a statement names its parameters as
  `:name`. `Field` is a union: exactly one of `isNull`, `booleanValue`, `longValue`
  (64-bit), `doubleValue`, `stringValue`, `blobValue`, `arrayValue`.
* "Array parameters are not supported" (model docs of `parameters` and `parameterSets`).
* `typeHint` applies to a *string* value: DATE `YYYY-MM-DD`, TIME `HH:MM:SS[.FFF]`,
  TIMESTAMP `YYYY-MM-DD HH:MM:SS[.FFF]`, DECIMAL, UUID, JSON - "sent as an object of
  <that> type to the database".
* Errors in the call or in the statement are `BadRequestException`.

Engines: PyMySQL and psycopg 3 both take `%s` placeholders, so when a statement has
parameter references every literal `%` is doubled, including inside strings and comments.
Both drivers only read placeholders (and undo `%%`) when given parameters, so a statement
without references comes back unchanged with no values: call
`cursor.execute(sql, values or None)`.

PostgreSQL typing follows what Aurora PostgreSQL's Data API does through JDBC: an unhinted
string is sent as `varchar`, so `INSERT INTO t (d) VALUES (:s)` into a `date` column fails
with PostgreSQL's own "column "d" is of type date but expression is of type character
varying", as on AWS, and a `typeHint` is what makes it a date. Hence `%s::varchar` for
strings, `%s::date`/`::time`/`::timestamp`/`::numeric`/`::uuid`/`::jsonb` for hinted values
(`::jsonb` rather than `::json`: PostgreSQL casts between the two on assignment, and only
jsonb has the containment operators), and `Int8` for longs (psycopg would otherwise pick
int2 for small values, and `:a + :b` would overflow at 32767). A NULL without a hint is
left untyped. MySQL (PyMySQL interpolates on the client) needs no casts: hints only
validate and pick `Decimal` for DECIMAL.

One statement per call: nothing here splits statements (BatchExecuteStatement's docs say not
to end the SQL with `;`). PyMySQL connects without CLIENT_MULTI_STATEMENTS and psycopg sends
parametrised queries with the extended protocol, so a second statement is the engine's
syntax error.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Literal

from psycopg.types.numeric import Int8

Engine = Literal["mysql", "postgresql"]

TYPE_HINTS = ("DATE", "TIME", "TIMESTAMP", "DECIMAL", "UUID", "JSON")
FIELD_MEMBERS = (
    "isNull",
    "booleanValue",
    "longValue",
    "doubleValue",
    "stringValue",
    "blobValue",
    "arrayValue",
)
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1

_PG_CASTS = {
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "timestamp",
    "DECIMAL": "numeric",
    "UUID": "uuid",
    "JSON": "jsonb",
}


class DataApiError(ValueError):
    """An error the Data API answers with; `code` is its exception shape in the model."""

    code: ClassVar[str] = "BadRequestException"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequestError(DataApiError):
    """The call or its SQL is wrong: AWS's `BadRequestException` (HTTP 400)."""

    code = "BadRequestException"


# --- the statement -------------------------------------------------------------------------

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$")
_MYSQL_SPECIAL = re.compile(r"['\"`\-#/:%]")
_PG_SPECIAL = re.compile(r"['\"$\-/:%]")


@dataclass(frozen=True)
class Statement:
    """A statement cut around its parameter references: `chunks` surround `names`
    (`len(chunks) == len(names) + 1`), with every `%` already doubled."""

    engine: Engine
    sql: str
    chunks: tuple[str, ...]
    names: tuple[str, ...]

    def bind(self, parameters: Iterable[Mapping[str, Any]] = ()) -> tuple[str, list[Any]]:
        """The driver's SQL and positional values, one per reference (a name used twice is
        bound twice). Parameters the SQL does not use are ignored. Without references the
        SQL is returned as written (no `%%`) with no values: execute it with `None`."""
        given: dict[str, Mapping[str, Any]] = {}
        for parameter in parameters:
            if not isinstance(parameter, Mapping):
                raise BadRequestError("Each parameter must be an object with a name and a value")
            name = parameter.get("name")
            if not isinstance(name, str) or not name:
                raise BadRequestError("Each parameter needs a name")
            given[name] = parameter  # a repeated name: the last one wins, as in a map
        if not self.names:
            return self.sql, []
        parts = [self.chunks[0]]
        values: list[Any] = []
        bound: dict[str, tuple[str, Any]] = {}
        for name, chunk in zip(self.names, self.chunks[1:], strict=True):
            if name not in bound:
                if name not in given:
                    raise BadRequestError(
                        f"The SQL statement uses the parameter :{name}, but no parameter "
                        f"named '{name}' was given"
                    )
                bound[name] = param_value(given[name], self.engine)
            placeholder, value = bound[name]
            parts += (placeholder, chunk)
            values.append(value)
        return "".join(parts), values


def bind(
    sql: str, parameters: Iterable[Mapping[str, Any]] | None, engine: Engine
) -> tuple[str, list[Any]]:
    """`sql` with `:name` references rewritten for `engine`'s driver, and their values.

    Raises `BadRequestError` for a reference with no parameter and for a bad value."""
    return parse(sql, engine).bind(parameters or ())


@functools.lru_cache(maxsize=512)
def parse(sql: str, engine: Engine) -> Statement:
    """Split `sql` around its `:name` references, leaving alone what only looks like one:
    inside '...' and "..." (and MySQL `...` and PostgreSQL $tag$...$tag$), in -- and /* */
    comments (and MySQL's # ones), and PostgreSQL `::type` casts."""
    if engine not in ("mysql", "postgresql"):
        raise ValueError(f"unknown engine {engine!r}")
    mysql = engine == "mysql"
    special = _MYSQL_SPECIAL if mysql else _PG_SPECIAL
    chunks: list[str] = []
    names: list[str] = []
    buf: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        m = special.search(sql, i)
        if m is None:
            buf.append(sql[i:])
            break
        j = m.start()
        buf.append(sql[i:j])
        c = sql[j]
        end = j + 1
        if c == "%":
            buf.append("%%")
            i = end
            continue
        if c == ":":
            if sql.startswith("::", j):
                end = j + 2
            elif name := _NAME.match(sql, j + 1):
                chunks.append("".join(buf))
                buf = []
                names.append(name.group())
                i = name.end()
                continue
        elif c in "'\"`":
            backslashes = (mysql and c != "`") or (c == "'" and _pg_escape_string(sql, j))
            end = _quoted_end(sql, j, c, backslashes)
        elif c == "$":
            tag = _DOLLAR_TAG.match(sql, j)
            if tag and not (j and _identifier_char(sql[j - 1])):
                close = sql.find(tag.group(), tag.end())
                end = n if close < 0 else close + len(tag.group())
        elif c == "-":
            if sql.startswith("--", j) and (not mysql or _mysql_dash_comment(sql, j)):
                end = _line_end(sql, j)
        elif c == "#":
            end = _line_end(sql, j)
        elif c == "/" and sql.startswith("/*", j):
            end = _block_comment_end(sql, j, nested=not mysql)
        buf.append(sql[j:end].replace("%", "%%"))
        i = end
    chunks.append("".join(buf))
    return Statement(engine, sql, tuple(chunks), tuple(names))


def _identifier_char(c: str) -> bool:
    return c.isalnum() or c in "_$" or ord(c) >= 0x80


def _pg_escape_string(sql: str, quote: int) -> bool:
    """An E'...' string (backslash escapes) rather than a standard one."""
    return (
        quote > 0
        and sql[quote - 1] in "eE"
        and (quote == 1 or not _identifier_char(sql[quote - 2]))
    )


def _quoted_end(sql: str, start: int, quote: str, backslashes: bool) -> int:
    """The index after the closing quote (a doubled quote is part of the text); the end of
    `sql` if there is none: the engine reports the unterminated literal."""
    i, n = start + 1, len(sql)
    while i < n:
        c = sql[i]
        if backslashes and c == "\\":
            i += 2
        elif c == quote:
            if sql.startswith(quote, i + 1):
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return n


def _mysql_dash_comment(sql: str, start: int) -> bool:
    """MySQL's `--` starts a comment only before whitespace, a control character or the
    end: `1--1` is 1 minus minus 1."""
    after = start + 2
    return after >= len(sql) or sql[after].isspace() or ord(sql[after]) < 32


def _line_end(sql: str, start: int) -> int:
    newline = sql.find("\n", start)
    return len(sql) if newline < 0 else newline + 1


def _block_comment_end(sql: str, start: int, nested: bool) -> int:
    """After the `*/` that closes the comment at `start`; PostgreSQL nests them."""
    if not nested:
        close = sql.find("*/", start + 2)
        return len(sql) if close < 0 else close + 2
    depth, i, n = 0, start, len(sql)
    while i < n:
        if sql.startswith("/*", i):
            depth += 1
            i += 2
        elif sql.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return n


# --- the values ----------------------------------------------------------------------------


def field_value(field: Mapping[str, Any] | None) -> Any:
    """The Python value of a request `Field`: None, bool, int, float, str or bytes.

    `blobValue` may be bytes (botocore's view) or the base64 text of the wire. A missing or
    empty Field, and `isNull` whatever its value, is NULL."""
    if field is None:
        return None
    if not isinstance(field, Mapping):
        raise BadRequestError(f"A parameter value must be a Field object, not {field!r}")
    members = [(k, v) for k, v in field.items() if v is not None]
    if not members:
        return None
    if len(members) > 1:
        keys = ", ".join(k for k, _ in members)
        raise BadRequestError(f"A Field holds exactly one value, but this one sets {keys}")
    key, value = members[0]
    if key == "isNull":
        if not isinstance(value, bool):
            raise BadRequestError(f"isNull must be a boolean, not {value!r}")
        return None
    if key == "booleanValue":
        if not isinstance(value, bool):
            raise BadRequestError(f"booleanValue must be a boolean, not {value!r}")
        return value
    if key == "longValue":
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadRequestError(f"longValue must be an integer, not {value!r}")
        if not LONG_MIN <= value <= LONG_MAX:
            raise BadRequestError(f"longValue {value} does not fit in 64 bits")
        return value
    if key == "doubleValue":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadRequestError(f"doubleValue must be a number, not {value!r}")
        return float(value)
    if key == "stringValue":
        if not isinstance(value, str):
            raise BadRequestError(f"stringValue must be a string, not {value!r}")
        return value
    if key == "blobValue":
        return _blob(value)
    if key == "arrayValue":
        raise BadRequestError("Array parameters are not supported.")
    raise BadRequestError(
        f"Unknown Field member {key!r}: expected one of {', '.join(FIELD_MEMBERS)}"
    )


def _blob(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequestError("blobValue is not valid base64") from None
    raise BadRequestError(f"blobValue must be bytes or base64 text, not {type(value).__name__}")


def param_value(parameter: Mapping[str, Any], engine: Engine) -> tuple[str, Any]:
    """The placeholder and driver value for one `SqlParameter`, its `typeHint` applied."""
    name = parameter.get("name", "?")
    hint = parameter.get("typeHint")
    value = field_value(parameter.get("value"))
    if hint is None:
        if engine == "postgresql":
            if isinstance(value, str):
                return "%s::varchar", value
            if isinstance(value, int) and not isinstance(value, bool):
                return "%s", Int8(value)
        return "%s", value
    if hint not in TYPE_HINTS:
        raise BadRequestError(
            f"Invalid typeHint {hint!r} for parameter '{name}': "
            f"expected one of {', '.join(TYPE_HINTS)}"
        )
    if value is not None:
        if not isinstance(value, str):
            raise BadRequestError(
                f"typeHint {hint} applies to a stringValue; parameter '{name}' has "
                f"a {type(value).__name__} value"
            )
        value = _HINT_CHECKS[hint](value, str(name))
    if engine == "postgresql":
        return f"%s::{_PG_CASTS[hint]}", value
    return "%s", value


_DATE = r"(\d{4})-(\d{1,2})-(\d{1,2})"
_TIME = r"(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
_DATE_RE = re.compile(_DATE)
_TIME_RE = re.compile(_TIME)
_TIMESTAMP_RE = re.compile(_DATE + " " + _TIME)
_DECIMAL_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def _bad_hint(hint: str, name: str, value: str, expected: str) -> BadRequestError:
    return BadRequestError(
        f"Invalid {hint} value {value!r} for parameter '{name}': expected {expected}"
    )


# hint: (its pattern, what builds it from the first numbers, how many, the form expected)
_MOMENTS: dict[str, tuple[re.Pattern[str], Callable[..., object], int, str]] = {
    "DATE": (_DATE_RE, datetime.date, 3, "YYYY-MM-DD"),
    "TIME": (_TIME_RE, datetime.time, 3, "HH:MM:SS[.FFF]"),
    "TIMESTAMP": (_TIMESTAMP_RE, datetime.datetime, 6, "YYYY-MM-DD HH:MM:SS[.FFF]"),
}


def _check_moment(hint: str) -> Callable[[str, str], str]:
    """The check of a DATE, TIME or TIMESTAMP hint: the form, and a real day and hour."""
    pattern, build, count, expected = _MOMENTS[hint]

    def check(value: str, name: str) -> str:
        m = pattern.fullmatch(value)
        try:
            if m is None:
                raise ValueError
            build(*(int(g) for g in m.groups()[:count]))
        except ValueError:
            raise _bad_hint(hint, name, value, expected) from None
        return value

    return check


def _check_decimal(value: str, name: str) -> Decimal:
    try:
        if _DECIMAL_RE.fullmatch(value) is None:
            raise InvalidOperation
        return Decimal(value)
    except InvalidOperation:
        raise _bad_hint("DECIMAL", name, value, "a decimal number such as -12.50") from None


def _check_uuid(value: str, name: str) -> str:
    if not _UUID_RE.fullmatch(value):
        raise _bad_hint("UUID", name, value, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")
    return value


def _check_json(value: str, name: str) -> str:
    return value  # the engine parses it (PostgreSQL's ::jsonb, MySQL's JSON column)


_HINT_CHECKS: dict[str, Callable[[str, str], Any]] = {
    "DATE": _check_moment("DATE"),
    "TIME": _check_moment("TIME"),
    "TIMESTAMP": _check_moment("TIMESTAMP"),
    "DECIMAL": _check_decimal,
    "UUID": _check_uuid,
    "JSON": _check_json,
}


def bind_batch(
    sql: str, parameter_sets: Sequence[Iterable[Mapping[str, Any]]] | None, engine: Engine
) -> list[tuple[str, list[Any]]]:
    """BatchExecuteStatement: one (sql, values) per parameter set, in order. The SQL may
    differ between sets on PostgreSQL (a NULL is untyped, a string is `::varchar`), so each
    is executed on its own. "The SQL statement is executed as many times as the number of
    parameter sets provided" (model docs): no sets, no executions; an empty set runs the
    statement once without parameters."""
    statement = parse(sql, engine)
    return [statement.bind(params) for params in parameter_sets or ()]
