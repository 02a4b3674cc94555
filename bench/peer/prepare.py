"""Migrate the peer's database and print one valid key."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peer_settings")
django.setup()

from django.core.management import call_command  # noqa: E402
from rest_framework_api_key.models import APIKey  # noqa: E402

call_command("migrate", verbosity=0)
print(APIKey.objects.create_key(name="bench")[1])
