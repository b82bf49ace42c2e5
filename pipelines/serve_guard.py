"""What a request must be before any endpoint sees it, as one small ASGI middleware: addressed to a
host name the server answers to (a web page that rebinds its own DNS name to 127.0.0.1 is refused),
carrying the shared token when ``WORKBENCH_SERVE_TOKEN`` is set, and, for
a POST, declared as JSON (a cross-origin page can send text/plain without asking; JSON it cannot
send without the browser's preflight, which this server never grants unless CORS is configured).
``GET /health`` (and ``/ping``) needs none of this: it says only whether models are served.
"""

from __future__ import annotations

import hmac
import json
import os

LOOPBACK = ("localhost", "127.0.0.1", "::1")
OPEN_PATHS = ("/health", "/ping")  # what a load balancer or a plant's monitoring polls, by any name, without a secret
TOKEN_ENV = "WORKBENCH_SERVE_TOKEN"


def allowed_hosts(bind: str, extra: list[str] | None = None) -> set[str]:
    """Loopback names, the address the server binds (unless it is every address) and ``--allow-host``
    names; ``*`` allows any host name."""
    names = set(LOOPBACK)
    if bind not in ("0.0.0.0", "::", ""):
        names.add(bind.strip("[]").lower())
    names.update(h.strip().lower() for h in extra or [] if h.strip())
    return names


def host_name(header: str) -> str:
    """The name part of a Host header: 'a.b:8000' -> 'a.b', '[::1]:8000' -> '::1'."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class Guard:
    """ASGI middleware: Host allow-list (400), bearer token (401), JSON-only POST (415)."""

    def __init__(self, app, hosts: set[str], token: str | None = None):
        self.app, self.hosts, self.token = app, hosts, token or None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {}
        for key, value in scope["headers"]:
            headers.setdefault(key, value)
        problem = self._problem(scope, headers)
        if problem is None:
            return await self.app(scope, receive, send)
        status, code, message, extra = problem
        body = json.dumps({"error_code": code, "message": message}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                *extra]})
        await send({"type": "http.response.body", "body": body})

    def _problem(self, scope, headers: dict):
        if scope["path"] in OPEN_PATHS and scope["method"] in ("GET", "HEAD"):
            return None  # a probe by address (a load balancer, a container's health check) learns only "ok"
        host = host_name(headers.get(b"host", b"").decode("latin-1"))
        if "*" not in self.hosts and host not in self.hosts:
            shown = host[:60] or "(none)"
            return (400, "BAD_REQUEST", f"Host {shown!r} is not a name this server answers to. Address it as "
                                        f"127.0.0.1 or localhost, or start it with --allow-host {shown[:40] or 'NAME'}.",
                    [])
        if self.token and scope["path"] not in OPEN_PATHS:
            given = headers.get(b"authorization", b"").decode("latin-1")
            scheme, _, secret = given.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(secret.strip().encode(), self.token.encode()):
                return (401, "UNAUTHENTICATED", f"This server needs 'Authorization: Bearer <token>' with the token in "
                                                f"its {TOKEN_ENV}.", [(b"www-authenticate", b"Bearer")])
        if scope["method"] == "POST":
            kind = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
            if kind != "application/json":
                return (415, "UNSUPPORTED_MEDIA_TYPE", f"Send JSON with 'Content-Type: application/json', not "
                                                       f"{kind[:60]!r}.", [])
        return None


def token_from_env() -> str | None:
    return os.environ.get(TOKEN_ENV) or None
