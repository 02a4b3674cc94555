"""What stands in front of the MCP SDK's app at /mcp: everything about the request the SDK
can't see or can't answer well.

- the client's address (genesis.client_ip) and its throttle (429 after too many failures);
- the key check itself, with last use (the MCP client's name from `initialize` or a
  request's `_meta`): done here, before the SDK's bearer middleware, because a database
  that fails there broke the SDK's auth step (500 in plain text, or the connection
  dropped without an answer). Here it is a JSON 503 with Retry-After;
- the contract: every answer is JSON, an error included, and every request gets one.
"""

import contextvars
import json
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.views.decorators.debug import sensitive_variables

from apikeys import scopes, services, throttle
from apikeys.models import Surface
from genesis import client_ip, faults
from genesis.machine import ERRORS, NO_OAUTH, error_body, send_json
from genesis.shapes import THROTTLED
from oauth import scopes as oauth_scopes
from oauth import tokens as oauth_tokens

CLIENT_INFO_META_KEY = "io.modelcontextprotocol/clientInfo"

# What each tool needs, besides mcp:read for the server itself (apikeys.scopes). A tool
# not listed here needs nothing more. genesis.mcp lists only the tools a key may call.
TOOL_SCOPES = {
    "whoami": frozenset({scopes.MCP_READ}),
    "list_my_api_keys": frozenset({scopes.MCP_READ}),
    "delete_my_api_key": frozenset({scopes.MCP_WRITE}),
    "list_organization_api_keys": frozenset({scopes.MCP_READ, scopes.ORG_ADMIN}),
    "revoke_api_key": frozenset({scopes.MCP_WRITE, scopes.ORG_ADMIN}),
}
MAX_PEEK_BYTES = 64 * 1024  # client info sits at the start of small messages

# The credential check's answer for this request (a key's context at MCP_PATH, a grant's
# at MCP_OAUTH_PATH), for KeyVerifier (genesis.mcp) to hand the SDK.
Context = services.KeyContext | oauth_tokens.GrantContext
verified: contextvars.ContextVar[Context | None] = contextvars.ContextVar(
    "mcp_verified_key", default=None
)


def is_oauth_path(path: str) -> bool:
    return path in (settings.MCP_OAUTH_PATH, settings.MCP_OAUTH_PATH + "/")


def challenge(*, error: str = "", scope: str = "", oauth: bool = False) -> bytes:
    """A WWW-Authenticate value: the error, at the OAuth path where its metadata is (MCP
    authorization spec), and the scope to ask for."""
    parts = [f'error="{error}"'] if error else []
    if oauth:
        metadata = "/.well-known/oauth-protected-resource" + settings.MCP_OAUTH_PATH
        parts.append(f'resource_metadata="{settings.PUBLIC_URL}{metadata}"')
    if scope:
        parts.append(f'scope="{scope}"')
    return ("Bearer " + ", ".join(parts)).encode()


@sensitive_variables("token")
def _check_key(token, *, ip, user_agent, client_info) -> services.KeyContext | None:
    # /mcp bypasses Django's request signals: tidy the connection ourselves.
    close_old_connections()
    try:
        context = services.authenticate(token, ip)
        # A key without the MCP server's scope is refused by the SDK (403): not a use.
        if context is not None and scopes.MCP_READ in context.scopes:
            services.record_use(
                context,
                ip=ip,
                surface=Surface.MCP,
                user_agent=user_agent,
                client_info=client_info,
            )
        return context
    finally:
        close_old_connections()


@sensitive_variables("token")
def _check_grant(token, *, ip, user_agent, client_info) -> oauth_tokens.GrantContext | None:
    close_old_connections()
    try:
        context = oauth_tokens.authenticate(token)
        if context is not None:
            oauth_tokens.record_use(context, ip=ip, user_agent=user_agent, client_info=client_info)
        return context
    finally:
        close_old_connections()


@sensitive_variables("value")
def _bearer_token(scope) -> str | None:
    """The token as the SDK's bearer middleware reads it: the first Authorization header,
    after "Bearer "."""
    for name, value in scope.get("headers") or []:
        if name == b"authorization":
            value = value.decode("latin-1")
            return value[7:] if value.lower().startswith("bearer ") else None
    return None


def _message(body: bytes):
    """The request's JSON-RPC message (or batch), parsed once for the gate; None if the
    body isn't JSON (or is nested deeper than Python goes)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def _missing_scopes(message, granted: frozenset) -> frozenset:
    """The scopes a tools/call in this message needs and the key lacks (batches: any).
    (Checked on the parsed message: JSON may spell "tools/call" with escapes. A body too
    big to peek is checked by the tool itself: genesis.mcp's _key.)"""
    missing = set()
    for call in message if isinstance(message, list) else [message]:
        if isinstance(call, dict) and call.get("method") == "tools/call":
            params = call.get("params")
            tool = params.get("name") if isinstance(params, dict) else None
            if isinstance(tool, str):
                missing |= TOOL_SCOPES.get(tool, frozenset()) - granted
    return frozenset(missing)


def _client_from(message) -> str:
    """The MCP client's "name version", from an initialize request or a request's _meta."""
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


async def peek_body(receive):
    """Read the start of the request body, and give back a receive that replays it. The
    body is b"" where it is longer than MAX_PEEK_BYTES (or the client left)."""
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


KEPT_HEADERS = (b"allow", b"retry-after", b"www-authenticate")


class _Reply:
    """The response side of one request: what has been sent, and a JSON error in place of
    any other the SDK's app sends (Starlette's plain-text 500 for a crash, the SDK's
    empty 400 for a wrong Content-Type...), keeping the headers that say what to do."""

    def __init__(self, send, path):
        self._send = send
        self._path = path
        self.status = 0
        self.replaced = False

    @property
    def started(self) -> bool:
        return bool(self.status)

    async def __call__(self, message):
        if message["type"] == "http.response.start":
            self.status = message["status"]
            headers = message.get("headers") or []
            content_type = dict(headers).get(b"content-type", b"")
            if self.status >= 400 and not content_type.startswith(b"application/json"):
                self.replaced = True
                kept = [(name, value) for name, value in headers if name in KEPT_HEADERS]
                body = error_body(self._path, self.status)
                return await send_json(self._send, self.status, body, kept)
        elif self.replaced:
            return None  # the body of the replaced answer
        return await self._send(message)


UNAVAILABLE_HEADERS = [(b"retry-after", str(faults.RETRY_AFTER_SECONDS).encode())]


def failure(path: str, error: Exception) -> tuple[int, dict, list]:
    """The answer to a request that failed: 503 with Retry-After where a dependency is
    down, 500 for a bug; logged once a minute per kind."""
    if faults.is_dependency_error(error):
        faults.report("MCP request failed, a dependency is down", path, error)
        return 503, ERRORS[503], UNAVAILABLE_HEADERS
    faults.report(f"MCP request failed ({type(error).__name__})", path, error, traceback=True)
    return 500, ERRORS[500], []


class McpGate:
    """ASGI wrapper around the SDK's app; see the module's docstring."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        reply = _Reply(send, scope["path"])
        try:
            await self._handle(scope, receive, reply)
        except Exception as error:
            status, body, headers = failure(scope["path"], error)
            if not reply.started:
                await send_json(reply, status, body, headers)

    async def _handle(self, scope, receive, reply):
        oauth = is_oauth_path(scope["path"])
        if not oauth and scope["path"] not in (settings.MCP_PATH, settings.MCP_PATH + "/"):
            # /mcp/.well-known/... and the like: JSON, never the SDK's plain-text 404.
            return await send_json(reply, 404, NO_OAUTH, [])
        if scope["method"] == "GET":
            # The stream a GET opens carries what a server sends on its own, and a
            # stateless server never does: the SDK held it open, silent, for good. 405 is
            # the spec's "no stream here", which clients expect.
            return await send_json(
                reply,
                405,
                error_body(scope["path"], 405),
                [(b"allow", b"POST, DELETE")],
            )
        body, receive = await peek_body(receive) if scope["method"] == "POST" else (b"", receive)
        admission = scope.get(ADMISSION)
        if admission is None:  # not admitted by the WSGI side (genesis.mcp_wsgi) already
            admission = await sync_to_async(admit)(scope, body)
        if admission.retry_after:
            return await send_json(
                reply,
                429,
                THROTTLED,
                [(b"retry-after", str(admission.retry_after).encode())],
            )
        if oauth and admission.context is None:
            # The OAuth path's own 401: it tells a client where to sign in. (Counted as a
            # failure here, or by the WSGI side where it admitted the request.)
            if ADMISSION not in scope:
                await sync_to_async(throttle.record_failure)(admission.ip)
            return await send_json(
                reply,
                401,
                {
                    "error": "invalid_token",
                    "error_description": "Sign in with OAuth: an access token is needed",
                },
                [
                    (
                        b"www-authenticate",
                        challenge(
                            error="invalid_token" if admission.token else "",
                            scope=" ".join(oauth_scopes.DEFAULT),
                            oauth=True,
                        ),
                    )
                ],
            )
        if admission.missing_scopes:
            # The spec's step-up answer: what the request needs, for a client to ask for
            # a key or a grant that has it.
            needed = " ".join(sorted(admission.missing_scopes))
            credential = "grant" if oauth else "API key"
            return await send_json(
                reply,
                403,
                {
                    "error": "insufficient_scope",
                    "error_description": f"This {credential} lacks the scope {needed}",
                    "scope": needed,
                },
                [
                    (
                        b"www-authenticate",
                        challenge(error="insufficient_scope", scope=needed, oauth=oauth),
                    )
                ],
            )
        # Served as /mcp: Starlette would redirect /mcp/ to a URL made of the Host header,
        # and the SDK's app knows one path (the credential's kind was decided above).
        sdk_scope = {**scope, "path": settings.MCP_PATH, "raw_path": settings.MCP_PATH.encode()}
        handle = verified.set(admission.context)
        try:
            await self.app(sdk_scope, receive, reply)
        finally:
            verified.reset(handle)
        if reply.status == 401 and ADMISSION not in scope:
            await sync_to_async(throttle.record_failure)(admission.ip)


# Where the WSGI side puts its Admission in the scope it hands this gate.
ADMISSION = "genesis.admission"


@dataclass(frozen=True)
class Admission:
    """What the gate decided about a request before the SDK sees it."""

    ip: str
    retry_after: int = 0  # > 0: throttled, the request goes no further
    context: Context | None = None
    token: bool = False  # whether the request sent one
    # What a tools/call in the body needs that the key lacks: refused with 403.
    missing_scopes: frozenset = frozenset()


def is_admitted(method: str, path: str) -> bool:
    """Whether the gate checks this request's key: a request for the MCP server itself
    (the gate answers other paths, and GET, without one)."""
    return method != "GET" and (
        path in (settings.MCP_PATH, settings.MCP_PATH + "/") or is_oauth_path(path)
    )


def admit(scope, body: bytes) -> Admission:
    """The synchronous part of the gate (database, cache), in one call so that it costs
    one hop to a thread: the client's address, its throttle, and the key check with its
    last use. The SDK then answers 401 where there is no context."""
    headers = _headers(scope)
    peer = (scope.get("client") or ("",))[0]
    ip = client_ip.decide(peer, headers.get(b"x-forwarded-for", b"").decode("latin-1"))
    wait = throttle.retry_after(ip)
    if wait:
        return Admission(ip, retry_after=wait)
    token = _bearer_token(scope)
    if token is None:
        return Admission(ip)
    message = _message(body)
    # A key at MCP_PATH, an OAuth access token at MCP_OAUTH_PATH; never the other way.
    check = _check_grant if is_oauth_path(scope["path"]) else _check_key
    context = check(
        token,
        ip=ip,
        user_agent=headers.get(b"user-agent", b"").decode("latin-1"),
        client_info=_client_from(message) or None,
    )
    if context is None:
        return Admission(ip, token=True)
    return Admission(
        ip, context=context, token=True, missing_scopes=_missing_scopes(message, context.scopes)
    )
