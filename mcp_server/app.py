"""The MCP server's ASGI app, as the SDK documents it: each path's MCPServer app
(`streamable_http_app`) behind the SDK's own resource-server middleware (Starlette's
AuthenticationMiddleware with the SDK's BearerAuthBackend and our TokenVerifier,
AuthContextMiddleware for `get_access_token()`, RequireAuthMiddleware for the 401), a
scope check after it, and the edge in front (mcp_server.edge). Whoever serves it runs
`lifespan()`, which runs the session managers (genesis.asgi).
"""

import contextlib

from asgiref.sync import sync_to_async
from django.conf import settings
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend, RequireAuthMiddleware
from mcp.server.transport_security import TransportSecuritySettings
from starlette.middleware.authentication import AuthenticationMiddleware

from apikeys import usage
from apikeys.models import Outcome, Surface
from infra import metrics
from infra.machine import send_json
from infra.request_log import AsgiRequestLog
from oauth import usage as grant_usage

from . import tools
from .credentials import GrantVerifier, KeyVerifier, current
from .edge import Edge

RESOURCE_METADATA = "/.well-known/oauth-protected-resource"


def resource_metadata_url() -> str:
    """Where the OAuth path's protected resource metadata is (RFC 9728; genesis.urls)."""
    return f"{settings.PUBLIC_URL}{RESOURCE_METADATA}{settings.MCP_OAUTH_PATH}"


def challenge(*, error: str, scope: str, oauth: bool) -> bytes:
    """A WWW-Authenticate value for a refusal: the error, the scope to ask for, and at the
    OAuth path where its metadata is (MCP authorization spec)."""
    parts = [f'error="{error}"', f'scope="{scope}"']
    if oauth:
        parts.append(
            f'resource_metadata="{settings.PUBLIC_URL}{RESOURCE_METADATA}{settings.MCP_OAUTH_PATH}"'
        )
    return ("Bearer " + ", ".join(parts)).encode()


class ScopeCheck:
    """After the SDK authenticated the request: the scopes the server and the tools the
    request calls need (mcp_server.tools.TOOL_SCOPES). Missing any is the spec's step-up
    answer, 403 insufficient_scope naming them, before the SDK reads the request."""

    def __init__(self, app, *, oauth: bool):
        self.app, self.oauth = app, oauth
        self.surface = "oauth" if oauth else "mcp"  # for the metrics

    async def __call__(self, scope, receive, send):
        access_token = scope["user"].access_token
        missing = tools.needed(current.get().tools) - frozenset(access_token.scopes)
        outcome = Outcome.FORBIDDEN if missing else Outcome.OK
        if self.oauth:
            grant_usage.count(access_token.claims["context"].grant_id, Surface.MCP, outcome)
        else:
            usage.count(access_token.claims["context"].key_id, Surface.MCP, outcome)
        if not missing:
            metrics.key_check(self.surface, "ok", scope["user"].access_token.token)
            return await self.app(scope, receive, send)
        metrics.key_check(self.surface, "forbidden", scope["user"].access_token.token)
        needed = " ".join(sorted(missing))
        credential = "grant" if self.oauth else "API key"
        body = {
            "error": "insufficient_scope",
            "error_description": f"This {credential} lacks the scope {needed}",
            "scope": needed,
        }
        header = challenge(error="insufficient_scope", scope=needed, oauth=self.oauth)
        await send_json(send, 403, body, [(b"www-authenticate", header)])


def protected(app, verifier, *, oauth: bool):
    """`app` behind the SDK's resource-server middleware, as MCPServer composes it when
    given a verifier, with the scope check between the 401 and the app."""
    metadata = (
        f"{settings.PUBLIC_URL}{RESOURCE_METADATA}{settings.MCP_OAUTH_PATH}" if oauth else None
    )
    app = RequireAuthMiddleware(ScopeCheck(app, oauth=oauth), [], metadata)
    app = AuthContextMiddleware(app)
    return AuthenticationMiddleware(app, backend=BearerAuthBackend(verifier))


def transport_security() -> TransportSecuritySettings:
    return TransportSecuritySettings(
        enable_dns_rebinding_protection="*" not in settings.MCP_ALLOWED_HOSTS,
        allowed_hosts=settings.MCP_ALLOWED_HOSTS,
        allowed_origins=settings.MCP_ALLOWED_ORIGINS,
    )


class McpApp:
    """The MCP server's ASGI app for MCP_PATH and everything under it, and the lifespan its
    host must run. A new one has new session managers (the SDK runs each once)."""

    def __init__(self):
        self.servers = {}
        apps = {}
        for path, verifier, oauth in (
            (settings.MCP_PATH, KeyVerifier(), False),
            (settings.MCP_OAUTH_PATH, GrantVerifier(), True),
        ):
            server = self.servers[path] = tools.build_server()
            sdk_app = server.streamable_http_app(
                streamable_http_path=path,
                stateless_http=True,
                json_response=True,
                transport_security=transport_security(),
            )
            apps[path] = protected(sdk_app, verifier, oauth=oauth)
        # The request's id, its log line and its time around everything (infra.request_log).
        self.edge = AsgiRequestLog(Edge(apps))

    @contextlib.asynccontextmanager
    async def lifespan(self):
        async with contextlib.AsyncExitStack() as stack:
            for server in self.servers.values():
                await stack.enter_async_context(server.session_manager.run())
            yield
        # A worker that stops writes the usage it counted since its last write.
        await sync_to_async(usage.flush)()
        await sync_to_async(grant_usage.flush)()

    async def __call__(self, scope, receive, send):
        await self.edge(scope, receive, send)
