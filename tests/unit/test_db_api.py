"""The body of PATCH /_faaslab/db/ID (`faaslab db modify`, the console's Modify form): its
options type-checked as create's are, then the same change ModifyDBCluster makes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from faaslab.databases.api import modified, modify_options
from faaslab.databases.model import ClusterSpec, SpecError
from faaslab.databases.spec import spec_from_options

PASSWORD = "Secret-pass99"
V1 = spec_from_options("one", "mysql", "v1", 1, 4, 300, "admin1", PASSWORD)
V2 = spec_from_options("two", "postgresql", "v2", 0, 2, 300, "admin1", PASSWORD)


def body(**options: Any) -> bytes:
    return json.dumps(options).encode()


def test_v2_scaling_goes_in_the_v2_configuration_and_keeps_what_is_not_named() -> None:
    spec = modified(V2, modify_options(body(max_capacity=8, enable_http_endpoint=True)))
    assert (spec.min_capacity, spec.max_capacity) == (0, 8)
    assert spec.auto_pause and spec.seconds_until_auto_pause == 300
    assert spec.enable_http_endpoint and spec.master_password == PASSWORD
    steady = modified(V2, modify_options(body(min_capacity=1.5)))
    assert (steady.min_capacity, steady.max_capacity, steady.auto_pause) == (1.5, 2, False)


def test_v1_scaling_goes_in_the_v1_configuration_with_auto_pause() -> None:
    spec = modified(V1, modify_options(body(min_capacity=2, max_capacity=8, auto_pause=False)))
    assert (spec.min_capacity, spec.max_capacity, spec.auto_pause) == (2, 8, False)
    later = modified(V1, modify_options(body(auto_pause_seconds=900, master_password="New-pass99")))
    assert later.seconds_until_auto_pause == 900 and later.auto_pause
    assert later.master_password == "New-pass99" and later.max_capacity == 4


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"min_capacity": "1"}, "'min_capacity' must be a number"),
        ({"max_capacity": True}, "'max_capacity' must be a number"),
        ({"auto_pause_seconds": [300]}, "'auto_pause_seconds' must be a number"),
        ({"enable_http_endpoint": 1}, "'enable_http_endpoint' must be true or false"),
        ({"auto_pause": "yes"}, "'auto_pause' must be true or false"),
        ({"master_password": 12345678}, "'master_password' must be a string"),
        ({"colour": "red"}, "unknown option 'colour'; options: min_capacity, max_capacity"),
        ({}, "nothing to modify"),
        ({"min_capacity": None}, "nothing to modify"),
    ],
)
def test_a_wrongly_typed_body_names_the_option(options: dict[str, Any], words: str) -> None:
    with pytest.raises(SpecError, match=words):
        modify_options(body(**options))


@pytest.mark.parametrize("raw", [b"[]", b'"modify"', b"{min", b"\xff\xfe{}", b"[" * 100_000])
def test_a_body_that_is_not_an_object_is_refused(raw: bytes) -> None:
    with pytest.raises(SpecError, match="body"):
        modify_options(raw)


@pytest.mark.parametrize(
    ("spec", "options", "words"),
    [
        (V2, {"min_capacity": 4, "max_capacity": 1}, "MinCapacity 4 is greater than MaxCapacity 1"),
        (V2, {"min_capacity": 4}, "MinCapacity 4 is greater than MaxCapacity 2"),
        (V2, {"auto_pause": True}, "'auto_pause' is for Aurora Serverless v1"),
        (V1, {"max_capacity": 3}, "Capacity value 3 is not valid"),
        (V1, {"master_password": "short"}, "password"),
    ],
)
def test_values_are_checked_as_modify_db_cluster_checks_them(
    spec: ClusterSpec, options: dict[str, Any], words: str
) -> None:
    with pytest.raises(SpecError, match=words):
        modified(spec, modify_options(body(**options)))
