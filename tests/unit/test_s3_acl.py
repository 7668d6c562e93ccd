"""ACLs (faaslab/s3/acl.py): canned ACLs, grant headers, the AccessControlPolicy XML."""

from __future__ import annotations

import pytest

from faaslab.s3.acl import (
    ALL_USERS,
    AUTHENTICATED_USERS,
    LOG_DELIVERY,
    PRIVATE,
    Acl,
    Grant,
    canned,
    from_headers,
    from_xml,
)
from faaslab.s3.errors import S3Error


def test_canned() -> None:
    assert canned("private") == PRIVATE
    assert canned("bucket-owner-full-control") == PRIVATE  # one account: the same owner
    pr = canned("public-read")
    assert pr.public and pr.allows(ALL_USERS, "READ") and not pr.allows(ALL_USERS, "WRITE")
    prw = canned("public-read-write")
    assert prw.allows(ALL_USERS, "WRITE")
    ar = canned("authenticated-read")
    assert ar.public and ar.allows(AUTHENTICATED_USERS, "READ")
    assert not ar.allows(ALL_USERS, "READ")
    ld = canned("log-delivery-write")
    assert (
        not ld.public and ld.allows(LOG_DELIVERY, "WRITE") and ld.allows(LOG_DELIVERY, "READ_ACP")
    )
    with pytest.raises(S3Error) as e:
        canned("public")
    assert e.value.code == "InvalidArgument"


def test_full_control_gives_every_permission() -> None:
    acl = Acl((Grant("Group", ALL_USERS, "FULL_CONTROL"),))
    assert all(acl.allows(ALL_USERS, p) for p in ("READ", "WRITE", "READ_ACP", "WRITE_ACP"))


def test_grant_headers() -> None:
    other = "5" * 64  # another account's canonical id, as S3 shapes them
    acl = from_headers(
        {
            "x-amz-grant-read": f'uri="{ALL_USERS}", id="faaslab"',
            "x-amz-grant-write-acp": f"id={other}",
        }
    )
    assert acl is not None
    assert acl.grants == (
        Grant("Group", ALL_USERS, "READ"),
        Grant("CanonicalUser", "faaslab", "READ", "faaslab"),
        Grant("CanonicalUser", other, "WRITE_ACP"),
    )
    assert from_headers({"x-amz-meta-a": "b"}) is None
    for bad, code in (
        ({"x-amz-grant-read": "who=x"}, "InvalidArgument"),
        ({"x-amz-acl": "private", "x-amz-grant-read": 'id="a"'}, "InvalidRequest"),
        ({"x-amz-grant-read": 'id="_foo"'}, "InvalidArgument"),
        ({"x-amz-grant-read": 'uri="http://example.com/group"'}, "InvalidArgument"),
        ({"x-amz-grant-read": "emailAddress=a@example.com"}, "UnresolvableGrantByEmailAddress"),
    ):
        with pytest.raises(S3Error) as e:
            from_headers(bad)
        assert e.value.code == code


def test_xml_round_trip() -> None:
    acl = Acl(
        (
            Grant("CanonicalUser", "faaslab", "FULL_CONTROL", "faaslab"),
            Grant("Group", ALL_USERS, "READ"),
            Grant("CanonicalUser", "a" * 64, "READ_ACP"),
        )
    )
    assert from_xml(acl.to_xml()) == acl
    assert Acl.loads(acl.dumps()) == acl


@pytest.mark.parametrize(
    "body",
    [
        b"not xml",
        b"<Other/>",
        b"<AccessControlPolicy/>",
        b"<AccessControlPolicy><AccessControlList><Grant><Permission>READ</Permission>"
        b"</Grant></AccessControlList></AccessControlPolicy>",
        b'<AccessControlPolicy xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        b'<AccessControlList><Grant><Grantee xsi:type="Group"><URI>u</URI></Grantee>'
        b"<Permission>EVERYTHING</Permission></Grant></AccessControlList></AccessControlPolicy>",
    ],
)
def test_malformed_xml(body: bytes) -> None:
    with pytest.raises(S3Error) as e:
        from_xml(body)
    assert e.value.code == "MalformedACLError"
