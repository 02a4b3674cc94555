"""Everything for an ASGI server: the console, the Genesis API and the MCP server.

    uvicorn genesis.asgi:application --no-proxy-headers

The production server is granian with genesis.wsgi (README, "Production"); this entry
point serves the same three surfaces under uvicorn, where the test suite runs its servers
in a thread of its own. Django's own ASGI handler hops between the event loop and a
thread for every sync middleware and view, and measured several times slower than Django
under WSGI, so the console and API run as WSGI on a few threads (genesis.wsgi_bridge)
and only /mcp, which is ASGI, runs on the event loop.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genesis.settings")
django.setup(set_prefix=False)

from django.conf import settings  # noqa: E402  (after Django is set up)

from genesis.handlers import ConsoleOrMachine  # noqa: E402
from genesis.machine import is_mcp_path  # noqa: E402
from genesis.mcp import build_mcp_app  # noqa: E402
from genesis.readiness import drain_on_sigterm  # noqa: E402
from genesis.request_bodies import BufferedBodies  # noqa: E402
from genesis.startup import freeze_startup_objects  # noqa: E402
from genesis.wsgi_bridge import WsgiBridge  # noqa: E402

# Threads running the WSGI app: they and the event loop share one GIL (bench/servers.py).
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
    console = WsgiBridge(ConsoleOrMachine(), threads=WSGI_THREADS)
    mcp = build_mcp_app()

    async def application(scope, receive, send):
        # The lifespan starts the MCP session manager; Django has none.
        if scope["type"] == "lifespan":
            return await mcp(scope, lifespan_receive(receive), send)
        if any(b"_" in name for name, _ in scope.get("headers") or ()):
            scope = {**scope, "headers": without_underscore_headers(scope["headers"])}
        if is_mcp_path(scope.get("path", "")):
            return await mcp(scope, receive, send)
        return await console(scope, receive, send)

    return BufferedBodies(application)


application = build_application()
freeze_startup_objects()
