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

from allauth.core.exceptions import ReauthenticationRequired
from django_htmx.http import HttpResponseClientRedirect


class HtmxReauthenticationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "_reauthenticate_from_htmx", False) and response.status_code == 302:
            return HttpResponseClientRedirect(response["Location"])
        return response

    def process_exception(self, request, exception):
        # Listed after allauth's middleware, so this runs before allauth stashes.
        if isinstance(exception, ReauthenticationRequired) and request.headers.get("HX-Request"):
            for name in [name for name in request.META if name.startswith("HTTP_HX_")]:
                del request.META[name]
            request._reauthenticate_from_htmx = True
        return None
