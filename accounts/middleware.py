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
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect


class HtmxReauthenticationMiddleware:
    """Also: an htmx request of a session that expired meanwhile is sent to sign in (a
    full-page redirect, not the sign-in page swapped into a dialog), and back to the page
    the person was on afterwards (HX-Current-URL), not to the fragment's URL."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 302:
            return response
        if getattr(request, "_reauthenticate_from_htmx", False):
            return HttpResponseClientRedirect(response["Location"])
        if request.headers.get("HX-Request") and response["Location"].startswith(
            resolve_url(settings.LOGIN_URL)
        ):
            return HttpResponseClientRedirect(redirect_to_login(_page(request))["Location"])
        return response

    def process_exception(self, request, exception):
        # Listed after allauth's middleware, so this runs before allauth stashes.
        if isinstance(exception, ReauthenticationRequired) and request.headers.get("HX-Request"):
            for name in [name for name in request.META if name.startswith("HTTP_HX_")]:
                del request.META[name]
            request._reauthenticate_from_htmx = True
        return None


def _page(request) -> str:
    """The path of the page an htmx request came from (when it is ours), else its own."""
    current = request.headers.get("HX-Current-URL", "")
    if current and url_has_allowed_host_and_scheme(
        current, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        parts = urlsplit(current)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return request.get_full_path()
