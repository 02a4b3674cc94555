"""The audit log as CSV: one row per event, in the columns of the audit log page."""

import csv

from django.utils import timezone
from django.utils.translation import gettext as _


class _Echo:
    """A file-like object csv.writer writes each row to, handing it straight back."""

    def write(self, value):
        return value


# A cell that starts like a formula is run by spreadsheets that open the file (CSV
# injection): such cells get a leading apostrophe, which they show as text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def _person(user) -> tuple[str, str]:
    if user is None:
        return _("System"), ""
    if user.deleted_at is not None:  # anonymised: nothing left to show
        return _("Deleted person"), ""
    return user.name, "" if user.is_service_account else user.email


def rows(events, zone):
    """The rows, each time in ISO 8601 with its offset, in `zone` (the reader's: taken
    when the response is made, as the rows are written after the request's zone ends)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(
        [_("Time"), _("Actor"), _("Actor email"), _("Action"), _("Target"), _("Details"), "IP"]
    )
    for event in events:
        name, email = (event.actor_label, "") if event.actor_label else _person(event.actor)
        with timezone.override(zone):  # the summary's dates too
            values = (
                timezone.localtime(event.created_at).isoformat(),
                name,
                email,
                event.get_action_display(),
                event.shown_target(),
                event.summary(),
                event.ip,
            )
        yield writer.writerow([_cell(value) for value in values])
