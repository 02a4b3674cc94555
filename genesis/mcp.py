"""The Genesis MCP server: Streamable HTTP at /mcp, stateless, JSON responses, and its tools.

`Authorization: Bearer <key>` is checked by McpGate (genesis.mcp_gate) in front of the
SDK's app, through apikeys.services.authenticate; the SDK's bearer middleware gets the
answer from `KeyVerifier`.
"""

import importlib.metadata

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.views.decorators.debug import sensitive_variables
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import ToolAnnotations

from apikeys import key_management, scopes, services
from genesis import faults, mcp_exchange, mcp_gate
from genesis.shapes import KeyInfo, Me, OrganizationKeyPage

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
            token=context.credential,
            client_id=context.credential,
            subject=str(context.user_id),
            scopes=sorted(context.scopes),
            claims={"key": context},
        )


def _key(tool: str = "") -> services.KeyContext:
    """The checked key of this request (its frozen context, never the key itself), for a
    tool that needs the scopes TOOL_SCOPES gives it. The gate has refused a call without
    them already (403); this is the tool's own check, for whatever the gate couldn't see."""
    access_token = get_access_token()
    if access_token is None:  # the bearer middleware lets nobody in without one
        raise PermissionError("Authentication required")
    key = access_token.claims["key"]
    missing = mcp_gate.TOOL_SCOPES.get(tool, frozenset()) - key.scopes
    if missing:
        raise ToolError(f"This credential lacks the scope {' '.join(sorted(missing))}.")
    return key


async def _in_database(name: str, work, *args):
    """Run `work` (synchronous, the ORM) for a tool, tidying the connection around it as
    /mcp bypasses Django's request signals. A database that is down is the tool's error,
    in our words, not the driver's (which names hosts and ports)."""

    def run():
        close_old_connections()
        try:
            return work(*args)
        finally:
            close_old_connections()

    try:
        return await sync_to_async(run)()
    except faults.DEPENDENCY_ERRORS as error:
        faults.report("MCP tool failed, a dependency is down", name, error)
        raise RuntimeError("The Genesis database is unavailable; try again shortly.") from None


async def _end_key(tool: str, work, key_id: int, whose: str) -> None:
    """Delete or revoke a key for a tool; a key that isn't there is the tool's error."""
    try:
        await _in_database(tool, work, _key(tool), key_id)
    except key_management.NotFound:
        raise ToolError(f"No active API key {key_id} {whose}.") from None


READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)
DESTRUCTIVE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)


class GenesisServer(MCPServer):
    async def list_tools(self):
        """Only the tools this key's scopes allow (calling another is refused with 403
        insufficient_scope by the gate, genesis.mcp_gate)."""
        key = mcp_gate.verified.get()
        granted = key.scopes if key is not None else frozenset()
        return [
            tool
            for tool in await super().list_tools()
            if mcp_gate.TOOL_SCOPES.get(tool.name, frozenset()) <= granted
        ]


def build_server() -> MCPServer:
    server = GenesisServer(
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

    @server.tool(
        description="Who this API key belongs to: user, organization, role and key.",
        annotations=READ_ONLY,
    )
    async def whoami() -> Me:
        return Me.model_validate(_key("whoami"), from_attributes=True)

    @server.tool(
        description="Your active API keys (not revoked, not expired) in this key's "
        "organization: id, name, hint, scopes, allowed IPs, created, expires, last used. "
        "Never a secret.",
        annotations=READ_ONLY,
    )
    async def list_my_api_keys() -> list[KeyInfo]:
        key = _key("list_my_api_keys")
        keys = await _in_database("list_my_api_keys", key_management.my_keys, key)
        return [KeyInfo.of(each, key.role) for each in keys]

    @server.tool(
        description="Delete one of your API keys by its id (from list_my_api_keys). It "
        "stops working at once; this can't be undone.",
        annotations=DESTRUCTIVE,
    )
    async def delete_my_api_key(key_id: int) -> str:
        await _end_key("delete_my_api_key", key_management.delete_mine, key_id, "of yours")
        return f"API key {key_id} deleted; it no longer works."

    @server.tool(
        description="The organization's active API keys, newest first, with who created "
        "them (needs the org:admin scope). Filter by member (name or email) and key name; "
        "at most 100 per call, page with offset.",
        annotations=READ_ONLY,
    )
    async def list_organization_api_keys(
        member: str = "", name: str = "", limit: int = 50, offset: int = 0
    ) -> OrganizationKeyPage:
        key = _key("list_organization_api_keys")
        page = await _in_database(
            "list_organization_api_keys",
            lambda: key_management.organization_keys(
                key, member=member, name=name, limit=limit, offset=offset
            ),
        )
        return OrganizationKeyPage.of(page)

    @server.tool(
        description="Revoke a key of the organization by its id (needs the org:admin "
        "scope). It stops working at once and its owner is told.",
        annotations=DESTRUCTIVE,
    )
    async def revoke_api_key(key_id: int) -> str:
        await _end_key("revoke_api_key", key_management.revoke, key_id, "in this organization")
        return f"API key {key_id} revoked; it no longer works."

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
