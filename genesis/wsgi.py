"""The console and the Genesis API, for a WSGI server (gunicorn in production)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genesis.settings")

application = get_wsgi_application()

from genesis.startup import freeze_startup_objects  # noqa: E402  (after Django is set up)

freeze_startup_objects()
