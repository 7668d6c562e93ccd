"""Result sets as the Data API returns them: `Field`s, `ColumnMetadata`, `formattedRecords`.

What this relies on:

* botocore's `rds-data` 2018-08-01 model: `records: [[Field]]`; `ColumnMetadata` members
  `name, type, typeName, label, schemaName, tableName, isAutoIncrement, isSigned,
  isCurrency, isCaseSensitive, nullable, precision, scale, arrayBaseColumnType`;
  `resultSetOptions` `decimalReturnType` STRING (default) | DOUBLE_OR_LONG ("a Long value if
  its scale is 0, or a Double value otherwise") and `longReturnType` LONG (default) |
  STRING; `UnsupportedResultException` for "an unsupported data type" and "a
  multidimensional array".
* The Aurora User Guide's data-api-json page ("Processing query results in JSON format"):
  `formattedRecords` is a JSON array with one object per row keyed by column *label*;
  INTEGER/TINYINT/SMALLINT/BIGINT are numbers (strings under longReturnType STRING),
  FLOAT/REAL/DOUBLE numbers, DECIMAL a string (a number under DOUBLE_OR_LONG), BIT/BOOLEAN
  booleans, BLOB/BINARY/VARBINARY/LONGVARBINARY base64 strings, arrays arrays, NULL null,
  every other type (date and time ones included) a string.
* The supported-types lists of the data-api-operations page, and that `type` is a JDBC
  type (`java.sql.Types`): Aurora's Data API runs on JDBC drivers, so `type`, `typeName`,
  `precision`, `scale` and the flags here are what MySQL Connector/J 8 and PgJDBC report.

Choices where AWS's behaviour is not documented (and could not be checked here):

* MySQL TINYINT(1)/BOOL/BOOLEAN is a `booleanValue` (Connector/J's tinyInt1isBit reports it
  as BIT, type -7); other TINYINTs are longs. BIT(n) is a `booleanValue` (any bit set) for
  every n, as JDBC's BIT. PostgreSQL bit(1) is a boolean, bit(n>1) its '0101' string.
* Dates are `YYYY-MM-DD`; times `HH:MM:SS[.fff]` and timestamps `YYYY-MM-DD HH:MM:SS[.fff]`,
  fractions cut to milliseconds and left out when zero (the typeHint formats). MySQL TIME
  may be negative or past 24 h (`-838:59:59`). timestamptz is turned into UTC without an
  offset; timetz keeps its offset. YEAR is a string ("2021").
* BIGINT UNSIGNED past 2^63-1 is a `stringValue` rather than a wrapped long.
* DOUBLE_OR_LONG uses the value's own scale (PostgreSQL numerics have one per value) and a
  double when a scale-0 value does not fit in a long.
* Arrays (PostgreSQL): bool, int2/4/8 and float4/8 elements keep their kind
  (`booleanValues`, `longValues`, `doubleValues`), every other element type is
  `stringValues`; bytea[] and multidimensional arrays are unsupported results.
* Non-finite doubles stay floats: `json.dumps` writes NaN/Infinity, which botocore reads.
* faaslab's aurora-mysql is MariaDB, whose JSON type is LONGTEXT (utf8mb4_bin): such a
  column reads as typeName LONGTEXT, type -1, with the same `stringValue` AWS gives.
* FLOAT/DOUBLE report MySQL's scale 31 ("not fixed"), as Connector/J passes it on.

Blobs: `records` hold Python `bytes` (botocore's view of a `blobValue`); `wire_json` writes
any response in its JSON form (base64 text). `formattedRecords` is already JSON.
"""

from __future__ import annotations

import base64
import datetime
import functools
import json
import re
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, TypedDict

from pymysql.constants import FIELD_TYPE, FLAG

from faaslab.rdsdata.sql import LONG_MAX, LONG_MIN, BadRequestError, DataApiError, Engine

# --- shapes --------------------------------------------------------------------------------


class ArrayValue(TypedDict, total=False):
    booleanValues: list[bool | None]
    longValues: list[int | None]
    doubleValues: list[float | None]
    stringValues: list[str | None]
    arrayValues: list[ArrayValue]


class Field(TypedDict, total=False):
    """One value; exactly one member is set."""

    isNull: bool
    booleanValue: bool
    longValue: int
    doubleValue: float
    stringValue: str
    blobValue: bytes
    arrayValue: ArrayValue


class ColumnMetadata(TypedDict):
    name: str
    type: int
    typeName: str
    label: str
    schemaName: str
    tableName: str
    isAutoIncrement: bool
    isSigned: bool
    isCurrency: bool
    isCaseSensitive: bool
    nullable: int
    precision: int
    scale: int
    arrayBaseColumnType: int


class UnsupportedResultError(DataApiError):
    """A value the Data API cannot return: AWS's `UnsupportedResultException` (HTTP 400)."""

    code = "UnsupportedResultException"


# How a column's values become Fields.
Kind = Literal[
    "null",
    "boolean",
    "bit",
    "long",
    "double",
    "money",
    "decimal",
    "string",
    "blob",
    "date",
    "time",
    "timetz",
    "timestamp",
    "timestamptz",
    "json",
    "year",
    "array",
]

# java.sql.Types
BIT, TINYINT, SMALLINT, INTEGER, BIGINT = -7, -6, 5, 4, -5
REAL, DOUBLE, NUMERIC, DECIMAL = 7, 8, 2, 3
CHAR, VARCHAR, LONGVARCHAR = 1, 12, -1
BINARY, VARBINARY, LONGVARBINARY = -2, -3, -4
DATE, TIME, TIMESTAMP = 91, 92, 93
NULL, OTHER, ARRAY, SQLXML, REF_CURSOR = 0, 1111, 2003, 2009, 2012

# JDBC's ResultSetMetaData.columnNoNulls / columnNullable / columnNullableUnknown
NO_NULLS, NULLABLE, NULLABLE_UNKNOWN = 0, 1, 2
UNKNOWN_LENGTH = 2**31 - 1  # PgJDBC's precision for unbounded types


@dataclass(frozen=True)
class Column:
    """One result column: its ColumnMetadata and how its values convert."""

    label: str
    name: str
    type_name: str
    jdbc_type: int
    kind: Kind
    nullable: int = NULLABLE
    precision: int = 0
    scale: int = 0
    signed: bool = False
    auto_increment: bool = False
    case_sensitive: bool = False
    currency: bool = False
    schema_name: str = ""
    table_name: str = ""
    element_kind: Kind | None = None  # arrays
    array_base_type: int = 0


@dataclass(frozen=True)
class ResultOptions:
    """`resultSetOptions`, checked."""

    decimal_as_number: bool = False  # decimalReturnType DOUBLE_OR_LONG
    long_as_string: bool = False  # longReturnType STRING

    @classmethod
    def parse(cls, options: Mapping[str, Any] | ResultOptions | None) -> ResultOptions:
        if isinstance(options, ResultOptions):
            return options
        options = options or {}
        decimal = options.get("decimalReturnType") or "STRING"
        long = options.get("longReturnType") or "LONG"
        if decimal not in ("STRING", "DOUBLE_OR_LONG"):
            raise BadRequestError(
                f"Invalid decimalReturnType {decimal!r}: expected STRING or DOUBLE_OR_LONG"
            )
        if long not in ("LONG", "STRING"):
            raise BadRequestError(f"Invalid longReturnType {long!r}: expected LONG or STRING")
        return cls(decimal == "DOUBLE_OR_LONG", long == "STRING")


# --- values --------------------------------------------------------------------------------


def to_field(value: Any, column: Column, options: ResultOptions | None = None) -> Field:
    """The Field for one value of `column`."""
    opts = options or ResultOptions()
    if value is None:
        return {"isNull": True}
    kind = column.kind
    if kind == "array":
        return {"arrayValue": _array(value, column.element_kind or "string", opts)}
    if isinstance(value, bytes | bytearray | memoryview) and kind in ("string", "json"):
        return {"blobValue": bytes(value)}  # a binary string column seen without its charset
    return _scalar(value, kind, opts)


def _scalar(value: Any, kind: Kind, opts: ResultOptions) -> Field:
    if kind == "null":
        return {"isNull": True}
    if kind == "boolean":
        return {"booleanValue": bool(value)}
    if kind == "bit":
        if isinstance(value, bytes | bytearray):
            return {"booleanValue": int.from_bytes(value, "big") != 0}
        if isinstance(value, str) and len(value) != 1:
            return {"stringValue": value}
        return {"booleanValue": value not in (0, "0", False)}
    if kind == "long":
        number = int(value)
        if opts.long_as_string or not LONG_MIN <= number <= LONG_MAX:
            return {"stringValue": str(number)}
        return {"longValue": number}
    if kind == "double":
        return {"doubleValue": float(value)}
    if kind == "money":
        return {"doubleValue": _money(value)}
    if kind == "decimal":
        return _decimal(value if isinstance(value, Decimal) else Decimal(str(value)), opts)
    if kind == "blob":
        if isinstance(value, bytes | bytearray | memoryview):
            return {"blobValue": bytes(value)}
        return {"stringValue": str(value)}
    if kind == "date":
        return {"stringValue": value.isoformat() if isinstance(value, datetime.date) else value}
    if kind in ("time", "timetz"):
        return {"stringValue": _time(value)}
    if kind in ("timestamp", "timestamptz"):
        return {"stringValue": _timestamp(value)}
    if kind == "json":
        return {"stringValue": value if isinstance(value, str) else json.dumps(value)}
    return {"stringValue": value if isinstance(value, str) else str(value)}


def _decimal(value: Decimal, opts: ResultOptions) -> Field:
    if not opts.decimal_as_number:
        return {"stringValue": format(value, "f")}
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= 0 and LONG_MIN <= value <= LONG_MAX:
        return {"longValue": int(value)}
    return {"doubleValue": float(value)}


def _money(value: Any) -> float:
    """PostgreSQL money text ('$1,234.50', '-$1.00') as JDBC's getDouble reads it."""
    if isinstance(value, int | float | Decimal):
        return float(value)
    text = str(value)
    negative = "-" in text or text.startswith("(")
    digits = re.sub(r"[^0-9.]", "", text)
    return -float(digits) if negative else float(digits)


_FRACTION = re.compile(r"(\d{2}:\d{2}:\d{2})\.(\d+)")


def _millis(text: str) -> str:
    """Cut a text time's fraction to milliseconds, dropping it when zero."""

    def cut(m: re.Match[str]) -> str:
        digits = (m.group(2) + "00")[:3]
        return m.group(1) + ("." + digits if int(digits) else "")

    return _FRACTION.sub(cut, text, count=1)


def _fraction(microsecond: int) -> str:
    ms = microsecond // 1000
    return f".{ms:03d}" if ms else ""


def _time(value: Any) -> str:
    if isinstance(value, datetime.timedelta):  # PyMySQL's TIME: signed, may pass 24 h
        total = abs(value)
        seconds = total.days * 86400 + total.seconds
        sign = "-" if value < datetime.timedelta(0) else ""
        hours, rest = divmod(seconds, 3600)
        text = f"{sign}{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
        return text + _fraction(total.microseconds)
    if isinstance(value, datetime.time):
        text = value.strftime("%H:%M:%S") + _fraction(value.microsecond)
        offset = value.utcoffset()
        return text + _offset(offset) if offset is not None else text
    return _millis(str(value))


def _offset(offset: datetime.timedelta) -> str:
    """PostgreSQL's offset spelling: +02, -05:30."""
    sign = "-" if offset < datetime.timedelta(0) else "+"
    minutes = int(abs(offset).total_seconds()) // 60
    hours, minutes = divmod(minutes, 60)
    return f"{sign}{hours:02d}" + (f":{minutes:02d}" if minutes else "")


def _timestamp(value: Any) -> str:
    if isinstance(value, str):
        try:
            parsed = datetime.datetime.fromisoformat(value)
        except ValueError:
            return _millis(value)  # 'infinity', BC dates: PostgreSQL's text, as it is
        if parsed.tzinfo is None:
            return _millis(value)
        value = parsed
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        v = value
        text = f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:{v.second:02d}"
        return text + _fraction(v.microsecond)
    if isinstance(value, datetime.date):
        return value.isoformat() + " 00:00:00"
    return str(value)


def _array(value: Any, element: Kind, opts: ResultOptions) -> ArrayValue:
    if isinstance(value, str):
        value = _pg_array_text(value)  # an array of a type psycopg has no loader for
    if not isinstance(value, list | tuple):
        raise UnsupportedResultError(f"Unsupported array value {value!r}")
    if any(isinstance(v, list | tuple) for v in value):
        raise UnsupportedResultError(_MULTIDIMENSIONAL)
    if element in ("boolean", "bit"):
        return {"booleanValues": [None if v is None else _bool(v) for v in value]}
    if element == "long" and not opts.long_as_string:
        return {"longValues": [None if v is None else int(v) for v in value]}
    if element == "double":
        return {"doubleValues": [None if v is None else float(v) for v in value]}
    if element == "blob":
        raise UnsupportedResultError("Arrays of binary values are not supported")
    strings: list[str | None] = []
    for v in value:
        if v is None:
            strings.append(None)
            continue
        field = _scalar(v, element, _ELEMENT_TEXT)
        text = field.get("stringValue")
        if text is None:
            raise UnsupportedResultError(f"Unsupported array element {v!r}")
        strings.append(text)
    return {"stringValues": strings}


_MULTIDIMENSIONAL = "The result contains a multidimensional array"
_ELEMENT_TEXT = ResultOptions(long_as_string=True)  # stringValues elements: longs as text


def _bool(value: Any) -> bool:
    return value in ("t", "true", "1") if isinstance(value, str) else bool(value)


def _pg_array_text(text: str) -> list[str | None]:
    """The elements of a one-dimensional PostgreSQL array literal: {a,"b c",NULL}."""
    if text.startswith("[") and "=" in text:
        text = text[text.index("=") + 1 :]  # bounds decoration: [0:1]={...}
    if not (text.startswith("{") and text.endswith("}")):
        raise UnsupportedResultError(f"Unsupported array value {text!r}")
    body = text[1:-1]
    if body.startswith("{"):
        raise UnsupportedResultError(_MULTIDIMENSIONAL)
    items: list[str | None] = []
    i, n = 0, len(body)
    while n and i <= n:
        if i < n and body[i] == '"':
            i += 1
            chars = []
            while i < n and body[i] != '"':
                if body[i] == "\\":
                    i += 1
                chars.append(body[i : i + 1])
                i += 1
            items.append("".join(chars))
            i += 1
        else:
            end = body.find(",", i)
            end = n if end < 0 else end
            token = body[i:end].strip()
            items.append(None if token.upper() == "NULL" else token)
            i = end
        i += 1  # the comma
    return items


def generated_fields(engine: Engine, lastrowid: int | None) -> list[Field]:
    """ExecuteStatement's `generatedFields`: MySQL's new AUTO_INCREMENT value; none on
    PostgreSQL ("not supported by Aurora PostgreSQL... use the RETURNING clause")."""
    if engine == "mysql" and lastrowid:
        return [{"longValue": lastrowid}]
    return []


# --- result sets ---------------------------------------------------------------------------


def result_set(
    description: Sequence[Any],
    rows: Sequence[Sequence[Any]],
    engine: Engine,
    options: Mapping[str, Any] | ResultOptions | None = None,
) -> tuple[list[list[Field]], list[ColumnMetadata]]:
    """`records` and `columnMetadata` for a result set.

    `description` is best `describe(cursor, engine)` (flags, charsets, table names); a plain
    `cursor.description` also works, with less metadata (and for MySQL, binary and text
    strings told apart by their values)."""
    columns = columns_of(description, engine)
    records = records_of(columns, rows, ResultOptions.parse(options))
    return records, [column_metadata(column) for column in columns]


def records_of(
    columns: Sequence[Column], rows: Sequence[Sequence[Any]], options: ResultOptions
) -> list[list[Field]]:
    """`records` for rows of `columns` (result_set without the metadata)."""
    return [
        [to_field(value, column, options) for value, column in zip(row, columns, strict=True)]
        for row in rows
    ]


def formatted_records(
    description: Sequence[Any],
    rows: Sequence[Sequence[Any]],
    engine: Engine,
    options: Mapping[str, Any] | ResultOptions | None = None,
) -> str:
    """`formattedRecords` (formatRecordsAs JSON): `[{"label": value, ...}, ...]`. A label
    used twice is written twice, in column order (a JSON reader keeps the last)."""
    records, metadata = result_set(description, rows, engine, options)
    return format_records(records, [m["label"] for m in metadata])


def format_records(records: Sequence[Sequence[Field]], labels: Sequence[str]) -> str:
    """`formattedRecords` of records already converted: the caller's `records` are reused
    rather than converted a second time."""
    keys = [json.dumps(label, ensure_ascii=False) for label in labels]
    objects = []
    for record in records:
        members = (
            f"{label}:{json.dumps(json_value(field), ensure_ascii=False)}"
            for label, field in zip(keys, record, strict=True)
        )
        objects.append("{" + ",".join(members) + "}")
    return "[" + ",".join(objects) + "]"


def json_value(field: Field) -> Any:
    """A Field as a formattedRecords value."""
    if "blobValue" in field:
        return base64.b64encode(field["blobValue"]).decode("ascii")
    if "arrayValue" in field:
        return _array_json(field["arrayValue"])
    if "booleanValue" in field:
        return field["booleanValue"]
    if "longValue" in field:
        return field["longValue"]
    if "doubleValue" in field:
        return field["doubleValue"]
    return field.get("stringValue")


def _array_json(array: ArrayValue) -> list[Any]:
    if "arrayValues" in array:
        return [_array_json(a) for a in array["arrayValues"]]
    for key in ("booleanValues", "longValues", "doubleValues", "stringValues"):
        if key in array:
            return list(array[key])
    return []


def wire_json(obj: Any) -> bytes:
    """`obj` (a whole response) as the JSON protocol carries it: every bytes value as
    base64 text, which botocore decodes back. (json's `default` hook: the C encoder meets
    bytes only where they are, instead of a walk over the whole response beforehand.)"""
    return json.dumps(obj, default=_base64_text).encode()


def _base64_text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def column_metadata(column: Column) -> ColumnMetadata:
    return {
        "name": column.name,
        "type": column.jdbc_type,
        "typeName": column.type_name,
        "label": column.label,
        "schemaName": column.schema_name,
        "tableName": column.table_name,
        "isAutoIncrement": column.auto_increment,
        "isSigned": column.signed,
        "isCurrency": column.currency,
        "isCaseSensitive": column.case_sensitive,
        "nullable": column.nullable,
        "precision": column.precision,
        "scale": column.scale,
        "arrayBaseColumnType": column.array_base_type,
    }


def columns_of(description: Sequence[Any], engine: Engine) -> list[Column]:
    """Columns from `describe()`'s list or from a DB-API `cursor.description`."""
    if all(isinstance(d, Column) for d in description):
        return list(description)
    if engine == "mysql":
        return [_mysql_column(_MyField.from_description(d)) for d in description]
    return [_pg_column(_PgField.from_description(d)) for d in description]


def describe(cursor: Any, engine: Engine, *, catalog: bool = True) -> list[Column]:
    """The columns of `cursor`'s current result, with all the driver knows.

    PyMySQL (or aiomysql, which uses its packets): the protocol's column definitions
    (flags, charset, original table and column). psycopg: the result's type OIDs and
    typmods; with `catalog`, one query on the cursor's connection for table names, NOT
    NULL, serial/identity columns and unknown types (as PgJDBC does for its metadata). Call
    it before the cursor is closed. For psycopg's AsyncCursor: `describe_async`."""
    known = _described(cursor, engine, catalog)
    if isinstance(known, list):
        return known
    fields, plan = known
    with cursor.connection.cursor() as cur:
        try:
            query = next(plan)
            while True:
                cur.execute(*query)
                query = plan.send(cur.fetchall())
        except StopIteration as done:
            return _pg_columns(cursor, fields, done.value)


async def describe_async(cursor: Any, engine: Engine, *, catalog: bool = True) -> list[Column]:
    """`describe` for a cursor of aiomysql or of psycopg's AsyncConnection."""
    known = _described(cursor, engine, catalog)
    if isinstance(known, list):
        return known
    fields, plan = known
    async with cursor.connection.cursor() as cur:
        try:
            query = next(plan)
            while True:
                await cur.execute(*query)
                query = plan.send(await cur.fetchall())
        except StopIteration as done:
            return _pg_columns(cursor, fields, done.value)


def _described(
    cursor: Any, engine: Engine, catalog: bool
) -> list[Column] | tuple[list[_PgField], CatalogPlan]:
    """The columns, when no query is needed; else the fields and the catalog queries."""
    if engine == "mysql":
        return _mysql_columns(cursor)
    if cursor.description is None:
        return []
    if not catalog:
        return _pg_plain_columns(cursor)
    fields = _pg_fields(cursor)
    return fields, _pg_catalog(cursor.connection.adapters.types, fields)


def _pg_columns(cursor: Any, fields: list[_PgField], info: _PgCatalog) -> list[Column]:
    return [_pg_column(f, info, cursor.connection.adapters.types) for f in fields]


def _mysql_columns(cursor: Any) -> list[Column]:
    result_fields = getattr(getattr(cursor, "_result", None), "fields", None)
    if not result_fields:
        return columns_of(cursor.description or (), "mysql")
    return [_mysql_column(_MyField.from_packet(f)) for f in result_fields]


# field descriptions (name, type, typmod, table, column) -> their columns, catalog aside
_PLAIN_COLUMNS: dict[tuple[tuple[bytes, int, int, int, int], ...], list[Column]] = {}


def _pg_plain_columns(cursor: Any) -> list[Column]:
    """The columns without the catalog's facts: a function of the result's field
    descriptions alone (psycopg's default types), kept per distinct description — the same
    statements come back call after call, and building them costs ~15 us each time."""
    res = cursor.pgresult
    key = tuple(
        (res.fname(i), res.ftype(i), res.fmod(i), res.ftable(i), res.ftablecol(i))
        for i in range(res.nfields)
    )
    columns = _PLAIN_COLUMNS.get(key)
    if columns is None:
        columns = _pg_columns(cursor, _pg_fields(cursor), _PgCatalog())
        if len(_PLAIN_COLUMNS) >= 4096:
            _PLAIN_COLUMNS.clear()
        _PLAIN_COLUMNS[key] = columns
    return list(columns)


def _pg_fields(cursor: Any) -> list[_PgField]:
    res = cursor.pgresult
    return [
        _PgField(
            label=d.name,
            oid=d.type_code,
            typmod=res.fmod(i) if res is not None else -1,
            table_oid=res.ftable(i) if res is not None else 0,
            attnum=res.ftablecol(i) if res is not None else 0,
        )
        for i, d in enumerate(cursor.description)
    ]


def prepare_psycopg(conn: Any) -> None:
    """Have `conn` return json, jsonb, interval and date/time values as PostgreSQL's own text.

    psycopg's Python objects lose what the Data API returns: jsonb's spelling and json's
    exactly, interval months, and dates it cannot hold ('infinity', BC, year 10000 raise
    DataError on fetch). `to_field` reads both forms. Text-format cursors (the default)."""
    from psycopg.types.string import TextLoader

    for name in _PG_TEXT_TYPES:
        conn.adapters.register_loader(name, TextLoader)


_PG_TEXT_TYPES = (
    "json",
    "jsonb",
    "interval",
    "date",
    "time",
    "timetz",
    "timestamp",
    "timestamptz",
)


# --- MySQL (PyMySQL) -----------------------------------------------------------------------


@dataclass(frozen=True)
class _MyField:
    name: str
    org_name: str
    org_table: str
    type_code: int
    flags: int
    charsetnr: int  # -1: unknown (a plain cursor.description)
    length: int
    scale: int

    @classmethod
    def from_packet(cls, f: Any) -> _MyField:
        return cls(
            name=f.name,
            org_name=f.org_name or f.name,
            org_table=f.org_table or "",
            type_code=f.type_code,
            flags=f.flags,
            charsetnr=f.charsetnr,
            length=f.length,
            scale=f.scale,
        )

    @classmethod
    def from_description(cls, d: Sequence[Any]) -> _MyField:
        name, type_code, _, internal_size, _, scale, null_ok = d[:7]
        return cls(
            name=name,
            org_name=name,
            org_table="",
            type_code=type_code,
            flags=0 if null_ok else FLAG.NOT_NULL,
            charsetnr=-1,
            length=internal_size or 0,
            scale=scale or 0,
        )


_MY_NUMBERS: dict[int, tuple[str, Kind, int, int]] = {
    # type code: (type name, kind, JDBC type, JDBC type when UNSIGNED) - Connector/J's MysqlType
    FIELD_TYPE.TINY: ("TINYINT", "long", TINYINT, SMALLINT),
    FIELD_TYPE.SHORT: ("SMALLINT", "long", SMALLINT, INTEGER),
    FIELD_TYPE.INT24: ("MEDIUMINT", "long", INTEGER, INTEGER),
    FIELD_TYPE.LONG: ("INT", "long", INTEGER, BIGINT),
    FIELD_TYPE.LONGLONG: ("BIGINT", "long", BIGINT, BIGINT),
    FIELD_TYPE.FLOAT: ("FLOAT", "double", REAL, REAL),
    FIELD_TYPE.DOUBLE: ("DOUBLE", "double", DOUBLE, DOUBLE),
    FIELD_TYPE.DECIMAL: ("DECIMAL", "decimal", DECIMAL, DECIMAL),
    FIELD_TYPE.NEWDECIMAL: ("DECIMAL", "decimal", DECIMAL, DECIMAL),
}
_MY_TEMPORAL: dict[int, tuple[str, Kind, int]] = {
    FIELD_TYPE.DATE: ("DATE", "date", DATE),
    FIELD_TYPE.NEWDATE: ("DATE", "date", DATE),
    FIELD_TYPE.TIME: ("TIME", "time", TIME),
    FIELD_TYPE.DATETIME: ("DATETIME", "timestamp", TIMESTAMP),
    FIELD_TYPE.TIMESTAMP: ("TIMESTAMP", "timestamp", TIMESTAMP),
    FIELD_TYPE.YEAR: ("YEAR", "year", DATE),
}
_MY_BLOBS = (
    FIELD_TYPE.TINY_BLOB,
    FIELD_TYPE.MEDIUM_BLOB,
    FIELD_TYPE.LONG_BLOB,
    FIELD_TYPE.BLOB,
)
_MY_BINARY_CHARSET = 63


@functools.lru_cache(maxsize=4096)  # (the same result columns come back call after call)
def _mysql_column(f: _MyField) -> Column:
    unsigned = bool(f.flags & FLAG.UNSIGNED)
    nullable = NO_NULLS if f.flags & FLAG.NOT_NULL else NULLABLE
    common: dict[str, Any] = {
        "label": f.name,
        "name": f.org_name,
        "nullable": nullable,
        "auto_increment": bool(f.flags & FLAG.AUTO_INCREMENT),
        "table_name": f.org_table,
    }
    if f.type_code in _MY_NUMBERS:
        name, kind, jdbc, jdbc_unsigned = _MY_NUMBERS[f.type_code]
        precision = f.length
        if kind == "decimal":
            precision -= (0 if unsigned else 1) + (1 if f.scale else 0)
        if f.type_code == FIELD_TYPE.TINY and f.length == 1:
            name, kind, jdbc = "BIT", "boolean", BIT  # TINYINT(1): Connector/J's tinyInt1isBit
        else:
            jdbc = jdbc_unsigned if unsigned else jdbc
            name += " UNSIGNED" if unsigned else ""
        return Column(
            type_name=name,
            jdbc_type=jdbc,
            kind=kind,
            precision=max(precision, 0),
            scale=f.scale,
            signed=not unsigned,
            **common,
        )
    if f.type_code in _MY_TEMPORAL:
        name, kind, jdbc = _MY_TEMPORAL[f.type_code]
        # Connector/J: the length is the precision; only numeric types have a scale
        return Column(type_name=name, jdbc_type=jdbc, kind=kind, precision=f.length, **common)
    if f.type_code == FIELD_TYPE.BIT:
        return Column(type_name="BIT", jdbc_type=BIT, kind="bit", precision=f.length, **common)
    if f.type_code == FIELD_TYPE.NULL:
        return Column(type_name="NULL", jdbc_type=NULL, kind="null", **common)
    if f.type_code == FIELD_TYPE.JSON:
        return Column(
            type_name="JSON", jdbc_type=LONGVARCHAR, kind="json", precision=f.length, **common
        )
    if f.type_code == FIELD_TYPE.GEOMETRY:
        return Column(
            type_name="GEOMETRY", jdbc_type=BINARY, kind="blob", precision=f.length, **common
        )
    binary = f.charsetnr == _MY_BINARY_CHARSET
    chars = f.length if binary or f.charsetnr < 0 else f.length // _mb_max_len(f.charsetnr)
    case_sensitive = binary or bool(f.flags & FLAG.BINARY)
    text: dict[str, Any] = {"case_sensitive": case_sensitive, "precision": chars, **common}
    if f.flags & (FLAG.ENUM | FLAG.SET) or f.type_code in (FIELD_TYPE.ENUM, FIELD_TYPE.SET):
        enum = f.flags & FLAG.ENUM or f.type_code == FIELD_TYPE.ENUM
        return Column(type_name="ENUM" if enum else "SET", jdbc_type=CHAR, kind="string", **text)
    if f.type_code in _MY_BLOBS:
        size = ("TINY", "", "MEDIUM", "LONG")[_blob_size(chars)]
        if binary:
            jdbc = VARBINARY if size == "TINY" else LONGVARBINARY
            return Column(type_name=size + "BLOB", jdbc_type=jdbc, kind="blob", **text)
        jdbc = VARCHAR if size == "TINY" else LONGVARCHAR
        return Column(type_name=size + "TEXT", jdbc_type=jdbc, kind="string", **text)
    if f.type_code == FIELD_TYPE.STRING:
        if binary:
            return Column(type_name="BINARY", jdbc_type=BINARY, kind="blob", **text)
        return Column(type_name="CHAR", jdbc_type=CHAR, kind="string", **text)
    if f.type_code in (FIELD_TYPE.VAR_STRING, FIELD_TYPE.VARCHAR):
        if binary:
            return Column(type_name="VARBINARY", jdbc_type=VARBINARY, kind="blob", **text)
        return Column(type_name="VARCHAR", jdbc_type=VARCHAR, kind="string", **text)
    return Column(type_name="UNKNOWN", jdbc_type=OTHER, kind="string", **text)


def _blob_size(length: int) -> int:
    """TINY, plain, MEDIUM or LONG, from a BLOB/TEXT column's length."""
    for i, limit in enumerate((255, 65535, 16777215)):
        if length <= limit:
            return i
    return 3


def _mb_max_len(charsetnr: int) -> int:
    """Bytes per character of a MySQL character set (column lengths are in bytes)."""
    from pymysql.charset import charset_by_id

    try:
        name: str = getattr(charset_by_id(charsetnr), "name", "")
    except KeyError:
        return 1
    return {"utf8mb4": 4, "utf16": 4, "utf16le": 4, "utf32": 4, "utf8": 3, "utf8mb3": 3}.get(
        name, 2 if name in ("ucs2", "big5", "gbk", "sjis", "cp932", "euckr", "gb2312") else 1
    )


# --- PostgreSQL (psycopg 3) ----------------------------------------------------------------


@dataclass(frozen=True)
class _PgField:
    label: str
    oid: int
    typmod: int = -1
    table_oid: int = 0
    attnum: int = 0

    @classmethod
    def from_description(cls, d: Any) -> _PgField:
        name, oid = (d.name, d.type_code) if hasattr(d, "type_code") else (d[0], d[1])
        return cls(label=name, oid=oid)


@dataclass(frozen=True)
class _PgType:
    name: str
    array_of: int = 0  # the element type's OID, for arrays
    enum: bool = False


@dataclass
class _PgCatalog:
    """What PgJDBC looks up for its ResultSetMetaData."""

    columns: dict[tuple[int, int], tuple[str, bool, bool]] | None = None  # table, NOT NULL, serial
    types: dict[int, _PgType] | None = None


# name: (kind, JDBC type) - PgJDBC's TypeInfoCache
_PG_TYPES: dict[str, tuple[Kind, int]] = {
    "bool": ("boolean", BIT),
    "int2": ("long", SMALLINT),
    "int4": ("long", INTEGER),
    "int8": ("long", BIGINT),
    "oid": ("long", BIGINT),
    "float4": ("double", REAL),
    "float8": ("double", DOUBLE),
    "numeric": ("decimal", NUMERIC),
    "money": ("money", DOUBLE),
    "char": ("string", CHAR),
    "bpchar": ("string", CHAR),
    "varchar": ("string", VARCHAR),
    "text": ("string", VARCHAR),
    "name": ("string", VARCHAR),
    "bytea": ("blob", BINARY),
    "date": ("date", DATE),
    "time": ("time", TIME),
    "timetz": ("timetz", TIME),
    "timestamp": ("timestamp", TIMESTAMP),
    "timestamptz": ("timestamptz", TIMESTAMP),
    "json": ("json", OTHER),
    "jsonb": ("json", OTHER),
    "bit": ("bit", BIT),
    "xml": ("string", SQLXML),
    "refcursor": ("string", REF_CURSOR),
}
_PG_SIGNED = {"int2", "int4", "int8", "float4", "float8", "numeric", "money"}
_PG_CASE_INSENSITIVE = {"oid", "int2", "int4", "int8", "float4", "float8", "numeric", "bool"}
_PG_CASE_INSENSITIVE |= {"bit", "varbit", "date", "time", "timetz", "timestamp", "timestamptz"}
_PG_CASE_INSENSITIVE |= {"interval"}
_PG_SERIAL = {"int2": "smallserial", "int4": "serial", "int8": "bigserial"}


def _pg_type(oid: int, registry: Any, catalog: _PgCatalog) -> _PgType:
    if catalog.types and oid in catalog.types:
        return catalog.types[oid]
    info = registry.get(oid) if registry is not None else None
    if info is None:
        from psycopg import adapters

        info = adapters.types.get(oid)
    if info is None:
        return _PgType("unknown")
    if info.oid != oid and info.array_oid == oid:
        return _PgType("_" + info.name, array_of=info.oid)
    return _PgType(info.name)


def _pg_column(f: _PgField, catalog: _PgCatalog | None = None, registry: Any = None) -> Column:
    catalog = catalog or _PgCatalog()
    pgtype = _pg_type(f.oid, registry, catalog)
    table, nullable, auto = "", NULLABLE, False
    if catalog.columns and (f.table_oid, f.attnum) in catalog.columns:
        table, not_null, auto = catalog.columns[(f.table_oid, f.attnum)]
        nullable = NO_NULLS if not_null else NULLABLE
    type_name = pgtype.name
    base = type_name
    if auto and base in _PG_SERIAL:
        type_name = _PG_SERIAL[base]  # PgJDBC's getColumnTypeName
    common: dict[str, Any] = {
        "label": f.label,
        "name": f.label,  # PgJDBC's getColumnName is the label
        "type_name": type_name,
        "nullable": nullable,
        "auto_increment": auto,
        "table_name": table,
        "precision": _pg_precision(base, f.typmod),
        "scale": _pg_scale(base, f.typmod),
        "signed": base in _PG_SIGNED,
        "case_sensitive": base not in _PG_CASE_INSENSITIVE,
        "currency": base == "money",
    }
    if pgtype.array_of:
        element = _pg_type(pgtype.array_of, registry, catalog)
        other = VARCHAR if element.enum else OTHER
        element_kind, element_jdbc = _PG_TYPES.get(element.name, ("string", other))
        return Column(
            jdbc_type=ARRAY,
            kind="array",
            element_kind=element_kind,
            array_base_type=element_jdbc,
            **common,
        )
    kind, jdbc = _PG_TYPES.get(base, ("string", VARCHAR if pgtype.enum else OTHER))
    return Column(jdbc_type=jdbc, kind=kind, **common)


def _pg_precision(name: str, typmod: int) -> int:
    """PgJDBC's TypeInfoCache.getPrecision."""
    fixed = {"int2": 5, "int4": 10, "oid": 10, "int8": 19, "float4": 8, "float8": 17}
    if name in fixed:
        return fixed[name]
    if name == "numeric":
        return 0 if typmod == -1 else ((typmod - 4) >> 16) & 0xFFFF
    if name in ("char", "bool"):
        return 1
    if name in ("bpchar", "varchar"):
        return UNKNOWN_LENGTH if typmod == -1 else typmod - 4
    if name == "date":
        return 13
    if name == "interval":
        return 49
    if name in ("time", "timetz", "timestamp", "timestamptz"):
        seconds = 7 if typmod == -1 else (0 if typmod == 0 else typmod + 1)
        return {"time": 8, "timetz": 14, "timestamp": 22, "timestamptz": 28}[name] + seconds
    if name in ("bit", "varbit"):
        return UNKNOWN_LENGTH if typmod == -1 else typmod
    return UNKNOWN_LENGTH


def _pg_scale(name: str, typmod: int) -> int:
    """PgJDBC's TypeInfoCache.getScale."""
    if name == "float4":
        return 8
    if name == "float8":
        return 17
    if name == "numeric":
        return 0 if typmod == -1 else (typmod - 4) & 0xFFFF
    if name in ("time", "timetz", "timestamp", "timestamptz"):
        return 6 if typmod == -1 else typmod
    if name == "interval":
        return 6 if typmod == -1 else typmod & 0xFFFF
    return 0


_PG_CATALOG_SQL = """
SELECT a.attrelid, a.attnum, c.relname, a.attnotnull,
       a.attidentity <> '' OR coalesce(pg_get_expr(d.adbin, d.adrelid), '') LIKE 'nextval(%%'
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE (a.attrelid, a.attnum) IN (SELECT * FROM unnest(%s::oid[], %s::int2[]))
"""
_PG_TYPES_SQL = """
SELECT t.oid, t.typname, t.typelem, t.typcategory = 'A', t.typtype = 'e'
FROM pg_catalog.pg_type t WHERE t.oid = ANY(%s::oid[])
"""


# A catalog lookup plan: yields (sql, params) queries, is sent each one's rows, returns
# what it learnt. Written once, driven by a blocking cursor (`describe`) or an asyncio one
# (`describe_async`).
CatalogPlan = Generator[tuple[str, tuple[Any, ...]], list[tuple[Any, ...]], "_PgCatalog"]


def _pg_catalog(registry: Any, fields: Sequence[_PgField]) -> CatalogPlan:
    """Table names, NOT NULL, serial/identity, and the types psycopg does not know."""
    columns: dict[tuple[int, int], tuple[str, bool, bool]] = {}
    types: dict[int, _PgType] = {}
    pairs = sorted({(f.table_oid, f.attnum) for f in fields if f.table_oid and f.attnum > 0})
    unknown = sorted({f.oid for f in fields if registry.get(f.oid) is None})
    if pairs:
        rows = yield _PG_CATALOG_SQL, ([p[0] for p in pairs], [p[1] for p in pairs])
        for relid, attnum, table, not_null, auto in rows:
            columns[(relid, attnum)] = (table, not_null, auto)
    if unknown:
        rows = yield _PG_TYPES_SQL, (unknown,)
        elements = [elem for _, _, elem, is_array, _ in rows if is_array]
        for oid, name, elem, is_array, enum in rows:
            types[oid] = _PgType(name, array_of=elem if is_array else 0, enum=enum)
        missing = [e for e in elements if registry.get(e) is None and e not in types]
        if missing:
            for oid, name, _, _, enum in (yield _PG_TYPES_SQL, (missing,)):
                types[oid] = _PgType(name, enum=enum)
    return _PgCatalog(columns, types)
