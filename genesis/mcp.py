"""The Genesis MCP server: Streamable HTTP at /mcp, stateless, JSON responses, and its tools.

`Authorization: Bearer <key>` is checked by McpGate (genesis.mcp_gate) in front of the
SDK's app, through apikeys.services.authenticate; the SDK's bearer middleware gets the
answer from `KeyVerifier`.
"""

import importlib.metadata
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

from apikeys import scopes, services
from apikeys.models import ApiKey
from genesis import faults, mcp_exchange, mcp_gate
from genesis.api import Me

try:
    VERSION = importlib.metadata.version("genesis-console")
except importlib.metadata.PackageNotFoundError:  # run from a checkout without installing
    VERSION = "0+unknown"


class KeyVerifier:
    """Hands the SDK the key McpGate checked for this request, as an AccessToken (without
    the key in it). The SDK calls this only with the token the gate read."""

    @sensitive_variables("token")
    async def verify_token(self, token: str) -> AccessToken | None:
        context = mcp_gate.verified.get()
        if context is None:
            return None
        return AccessToken(
            token=f"apikey:{context.key_id}",
            client_id=f"apikey:{context.key_id}",
            subject=str(context.user_id),
            scopes=sorted(context.scopes),
            claims={"key": context},
        )


class KeySummary(BaseModel):
    name: str
    hint: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    last_used_surface: str
    last_used_client: str


def _key() -> services.KeyContext:
    """The checked key of this request (its frozen context, never the key itself)."""
    access_token = get_access_token()
    if access_token is None:  # the bearer middleware lets nobody in without one
        raise PermissionError("Authentication required")
    return access_token.claims["key"]


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
            issuer_url="http://localhost",
            resource_server_url=None,
            # A key for the API only gets the SDK's 403 insufficient_scope here.
            required_scopes=[scopes.MCP_READ],
        ),
        log_level="WARNING",
    )

    @server.tool(description="Who this API key belongs to: user, organization, role and key.")
    async def whoami() -> Me:
        return Me.model_validate(_key(), from_attributes=True)

    @server.tool(
        description="Your active API keys (not revoked, not expired) in this key's "
        "organization: name, hint, created, expires, last used. Never a secret."
    )
    async def list_my_api_keys() -> list[KeySummary]:
        key = _key()
        try:
            return await sync_to_async(_active_keys)(key.user_id, key.organization_id)
        except faults.DEPENDENCY_ERRORS as error:
            # The SDK answers a tool's exception as an error result with its text: ours,
            # not the database driver's (which names hosts and ports).
            faults.report("MCP tool failed, a dependency is down", "list_my_api_keys", error)
            raise RuntimeError("The Genesis database is unavailable; try again shortly.") from None

    return server


def build_mcp_app(single_exchange: bool = True):
    """A fresh MCP app (the SDK's session manager runs once per app; tests build several).
    Its lifespan must run: the ASGI entry point hands it the lifespan scope. Without
    `single_exchange` the SDK's own path answers everything (tests compare the two)."""
    server = build_server()
    app = server.streamable_http_app(
        streamable_http_path=settings.MCP_PATH,
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(
            enable_dns_rebinding_protection="*" not in settings.MCP_ALLOWED_HOSTS,
            allowed_hosts=settings.MCP_ALLOWED_HOSTS,
            allowed_origins=settings.MCP_ALLOWED_ORIGINS,
        ),
    )
    if single_exchange:
        mcp_exchange.install(server.session_manager)
    return mcp_gate.McpGate(app)
