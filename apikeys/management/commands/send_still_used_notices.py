from django.core.management.base import BaseCommand
from django.utils.translation import ngettext

from apikeys.digests import send_still_used_notices


class Command(BaseCommand):
    help = (
        "Tell the owner of each API key revoked or expired over a day ago whose secret is "
        "still being presented, once per key. Run daily "
        "(docs/deploy/genesis-still-used-notices.timer)."
    )

    def handle(self, *args, **options):
        sent = send_still_used_notices()
        self.stdout.write(
            ngettext(
                "Told the owner of %(count)s key still presented after it ended.",
                "Told the owners of %(count)s keys still presented after they ended.",
                sent,
            )
            % {"count": sent}
        )
