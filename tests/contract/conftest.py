"""The S3 contract: one boto3 S3 client per backend, moto's server and faaslab's edge.

Every test in this package runs once against each backend (ids `[moto]` and `[faaslab]`), so
faaslab's object store is checked against an independent implementation. Raw HTTP requests
(for what boto3 will not send) go through `S3Endpoint.request`, SigV4-signed with the local
key pair: faaslab checks signatures, moto accepts any.
"""

from __future__ import annotations

import http.client
import subprocess
import sys
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from faaslab.cliutil import LOCAL_KEYS
from tests.conftest import free_port, start_faaslab

TEMPLATE = Path(__file__).resolve().parent / "fixtures" / "s3.yaml"
TEMPLATE_BUCKET = "contract-template-bucket"  # declared in TEMPLATE (and made in moto by hand)
REGION = "us-east-1"
BACKENDS = ["moto", "faaslab"]


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes

    @property
    def error_code(self) -> str | None:
        """The <Code> of an S3 XML error body, None if the body is not one."""
        try:
            return ET.fromstring(self.body).findtext("Code")
        except ET.ParseError:
            return None


@dataclass(frozen=True)
class S3Endpoint:
    """A running S3-compatible server: its name ("moto" or "faaslab") and base URL."""

    name: str
    url: str

    @property
    def host(self) -> str:
        return str(urlsplit(self.url).hostname)

    @property
    def port(self) -> int:
        return int(urlsplit(self.url).port or 80)

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
            **LOCAL_KEYS,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        host: str | None = None,
    ) -> RawResponse:
        """Send one SigV4-signed request. `path` is sent as given (already percent-encoded,
        query included); `host` is the Host header (default: the endpoint's host:port), e.g.
        `bucket.localhost:PORT` for a virtual-hosted-style request."""
        host = host or f"{self.host}:{self.port}"
        req = AWSRequest(method=method, url=f"http://{host}{path}", data=body, headers=headers)
        creds = Credentials(LOCAL_KEYS["aws_access_key_id"], LOCAL_KEYS["aws_secret_access_key"])
        S3SigV4Auth(creds, "s3", REGION).add_auth(req)
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(
                method, path, body=body or None, headers={"Host": host, **dict(req.headers)}
            )
            r = conn.getresponse()
            data = r.read()
            return RawResponse(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            conn.close()


def _wait_for_http(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto server exited {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/moto-api/", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answered: that is all we wait for
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"moto server did not answer at {url}:\n{log.read_text()}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Endpoint]:
    """moto's standalone server on a free port (a port taken meanwhile: try another)."""
    log = tmp_path_factory.mktemp("moto") / "moto-server.log"
    for attempt in range(3):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_for_http(proc, url, log)
            break
        except RuntimeError:
            _stop(proc)
            if attempt == 2:
                raise
    endpoint = S3Endpoint("moto", url)
    try:
        endpoint.client().create_bucket(Bucket=TEMPLATE_BUCKET)  # what faaslab's template declares
        yield endpoint
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def faaslab_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Endpoint]:
    """`faaslab up` of the contract template; its edge port serves S3."""
    fl = start_faaslab(TEMPLATE, tmp_path_factory.mktemp("contract") / "state")
    yield S3Endpoint("faaslab", fl.url)
    assert fl.stop() == 0, fl.log_path.read_text()
    assert "Traceback" not in fl.log_path.read_text(), fl.log_path.read_text()


@pytest.fixture(scope="session", params=BACKENDS)
def s3(request: pytest.FixtureRequest) -> Any:
    """A boto3 S3 client (path-style, one attempt) for each backend in turn."""
    endpoint: S3Endpoint = request.getfixturevalue(f"{request.param}_s3")
    return endpoint.client()


@pytest.fixture
def s3_endpoint(request: pytest.FixtureRequest, s3: Any) -> S3Endpoint:
    """The backend `s3` talks to, for raw requests (its URL is also `s3.meta.endpoint_url`)."""
    backend = request.node.callspec.params["s3"]
    endpoint: S3Endpoint = request.getfixturevalue(f"{backend}_s3")
    assert endpoint.url == s3.meta.endpoint_url
    return endpoint


@pytest.fixture
def s3_url(s3_endpoint: S3Endpoint) -> str:
    return s3_endpoint.url
