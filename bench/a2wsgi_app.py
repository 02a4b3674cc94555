"""Layout (c) of bench/layouts.py, bench-only: one ASGI process whose console and API are
genesis.wsgi's WSGI application under a2wsgi's documented adapter (its WSGIMiddleware,
one thread: the production WSGI command's one blocking thread), and /mcp the MCP server's
app, mounted as genesis.asgi mounts it. No app code changes: the same two public pieces,
put together differently.

    granian --interface asgi ... --working-dir bench a2wsgi_app:application
"""

import contextlib
import os

from a2wsgi import WSGIMiddleware
from django.conf import settings
from starlette.applications import Starlette
from starlette.routing import Mount, Route

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genesis.settings")

from genesis.wsgi import application as django_wsgi  # sets Django up
from mcp_server.app import McpApp

THREADS = int(os.environ.get("BENCH_A2WSGI_THREADS", "1"))

mcp = McpApp()


@contextlib.asynccontextmanager
async def lifespan(app):
    async with mcp.lifespan():
        yield


application = Starlette(
    routes=[
        Route(settings.MCP_PATH, mcp),
        Route(settings.MCP_PATH + "/{rest:path}", mcp),
        Mount("/", WSGIMiddleware(django_wsgi, workers=THREADS)),
    ],
    lifespan=lifespan,
)
