"""A fresh sign-in asked for in the middle of an htmx request.

Key actions raise allauth's ReauthenticationRequired when the session's sign-in is not
fresh; allauth's AccountMiddleware then stashes the POST in the session and redirects to
its sign-in-again page, and replays the POST once the person has confirmed. Two things
go wrong when the request came from htmx: the redirect would be followed inside the XHR
(the whole page swapped into the dialog), and the replay would carry the HX-* headers
(answered with a bare dialog fragment as a full page). So: drop the HX-* headers before
allauth stashes the request, and turn its redirect into a full-page one (HX-Redirect).
The replayed POST is then a plain form post, which every key view answers with the whole
page (the new key's dialog open)."""

from urllib.parse import urlsplit

from allauth.core.exceptions import ReauthenticationRequired
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect


class HtmxReauthenticationMiddleware:
    """Also: a session that ended while its page was open (expired, signed out elsewhere)
    is sent to sign in, and the sign-in page says so. From htmx, a full-page redirect (not
    the sign-in page swapped into a dialog), back to the dialog the person was in (its
    own URL opens it; console.js keeps what they typed, on the session-ended event, and
    puts it back), else to the page they were on (HX-Current-URL), not to a fragment's
    URL."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 302:
            return response
        if getattr(request, "_reauthenticate_from_htmx", False):
            return HttpResponseClientRedirect(response["Location"])
        if not response["Location"].startswith(resolve_url(settings.LOGIN_URL)):
            return response
        htmx = bool(request.headers.get("HX-Request"))
        if htmx or request.method == "POST":  # not a first visit: a session that ended
            messages.info(
                request, _("Your session ended. Sign in again to carry on where you were.")
            )
        if not htmx:
            return response
        redirect = HttpResponseClientRedirect(redirect_to_login(_back_to(request))["Location"])
        redirect["HX-Trigger"] = "session-ended"
        return redirect

    def process_exception(self, request, exception):
        # Listed after allauth's middleware, so this runs before allauth stashes.
        if isinstance(exception, ReauthenticationRequired) and request.headers.get("HX-Request"):
            for name in [name for name in request.META if name.startswith("HTTP_HX_")]:
                del request.META[name]
            request._reauthenticate_from_htmx = True
        return None


def _back_to(request) -> str:
    """Where to go after signing in again: a dialog's own URL (the request opened it, or
    was sent from it: a GET of its URL opens it), else the page the request came from."""
    if request.headers.get("HX-Target") == "dialog-slot":
        return request.get_full_path() if request.method == "GET" else request.path
    return _page(request)


def _page(request) -> str:
    """The path of the page an htmx request came from (when it is ours), else its own."""
    current = request.headers.get("HX-Current-URL", "")
    if current and url_has_allowed_host_and_scheme(
        current, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        parts = urlsplit(current)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return request.get_full_path()
