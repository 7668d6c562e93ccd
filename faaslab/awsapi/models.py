"""botocore's service models: loading, and finding the operation a request names."""

from __future__ import annotations

import functools
import re
from urllib.parse import parse_qs

from botocore.exceptions import DataNotFoundError
from botocore.loaders import Loader
from botocore.model import OperationModel, ServiceModel

from faaslab.http.server import Request

_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{0,62}$")  # a service name safe to look up on disk


@functools.lru_cache(maxsize=1)
def _loader() -> Loader:
    return Loader()


@functools.lru_cache(maxsize=64)
def service_model(name: str) -> ServiceModel | None:
    """botocore's model of the service `name` (e.g. "lambda", "rds"), or None."""
    if not _NAME.match(name):
        return None
    try:
        data = _loader().load_service_model(name, "service-2")
    except DataNotFoundError:
        return None
    return ServiceModel(data, service_name=name)


def protocols(model: ServiceModel) -> list[str]:
    """The protocols the service speaks, botocore's preferred first."""
    listed = model.metadata.get("protocols")
    return list(listed) if listed else [model.metadata["protocol"]]


def protocol_of(model: ServiceModel, req: Request) -> str:
    """Which of the service's protocols this request uses: a service may speak several
    (CloudWatch: rpc-v2-cbor for new SDKs, json, query for old CLIs) and answers each
    client in its own."""
    spoken = protocols(model)
    headers = req.headers
    if "smithy-rpc-v2-cbor" in spoken and "rpc-v2-cbor" in headers.get("smithy-protocol", ""):
        return "smithy-rpc-v2-cbor"
    if "json" in spoken and "x-amz-target" in headers:
        return "json"
    if "query" in spoken and (
        headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
        or "Action=" in req.query
    ):
        return "query"
    return spoken[0]


def rest_operation(model: ServiceModel, method: str, path: str, query: str) -> str | None:
    """The REST operation whose method, requestUri template and query markers (e.g.
    `/2018-10-31/layers?find=LayerVersion`) match; of several, the most specific (most
    markers, then most literal characters), as the service routes them."""
    params = parse_qs(query, keep_blank_values=True)
    best: tuple[int, int] | None = None
    found = None
    for name in model.operation_names:
        http = model.operation_model(name).http
        if http.get("method") != method:
            continue
        template, _, markers = http.get("requestUri", "/").partition("?")
        wanted = [m.partition("=") for m in markers.split("&") if m]
        if any(k not in params or (v and params[k][0] != v) for k, _, v in wanted):
            continue
        if uri_labels(template, path) is None:
            continue
        score = (len(wanted), len(re.sub(r"\{[^}]+\}", "", template)))
        if best is None or score > best:
            best, found = score, str(name)
    return found


@functools.lru_cache(maxsize=1024)
def _template_pattern(template: str) -> re.Pattern[str]:
    out = []
    for part in re.split(r"(\{[^}]+\})", template.rstrip("/")):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            greedy = name.endswith("+")
            group = re.sub(r"\W", "_", name.rstrip("+"))
            out.append(f"(?P<{group}>.+)" if greedy else f"(?P<{group}>[^/]+)")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out) + "/?")


def uri_labels(template: str, path: str) -> dict[str, str] | None:
    """The `{Label}` values of a requestUri template in `path` (still percent-encoded),
    or None when the path does not match it."""
    m = _template_pattern(template.partition("?")[0]).fullmatch(path)
    return None if m is None else m.groupdict()


def operation(model: ServiceModel, name: str) -> OperationModel | None:
    try:
        return model.operation_model(name)
    except Exception:  # botocore raises OperationNotFoundError
        return None
