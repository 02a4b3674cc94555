"""Small pieces of markup that lists repeat on every row. Simple tags building their
HTML rather than includes or inclusion tags: a page of keys renders dozens of these,
and with the dialog buttons as inclusion tags (their markup in a template) an Admin's
API keys page with 50 keys rendered in 54 ms instead of 45 ms (bench/key_rows.py)."""

import functools
from datetime import timedelta

from django import template
from django.template.loader import get_template
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ui import times

register = template.Library()


@functools.cache
def icon(name: str) -> str:
    return mark_safe(get_template(f"_icons.html#{name}").render().strip())  # noqa: S308


# Under a minute ago, a time is "Just now".
JUST_NOW = timedelta(minutes=1)


@register.simple_tag
def timestamp(value, relative=False, with_time=False):
    """A <time> element in the person's zone (accounts.time_zones): the date, or "3 hours
    ago", or the date and time of day with the zone named; the exact time on hover."""
    local = timezone.localtime(value)
    if relative and timezone.now() - value < JUST_NOW:
        text = _("Just now")  # not "0 minutes ago"
    elif relative:
        text = _("%(time)s ago") % {"time": timesince(value)}
    elif with_time:
        text = f"{formats.date_format(local, 'DATETIME_FORMAT')} {local.strftime('%Z')}"
    else:
        text = formats.date_format(local, "DATE_FORMAT")
    # A date with its time of day and zone may wrap on a phone; a date alone doesn't.
    markup = '<time class="time--long" datetime="{}" title="{}">{}</time>'
    if not with_time:
        markup = '<time datetime="{}" title="{}">{}</time>'
    return format_html(markup, local.isoformat(), times.exact(local), text)


@register.simple_tag
def expiry(key):
    """Never, the date and how long until then ("Jan. 5, 2027 in 4 weeks, 1 day"; the
    exact time on hover), or an Expired badge."""
    if key.expires_at is None:
        return format_html('<span class="muted">{}</span>', _("Never"))
    local = timezone.localtime(key.expires_at)
    exact = times.exact(local)
    if key.is_expired:
        return format_html(
            '<span class="badge badge--danger" title="{}">{}</span>', exact, _("Expired")
        )
    return format_html(
        '<span class="when"><time datetime="{}" title="{}">{}</time> <span class="muted">{}</span>'
        "</span>",
        local.isoformat(),
        exact,
        formats.date_format(local, "DATE_FORMAT"),
        _("in %(time)s") % {"time": timeuntil(key.expires_at)},
    )


@register.simple_tag
def last_used(key):
    """When, over which surface, from which client and address a key was last used, or
    Never: one element, which a narrow card's cell wraps as a whole (its parts never overlap)."""
    if not key.last_used_at:
        return format_html('<span class="muted">{}</span>', _("Never"))
    where = ""
    if key.last_used_surface:
        client = Truncator(key.last_used_client).chars(40)
        where = format_html(
            ' <span class="muted">{}{}{}</span>',
            _("via %(surface)s") % {"surface": key.get_last_used_surface_display()},
            format_html(" · {}", client) if client else "",
            format_html(" · {}", key.last_used_ip) if key.last_used_ip else "",
        )
    return format_html(
        '<span class="when">{}{}</span>', timestamp(key.last_used_at, relative=True), where
    )


@register.simple_tag
def permissions(key, role):
    """What a key can do now, in words: what it was given, within its owner's current
    `role` (a demoted Admin's key no longer says organization admin)."""
    from organizations import scopes

    return format_html(
        '<span class="key-note">{}</span>', scopes.describe(scopes.effective(key.scopes, role))
    )


@register.simple_tag
def grant_scopes(grant):
    """What an authorized app may do, in words (its grant is for the MCP server only)."""
    from organizations import scopes

    return scopes.describe(scopes.parse(grant.scopes))


@register.simple_tag
def key_scopes(key):
    """What a key may do, in words, always (the reveal dialog)."""
    from organizations import scopes

    return scopes.describe(scopes.parse(key.scopes))


@register.simple_tag
def allowed_from(key):
    """Where a key may be used from, if it is locked to addresses; and its last refusal
    for coming from elsewhere."""
    from apikeys import allowlist

    entries = allowlist.entries(key.allowed_ips)
    if not entries:
        return ""
    shown = ", ".join(entries[:2]) + (f" +{len(entries) - 2}" if len(entries) > 2 else "")
    refused = ""
    if key.last_refused_at:
        refused = format_html(
            '<span class="key-note key-note--refused">{} {}</span>',
            _("Refused from %(ip)s") % {"ip": key.last_refused_ip or "?"},
            timestamp(key.last_refused_at, relative=True),
        )
    return format_html(
        '<span class="key-note">{}</span>{}',
        _("Only from %(networks)s") % {"networks": shown},
        refused,
    )


@register.simple_tag
def dialog_button(url, text="", label="", icon_name="", classes="button", title=""):
    """A button that opens a dialog: htmx fetches the dialog into #dialog-slot; without
    JavaScript the form takes the browser to the dialog's own page. Icon buttons pass
    `label` (their accessible name) instead of visible `text`."""
    name = format_html(' aria-label="{}" title="{}"', label, title or label) if label else ""
    return format_html(
        '<form class="dialog-opener" method="get" action="{}" hx-get="{}"'
        ' hx-target="#dialog-slot" hx-swap="innerHTML">'
        '<button type="submit" class="{}"{}>{}{}</button></form>',
        url,
        url,
        classes,
        name,
        icon(icon_name) if icon_name else "",
        text,
    )


# The icon buttons of a key's row: accessible name, tooltip, icon, style.
KEY_ACTIONS = {
    "rename": (
        gettext_lazy("Rename API key %(name)s"),
        gettext_lazy("Rename"),
        "pencil",
        "icon-button",
    ),
    "roll": (
        gettext_lazy("Roll API key %(name)s"),
        gettext_lazy("Roll (new secret)"),
        "refresh",
        "icon-button",
    ),
    "delete": (
        gettext_lazy("Delete API key %(name)s"),
        gettext_lazy("Delete"),
        "trash",
        "icon-button icon-button--danger",
    ),
    "revoke": (
        gettext_lazy("Revoke API key %(name)s"),
        gettext_lazy("Revoke"),
        "trash",
        "icon-button icon-button--danger",
    ),
}


@register.simple_tag
def key_usage_link(key_urls, key):
    """A key row's link to the key's usage page (a page of its own, not a dialog)."""
    label = _("Usage of API key %(name)s") % {"name": key.name}
    return format_html(
        '<a class="icon-button" href="{}" aria-label="{}" title="{}">{}</a>',
        key_urls.url(key, "usage"),
        label,
        _("Usage"),
        icon("chart"),
    )


@register.simple_tag
def key_action(key_urls, key, action):
    """One of a key row's icon buttons, opening the `action` dialog of `key`;
    `key_urls` says where the list's key dialogs are (apikeys.views.KeyUrls)."""
    label, title, icon_name, classes = KEY_ACTIONS[action]
    return dialog_button(
        key_urls.url(key, action),
        label=label % {"name": key.name},
        icon_name=icon_name,
        classes=classes,
        title=title,
    )
