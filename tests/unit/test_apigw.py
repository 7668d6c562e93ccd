"""API-Gateway-style routes: matching, the 1.0/2.0 events, and mapping results to HTTP."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import pytest

from faaslab.functions.apigw import BAD_GATEWAY, Router, build_event, to_response
from faaslab.functions.model import ApiRoute, EventKind, InvokeResult
from faaslab.http.server import Request, Response

API, HTTP = EventKind.API, EventKind.HTTP_API


def route(path: str, method: str = "GET", fn: str = "fn", kind: EventKind = API) -> ApiRoute:
    return ApiRoute(function=fn, kind=kind, method=method, path=path)


def request(
    method: str = "GET",
    path: str = "/",
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    peer: tuple[str, int] | None = ("10.1.2.3", 40000),
) -> Request:
    return Request(method, path, query, dict(headers or {}), body, peer)


def matched_fn(router: Router, method: str, path: str) -> str | None:
    m = router.match(method, path)
    return None if m is None else m[0].function


# -- Router


def test_single_segment_param() -> None:
    r = Router([route("/hello/{name}")])
    assert r.match("GET", "/hello/fred") == (route("/hello/{name}"), {"name": "fred"})
    assert r.match("GET", "/hello/fred/more") is None
    assert r.match("GET", "/hello/") is None
    assert r.match("GET", "/hello") is None


def test_several_params() -> None:
    r = Router([route("/users/{uid}/posts/{pid}")])
    m = r.match("GET", "/users/u1/posts/p-2")
    assert m is not None
    assert m[1] == {"uid": "u1", "pid": "p-2"}


def test_param_names_with_non_word_characters() -> None:
    r = Router([route("/items/{item-id}/{item.part}")])
    m = r.match("GET", "/items/42/x")
    assert m is not None
    assert m[1] == {"item-id": "42", "item.part": "x"}


def test_greedy_param_takes_the_rest_of_the_path() -> None:
    r = Router([route("/files/{proxy+}")])
    m = r.match("GET", "/files/a/b/c.txt")
    assert m is not None
    assert m[1] == {"proxy": "a/b/c.txt"}
    assert r.match("GET", "/files/x") is not None
    assert r.match("GET", "/files") is None
    assert r.match("GET", "/files/") is None
    assert r.match("GET", "/other/x") is None


def test_root_greedy_route() -> None:
    r = Router([route("/{proxy+}", "ANY")])
    m = r.match("DELETE", "/anything/at/all")
    assert m is not None
    assert m[1] == {"proxy": "anything/at/all"}


@pytest.mark.parametrize("reverse", [False, True])
def test_literal_beats_greedy(reverse: bool) -> None:
    routes = [
        route("/{proxy+}", "ANY", "greedy"),
        route("/hello", fn="literal"),
        route("/hello/{name}", fn="param"),
    ]
    r = Router(routes[::-1] if reverse else routes)
    assert matched_fn(r, "GET", "/hello") == "literal"
    assert matched_fn(r, "GET", "/hello/bob") == "param"
    assert matched_fn(r, "GET", "/hello/bob/x") == "greedy"
    assert matched_fn(r, "POST", "/hello") == "greedy"


@pytest.mark.parametrize("reverse", [False, True])
def test_longer_literal_beats_param(reverse: bool) -> None:
    routes = [route("/users/{id}", fn="param"), route("/users/me", fn="me")]
    r = Router(routes[::-1] if reverse else routes)
    assert matched_fn(r, "GET", "/users/me") == "me"
    assert matched_fn(r, "GET", "/users/42") == "param"


@pytest.mark.parametrize("reverse", [False, True])
def test_param_route_beats_greedy(reverse: bool) -> None:
    routes = [route("/a/{proxy+}", fn="greedy"), route("/a/{id}", fn="param")]
    r = Router(routes[::-1] if reverse else routes)
    assert matched_fn(r, "GET", "/a/1") == "param"
    assert matched_fn(r, "GET", "/a/1/2") == "greedy"


def test_method_must_match_unless_any() -> None:
    r = Router([route("/x", "POST", "post"), route("/y", "ANY", "any")])
    assert matched_fn(r, "POST", "/x") == "post"
    assert r.match("GET", "/x") is None
    for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"):
        assert matched_fn(r, method, "/y") == "any"


def test_specific_method_beats_any_when_listed_first() -> None:
    r = Router([route("/items", "GET", "get"), route("/items", "ANY", "any")])
    assert matched_fn(r, "GET", "/items") == "get"
    assert matched_fn(r, "POST", "/items") == "any"


def test_specific_method_beats_any_whatever_the_order() -> None:
    r = Router([route("/items", "ANY", "any"), route("/items", "GET", "get")])
    assert matched_fn(r, "GET", "/items") == "get"


def test_trailing_slash_is_tolerated() -> None:
    r = Router([route("/hello"), route("/users/{id}", fn="u")])
    assert r.match("GET", "/hello/") is not None
    m = r.match("GET", "/users/7/")
    assert m is not None
    assert m[1] == {"id": "7"}
    assert r.match("GET", "/hello//") is None


def test_literal_parts_are_not_regex() -> None:
    r = Router([route("/a.b/(c)")])
    assert r.match("GET", "/a.b/(c)") is not None
    assert r.match("GET", "/axb/(c)") is None
    assert r.match("GET", "/a.b/c") is None


def test_path_must_match_whole() -> None:
    r = Router([route("/hello")])
    assert r.match("GET", "/hello/world") is None
    assert r.match("GET", "/x/hello") is None
    assert r.match("GET", "/hellox") is None


def test_params_are_percent_decoded() -> None:
    r = Router([route("/hello/{name}"), route("/files/{proxy+}")])
    assert r.match("GET", "/hello/J%C3%BCrgen") == (route("/hello/{name}"), {"name": "Jürgen"})
    m = r.match("GET", "/hello/a%20b%2Fc")
    assert m is not None
    assert m[1] == {"name": "a b/c"}
    m = r.match("GET", "/files/dir%20one/f%2B.txt")
    assert m is not None
    assert m[1] == {"proxy": "dir one/f+.txt"}


def test_no_match() -> None:
    assert Router([]).match("GET", "/") is None
    r = Router([route("/a"), route("/b/{x}", "POST")])
    assert r.match("GET", "/c") is None
    assert r.match("GET", "/b/1") is None


# -- build_event: REST API, payload format 1.0

V1_KEYS = {
    "resource",
    "path",
    "httpMethod",
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "pathParameters",
    "stageVariables",
    "requestContext",
    "body",
    "isBase64Encoded",
}


def v1_event(
    req: Request, params: dict[str, str] | None = None, path: str = "/hello/{name}"
) -> dict[str, Any]:
    return build_event(route(path, "POST"), params or {}, req)


def test_api_event_keys_and_values() -> None:
    before = int(time.time() * 1000)
    req = request(
        "POST",
        "/hello/fred",
        "a=1&b=x%20y&a=2&empty=",
        {"host": "localhost:4566", "user-agent": "curl/8", "content-type": "application/json"},
        b'{"k": "v"}',
    )
    ev = v1_event(req, {"name": "fred"})
    after = int(time.time() * 1000)
    assert set(ev) == V1_KEYS
    assert ev["resource"] == "/hello/{name}"
    assert ev["path"] == "/hello/fred"
    assert ev["httpMethod"] == "POST"
    assert ev["headers"] == req.headers
    assert ev["headers"] is not req.headers  # a copy, not the parser's dict
    assert ev["multiValueHeaders"] == {k: [v] for k, v in req.headers.items()}
    assert ev["queryStringParameters"] == {"a": "2", "b": "x y", "empty": ""}
    assert ev["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x y"], "empty": [""]}
    assert ev["pathParameters"] == {"name": "fred"}
    assert ev["stageVariables"] is None
    assert ev["body"] == '{"k": "v"}'
    assert ev["isBase64Encoded"] is False
    ctx = ev["requestContext"]
    assert ctx["stage"] == "Prod"
    assert ctx["path"] == "/Prod/hello/fred"
    assert ctx["resourcePath"] == "/hello/{name}"
    assert ctx["httpMethod"] == "POST"
    assert ctx["protocol"] == "HTTP/1.1"
    assert ctx["accountId"] == "123456789012"
    assert ctx["identity"] == {"sourceIp": "10.1.2.3", "userAgent": "curl/8"}
    assert str(uuid.UUID(ctx["requestId"])) == ctx["requestId"]
    assert before <= ctx["requestTimeEpoch"] <= after
    json.dumps(ev)  # the event must be JSON-serialisable as is


def test_api_event_empty_query_params_and_body_are_none() -> None:
    ev = v1_event(request("GET", "/x"), path="/x")
    assert ev["queryStringParameters"] is None
    assert ev["multiValueQueryStringParameters"] is None
    assert ev["pathParameters"] is None
    assert ev["body"] is None
    assert ev["isBase64Encoded"] is False


def test_api_event_binary_body_is_base64() -> None:
    raw = bytes(range(256))
    ev = v1_event(request("POST", "/x", body=raw), path="/x")
    assert ev["isBase64Encoded"] is True
    assert base64.b64decode(ev["body"]) == raw


def test_api_event_utf8_body_is_text() -> None:
    ev = v1_event(request("POST", "/x", body="grüße".encode()), path="/x")
    assert ev["body"] == "grüße"
    assert ev["isBase64Encoded"] is False


def test_api_event_without_peer_uses_loopback() -> None:
    ev = v1_event(request(peer=None), path="/")
    assert ev["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"


def test_each_event_gets_its_own_request_id() -> None:
    ids = {v1_event(request(), path="/")["requestContext"]["requestId"] for _ in range(5)}
    assert len(ids) == 5


# -- build_event: HTTP API, payload format 2.0


def test_http_api_event() -> None:
    req = request(
        "PUT",
        "/items/42",
        "x=1&y=two",
        {"host": "example.test", "user-agent": "boto", "cookie": "a=1; b=2 ;", "x-h": "v"},
        b"payload",
    )
    rt = route("/items/{id}", "PUT", kind=HTTP)
    ev = build_event(rt, {"id": "42"}, req)
    assert ev["version"] == "2.0"
    assert ev["routeKey"] == "PUT /items/{id}"
    assert ev["rawPath"] == "/items/42"
    assert ev["rawQueryString"] == "x=1&y=two"
    assert ev["cookies"] == ["a=1", "b=2"]
    assert "cookie" not in ev["headers"]
    assert ev["headers"] == {"host": "example.test", "user-agent": "boto", "x-h": "v"}
    assert "cookie" in req.headers  # the request itself is not modified
    assert ev["queryStringParameters"] == {"x": "1", "y": "two"}
    assert ev["pathParameters"] == {"id": "42"}
    assert ev["body"] == "payload"
    assert ev["isBase64Encoded"] is False
    assert "multiValueHeaders" not in ev
    assert "multiValueQueryStringParameters" not in ev
    ctx = ev["requestContext"]
    assert ctx["http"] == {
        "method": "PUT",
        "path": "/items/42",
        "protocol": "HTTP/1.1",
        "sourceIp": "10.1.2.3",
        "userAgent": "boto",
    }
    assert ctx["routeKey"] == "PUT /items/{id}"
    assert ctx["stage"] == "$default"
    assert ctx["domainName"] == "example.test"
    assert str(uuid.UUID(ctx["requestId"])) == ctx["requestId"]
    assert abs(ctx["timeEpoch"] - time.time() * 1000) < 60_000
    json.dumps(ev)


def test_http_api_event_empty_parts_are_none() -> None:
    ev = build_event(route("/", kind=HTTP), {}, request())
    assert ev["cookies"] is None
    assert ev["queryStringParameters"] is None
    assert ev["pathParameters"] is None
    assert ev["body"] is None
    assert ev["rawQueryString"] == ""
    assert ev["requestContext"]["domainName"] == "localhost"


def test_http_api_event_binary_body() -> None:
    ev = build_event(route("/", "POST", kind=HTTP), {}, request("POST", body=b"\x00\xff\x10"))
    assert ev["isBase64Encoded"] is True
    assert base64.b64decode(ev["body"]) == b"\x00\xff\x10"


def test_http_api_route_keys_agree_for_any_routes() -> None:
    ev = build_event(route("/items", "ANY", kind=HTTP), {}, request("GET", "/items"))
    assert ev["routeKey"] == ev["requestContext"]["routeKey"]


def test_http_api_duplicate_query_values_are_comma_joined() -> None:
    ev = build_event(route("/", kind=HTTP), {}, request(query="a=1&a=2"))
    assert ev["queryStringParameters"] == {"a": "1,2"}


# -- to_response


def result(payload: Any, error: str | None = None) -> InvokeResult:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return InvokeResult("rid", data, function_error=error)


def is_bad_gateway(resp: Response) -> bool:
    return (
        resp.status == 502
        and json.loads(resp.body) == {"message": "Internal server error"}
        and resp.headers.get("Content-Type") == "application/json"
    )


@pytest.mark.parametrize("kind", [API, HTTP])
def test_function_error_is_502(kind: EventKind) -> None:
    proxy = {"statusCode": 200, "body": "fine"}
    assert is_bad_gateway(to_response(route("/", kind=kind), result(proxy, "Unhandled")))


@pytest.mark.parametrize("kind", [API, HTTP])
def test_non_json_result_is_502(kind: EventKind) -> None:
    assert is_bad_gateway(to_response(route("/", kind=kind), result(b"not json")))


@pytest.mark.parametrize("kind", [API, HTTP])
def test_proxy_response(kind: EventKind) -> None:
    out = {
        "statusCode": 201,
        "headers": {"X-Thing": "a", "X-Num": 5, "Content-Type": "text/plain"},
        "multiValueHeaders": {"X-Multi": ["1", "2"]},
        "body": "created",
    }
    resp = to_response(route("/", kind=kind), result(out))
    assert resp.status == 201
    assert resp.body == b"created"
    assert resp.headers == {
        "X-Thing": "a",
        "X-Num": "5",
        "Content-Type": "text/plain",
        "X-Multi": "1, 2",
    }


def test_proxy_response_defaults() -> None:
    resp = to_response(route("/"), result({"statusCode": 204}))
    assert resp.status == 204
    assert resp.body == b""
    assert resp.headers == {"Content-Type": "application/json"}


def test_proxy_response_string_status_code() -> None:
    assert to_response(route("/"), result({"statusCode": "404", "body": "x"})).status == 404


def test_proxy_response_base64_body() -> None:
    raw = b"\x89PNG\r\n\x1a\n\x00"
    out = {
        "statusCode": 200,
        "headers": {"Content-Type": "image/png"},
        "body": base64.b64encode(raw).decode(),
        "isBase64Encoded": True,
    }
    resp = to_response(route("/"), result(out))
    assert resp.body == raw
    assert resp.headers["Content-Type"] == "image/png"


def test_proxy_response_non_string_body_is_json() -> None:
    resp = to_response(route("/", kind=HTTP), result({"statusCode": 200, "body": {"a": [1]}}))
    assert json.loads(resp.body) == {"a": [1]}


def test_proxy_response_unicode_body_is_utf8() -> None:
    resp = to_response(route("/"), result({"statusCode": 200, "body": "héllo"}))
    assert resp.body == "héllo".encode()


@pytest.mark.parametrize(
    "out", [{"a": 1}, [1, 2, 3], "hello", 42, None, {"message": "hi", "code": 1}]
)
def test_plain_json_for_http_api_is_200(out: Any) -> None:
    resp = to_response(route("/", kind=HTTP), result(out))
    assert resp.status == 200
    assert resp.headers == {"Content-Type": "application/json"}
    if isinstance(out, str):
        assert resp.body == out.encode()
    else:
        assert json.loads(resp.body) == out


@pytest.mark.parametrize("out", [{"a": 1}, [1], "hello", 42, None, {"body": "x"}])
def test_plain_json_for_rest_api_is_502(out: Any) -> None:
    assert is_bad_gateway(to_response(route("/", kind=API), result(out)))


@pytest.mark.parametrize("kind", [API, HTTP])
@pytest.mark.parametrize("status", ["abc", None, [], {}, "", "20x"])
def test_invalid_status_code_is_502(kind: EventKind, status: Any) -> None:
    resp = to_response(route("/", kind=kind), result({"statusCode": status, "body": "x"}))
    assert is_bad_gateway(resp)


@pytest.mark.parametrize("status", [9999, 42, True, 1000])
def test_out_of_range_status_code_is_502(status: Any) -> None:
    resp = to_response(route("/"), result({"statusCode": status, "body": "x"}))
    assert is_bad_gateway(resp)


def test_invalid_base64_body_is_502() -> None:
    out = {"statusCode": 200, "body": "abc", "isBase64Encoded": True}
    assert is_bad_gateway(to_response(route("/"), result(out)))


def test_bad_gateway_constant() -> None:
    assert is_bad_gateway(BAD_GATEWAY)
