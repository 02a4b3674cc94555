"""Compile locale/*/LC_MESSAGES/*.po into .mo files, in pure Python (polib), so a fresh
machine needs no GNU gettext. The install commands run it; Django's compilemessages does
the same where gettext is installed."""

from pathlib import Path

import polib
from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import ngettext


class Command(BaseCommand):
    help = "Compile the translations (.po to .mo) without GNU gettext."

    def handle(self, *args, **options):
        compiled = 0
        for locale_path in settings.LOCALE_PATHS:
            for po_path in Path(locale_path).glob("*/LC_MESSAGES/*.po"):
                mo_path = po_path.with_suffix(".mo")
                if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                    continue
                polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
                compiled += 1
        if options["verbosity"]:
            self.stdout.write(
                ngettext(
                    "Compiled %(count)s translation file.",
                    "Compiled %(count)s translation files.",
                    compiled,
                )
                % {"count": compiled}
            )
