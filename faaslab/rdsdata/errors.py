"""An engine's error in the Data API's words, so drivers over the Data API map it as on AWS.

The Data API passes the JDBC driver's message on, with the SQLSTATE appended:
  PostgreSQL  `ERROR: syntax error at or near "SELEC"\\n  Position: 1; SQLState: 42601`
              (PgJDBC's text: severity, message, then Detail, Hint, Position lines)
  MySQL       `Duplicate entry '1' for key 'PRIMARY'; Error code: 1062; SQLState: 23000`
`aurora-data-api` (and SQLAlchemy's dialect over it) parse exactly these tails to raise
the engine's own error class; any other text becomes a generic DatabaseError.

PyMySQL keeps a MySQL error's number but drops the SQLSTATE the server sent, so the
states of the common errors are in a table here (MySQL's server error reference); an
unlisted number gets HY000, the general error, as the server itself says for most.
"""

from __future__ import annotations

from typing import Any

MYSQL_SQLSTATE = {
    1022: "23000",  # ER_DUP_KEY
    1044: "42000",  # ER_DBACCESS_DENIED_ERROR
    1045: "28000",  # ER_ACCESS_DENIED_ERROR
    1048: "23000",  # ER_BAD_NULL_ERROR
    1049: "42000",  # ER_BAD_DB_ERROR
    1050: "42S01",  # ER_TABLE_EXISTS_ERROR
    1051: "42S02",  # ER_BAD_TABLE_ERROR
    1052: "23000",  # ER_NON_UNIQ_ERROR
    1054: "42S22",  # ER_BAD_FIELD_ERROR
    1060: "42S21",  # ER_DUP_FIELDNAME
    1061: "42000",  # ER_DUP_KEYNAME
    1062: "23000",  # ER_DUP_ENTRY
    1064: "42000",  # ER_PARSE_ERROR
    1091: "42000",  # ER_CANT_DROP_FIELD_OR_KEY
    1136: "21S01",  # ER_WRONG_VALUE_COUNT_ON_ROW
    1142: "42000",  # ER_TABLEACCESS_DENIED_ERROR
    1146: "42S02",  # ER_NO_SUCH_TABLE
    1169: "23000",  # ER_DUP_UNIQUE
    1205: "HY000",  # ER_LOCK_WAIT_TIMEOUT
    1213: "40001",  # ER_LOCK_DEADLOCK
    1216: "23000",  # ER_NO_REFERENCED_ROW
    1217: "23000",  # ER_ROW_IS_REFERENCED
    1241: "21000",  # ER_OPERAND_COLUMNS
    1242: "21000",  # ER_SUBQUERY_NO_1_ROW
    1264: "22003",  # ER_WARN_DATA_OUT_OF_RANGE
    1292: "22007",  # ER_TRUNCATED_WRONG_VALUE
    1305: "42000",  # ER_SP_DOES_NOT_EXIST
    1365: "22012",  # ER_DIVISION_BY_ZERO
    1406: "22001",  # ER_DATA_TOO_LONG
    1451: "23000",  # ER_ROW_IS_REFERENCED_2
    1452: "23000",  # ER_NO_REFERENCED_ROW_2
    1690: "22003",  # ER_DATA_OUT_OF_RANGE
    4025: "23000",  # MariaDB's ER_CONSTRAINT_FAILED (a CHECK constraint)
}


def mysql_message(code: int, message: str) -> str:
    return f"{message}; Error code: {code}; SQLState: {MYSQL_SQLSTATE.get(code, 'HY000')}"


def postgresql_message(e: Any) -> str:
    """From a psycopg error's diagnostics, as PgJDBC words a server error."""
    diag = e.diag
    text = f"{diag.severity or 'ERROR'}: {diag.message_primary or str(e).strip()}"
    for label, value in (
        ("Detail", diag.message_detail),
        ("Hint", diag.message_hint),
        ("Where", diag.context),
        ("Position", diag.statement_position),
    ):
        if value:
            text += f"\n  {label}: {value}"
    return f"{text}; SQLState: {e.sqlstate or 'XX000'}"


def driver_message(e: Exception) -> str:
    """The engine's error as the Data API words it (see the module docstring)."""
    args: tuple[Any, ...] = tuple(getattr(e, "args", ()))
    if len(args) == 2 and isinstance(args[0], int):  # PyMySQL: (code, message)
        return mysql_message(args[0], str(args[1]))
    if getattr(e, "diag", None) is not None:  # psycopg
        return postgresql_message(e)
    return str(e).strip()
