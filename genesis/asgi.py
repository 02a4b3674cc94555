"""Everything for an ASGI server: the console, the Genesis API and the MCP server.

    granian --interface asgi --workers 1 genesis.asgi:application

Production runs this for MCP_PATH only (the shipped nginx site sends /mcp here, and the
rest to genesis.wsgi under granian's WSGI interface: the figures that chose that layout
are in docs/performance.md); in development (`manage.py serve`) and under anyone's ASGI
server it serves all three.

As the MCP SDK documents mounting its app into a host app: a Starlette app whose routes
send MCP_PATH and below to the MCP server (mcp_server.app) and everything else to
Django's own ASGI handler, and whose lifespan runs the SDK's session managers.
"""

import contextlib
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genesis.settings")
django.setup(set_prefix=False)

from django.conf import settings  # noqa: E402  (after Django is set up)
from django.core.asgi import get_asgi_application  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.routing import Mount, Route  # noqa: E402

from genesis.startup import freeze_startup_objects  # noqa: E402
from mcp_server.app import McpApp  # noqa: E402


def build_application() -> Starlette:
    """A new application (with new MCP session managers, which run once each)."""
    mcp = McpApp()

    @contextlib.asynccontextmanager
    async def lifespan(app):
        async with mcp.lifespan():
            yield

    return Starlette(
        routes=[
            Route(settings.MCP_PATH, mcp),
            Route(settings.MCP_PATH + "/{rest:path}", mcp),
            Mount("/", get_asgi_application()),
        ],
        lifespan=lifespan,
    )


application = build_application()
freeze_startup_objects()
