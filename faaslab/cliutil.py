"""What every `faaslab` command that talks to a running `faaslab up` shares: the endpoint
option and one way to call the /_faaslab API (errors become the server's message)."""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from typing import Any

import click

from faaslab.auth import LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY

DEFAULT_ENDPOINT = "http://127.0.0.1:4566"
LOCAL_KEYS = {
    "aws_access_key_id": LOCAL_ACCESS_KEY_ID,
    "aws_secret_access_key": LOCAL_SECRET_ACCESS_KEY,
}


def endpoint_option(f: Any) -> Any:
    return click.option(
        "--endpoint",
        envvar="FAASLAB_ENDPOINT",
        default=DEFAULT_ENDPOINT,
        show_default=True,
        help="URL of a running `faaslab up` (env FAASLAB_ENDPOINT).",
    )(f)


def get(endpoint: str, path: str) -> Any:
    return request(endpoint, "GET", path)


def request(endpoint: str, method: str, path: str, body: Any = None, timeout: float = 120) -> Any:
    """Call the running faaslab's /_faaslab API; a ClickException with its message on error."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(endpoint.rstrip("/") + path, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        body = e.read().decode(errors="replace")
        with contextlib.suppress(ValueError):
            body = json.loads(body).get("message", body)
        raise click.ClickException(str(body)) from None
    except (urllib.error.URLError, ConnectionError) as e:
        raise click.ClickException(
            f"no faaslab at {endpoint} ({e}); start one with `faaslab up`"
        ) from None
