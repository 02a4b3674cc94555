from django.core.management.base import BaseCommand
from django.utils.translation import ngettext

from apikeys.notices import send_expiry_notices


class Command(BaseCommand):
    help = "Email owners of API keys that expire within 7 days (once per key). Run daily."

    def handle(self, *args, **options):
        sent = send_expiry_notices()
        self.stdout.write(
            ngettext("Sent %(count)s expiry notice.", "Sent %(count)s expiry notices.", sent)
            % {"count": sent}
        )
