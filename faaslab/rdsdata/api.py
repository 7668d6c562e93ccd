"""The RDS Data API (rest-json, botocore's `rds-data` model) on the edge port.

`POST /Execute | /BatchExecute | /BeginTransaction | /CommitTransaction |
/RollbackTransaction`, signed for the `rds-data` service. A call names the cluster by ARN
and the credentials by a Secrets Manager secret ARN; faaslab logs in to the cluster's
engine with them (the engine checks the password) and runs the statement there.

Around pauses it answers as AWS does: a paused (or pausing, or resuming) v1 cluster
answers at once with BadRequestException "Communications link failure ..." and starts
resuming; a v2 cluster DatabaseResumingException. A call or an open transaction is
activity for auto-pause (Cluster.client_connected), and a pooled connection for the quarter
second it is kept after a call, nothing else: see connections.py.
Transactions expire after 3 minutes unused (emulated time: --time-scale applies).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
import pymysql

from faaslab.clock import Clock, Timer
from faaslab.databases.cluster import Cluster, State
from faaslab.databases.engine import PostgreSQL
from faaslab.databases.manager import ClusterError, Clusters
from faaslab.databases.model import Version
from faaslab.databases.spec import cluster_arn
from faaslab.http.server import Request, Response
from faaslab.rdsdata import fields, sql
from faaslab.rdsdata.connections import Connection, Pool, Target, open_connection
from faaslab.rdsdata.errors import driver_message

log = logging.getLogger(__name__)

ROUTES = {
    "/Execute": "ExecuteStatement",
    "/BatchExecute": "BatchExecuteStatement",
    "/BeginTransaction": "BeginTransaction",
    "/CommitTransaction": "CommitTransaction",
    "/RollbackTransaction": "RollbackTransaction",
}
TRANSACTION_IDLE_S = 180.0  # emulated seconds: a transaction unused this long is rolled back
MAX_RESPONSE = 1024 * 1024
LINK_FAILURE = (
    "Communications link failure\n\nThe last packet sent successfully to the server was 0 "
    "milliseconds ago. The driver has not received any packets from the server."
)

SecretLookup = Callable[[str], str]  # secret ARN -> SecretString; LookupError if unknown
T = TypeVar("T")


class DataApiError(Exception):
    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code, self.status, self.message = code, status, message

    def response(self) -> Response:
        return Response.json(
            {"message": self.message}, self.status, {"x-amzn-ErrorType": self.code}
        )


def bad_request(message: str) -> DataApiError:
    return DataApiError("BadRequestException", 400, message)


@dataclass(eq=False)
class Transaction:
    id: str
    cluster: Cluster
    conn: Connection
    timer: Timer | None = None


class DataApi:
    def __init__(
        self,
        clusters: Clusters,
        secret: SecretLookup,
        clock: Clock,
        region: str,
        account: str,
        statement_timeout: float,  # real seconds a call may take (AWS: 45)
    ) -> None:
        self.clusters = clusters
        self.statement_timeout = statement_timeout
        self.secret = secret
        self.clock = clock
        self._arn_prefix = cluster_arn("", region, account)  # what a cluster's ARN starts with
        self.pool = Pool()
        self.transactions: dict[str, Transaction] = {}
        self._wakers: set[asyncio.Task[None]] = set()

    @staticmethod
    def claims(req: Request) -> bool:
        return req.path in ROUTES and "/rds-data/aws4_request" in req.headers.get(
            "authorization", ""
        )

    async def handle(self, req: Request) -> Response:
        try:
            if req.method != "POST":
                raise bad_request(f"{req.method} {req.path} is not a Data API operation")
            try:
                body = json.loads(req.body or b"{}")
            except (ValueError, RecursionError):  # (not UTF-8; nested past the parser)
                raise bad_request("The request body is not valid JSON") from None
            if not isinstance(body, dict):
                raise bad_request("The request body must be a JSON object")
            op = ROUTES[req.path]
            result = await getattr(self, "_" + op)(body)
            data = fields.wire_json(result)
            if len(data) > MAX_RESPONSE:
                raise bad_request("Database returned more than the allowed response size limit")
            return Response(200, data, {"Content-Type": "application/json"})
        except DataApiError as e:
            return e.response()

    def close(self) -> None:
        for tx in list(self.transactions.values()):  # (at shutdown: telling no one)
            tx.conn.on_close = None
            tx.conn.close()
        self.transactions.clear()
        self.pool.close()

    # -- operations
    async def _ExecuteStatement(self, body: dict[str, Any]) -> dict[str, Any]:
        statement = _required(body, "sql")
        tx_id = body.get("transactionId")
        parameters = body.get("parameters") or []
        options = body.get("resultSetOptions") or {}
        cluster, conn, tx = await self._connection(body, tx_id)
        try:
            query, values = self._bind(statement, parameters, conn.target.dialect)
            want_metadata = bool(body.get("includeResultMetadata"))
            result = await self._run(conn, body, conn.execute(query, values, want_metadata))
        finally:
            self._release(cluster, conn, tx)
        out: dict[str, Any] = {
            "numberOfRecordsUpdated": max(result.rowcount, 0) if not result.description else 0
        }
        engine = conn.target.dialect
        if result.description:
            # (fields.result_set, taken apart: each row is converted once, the metadata
            # built only when asked for)
            try:
                columns = fields.columns_of(result.description, engine)
                records = fields.records_of(
                    columns, result.rows, fields.ResultOptions.parse(options)
                )
                if body.get("formatRecordsAs") == "JSON":
                    labels = [column.label for column in columns]
                    out["formattedRecords"] = fields.format_records(records, labels)
                else:
                    out["records"] = records
            except ValueError as e:  # UnsupportedResultError, BadRequestError (options)
                code = getattr(e, "code", "BadRequestException")
                raise DataApiError(code, 400, getattr(e, "message", str(e))) from None
            if body.get("includeResultMetadata"):
                out["columnMetadata"] = [fields.column_metadata(column) for column in columns]
        out["generatedFields"] = (
            fields.generated_fields(engine, result.lastrowid) if not result.description else []
        )
        return out

    async def _BatchExecuteStatement(self, body: dict[str, Any]) -> dict[str, Any]:
        statement = _required(body, "sql")
        sets = body.get("parameterSets") or []
        tx_id = body.get("transactionId")
        cluster, conn, tx = await self._connection(body, tx_id)
        try:
            bound = [self._bind(statement, p, conn.target.dialect) for p in sets]

            async def run_all() -> list[Any]:
                own = tx is None
                if own:
                    await conn.begin()
                try:
                    out = [await conn.execute(q, v) for q, v in bound]
                except Exception:  # (the engine refused one: the session is still sound;
                    if own and not conn.closed:  # when cancelled, _run ends the session)
                        await conn.rollback()
                    raise
                if own:
                    await conn.commit()
                return out

            results = await self._run(conn, body, run_all())
        finally:
            self._release(cluster, conn, tx)
        engine = conn.target.dialect
        return {
            "updateResults": [
                {"generatedFields": fields.generated_fields(engine, r.lastrowid)} for r in results
            ]
        }

    async def _BeginTransaction(self, body: dict[str, Any]) -> dict[str, Any]:
        cluster, conn, _ = await self._connection(body, None)
        try:
            await self._run(conn, body, conn.begin())
        except BaseException:
            self._release(cluster, conn, None)
            raise
        conn.lock.release()  # (it stays a client of the cluster until it is given back)
        tx_id = base64.b64encode(secrets.token_bytes(144)).decode()
        tx = Transaction(tx_id, cluster, conn)
        self.transactions[tx_id] = tx
        self._touch(tx)  # the cluster stays "connected" until commit, rollback or expiry
        return {"transactionId": tx_id}

    async def _CommitTransaction(self, body: dict[str, Any]) -> dict[str, Any]:
        tx = await self._end(body, commit=True)
        return {"transactionStatus": "Transaction Committed"} if tx else {}

    async def _RollbackTransaction(self, body: dict[str, Any]) -> dict[str, Any]:
        tx = await self._end(body, commit=False)
        return {"transactionStatus": "Rollback Complete"} if tx else {}

    # -- plumbing
    def _bind(self, statement: str, parameters: Any, dialect: sql.Engine) -> tuple[str, list[Any]]:
        if not isinstance(parameters, list):
            raise bad_request("parameters must be a list")
        try:
            return sql.bind(statement, parameters, dialect)
        except (ValueError, TypeError) as e:
            raise bad_request(str(e)) from None

    def _cluster(self, body: dict[str, Any]) -> Cluster:
        arn = _required(body, "resourceArn")
        prefix = self._arn_prefix
        if not arn.startswith(prefix):
            raise bad_request(f"Invalid resource ARN: {arn}")
        try:
            cluster = self.clusters.get(arn[len(prefix) :])
        except ClusterError:
            raise DataApiError("NotFoundException", 404, f"DB cluster {arn} not found") from None
        if not cluster.spec.enable_http_endpoint:
            raise bad_request(f"HttpEndpoint is not enabled for cluster {cluster.identifier}")
        return cluster

    def _credentials(self, body: dict[str, Any]) -> tuple[str, str]:
        arn = _required(body, "secretArn")
        try:
            return _credentials_of(self.secret(arn))
        except LookupError as e:  # (a secret without "username" too: KeyError, as before)
            raise bad_request(f"Error fetching secret {arn} : {e}") from None
        except (ValueError, TypeError):
            raise bad_request(
                f"The secret {arn} must be JSON with 'username' and 'password'"
            ) from None

    async def _connection(
        self, body: dict[str, Any], tx_id: str | None
    ) -> tuple[Cluster, Connection, Transaction | None]:
        """The connection a call runs on: its transaction's, a pooled one, or a new one.
        The cluster counts each open connection as a client (see connections.py)."""
        if tx_id:
            tx, cluster = self._transaction(body, tx_id)
            if cluster is not tx.cluster:
                raise bad_request("The transaction belongs to another DB cluster")
            self._touch(tx, running=True)
            await tx.conn.lock.acquire()
            return cluster, tx.conn, tx
        cluster = self._cluster(body)
        user, password = self._credentials(body)
        self._require_available(cluster)
        database = body.get("database") or cluster.spec.database_name or ""
        engine = cluster.engine
        if isinstance(engine, PostgreSQL):  # (its port can change when it resumes)
            socket, port = engine.run_dir_for_clients(), engine.pg_port
        else:
            socket, port = engine.socket_path, 0
        target = Target(
            cluster.identifier, cluster.engine_kind, socket, port, user, password, database
        )
        conn = self.pool.take(target)  # (a pooled one is still counted as a client)
        if conn is None:
            cluster.client_connected()  # from before the login: no pause in between
            try:
                conn = await open_connection(target, self.statement_timeout)
            except BaseException as e:
                cluster.client_disconnected()
                if isinstance(e, Exception):  # the driver's login errors
                    raise bad_request(driver_message(e)) from None
                raise
            conn.on_close = cluster.client_disconnected
        await conn.lock.acquire()
        return cluster, conn, None

    def _transaction(self, body: dict[str, Any], tx_id: str) -> tuple[Transaction, Cluster]:
        """The open transaction `tx_id` and the call's cluster: an unknown transaction is
        reported before anything wrong with resourceArn."""
        tx = self.transactions.get(tx_id)
        if tx is None:
            raise DataApiError(
                "TransactionNotFoundException", 404, f"Transaction {tx_id} is not found"
            )
        return tx, self._cluster(body)

    def _release(self, cluster: Cluster, conn: Connection, tx: Transaction | None) -> None:
        if conn.running is not None:  # a statement still runs on it: release when it ends
            conn.running.add_done_callback(lambda _: self._release(cluster, conn, tx))
            conn.running = None
            return
        conn.lock.release()
        if tx is not None:
            self._touch(tx)
            return
        self.pool.give_back(conn)

    def _require_available(self, cluster: Cluster) -> None:
        state = cluster.state
        if state in (State.AVAILABLE, State.SCALING):
            return
        if state in (State.PAUSED, State.PAUSING, State.RESUMING):
            task = asyncio.get_running_loop().create_task(_wake(cluster))
            self._wakers.add(task)  # (the loop keeps only a weak reference to tasks)
            task.add_done_callback(self._wakers.discard)
            if cluster.spec.version is Version.V1:
                raise bad_request(LINK_FAILURE)
            raise DataApiError(
                "DatabaseResumingException",
                400,
                f"The Aurora DB instance {cluster.identifier}-instance-1 is resuming after "
                "being auto-paused. Please wait a few seconds and try again.",
            )
        raise bad_request(f"DB cluster {cluster.identifier} is {state.value}")

    async def _run(self, conn: Connection, body: dict[str, Any], work: Awaitable[T]) -> T:
        """Await driver work within the Data API's limit (45 s). On timeout the statement is
        cancelled with its session, unless continueAfterTimeout: then it runs on (as a
        task), and its connection stays taken until it ends (see _release)."""
        try:
            if not body.get("continueAfterTimeout"):
                # (a bare timer, not asyncio.timeout: its bookkeeping cost ~10 us per call)
                task = asyncio.current_task()
                assert task is not None
                expiry = _Expiry(task)
                timer = asyncio.get_running_loop().call_later(self.statement_timeout, expiry)
                try:
                    return await work
                except asyncio.CancelledError:
                    if not expiry.fired:
                        raise
                    task.uncancel()
                    await conn.stop()  # the engine rolls the statement back
                    raise TimeoutError from None
                finally:
                    timer.cancel()
            task = asyncio.ensure_future(work)
            try:
                return await asyncio.wait_for(asyncio.shield(task), self.statement_timeout)
            except TimeoutError:
                conn.running = task
                task.add_done_callback(functools.partial(_ended_late, conn))
                raise
        except TimeoutError:
            raise DataApiError("StatementTimeoutException", 400, "Request timed out") from None
        except Exception as e:  # the engine's own errors: AWS passes their text on
            if isinstance(e, _CONNECTION_ERRORS):  # the session may be gone: not pooled again
                conn.close()
            raise bad_request(driver_message(e)) from None

    def _touch(self, tx: Transaction, running: bool = False) -> None:
        if tx.timer is not None:
            tx.timer.cancel()
            tx.timer = None
        if not running:
            tx.timer = self.clock.call_later(
                TRANSACTION_IDLE_S, functools.partial(self._expire, tx.id)
            )

    def _expire(self, tx_id: str) -> None:
        tx = self.transactions.pop(tx_id, None)
        if tx is not None:
            log.info("Data API transaction on %s expired unused", tx.cluster.identifier)
            tx.conn.close()  # the engine rolls it back

    async def _end(self, body: dict[str, Any], commit: bool) -> Transaction | None:
        _required(body, "resourceArn")
        _required(body, "secretArn")
        tx_id = _required(body, "transactionId")
        tx, _ = self._transaction(body, tx_id)
        async with tx.conn.lock:
            self.transactions.pop(tx_id, None)
            if tx.timer is not None:
                tx.timer.cancel()
            try:
                await self._run(tx.conn, body, tx.conn.commit() if commit else tx.conn.rollback())
            finally:
                self.pool.give_back(tx.conn)
        return tx


class _Expiry:
    """Cancels a call's task when its statement has run too long, and says it did."""

    __slots__ = ("fired", "task")

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self.task, self.fired = task, False

    def __call__(self) -> None:
        self.fired = True
        self.task.cancel()


def _ended_late(conn: Connection, task: asyncio.Task[Any]) -> None:
    """A statement that ran on past its call's timeout ended. Nobody waits for its outcome;
    after a failure the session is not trusted again."""
    if task.cancelled() or task.exception() is not None:
        conn.close()
        if not task.cancelled():
            log.info(
                "Data API: a statement left running past its timeout failed: %s", task.exception()
            )


async def _wake(cluster: Cluster) -> None:
    try:
        await cluster.ensure_running()
    except Exception as e:
        log.warning("Data API: %s did not resume: %s", cluster.identifier, e)


_CONNECTION_ERRORS = (
    pymysql.err.OperationalError,
    pymysql.err.InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


@functools.lru_cache(maxsize=256)  # (the same few secrets, call after call)
def _credentials_of(secret_string: str) -> tuple[str, str]:
    """(username, password) from a secret's JSON. Raises ValueError, TypeError or KeyError,
    which are not cached."""
    value = json.loads(secret_string)
    return str(value["username"]), str(value["password"])


def _required(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise bad_request(f"Parameter validation failed: missing required parameter {name}")
    return value
