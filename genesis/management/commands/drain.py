"""`manage.py drain`: genesis.drain for people (the systemd unit runs that module
directly, without starting Django)."""

from django.core.management.base import BaseCommand, CommandError

from genesis import drain


class Command(BaseCommand):
    help = "Answer 503 at /api/v1/ready, then wait DRAIN_SECONDS (or --undo)."

    def add_arguments(self, parser):
        parser.add_argument("--undo", action="store_true", help="Serve again.")

    def handle(self, *args, undo=False, **options):
        if drain.main(["--undo"] if undo else []) != 0:
            raise CommandError("Set DRAIN_FILE (e.g. /run/genesis-web/draining) to drain.")
