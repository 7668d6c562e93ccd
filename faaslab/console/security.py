"""Who may use the console: the local user holding this instance's token.

As Jupyter does, `faaslab up` makes a random token and prints the console's URL with it.
The first request carrying `?token=` gets it back as an HttpOnly, SameSite=Strict cookie
scoped to `/_console` and a redirect to the same page without it (the token leaves the
address bar and the history). Every later request must carry the cookie.

The console has a port, so an origin, of its own: pages the template's API routes serve
(on the edge's origin) cannot read its answers. SameSite does not tell ports apart, so
their requests would carry the cookie: requests that change something (any method but
GET/HEAD) must also be same-origin, with an `Origin` equal to the console's own (or,
without one, `Sec-Fetch-Site: same-origin`), and an `X-Faaslab-Csrf` header equal to a
value derived from the token that the page receives in its HTML (the page's S3 requests
carry it whatever their method). Another origin cannot read that value, and cannot send
a custom header without a CORS preflight, which the console never grants. The Host
header must name the loopback address the console listens on (no DNS rebinding).

Pure functions of a request's headers: `faaslab/console/app.py` applies them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs

PREFIX = "/_console"
CSRF_HEADER = "x-faaslab-csrf"
SAFE_METHODS = frozenset({"GET", "HEAD"})
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


class Refused(Exception):
    """A request the console does not serve: HTTP status and a message for the user."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Keys:
    """One instance's token, the cookie it travels in, and the CSRF value derived from it."""

    token: str
    port: int

    @classmethod
    def generate(cls, port: int) -> Keys:
        return cls(secrets.token_urlsafe(32), port)

    @property
    def cookie_name(self) -> str:
        # (cookies are not separated by port: two faaslabs on one machine keep their own)
        return f"faaslab_console_{self.port}"

    @property
    def csrf(self) -> str:
        return hmac.new(self.token.encode(), b"faaslab console csrf", hashlib.sha256).hexdigest()

    def url(self, host: str) -> str:
        return f"http://{host}:{self.port}{PREFIX}/?token={self.token}"

    def set_cookie(self) -> str:
        return (
            f"{self.cookie_name}={self.token}; Path={PREFIX}; HttpOnly; SameSite=Strict; "
            "Max-Age=2592000"
        )

    def origins(self) -> set[str]:
        return {f"http://{host}:{self.port}" for host in LOOPBACK_HOSTS}

    def query_token(self, query: str) -> str | None:
        values = parse_qs(query).get("token")
        return values[0] if values else None

    def cookie_token(self, headers: dict[str, str]) -> str | None:
        # (split by hand: http.cookies gives up on a whole header at the first value it
        # dislikes, and other local apps on 127.0.0.1 set cookies of every shape)
        for part in headers.get("cookie", "").split(";"):
            name, sep, value = part.strip().partition("=")
            if sep and name == self.cookie_name:
                return value.strip().strip('"')
        return None

    def matches(self, candidate: str | None) -> bool:
        return candidate is not None and hmac.compare_digest(
            candidate.encode(), self.token.encode()
        )


def check_host(keys: Keys, headers: dict[str, str]) -> None:
    """The Host header names the console's loopback address (a DNS-rebinding page's Host is
    its own name)."""
    host = headers.get("host", "")
    if host not in {f"{h}:{keys.port}" for h in LOOPBACK_HOSTS}:
        raise Refused(403, f"the console answers on http://127.0.0.1:{keys.port} only")


def check_session(keys: Keys, headers: dict[str, str]) -> None:
    if not keys.matches(keys.cookie_token(headers)):
        raise Refused(
            403,
            "the console needs its token: open the URL `faaslab up` printed "
            f"(http://127.0.0.1:{keys.port}{PREFIX}/?token=...)",
        )


def check_same_origin(keys: Keys, method: str, headers: dict[str, str]) -> None:
    """A state-changing request comes from the console's own page: its Origin (or, when a
    browser sends none, Sec-Fetch-Site), and the CSRF header only that page can know."""
    if method in SAFE_METHODS:
        return
    check_from_script(keys, headers)


def check_from_script(keys: Keys, headers: dict[str, str]) -> None:
    """Whatever its method, a request the console's own scripts made: what the page's S3
    requests must be (a link or a form cannot carry the CSRF header, so an object is
    never opened as a page of the console's origin)."""
    origin = headers.get("origin")
    if origin is not None:
        if origin not in keys.origins():
            raise Refused(403, f"cross-origin request refused (Origin: {origin})")
    elif headers.get("sec-fetch-site") not in ("same-origin", None):
        raise Refused(403, "cross-site request refused (Sec-Fetch-Site)")
    sent = headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), keys.csrf.encode()):
        raise Refused(403, f"missing or wrong {CSRF_HEADER} header (CSRF defence)")
