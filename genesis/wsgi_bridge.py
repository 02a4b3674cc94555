"""The console and the API (WSGI) under the ASGI server, one hop each way.

a2wsgi streams a request's body to the WSGI thread and every piece of the response back,
each piece a round trip between the thread and the event loop. Here the body has already
been read whole on the loop (genesis.request_bodies), so the thread gets it at once, runs
Django, and hands back the whole response: one hop to the thread, one back. Measured under
uvicorn with one worker (docs/performance.md): /api/v1/health 885 -> 2,413 req/s, /me 614 ->
989 req/s. Every response is held in memory until it is complete, which suits this app:
JSON, pages and small static files; nothing here streams.
"""

import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO


def environ_for(scope: dict, body: bytes) -> dict:
    """The PEP 3333 environ of an ASGI HTTP request."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    root_path = scope.get("root_path", "")
    path = scope["path"]
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": root_path.encode("utf-8").decode("latin-1"),
        "PATH_INFO": path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1] or 80),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client[0],
        "REMOTE_PORT": str(client[1]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers") or ():
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = "HTTP_" + name
        if name in environ:  # a repeated header: joined, cookies as Cookie joins them
            value = environ[name] + ("; " if name == "HTTP_COOKIE" else ", ") + value
        environ[name] = value
    return environ


class WsgiBridge:
    """An ASGI app that runs a WSGI app on a few threads of its own."""

    def __init__(self, wsgi_app, threads: int):
        self.wsgi_app = wsgi_app
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="wsgi")

    def _run(self, environ):
        """In a thread: the WSGI app's status, headers and whole body."""
        started = []

        def start_response(status, headers, exc_info=None):
            if exc_info and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]

        result = self.wsgi_app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()  # Django's request_finished: connections tidied here
        status, headers = started
        return int(status[:3]), headers, body

    async def __call__(self, scope, receive, send):
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its request
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        environ = environ_for(scope, b"".join(chunks))
        loop = asyncio.get_running_loop()
        status, headers, body = await loop.run_in_executor(self.pool, self._run, environ)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (name.encode("latin-1"), value.encode("latin-1")) for name, value in headers
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
