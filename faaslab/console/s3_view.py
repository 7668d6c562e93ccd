"""The S3 page's API: presigned URLs, so that the browser talks to S3 itself.

The page lists, uploads (with the browser's own progress events), downloads and previews
through faaslab's S3 API on the same origin, with URLs signed here with faaslab's local
key (`auth.py`), valid for five minutes. Every rule of S3 (names, listings, delimiters,
conditional requests, streaming large bodies to disk) stays in `faaslab/s3/`; the console
holds no S3 logic of its own, and what the S3 API learns (versions, …) the page can
reach the same way. botocore serialises each operation from S3's model.
"""

from __future__ import annotations

import json
from typing import Any

from faaslab.auth import LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY
from faaslab.http.server import Response

EXPIRES_S = 300
# operation -> its HTTP method: what the page may ask to have signed
OPERATIONS = {
    "list_buckets": "GET",
    "list_objects_v2": "GET",
    "list_object_versions": "GET",
    "get_object": "GET",
    "head_object": "HEAD",
    "put_object": "PUT",
    "delete_object": "DELETE",
    "create_bucket": "PUT",
}
# parameters a presigned URL can carry in its query or path (headers would have to be sent
# by the browser exactly as signed: none are allowed)
PARAMETERS = {
    "Bucket",
    "Key",
    "Prefix",
    "Delimiter",
    "ContinuationToken",
    "StartAfter",
    "MaxKeys",
    "KeyMarker",
    "VersionIdMarker",
    "VersionId",
    "ResponseContentDisposition",
    "ResponseContentType",
}


class S3View:
    def __init__(self, region: str) -> None:
        self.region = region
        self._clients: dict[str, Any] = {}  # by the page's origin: its Host is signed

    def _s3(self, endpoint: str) -> Any:
        client = self._clients.get(endpoint)
        if client is None:  # (botocore's client: built once per origin, on first use)
            import botocore.session
            from botocore.config import Config

            client = self._clients[endpoint] = botocore.session.get_session().create_client(
                "s3",
                region_name=self.region,
                endpoint_url=endpoint,
                aws_access_key_id=LOCAL_ACCESS_KEY_ID,
                aws_secret_access_key=LOCAL_SECRET_ACCESS_KEY,
                config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
            )
        return client

    def presign(self, host: str, body: bytes) -> Response:
        """`host`: the page's Host header (checked by security.check_host)."""
        endpoint = f"http://{host}"
        try:
            request: Any = json.loads(body or b"{}")
        except (ValueError, RecursionError):
            return Response.json({"message": "the body is not JSON"}, 400)
        if not isinstance(request, dict):
            return Response.json({"message": "the body must be a JSON object"}, 400)
        operation = request.get("operation")
        params = request.get("params") or {}
        if operation not in OPERATIONS:
            return Response.json(
                {"message": f"operation must be one of {', '.join(sorted(OPERATIONS))}"}, 400
            )
        if not isinstance(params, dict) or not all(
            k in PARAMETERS and isinstance(v, (str, int)) for k, v in params.items()
        ):
            return Response.json(
                {"message": f"params: string values of {', '.join(sorted(PARAMETERS))}"}, 400
            )
        try:
            url = self._s3(endpoint).generate_presigned_url(
                operation, Params=params, ExpiresIn=EXPIRES_S, HttpMethod=OPERATIONS[operation]
            )
        except Exception as e:  # botocore's ParamValidationError: a missing Bucket, ...
            return Response.json({"message": f"{type(e).__name__}: {e}"}, 400)
        # same origin as the page: the path and query only
        path = url[len(endpoint) :] if url.startswith(endpoint) else url
        return Response.json({"url": path, "method": OPERATIONS[operation]})
