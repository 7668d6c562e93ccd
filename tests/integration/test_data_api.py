"""The RDS Data API and Secrets Manager through the edge, with the unmodified boto3
clients: both engines, transactions, batches, errors, and the awkward moments around a
pause (v1: "Communications link failure", v2: DatabaseResumingException)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pymysql
import pytest
from botocore.exceptions import ClientError

from tests.conftest import FIXTURES, Faaslab, invoke, start_faaslab
from tests.integration.test_clusters import describe, wait_for, wait_status

ACCOUNT_REGION = "us-east-1:123456789012"
MYSQL_ARN = f"arn:aws:rds:{ACCOUNT_REGION}:cluster:dmysql"
PG_ARN = f"arn:aws:rds:{ACCOUNT_REGION}:cluster:dpg"
NOHTTP_ARN = f"arn:aws:rds:{ACCOUNT_REGION}:cluster:nohttp"
TIME_SCALE = 60  # auto-pause after 300 emulated s = 5 s; a transaction expires after 3 s
STATEMENT_LIMIT = 3.0  # s: --data-api-timeout (AWS: 45 s, not emulated time)


@pytest.fixture(scope="module")
def fl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faaslab]:
    f = start_faaslab(
        FIXTURES / "dataapi.yaml",
        tmp_path_factory.mktemp("dataapi") / "s",
        "--time-scale",
        str(TIME_SCALE),
        "--data-api-timeout",
        str(STATEMENT_LIMIT),
    )
    yield f
    assert f.stop() == 0
    assert "Traceback" not in f.log_path.read_text(), f.log_path.read_text()


def client(fl: Faaslab, service: str) -> Any:
    return fl.aws(service, read_timeout=120)


def secret_arn(fl: Faaslab, name: str) -> str:
    return str(client(fl, "secretsmanager").describe_secret(SecretId=name)["ARN"])


def pg_secret(fl: Faaslab) -> str:
    listed = client(fl, "secretsmanager").list_secrets()["SecretList"]
    return next(s["ARN"] for s in listed if s["Name"].startswith("rds!cluster-"))


def run(fl: Faaslab, arn: str, secret: str, sql: str, **kw: Any) -> dict[str, Any]:
    """ExecuteStatement, retried while the cluster resumes (what a real caller does)."""
    data = client(fl, "rds-data")
    deadline = time.monotonic() + 30
    while True:
        try:
            out: dict[str, Any] = data.execute_statement(
                resourceArn=arn, secretArn=secret, sql=sql, **kw
            )
            return out
        except ClientError as e:
            code = e.response["Error"]["Code"]
            if code not in ("DatabaseResumingException", "BadRequestException"):
                raise
            if "Communications link failure" not in str(e) and code == "BadRequestException":
                raise
            assert time.monotonic() < deadline, "the cluster did not come back"
            time.sleep(0.1)


def error_of(call: Any, **kw: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as info:
        call(**kw)
    err = info.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Message"]


def test_template_secrets_and_the_managed_master_password(fl: Faaslab) -> None:
    sm = client(fl, "secretsmanager")
    value = json.loads(sm.get_secret_value(SecretId="mysql-creds")["SecretString"])
    assert value == {"username": "admin1", "password": "DataApi-pass99"}
    managed_arn = pg_secret(fl)
    managed = json.loads(sm.get_secret_value(SecretId=managed_arn)["SecretString"])
    assert managed["username"] == "master" and len(managed["password"]) >= 20
    # the engine really has that password
    port = describe(fl, "dpg")["Port"]
    with psycopg.connect(
        host="127.0.0.1", port=port, user="master", password=managed["password"], dbname="test"
    ) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    # and the dynamic reference gave the MySQL cluster the template secret's password
    conn2 = pymysql.connect(
        host="127.0.0.1",
        port=describe(fl, "dmysql")["Port"],
        user="admin1",
        password="DataApi-pass99",
        database="TEST",
    )
    conn2.close()


def test_secrets_manager_operations_through_the_edge(fl: Faaslab) -> None:
    sm = client(fl, "secretsmanager")
    arn = sm.create_secret(Name="edge/test", SecretString='{"a": 1}')["ARN"]
    assert arn.startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:edge/test-")
    sm.put_secret_value(SecretId=arn, SecretString='{"a": 2}')
    assert sm.get_secret_value(SecretId="edge/test")["SecretString"] == '{"a": 2}'
    assert "edge/test" in [s["Name"] for s in sm.list_secrets()["SecretList"]]
    sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    code, status, _ = error_of(sm.get_secret_value, SecretId=arn)
    assert (code, status) == ("ResourceNotFoundException", 400)
    bad = fl.aws("secretsmanager", secret="wrong")
    code, status, _ = error_of(bad.get_secret_value, SecretId="mysql-creds")
    assert status == 403 and code == "InvalidSignatureException"


@pytest.mark.parametrize("engine", ["mysql", "postgresql"])
def test_execute_statement_on_both_engines(fl: Faaslab, engine: str) -> None:
    arn, secret = (
        (MYSQL_ARN, secret_arn(fl, "mysql-creds")) if engine == "mysql" else (PG_ARN, pg_secret(fl))
    )
    db = "TEST" if engine == "mysql" else "test"
    ident = "AUTO_INCREMENT" if engine == "mysql" else "GENERATED ALWAYS AS IDENTITY"
    run(fl, arn, secret, "DROP TABLE IF EXISTS people", database=db)
    run(
        fl,
        arn,
        secret,
        f"CREATE TABLE people (id INTEGER {ident} PRIMARY KEY, name VARCHAR(40), age INTEGER)",
        database=db,
    )
    out = run(
        fl,
        arn,
        secret,
        "INSERT INTO people (name, age) VALUES (:name, :age)",
        database=db,
        parameters=[
            {"name": "name", "value": {"stringValue": "Mary O'Brien"}},
            {"name": "age", "value": {"longValue": 41}},
        ],
    )
    assert out["numberOfRecordsUpdated"] == 1
    if engine == "mysql":
        assert out["generatedFields"] == [{"longValue": 1}]
    evil = "x'); DROP TABLE people; --"
    run(
        fl,
        arn,
        secret,
        "INSERT INTO people (name, age) VALUES (:name, NULL)",
        database=db,
        parameters=[{"name": "name", "value": {"stringValue": evil}}],
    )
    out = run(
        fl,
        arn,
        secret,
        "SELECT name, age FROM people ORDER BY id",
        database=db,
        includeResultMetadata=True,
    )
    assert out["records"] == [
        [{"stringValue": "Mary O'Brien"}, {"longValue": 41}],
        [{"stringValue": evil}, {"isNull": True}],
    ]
    assert [c["name"] for c in out["columnMetadata"]] == ["name", "age"]
    out = run(
        fl,
        arn,
        secret,
        "SELECT name, age FROM people ORDER BY id",
        database=db,
        formatRecordsAs="JSON",
    )
    assert json.loads(out["formattedRecords"]) == [
        {"name": "Mary O'Brien", "age": 41},
        {"name": evil, "age": None},
    ]


def test_batches_and_transactions(fl: Faaslab) -> None:
    secret = secret_arn(fl, "mysql-creds")
    data = client(fl, "rds-data")
    run(fl, MYSQL_ARN, secret, "CREATE TABLE IF NOT EXISTS tx (n INTEGER)", database="TEST")
    run(fl, MYSQL_ARN, secret, "DELETE FROM tx", database="TEST")
    out = data.batch_execute_statement(
        resourceArn=MYSQL_ARN,
        secretArn=secret,
        database="TEST",
        sql="INSERT INTO tx VALUES (:n)",
        parameterSets=[[{"name": "n", "value": {"longValue": i}}] for i in range(3)],
    )
    assert len(out["updateResults"]) == 3
    tx = data.begin_transaction(resourceArn=MYSQL_ARN, secretArn=secret, database="TEST")
    tid = tx["transactionId"]
    run(fl, MYSQL_ARN, secret, "INSERT INTO tx VALUES (100)", transactionId=tid)
    seen_outside = run(fl, MYSQL_ARN, secret, "SELECT count(*) FROM tx", database="TEST")
    assert seen_outside["records"] == [[{"longValue": 3}]]  # not committed yet
    out = data.rollback_transaction(resourceArn=MYSQL_ARN, secretArn=secret, transactionId=tid)
    assert out["transactionStatus"] == "Rollback Complete"
    tid = data.begin_transaction(resourceArn=MYSQL_ARN, secretArn=secret, database="TEST")[
        "transactionId"
    ]
    run(fl, MYSQL_ARN, secret, "INSERT INTO tx VALUES (7)", transactionId=tid)
    out = data.commit_transaction(resourceArn=MYSQL_ARN, secretArn=secret, transactionId=tid)
    assert out["transactionStatus"] == "Transaction Committed"
    total = run(fl, MYSQL_ARN, secret, "SELECT sum(n) FROM tx", database="TEST")
    assert total["records"][0][0] in ({"stringValue": "10"}, {"longValue": 10})
    code, status, _ = error_of(
        data.commit_transaction, resourceArn=MYSQL_ARN, secretArn=secret, transactionId=tid
    )
    assert (code, status) == ("TransactionNotFoundException", 404)


def test_unused_transactions_expire_and_roll_back(fl: Faaslab) -> None:
    secret = secret_arn(fl, "mysql-creds")
    data = client(fl, "rds-data")
    run(fl, MYSQL_ARN, secret, "CREATE TABLE IF NOT EXISTS exp (n INTEGER)", database="TEST")
    tid = data.begin_transaction(resourceArn=MYSQL_ARN, secretArn=secret, database="TEST")[
        "transactionId"
    ]
    run(fl, MYSQL_ARN, secret, "INSERT INTO exp VALUES (1)", transactionId=tid)
    time.sleep(180 / TIME_SCALE + 1)
    code, status, _ = error_of(
        data.commit_transaction, resourceArn=MYSQL_ARN, secretArn=secret, transactionId=tid
    )
    assert (code, status) == ("TransactionNotFoundException", 404)
    assert run(fl, MYSQL_ARN, secret, "SELECT count(*) FROM exp", database="TEST")["records"] == [
        [{"longValue": 0}]
    ]


def test_errors_have_the_data_api_shapes(fl: Faaslab) -> None:
    data = client(fl, "rds-data")
    secret = secret_arn(fl, "mysql-creds")
    code, status, message = error_of(
        data.execute_statement, resourceArn=MYSQL_ARN, secretArn=secret, sql="SELEC 1"
    )
    assert (code, status) == ("BadRequestException", 400) and "SQL syntax" in message
    code, status, _ = error_of(
        data.execute_statement,
        resourceArn=f"arn:aws:rds:{ACCOUNT_REGION}:cluster:nope",
        secretArn=secret,
        sql="SELECT 1",
    )
    assert (code, status) == ("NotFoundException", 404)
    code, status, message = error_of(
        data.execute_statement, resourceArn=NOHTTP_ARN, secretArn=secret, sql="SELECT 1"
    )
    assert (code, status) == ("BadRequestException", 400) and "HttpEndpoint" in message
    wrong = client(fl, "secretsmanager").create_secret(
        Name="wrong-pass", SecretString='{"username": "admin1", "password": "not-it-1234"}'
    )["ARN"]
    code, status, message = error_of(
        data.execute_statement, resourceArn=MYSQL_ARN, secretArn=wrong, sql="SELECT 1"
    )
    assert (code, status) == ("BadRequestException", 400) and "Access denied" in message
    code, status, _ = error_of(
        data.execute_statement,
        resourceArn=MYSQL_ARN,
        secretArn=f"arn:aws:secretsmanager:{ACCOUNT_REGION}:secret:missing-AbCdEf",
        sql="SELECT 1",
    )
    assert (code, status) == ("BadRequestException", 400)


def test_paused_clusters_answer_as_aws_does_and_resume(fl: Faaslab) -> None:
    data = client(fl, "rds-data")
    secret = secret_arn(fl, "mysql-creds")
    wait_status(fl, "dmysql", "paused", timeout=60)
    code, status, message = error_of(
        data.execute_statement, resourceArn=MYSQL_ARN, secretArn=secret, sql="SELECT 1"
    )
    assert (code, status) == ("BadRequestException", 400)
    assert message.startswith("Communications link failure")
    wait_for(lambda: describe(fl, "dmysql")["Status"] == "available", 30, "v1 resumed")
    assert run(fl, MYSQL_ARN, secret, "SELECT 1")["records"] == [[{"longValue": 1}]]

    wait_status(fl, "dpg", "paused", timeout=60)
    code, status, message = error_of(
        data.execute_statement, resourceArn=PG_ARN, secretArn=pg_secret(fl), sql="SELECT 1"
    )
    assert (code, status) == ("DatabaseResumingException", 400)
    assert "resuming after being auto-paused" in message
    assert run(fl, PG_ARN, pg_secret(fl), "SELECT 1")["records"] == [[{"longValue": 1}]]


def test_an_open_transaction_keeps_the_cluster_awake_until_it_ends(fl: Faaslab) -> None:
    data = client(fl, "rds-data")
    secret = secret_arn(fl, "mysql-creds")
    run(fl, MYSQL_ARN, secret, "SELECT 1")
    tid = data.begin_transaction(resourceArn=MYSQL_ARN, secretArn=secret)["transactionId"]
    # kept in use (each call within 3 emulated minutes), for longer than the pause delay
    for _ in range(4):
        time.sleep(150 / TIME_SCALE)
        run(fl, MYSQL_ARN, secret, "SELECT 1", transactionId=tid)
    assert describe(fl, "dmysql")["Status"] == "available"
    data.commit_transaction(resourceArn=MYSQL_ARN, secretArn=secret, transactionId=tid)
    wait_status(fl, "dmysql", "paused", timeout=60)


def test_functions_reach_the_data_api_and_secrets_unchanged(fl: Faaslab) -> None:
    run(fl, MYSQL_ARN, secret_arn(fl, "mysql-creds"), "SELECT 1")  # awake
    _, out = invoke(fl.client(), "dataprobe", {"greeting": "héllo"})
    assert out["records"] == [[{"stringValue": "héllo"}, {"stringValue": "TEST"}]], out
    assert out["managed_secret"].startswith("rds!cluster-")


ROUND_TRIP = [
    ("s", "VARCHAR(200)", "TEXT", {"stringValue": "plain"}),
    ("s", "VARCHAR(200)", "TEXT", {"stringValue": "ünïcødé ✓ 日本 'quote' \"dq\" ; -- x"}),
    ("s", "VARCHAR(200)", "TEXT", {"isNull": True}),
    ("i", "BIGINT", "BIGINT", {"longValue": 9223372036854775807}),
    ("i", "BIGINT", "BIGINT", {"longValue": -9223372036854775808}),
    ("d", "DOUBLE", "DOUBLE PRECISION", {"doubleValue": 3.141592653589793}),
    ("d", "DOUBLE", "DOUBLE PRECISION", {"doubleValue": -1e-300}),
    ("b", "BLOB", "BYTEA", {"blobValue": bytes(range(256))}),
    ("f", "BOOLEAN", "BOOLEAN", {"booleanValue": True}),
    ("f", "BOOLEAN", "BOOLEAN", {"booleanValue": False}),
    ("t", "DATE", "DATE", {"stringValue": "2026-11-27"}),
]


@pytest.mark.parametrize("engine", ["mysql", "postgresql"])
def test_parameters_round_trip_as_a_direct_driver_reads_them(fl: Faaslab, engine: str) -> None:
    """Each value goes in as a Data API parameter and comes back as a Field equal to the
    one sent, while a direct driver connection reads the same Python value."""
    mysql = engine == "mysql"
    arn, secret = (MYSQL_ARN, secret_arn(fl, "mysql-creds")) if mysql else (PG_ARN, pg_secret(fl))
    db = "TEST" if mysql else "test"
    run(fl, arn, secret, "DROP TABLE IF EXISTS rt", database=db)
    cols = {c: (m if mysql else p) for c, m, p, _ in ROUND_TRIP}
    run(
        fl,
        arn,
        secret,
        "CREATE TABLE rt (k INTEGER, " + ", ".join(f"{c} {t}" for c, t in cols.items()) + ")",
        database=db,
    )
    for k, (col, _, _, field) in enumerate(ROUND_TRIP):
        hint = {"typeHint": "DATE"} if col == "t" else {}  # (PostgreSQL needs it for dates)
        run(
            fl,
            arn,
            secret,
            f"INSERT INTO rt (k, {col}) VALUES (:k, :v)",
            database=db,
            parameters=[
                {"name": "k", "value": {"longValue": k}},
                {"name": "v", "value": field, **hint},
            ],
        )
    port = describe(fl, "dmysql" if mysql else "dpg")["Port"]
    if mysql:
        direct: Any = pymysql.connect(
            host="127.0.0.1", port=port, user="admin1", password="DataApi-pass99", database=db
        )
    else:
        password = json.loads(
            client(fl, "secretsmanager").get_secret_value(SecretId=pg_secret(fl))["SecretString"]
        )["password"]
        direct = psycopg.connect(
            host="127.0.0.1", port=port, user="master", password=password, dbname=db
        )
    try:
        for k, (col, _, _, field) in enumerate(ROUND_TRIP):
            got = run(
                fl,
                arn,
                secret,
                f"SELECT {col} FROM rt WHERE k = :k",
                database=db,
                parameters=[{"name": "k", "value": {"longValue": k}}],
            )["records"][0][0]
            assert got == field, (engine, col, got, field)
            cur = direct.cursor()
            cur.execute(f"SELECT {col} FROM rt WHERE k = %s", (k,))
            value = cur.fetchone()[0]
            expected = next(iter(field.values()))
            if field.get("isNull"):
                expected = None
            elif col == "b":
                value = bytes(value)
            elif col == "f":
                value = bool(value)
            elif col == "t":
                value = value.isoformat()
            assert value == expected, (engine, col, value, expected)
    finally:
        direct.close()


def test_responses_over_one_mib_are_refused(fl: Faaslab) -> None:
    secret = secret_arn(fl, "mysql-creds")
    code, status, message = error_of(
        client(fl, "rds-data").execute_statement,
        resourceArn=MYSQL_ARN,
        secretArn=secret,
        sql="SELECT REPEAT('x', 1100000)",
    )
    assert (code, status) == ("BadRequestException", 400)
    assert "response size limit" in message


@pytest.mark.parametrize("engine", ["mysql", "postgresql"])
def test_a_statement_past_the_limit_stops_unless_asked_to_continue(
    fl: Faaslab, engine: str
) -> None:
    mysql = engine == "mysql"
    arn, secret = (MYSQL_ARN, secret_arn(fl, "mysql-creds")) if mysql else (PG_ARN, pg_secret(fl))
    db = "TEST" if mysql else "test"
    run(fl, arn, secret, "DROP TABLE IF EXISTS slow", database=db)
    run(fl, arn, secret, "CREATE TABLE slow (run INTEGER)", database=db)
    sleep = "SELECT SLEEP({s})" if mysql else "SELECT pg_sleep({s})"
    # a write that ends 2 s after the limit: it must not happen, or happen, by the flag
    write = "INSERT INTO slow SELECT {run} FROM (" + sleep.format(s=STATEMENT_LIMIT + 2) + ") t"
    data = client(fl, "rds-data")
    for run_id, go_on in ((1, False), (2, True)):
        started = time.monotonic()
        code, status, message = error_of(
            data.execute_statement,
            resourceArn=arn,
            secretArn=secret,
            database=db,
            sql=write.format(run=run_id),
            continueAfterTimeout=go_on,
        )
        took = time.monotonic() - started
        assert (code, status) == ("StatementTimeoutException", 400), message
        assert STATEMENT_LIMIT <= took < STATEMENT_LIMIT + 2, took
    # a batch is one transaction: its first write (done at once) goes with the slow second
    code, _, message = error_of(
        data.batch_execute_statement,
        resourceArn=arn,
        secretArn=secret,
        database=db,
        sql="INSERT INTO slow SELECT :run FROM (" + sleep.format(s=":s") + ") t",
        parameterSets=[
            [{"name": "run", "value": {"longValue": 3}}, {"name": "s", "value": {"longValue": 0}}],
            [
                {"name": "run", "value": {"longValue": 4}},
                {"name": "s", "value": {"longValue": int(STATEMENT_LIMIT) + 2}},
            ],
        ],
    )
    assert code == "StatementTimeoutException", message
    time.sleep(2)  # the writes would have ended by now
    rows = run(fl, arn, secret, "SELECT run FROM slow", database=db)["records"]
    assert rows == [[{"longValue": 2}]]  # only the one asked to continue
    # the stopped statement's session is gone from the engine, not left sleeping
    sessions = (
        "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE 'INSERT INTO slow%'"
        if mysql
        else "SELECT COUNT(*) FROM pg_stat_activity WHERE query LIKE 'INSERT INTO slow%'"
        " AND state = 'active'"
    )
    assert run(fl, arn, secret, sessions, database=db)["records"] == [[{"longValue": 0}]]


def test_engine_errors_in_the_data_apis_words_for_drivers(fl: Faaslab) -> None:
    """The engine's message with AWS's tail (`; Error code: N; SQLState: S` for MySQL,
    PgJDBC's text `...\\n  Position: N; SQLState: S` for PostgreSQL), which drivers over
    the Data API parse: aurora-data-api raises the engine's own error class."""
    import aurora_data_api

    data = client(fl, "rds-data")
    secret = secret_arn(fl, "mysql-creds")
    run(fl, MYSQL_ARN, secret, "CREATE TABLE IF NOT EXISTS dup (id INT PRIMARY KEY)")
    run(fl, MYSQL_ARN, secret, "DELETE FROM dup")
    run(fl, MYSQL_ARN, secret, "INSERT INTO dup VALUES (1)")
    _, _, message = error_of(
        data.execute_statement,
        resourceArn=MYSQL_ARN,
        secretArn=secret,
        sql="INSERT INTO dup VALUES (1)",
    )
    assert message.endswith("; Error code: 1062; SQLState: 23000"), message
    assert message.startswith("Duplicate entry '1' for key"), message
    _, _, message = error_of(
        data.execute_statement, resourceArn=PG_ARN, secretArn=pg_secret(fl), sql="SELEC 1"
    )
    assert message == 'ERROR: syntax error at or near "SELEC"\n  Position: 1; SQLState: 42601'
    with (
        aurora_data_api.connect(
            aurora_cluster_arn=MYSQL_ARN, secret_arn=secret, rds_data_client=data, database="TEST"
        ) as conn,
        conn.cursor() as cur,
    ):
        with pytest.raises(aurora_data_api.DatabaseError) as e:
            cur.execute("INSERT INTO dup VALUES (1)")
        assert type(e.value).__name__ == "ER_DUP_ENTRY"
    with (
        aurora_data_api.connect(
            aurora_cluster_arn=PG_ARN,
            secret_arn=pg_secret(fl),
            rds_data_client=data,
            database="test",
        ) as conn,
        conn.cursor() as cur,
    ):
        with pytest.raises(aurora_data_api.DatabaseError) as e:
            cur.execute("SELEC 1")
        assert type(e.value).__name__ == "ER_SYNTAX_ERR"  # (its class for SQLSTATE 42601)
