"""The MCP server's tools, and the scopes each needs.

A tool learns who calls from the SDK's `get_access_token()`: the AccessToken our
TokenVerifier built (mcp_server.credentials), whose claims hold the credential's context
(a key's or a grant's, never the secret). Scopes are checked before a tool runs, in one
place (mcp_server.app.ScopeCheck), so a tool here never checks them again.
"""

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from apikeys import key_management
from apikeys.shapes import KeyInfo, KeyUsage, Me, OrganizationKeyPage
from infra import faults
from infra.version import VERSION
from organizations import scopes

# What each tool needs, besides mcp:read for the server itself. A tool not listed needs
# nothing more; list_tools shows a credential only the tools it may call.
TOOL_SCOPES = {
    "whoami": frozenset(),
    "list_my_api_keys": frozenset(),
    "delete_my_api_key": frozenset({scopes.MCP_WRITE}),
    "list_organization_api_keys": frozenset({scopes.ORG_ADMIN}),
    "get_api_key_usage": frozenset(),
    "revoke_api_key": frozenset({scopes.MCP_WRITE, scopes.ORG_ADMIN}),
}
SERVER_SCOPES = frozenset({scopes.MCP_READ})


def needed(tools) -> frozenset:
    """The scopes a request calling `tools` (names) needs."""
    return SERVER_SCOPES.union(*(TOOL_SCOPES.get(tool, frozenset()) for tool in tools))


def caller():
    """The checked credential's context of this request: a key's (apikeys.services
    .KeyContext) or a grant's (oauth.tokens.GrantContext)."""
    return get_access_token().claims["context"]


async def in_database(name: str, work, *args):
    """Run `work` (synchronous, the ORM) for a tool, tidying the connection around it as
    an ASGI app outside Django's request cycle must. A database that is down is the tool's
    error, in our words, not the driver's (which names hosts and ports)."""

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
        raise ToolError("The Genesis database is unavailable; try again shortly.") from None


async def end_key(tool: str, work, key_id: int, whose: str) -> None:
    """Delete or revoke a key for a tool; a key that isn't there is the tool's error."""
    try:
        await in_database(tool, work, caller(), key_id)
    except key_management.NotFound:
        raise ToolError(f"No active API key {key_id} {whose}.") from None


READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)
DESTRUCTIVE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)


class GenesisServer(MCPServer):
    async def list_tools(self):
        """Only the tools this credential's scopes allow."""
        token = get_access_token()
        granted = frozenset(token.scopes) if token is not None else frozenset()
        return [tool for tool in await super().list_tools() if needed([tool.name]) <= granted]


def build_server() -> MCPServer:
    """A new server with every tool (each served path has its own: the SDK runs one
    session manager per server)."""
    server = GenesisServer(
        name="Genesis",
        version=VERSION,
        instructions="Genesis MCP server. Authenticate with a Genesis API key as a Bearer token.",
        log_level="WARNING",
    )

    @server.tool(
        description="Who this API key belongs to: user, organization, role and key.",
        annotations=READ_ONLY,
    )
    async def whoami() -> Me:
        return Me.model_validate(caller(), from_attributes=True)

    @server.tool(
        description="Your active API keys (not revoked, not expired) in this key's "
        "organization: id, name, hint, scopes, allowed IPs, created, expires, last used. "
        "Never a secret.",
        annotations=READ_ONLY,
    )
    async def list_my_api_keys() -> list[KeyInfo]:
        key = caller()
        keys = await in_database("list_my_api_keys", key_management.my_keys, key)
        return [KeyInfo.of(each, key.role) for each in keys]

    @server.tool(
        description="Delete one of your API keys by its id (from list_my_api_keys). It "
        "stops working at once; this can't be undone.",
        annotations=DESTRUCTIVE,
    )
    async def delete_my_api_key(key_id: int) -> str:
        await end_key("delete_my_api_key", key_management.delete_mine, key_id, "of yours")
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
        key = caller()
        page = await in_database(
            "list_organization_api_keys",
            lambda: key_management.organization_keys(
                key, member=member, name=name, limit=limit, offset=offset
            ),
        )
        return OrganizationKeyPage.of(page)

    @server.tool(
        description="Requests per day (UTC) with an API key, by surface (api, mcp) and "
        "outcome (ok, forbidden, refused, throttled), oldest first, about a minute behind: "
        "one of yours (revoked ones too), or with the org:admin scope any of the "
        "organization's. `days`: 1 to 90.",
        annotations=READ_ONLY,
    )
    async def get_api_key_usage(key_id: int, days: int = key_management.USAGE_DAYS) -> KeyUsage:
        key = caller()
        whose = (
            key_management.organization_key_usage
            if scopes.ORG_ADMIN in key.scopes
            else key_management.my_key_usage
        )
        try:
            answer = await in_database("get_api_key_usage", whose, key, key_id, days)
        except key_management.BadDays:
            raise ToolError(
                f"days is a whole number from 1 to {key_management.USAGE_MAX_DAYS}."
            ) from None
        except key_management.NotFound:
            raise ToolError(f"No API key {key_id} you may see.") from None
        return KeyUsage.model_validate(answer)

    @server.tool(
        description="Revoke a key of the organization by its id (needs the org:admin "
        "scope). It stops working at once and its owner is told.",
        annotations=DESTRUCTIVE,
    )
    async def revoke_api_key(key_id: int) -> str:
        await end_key("revoke_api_key", key_management.revoke, key_id, "in this organization")
        return f"API key {key_id} revoked; it no longer works."

    return server
