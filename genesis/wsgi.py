"""Everything for a WSGI server: the console, the Genesis API and the MCP server.

    granian --interface wsgi --blocking-threads 1 --workers 4 genesis.wsgi:application

The production server (README, "Production"; the figures that chose it are in
docs/performance.md): one Python thread per worker process, so that no two threads of
a process fight over the GIL, and as many workers as the machine has room for.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genesis.settings")
django.setup(set_prefix=False)

from genesis.handlers import ConsoleOrMachine  # noqa: E402  (after Django is set up)
from genesis.mcp_wsgi import McpUnderWsgi  # noqa: E402
from genesis.startup import freeze_startup_objects  # noqa: E402

application = ConsoleOrMachine(mcp=McpUnderWsgi())
freeze_startup_objects()
