"""faaslab.rdsdata against the real engines behind an aurora-mysql and an aurora-postgresql
cluster of one `faaslab up`: values written through `bind()` (Data API parameters) and read
back through `describe()` + `result_set()` must be the Fields that a plain driver read gives
under this file's own mapping, and the values that went in."""

from __future__ import annotations

import contextlib
import datetime
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
import pymysql
import pytest

from faaslab.rdsdata import fields
from faaslab.rdsdata.sql import Engine, bind, bind_batch
from tests.conftest import Faaslab, start_faaslab

PASSWORD = "Types-pass99"
TEMPLATE = f"""\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  MyDb:
    Type: AWS::RDS::DBCluster
    Properties:
      DBClusterIdentifier: typesmysql
      Engine: aurora-mysql
      MasterUsername: admin1
      MasterUserPassword: {PASSWORD}
      DatabaseName: TEST
      ServerlessV2ScalingConfiguration: {{MinCapacity: 1, MaxCapacity: 2}}
  PgDb:
    Type: AWS::RDS::DBCluster
    Properties:
      DBClusterIdentifier: typespostgres
      Engine: aurora-postgresql
      MasterUsername: admin1
      MasterUserPassword: {PASSWORD}
      DatabaseName: TEST
      ServerlessV2ScalingConfiguration: {{MinCapacity: 1, MaxCapacity: 2}}
"""
CLUSTERS: dict[Engine, str] = {"mysql": "typesmysql", "postgresql": "typespostgres"}

SCHEMA: dict[Engine, str] = {
    "mysql": """CREATE TABLE types (
        id INT AUTO_INCREMENT PRIMARY KEY, s TEXT, n BIGINT, d DOUBLE, b LONGBLOB,
        flag BOOLEAN, dt DATE, ts DATETIME(6), tm TIME(3), dec_ DECIMAL(30,10),
        js JSON, u CHAR(36)) CHARACTER SET utf8mb4""",
    "postgresql": """CREATE TABLE types (
        id SERIAL PRIMARY KEY, s TEXT, n BIGINT, d DOUBLE PRECISION, b BYTEA,
        flag BOOLEAN, dt DATE, ts TIMESTAMP, tm TIME, dec_ NUMERIC(30,10),
        js JSONB, u UUID)""",
}
INSERT = (
    "INSERT INTO types (s, n, d, b, flag, dt, ts, tm, dec_, js, u)"
    " VALUES (:s, :n, :d, :b, :flag, :dt, :ts, :tm, :dec, :js, :u)"
)
HINTS = {"dt": "DATE", "ts": "TIMESTAMP", "tm": "TIME", "dec": "DECIMAL", "js": "JSON", "u": "UUID"}


@dataclass
class Cluster:
    engine: Engine
    port: int

    def connect(self, data_api: bool = True) -> Any:
        """`data_api`: set up as the Data API's own connections are; otherwise a plain
        driver connection."""
        if self.engine == "mysql":
            extra: dict[str, Any] = {"charset": "utf8mb4", "binary_prefix": True}
            return pymysql.connect(
                host="127.0.0.1",
                port=self.port,
                user="admin1",
                password=PASSWORD,
                database="TEST",
                autocommit=True,
                **(extra if data_api else {}),
            )
        conn = psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user="admin1",
            password=PASSWORD,
            dbname="TEST",
            autocommit=True,
        )
        if data_api:
            fields.prepare_psycopg(conn)
        return conn


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faaslab]:
    root = tmp_path_factory.mktemp("rdsdata")
    template = root / "template.yaml"
    template.write_text(TEMPLATE)
    fl = start_faaslab(template, root / "s")
    yield fl
    assert fl.stop() == 0
    assert "Traceback" not in fl.log_path.read_text(), fl.log_path.read_text()


def cluster_of(stack: Faaslab, engine: Engine) -> Cluster:
    info = stack.get(f"/_faaslab/db/{CLUSTERS[engine]}")
    assert info["Status"] == "available"
    return Cluster(engine, info["Port"])


@pytest.fixture(scope="module", params=["mysql", "postgresql"])
def cluster(request: pytest.FixtureRequest, stack: Faaslab) -> Cluster:
    return cluster_of(stack, request.param)


@pytest.fixture(scope="module")
def mysql(stack: Faaslab) -> Cluster:
    return cluster_of(stack, "mysql")


@pytest.fixture(scope="module")
def postgresql(stack: Faaslab) -> Cluster:
    return cluster_of(stack, "postgresql")


def run(conn: Any, engine: Engine, text: str, params: list[dict[str, Any]] | None = None) -> Any:
    """ExecuteStatement, the way the Data API runs one: bind, execute, describe, convert."""
    query, values = bind(text, params, engine)
    with contextlib.closing(conn.cursor()) as cur:
        cur.execute(query, values or None)
        if cur.description is None:
            return cur.rowcount
        columns = fields.describe(cur, engine)
        return columns, list(cur.fetchall())


# --- values --------------------------------------------------------------------------------

ALPHABET = [*"abcXYZ019 '\"\\%:$`-/*#;\n\t", "é", "ż", "漢", "😀", "--", "/*", "$$", ":n"]
LONGS = [0, 1, -1, 2**63 - 1, -(2**63), 2**63 - 2, -(2**63) + 1, 2**31, -(2**31) - 1]
DOUBLES = [0.0, -1.5, 1e308, -1e-307, 3.141592653589793, 2.0**53 + 1, 1 / 3]


def random_row(rng: random.Random, engine: Engine) -> dict[str, Any]:
    """One row's values, as a Data API client would send them (strings for hinted ones)."""
    alphabet = [*ALPHABET, "\x00"] if engine == "mysql" else ALPHABET  # PostgreSQL text: no NUL
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
    day = datetime.date(1000, 1, 1) + datetime.timedelta(days=rng.randint(0, 3_250_000))
    moment = datetime.datetime.combine(day, datetime.time()) + datetime.timedelta(
        seconds=rng.randint(0, 86399),
        microseconds=rng.choice([0, 500_000, rng.randint(0, 999_999)]),
    )
    clock = datetime.time(rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))
    units, fraction = rng.randint(-(10**19), 10**19), rng.randint(0, 10**10 - 1)
    document = {
        "k": text[:10],
        "n": rng.randint(-(2**53), 2**53),
        "list": [True, None, rng.random()],
    }
    return {
        "s": text,
        "n": rng.choice(LONGS) if rng.random() < 0.5 else rng.randint(-(2**63), 2**63 - 1),
        "d": rng.choice(DOUBLES)
        if rng.random() < 0.3
        else rng.uniform(-1, 1) * 10.0 ** rng.randint(-300, 300),
        "b": bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64))) + b"\x00\x00",
        "flag": rng.random() < 0.5,
        "dt": day.isoformat(),
        "ts": moment.isoformat(sep=" "),
        "tm": f"{clock.isoformat()}.{rng.randint(0, 999):03d}",
        "dec": f"{'-' if units < 0 else ''}{abs(units)}.{fraction:010d}",
        "js": json.dumps(document, ensure_ascii=False),
        "u": str(uuid.UUID(int=rng.getrandbits(128))),
    }


KINDS = {
    "s": "stringValue",
    "n": "longValue",
    "d": "doubleValue",
    "b": "blobValue",
    "flag": "booleanValue",
}


def parameters(row: dict[str, Any] | None) -> list[dict[str, Any]]:
    """A row as SqlParameters; None: every one NULL (hinted ones with their hint)."""
    names = [*KINDS, *HINTS]
    out = []
    for name in names:
        value = {"isNull": True} if row is None else {KINDS.get(name, "stringValue"): row[name]}
        parameter = {"name": name, "value": value}
        if name in HINTS:
            parameter["typeHint"] = HINTS[name]
        out.append(parameter)
    return out


def millis(clock: str) -> str:
    """A HH:MM:SS[.ffffff] text as the Data API returns it: milliseconds, none when zero."""
    whole, _, fraction = clock.partition(".")
    digits = (fraction + "000")[:3]
    return whole + (f".{digits}" if int(digits) else "")


def expected_field(engine: Engine, column: str, plain: Any) -> dict[str, Any]:
    """The Data API Field for a plain driver's value of one column of `types` (this test's
    own reading of AWS's mapping, independent of faaslab.rdsdata.fields)."""
    if plain is None:
        return {"isNull": True}
    if column in ("id", "n"):
        return {"longValue": plain}
    if column == "d":
        return {"doubleValue": plain}
    if column == "b":
        return {"blobValue": bytes(plain)}
    if column == "flag":  # MySQL BOOLEAN is TINYINT(1): a boolean through JDBC
        return {"booleanValue": bool(plain)}
    if column in ("s", "u"):
        return {"stringValue": str(plain)}
    if column == "dt":
        return {"stringValue": plain.isoformat()}
    if column == "ts":
        return {"stringValue": millis(plain.isoformat(sep=" "))}
    if column == "tm":
        if isinstance(plain, datetime.timedelta):  # PyMySQL's TIME
            seconds = int(plain.total_seconds())
            clock = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
            return {"stringValue": millis(f"{clock}.{plain.microseconds:06d}")}
        return {"stringValue": millis(plain.isoformat())}
    if column == "dec_":
        return {"stringValue": f"{plain:f}"}
    if column == "js":
        return {"json": plain if engine == "mysql" else json.dumps(plain)}
    raise AssertionError(column)


def same_field(got: dict[str, Any], want: dict[str, Any]) -> bool:
    if "json" in want:  # compared as JSON: PostgreSQL's jsonb spells it its own way
        return bool(json.loads(got["stringValue"]) == json.loads(want["json"]))
    return got == want and all(type(got[k]) is type(want[k]) for k in want)


def test_property_values_round_trip_through_bind_and_result_set(cluster: Cluster) -> None:
    engine = cluster.engine
    rng = random.Random(20_18_08_01)
    rows = [random_row(rng, engine) for _ in range(60)]
    with contextlib.closing(cluster.connect()) as conn:
        run(conn, engine, "DROP TABLE IF EXISTS types")
        run(conn, engine, SCHEMA[engine])
        for row in rows[:30]:  # ExecuteStatement
            assert run(conn, engine, INSERT, parameters(row)) == 1
        for query, values in bind_batch(INSERT, [parameters(r) for r in rows[30:]], engine):
            with contextlib.closing(conn.cursor()) as cur:  # BatchExecuteStatement
                cur.execute(query, values)
        assert run(conn, engine, INSERT, parameters(None)) == 1
        columns, got_rows = run(conn, engine, "SELECT * FROM types ORDER BY id")
        records, metadata = fields.result_set(columns, got_rows, engine)
    with (
        contextlib.closing(cluster.connect(data_api=False)) as plain_conn,
        contextlib.closing(plain_conn.cursor()) as cur,
    ):
        cur.execute("SELECT * FROM types ORDER BY id")
        names = [d[0] for d in cur.description]
        plain_rows = list(cur.fetchall())
    assert [m["label"] for m in metadata] == names
    assert len(records) == len(plain_rows) == len(rows) + 1
    for record, plain_row in zip(records, plain_rows, strict=True):
        for name, field, plain in zip(names, record, plain_row, strict=True):
            want = expected_field(engine, name, plain)
            assert same_field(dict(field), want), (name, field, want)
    # and the values that went in came out
    for row, record in zip(rows, records[:-1], strict=True):
        got: dict[str, Any] = {
            name: next(iter(field.values())) for name, field in zip(names, record, strict=True)
        }
        assert got["s"] == row["s"] and got["n"] == row["n"] and got["b"] == row["b"]
        assert got["flag"] is row["flag"]
        assert got["d"] == pytest.approx(row["d"], rel=1e-15)
        assert got["dt"] == row["dt"]
        assert got["ts"] == millis(row["ts"])
        assert got["tm"] == millis(row["tm"])
        assert Decimal(got["dec_"]) == Decimal(row["dec"])
        assert json.loads(got["js"]) == json.loads(row["js"])
        assert got["u"] == row["u"]
    assert all(field == {"isNull": True} for field in records[-1][1:])


def test_column_metadata_is_what_jdbc_reports(cluster: Cluster) -> None:
    engine = cluster.engine
    with contextlib.closing(cluster.connect()) as conn:
        run(conn, engine, "DROP TABLE IF EXISTS meta")
        run(
            conn,
            engine,
            "CREATE TABLE meta (id SERIAL PRIMARY KEY, name VARCHAR(20) NOT NULL, "
            "price DECIMAL(10,2), flag BOOLEAN, at TIMESTAMP NULL)"
            if engine == "postgresql"
            else "CREATE TABLE meta (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20) "
            "NOT NULL, price DECIMAL(10,2), flag BOOLEAN, at DATETIME NULL)",
        )
        columns, rows = run(conn, engine, "SELECT m.*, m.name AS alias, 1 AS one FROM meta AS m")
    meta = {m["label"]: m for m in fields.result_set(columns, rows, engine)[1]}
    assert rows == []
    typed = {label: (m["typeName"], m["type"]) for label, m in meta.items()}
    if engine == "mysql":
        assert typed == {
            "id": ("INT", 4),
            "name": ("VARCHAR", 12),
            "price": ("DECIMAL", 3),
            "flag": ("BIT", -7),
            "at": ("DATETIME", 93),
            "alias": ("VARCHAR", 12),
            "one": ("INT", 4),
        }
        assert meta["alias"]["name"] == "name"  # Connector/J: the column, not the alias
    else:
        assert typed == {
            "id": ("serial", 4),
            "name": ("varchar", 12),
            "price": ("numeric", 2),
            "flag": ("bool", -7),
            "at": ("timestamp", 93),
            "alias": ("varchar", 12),
            "one": ("int4", 4),
        }
        assert meta["alias"]["name"] == "alias"  # PgJDBC: getColumnName is the label
    assert meta["id"]["isAutoIncrement"] and not meta["name"]["isAutoIncrement"]
    assert (meta["id"]["nullable"], meta["name"]["nullable"], meta["price"]["nullable"]) == (
        0,
        0,
        1,
    )
    assert (meta["price"]["precision"], meta["price"]["scale"]) == (10, 2)
    assert meta["name"]["precision"] == 20
    assert meta["id"]["tableName"] == meta["alias"]["tableName"] == "meta"
    assert meta["one"]["tableName"] == "" and meta["id"]["schemaName"] == ""
    assert meta["price"]["isSigned"] and not meta["name"]["isSigned"]


def test_parameter_lookalikes_reach_the_engine_untouched(cluster: Cluster) -> None:
    engine = cluster.engine
    if engine == "mysql":
        text = (
            "SELECT ':a' AS s1, \":a\" AS s2, 'it''s :a' AS s3, 'b\\\\' AS s4, `:a` AS s5,"
            " :a AS v /* :a */, 10 % 3 AS m, '50%' AS p, :a + 1 AS w -- :a\n"
            "FROM (SELECT 'q' AS `:a`) AS `x:a` # :a"
        )
        want: tuple[Any, ...] = (":a", ":a", "it's :a", "b\\", "q", 7, 1, "50%", 8)
    else:
        text = (
            "SELECT ':a' AS s1, $$:a$$ AS s2, 'it''s :a' AS s3, E'b\\\\' AS s4,"
            ' "x:a".":a" AS s5, :a AS v /* /* :a */ :a */, 10 % 3 AS m, '
            "'50%' AS p, :a::int + 1 AS w -- :a\n"
            'FROM (SELECT $t$q$t$ AS ":a") AS "x:a"'
        )
        want = (":a", ":a", "it's :a", "b\\", "q", 7, 1, "50%", 8)
    with contextlib.closing(cluster.connect()) as conn:
        _, rows = run(conn, engine, text, [{"name": "a", "value": {"longValue": 7}}])
        assert rows == [want]
        # without parameters, % is left as written
        _, rows = run(conn, engine, "SELECT '50%' AS p, ':a' AS q")
        assert rows == [("50%", ":a")]


def test_injection_through_values_stays_data(cluster: Cluster) -> None:
    engine = cluster.engine
    attacks = [
        "x'); DROP TABLE victims; --",
        "' OR '1'='1",
        "\\'; DROP TABLE victims; #",
        "$$; DROP TABLE victims; $$",
        "*/ DROP TABLE victims; /*",
        ":other %s %%",
    ]
    with contextlib.closing(cluster.connect()) as conn:
        run(conn, engine, "DROP TABLE IF EXISTS victims")
        run(conn, engine, "CREATE TABLE victims (v TEXT)")
        for attack in attacks:
            run(
                conn,
                engine,
                "INSERT INTO victims (v) VALUES (:v)",
                [{"name": "v", "value": {"stringValue": attack}}],
            )
        _, rows = run(
            conn,
            engine,
            "SELECT v FROM victims WHERE v <> :none",
            [{"name": "none", "value": {"stringValue": "' OR 1=1 --"}}],
        )
        assert sorted(r[0] for r in rows) == sorted(attacks)
        _, rows = run(
            conn,
            engine,
            "SELECT count(*) FROM victims WHERE v = :v",
            [{"name": "v", "value": {"stringValue": "' OR '1'='1"}}],
        )
        assert rows == [(1,)]


def test_postgresql_wants_type_hints_as_aws_does(cluster: Cluster) -> None:
    """Aurora PostgreSQL's Data API sends strings as varchar: a date column refuses one
    without a DATE hint. MySQL converts the string itself."""
    engine = cluster.engine
    with contextlib.closing(cluster.connect()) as conn:
        run(conn, engine, "DROP TABLE IF EXISTS hinted")
        run(conn, engine, "CREATE TABLE hinted (d DATE)")
        untyped = [{"name": "d", "value": {"stringValue": "2021-03-04"}}]
        if engine == "postgresql":
            with pytest.raises(psycopg.errors.DatatypeMismatch, match="character varying"):
                run(conn, engine, "INSERT INTO hinted (d) VALUES (:d)", untyped)
        else:
            assert run(conn, engine, "INSERT INTO hinted (d) VALUES (:d)", untyped) == 1
        hinted = [{**untyped[0], "typeHint": "DATE"}]
        assert run(conn, engine, "INSERT INTO hinted (d) VALUES (:d)", hinted) == 1
        columns, rows = run(conn, engine, "SELECT d FROM hinted WHERE d = :d", hinted)
    assert fields.result_set(columns, rows, engine)[0][-1] == [{"stringValue": "2021-03-04"}]


def test_formatted_records_of_a_real_result(cluster: Cluster) -> None:
    engine = cluster.engine
    with contextlib.closing(cluster.connect()) as conn:
        columns, rows = run(
            conn,
            engine,
            "SELECT 1 AS one, 'x' AS s, NULL AS nothing, CAST(2.50 AS DECIMAL(5,2)) AS price, "
            + ("TRUE AS yes" if engine == "postgresql" else "CAST(1 AS UNSIGNED) AS yes"),
        )
    formatted = json.loads(fields.formatted_records(columns, rows, engine))
    yes: Any = True if engine == "postgresql" else 1  # MySQL TRUE is an integer expression
    assert formatted == [{"one": 1, "s": "x", "nothing": None, "price": "2.50", "yes": yes}]
    numbers = fields.formatted_records(
        columns, rows, engine, {"decimalReturnType": "DOUBLE_OR_LONG"}
    )
    assert json.loads(numbers)[0]["price"] == 2.5


def test_postgresql_only_types(postgresql: Cluster) -> None:
    with contextlib.closing(postgresql.connect()) as conn:
        run(conn, "postgresql", "DROP TYPE IF EXISTS mood CASCADE")
        run(conn, "postgresql", "CREATE TYPE mood AS ENUM ('ok', 'sad')")
        columns, rows = run(
            conn,
            "postgresql",
            "SELECT ARRAY[1, NULL, 3]::int8[] AS ints, ARRAY['a', NULL]::text[] AS texts,"
            " ARRAY[true, false] AS bools, ARRAY[1.5]::float8[] AS doubles,"
            " ARRAY['ok', 'sad']::mood[] AS moods, 'sad'::mood AS mood,"
            " '{\"b\": 1,  \"a\": [1]}'::json AS j, '1 mon 2 days'::interval AS iv,"
            " 'infinity'::timestamp AS inf, '2021-01-02 03:04:05.6789+02'::timestamptz AS tz,"
            " '$1,234.50'::money AS cash, B'1'::bit(1) AS one_bit, '10.0.0.1/8'::inet AS net,"
            " :u AS u",
            [
                {
                    "name": "u",
                    "value": {"stringValue": "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"},
                    "typeHint": "UUID",
                }
            ],
        )
        records, metadata = fields.result_set(columns, rows, "postgresql")
        assert dict(zip([m["label"] for m in metadata], records[0], strict=True)) == {
            "ints": {"arrayValue": {"longValues": [1, None, 3]}},
            "texts": {"arrayValue": {"stringValues": ["a", None]}},
            "bools": {"arrayValue": {"booleanValues": [True, False]}},
            "doubles": {"arrayValue": {"doubleValues": [1.5]}},
            "moods": {"arrayValue": {"stringValues": ["ok", "sad"]}},
            "mood": {"stringValue": "sad"},
            "j": {"stringValue": '{"b": 1,  "a": [1]}'},
            "iv": {"stringValue": "1 mon 2 days"},
            "inf": {"stringValue": "infinity"},
            "tz": {"stringValue": "2021-01-02 01:04:05.678"},
            "cash": {"doubleValue": 1234.5},
            "one_bit": {"booleanValue": True},
            "net": {"stringValue": "10.0.0.1/8"},
            "u": {"stringValue": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
        }
        assert [m["arrayBaseColumnType"] for m in metadata[:5]] == [-5, 12, -7, 8, 12]
        assert [m["typeName"] for m in metadata[4:6]] == ["_mood", "mood"]
        columns, rows = run(conn, "postgresql", "SELECT ARRAY[[1, 2], [3, 4]] AS grid")
        with pytest.raises(fields.UnsupportedResultError, match="multidimensional"):
            fields.result_set(columns, rows, "postgresql")


def test_mysql_generated_fields_and_unsigned_bigint(mysql: Cluster) -> None:
    with contextlib.closing(mysql.connect()) as conn:
        run(conn, "mysql", "DROP TABLE IF EXISTS gen")
        run(
            conn,
            "mysql",
            "CREATE TABLE gen (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, b BIT(8), y YEAR)",
        )
        with contextlib.closing(conn.cursor()) as cur:
            query, values = bind(
                "INSERT INTO gen (id, b, y) VALUES (:id, b'10100000', 2021)",
                [{"name": "id", "value": {"longValue": 2**63 - 1}}],
                "mysql",
            )
            cur.execute(query, values)
            assert fields.generated_fields("mysql", cur.lastrowid) == [{"longValue": 2**63 - 1}]
            cur.execute("INSERT INTO gen (b) VALUES (b'0')")
        columns, rows = run(conn, "mysql", "SELECT * FROM gen ORDER BY id")
    records, metadata = fields.result_set(columns, rows, "mysql", {"longReturnType": "STRING"})
    assert records == [
        [{"stringValue": str(2**63 - 1)}, {"booleanValue": True}, {"stringValue": "2021"}],
        [{"stringValue": str(2**63)}, {"booleanValue": False}, {"isNull": True}],
    ]
    assert [(m["typeName"], m["type"]) for m in metadata] == [
        ("BIGINT UNSIGNED", -5),
        ("BIT", -7),
        ("YEAR", 91),
    ]
    records, _ = fields.result_set(columns, rows, "mysql")
    assert [r[0] for r in records] == [{"longValue": 2**63 - 1}, {"stringValue": str(2**63)}]
