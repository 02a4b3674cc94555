"""The development server (the README's first command): the console, the Genesis API and
the MCP server in one process, restarted when the code changes.

It watches the project's code only. SQLite's database, with its -wal and -shm files,
lives beside that code, and a reloader watching the whole repository restarted the
server on its own first writes (refusing connections meanwhile, and looping so that
SIGTERM was lost). Production runs granian from the command line with its own flags
(README, "Production")."""

import os
import sys
from importlib.util import find_spec

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from granian import Granian
from granian.constants import Interfaces

# What a change to should restart the server: the Python packages of the project. Templates
# are read anew on each request with DEBUG on; translations are compiled by a command.
WATCHED = (
    "genesis",
    "organizations",
    "apikeys",
    "accounts",
    "oauth",
    "operators",
    "api",
    "mcp_server",
    "infra",
    "ui",
)


class Command(BaseCommand):
    help = "Serve the console, the API and the MCP server for development (DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-reload", action="store_false", dest="reload", help="Don't watch the code."
        )

    def handle(self, *args, host, port, reload, **options):
        if not settings.DEBUG:
            raise CommandError(
                "serve is the development server and runs with DEBUG on only; production "
                "runs granian as the README's Production section says."
            )
        # OAuth's issuer and the MCP server's audience are built on PUBLIC_URL: on another
        # port than its default, unless it was set, the server it names is this one. The
        # settings are read once, so the command starts again with it set.
        public_url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"  # noqa: S104
        if "PUBLIC_URL" not in os.environ and public_url != settings.PUBLIC_URL:
            if not os.path.isfile(sys.argv[0]):  # run as `python -c ...`: nothing to run again
                raise CommandError(f"Set PUBLIC_URL={public_url} to serve on port {port}.")
            os.execve(  # noqa: S606 (this very command, again)
                sys.executable,
                [sys.executable, *sys.argv],
                {**os.environ, "PUBLIC_URL": public_url},
            )
        if reload and find_spec("watchfiles") is None:
            # What granian watches with: its `reload` extra, which the development lock
            # installs and the production lock doesn't.
            self.stderr.write(
                "Not restarting when the code changes: granian's reload extra (watchfiles) "
                "is not installed. `pip install --require-hashes -r requirements-dev.lock` "
                "brings it; --no-reload serves without it and without this message."
            )
            reload = False
        Granian(
            # All three surfaces in one process: the MCP SDK's app and Django's ASGI handler.
            "genesis.asgi:application",
            interface=Interfaces.ASGI,
            address=host,
            port=port,
            reload=reload,
            reload_paths=[settings.BASE_DIR / package for package in WATCHED],
        ).serve()
