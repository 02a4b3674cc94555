"""One line per request, a request id on every answer, and each request's time.

Every request gets an id: the `X-Request-ID` a trusted proxy sent (TRUSTED_PROXIES,
decided as infra.client_ip decides the address; the shipped nginx site sends its own),
when it looks like an id, or else a new random one. The answer carries it back as
`X-Request-ID`, and so does every log line written while the request is served
(`request_id`, in the JSON format: LOG_FORMAT=json).

The request's line says the method, the path (never its query string, and without the
secret of a secret path: infra.faults.SECRET_PATHS), the status, the time, the surface
and, when a credential was checked, its id (`apikey:12`, `oauth:3`; never a key, a token
or a code). Its time goes into the surface's latency histogram (infra.metrics).

`RequestLogMiddleware` does it for Django (the console and the API, first of all
middleware); `AsgiRequestLog` for the MCP server's ASGI app.
"""

import logging
import re
import secrets
import time

from infra import client_ip, metrics
from infra.faults import SECRET_PATHS
from infra.machine import (
    DISCOVERY_PREFIXES,
    METRICS_PATH,
    is_mcp_path,
    is_oauth_endpoint,
    is_scim_path,
)

logger = logging.getLogger(__name__)

HEADER = "X-Request-ID"
# What a proxy's id may look like (nginx's $request_id is 32 hex digits; UUIDs, ULIDs and
# the like fit too): nothing a log reader could mistake for another field or line.
VALID_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


class Seen(metrics.Seen):
    __slots__ = ("request_id",)

    def __init__(self, request_id: str):
        super().__init__()
        self.request_id = request_id


def request_id(given: str | None, peer: str, forwarded_for: str | None) -> str:
    """The id a trusted proxy gave the request, or a new one."""
    if given and VALID_ID.fullmatch(given) and client_ip.resolve(peer, forwarded_for)[1]:
        return given
    return secrets.token_hex(16)


def surface_of(path: str) -> str | None:
    """The surface a path belongs to, for the latency histograms; None for /metrics (the
    scrape itself)."""
    path = "/" + path.lstrip("/")
    if path.startswith("/api/"):
        return "api"
    if is_mcp_path(path):
        return "mcp"
    if is_oauth_endpoint(path) or path.startswith(DISCOVERY_PREFIXES):
        return "oauth"
    if path == METRICS_PATH:
        return None
    if is_scim_path(path):
        return "scim"
    return "console"


def finished(seen: Seen, method: str, path: str, status: int, started: float) -> None:
    seconds = time.perf_counter() - started
    surface = surface_of(path)
    if surface is None:
        return
    metrics.request_seconds(surface, seconds)
    if not logger.isEnabledFor(logging.INFO):
        return
    path = SECRET_PATHS.sub("\\1…", path)[:500]
    duration_ms = round(seconds * 1000, 1)
    text = f"{method} {path} {status} {duration_ms} ms {surface} request={seen.request_id}"
    if seen.credential:
        text += f" credential={seen.credential}"
    logger.info(
        text,
        extra={
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "surface": surface,
            "key_id": seen.credential,
        },
    )


class RequestIdFilter(logging.Filter):
    """Every record written while a request is served carries its id (`request_id`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        seen = metrics.seen.get()
        if seen is not None and not hasattr(record, "request_id"):
            record.request_id = getattr(seen, "request_id", None)
        return True


class RequestLogMiddleware:
    """First of all middleware, so that its time is the whole stack's and its id is on
    every answer (before infra.client_ip's, which rewrites the peer's address)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        meta = request.META
        seen = Seen(
            request_id(
                meta.get("HTTP_X_REQUEST_ID"),
                meta.get("REMOTE_ADDR", ""),
                meta.get("HTTP_X_FORWARDED_FOR"),
            )
        )
        token = metrics.seen.set(seen)
        try:
            response = self.get_response(request)
            response[HEADER] = seen.request_id
            finished(seen, request.method, request.path, response.status_code, started)
        finally:
            metrics.seen.reset(token)
        return response


class AsgiRequestLog:
    """The same for an ASGI app (the MCP server's)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        given = forwarded_for = None
        for name, value in scope.get("headers") or []:
            if name == b"x-request-id":
                given = value.decode("latin-1")
            elif name == b"x-forwarded-for":
                # Repeated headers join as HTTP joins them (mcp_server.edge reads it so).
                text = value.decode("latin-1")
                forwarded_for = f"{forwarded_for},{text}" if forwarded_for else text
        peer = (scope.get("client") or ("",))[0]
        seen = Seen(request_id(given, peer, forwarded_for))
        header = (HEADER.lower().encode(), seen.request_id.encode())
        status = 0

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*(message.get("headers") or []), header]}
            await send(message)

        token = metrics.seen.set(seen)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            finished(seen, scope["method"], scope["path"], status, started)
            metrics.seen.reset(token)
