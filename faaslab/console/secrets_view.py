"""The Secrets Manager page's API: the secrets (metadata only), and one secret's value when
the user asks to reveal it (a POST: never cached, and CSRF-checked like any change)."""

from __future__ import annotations

from faaslab.http.server import Response
from faaslab.secrets.errors import SecretsError
from faaslab.secrets.store import SecretStore


class SecretsView:
    def __init__(self, store: SecretStore) -> None:
        self.store = store

    def list(self) -> Response:
        return Response.json(
            {
                "secrets": [
                    {
                        "arn": s.arn,
                        "name": s.name,
                        "description": s.description,
                        "created": s.created,
                        "last_changed": s.last_changed,
                        "last_accessed": s.last_accessed,
                        "owning_service": s.owning_service,
                        "tags": s.tags,
                    }
                    for s in self.store.all()
                ]
            }
        )

    def reveal(self, secret_id: str) -> Response:
        try:
            value = self.store.get_value(secret_id)
        except SecretsError as e:
            return Response.json({"code": e.code, "message": e.message}, e.status)
        binary = value.secret_binary is not None
        return Response.json(
            {
                "arn": value.arn,
                "name": value.name,
                "version_id": value.version_id,
                "stages": value.stages,
                "secret_string": value.secret_string,
                "binary": binary,
            }
        )
