"""What stands in front of the MCP SDK's app: what the SDK doesn't do, or doesn't answer
in JSON.

- Paths: MCP_PATH for keys and MCP_OAUTH_PATH for OAuth tokens (with or without a
  trailing slash, never redirected); anything else under MCP_PATH is a JSON 404 that says
  which URL is for what. A GET gets 405 at once: the stream it would open carries what a
  server sends on its own, and a stateless server never does.
- The body: read whole before anything acts on it, within DATA_UPLOAD_MAX_MEMORY_SIZE
  (413) and REQUEST_BODY_TIMEOUT (408); parsed once, for the MCP client's name ("last
  used") and the tools a tools/call names (mcp_server.app.ScopeCheck).
- The client's address (infra.client_ip), for the throttle and "last used".
- Every answer is JSON: a refusal the SDK or Starlette sends in plain text becomes the
  JSON error of its status; a down dependency is a 503 with Retry-After, a throttled
  client a 429, a bug a 500.
"""

import asyncio
import json

from asgiref.sync import sync_to_async
from django.conf import settings

from apikeys import throttle
from apikeys.shapes import THROTTLED
from infra import client_ip, faults, metrics
from infra.last_use import CLIENT_NAME_LENGTH
from infra.machine import ERRORS, NO_OAUTH, error_body, send_json

from .credentials import Request, Throttled, current

CLIENT_INFO_META_KEY = "io.modelcontextprotocol/clientInfo"
KEPT_HEADERS = (b"allow", b"retry-after", b"www-authenticate")
SLOW_BODY = {"error": "request_timeout", "error_description": "The request body came too slowly"}
UNAVAILABLE_HEADERS = [(b"retry-after", str(faults.RETRY_AFTER_SECONDS).encode())]


def headers_of(scope) -> dict[bytes, bytes]:
    """The request's headers by lowercase name, repeated ones joined as HTTP joins them."""
    headers = {}
    for name, value in scope.get("headers") or []:
        headers[name] = headers[name] + b"," + value if name in headers else value
    return headers


# Room for what cleaning removes (control and invisible characters) before the cut.
CLIENT_NAME_READ = 4 * CLIENT_NAME_LENGTH


class ClientGone(Exception):
    """The client disconnected before its body was whole: nothing is acted on."""


class BodyRefused(Exception):
    """A body refused before anything read it further: its status and JSON answer."""

    def __init__(self, status: int, body: dict):
        super().__init__(body)
        self.status, self.body = status, body


# JSON-RPC's own answer to a body it can't parse.
NESTED_TOO_DEEP = {
    "jsonrpc": "2.0",
    "id": None,
    "error": {"code": -32700, "message": "Parse error: JSON nested too deeply"},
}


def message_of(body: bytes):
    """The request's JSON-RPC message, or None if the body isn't JSON (the SDK answers
    that). JSON nested deeper than Python goes is refused here, 400: the SDK's own parser
    would fail on it with a 500."""
    try:
        return json.loads(body)
    except ValueError:
        return None
    except RecursionError:
        raise BodyRefused(400, NESTED_TOO_DEEP) from None


def calls_of(message) -> list[dict]:
    return [
        call
        for call in (message if isinstance(message, list) else [message])
        if isinstance(call, dict)
    ]


def tools_of(message) -> tuple[str, ...]:
    """The tools a tools/call in the message names."""
    named = []
    for call in calls_of(message):
        params = call.get("params")
        if call.get("method") == "tools/call" and isinstance(params, dict):
            tool = params.get("name")
            named.append(tool if isinstance(tool, str) else "")
    return tuple(named)


def client_of(message) -> str | None:
    """The MCP client's "name version", from an initialize request or a request's _meta."""
    calls = calls_of(message)
    params = calls[0].get("params") if calls else None
    if not isinstance(params, dict):
        return None
    info = params.get("clientInfo") if calls[0].get("method") == "initialize" else None
    meta = params.get("_meta")
    if not isinstance(info, dict) and isinstance(meta, dict):
        info = meta.get(CLIENT_INFO_META_KEY)
    if not isinstance(info, dict) or not isinstance(info.get("name"), str):
        return None
    # Cut before anything cleans it character by character (infra.last_use): the console
    # shows CLIENT_NAME_LENGTH of it, and a body may hold megabytes.
    name, version = info["name"][:CLIENT_NAME_READ], info.get("version")
    return f"{name} {version[:CLIENT_NAME_READ]}" if isinstance(version, str) else name


async def read_body(receive) -> bytes:
    """The whole body, or BodyRefused: too large (413, read no further) or too slow (408)."""
    chunks, size = [], 0
    try:
        async with asyncio.timeout(settings.REQUEST_BODY_TIMEOUT):
            while True:
                message = await receive()
                if message["type"] != "http.request":  # the client went away mid-body
                    raise ClientGone
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
                    raise BodyRefused(413, ERRORS[413])
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
    except TimeoutError:
        raise BodyRefused(408, SLOW_BODY) from None
    return b"".join(chunks)


class JsonErrors:
    """The response side of one request: a JSON error in place of any other error the app
    sends (the SDK's plain-text 421 for a wrong Host, Starlette's 500...), keeping the
    headers that say what to do."""

    def __init__(self, send, path):
        self.send, self.path = send, path
        self.status = 0
        self.replaced = False

    async def __call__(self, message):
        if message["type"] == "http.response.start":
            self.status = message["status"]
            headers = message.get("headers") or []
            if self.status >= 400 and not dict(headers).get(b"content-type", b"").startswith(
                b"application/json"
            ):
                self.replaced = True
                kept = [(name, value) for name, value in headers if name in KEPT_HEADERS]
                return await send_json(
                    self.send, self.status, error_body(self.path, self.status), kept
                )
        elif self.replaced:
            return None  # the body of the replaced answer
        return await self.send(message)


class Edge:
    """ASGI: the MCP server's paths, each to its app (`apps`: path -> ASGI app)."""

    def __init__(self, apps: dict):
        self.apps = apps

    def app_for(self, path: str):
        return self.apps.get(path) or self.apps.get(path.removesuffix("/"))

    async def __call__(self, scope, receive, send):
        reply = JsonErrors(send, scope["path"])
        try:
            await self.handle(scope, receive, reply)
        except Throttled as throttled:
            await self.refuse(
                reply, 429, THROTTLED, [(b"retry-after", str(throttled.retry_after).encode())]
            )
        except BodyRefused as refused:
            await self.refuse(reply, refused.status, refused.body, [(b"connection", b"close")])
        except ClientGone:
            pass  # no one to answer
        except Exception as error:
            if faults.is_dependency_error(error):
                faults.report("MCP request failed, a dependency is down", scope["path"], error)
                await self.refuse(reply, 503, ERRORS[503], UNAVAILABLE_HEADERS)
            else:
                kind = f"MCP request failed ({type(error).__name__})"
                faults.report(kind, scope["path"], error, traceback=True)
                await self.refuse(reply, 500, ERRORS[500], [])

    @staticmethod
    async def refuse(reply: JsonErrors, status: int, body: dict, headers: list):
        if not reply.status:  # nothing sent yet
            await send_json(reply.send, status, body, headers)

    async def handle(self, scope, receive, reply):
        app = self.app_for(scope["path"])
        if app is None:
            return await send_json(reply, 404, NO_OAUTH, [])
        if scope["method"] == "GET":
            allow = [(b"allow", b"POST, DELETE")]
            return await send_json(reply, 405, error_body(scope["path"], 405), allow)
        body = await read_body(receive) if scope["method"] == "POST" else b""
        headers = headers_of(scope)
        message = message_of(body)
        peer = (scope.get("client") or ("",))[0]
        current.set(
            Request(
                ip=client_ip.decide(peer, headers.get(b"x-forwarded-for", b"").decode("latin-1")),
                user_agent=headers.get(b"user-agent", b"").decode("latin-1"),
                client_name=client_of(message),
                tools=tools_of(message),
            )
        )
        # Served at the endpoint's own path: Starlette would redirect /mcp/ to a URL made
        # of the Host header.
        path = scope["path"].removesuffix("/") or "/"
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await app({**scope, "path": path, "raw_path": path.encode()}, replay, reply)
        bearer = headers.get(b"authorization", b"")[:7].lower() == b"bearer "
        if reply.status == 401 and not bearer:
            # Refused without a token, so the verifier counted nothing: count it here.
            metrics.key_check("oauth" if path == settings.MCP_OAUTH_PATH else "mcp", "refused")
            await sync_to_async(throttle.record_failure)(current.get().ip)
