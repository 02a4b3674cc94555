"""The MCP server under a WSGI server, so that one WSGI server serves everything.

The MCP SDK's app is ASGI. Each WSGI thread runs one of its own, on an event loop of its
own that runs in that thread, only while the thread serves an MCP request: first the
request's synchronous part (the client's address, the throttle, the key check and its
last use: genesis.mcp_gate.admit), as for the console and the API, then the SDK's answer
on the loop. No other thread is involved: a hop to a shared loop thread cost more than
the SDK's own work (both threads wanted the one GIL at once, see docs/performance.md).
"""

import asyncio
import json
import threading
from http import HTTPStatus

from django.conf import settings

from apikeys import throttle
from genesis import mcp_gate
from genesis.machine import error_body
from genesis.mcp import build_mcp_app

# Longer than any MCP request takes; a thread is never held for good.
RESPONSE_TIMEOUT_SECONDS = 60


def scope_for(environ: dict, path: str) -> dict:
    """The ASGI scope of a WSGI request."""
    headers = [
        (name[5:].replace("_", "-").lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in environ.items()
        if name.startswith("HTTP_")
    ]
    for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(name):
            headers.append((name.replace("_", "-").lower().encode(), environ[name].encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": environ.get("SERVER_PROTOCOL", "HTTP/1.1").partition("/")[2] or "1.1",
        "method": environ["REQUEST_METHOD"],
        "scheme": environ.get("wsgi.url_scheme", "http"),
        "path": path,
        "raw_path": path.encode("utf-8"),
        "query_string": environ.get("QUERY_STRING", "").encode("latin-1"),
        "root_path": "",
        "headers": headers,
        "client": (environ.get("REMOTE_ADDR", ""), int(environ.get("REMOTE_PORT") or 0)),
        "server": (environ.get("SERVER_NAME", ""), int(environ.get("SERVER_PORT") or 0)),
    }


class McpThread:
    """One thread's MCP app and the event loop it runs on (see the module's docstring)."""

    def __init__(self, app=None):
        self.app = app or build_mcp_app()
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(asyncio.wait_for(self._start_lifespan(), timeout=30))

    async def _start_lifespan(self):
        """The SDK's session manager runs for the life of the thread; its task waits on
        this loop between requests."""
        started = asyncio.Event()
        messages = [{"type": "lifespan.startup"}]

        async def receive():
            if messages:
                return messages.pop()
            await asyncio.Event().wait()  # shutdown never comes: the process just ends

        async def send(message):
            if message["type"] == "lifespan.startup.complete":
                started.set()

        # Held: the loop keeps only a weak reference to a task.
        self._lifespan = asyncio.ensure_future(self.app({"type": "lifespan"}, receive, send))
        await started.wait()

    def serve(self, scope, body: bytes) -> tuple[int, list, bytes]:
        """The app's answer to one request: status, headers, body."""
        return self.loop.run_until_complete(self._serve(scope, body))

    async def _serve(self, scope, body: bytes):
        response = {"status": 500, "headers": [], "body": []}
        request = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive():
            if request:
                return request.pop()
            await asyncio.Event().wait()  # the response is complete before this matters

        async def send(message):
            if message["type"] == "http.response.start":
                response["status"], response["headers"] = message["status"], message["headers"]
            elif message["type"] == "http.response.body":
                response["body"].append(message.get("body", b""))

        async with asyncio.timeout(RESPONSE_TIMEOUT_SECONDS):  # no task of its own, unlike wait_for
            await self.app(scope, receive, send)
        return response["status"], response["headers"], b"".join(response["body"])


class McpUnderWsgi:
    """A WSGI app serving the MCP server (see the module's docstring)."""

    def __init__(self):
        self._threads = threading.local()
        # The importing thread's now (it serves requests under gunicorn's sync workers, and
        # a broken MCP setup fails at startup); another thread's on its first MCP request.
        self._server()

    def _server(self) -> McpThread:
        server = getattr(self._threads, "server", None)
        if server is None:
            server = self._threads.server = McpThread()
        return server

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return self._answer(start_response, 413, error_body(path, 413), [])
        body = environ["wsgi.input"].read(length) if length else b""
        scope = scope_for(environ, path)
        if mcp_gate.is_admitted(environ["REQUEST_METHOD"], path):
            try:
                scope[mcp_gate.ADMISSION] = admission = mcp_gate.admit(scope, body)
            except Exception as error:
                return self._answer(start_response, *mcp_gate.failure(path, error))
        else:
            admission = None  # the gate answers these (404, 405) without a key check
        status, headers, content = self._server().serve(scope, body)
        if status == 401 and admission is not None:
            throttle.record_failure(admission.ip)
        start_response(
            f"{status} {_reason(status)}",
            [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers],
        )
        return [content]

    @staticmethod
    def _answer(start_response, status, body, headers):
        payload = json.dumps(body).encode()
        start_response(
            f"{status} {_reason(status)}",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(payload))),
                *((name.decode(), value.decode()) for name, value in headers),
            ],
        )
        return [payload]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
