from django.core.management.base import BaseCommand
from django.utils.translation import ngettext

from apikeys.digests import send_stale_key_digests


class Command(BaseCommand):
    help = (
        "Email each organization's Admins and Owners its stale API keys (unused for 30 days "
        "or never used), once a week. Run weekly (docs/deploy/genesis-stale-key-digests.timer)."
    )

    def handle(self, *args, **options):
        sent = send_stale_key_digests()
        self.stdout.write(
            ngettext("Sent %(count)s stale-key digest.", "Sent %(count)s stale-key digests.", sent)
            % {"count": sent}
        )
