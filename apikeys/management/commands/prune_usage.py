from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import ngettext

from apikeys.usage import prune


class Command(BaseCommand):
    help = "Delete API key usage older than USAGE_RETENTION_DAYS (90 by default). Run daily."

    def handle(self, *args, **options):
        deleted = prune()
        self.stdout.write(
            ngettext(
                "Deleted %(count)s usage row older than %(days)s days.",
                "Deleted %(count)s usage rows older than %(days)s days.",
                deleted,
            )
            % {"count": deleted, "days": settings.USAGE_RETENTION_DAYS}
        )
