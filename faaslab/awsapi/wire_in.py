"""Parsing a request into its operation's parameters, as botocore's model describes them.

The values come out as botocore's clients take them in: str, int, float, bool, bytes for
blobs, timezone-aware datetimes for timestamps, dicts and lists; so a handler's parameters
are the same whichever protocol the client spoke (CloudWatch alone takes three).
Hand-written because botocore has only the client's half (serialisers for requests,
parsers for responses); the layout rules mirror those serialisers', which the round-trip
tests check against.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.utils
import json
import re
from typing import Any
from urllib.parse import parse_qs, unquote
from xml.etree import ElementTree

from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from faaslab.awsapi import models
from faaslab.awsapi.errors import ApiError, malformed, unknown_operation
from faaslab.http.server import Request

UTC = dt.UTC


class Malformed(ValueError):
    """A value that does not parse as its shape says."""


def parse(model: ServiceModel, req: Request) -> tuple[str, OperationModel, dict[str, Any]]:
    """(protocol, operation, parameters) of a request to `model`'s service. Raises ApiError
    in the protocol's words for an unknown operation or a malformed request."""
    protocol = models.protocol_of(model, req)
    name = operation_name(model, protocol, req)
    op = models.operation(model, name) if name else None
    if op is None:
        raise unknown_operation(model.service_name, name or f"{req.method} {req.path}", protocol)
    shape = op.input_shape
    try:
        if shape is None:
            return protocol, op, {}
        if protocol == "query":
            return protocol, op, _query_params(shape, req)
        if protocol == "json":
            return protocol, op, _from_json(shape, _json_body(req.body)) or {}
        if protocol == "smithy-rpc-v2-cbor":
            return protocol, op, _from_cbor(shape, _cbor_body(req.body)) or {}
        return protocol, op, _rest_params(op, shape, req, xml=protocol == "rest-xml")
    except (Malformed, ValueError, TypeError, KeyError) as e:
        raise malformed(f"could not parse the request: {e}", protocol) from None


def operation_name(model: ServiceModel, protocol: str, req: Request) -> str | None:
    """The operation a request names in `protocol`, if any (it may not be one the model has)."""
    if protocol == "json":
        prefix, _, name = req.headers.get("x-amz-target", "").rpartition(".")
        expected = model.metadata.get("targetPrefix")
        return name if not expected or prefix == expected else None
    if protocol == "smithy-rpc-v2-cbor":
        m = re.fullmatch(r"/service/([^/]+)/operation/([^/]+)", req.path)
        return unquote(m.group(2)) if m else None
    if protocol in ("query", "ec2"):
        return _query_form(req).get("Action")
    return models.rest_operation(model, req.method, req.path, req.query)


# -- query: form fields `Name.member.1.Key=...`
def _query_form(req: Request) -> dict[str, str]:
    text = req.query
    if req.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        text = bytes(req.body).decode("utf-8")
    return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}


def _query_params(shape: Shape, req: Request) -> dict[str, Any]:
    form = _query_form(req)
    return _from_query(shape, "", form) or {}


def _qname(shape: Shape, default: str) -> str:
    return str(shape.serialization.get("name", default))


def _from_query(shape: Shape, prefix: str, form: dict[str, str]) -> Any:
    if isinstance(shape, StructureShape):
        out = {}
        for name, member in shape.members.items():
            key = _qname(member, name)
            value = _from_query(member, f"{prefix}.{key}" if prefix else key, form)
            if value is not None:
                out[name] = value
        return out if out or not prefix else None
    if isinstance(shape, ListShape):
        if form.get(prefix) == "":  # (an empty list is sent as `Name=`)
            return []
        if shape.serialization.get("flattened"):
            name = shape.member.serialization.get("name")
            base = ".".join([*prefix.split(".")[:-1], name]) if name else prefix
        else:
            base = f"{prefix}.{shape.member.serialization.get('name', 'member')}"
        items = []
        i = 1
        while True:
            value = _from_query(shape.member, f"{base}.{i}", form)
            if value is None:
                break
            items.append(value)
            i += 1
        return items or None
    if isinstance(shape, MapShape):
        base = prefix if shape.serialization.get("flattened") else f"{prefix}.entry"
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        out = {}
        i = 1
        while f"{base}.{i}.{key_name}" in form:
            value = _from_query(shape.value, f"{base}.{i}.{value_name}", form)
            out[form[f"{base}.{i}.{key_name}"]] = value
            i += 1
        return out or None
    if prefix not in form:
        return None
    return _scalar(shape, form[prefix], "iso8601")


# -- scalars as text (query fields, URI labels, query strings, headers, XML)
def _scalar(shape: Shape, text: str, time_format: str) -> Any:
    kind = shape.type_name
    if kind in ("integer", "long"):
        return int(text)
    if kind in ("float", "double"):
        return float(text)
    if kind == "boolean":
        if text not in ("true", "false"):
            raise Malformed(f"{text!r} is not a boolean")
        return text == "true"
    if kind == "timestamp":
        return parse_timestamp(text, shape.serialization.get("timestampFormat", time_format))
    if kind == "blob":
        return _b64(text)
    return text


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Malformed("a blob is not valid base64") from None


def parse_timestamp(value: Any, fmt: str = "iso8601") -> dt.datetime:
    """A timestamp in any of the model's formats (numbers are epoch seconds)."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        raise Malformed(f"{value!r} is not a timestamp")
    text = value.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return dt.datetime.fromtimestamp(float(text), UTC)
    if fmt == "rfc822" or re.match(r"[A-Za-z]{3},", text):
        parsed = email.utils.parsedate_to_datetime(text)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Malformed(f"{text!r} is not a timestamp") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# -- json and cbor documents
def _json_body(body: bytes) -> Any:
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise Malformed(f"the body is not JSON: {e}") from None


def _cbor_body(body: bytes) -> Any:
    import cbor2

    if not body:
        return {}
    try:
        return cbor2.loads(body)
    except (cbor2.CBORDecodeError, ValueError) as e:
        raise Malformed(f"the body is not CBOR: {e}") from None


def _from_json(shape: Shape, value: Any) -> Any:
    """A JSON value as its shape says (members by their wire names, base64 blobs)."""
    if value is None:
        return None
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            raise Malformed(f"expected an object for {shape.name}")
        out = {}
        for name, member in shape.members.items():
            key = member.serialization.get("name", name)
            if key in value and value[key] is not None:
                out[name] = _from_json(member, value[key])
        return out
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            raise Malformed(f"expected a list for {shape.name}")
        return [_from_json(shape.member, v) for v in value]
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            raise Malformed(f"expected an object for {shape.name}")
        return {str(k): _from_json(shape.value, v) for k, v in value.items()}
    return _json_scalar(shape, value)


def _json_scalar(shape: Shape, value: Any) -> Any:
    kind = shape.type_name
    if kind == "timestamp":
        return parse_timestamp(value, shape.serialization.get("timestampFormat", "unixtimestamp"))
    if kind == "blob":
        if isinstance(value, bytes | bytearray):
            return bytes(value)
        if not isinstance(value, str):
            raise Malformed(f"expected base64 text for {shape.name}")
        return _b64(value)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise Malformed(f"expected a boolean for {shape.name}")
        return value
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise Malformed(f"expected an integer for {shape.name}")
        return value
    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Malformed(f"expected a number for {shape.name}")
        return float(value)
    if kind == "string":
        if not isinstance(value, str):
            raise Malformed(f"expected a string for {shape.name}")
        return value
    return value  # (a document: any JSON)


def _from_cbor(shape: Shape, value: Any) -> Any:
    """CBOR values are typed already (bytes, tagged datetimes); members by name."""
    if value is None:
        return None
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            raise Malformed(f"expected a map for {shape.name}")
        return {
            name: _from_cbor(member, value[name])
            for name, member in shape.members.items()
            if value.get(name) is not None
        }
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            raise Malformed(f"expected a list for {shape.name}")
        return [_from_cbor(shape.member, v) for v in value]
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            raise Malformed(f"expected a map for {shape.name}")
        return {str(k): _from_cbor(shape.value, v) for k, v in value.items()}
    return _json_scalar(shape, value)


# -- rest-json, rest-xml: URI labels, query string, headers, body
def _rest_params(op: OperationModel, shape: StructureShape, req: Request, xml: bool) -> Any:
    template = op.http.get("requestUri", "/")
    labels = models.uri_labels(template, req.path) or {}
    query = parse_qs(req.query, keep_blank_values=True)
    out: dict[str, Any] = {}
    body_members = {}
    for name, member in shape.members.items():
        where = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if where == "uri":
            raw = labels.get(re.sub(r"\W", "_", wire))
            if raw is not None:
                out[name] = _scalar(member, unquote(raw), "iso8601")
        elif where == "querystring":
            value = _from_querystring(member, wire, query, shape)
            if value is not None:
                out[name] = value
        elif where == "header":
            header = req.headers.get(wire.lower())
            if header is not None:
                out[name] = _from_header(member, header)
        elif where == "headers":
            prefix = wire.lower()
            found = {k[len(prefix) :]: v for k, v in req.headers.items() if k.startswith(prefix)}
            if found:
                out[name] = found
        else:
            body_members[name] = member
    payload = shape.serialization.get("payload")
    if payload:
        member = shape.members[payload]
        if member.type_name in ("blob", "string"):
            if req.body:
                data = bytes(req.body)
                out[payload] = data if member.type_name == "blob" else data.decode("utf-8")
        elif req.body.strip():
            doc = _xml_root(req.body) if xml else _json_body(req.body)
            out[payload] = _from_xml(member, doc) if xml else _from_json(member, doc)
    elif body_members and req.body.strip():
        if xml:
            out.update(_from_xml(shape, _xml_root(req.body), only=body_members))
        else:
            values = _from_json(shape, _json_body(req.body))
            out.update({k: v for k, v in values.items() if k in body_members})
    return out


def _from_querystring(
    member: Shape, wire: str, query: dict[str, list[str]], parent: StructureShape
) -> Any:
    if isinstance(member, MapShape):  # every query parameter no other member names
        named = {
            m.serialization.get("name", n)
            for n, m in parent.members.items()
            if m.serialization.get("location") == "querystring" and m is not member
        }
        rest = {k: v for k, v in query.items() if k not in named}
        if not rest:
            return None
        if isinstance(member.value, ListShape):
            return rest
        return {k: v[-1] for k, v in rest.items()}
    if wire not in query:
        return None
    if isinstance(member, ListShape):
        return [_scalar(member.member, v, "iso8601") for v in query[wire]]
    return _scalar(member, query[wire][-1], "iso8601")


def _from_header(member: Shape, text: str) -> Any:
    if isinstance(member, ListShape):
        return [_scalar(member.member, v.strip(), "rfc822") for v in text.split(",")]
    if member.type_name == "string" and member.serialization.get("jsonvalue"):
        return json.loads(_b64(text))
    return _scalar(member, text, "rfc822")


# -- XML bodies (rest-xml)
def _xml_root(body: bytes) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(body)
    except ElementTree.ParseError as e:
        raise Malformed(f"the body is not XML: {e}") from None


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _from_xml(shape: Shape, node: ElementTree.Element, only: dict[str, Shape] | None = None) -> Any:
    if isinstance(shape, StructureShape):
        out = {}
        children: dict[str, list[ElementTree.Element]] = {}
        for child in node:
            children.setdefault(_local(child.tag), []).append(child)
        for name, member in (only or shape.members).items():
            wire = member.serialization.get("name", name)
            if member.serialization.get("xmlAttribute"):
                attr = next((v for k, v in node.attrib.items() if _local(k) == wire), None)
                if attr is not None:
                    out[name] = _scalar(member, attr, "iso8601")
                continue
            if isinstance(member, ListShape) and member.serialization.get("flattened"):
                flat = children.get(member.member.serialization.get("name", wire), [])
                if flat:
                    out[name] = [_from_xml(member.member, c) for c in flat]
                continue
            found = children.get(wire)
            if found:
                out[name] = _from_xml(member, found[0])
        return out
    if isinstance(shape, ListShape):
        item = shape.member.serialization.get("name", "member")
        return [_from_xml(shape.member, c) for c in node if _local(c.tag) == item]
    if isinstance(shape, MapShape):
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        out = {}
        for entry in node:
            k = next((c for c in entry if _local(c.tag) == key_name), None)
            v = next((c for c in entry if _local(c.tag) == value_name), None)
            if k is not None and v is not None:
                out[k.text or ""] = _from_xml(shape.value, v)
        return out
    return _scalar(shape, node.text or "", "iso8601")


def from_xml_element(shape: Shape, node: ElementTree.Element) -> Any:
    """An already-parsed XML element as `shape`'s value (for callers that look at the
    root themselves, e.g. S3's sub-resource bodies)."""
    return _from_xml(shape, node)


def from_xml(shape: Shape, body: bytes) -> Any:
    """An XML document (a rest-xml payload, e.g. S3's `<Tagging>`) as `shape`'s value;
    Malformed if it is not XML or a value does not parse as its shape says."""
    try:
        return _from_xml(shape, _xml_root(body))
    except (ValueError, TypeError) as e:
        raise Malformed(str(e)) from None


__all__ = ["ApiError", "Malformed", "from_xml", "parse", "parse_timestamp"]
