"""The console and the Genesis API, for a WSGI server: the production server.

    granian --interface wsgi --blocking-threads 1 --workers 4 genesis.wsgi:application

One Python thread per worker process, so that no two threads of a process fight over the
GIL, and as many workers as the machine has room for (README, "Production"; the figures
are in docs/performance.md). The MCP server is ASGI: genesis.asgi.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genesis.settings")
application = get_wsgi_application()

from genesis.startup import freeze_startup_objects  # noqa: E402  (after Django is set up)

freeze_startup_objects()
