"""Django's own ASGI handler, only to compare against genesis.asgi in bench/serving.py."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genesis.settings")
application = get_asgi_application()
