"""Listing edge cases, on moto and faaslab: delimiters of several characters, prefixes that
contain the delimiter, markers inside and at common prefixes, paging through common
prefixes, encoding-type=url (botocore asks for it on every list), MaxKeys=0."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract.test_s3_contract import keys_of, moto_differs, unique_bucket


@pytest.fixture
def bkt(s3: Any) -> str:
    """A new, empty bucket of this test's own."""
    name = unique_bucket()
    s3.create_bucket(Bucket=name)
    return name


KEYS = ["a", "a/", "a/b", "a/b/c", "a/c", "a//d", "b--c--d", "b--c-e", "b--x", "z+1/q", "z 2/q"]


@pytest.fixture
def listed(s3: Any, bkt: str) -> str:
    for key in KEYS:
        s3.put_object(Bucket=bkt, Key=key, Body=b"")
    return bkt


def prefixes_of(r: dict[str, Any]) -> list[str]:
    return [p["Prefix"] for p in r.get("CommonPrefixes", [])]


def test_delimiter_of_several_characters(s3: Any, listed: str) -> None:
    r = s3.list_objects_v2(Bucket=listed, Delimiter="--")
    assert prefixes_of(r) == ["b--"]
    assert keys_of(r) == ["a", "a/", "a//d", "a/b", "a/b/c", "a/c", "z 2/q", "z+1/q"]
    r = s3.list_objects_v2(Bucket=listed, Prefix="b--", Delimiter="--")
    assert (prefixes_of(r), keys_of(r)) == (["b--c--"], ["b--c-e", "b--x"])


def test_prefix_containing_the_delimiter(s3: Any, listed: str) -> None:
    r = s3.list_objects_v2(Bucket=listed, Prefix="a/", Delimiter="/")
    assert (prefixes_of(r), keys_of(r)) == (["a//", "a/b/"], ["a/", "a/b", "a/c"])
    r = s3.list_objects(Bucket=listed, Prefix="a/", Delimiter="/")
    assert (prefixes_of(r), keys_of(r), r["Prefix"]) == (
        ["a//", "a/b/"],
        ["a/", "a/b", "a/c"],
        "a/",
    )


def test_marker_inside_a_common_prefix_shows_it_again(
    request: pytest.FixtureRequest, s3: Any, listed: str
) -> None:
    moto_differs(request, "decodes '+' in a listed prefix as a space")
    rest = ["b--c--d", "b--c-e", "b--x"]
    r = s3.list_objects(Bucket=listed, Delimiter="/", Marker="a/b")
    assert (prefixes_of(r), keys_of(r)) == (["a/", "z 2/", "z+1/"], rest)
    r = s3.list_objects_v2(Bucket=listed, Delimiter="/", StartAfter="a/")
    assert (prefixes_of(r), keys_of(r)) == (["z 2/", "z+1/"], rest)


def test_paging_one_entry_at_a_time_through_common_prefixes(
    request: pytest.FixtureRequest, s3: Any, listed: str
) -> None:
    """A page may end on a common prefix or on a key that ends with the delimiter: the next
    page starts after that prefix's keys, or right after that key."""
    moto_differs(request, "shows a common prefix again on the page after it")
    for v2 in (True, False):
        seen: list[str] = []
        kwargs: dict[str, Any] = {"Bucket": listed, "Prefix": "a/", "Delimiter": "/", "MaxKeys": 1}
        for _ in range(10):
            r = s3.list_objects_v2(**kwargs) if v2 else s3.list_objects(**kwargs)
            seen += keys_of(r) + prefixes_of(r)
            if not r["IsTruncated"]:
                break
            if v2:
                kwargs["ContinuationToken"] = r["NextContinuationToken"]
            else:
                kwargs["Marker"] = r["NextMarker"]
        assert seen == ["a/", "a//", "a/b", "a/b/", "a/c"], v2


def test_max_keys_zero_is_an_empty_page_not_truncated(s3: Any, listed: str) -> None:
    for r in (
        s3.list_objects(Bucket=listed, MaxKeys=0),
        s3.list_objects_v2(Bucket=listed, MaxKeys=0),
    ):
        assert (keys_of(r), r["IsTruncated"], r["MaxKeys"]) == ([], False, 0)


def test_encoding_type_url_chosen_by_the_caller(
    request: pytest.FixtureRequest, s3: Any, listed: str
) -> None:
    """Asked by the caller, botocore leaves the answer encoded: keys, common prefixes and
    the delimiter come url-encoded ('/' kept), in v1 and v2."""
    moto_differs(request, "ignores encoding-type")
    for op in (s3.list_objects, s3.list_objects_v2):
        r = op(Bucket=listed, Prefix="z", Delimiter="/", EncodingType="url")
        assert prefixes_of(r) == ["z%202/", "z%2B1/"]
        assert r["EncodingType"] == "url"
        r = op(Bucket=listed, Prefix="z+", EncodingType="url")
        assert keys_of(r) == ["z%2B1/q"]


def test_prefix_and_delimiter_round_trip_through_botocore(
    request: pytest.FixtureRequest,
    s3: Any,
    bkt: str,
) -> None:
    """botocore sends encoding-type=url and decodes what S3 encodes (v1: Delimiter, Marker,
    NextMarker, keys, prefixes, not Prefix; v2: also Prefix and StartAfter), so odd
    characters must come back as sent."""
    moto_differs(request, "answers 404 to a PUT of a key with a newline")
    for key in ["p\n/x", "p\n/y", "p\nz"]:
        s3.put_object(Bucket=bkt, Key=key, Body=b"")
    for op in (s3.list_objects, s3.list_objects_v2):
        r = op(Bucket=bkt, Prefix="p", Delimiter="\n/")
        assert (r["Prefix"], r["Delimiter"]) == ("p", "\n/")
        assert (prefixes_of(r), keys_of(r)) == (["p\n/"], ["p\nz"])
        r = op(Bucket=bkt, Prefix="p\n", Delimiter="/")
        assert (r["Prefix"], r["Delimiter"]) == ("p\n", "/")
        assert (prefixes_of(r), keys_of(r)) == (["p\n/"], ["p\nz"])
    r = s3.list_objects(Bucket=bkt, Marker="p\n/x")
    assert (r["Marker"], keys_of(r)) == ("p\n/x", ["p\n/y", "p\nz"])
    r = s3.list_objects_v2(Bucket=bkt, StartAfter="p\n/x")
    assert (r["StartAfter"], keys_of(r)) == ("p\n/x", ["p\n/y", "p\nz"])


def test_list_buckets_in_pages(request: pytest.FixtureRequest, s3: Any) -> None:
    """ListBuckets with MaxBuckets (and a Prefix, as other tests' buckets exist): pages
    linked by ContinuationToken, in name order."""
    moto_differs(request, "gives no ContinuationToken")
    stem = unique_bucket()
    names = [f"{stem}-{i}" for i in range(3)]
    for name in names:
        s3.create_bucket(Bucket=name)
    first = s3.list_buckets(MaxBuckets=2, Prefix=stem)
    assert [b["Name"] for b in first["Buckets"]] == names[:2]
    rest = s3.list_buckets(MaxBuckets=2, Prefix=stem, ContinuationToken=first["ContinuationToken"])
    assert [b["Name"] for b in rest["Buckets"]] == names[2:]
    assert "ContinuationToken" not in rest
