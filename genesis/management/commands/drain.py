"""Drain this server before it stops: /api/v1/ready answers 503 from now on, and the
command waits DRAIN_SECONDS so that load balancers polling it stop sending first. The
systemd unit runs it as ExecStop; `--undo` (ExecStartPre) serves again."""

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Answer 503 at /api/v1/ready, then wait DRAIN_SECONDS (or --undo)."

    def add_arguments(self, parser):
        parser.add_argument("--undo", action="store_true", help="Serve again.")

    def handle(self, *args, undo=False, **options):
        if not settings.DRAIN_FILE:
            raise CommandError("Set DRAIN_FILE (e.g. /run/genesis/draining) to drain.")
        marker = Path(settings.DRAIN_FILE)
        if undo:
            marker.unlink(missing_ok=True)
            return
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
        self.stdout.write(
            f"Draining: /api/v1/ready answers 503; stopping in {settings.DRAIN_SECONDS:g} s."
        )
        time.sleep(settings.DRAIN_SECONDS)
