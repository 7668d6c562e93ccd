"""The edge under malformed and stalling requests, on a real `faaslab up` (issue 11, items
8 and 9): each gets a 4xx it can read (never a 500), and none holds up another client.

The instance here has 2 s HTTP timeouts (--http-idle-timeout, --http-request-timeout), so
the tests can wait them out; nothing asserts how long anything took.
"""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from botocore.exceptions import ClientError

from tests.conftest import FIXTURES, Faaslab, running_faaslab

WAIT = 60.0  # generous: the machine is shared


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faaslab]:
    yield from running_faaslab(
        FIXTURES / "template.yaml",
        tmp_path_factory.mktemp("edge") / "s",
        "--http-idle-timeout",
        "2",
        "--http-request-timeout",
        "2",
    )


def call(fl: Faaslab, method: str, path: str, body: bytes | None = None) -> tuple[int, Any]:
    """One request on a new connection: (status, decoded JSON body)."""
    req = urllib.request.Request(fl.url + path, data=body, method=method)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=WAIT) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


class Raw:
    """A raw client connection, for what no HTTP library will send."""

    def __init__(self, fl: Faaslab) -> None:
        host, port = fl.url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=WAIT)
        self.f = self.sock.makefile("rb")

    def close(self) -> None:
        self.f.close()
        self.sock.close()

    def answer(self) -> tuple[int, Any]:
        """The status and JSON body of the server's answer."""
        status = int(self.f.readline().split()[1])
        length = 0
        while (line := self.f.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, json.loads(self.f.read(length))

    def closed_by_server(self) -> bool:
        try:
            return self.f.read(1) == b""
        except ConnectionResetError:
            return True


# -- item 9: bad input to /_faaslab/* is a 400 with a message


@pytest.mark.parametrize("offset", ["abc", "-1", str(10**30), "1.5", "0x10", "9" * 5000])
def test_bad_log_offset_is_400(edge: Faaslab, offset: str) -> None:
    status, body = call(edge, "GET", f"/_faaslab/logs/probe?offset={quote(offset)}")
    assert status == 400
    assert "offset" in body["message"]


def test_good_log_offset_still_works(edge: Faaslab) -> None:
    status, body = call(edge, "GET", "/_faaslab/logs/probe?offset=0")
    assert status == 200
    assert "records" in body
    assert call(edge, "GET", f"/_faaslab/logs/probe?offset={2**63 - 1}")[0] == 200


@pytest.mark.parametrize("after", ["abc", "-1", str(10**30)])
def test_bad_event_cursor_is_400(edge: Faaslab, after: str) -> None:
    status, body = call(edge, "GET", f"/_faaslab/db/nope/events?after={after}")
    assert status == 400
    assert "after" in body["message"]


GOOD_CREATE = {
    "identifier": "edge-typed",
    "engine": "mysql",
    "version": "v1",
    "min_capacity": 1,
    "max_capacity": 1,
    "auto_pause_seconds": None,  # (every option, as `faaslab db create` sends them)
    "master_username": "admin",
    "master_password": "password123",
}
BAD_CREATE: dict[str, bytes] = {
    "identifier list": json.dumps({**GOOD_CREATE, "identifier": ["edge-typed"]}).encode(),
    "identifier number": json.dumps({**GOOD_CREATE, "identifier": 5}).encode(),
    "engine list": json.dumps({**GOOD_CREATE, "engine": ["mysql"]}).encode(),
    "engine number": json.dumps({**GOOD_CREATE, "engine": 5}).encode(),
    "version missing": json.dumps({**GOOD_CREATE, "version": None}).encode(),
    "capacity string": json.dumps({**GOOD_CREATE, "min_capacity": "1"}).encode(),
    "capacity bool": json.dumps({**GOOD_CREATE, "max_capacity": True}).encode(),
    "pause list": json.dumps({**GOOD_CREATE, "auto_pause_seconds": [300]}).encode(),
    "username number": json.dumps({**GOOD_CREATE, "master_username": 7}).encode(),
    "password object": json.dumps({**GOOD_CREATE, "master_password": {"p": 1}}).encode(),
    "password number": json.dumps({**GOOD_CREATE, "master_password": 12345678}).encode(),
    "database list": json.dumps({**GOOD_CREATE, "database_name": ["db"]}).encode(),
    "port string": json.dumps({**GOOD_CREATE, "port": "3306"}).encode(),
    "port huge": json.dumps({**GOOD_CREATE, "port": 10**30}).encode(),
    "capacity NaN": json.dumps({**GOOD_CREATE, "min_capacity": float("nan")}).encode(),
    "unknown option": json.dumps({**GOOD_CREATE, "colour": "red"}).encode(),
    "a list": json.dumps([GOOD_CREATE]).encode(),
    "a string": b'"create"',
    "not UTF-8": b"\xff\xfe{}",
    "nested too deep": b"[" * 100_000,
    "not JSON": b"{identifier: x",
}


@pytest.mark.parametrize("case", list(BAD_CREATE))
def test_wrongly_typed_db_create_is_400(edge: Faaslab, case: str) -> None:
    status, body = call(edge, "POST", "/_faaslab/db", BAD_CREATE[case])
    assert status == 400, body
    assert body["message"]
    assert all(
        c["DBClusterIdentifier"] != "edge-typed"
        for c in call(edge, "GET", "/_faaslab/db")[1]["clusters"]
    )


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"min_capacity": "1"}', "'min_capacity' must be a number"),
        (b'{"enable_http_endpoint": "yes"}', "'enable_http_endpoint' must be true or false"),
        (b'{"colour": "red"}', "unknown option 'colour'; options: min_capacity"),
        (b"[1]", "JSON object"),
    ],
)
def test_wrongly_typed_db_modify_is_400_naming_the_option(
    edge: Faaslab, body: bytes, words: str
) -> None:
    status, answer = call(edge, "PATCH", "/_faaslab/db/nope", body)  # (checked before lookup)
    assert status == 400 and words in answer["message"], answer
    status, answer = call(edge, "PATCH", "/_faaslab/db/nope", b'{"max_capacity": 4}')
    assert status == 404 and answer["code"] == "DBClusterNotFoundFault", answer


def test_invoke_nested_past_the_parser_is_invalid_request_content(edge: Faaslab) -> None:
    lam = edge.aws("lambda", read_timeout=WAIT)
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="probe", Payload=b"[" * 100_000)
    assert e.value.response["Error"]["Code"] == "InvalidRequestContentException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize(
    ("service", "operation", "params", "code"),
    [
        ("secretsmanager", "get_secret_value", {"SecretId": "x"}, "SerializationException"),
        (
            "rds-data",
            "execute_statement",
            {
                "resourceArn": "arn:aws:rds:us-east-1:123456789012:cluster:x",
                "secretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x",
                "sql": "SELECT 1",
            },
            "BadRequestException",
        ),
    ],
)
def test_json_apis_answer_json_nested_past_the_parser_with_400(
    edge: Faaslab, service: str, operation: str, params: dict[str, str], code: str
) -> None:
    client = edge.aws(service, read_timeout=WAIT)

    def nest(request: Any, **_: Any) -> None:  # the body, replaced before it is signed
        request.data = b"[" * 100_000

    client.meta.events.register("before-sign", nest)
    with pytest.raises(ClientError) as e:
        getattr(client, operation)(**params)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert e.value.response["Error"]["Code"] == code


# -- item 8: sizes and timeouts


def test_huge_url_is_414(edge: Faaslab) -> None:
    c = Raw(edge)
    try:
        c.sock.sendall(b"GET /" + b"u" * (4 * 1024 * 1024) + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert c.answer()[0] == 414
        assert c.closed_by_server()
    finally:
        c.close()


def test_stalled_and_huge_requests_hold_up_no_one(edge: Faaslab) -> None:
    """Half-open, half-sent and oversized requests on other connections: a normal request
    is answered all the while, and each of them gets its 4xx (or, idle, is closed)."""
    idle = [Raw(edge) for _ in range(50)]
    short_body = Raw(edge)
    short_body.sock.sendall(
        b"POST /_faaslab/db HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"
    )
    unfinished_head = Raw(edge)
    unfinished_head.sock.sendall(b"GET /_faaslab/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    huge_header = Raw(edge)
    huge: dict[str, Any] = {}

    def send_huge() -> None:  # 64 MB of one header, sent while the others are served
        try:
            huge_header.sock.sendall(
                b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * (64 * 1024 * 1024)
            )
        except OSError as e:
            huge["send"] = e
        huge["answer"] = huge_header.answer()

    sender = threading.Thread(target=send_huge)
    sender.start()
    try:
        for _ in range(3):
            assert call(edge, "GET", "/_faaslab/health") == (200, {"status": "ok"})
            lam = edge.aws("lambda", read_timeout=WAIT)  # (a new pool, used at once)
            assert lam.invoke(FunctionName="probe", Payload=b"{}")["StatusCode"] == 200
        sender.join(WAIT)
        assert not sender.is_alive()
        assert huge["answer"][0] == 431
        assert short_body.answer()[0] == 408
        assert unfinished_head.answer()[0] == 408
        assert all(c.closed_by_server() for c in idle)
    finally:
        for c in [*idle, short_body, unfinished_head, huge_header]:
            c.close()


def test_no_500_for_garbage(edge: Faaslab) -> None:
    """Requests no client library would send: each answered 4xx, and the edge serves on."""
    garbage = [
        b"\x00\x01\x02\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET /_faaslab/logs/%ff%fe HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /_faaslab/db/%00 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /_faaslab/db HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n[]",
    ]
    for payload in garbage:
        c = Raw(edge)
        try:
            c.sock.sendall(payload)
            status, body = c.answer()
            assert 400 <= status < 500, (payload, status, body)
        finally:
            c.close()
    assert call(edge, "GET", "/_faaslab/health")[0] == 200
