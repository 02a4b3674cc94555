"""Fetch GitHub's secret-scanning public keys into GITHUB_SECRET_SCANNING_KEYS_FILE, for
the partner endpoint to verify reports with (apikeys.leaks). Run it from a scheduler,
e.g. daily: the endpoint itself never fetches anything. The file is replaced only by a
document that holds at least one usable key."""

import json
import os
import tempfile
import urllib.request

from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

TIMEOUT_SECONDS = 10
MAX_BYTES = 256 * 1024


class Command(BaseCommand):
    help = "Fetch GitHub's secret-scanning public keys into GITHUB_SECRET_SCANNING_KEYS_FILE."

    def add_arguments(self, parser):
        parser.add_argument("--url", default=settings.GITHUB_SECRET_SCANNING_KEYS_URL)

    def handle(self, *args, url, **options):
        path = settings.GITHUB_SECRET_SCANNING_KEYS_FILE
        if not path:
            raise CommandError("Set GITHUB_SECRET_SCANNING_KEYS_FILE to where the keys go.")
        if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise CommandError("The keys must come over https.")
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                data = response.read(MAX_BYTES + 1)
            if len(data) > MAX_BYTES:
                raise ValueError(f"more than {MAX_BYTES} bytes")
            document = json.loads(data)
        except (OSError, ValueError) as error:
            raise CommandError(f"Could not fetch GitHub's keys from {url}: {error}") from None
        usable = [
            entry
            for entry in (document.get("public_keys") if isinstance(document, dict) else None) or []
            if isinstance(entry, dict)
            and _loads(entry.get("key"))
            and isinstance(entry.get("key_identifier"), str)
        ]
        if not usable:
            raise CommandError(f"{url} held no usable key; {path} is unchanged.")
        directory = os.path.dirname(os.path.abspath(path))
        with tempfile.NamedTemporaryFile("w", dir=directory, delete=False, suffix=".tmp") as out:
            json.dump({"public_keys": usable}, out, indent=2)
        os.replace(out.name, path)  # readers see the old file or the new one, never half
        self.stdout.write(f"{len(usable)} key(s) written to {path}")


def _loads(pem) -> bool:
    try:
        serialization.load_pem_public_key(pem.encode())
    except (AttributeError, ValueError, TypeError):
        return False
    return True
