"""The console (and, from the API issue on, the Genesis API) for a WSGI server."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genesis.settings")

application = get_wsgi_application()
