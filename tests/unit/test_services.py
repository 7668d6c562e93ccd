"""Which service a signed request names, and each protocol's error for one faaslab lacks."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from faaslab.http.server import Request
from faaslab.services import signed_service, unknown_service

SCOPE = (
    "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/{}/aws4_request, "
    "SignedHeaders=host, Signature=ab"
)


def req(method: str, path: str, service: str | None, query: str = "", **headers: str) -> Request:
    h = {k.replace("_", "-"): v for k, v in headers.items()}
    if service:
        h["authorization"] = SCOPE.format(service)
    return Request(method, path, query, h, b"")


def test_signed_service_from_header_or_presigned_query() -> None:
    assert signed_service(req("POST", "/", "dynamodb")) == "dynamodb"
    assert signed_service(req("GET", "/", None)) is None
    presigned = (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKID%2F20250101%2Fus-east-1%2Fs3%2Faws4_request"
    )
    assert signed_service(req("GET", "/b/k", None, presigned)) == "s3"


def test_json_protocol_error_names_service_and_target() -> None:
    r = unknown_service(
        req("POST", "/", "dynamodb", x_amz_target="DynamoDB_20120810.ListTables"), "dynamodb"
    )
    assert r.status == 400 and r.headers["x-amzn-ErrorType"] == "UnknownOperationException"
    assert r.headers["Content-Type"] == "application/x-amz-json-1.0"
    assert json.loads(bytes(r.body)) == {
        "__type": "UnknownOperationException",
        "message": "faaslab does not implement the dynamodb API (ListTables)",
    }


def test_query_and_ec2_errors_are_xml_with_the_action() -> None:
    r = unknown_service(
        req("POST", "/", "sts", "Action=GetCallerIdentity&Version=2011-06-15"), "sts"
    )
    root = ET.fromstring(bytes(r.body))
    assert root.tag == "ErrorResponse"
    assert (
        root.findtext("Error/Type") == "Sender" and root.findtext("Error/Code") == "InvalidAction"
    )
    assert (
        root.findtext("Error/Message")
        == "faaslab does not implement the sts API (GetCallerIdentity)"
    )
    r = unknown_service(req("POST", "/", "ec2", "Action=DescribeRegions"), "ec2")
    root = ET.fromstring(bytes(r.body))
    assert root.tag == "Response" and root.findtext("Errors/Error/Code") == "InvalidAction"


def test_rest_operation_is_the_most_specific_match() -> None:
    r = unknown_service(req("GET", "/2018-10-31/layers", "lambda"), "lambda")
    assert b"(ListLayers)" in bytes(r.body)
    r = unknown_service(
        req("GET", "/2018-10-31/layers", "lambda", "find=LayerVersion&Arn=x"), "lambda"
    )
    assert b"(GetLayerVersionByArn)" in bytes(r.body)


def test_a_service_botocore_does_not_know_gets_a_guessed_protocol() -> None:
    r = unknown_service(req("POST", "/", "no-such-svc", x_amz_target="X.Op"), "no-such-svc")
    assert (
        json.loads(bytes(r.body))["message"]
        == "faaslab does not implement the no-such-svc API (Op)"
    )
    r = unknown_service(req("GET", "/x", "../../etc"), "../../etc")
    assert r.status == 400
