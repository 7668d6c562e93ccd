"""S3 bucket and object configuration through real clients: tagging, CORS (with a
browser's raw preflight), lifecycle expiry on emulated time (`--time-scale 86400`: a
lifecycle day is a second), and the configurations S3 answers with defaults."""

from __future__ import annotations

import http.client
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from faaslab.cliutil import LOCAL_KEYS
from tests.conftest import FIXTURES, Faaslab, start_faaslab

TEMPLATE = FIXTURES / "s3config.yaml"


@pytest.fixture(scope="module")
def fl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faaslab]:
    f = start_faaslab(
        TEMPLATE, tmp_path_factory.mktemp("s3config") / "state", "--time-scale", "86400"
    )
    yield f
    assert f.stop() == 0
    assert "Traceback" not in f.log_path.read_text(), f.log_path.read_text()


@pytest.fixture(scope="module")
def s3(fl: Faaslab) -> Iterator[Any]:
    client = fl.aws("s3")
    yield client
    client.close()


def _bucket(s3: Any, name: str) -> str:
    s3.create_bucket(Bucket=name)
    return name


def _error(call: Callable[[], Any]) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as e:
        call()
    r = e.value.response
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"], r["Error"]["Message"]


def _tag_set(tags: dict[str, str]) -> dict[str, Any]:
    return {"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}


def _wait(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


# -- tagging
def test_bucket_tags_round_trip_with_s3s_limits(s3: Any) -> None:
    b = _bucket(s3, "cfg-btags")
    assert _error(lambda: s3.get_bucket_tagging(Bucket=b))[:2] == (404, "NoSuchTagSet")
    s3.put_bucket_tagging(Bucket=b, Tagging=_tag_set({"team": "data", "cost centre": "42"}))
    got = s3.get_bucket_tagging(Bucket=b)["TagSet"]
    assert {t["Key"]: t["Value"] for t in got} == {"team": "data", "cost centre": "42"}
    many = {f"k{i}": "v" for i in range(51)}
    status, code, message = _error(lambda: s3.put_bucket_tagging(Bucket=b, Tagging=_tag_set(many)))
    assert (status, code) == (400, "InvalidTag") and "50" in message
    status, code, _ = _error(
        lambda: s3.put_bucket_tagging(Bucket=b, Tagging=_tag_set({"aws:owner": "x"}))
    )
    assert (status, code) == (400, "InvalidTag")
    assert len(s3.get_bucket_tagging(Bucket=b)["TagSet"]) == 2  # a refused write changes nothing
    s3.delete_bucket_tagging(Bucket=b)
    assert _error(lambda: s3.get_bucket_tagging(Bucket=b))[1] == "NoSuchTagSet"
    # the configuration goes with its bucket
    s3.put_bucket_tagging(Bucket=b, Tagging=_tag_set({"a": "1"}))
    s3.delete_bucket(Bucket=b)
    s3.create_bucket(Bucket=b)
    assert _error(lambda: s3.get_bucket_tagging(Bucket=b))[1] == "NoSuchTagSet"


def test_object_tags_live_and_die_with_their_object(s3: Any) -> None:
    b = _bucket(s3, "cfg-otags")
    s3.put_object(Bucket=b, Key="k", Body=b"x", Tagging="colour=blue&size=L%20arge")
    tags = s3.get_object_tagging(Bucket=b, Key="k")["TagSet"]
    assert tags == [{"Key": "colour", "Value": "blue"}, {"Key": "size", "Value": "L arge"}]
    assert (
        s3.head_object(Bucket=b, Key="k")["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"]
        == "2"
    )
    assert s3.get_object(Bucket=b, Key="k")["TagCount"] == 2
    s3.put_object_tagging(Bucket=b, Key="k", Tagging=_tag_set({"only": "one"}))
    assert s3.get_object_tagging(Bucket=b, Key="k")["TagSet"] == [{"Key": "only", "Value": "one"}]
    # a copy takes the source's tags (COPY), or the request's (REPLACE)
    s3.copy_object(Bucket=b, Key="copied", CopySource={"Bucket": b, "Key": "k"})
    assert s3.get_object_tagging(Bucket=b, Key="copied")["TagSet"] == [
        {"Key": "only", "Value": "one"}
    ]
    s3.copy_object(
        Bucket=b,
        Key="replaced",
        CopySource={"Bucket": b, "Key": "k"},
        TaggingDirective="REPLACE",
        Tagging="new=tag",
    )
    assert s3.get_object_tagging(Bucket=b, Key="replaced")["TagSet"] == [
        {"Key": "new", "Value": "tag"}
    ]
    # an overwrite without tags leaves the new object untagged
    s3.put_object(Bucket=b, Key="k", Body=b"y")
    assert s3.get_object_tagging(Bucket=b, Key="k")["TagSet"] == []
    assert "TagCount" not in s3.get_object(Bucket=b, Key="k")
    # a deleted object's tags do not come back with a new object of that key
    s3.put_object_tagging(Bucket=b, Key="k", Tagging=_tag_set({"gone": "soon"}))
    s3.delete_object(Bucket=b, Key="k")
    assert _error(lambda: s3.get_object_tagging(Bucket=b, Key="k"))[:2] == (404, "NoSuchKey")
    s3.put_object(Bucket=b, Key="k", Body=b"z")
    assert s3.get_object_tagging(Bucket=b, Key="k")["TagSet"] == []
    s3.delete_object_tagging(Bucket=b, Key="replaced")
    assert s3.get_object_tagging(Bucket=b, Key="replaced")["TagSet"] == []
    # a multipart upload gives its tags to the object it completes
    up = s3.create_multipart_upload(Bucket=b, Key="mp", Tagging="part=ly")
    etag = s3.upload_part(Bucket=b, Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=b"p")
    s3.complete_multipart_upload(
        Bucket=b,
        Key="mp",
        UploadId=up["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag["ETag"]}]},
    )
    assert s3.get_object_tagging(Bucket=b, Key="mp")["TagSet"] == [{"Key": "part", "Value": "ly"}]


def test_each_object_version_has_its_own_tags(fl: Faaslab, s3: Any) -> None:
    b = _bucket(s3, "cfg-vtags")
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"1", Tagging="gen=one")["VersionId"]
    v2 = s3.put_object(Bucket=b, Key="k", Body=b"2", Tagging="gen=two")["VersionId"]
    current = s3.get_object_tagging(Bucket=b, Key="k")
    assert current["TagSet"] == [{"Key": "gen", "Value": "two"}] and current["VersionId"] == v2
    old = s3.get_object_tagging(Bucket=b, Key="k", VersionId=v1)
    assert old["TagSet"] == [{"Key": "gen", "Value": "one"}] and old["VersionId"] == v1
    s3.put_object_tagging(Bucket=b, Key="k", VersionId=v1, Tagging=_tag_set({"gen": "1"}))
    assert s3.get_object(Bucket=b, Key="k", VersionId=v1)["TagCount"] == 1
    assert s3.get_object_tagging(Bucket=b, Key="k")["TagSet"] == [{"Key": "gen", "Value": "two"}]
    s3.delete_object(Bucket=b, Key="k")  # a delete marker: the versions keep their tags
    assert _error(lambda: s3.get_object_tagging(Bucket=b, Key="k"))[1] == "NoSuchKey"
    assert s3.get_object_tagging(Bucket=b, Key="k", VersionId=v2)["TagSet"] == [
        {"Key": "gen", "Value": "two"}
    ]
    s3.delete_object(Bucket=b, Key="k", VersionId=v1)  # for good: its tags too
    assert _error(lambda: s3.get_object_tagging(Bucket=b, Key="k", VersionId=v1))[1] in (
        "NoSuchVersion"
    )
    db = sqlite3.connect(fl.state_dir / "s3" / "index.db")
    rows = db.execute("SELECT version FROM object_tags WHERE bucket=?", (b,)).fetchall()
    db.close()
    assert rows == [(v2,)]


@pytest.mark.parametrize(
    ("tags", "words"),
    [
        ({f"k{i}": "v" for i in range(11)}, "Object tags cannot be greater than 10"),
        ({"k" * 129: "v"}, "The TagKey you have provided is too long, max 128"),
        ({"k": "v" * 257}, "The TagValue you have provided is too long, max 256"),
        ({"aws:x": "v"}, "Your TagKey cannot be prefixed with aws:"),
    ],
)
def test_object_tags_beyond_s3s_limits_are_refused(
    s3: Any, tags: dict[str, str], words: str
) -> None:
    s3.put_object(Bucket="cfg-site", Key="limits", Body=b"x", Tagging="keep=me")
    status, code, message = _error(
        lambda: s3.put_object_tagging(Bucket="cfg-site", Key="limits", Tagging=_tag_set(tags))
    )
    assert (status, code, message) == (400, "InvalidTag", words)
    assert s3.get_object_tagging(Bucket="cfg-site", Key="limits")["TagSet"] == [
        {"Key": "keep", "Value": "me"}
    ]
    twice = {"TagSet": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]}
    status, code, message = _error(
        lambda: s3.put_object_tagging(Bucket="cfg-site", Key="limits", Tagging=twice)
    )
    assert (code, message) == ("InvalidTag", "Cannot provide multiple Tags with the same key")
    # through the header: refused, nothing written
    header = "&".join(f"{k}={v}" for k, v in tags.items())
    assert (
        _error(lambda: s3.put_object(Bucket="cfg-site", Key="limits-h", Body=b"x", Tagging=header))[
            1
        ]
        == "InvalidTag"
    )
    assert _error(lambda: s3.head_object(Bucket="cfg-site", Key="limits-h"))[0] == 404


def _aws_cli(fl: Faaslab, *args: str) -> str:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": LOCAL_KEYS["aws_access_key_id"]}
    env["AWS_SECRET_ACCESS_KEY"] = LOCAL_KEYS["aws_secret_access_key"]
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    aws = [str(Path(sys.executable).parent / "aws"), "--endpoint-url", fl.url, "s3api"]
    done = subprocess.run(
        [*aws, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_aws_cli_writes_and_reads_tags_cors_and_lifecycle(
    fl: Faaslab, s3: Any, tmp_path: Path
) -> None:
    s3.create_bucket(Bucket="cfg-cli")
    _aws_cli(
        fl, "put-bucket-tagging", "--bucket", "cfg-cli", "--tagging",
        "TagSet=[{Key=env,Value=test}]",
    )  # fmt: skip
    got = json.loads(_aws_cli(fl, "get-bucket-tagging", "--bucket", "cfg-cli"))
    assert got["TagSet"] == [{"Key": "env", "Value": "test"}]
    cors = {"CORSRules": [{"AllowedOrigins": ["http://localhost:3000"], "AllowedMethods": ["PUT"]}]}
    (tmp_path / "cors.json").write_text(json.dumps(cors))
    _aws_cli(
        fl, "put-bucket-cors", "--bucket", "cfg-cli", "--cors-configuration",
        f"file://{tmp_path / 'cors.json'}",
    )  # fmt: skip
    assert json.loads(_aws_cli(fl, "get-bucket-cors", "--bucket", "cfg-cli")) == cors
    rules = {"Rules": [{"ID": "tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled",
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}]}  # fmt: skip
    (tmp_path / "lc.json").write_text(json.dumps(rules))
    _aws_cli(
        fl, "put-bucket-lifecycle-configuration", "--bucket", "cfg-cli",
        "--lifecycle-configuration", f"file://{tmp_path / 'lc.json'}",
    )  # fmt: skip
    got = json.loads(_aws_cli(fl, "get-bucket-lifecycle-configuration", "--bucket", "cfg-cli"))
    assert got["Rules"] == rules["Rules"]
    assert _aws_cli(fl, "get-bucket-notification-configuration", "--bucket", "cfg-cli").strip() in (
        "",
        "{}",
    )


# -- CORS
class Answer:
    def __init__(self, r: http.client.HTTPResponse) -> None:
        self.status = r.status
        self.headers = r.headers
        self.body = r.read()


def _raw(fl: Faaslab, method: str, path: str, headers: dict[str, str]) -> Answer:
    conn = http.client.HTTPConnection(fl.url.removeprefix("http://"), timeout=30)
    try:
        conn.request(method, path, headers=headers)
        return Answer(conn.getresponse())
    finally:
        conn.close()


def test_cors_preflight_and_actual_requests_as_a_browser_sends_them(fl: Faaslab, s3: Any) -> None:
    b = _bucket(s3, "cfg-cors")
    s3.put_object(Bucket=b, Key="photo.jpg", Body=b"jpeg")
    ask = {
        "Origin": "https://app.example.com",
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "Content-Type, x-amz-meta-owner",
    }
    r = _raw(fl, "OPTIONS", f"/{b}/photo.jpg", ask)  # unsigned, as browsers send it
    assert r.status == 403 and b"CORSResponse: CORS is not enabled for this bucket." in r.body
    assert _error(lambda: s3.get_bucket_cors(Bucket=b))[:2] == (404, "NoSuchCORSConfiguration")
    rules = [
        {
            "AllowedOrigins": ["https://*.example.com"],
            "AllowedMethods": ["GET", "PUT"],
            "AllowedHeaders": ["content-type", "x-amz-meta-*"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 600,
        },
        {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]},
    ]
    s3.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": rules})
    assert s3.get_bucket_cors(Bucket=b)["CORSRules"] == rules
    r = _raw(fl, "OPTIONS", f"/{b}/photo.jpg", ask)
    assert r.status == 200
    assert r.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert r.headers["Access-Control-Allow-Methods"] == "GET, PUT"
    assert r.headers["Access-Control-Allow-Headers"] == "content-type, x-amz-meta-owner"
    assert r.headers["Access-Control-Expose-Headers"] == "ETag"
    assert r.headers["Access-Control-Max-Age"] == "600"
    # a header no rule allows, an origin no rule names, a method no rule has
    for change in (
        {"Access-Control-Request-Headers": "x-secret"},
        {"Origin": "https://evil.test"},
        {"Access-Control-Request-Method": "DELETE"},
    ):
        r = _raw(fl, "OPTIONS", f"/{b}/photo.jpg", {**ask, **change})
        assert r.status == 403 and b"<Code>AccessForbidden</Code>" in r.body, change
        assert "Access-Control-Allow-Origin" not in r.headers
    assert _raw(fl, "OPTIONS", f"/{b}", {"Origin": "https://x.test"}).status == 400
    assert _raw(fl, "OPTIONS", "/cfg-no-such-bucket/k", ask).status == 404
    # a GET from any origin matches the wildcard rule; with the origin a signed request
    got = s3.get_object(Bucket=b, Key="photo.jpg")
    assert "access-control-allow-origin" not in got["ResponseMetadata"]["HTTPHeaders"]
    browser = fl.aws("s3")
    browser.meta.events.register(
        "before-sign.s3.GetObject",
        lambda request, **_: request.headers.__setitem__("Origin", "https://other.test"),
    )
    got = browser.get_object(Bucket=b, Key="photo.jpg")
    browser.close()
    headers = got["ResponseMetadata"]["HTTPHeaders"]
    assert headers["access-control-allow-origin"] == "*"
    assert headers["access-control-allow-methods"] == "GET"
    # virtual-hosted style reaches the same rules
    port = fl.url.rsplit(":", 1)[1]
    r = _raw(fl, "OPTIONS", "/photo.jpg", {**ask, "Host": f"{b}.localhost:{port}"})
    assert r.status == 200 and r.headers["Access-Control-Allow-Origin"] == ask["Origin"]
    s3.delete_bucket_cors(Bucket=b)
    assert _raw(fl, "OPTIONS", f"/{b}/photo.jpg", ask).status == 403


def test_cors_configuration_is_checked_as_s3_checks_it(s3: Any) -> None:
    def put(rule: dict[str, Any]) -> Callable[[], Any]:
        return lambda: s3.put_bucket_cors(
            Bucket="cfg-site", CORSConfiguration={"CORSRules": [rule]}
        )

    for rule, words in [
        ({"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}, "Unsupported method is PATCH"),
        ({"AllowedOrigins": ["*.*.example.com"], "AllowedMethods": ["GET"]}, "one wildcard"),
    ]:
        status, code, message = _error(put(rule))
        assert (status, code) == (400, "InvalidRequest") and words in message, rule
    # the template's rules (CorsConfiguration) stay as they were
    assert s3.get_bucket_cors(Bucket="cfg-site")["CORSRules"] == [TEMPLATE_RULE]


TEMPLATE_RULE = {
    "AllowedHeaders": ["*"],
    "AllowedMethods": ["GET", "PUT"],
    "AllowedOrigins": ["http://localhost:5173"],
    "MaxAgeSeconds": 300,
}


def test_a_template_buckets_cors_rules_and_tags_are_applied(fl: Faaslab, s3: Any) -> None:
    assert s3.get_bucket_tagging(Bucket="cfg-site")["TagSet"] == [{"Key": "app", "Value": "site"}]
    assert s3.get_bucket_cors(Bucket="cfg-site")["CORSRules"] == [TEMPLATE_RULE]
    ask = {"Origin": "http://localhost:5173", "Access-Control-Request-Method": "PUT"}
    r = _raw(fl, "OPTIONS", "/cfg-site/upload.bin", ask)
    assert r.status == 200 and r.headers["Access-Control-Max-Age"] == "300"


# -- lifecycle
def test_lifecycle_rules_are_checked_as_s3_checks_them(s3: Any) -> None:
    def put(*rules: dict[str, Any]) -> tuple[int, str, str]:
        return _error(
            lambda: s3.put_bucket_lifecycle_configuration(
                Bucket="cfg-site", LifecycleConfiguration={"Rules": list(rules)}
            )
        )

    ok = {"ID": "r", "Filter": {"Prefix": "a/"}, "Status": "Enabled", "Expiration": {"Days": 3}}
    assert put({**ok, "ID": "x" * 256})[:2] == (400, "InvalidArgument")
    assert put(ok, ok)[:2] == (400, "InvalidArgument")
    assert put({**ok, "Status": "enabled"})[:2] == (400, "MalformedXML")
    assert put({**ok, "Expiration": {"Days": 0}})[:2] == (400, "InvalidArgument")
    midday = {"Date": "2030-01-01T12:00:00Z"}
    assert put({**ok, "Expiration": midday})[1:] == (
        "InvalidArgument",
        "'Date' must be at midnight GMT",
    )
    assert put({k: v for k, v in ok.items() if k != "Expiration"})[:2] == (400, "InvalidRequest")
    status, code, message = put({**ok, "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}]})
    assert (status, code) == (501, "NotImplemented") and "GLACIER" in message
    assert _error(lambda: s3.get_bucket_lifecycle_configuration(Bucket="cfg-site"))[:2] == (
        404,
        "NoSuchLifecycleConfiguration",
    )


def test_lifecycle_expires_objects_on_emulated_days(fl: Faaslab, s3: Any) -> None:
    """`--time-scale 86400`: a lifecycle day is a second here."""
    b = _bucket(s3, "cfg-expiry")
    rules = [
        {"ID": "tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled", "Expiration": {"Days": 1}},
        {
            "ID": "scratch",
            "Filter": {"And": {"Prefix": "logs/", "Tags": [{"Key": "scratch", "Value": "yes"}]}},
            "Status": "Enabled",
            "Expiration": {"Days": 2},
        },
        {"ID": "off", "Filter": {"Prefix": "keep/"}, "Status": "Disabled",
         "Expiration": {"Days": 1}},
    ]  # fmt: skip
    s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": rules})
    got = s3.get_bucket_lifecycle_configuration(Bucket=b)["Rules"]
    assert [r["ID"] for r in got] == ["tmp", "scratch", "off"]
    put = s3.put_object(Bucket=b, Key="tmp/a", Body=b"a")
    assert put["Expiration"].endswith('rule-id="tmp"'), put
    assert 'rule-id="tmp"' in s3.head_object(Bucket=b, Key="tmp/a")["Expiration"]
    s3.put_object(Bucket=b, Key="logs/old", Body=b"l", Tagging="scratch=yes")
    s3.put_object(Bucket=b, Key="logs/kept", Body=b"l")
    s3.put_object(Bucket=b, Key="keep/a", Body=b"k")
    assert "Expiration" not in s3.head_object(Bucket=b, Key="logs/kept")

    def keys() -> set[str]:
        return {o["Key"] for o in s3.list_objects_v2(Bucket=b).get("Contents", [])}

    _wait(lambda: not {"tmp/a", "logs/old"} & keys(), "the expired objects to go")
    assert keys() == {"logs/kept", "keep/a"}
    assert _error(lambda: s3.get_object_tagging(Bucket=b, Key="logs/old"))[1] == "NoSuchKey"
    s3.delete_bucket_lifecycle(Bucket=b)
    s3.put_object(Bucket=b, Key="tmp/b", Body=b"b")
    assert "Expiration" not in s3.head_object(Bucket=b, Key="tmp/b")


def test_lifecycle_expires_noncurrent_versions_and_lone_delete_markers(s3: Any) -> None:
    b = _bucket(s3, "cfg-noncurrent")
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    rule = {
        "ID": "history",
        "Filter": {"Prefix": ""},
        "Status": "Enabled",
        "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
        "Expiration": {"ExpiredObjectDeleteMarker": True},
    }
    s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [rule]})

    def listed() -> tuple[list[str], int]:
        got = s3.list_object_versions(Bucket=b)
        return [v["VersionId"] for v in got.get("Versions", [])], len(got.get("DeleteMarkers", []))

    s3.put_object(Bucket=b, Key="k", Body=b"1")
    v2 = s3.put_object(Bucket=b, Key="k", Body=b"2")["VersionId"]
    _wait(lambda: listed() == ([v2], 0), "the noncurrent version to expire")
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"2"
    s3.delete_object(Bucket=b, Key="k")  # v2 becomes noncurrent behind a delete marker
    _wait(lambda: listed() == ([], 0), "v2, then the lone delete marker, to expire")


def test_lifecycle_aborts_incomplete_multipart_uploads(s3: Any) -> None:
    b = _bucket(s3, "cfg-abort")
    up = s3.create_multipart_upload(Bucket=b, Key="big/file")["UploadId"]
    rule = {"ID": "abort", "Filter": {"Prefix": "big/"}, "Status": "Enabled",
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}  # fmt: skip
    s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [rule]})
    _wait(lambda: not s3.list_multipart_uploads(Bucket=b).get("Uploads"), "the upload's abort")
    assert _error(lambda: s3.list_parts(Bucket=b, Key="big/file", UploadId=up))[1] == "NoSuchUpload"


# -- configurations answered with S3's defaults, and what stays refused
def test_notification_logging_and_other_defaults(s3: Any) -> None:
    b = "cfg-site"
    got = s3.get_bucket_notification_configuration(Bucket=b)
    assert not {"TopicConfigurations", "QueueConfigurations", "LambdaFunctionConfigurations"} & set(
        got
    )
    s3.put_bucket_notification_configuration(Bucket=b, NotificationConfiguration={})
    queue = {"QueueArn": "arn:aws:sqs:us-east-1:123456789012:q", "Events": ["s3:ObjectCreated:*"]}
    status, code, message = _error(
        lambda: s3.put_bucket_notification_configuration(
            Bucket=b, NotificationConfiguration={"QueueConfigurations": [queue]}
        )
    )
    assert (status, code) == (400, "InvalidArgument")
    assert message == "Unable to validate the following destination configurations"
    fn = {
        "LambdaFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:f",
        "Events": ["s3:ObjectCreated:*"],
    }
    assert _error(
        lambda: s3.put_bucket_notification_configuration(
            Bucket=b, NotificationConfiguration={"LambdaFunctionConfigurations": [fn]}
        )
    )[:2] == (501, "NotImplemented")
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=b)
    s3.put_bucket_logging(Bucket=b, BucketLoggingStatus={})
    enable = {"LoggingEnabled": {"TargetBucket": b, "TargetPrefix": "logs/"}}
    assert _error(lambda: s3.put_bucket_logging(Bucket=b, BucketLoggingStatus=enable))[:2] == (
        501,
        "NotImplemented",
    )
    assert s3.get_bucket_request_payment(Bucket=b)["Payer"] == "BucketOwner"
    assert "Status" not in s3.get_bucket_accelerate_configuration(Bucket=b)
    assert _error(lambda: s3.get_bucket_website(Bucket=b))[:2] == (
        404,
        "NoSuchWebsiteConfiguration",
    )
    assert _error(
        lambda: s3.put_bucket_website(
            Bucket=b, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}}
        )
    )[:2] == (501, "NotImplemented")
    assert _error(lambda: s3.get_bucket_cors(Bucket="cfg-no-such-bucket"))[1] == "NoSuchBucket"
