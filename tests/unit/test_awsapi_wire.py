"""The protocol layer against botocore itself: every operation of the services faaslab
serves (and a rest-xml one), with parameters generated from the model, is serialised by
botocore's client serialiser in each protocol the service speaks and parsed by
`wire_in`; every output is serialised by `wire_out` and parsed back by botocore's client
response parser. Both must give back exactly the values put in."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.awsrequest import create_request_object, prepare_request_dict
from botocore.compat import HTTPHeaders
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from faaslab.awsapi import models, wire_in, wire_out
from faaslab.awsapi.errors import ApiError
from faaslab.http.server import Request

SERVICES = ("sts", "rds", "lambda", "logs", "cloudwatch", "secretsmanager", "route53")
WHEN = dt.datetime(2026, 12, 4, 13, 14, 15, tzinfo=dt.UTC)


def sample(shape: Shape, where: str = "body", depth: int = 0) -> Any:
    """A value of `shape` exercising its layout: two list items, a map entry, every member
    of a structure (down to a depth), escapes in strings."""
    if shape.metadata.get("document"):
        return {"a": [1, "x"]}
    if isinstance(shape, StructureShape):
        if depth > 4:
            return None
        out = {}
        members = shape.members.items()
        if shape.metadata.get("union"):
            members = list(members)[:1]
        for name, member in members:
            loc = member.serialization.get("location") or where
            if loc == "statusCode":
                out[name] = 200
                continue
            value = sample(member, loc, depth + 1)
            if value not in (None, {}, [None, None]):
                out[name] = value
        return out
    if isinstance(shape, ListShape):
        return [sample(shape.member, where, depth + 1) for _ in range(2)]
    if isinstance(shape, MapShape):
        key = "k-1" if where != "headers" else "k1"
        return {key: sample(shape.value, where, depth + 1)}
    kind = shape.type_name
    if kind in ("integer", "long"):
        return int(shape.metadata.get("min", 3)) + 4
    if kind in ("float", "double"):
        return 2.5
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return WHEN
    if kind == "blob":
        return b"\x00\x01 blob"
    if shape.serialization.get("jsonvalue"):
        return {"j": 1}
    if shape.enum:
        return shape.enum[0]
    if where in ("header", "headers", "uri"):
        return "v-1_x"
    return "a <b> & 'c' é/?=+"


def operations(name: str) -> list[tuple[str, str]]:
    model = models.service_model(name)
    assert model is not None
    return [(name, op) for op in model.operation_names]


CASES = [case for svc in SERVICES for case in operations(svc)]


def _wire_request(model: ServiceModel, protocol: str, op: OperationModel, params: Any) -> Request:
    serializer = create_serializer(protocol, include_validation=False)
    request_dict = serializer.serialize_to_request(params, op)
    prepare_request_dict(request_dict, "https://example.test")
    prepared = create_request_object(request_dict).prepare()
    url = urlsplit(prepared.url)
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    elif not isinstance(body, bytes):
        body = body.read()
    headers = {
        k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in prepared.headers.items()
    }
    return Request(prepared.method, url.path or "/", url.query, headers, body)


def normal(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(microsecond=0).isoformat()
    if isinstance(value, dict):
        return {k: normal(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [normal(v) for v in value]
    if isinstance(value, bytearray):
        return bytes(value)
    return value


def _skip_unsupported(op: OperationModel) -> None:
    if op.has_event_stream_input or op.has_event_stream_output:
        pytest.skip("event streams are not part of the layer")


@pytest.mark.parametrize(("service", "operation"), CASES)
def test_requests_parse_to_what_the_client_sent(service: str, operation: str) -> None:
    model = models.service_model(service)
    assert model is not None
    op = model.operation_model(operation)
    _skip_unsupported(op)
    params = sample(op.input_shape) if op.input_shape is not None else {}
    for protocol in models.protocols(model):
        try:
            req = _wire_request(model, protocol, op, params)
        except Exception as e:  # (botocore itself cannot put it on the wire)
            pytest.skip(f"botocore cannot serialise it: {e}")
        got_protocol, got_op, got = wire_in.parse(model, req)
        assert (got_protocol, got_op.name) == (protocol, operation)
        want = normal(params)
        assert normal(got) == want, protocol


@pytest.mark.parametrize(("service", "operation"), CASES)
def test_results_parse_to_what_the_handler_returned(service: str, operation: str) -> None:
    model = models.service_model(service)
    assert model is not None
    op = model.operation_model(operation)
    _skip_unsupported(op)
    shape = op.output_shape
    if shape is None:
        pytest.skip("no output")
    if op.has_streaming_output:
        pytest.skip("streamed output: a handler answers it with its own Response")
    value = sample(shape)
    for protocol in models.protocols(model):
        response = wire_out.result(model, protocol, op, value, "rid-1")
        parsed = create_parser(protocol).parse(
            {
                "status_code": response.status,
                "headers": HTTPHeaders.from_pairs(list(response.headers.items())),
                "body": bytes(response.body),
            },
            shape,
        )
        assert normal(parsed) == normal(value), protocol


@pytest.mark.parametrize("service", SERVICES)
def test_errors_parse_to_their_code_and_message(service: str) -> None:
    model = models.service_model(service)
    assert model is not None
    for protocol in models.protocols(model):
        err = ApiError("ResourceNotFoundException", "no such thing: <x> & y", 404)
        response = wire_out.error(model, protocol, err, "rid-2")
        parsed = create_parser(protocol).parse(
            {
                "status_code": response.status,
                "headers": HTTPHeaders.from_pairs(list(response.headers.items())),
                "body": bytes(response.body),
            },
            None,
        )
        assert parsed["Error"]["Code"] == "ResourceNotFoundException", protocol
        assert parsed["Error"]["Message"] == "no such thing: <x> & y", protocol


def test_unknown_operation_is_the_protocols_error() -> None:
    model = models.service_model("rds")
    assert model is not None
    req = Request(
        "POST",
        "/",
        "",
        {"content-type": "application/x-www-form-urlencoded"},
        b"Action=Nope&Version=2014-10-31",
    )
    with pytest.raises(ApiError) as e:
        wire_in.parse(model, req)
    assert e.value.code == "InvalidAction"


def test_malformed_json_is_a_serialization_exception() -> None:
    model = models.service_model("logs")
    assert model is not None
    headers = {
        "x-amz-target": "Logs_20140328.DescribeLogGroups",
        "content-type": "application/x-amz-json-1.1",
    }
    with pytest.raises(ApiError) as e:
        wire_in.parse(model, Request("POST", "/", "", headers, b"{nope"))
    assert e.value.code == "SerializationException"
    with pytest.raises(ApiError) as e:
        wire_in.parse(model, Request("POST", "/", "", headers, b'{"limit": "ten"}'))
    assert e.value.code == "SerializationException"
