"""Responses for views that answer both htmx and plain requests.

htmx gets one component; a plain request gets the whole page, so every action also works
without JavaScript. Dialogs have URLs of their own: without JavaScript they render as
their page with the dialog open on top.
"""

from collections.abc import Callable

from django.contrib.messages import get_messages
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django_htmx.http import HttpResponseClientRedirect


def render_partial(request, template_name, context, *, status=200, trigger=None):
    """Render one component for htmx, with the flash messages swapped in out of band and
    an optional client event (e.g. "keys-changed") that other components refresh on.
    Without a message of its own it leaves the messages shown alone: the refresh that
    follows an action must not wipe out what the action said."""
    response = render(request, template_name, context, status=status)
    pending = list(get_messages(request))
    if pending:
        response.write(
            render_to_string("_messages.html", {"oob": True, "messages": pending}, request)
        )
    if trigger:
        response["HX-Trigger"] = trigger
    return response


def render_dialog(
    request,
    dialog_template: str,
    context: dict,
    *,
    page_url: str,
    page_template: str,
    page_context: Callable[[], dict],
    status: int = 200,
    trigger: str | None = None,
):
    """A dialog alone for htmx; for a plain request, the page (at `page_url`, where the
    dialog's Cancel goes) with the dialog open on it."""
    context = {**context, "page_url": page_url}
    if request.htmx:
        return render_partial(request, dialog_template, context, status=status, trigger=trigger)
    context = {**page_context(), **context, "dialog_template": dialog_template}
    return render(request, page_template, context, status=status)


def finish(request, url: str, *, trigger: str | None = None, redirect_htmx: bool = False):
    """After a confirmed action: htmx closes the dialog and the page's components refresh
    on `trigger` (or, with `redirect_htmx`, the browser goes to `url`); a plain request
    goes to `url`, where the message says what happened."""
    if request.htmx and not redirect_htmx:
        return render_partial(request, "_empty.html", {}, trigger=trigger)
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)
