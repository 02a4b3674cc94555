"""Everything in one process: the console and the Genesis API, plus the MCP server at /mcp.

    uvicorn genesis.asgi:application

Django's own ASGI handler hops between the event loop and worker threads for every sync
middleware and view, and measured several times slower than Django under WSGI. So the
console and API run as Django's WSGI app inside a2wsgi's thread pool, and only /mcp, which
needs ASGI, is served natively. In production, serve genesis.wsgi with gunicorn and this
app for /mcp (README, "Production").
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genesis.settings")
django_wsgi = get_wsgi_application()

from a2wsgi import WSGIMiddleware  # noqa: E402  (after Django is set up)
from django.conf import settings  # noqa: E402

from genesis.mcp import build_mcp_app  # noqa: E402
from genesis.readiness import drain_on_sigterm  # noqa: E402
from genesis.request_bodies import BufferedBodies  # noqa: E402
from genesis.startup import freeze_startup_objects  # noqa: E402

# Threads running the WSGI app. More threads only fight over the GIL: on 2 cores, 2
# threads served /api/v1/me about 15% faster than a2wsgi's default of 10 (bench/).
WSGI_THREADS = int(os.environ.get("WSGI_THREADS", "2"))


def lifespan_receive(receive):
    """At startup, once the server has put its own SIGTERM handler in place, put ours in
    front of it: SIGTERM first drains (genesis.readiness), then stops the server."""

    async def receive_and_prepare():
        message = await receive()
        if message["type"] == "lifespan.startup":
            drain_on_sigterm(settings.DRAIN_SECONDS)
        return message

    return receive_and_prepare


def without_underscore_headers(headers):
    """Headers whose names hold an underscore, dropped as gunicorn, nginx and Django's
    runserver drop them: WSGI spells `X_Forwarded_For` and `X-Forwarded-For` alike
    (HTTP_X_FORWARDED_FOR), so a proxy that passes the first let a client write the
    header a trusted proxy is believed about."""
    return [(name, value) for name, value in headers if b"_" not in name]


def build_application():
    console = WSGIMiddleware(django_wsgi, workers=WSGI_THREADS)
    mcp = build_mcp_app()

    async def application(scope, receive, send):
        # The lifespan starts the MCP session manager; Django has none.
        if scope["type"] == "lifespan":
            return await mcp(scope, lifespan_receive(receive), send)
        if any(b"_" in name for name, _ in scope.get("headers") or ()):
            scope = {**scope, "headers": without_underscore_headers(scope["headers"])}
        path = scope.get("path", "")
        if path == settings.MCP_PATH or path.startswith(settings.MCP_PATH + "/"):
            return await mcp(scope, receive, send)
        return await console(scope, receive, send)

    return BufferedBodies(application)


application = build_application()
freeze_startup_objects()
