"""The Genesis MCP server: Streamable HTTP at /mcp, stateless, JSON responses.

`Authorization: Bearer <key>` is checked by the SDK's bearer middleware through
`KeyVerifier`, a thin adapter over apikeys.services.authenticate. `McpGate` wraps the SDK's
app for what the SDK can't see: failed-attempt throttling (429) and who is calling (client
IP, and the client's name and version from `initialize` or the request's `_meta`), which
the verifier records as the key's last use.
"""

import contextvars
import importlib.metadata
import json
from dataclasses import dataclass
from datetime import datetime

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.views.decorators.debug import sensitive_variables
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import BaseModel

from apikeys import services, throttle
from apikeys.models import ApiKey, Surface
from genesis import client_ip
from genesis.api import Me
from genesis.machine import NO_OAUTH

try:
    VERSION = importlib.metadata.version("genesis-console")
except importlib.metadata.PackageNotFoundError:  # run from a checkout without installing
    VERSION = "0+unknown"
CLIENT_INFO_META_KEY = "io.modelcontextprotocol/clientInfo"
MAX_PEEK_BYTES = 64 * 1024  # client info sits at the start of small messages


@dataclass(frozen=True)
class Caller:
    ip: str
    user_agent: str
    # The MCP client's "name version" where this request says it (initialize, _meta).
    client_info: str | None


_caller: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("mcp_caller", default=None)


@sensitive_variables("token")
def _check_key(token: str, caller: Caller | None) -> services.KeyContext | None:
    # /mcp bypasses Django's request signals: tidy the connection ourselves.
    close_old_connections()
    try:
        context = services.authenticate(token)
        if context is not None and caller is not None:
            services.record_use(
                context.key,
                ip=caller.ip,
                surface=Surface.MCP,
                user_agent=caller.user_agent,
                client_info=caller.client_info,
            )
        return context
    finally:
        close_old_connections()


class KeyVerifier:
    """Turns a Genesis API key into the SDK's AccessToken (without the key in it)."""

    @sensitive_variables("token")
    async def verify_token(self, token: str) -> AccessToken | None:
        context = await sync_to_async(_check_key)(token, _caller.get())
        if context is None:
            return None
        return AccessToken(
            token=f"apikey:{context.key.pk}",
            client_id=f"apikey:{context.key.pk}",
            subject=str(context.user.pk),
            scopes=["genesis"],
            claims={
                "organization_id": context.organization.pk,
                "whoami": context.describe(),
            },
        )


class KeySummary(BaseModel):
    name: str
    hint: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    last_used_surface: str
    last_used_client: str


def _claims() -> dict:
    access_token = get_access_token()
    if access_token is None:  # the bearer middleware lets nobody in without one
        raise PermissionError("Authentication required")
    return {**access_token.claims, "user_id": int(access_token.subject)}


def _active_keys(user_id: int, organization_id: int) -> list[KeySummary]:
    close_old_connections()
    try:
        keys = ApiKey.objects.active().filter(user_id=user_id, organization_id=organization_id)
        return [
            KeySummary(
                name=key.name,
                hint=key.hint,
                created_at=key.created_at,
                expires_at=key.expires_at,
                last_used_at=key.last_used_at,
                last_used_surface=key.last_used_surface,
                last_used_client=key.last_used_client,
            )
            for key in keys
        ]
    finally:
        close_old_connections()


def build_server() -> MCPServer:
    server = MCPServer(
        name="Genesis",
        version=VERSION,
        instructions="Genesis MCP server. Authenticate with a Genesis API key as a Bearer token.",
        token_verifier=KeyVerifier(),
        # The SDK wants an issuer even without an OAuth server; with resource_server_url
        # None it adds no OAuth routes and never shows the issuer to anyone.
        auth=AuthSettings(
            issuer_url="http://localhost", resource_server_url=None, required_scopes=["genesis"]
        ),
        log_level="WARNING",
    )

    @server.tool(description="Who this API key belongs to: user, organization, role and key.")
    async def whoami() -> Me:
        return Me(**_claims()["whoami"])

    @server.tool(
        description="Your active API keys (not revoked, not expired) in this key's "
        "organization: name, hint, created, expires, last used. Never a secret."
    )
    async def list_my_api_keys() -> list[KeySummary]:
        claims = _claims()
        return await sync_to_async(_active_keys)(claims["user_id"], claims["organization_id"])

    return server


def _client_from(body: bytes) -> str:
    """The MCP client's "name version", from an initialize request or a request's _meta."""
    try:
        message = json.loads(body)
    except ValueError:
        return ""
    if isinstance(message, list):
        message = message[0] if message else None
    params = message.get("params") if isinstance(message, dict) else None
    if not isinstance(params, dict):
        return ""
    info = params.get("clientInfo") if message.get("method") == "initialize" else None
    meta = params.get("_meta")
    if not isinstance(info, dict) and isinstance(meta, dict):
        info = meta.get(CLIENT_INFO_META_KEY)
    if not isinstance(info, dict) or not isinstance(info.get("name"), str):
        return ""
    version = info.get("version")
    return f"{info['name']} {version}" if isinstance(version, str) else info["name"]


async def _peek_body(receive):
    """Read the start of the request body, and give back a receive that replays it."""
    received = []
    size = 0
    while True:
        message = await receive()
        received.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if not message.get("more_body", False) or size > MAX_PEEK_BYTES:
            break
    complete = received[-1]["type"] == "http.request" and not received[-1].get("more_body")
    body = b"".join(m.get("body", b"") for m in received) if complete else b""

    async def replay():
        return received.pop(0) if received else await receive()

    return body, replay


def _headers(scope) -> dict[bytes, bytes]:
    """The request's headers by lowercase name, repeated ones joined as HTTP joins them."""
    headers = {}
    for name, value in scope.get("headers") or []:
        headers[name] = headers[name] + b"," + value if name in headers else value
    return headers


async def _send_json(send, status: int, body: dict, headers: list[tuple[bytes, bytes]]):
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class McpGate:
    """ASGI wrapper: throttle failed attempts per IP and note who is calling."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["path"] not in (settings.MCP_PATH, settings.MCP_PATH + "/"):
            # /mcp/.well-known/... and the like: JSON, never the SDK's plain-text 404.
            return await _send_json(send, 404, NO_OAUTH, [])
        headers = _headers(scope)
        peer = (scope.get("client") or ("",))[0]
        forwarded_for = headers.get(b"x-forwarded-for", b"").decode("latin-1")
        ip = client_ip.decide(peer, forwarded_for)
        wait = await sync_to_async(throttle.retry_after)(ip)
        if wait:
            return await _send_json(
                send,
                429,
                {"error": "too_many_requests", "error_description": "Too many failed attempts"},
                [(b"retry-after", str(wait).encode())],
            )
        client_info = None
        if scope["method"] == "POST":
            body, receive = await _peek_body(receive)
            client_info = _client_from(body) or None
        user_agent = headers.get(b"user-agent", b"").decode("latin-1")
        status = 0

        async def watch(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        token = _caller.set(Caller(ip=ip, user_agent=user_agent, client_info=client_info))
        try:
            await self.app(scope, receive, watch)
        finally:
            _caller.reset(token)
        if status == 401:
            await sync_to_async(throttle.record_failure)(ip)


def build_mcp_app():
    """A fresh MCP app (the SDK's session manager runs once per app; tests build several).
    Its lifespan must run: the ASGI entry point hands it the lifespan scope."""
    app = build_server().streamable_http_app(
        streamable_http_path=settings.MCP_PATH,
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(
            enable_dns_rebinding_protection="*" not in settings.MCP_ALLOWED_HOSTS,
            allowed_hosts=settings.MCP_ALLOWED_HOSTS,
            allowed_origins=settings.MCP_ALLOWED_ORIGINS,
        ),
    )
    return McpGate(app)
