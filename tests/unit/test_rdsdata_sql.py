"""faaslab.rdsdata without an engine: `:name` rewriting, Field values and type hints, and the
conversion of driver values into Fields, ColumnMetadata and formattedRecords."""

from __future__ import annotations

import base64
import datetime
import json
import math
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from psycopg.types.numeric import Int8
from pymysql.constants import FIELD_TYPE, FLAG

from faaslab.rdsdata import fields, sql
from faaslab.rdsdata.fields import Column, ResultOptions, UnsupportedResultError, to_field
from faaslab.rdsdata.sql import BadRequestError, Engine, bind, field_value, param_value


def p(name: str, hint: str | None = None, **field: Any) -> dict[str, Any]:
    """A SqlParameter: p("id", longValue=1), p("d", "DATE", stringValue="2021-01-02")."""
    parameter: dict[str, Any] = {"name": name, "value": field}
    if hint:
        parameter["typeHint"] = hint
    return parameter


def s(name: str, value: str) -> dict[str, Any]:
    return p(name, stringValue=value)


def rewrite(text: str, engine: Engine = "mysql", **values: Any) -> tuple[str, list[Any]]:
    """bind() with long parameters named after the keywords."""
    return bind(text, [p(k, longValue=v) for k, v in values.items()], engine)


BOTH: tuple[Engine, ...] = ("mysql", "postgresql")

# --- rewriting -----------------------------------------------------------------------------


@pytest.mark.parametrize("engine", BOTH)
def test_names_become_positional_placeholders_in_order_of_appearance(engine: Engine) -> None:
    query, values = rewrite("SELECT * FROM t WHERE b = :b AND a = :a", engine, a=1, b=2)
    assert query == "SELECT * FROM t WHERE b = %s AND a = %s"
    assert [int(v) for v in values] == [2, 1]


@pytest.mark.parametrize("engine", BOTH)
def test_a_name_used_twice_is_bound_twice(engine: Engine) -> None:
    query, values = rewrite("SELECT :x + :y * :x", engine, x=3, y=4)
    assert query == "SELECT %s + %s * %s"
    assert [int(v) for v in values] == [3, 4, 3]


def test_names_are_identifiers_and_case_sensitive() -> None:
    assert rewrite("SELECT :_a1, :B2", _a1=1, B2=2)[0] == "SELECT %s, %s"
    assert rewrite("SELECT :1, a[1:2], @v := 5")[0] == "SELECT :1, a[1:2], @v := 5"
    with pytest.raises(BadRequestError, match="b2"):
        rewrite("SELECT :b2", B2=1)


@pytest.mark.parametrize("engine", BOTH)
def test_single_quoted_strings_are_left_alone(engine: Engine) -> None:
    query, values = rewrite("SELECT ':x', 'it''s :x', :x", engine, x=1)
    assert query == "SELECT ':x', 'it''s :x', %s"
    assert len(values) == 1


def test_mysql_strings_take_backslash_escapes() -> None:
    query, _ = rewrite(r"SELECT 'a\' :x', :x, 'b\\', :x", x=1)
    assert query == r"SELECT 'a\' :x', %s, 'b\\', %s"


def test_postgresql_standard_strings_do_not_but_e_strings_do() -> None:
    query, _ = rewrite(r"SELECT 'a\', :x, E'b\' :x', e'\\', :x, xe'q'", "postgresql", x=1)
    assert query == r"SELECT 'a\', %s, E'b\' :x', e'\\', %s, xe'q'"


def test_double_quotes_identifiers_on_postgresql_strings_on_mysql() -> None:
    assert rewrite('SELECT "a:x""b:x", :x', "postgresql", x=1)[0] == 'SELECT "a:x""b:x", %s'
    assert rewrite(r'SELECT "a\" :x", :x', "mysql", x=1)[0] == r'SELECT "a\" :x", %s'


def test_mysql_backtick_identifiers() -> None:
    assert rewrite("SELECT `a:x``:x` FROM `t:x` WHERE c = :x", x=1)[0] == (
        "SELECT `a:x``:x` FROM `t:x` WHERE c = %s"
    )


def test_postgresql_dollar_quoted_strings() -> None:
    text = "SELECT $$ :x ' $$, $fn$ :x $$ :x $fn$, $a$ $b$ :x $b$ $a$, :x"
    query, values = rewrite(text, "postgresql", x=1)
    assert query == "SELECT $$ :x ' $$, $fn$ :x $$ :x $fn$, $a$ $b$ :x $b$ $a$, %s"
    assert len(values) == 1


def test_dollars_that_are_not_quotes() -> None:
    # $1 is a positional parameter, a$b$ an identifier: neither opens a string
    query, _ = rewrite("SELECT $1, a$b$ + :x, :x", "postgresql", x=1)
    assert query == "SELECT $1, a$b$ + %s, %s"
    # MySQL has no dollar quoting
    assert rewrite("SELECT $$ :x $$", "mysql", x=1)[0] == "SELECT $$ %s $$"


@pytest.mark.parametrize("engine", BOTH)
def test_comments_are_left_alone(engine: Engine) -> None:
    text = "SELECT -- :x ' \n :x /* :x ' */ + :x"
    assert rewrite(text, engine, x=1)[0] == "SELECT -- :x ' \n %s /* :x ' */ + %s"


def test_postgresql_block_comments_nest_and_mysql_ones_do_not() -> None:
    text = "SELECT /* a /* :x */ :x */ :x"
    assert rewrite(text, "postgresql", x=1)[0] == "SELECT /* a /* :x */ :x */ %s"
    assert rewrite(text, "mysql", x=1)[0] == "SELECT /* a /* :x */ %s */ %s"


def test_mysql_hash_comments_and_its_dash_dash_rule() -> None:
    assert rewrite("SELECT 1 # :x\n, :x", x=1)[0] == "SELECT 1 # :x\n, %s"
    # MySQL: `--` needs a space to be a comment; `1--:x` is 1 - (-:x)
    assert rewrite("SELECT 1--:x", x=1)[0] == "SELECT 1--%s"
    assert rewrite("SELECT 1--:x", "postgresql", x=1)[0] == "SELECT 1--:x"
    assert rewrite("SELECT '#', :x # :x", x=1)[0] == "SELECT '#', %s # :x"


def test_postgresql_casts_are_not_parameters() -> None:
    query, values = bind(
        "SELECT :s::int, a::text, '{}'::jsonb, x :: date", [s("s", "5")], "postgresql"
    )
    assert query == "SELECT %s::varchar::int, a::text, '{}'::jsonb, x :: date"
    assert values == ["5"]


@pytest.mark.parametrize("engine", BOTH)
def test_percent_signs_are_doubled_everywhere_when_there_are_parameters(engine: Engine) -> None:
    text = "SELECT a % :x, 'a%' /* 5% */ -- 1%\n FROM t WHERE b LIKE '%s%'"
    query, _ = rewrite(text, engine, x=2)
    assert query == "SELECT a %% %s, 'a%%' /* 5%% */ -- 1%%\n FROM t WHERE b LIKE '%%s%%'"
    assert rewrite("SELECT $$ 50% $$, :x", "postgresql", x=1)[0] == "SELECT $$ 50%% $$, %s"


@pytest.mark.parametrize("engine", BOTH)
def test_statements_without_references_come_back_unchanged(engine: Engine) -> None:
    text = "SELECT '50%', :x_in_a_string FROM t -- :y".replace(":x_in_a_string", "':x'")
    assert bind(text, [s("unused", "v")], engine) == (text, [])
    assert bind("SELECT 1", None, engine) == ("SELECT 1", [])


def test_unterminated_literals_and_comments_swallow_the_rest() -> None:
    assert rewrite("SELECT :x, 'oops :x", x=1)[0] == "SELECT %s, 'oops :x"
    assert rewrite("SELECT :x /* :x", "postgresql", x=1)[0] == "SELECT %s /* :x"
    assert rewrite("SELECT :x, $q$ :x", "postgresql", x=1)[0] == "SELECT %s, $q$ :x"


@pytest.mark.parametrize("engine", BOTH)
def test_an_unknown_name_is_a_bad_request(engine: Engine) -> None:
    with pytest.raises(BadRequestError) as err:
        bind("SELECT * FROM t WHERE id = :id AND n = :missing", [p("id", longValue=1)], engine)
    assert err.value.code == "BadRequestException"
    assert isinstance(err.value, ValueError)
    assert "missing" in err.value.message and "id'" not in err.value.message


def test_unused_parameters_are_ignored_and_a_repeated_name_takes_the_last() -> None:
    query, values = bind("SELECT :a", [s("a", "1"), s("b", "2"), s("a", "3")], "mysql")
    assert (query, values) == ("SELECT %s", ["3"])


def test_parameters_need_names() -> None:
    with pytest.raises(BadRequestError, match="name"):
        bind("SELECT :a", [{"value": {"longValue": 1}}], "mysql")
    with pytest.raises(BadRequestError):
        bind("SELECT :a", ["a"], "mysql")  # type: ignore[list-item]


def test_bind_batch_binds_each_set_and_runs_nothing_without_sets() -> None:
    out = sql.bind_batch(
        "INSERT INTO t VALUES (:a)", [[s("a", "x")], [p("a", isNull=True)]], "postgresql"
    )
    assert out == [
        ("INSERT INTO t VALUES (%s::varchar)", ["x"]),
        ("INSERT INTO t VALUES (%s)", [None]),
    ]
    assert sql.bind_batch("INSERT INTO t VALUES (1)", [], "mysql") == []
    assert sql.bind_batch("INSERT INTO t VALUES (1)", [[]], "mysql") == [
        ("INSERT INTO t VALUES (1)", [])
    ]


# --- values --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ({"isNull": True}, None),
        ({}, None),
        (None, None),
        ({"booleanValue": False}, False),
        ({"longValue": -(2**63)}, -(2**63)),
        ({"longValue": 2**63 - 1}, 2**63 - 1),
        ({"doubleValue": 1.5}, 1.5),
        ({"doubleValue": 3}, 3.0),
        ({"stringValue": "żółw ' \" \\ \x00"}, "żółw ' \" \\ \x00"),
        ({"stringValue": ""}, ""),
        ({"blobValue": b"\x00\xff\x00"}, b"\x00\xff\x00"),
        ({"blobValue": base64.b64encode(b"\x00\xff\x00").decode()}, b"\x00\xff\x00"),
        ({"blobValue": ""}, b""),
        ({"stringValue": "x", "longValue": None}, "x"),  # JSON nulls are absent members
    ],
)
def test_field_values(field: dict[str, Any] | None, value: Any) -> None:
    out = field_value(field)
    assert out == value and type(out) is type(value)


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ({"longValue": 1, "stringValue": "1"}, "exactly one"),
        ({"longValue": 2**63}, "64 bits"),
        ({"longValue": True}, "integer"),
        ({"longValue": "1"}, "integer"),
        ({"doubleValue": "1.5"}, "number"),
        ({"booleanValue": 1}, "boolean"),
        ({"stringValue": 5}, "string"),
        ({"blobValue": "not base64!"}, "base64"),
        ({"blobValue": 5}, "bytes"),
        ({"arrayValue": {"longValues": [1, 2]}}, "Array parameters are not supported"),
        ({"structValue": {}}, "Unknown Field member"),
        ("x", "Field object"),
    ],
)
def test_bad_field_values(field: Any, message: str) -> None:
    with pytest.raises(BadRequestError, match=message):
        field_value(field)


def test_untyped_values_per_engine() -> None:
    assert param_value(s("a", "x"), "mysql") == ("%s", "x")
    assert param_value(s("a", "x"), "postgresql") == ("%s::varchar", "x")
    placeholder, value = param_value(p("a", longValue=5), "postgresql")
    assert placeholder == "%s" and isinstance(value, Int8) and value == 5
    assert param_value(p("a", booleanValue=True), "postgresql") == ("%s", True)
    assert param_value(p("a", doubleValue=0.5), "postgresql") == ("%s", 0.5)
    assert param_value(p("a", isNull=True), "postgresql") == ("%s", None)  # NULL: untyped
    assert param_value(p("a", blobValue=b"\x00"), "postgresql") == ("%s", b"\x00")
    assert param_value(p("a", longValue=5), "mysql") == ("%s", 5)


HINTS = [
    ("DATE", "2021-02-28", "date", "2021-02-28"),
    ("DATE", "2021-2-3", "date", "2021-2-3"),
    ("TIME", "23:59:59", "time", "23:59:59"),
    ("TIME", "01:02:03.456", "time", "01:02:03.456"),
    ("TIMESTAMP", "2021-02-28 01:02:03", "timestamp", "2021-02-28 01:02:03"),
    ("TIMESTAMP", "2021-02-28 01:02:03.123456", "timestamp", "2021-02-28 01:02:03.123456"),
    ("DECIMAL", "-12.50", "numeric", Decimal("-12.50")),
    ("DECIMAL", "1e3", "numeric", Decimal("1e3")),
    (
        "DECIMAL",
        "12345678901234567890.123456789",
        "numeric",
        Decimal("12345678901234567890.123456789"),
    ),
    (
        "UUID",
        "A0EEBC99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "uuid",
        "A0EEBC99-9c0b-4ef8-bb6d-6bb9bd380a11",
    ),
    ("JSON", '{"a": [1, null]}', "jsonb", '{"a": [1, null]}'),
]


@pytest.mark.parametrize(("hint", "text", "cast", "value"), HINTS)
def test_type_hints(hint: str, text: str, cast: str, value: Any) -> None:
    parameter = p("v", hint, stringValue=text)
    assert param_value(parameter, "postgresql") == (f"%s::{cast}", value)
    assert param_value(parameter, "mysql") == ("%s", value)
    out = param_value(parameter, "mysql")[1]
    assert type(out) is type(value)
    # a hinted NULL stays typed on PostgreSQL
    assert param_value(p("v", hint, isNull=True), "postgresql") == (f"%s::{cast}", None)
    assert param_value(p("v", hint, isNull=True), "mysql") == ("%s", None)


@pytest.mark.parametrize(
    ("hint", "text"),
    [
        ("DATE", "2021-02-30"),
        ("DATE", "21-02-03"),
        ("DATE", "2021-02-03 00:00:00"),
        ("DATE", "yesterday"),
        ("TIME", "24:00:00"),
        ("TIME", "1:2:3"),
        ("TIME", "01:02"),
        ("TIMESTAMP", "2021-02-28T01:02:03"),
        ("TIMESTAMP", "2021-02-28"),
        ("TIMESTAMP", "2021-13-01 00:00:00"),
        ("DECIMAL", "1.2.3"),
        ("DECIMAL", "NaN"),
        ("DECIMAL", "1_000"),
        ("DECIMAL", " 1"),
        ("DECIMAL", "0x10"),
        ("UUID", "a0eebc999c0b4ef8bb6d6bb9bd380a11"),
        ("UUID", "not-a-uuid"),
        ("UUID", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'; DROP TABLE t; --"),
    ],
)
def test_bad_hinted_values(hint: str, text: str) -> None:
    with pytest.raises(BadRequestError, match=f"Invalid {hint} value .* parameter 'v'"):
        param_value(p("v", hint, stringValue=text), "postgresql")


def test_hints_apply_to_strings_only_and_must_be_known() -> None:
    with pytest.raises(BadRequestError, match="applies to a stringValue"):
        param_value(p("v", "DECIMAL", longValue=5), "mysql")
    with pytest.raises(BadRequestError, match="Invalid typeHint 'BIGINT'"):
        param_value(p("v", "BIGINT", stringValue="5"), "mysql")


@pytest.mark.parametrize("engine", BOTH)
@pytest.mark.parametrize(
    "attack",
    [
        "x'); DROP TABLE t; --",
        "' OR '1'='1",
        '" OR ""="',
        "\\'; DELETE FROM t; #",
        "$$; DROP TABLE t; $$",
        "*/ DROP TABLE t; /*",
        ":other",
        "%s %(x)s %%",
        "\x00\n\r\x1a",
    ],
)
def test_injection_attempts_stay_data(engine: Engine, attack: str) -> None:
    query, values = bind(
        "SELECT * FROM t WHERE a = :a AND b = :other",
        [s("a", attack), s("other", "o")],
        engine,
    )
    cast = "::varchar" if engine == "postgresql" else ""
    assert query == f"SELECT * FROM t WHERE a = %s{cast} AND b = %s{cast}"
    assert values == [attack, "o"]


def test_hostile_parameter_names_never_reach_the_sql() -> None:
    query, values = bind("SELECT :a", [s("a; DROP TABLE t", "1"), s("a", "2")], "mysql")
    assert (query, values) == ("SELECT %s", ["2"])


# --- results -------------------------------------------------------------------------------


def col(kind: fields.Kind, **kw: Any) -> Column:
    return Column(label="c", name="c", type_name="T", jdbc_type=0, kind=kind, **kw)


LONG_AS_STRING = ResultOptions(long_as_string=True)
DOUBLE_OR_LONG = ResultOptions(decimal_as_number=True)


@pytest.mark.parametrize(
    ("kind", "value", "field"),
    [
        ("long", None, {"isNull": True}),
        ("null", None, {"isNull": True}),
        ("boolean", 1, {"booleanValue": True}),
        ("boolean", 0, {"booleanValue": False}),
        ("bit", b"\x00", {"booleanValue": False}),
        ("bit", b"\x00\x10", {"booleanValue": True}),
        ("bit", "1", {"booleanValue": True}),
        ("bit", "0101", {"stringValue": "0101"}),
        ("long", -(2**63), {"longValue": -(2**63)}),
        ("long", 2**64 - 1, {"stringValue": "18446744073709551615"}),
        ("double", 1.5, {"doubleValue": 1.5}),
        ("money", "-$1,234.50", {"doubleValue": -1234.5}),
        ("decimal", Decimal("12.30"), {"stringValue": "12.30"}),
        ("decimal", Decimal("1E-7"), {"stringValue": "0.0000001"}),
        ("decimal", Decimal("NaN"), {"stringValue": "NaN"}),
        ("string", "żółw", {"stringValue": "żółw"}),
        ("string", b"\x00raw", {"blobValue": b"\x00raw"}),
        ("blob", b"\x00", {"blobValue": b"\x00"}),
        ("blob", memoryview(b"ab"), {"blobValue": b"ab"}),
        ("date", datetime.date(21, 1, 2), {"stringValue": "0021-01-02"}),
        ("date", "2021-01-02 BC", {"stringValue": "2021-01-02 BC"}),
        ("time", datetime.time(1, 2, 3), {"stringValue": "01:02:03"}),
        ("time", datetime.time(1, 2, 3, 456789), {"stringValue": "01:02:03.456"}),
        ("time", datetime.timedelta(hours=-838, seconds=-1), {"stringValue": "-838:00:01"}),
        ("time", datetime.timedelta(days=1, microseconds=1500), {"stringValue": "24:00:00.001"}),
        ("time", "10:00:00.5", {"stringValue": "10:00:00.500"}),
        ("time", "10:00:00.0004", {"stringValue": "10:00:00"}),
        (
            "timetz",
            datetime.time(1, 2, 3, tzinfo=datetime.timezone(datetime.timedelta(hours=-5.5))),
            {"stringValue": "01:02:03-05:30"},
        ),
        ("timetz", "01:02:03.123456+02", {"stringValue": "01:02:03.123+02"}),
        (
            "timestamp",
            datetime.datetime(2021, 1, 2, 3, 4, 5, 999999),
            {"stringValue": "2021-01-02 03:04:05.999"},
        ),
        ("timestamp", datetime.datetime(2021, 1, 2), {"stringValue": "2021-01-02 00:00:00"}),
        ("timestamp", "0000-00-00 00:00:00", {"stringValue": "0000-00-00 00:00:00"}),
        ("timestamp", "2021-01-02 03:04:05.12", {"stringValue": "2021-01-02 03:04:05.120"}),
        (
            "timestamptz",
            datetime.datetime(2021, 1, 2, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
            {"stringValue": "2021-01-01 23:00:00"},
        ),
        ("timestamptz", "2021-01-02 01:00:00.5+02", {"stringValue": "2021-01-01 23:00:00.500"}),
        ("timestamptz", "infinity", {"stringValue": "infinity"}),
        ("json", {"a": [1, None]}, {"stringValue": '{"a": [1, null]}'}),
        ("json", '{"a":  1}', {"stringValue": '{"a":  1}'}),
        ("year", 2021, {"stringValue": "2021"}),
    ],
)
def test_values_become_fields(kind: fields.Kind, value: Any, field: dict[str, Any]) -> None:
    assert to_field(value, col(kind)) == field


def test_long_return_type_string() -> None:
    assert to_field(5, col("long"), LONG_AS_STRING) == {"stringValue": "5"}
    assert to_field(1.5, col("double"), LONG_AS_STRING) == {"doubleValue": 1.5}
    array = to_field([1, None], col("array", element_kind="long"), LONG_AS_STRING)
    assert array == {"arrayValue": {"stringValues": ["1", None]}}


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (Decimal("12"), {"longValue": 12}),
        (Decimal("-12"), {"longValue": -12}),
        (Decimal("12.00"), {"doubleValue": 12.0}),
        (Decimal("12.5"), {"doubleValue": 12.5}),
        (Decimal("1E+2"), {"longValue": 100}),
        (Decimal("99999999999999999999"), {"doubleValue": 1e20}),
    ],
)
def test_decimal_return_type_double_or_long(value: Decimal, field: dict[str, Any]) -> None:
    out = to_field(value, col("decimal"), DOUBLE_OR_LONG)
    assert out == field and type(next(iter(out.values()))) is type(next(iter(field.values())))


def test_nan_decimals_as_numbers_stay_floats() -> None:
    out = to_field(Decimal("NaN"), col("decimal"), DOUBLE_OR_LONG)
    assert math.isnan(out["doubleValue"])


def test_result_set_options_are_checked() -> None:
    assert ResultOptions.parse(None) == ResultOptions()
    assert ResultOptions.parse({"longReturnType": "STRING"}).long_as_string
    assert ResultOptions.parse({"decimalReturnType": "DOUBLE_OR_LONG"}).decimal_as_number
    with pytest.raises(BadRequestError, match="decimalReturnType"):
        ResultOptions.parse({"decimalReturnType": "DOUBLE"})
    with pytest.raises(BadRequestError, match="longReturnType"):
        ResultOptions.parse({"longReturnType": "INT"})


@pytest.mark.parametrize(
    ("element", "value", "array"),
    [
        ("boolean", [True, None, False], {"booleanValues": [True, None, False]}),
        ("long", [1, None, -(2**63)], {"longValues": [1, None, -(2**63)]}),
        ("double", [1.5, None], {"doubleValues": [1.5, None]}),
        ("decimal", [Decimal("1.50"), None], {"stringValues": ["1.50", None]}),
        ("string", ["a", None, ""], {"stringValues": ["a", None, ""]}),
        ("date", [datetime.date(2021, 1, 2)], {"stringValues": ["2021-01-02"]}),
        ("json", [{"a": 1}], {"stringValues": ['{"a": 1}']}),
        ("long", [], {"longValues": []}),
        # arrays of types psycopg has no loader for arrive as PostgreSQL's text
        (
            "string",
            '{ok,"b c","q\\"x",NULL,"NULL"}',
            {"stringValues": ["ok", "b c", 'q"x', None, "NULL"]},
        ),
        ("string", "{}", {"stringValues": []}),
        ("string", "[0:1]={a,b}", {"stringValues": ["a", "b"]}),
        ("boolean", "{t,f}", {"booleanValues": [True, False]}),
    ],
)
def test_arrays(element: fields.Kind, value: Any, array: dict[str, Any]) -> None:
    assert to_field(value, col("array", element_kind=element)) == {"arrayValue": array}


@pytest.mark.parametrize(
    ("element", "value"),
    [("long", [[1, 2], [3, 4]]), ("string", "{{a,b},{c,d}}"), ("blob", [b"\x00"])],
)
def test_unsupported_arrays(element: fields.Kind, value: Any) -> None:
    with pytest.raises(UnsupportedResultError) as err:
        to_field(value, col("array", element_kind=element))
    assert err.value.code == "UnsupportedResultException"


def test_formatted_records_are_json_objects_keyed_by_label() -> None:
    description = [
        Column("id", "id", "INT", 4, "long"),
        Column("price", "price", "DECIMAL", 3, "decimal"),
        Column("data", "data", "BLOB", -4, "blob"),
        Column("ok", "ok", "BIT", -7, "boolean"),
        Column("tags", "tags", "_text", 2003, "array", element_kind="string"),
        Column("note", "note", "VARCHAR", 12, "string"),
    ]
    rows = [
        (1, Decimal("1.50"), b"\x00\xff", 1, ["a", None], 'żółw "q"'),
        (2, None, None, 0, [], None),
    ]
    text = fields.formatted_records(description, rows, "postgresql")
    assert json.loads(text) == [
        {
            "id": 1,
            "price": "1.50",
            "data": "AP8=",
            "ok": True,
            "tags": ["a", None],
            "note": 'żółw "q"',
        },
        {"id": 2, "price": None, "data": None, "ok": False, "tags": [], "note": None},
    ]
    as_numbers = fields.formatted_records(
        description,
        rows,
        "postgresql",
        {"decimalReturnType": "DOUBLE_OR_LONG", "longReturnType": "STRING"},
    )
    assert json.loads(as_numbers)[0]["price"] == 1.5
    assert json.loads(as_numbers)[0]["id"] == "1"
    assert fields.formatted_records(description, [], "postgresql") == "[]"


def test_formatted_records_keep_a_repeated_label_twice() -> None:
    description = [Column("a", "a", "INT", 4, "long"), Column("a", "a", "INT", 4, "long")]
    assert fields.formatted_records(description, [(1, 2)], "mysql") == '[{"a":1,"a":2}]'


def test_wire_json_base64s_every_blob() -> None:
    response = {
        "records": [[{"blobValue": b"\x00\x01"}, {"longValue": 1}]],
        "generatedFields": [],
        "nested": ({"blobValue": bytearray(b"\xff")},),
    }
    assert json.loads(fields.wire_json(response)) == {
        "records": [[{"blobValue": "AAE="}, {"longValue": 1}]],
        "generatedFields": [],
        "nested": [{"blobValue": "/w=="}],
    }


def test_generated_fields() -> None:
    assert fields.generated_fields("mysql", 7) == [{"longValue": 7}]
    assert fields.generated_fields("mysql", 0) == []
    assert fields.generated_fields("postgresql", 7) == []


def my_field(name: str, type_code: int, length: int, flags: int = 0, **kw: Any) -> Any:
    """A PyMySQL FieldDescriptorPacket's attributes."""
    base = {"org_name": name, "org_table": "t", "charsetnr": 45, "scale": 0}
    return SimpleNamespace(
        name=name, type_code=type_code, length=length, flags=flags, **{**base, **kw}
    )


def test_mysql_column_definitions_map_like_connector_j() -> None:
    cursor = SimpleNamespace(
        _result=SimpleNamespace(
            fields=[
                my_field(
                    "id",
                    FIELD_TYPE.LONG,
                    11,
                    FLAG.NOT_NULL | FLAG.AUTO_INCREMENT | FLAG.PRI_KEY,
                    charsetnr=63,
                ),
                my_field("flag", FIELD_TYPE.TINY, 1, charsetnr=63),
                my_field("u", FIELD_TYPE.LONG, 10, FLAG.UNSIGNED, charsetnr=63),
                my_field("price", FIELD_TYPE.NEWDECIMAL, 12, charsetnr=63, scale=2),
                my_field("name", FIELD_TYPE.VAR_STRING, 80),
                my_field("bin", FIELD_TYPE.VAR_STRING, 80, FLAG.BINARY, charsetnr=63),
                my_field("doc", FIELD_TYPE.BLOB, 262140, FLAG.BLOB),
                my_field("img", FIELD_TYPE.BLOB, 2**32 - 1, FLAG.BLOB | FLAG.BINARY, charsetnr=63),
                my_field("kind", FIELD_TYPE.STRING, 4, FLAG.ENUM),
                my_field("alias", FIELD_TYPE.LONG, 11, org_name="id", org_table="t"),
                my_field(
                    "expr",
                    FIELD_TYPE.LONGLONG,
                    21,
                    FLAG.NOT_NULL | FLAG.BINARY,
                    org_name="",
                    org_table="",
                    charsetnr=63,
                ),
            ]
        ),
        description=None,
    )
    meta = {m["label"]: m for m in map(fields.column_metadata, fields.describe(cursor, "mysql"))}
    assert {k: (m["typeName"], m["type"]) for k, m in meta.items()} == {
        "id": ("INT", 4),
        "flag": ("BIT", -7),
        "u": ("INT UNSIGNED", -5),
        "price": ("DECIMAL", 3),
        "name": ("VARCHAR", 12),
        "bin": ("VARBINARY", -3),
        "doc": ("TEXT", -1),
        "img": ("LONGBLOB", -4),
        "kind": ("ENUM", 1),
        "alias": ("INT", 4),
        "expr": ("BIGINT", -5),
    }
    assert meta["id"]["isAutoIncrement"] and meta["id"]["nullable"] == 0 and meta["id"]["isSigned"]
    assert not meta["u"]["isSigned"]
    assert (meta["price"]["precision"], meta["price"]["scale"]) == (10, 2)
    assert meta["name"]["precision"] == 20 and not meta["name"]["isCaseSensitive"]
    assert meta["bin"]["isCaseSensitive"]
    assert (meta["alias"]["name"], meta["alias"]["label"], meta["alias"]["tableName"]) == (
        "id",
        "alias",
        "t",
    )
    assert (meta["expr"]["name"], meta["expr"]["tableName"], meta["expr"]["nullable"]) == (
        "expr",
        "",
        0,
    )
    assert meta["id"]["schemaName"] == "" and meta["id"]["arrayBaseColumnType"] == 0


def test_a_plain_mysql_description_still_converts_values() -> None:
    description = [
        ("flag", FIELD_TYPE.TINY, None, 1, 1, 0, True),
        ("n", FIELD_TYPE.TINY, None, 4, 4, 0, False),
        ("b", FIELD_TYPE.BLOB, None, 65535, 65535, 0, True),
        ("t", FIELD_TYPE.BLOB, None, 65535, 65535, 0, True),
    ]
    records, meta = fields.result_set(description, [(1, 1, b"\x00", "x")], "mysql")
    assert records == [
        [{"booleanValue": True}, {"longValue": 1}, {"blobValue": b"\x00"}, {"stringValue": "x"}]
    ]
    assert [m["nullable"] for m in meta] == [1, 0, 1, 1]


def test_a_plain_postgresql_description_uses_psycopgs_type_registry() -> None:
    description = [
        SimpleNamespace(name=n, type_code=oid)
        for n, oid in [("b", 16), ("i", 20), ("n", 1700), ("a", 1007), ("u", 2950), ("x", 99999)]
    ]
    records, meta = fields.result_set(
        description, [(True, 5, Decimal("1.5"), [1], "u", "?")], "postgresql"
    )
    assert records == [
        [
            {"booleanValue": True},
            {"longValue": 5},
            {"stringValue": "1.5"},
            {"arrayValue": {"longValues": [1]}},
            {"stringValue": "u"},
            {"stringValue": "?"},
        ]
    ]
    assert [(m["typeName"], m["type"], m["arrayBaseColumnType"]) for m in meta] == [
        ("bool", -7, 0),
        ("int8", -5, 0),
        ("numeric", 2, 0),
        ("_int4", 2003, 4),
        ("uuid", 1111, 0),
        ("unknown", 1111, 0),
    ]
    assert [m["name"] == m["label"] for m in meta] == [True] * 6
