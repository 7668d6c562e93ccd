"""A handler's result or error on the wire, in the protocol the request came in.

The result is a dict as botocore's clients return it (datetimes, bytes, nested dicts and
lists, member names of the output shape); members the shape does not have are dropped,
so a handler cannot leak internals onto the wire. Hand-written for the reason `wire_in`
is; the round-trip tests parse every answer with botocore's own response parsers.
"""

from __future__ import annotations

import base64
import calendar
import datetime as dt
import email.utils
import json
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from faaslab.awsapi.errors import ApiError
from faaslab.http.server import Response

UTC = dt.UTC


def result(
    model: ServiceModel, protocol: str, op: OperationModel, value: dict[str, Any], rid: str
) -> Response:
    shape = op.output_shape
    value = value or {}
    if protocol == "query":
        return _query_result(model, op, shape, value, rid)
    if protocol == "json":
        body = json.dumps(_to_json(shape, value) if shape else {}).encode()
        return Response(200, body, _json_headers(model, rid))
    if protocol == "smithy-rpc-v2-cbor":
        return Response(200, _cbor(_to_cbor(shape, value) if shape else {}), _cbor_headers(rid))
    return _rest_result(shape, value, rid, xml=protocol == "rest-xml")


def error(model: ServiceModel | None, protocol: str, err: ApiError, rid: str) -> Response:
    if protocol in ("json", "rest-json"):
        headers = {"x-amzn-RequestId": rid, "x-amzn-ErrorType": err.code}
        if protocol == "json" and model is not None:
            headers.update(_json_headers(model, rid))
            if model.metadata.get("awsQueryCompatible") is not None:
                kind = "Sender" if err.sender else "Receiver"
                headers["x-amzn-query-error"] = f"{err.code};{kind}"
        else:
            headers["Content-Type"] = "application/json"
        body = {"__type": err.code, "message": err.message}
        return Response(err.status, json.dumps(body).encode(), headers)
    if protocol == "smithy-rpc-v2-cbor":
        body = {"__type": err.code, "message": err.message}
        return Response(err.status, _cbor(body), _cbor_headers(rid))
    kind = "Sender" if err.sender else "Receiver"
    error = f"<Code>{escape(err.code)}</Code><Message>{escape(err.message)}</Message>"
    if protocol == "ec2":
        xml = f"<Response><Errors><Error>{error}</Error></Errors><RequestID>{rid}</RequestID>"
        xml += "</Response>"
        return Response(err.status, _xml_doc(xml), {"Content-Type": "text/xml"})
    xml = (
        f"<ErrorResponse><Error><Type>{kind}</Type>{error}</Error>"
        f"<RequestId>{rid}</RequestId></ErrorResponse>"
    )
    headers = {"Content-Type": "text/xml", "x-amzn-RequestId": rid}
    return Response(err.status, _xml_doc(xml), headers)


def _json_headers(model: ServiceModel, rid: str) -> dict[str, str]:
    version = model.metadata.get("jsonVersion", "1.0")
    return {"Content-Type": f"application/x-amz-json-{version}", "x-amzn-RequestId": rid}


def _cbor_headers(rid: str) -> dict[str, str]:
    return {
        "Content-Type": "application/cbor",
        "smithy-protocol": "rpc-v2-cbor",
        "x-amzn-RequestId": rid,
    }


def _cbor(value: Any) -> bytes:
    import cbor2

    return bytes(cbor2.dumps(value, datetime_as_timestamp=True, timezone=UTC))


def _xml_doc(xml: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{xml}'.encode()


# -- timestamps
def _as_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, UTC)
    raise TypeError(f"{value!r} is not a timestamp")


def format_timestamp(value: Any, fmt: str) -> Any:
    when = _as_datetime(value).astimezone(UTC)
    if fmt == "unixtimestamp":
        seconds = calendar.timegm(when.timetuple()) + when.microsecond / 1e6
        return int(seconds) if when.microsecond == 0 else round(seconds, 3)
    if fmt == "rfc822":
        return email.utils.format_datetime(when, usegmt=True)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


# -- json and cbor documents
def _to_json(shape: Shape, value: Any) -> Any:
    if isinstance(shape, StructureShape):
        out = {}
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                if member.serialization.get("location"):  # (headers, status: not the body)
                    continue
                out[member.serialization.get("name", name)] = _to_json(member, value[name])
        return out
    if isinstance(shape, ListShape):
        return [_to_json(shape.member, v) for v in value]
    if isinstance(shape, MapShape):
        return {str(k): _to_json(shape.value, v) for k, v in value.items()}
    kind = shape.type_name
    if kind == "timestamp":
        return format_timestamp(value, shape.serialization.get("timestampFormat", "unixtimestamp"))
    if kind == "blob":
        data = value.encode() if isinstance(value, str) else bytes(value)
        return base64.b64encode(data).decode()
    return value


def _to_cbor(shape: Shape, value: Any) -> Any:
    if isinstance(shape, StructureShape):
        return {
            name: _to_cbor(member, value[name])
            for name, member in shape.members.items()
            if name in value and value[name] is not None
        }
    if isinstance(shape, ListShape):
        return [_to_cbor(shape.member, v) for v in value]
    if isinstance(shape, MapShape):
        return {str(k): _to_cbor(shape.value, v) for k, v in value.items()}
    if shape.type_name == "timestamp":
        return _as_datetime(value)
    if shape.type_name == "blob":
        return value.encode() if isinstance(value, str) else bytes(value)
    if shape.type_name in ("float", "double"):
        return float(value)
    return value


# -- XML (query results, rest-xml bodies)
def _xml_scalar(shape: Shape, value: Any) -> str:
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return str(format_timestamp(value, shape.serialization.get("timestampFormat", "iso8601")))
    if kind == "blob":
        data = value.encode() if isinstance(value, str) else bytes(value)
        return base64.b64encode(data).decode()
    return escape(str(value))


def xml_element(shape: Shape, name: str, value: Any) -> str:
    """`value` as the XML element `name` of `shape`, without a document header."""
    return _xml(shape, name, value)


def _xml(shape: Shape, name: str, value: Any) -> str:
    """`value` as the element `name` (lists and maps in the layout botocore parses)."""
    if isinstance(shape, StructureShape):
        attrs = ""
        inner = []
        for member_name, member in shape.members.items():
            if member_name not in value or value[member_name] is None:
                continue
            if member.serialization.get("location"):
                continue
            wire = member.serialization.get("name", member_name)
            if member.serialization.get("xmlAttribute"):
                attrs += f" {wire}={quoteattr(str(value[member_name]))}"
            elif isinstance(member, ListShape) and member.serialization.get("flattened"):
                item = member.member.serialization.get("name", wire)
                inner += [_xml(member.member, item, v) for v in value[member_name]]
            else:
                inner.append(_xml(member, wire, value[member_name]))
        return f"<{name}{attrs}>{''.join(inner)}</{name}>"
    if isinstance(shape, ListShape):
        item = shape.member.serialization.get("name", "member")
        return f"<{name}>{''.join(_xml(shape.member, item, v) for v in value)}</{name}>"
    if isinstance(shape, MapShape):
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        entries = "".join(
            f"<entry><{key_name}>{escape(str(k))}</{key_name}>"
            f"{_xml(shape.value, value_name, v)}</entry>"
            for k, v in value.items()
        )
        return f"<{name}>{entries}</{name}>"
    return f"<{name}>{_xml_scalar(shape, value)}</{name}>"


def xml_document(shape: Shape, root: str, value: Any, namespace: str | None = None) -> bytes:
    """`value` as an XML document whose root element is `root` (a rest-xml body such as
    S3's `<Tagging>`), in the layout botocore parses; `namespace` as the root's xmlns."""
    body = _xml(shape, root, value)
    if namespace:
        body = body.replace(f"<{root}", f'<{root} xmlns="{namespace}"', 1)
    return _xml_doc(body)


def _query_result(
    model: ServiceModel, op: OperationModel, shape: Shape | None, value: dict[str, Any], rid: str
) -> Response:
    ns = model.metadata.get("xmlNamespace")
    xmlns = f' xmlns="{ns}"' if ns else ""
    inner = ""
    if shape is not None:
        wrapper = op.output_shape.serialization.get("resultWrapper", f"{op.name}Result")
        inner = _xml(shape, wrapper, value)
    xml = (
        f"<{op.name}Response{xmlns}>{inner}"
        f"<ResponseMetadata><RequestId>{rid}</RequestId></ResponseMetadata>"
        f"</{op.name}Response>"
    )
    return Response(200, _xml_doc(xml), {"Content-Type": "text/xml", "x-amzn-RequestId": rid})


# -- rest-json, rest-xml: status code, headers, payload or body
def _rest_result(shape: Shape | None, value: dict[str, Any], rid: str, xml: bool) -> Response:
    ctype = "application/xml" if xml else "application/json"
    headers = {"Content-Type": ctype, "x-amzn-RequestId": rid}
    if shape is None or not isinstance(shape, StructureShape):
        return Response(200, b"" if xml else b"{}", headers)
    status = 200
    for name, member in shape.members.items():
        if value.get(name) is None:
            continue
        where = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if where == "statusCode":
            status = int(value[name])
        elif where == "header":
            headers[wire] = _header_value(member, value[name])
        elif where == "headers":
            for k, v in value[name].items():
                headers[wire + k] = str(v)
    payload = shape.serialization.get("payload")
    if payload:
        member = shape.members[payload]
        data = value.get(payload)
        if data is None:
            return Response(status, b"", headers)
        if member.type_name == "blob":
            return Response(status, bytes(data), headers)
        if member.type_name == "string":
            return Response(status, str(data).encode(), headers)
        if xml:
            wire = member.serialization.get("name", payload)
            return Response(status, _xml_doc(_xml(member, wire, data)), headers)
        return Response(status, json.dumps(_to_json(member, data)).encode(), headers)
    if xml:
        root = shape.serialization.get("name", shape.name)
        body = _xml(shape, root, value)
        has_body = any(
            not m.serialization.get("location") and value.get(n) is not None
            for n, m in shape.members.items()
        )
        return Response(status, _xml_doc(body) if has_body else b"", headers)
    return Response(status, json.dumps(_to_json(shape, value)).encode(), headers)


def _header_value(member: Shape, value: Any) -> str:
    if isinstance(member, ListShape):
        return ",".join(_header_value(member.member, v) for v in value)
    if member.type_name == "timestamp":
        return str(format_timestamp(value, member.serialization.get("timestampFormat", "rfc822")))
    if member.type_name == "boolean":
        return "true" if value else "false"
    if member.type_name == "string" and member.serialization.get("jsonvalue"):
        return base64.b64encode(json.dumps(value).encode()).decode()
    if member.type_name == "blob":
        return base64.b64encode(bytes(value)).decode()
    return str(value)
