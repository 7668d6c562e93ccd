"""faaslab.sqlite_s3 against a real S3 API: moto's server in a subprocess.

moto 5.2.5 implements the conditional writes the library relies on (``If-None-Match: *``
and ``If-Match`` on PutObject -> 412, ``If-None-Match`` on GetObject -> 304);
``test_moto_honours_conditional_requests`` pins that down, so every other test uses
moto's own precondition checks. The client wrappers below only inject faults (answers
moto never gives on its own); none of them emulates a precondition.
"""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from faaslab import sqlite_s3
from faaslab.sqlite_s3 import ConflictError, S3Database, S3DatabaseError

KEY = "state/counter.db"


# ---------------------------------------------------------------- fixtures


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/moto-api/", timeout=1) as r:
                    r.read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def s3(moto_url: str) -> Iterator[Any]:
    """A fresh client per test, so that event hooks do not leak between tests."""
    client = boto3.client(
        "s3",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(max_pool_connections=16),
    )
    yield client
    client.close()


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"sqlite-s3-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture(autouse=True)
def _fresh_process_state() -> Iterator[None]:
    sqlite_s3._SHARED.clear()
    yield
    sqlite_s3._SHARED.clear()


class Calls:
    """Records (operation, HTTP status, conditional headers) of every S3 call of a client."""

    def __init__(self, client: Any) -> None:
        self.calls: list[tuple[str, int, dict[str, str]]] = []
        self._headers: dict[str, str] = {}
        client.meta.events.register("before-send.s3.*", self._before_send)
        client.meta.events.register("after-call.s3.*", self._after_call)

    def _before_send(self, request: Any, **_: Any) -> None:
        self._headers = {}
        for name in ("If-Match", "If-None-Match"):
            if name in request.headers:
                header = request.headers[name]
                self._headers[name] = header.decode() if isinstance(header, bytes) else header

    def _after_call(self, http_response: Any, model: Any, **_: Any) -> None:
        self.calls.append((model.name, http_response.status_code, self._headers))

    def of(self, operation: str) -> list[tuple[int, dict[str, str]]]:
        return [(status, h) for op, status, h in self.calls if op == operation]


class FaultyPuts:
    """Fault injection: delegates to a real client, but ``put_object`` goes through ``fault``.

    ``fault(real_put, kwargs)`` decides what the library sees; this does not emulate
    preconditions (moto checks those itself).
    """

    def __init__(self, client: Any, fault: Callable[[Callable[..., Any], dict[str, Any]], Any]):
        self._client = client
        self._fault = fault
        self.puts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def put_object(self, **kwargs: Any) -> Any:
        self.puts += 1
        return self._fault(self._client.put_object, kwargs)


def second_put_lands_but_412(s3: Any) -> FaultyPuts:
    """A client whose second PUT is stored but answered 412 (e.g. an SDK retry of a request
    that had succeeded)."""

    def fault(put: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        response = put(**kwargs)
        if client.puts == 2:
            raise client_error("PreconditionFailed", 412)
        return response

    client = FaultyPuts(s3, fault)
    return client


def client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"injected {code}"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "PutObject",
    )


def create_counter(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, n INTEGER)")
    conn.execute("INSERT OR IGNORE INTO counter VALUES (1, 0)")


def increment(conn: sqlite3.Connection) -> int:
    conn.execute("UPDATE counter SET n = n + 1 WHERE id = 1")
    return int(conn.execute("SELECT n FROM counter WHERE id = 1").fetchone()[0])


def value(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT n FROM counter WHERE id = 1").fetchone()[0])


# ---------------------------------------------------------------- the S3 server


def test_moto_honours_conditional_requests(s3: Any, bucket: str) -> None:
    """The precondition behaviour every other test relies on, checked on moto itself."""

    def status(call: Callable[[], Any]) -> int:
        try:
            return int(call()["ResponseMetadata"]["HTTPStatusCode"])
        except ClientError as exc:
            return int(exc.response["ResponseMetadata"]["HTTPStatusCode"])

    put = s3.put_object
    assert status(lambda: put(Bucket=bucket, Key="k", Body=b"1", IfNoneMatch="*")) == 200
    assert status(lambda: put(Bucket=bucket, Key="k", Body=b"2", IfNoneMatch="*")) == 412
    etag = s3.head_object(Bucket=bucket, Key="k")["ETag"]
    assert status(lambda: put(Bucket=bucket, Key="k", Body=b"3", IfMatch='"0123"')) == 412
    assert status(lambda: put(Bucket=bucket, Key="k", Body=b"3", IfMatch=etag)) == 200
    assert status(lambda: put(Bucket=bucket, Key="k", Body=b"4", IfMatch=etag)) == 412
    assert status(lambda: put(Bucket=bucket, Key="gone", Body=b"4", IfMatch=etag)) == 404
    new = s3.head_object(Bucket=bucket, Key="k")["ETag"]
    assert status(lambda: s3.get_object(Bucket=bucket, Key="k", IfNoneMatch=new)) == 304
    assert status(lambda: s3.get_object(Bucket=bucket, Key="k", IfNoneMatch=etag)) == 200


# ---------------------------------------------------------------- behaviour


def test_new_database_is_created_and_seen_by_another_container(
    s3: Any, bucket: str, tmp_path: Path
) -> None:
    calls = Calls(s3)
    db1 = S3Database(bucket, KEY, s3, tmp_path / "c1")
    assert db1.transact(create_counter) is None
    assert db1.transact(increment) == 1

    # The first upload may only create the object; the second only replace what we read.
    puts = calls.of("PutObject")
    assert [status for status, _ in puts] == [200, 200]
    assert puts[0][1] == {"If-None-Match": "*"}
    head = s3.head_object(Bucket=bucket, Key=KEY)
    assert puts[1][1]["If-Match"] != head["ETag"]
    assert db1.etag == head["ETag"]
    assert head["ContentLength"] > 0

    db2 = S3Database(bucket, KEY, s3, tmp_path / "c2")
    assert db2.path != db1.path
    assert db2.read(value) == 1
    assert db2.etag == head["ETag"]


def test_missing_object_is_an_empty_database(s3: Any, bucket: str, tmp_path: Path) -> None:
    db = S3Database(bucket, KEY, s3, tmp_path)
    tables = db.read(lambda c: c.execute("SELECT name FROM sqlite_master").fetchall())
    assert tables == []
    assert db.stats.missing == 1
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key=KEY)  # reading created nothing


def test_revalidation_uses_a_conditional_get(s3: Any, bucket: str, tmp_path: Path) -> None:
    db1 = S3Database(bucket, KEY, s3, tmp_path / "c1")
    db1.transact(create_counter)
    calls = Calls(s3)

    assert db1.read(value) == 0
    assert db1.transact(increment) == 1
    gets = calls.of("GetObject")
    assert [status for status, _ in gets] == [304, 304]
    assert all("If-None-Match" in headers for _, headers in gets)
    assert db1.stats.downloads == 0

    # Another container writes: the next call downloads the new version, then 304 again.
    S3Database(bucket, KEY, s3, tmp_path / "c2").transact(increment)
    assert db1.read(value) == 2
    assert db1.read(value) == 2
    assert [status for status, _ in calls.of("GetObject")][-2:] == [200, 304]
    assert db1.stats.downloads == 1


def test_warm_container_revalidates_from_the_sidecar(s3: Any, bucket: str, tmp_path: Path) -> None:
    S3Database(bucket, KEY, s3, tmp_path).transact(create_counter)
    sqlite_s3._SHARED.clear()  # a new process in the same container: only /tmp survives

    calls = Calls(s3)
    db = S3Database(bucket, KEY, s3, tmp_path)
    assert db.read(value) == 0
    assert [status for status, _ in calls.of("GetObject")] == [304]

    # A sidecar that does not describe the file is ignored: full download.
    sqlite_s3._SHARED.clear()
    Path(str(db.path) + ".etag").write_text("{not json")
    db = S3Database(bucket, KEY, s3, tmp_path)
    assert db.read(value) == 0
    assert [status for status, _ in calls.of("GetObject")] == [304, 200]


def test_conflict_discards_local_changes_and_replays_fn(
    s3: Any, bucket: str, tmp_path: Path
) -> None:
    db1 = S3Database(bucket, KEY, s3, tmp_path / "c1")
    db2 = S3Database(bucket, KEY, s3, tmp_path / "c2")
    db1.transact(create_counter)
    seen: list[int] = []

    def racing_increment(conn: sqlite3.Connection) -> int:
        seen.append(value(conn))
        if len(seen) == 1:
            db2.transact(increment)  # another container commits while we run
        return increment(conn)

    assert db1.transact(racing_increment) == 2
    assert seen == [0, 1]  # replayed on the fresh data, not on our discarded copy
    assert db1.stats.conflicts == 1
    assert db1.stats.uploads == 2
    assert db2.read(value) == 2


def test_no_lost_updates_with_8_concurrent_containers(s3: Any, bucket: str, tmp_path: Path) -> None:
    S3Database(bucket, KEY, s3, tmp_path / "setup").transact(create_counter)
    # A generous limit: in a tight loop of 8 writers the unluckiest call needed up to ~20
    # attempts; this test is about correctness, not about the default limit.
    dbs = [
        S3Database(bucket, KEY, s3, tmp_path / f"container{i}", max_attempts=200) for i in range(8)
    ]

    def worker(db: S3Database) -> None:
        for _ in range(50):
            db.transact(increment)

    started = time.monotonic()
    with ThreadPoolExecutor(len(dbs)) as pool:
        for future in [pool.submit(worker, db) for db in dbs]:
            future.result()
    elapsed = time.monotonic() - started

    conflicts = sum(db.stats.conflicts for db in dbs)
    uploads = sum(db.stats.uploads for db in dbs)
    print(f"8x50 increments: {elapsed:.1f} s, {uploads} uploads, {conflicts} conflicts")
    assert S3Database(bucket, KEY, s3, tmp_path / "check").read(value) == 400
    assert uploads == 400
    assert conflicts > 0, "no write ever lost a race: the conditional path was not exercised"


def test_failing_fn_uploads_nothing_and_keeps_the_copy_usable(
    s3: Any, bucket: str, tmp_path: Path
) -> None:
    db = S3Database(bucket, KEY, s3, tmp_path)
    db.transact(create_counter)
    db.transact(increment)
    etag = s3.head_object(Bucket=bucket, Key=KEY)["ETag"]
    calls = Calls(s3)

    def broken(conn: sqlite3.Connection) -> None:
        increment(conn)
        conn.execute("INSERT INTO counter VALUES (2, 0)")
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        db.transact(broken)
    assert calls.of("PutObject") == []
    assert s3.head_object(Bucket=bucket, Key=KEY)["ETag"] == etag
    assert db.etag == etag  # rolled back: the local copy still is that version

    assert db.read(lambda c: c.execute("PRAGMA integrity_check").fetchone()[0]) == "ok"
    assert db.read(lambda c: c.execute("SELECT count(*) FROM counter").fetchone()[0]) == 1
    assert db.transact(increment) == 2
    assert [status for status, _ in calls.of("GetObject")] == [304, 304, 304, 304]
    assert S3Database(bucket, KEY, s3, tmp_path / "other").read(value) == 2


def test_sql_error_in_fn_rolls_back(s3: Any, bucket: str, tmp_path: Path) -> None:
    db = S3Database(bucket, KEY, s3, tmp_path)
    db.transact(create_counter)
    with pytest.raises(sqlite3.OperationalError):
        db.transact(lambda c: (increment(c), c.execute("SELECT * FROM nope")))
    assert db.read(value) == 0
    assert db.stats.uploads == 1


def test_read_cannot_write(s3: Any, bucket: str, tmp_path: Path) -> None:
    db = S3Database(bucket, KEY, s3, tmp_path)
    db.transact(create_counter)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.read(increment)
    assert db.read(value) == 0


def test_gives_up_with_conflict_error(s3: Any, bucket: str, tmp_path: Path) -> None:
    S3Database(bucket, KEY, s3, tmp_path / "setup").transact(create_counter)
    etag = s3.head_object(Bucket=bucket, Key=KEY)["ETag"]

    def always_412(put: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        raise client_error("PreconditionFailed", 412)

    client = FaultyPuts(s3, always_412)
    db = S3Database(bucket, KEY, client, tmp_path / "c", max_attempts=4, backoff_base=0.001)
    runs: list[int] = []

    def counted(conn: sqlite3.Connection) -> int:
        runs.append(1)
        return increment(conn)

    with pytest.raises(ConflictError) as info:
        db.transact(counted)
    assert info.value.attempts == 4
    assert (info.value.bucket, info.value.key) == (bucket, KEY)
    message = str(info.value)
    assert f"s3://{bucket}/{KEY}" in message
    assert "4 attempts" in message
    assert "PreconditionFailed" in message
    assert len(runs) == client.puts == 4
    assert db.stats.conflicts == 4
    assert s3.head_object(Bucket=bucket, Key=KEY)["ETag"] == etag
    assert db.read(value) == 0  # the rejected local changes were thrown away


def test_409_conditional_request_conflict_is_retried(s3: Any, bucket: str, tmp_path: Path) -> None:
    def first_409(put: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        if client.puts == 2:
            raise client_error("ConditionalRequestConflict", 409)
        return put(**kwargs)

    client = FaultyPuts(s3, first_409)
    db = S3Database(bucket, KEY, client, tmp_path, backoff_base=0.001)
    db.transact(create_counter)
    assert db.transact(increment) == 1
    assert client.puts == 3
    assert db.stats.conflicts == 1
    assert db.read(value) == 1


def test_lost_response_is_not_applied_twice(s3: Any, bucket: str, tmp_path: Path) -> None:
    """The PUT lands but the client sees 412 (e.g. an SDK retry of a request that had
    succeeded): the library must recognise its own write instead of re-applying fn."""
    client = second_put_lands_but_412(s3)
    db = S3Database(bucket, KEY, client, tmp_path, backoff_base=0.001)
    db.transact(create_counter)
    runs: list[int] = []

    def counted(conn: sqlite3.Connection) -> int:
        runs.append(1)
        return increment(conn)

    assert db.transact(counted) == 1
    assert len(runs) == 1
    assert client.puts == 2
    assert db.stats.uploads == 2
    assert db.stats.conflicts == 0
    assert S3Database(bucket, KEY, s3, tmp_path / "other").read(value) == 1


def test_deleted_object_starts_over(s3: Any, bucket: str, tmp_path: Path) -> None:
    db = S3Database(bucket, KEY, s3, tmp_path)
    db.transact(create_counter)
    db.transact(increment)
    s3.delete_object(Bucket=bucket, Key=KEY)
    assert db.read(lambda c: c.execute("SELECT name FROM sqlite_master").fetchall()) == []
    db.transact(create_counter)
    assert db.read(value) == 0


def test_object_that_is_not_sqlite_is_refused(s3: Any, bucket: str, tmp_path: Path) -> None:
    s3.put_object(Bucket=bucket, Key=KEY, Body=b"hello, this is not a database")
    db = S3Database(bucket, KEY, s3, tmp_path)
    with pytest.raises(S3DatabaseError, match="not a SQLite database"):
        db.read(value)
    assert not db.path.exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no temp files left behind


def test_threads_sharing_one_container_are_serialized(s3: Any, bucket: str, tmp_path: Path) -> None:
    """Several instances on one cache file (one container, several threads) share a lock."""
    S3Database(bucket, KEY, s3, tmp_path).transact(create_counter)
    dbs = [S3Database(bucket, KEY, s3, tmp_path) for _ in range(4)]
    barrier = threading.Barrier(len(dbs))

    def worker(db: S3Database) -> None:
        barrier.wait()
        for _ in range(5):
            db.transact(increment)

    with ThreadPoolExecutor(len(dbs)) as pool:
        for future in [pool.submit(worker, db) for db in dbs]:
            future.result()
    assert dbs[0].read(value) == 20
    assert sum(db.stats.conflicts for db in dbs) == 0  # the lock, not S3, serialized them


def test_failed_upload_leaves_no_phantom_local_write(s3: Any, bucket: str, tmp_path: Path) -> None:
    """The local COMMIT happened but S3 refused the upload (not a conflict): the next call
    must see S3's state, not the local change, although S3 would answer 304."""

    def second_put_500(put: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        if client.puts == 2:
            raise client_error("InternalError", 500)
        return put(**kwargs)

    client = FaultyPuts(s3, second_put_500)
    db = S3Database(bucket, KEY, client, tmp_path)
    db.transact(create_counter)
    with pytest.raises(ClientError, match="InternalError"):
        db.transact(increment)
    assert db.etag is None
    assert db.read(value) == 0
    assert db.stats.downloads == 1
    assert db.transact(increment) == 1


def test_lost_response_on_the_last_attempt_is_not_a_conflict(
    s3: Any, bucket: str, tmp_path: Path
) -> None:
    client = second_put_lands_but_412(s3)
    db = S3Database(bucket, KEY, client, tmp_path, max_attempts=1)
    db.transact(create_counter)
    assert db.transact(increment) == 1
    assert client.puts == 2
    assert db.read(value) == 1
