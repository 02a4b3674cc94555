"""The one check of an MCP request's credential: the SDK's TokenVerifier, one per path.

At MCP_PATH the Bearer token is a Genesis API key (apikeys.services.authenticate); at
MCP_OAUTH_PATH an OAuth access token (oauth.tokens.authenticate). Either check is one
query, with the failed-check throttle before it and "last used" after it, in one hop to
a thread. What the SDK's verifier can't see of the request (the client's address, its
User-Agent, the MCP client's name from the body) the edge put in `current` first
(mcp_server.edge).
"""

import contextvars
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.views.decorators.debug import sensitive_variables
from mcp.server.auth.provider import AccessToken

from apikeys import services, throttle, usage
from apikeys.models import Surface
from infra import metrics
from oauth import tokens as oauth_tokens
from oauth import usage as grant_usage
from organizations import scopes


@dataclass(frozen=True)
class Request:
    """What the edge learnt of the request, for the verifier and the scope check."""

    ip: str
    user_agent: str
    client_name: str | None  # the MCP client's "name version", when the body says it
    tools: tuple[str, ...]  # the tools a tools/call in the body names


current: contextvars.ContextVar[Request] = contextvars.ContextVar("mcp_request")


class Throttled(Exception):
    """Too many failed checks from this address: the edge answers 429."""

    def __init__(self, retry_after: int):
        super().__init__(retry_after)
        self.retry_after = retry_after


class Verifier:
    """A TokenVerifier (mcp.server.auth.provider): the credential, or None (the SDK's
    401). Never the secret in what it returns: the AccessToken's token is the
    credential's id."""

    surface = "mcp"  # for the metrics (GrantVerifier's: "oauth")

    async def verify_token(self, token: str) -> AccessToken | None:
        context = await sync_to_async(self.check)(token, current.get())
        if context is None:
            return None
        return AccessToken(
            token=context.credential,
            client_id=context.credential,
            subject=str(context.user_id),
            scopes=sorted(context.scopes),
            claims={"context": context},
        )

    @sensitive_variables("token")
    def check(self, token: str, request: Request):
        # An ASGI app is outside Django's request cycle: tidy the connection ourselves.
        close_old_connections()
        try:
            wait = throttle.retry_after(request.ip)
            if wait:
                self.throttled(token)
                metrics.key_check(self.surface, "throttled")
                raise Throttled(wait)
            context = self.authenticate(token, request)
            if context is None:
                metrics.key_check(self.surface, "refused")
                throttle.record_failure(request.ip)
            return context
        finally:
            close_old_connections()

    def authenticate(self, token: str, request: Request):
        raise NotImplementedError

    def throttled(self, token: str) -> None:
        """A request refused with 429 before its credential was checked."""


class KeyVerifier(Verifier):
    @sensitive_variables("token")
    def authenticate(self, token, request):
        context = services.authenticate(token, request.ip)
        if context is None:
            usage.refused(token, Surface.MCP)
        else:
            # Counted ok or forbidden once the scopes are checked (mcp_server.app).
            usage.write_due()
        # A key without the MCP server's scope is refused (403): not a use.
        if context is not None and scopes.MCP_READ in context.scopes:
            services.record_use(
                context,
                ip=request.ip,
                surface=Surface.MCP,
                user_agent=request.user_agent,
                client_info=request.client_name,
            )
        return context

    @sensitive_variables("token")
    def throttled(self, token):
        usage.throttled(token, Surface.MCP)


class GrantVerifier(Verifier):
    surface = "oauth"

    @sensitive_variables("token")
    def authenticate(self, token, request):
        context = oauth_tokens.authenticate(token)
        if context is None:
            grant_usage.refused(token, Surface.MCP)
        else:
            # Counted ok or forbidden once the scopes are checked (mcp_server.app).
            grant_usage.write_due()
            oauth_tokens.record_use(
                context,
                ip=request.ip,
                user_agent=request.user_agent,
                client_info=request.client_name,
            )
        return context

    @sensitive_variables("token")
    def throttled(self, token):
        grant_usage.throttled(token, Surface.MCP)
