"""An organization that requires SSO opens only to sessions that came through its SSO:
every page and action under /o/<org>/ answers 403 with where to sign in instead."""

from urllib.parse import urlencode

import requests
from allauth.core.exceptions import ReauthenticationRequired
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from accounts import two_factor

from . import policy


class RequireSsoMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        slug = view_kwargs.get("org")
        if not slug or not request.user.is_authenticated:
            return None
        membership = policy.blocked_membership(request, slug)
        if membership is None:
            return None
        return render(
            request, "sso/required.html", {"organization": membership.organization}, status=403
        )

    def process_exception(self, request, exception):
        if isinstance(exception, ReauthenticationRequired) and signs_in_only_through_sso(
            request.user
        ):
            return sign_in_again(request)
        # allauth's provider views call the identity provider (discovery, tokens); one
        # that is down or too slow is said so, never a server error.
        if isinstance(exception, requests.RequestException):
            return render(
                request,
                "sso/refused.html",
                {
                    "message": _(
                        "The identity provider did not answer. Try again in a few minutes; "
                        "if it keeps failing, ask your administrator."
                    )
                },
                status=502,
            )
        return None


def signs_in_only_through_sso(user) -> bool:
    """A person who came in through SSO and has neither a password nor a second factor
    (allauth's sign-in-again page would ask for one of them)."""
    return (
        user.is_authenticated and not user.has_usable_password() and not two_factor.is_enabled(user)
    )


def sign_in_again(request):
    """A fresh sign-in, for them, is one more pass through their organization's SSO."""
    match = request.resolver_match
    slug = match.kwargs.get("org", "") if match else ""
    url = reverse("sso_sign_in") + (f"?{urlencode({'who': slug})}" if slug else "")
    messages.info(request, _("Confirm it's you: sign in through SSO again, then carry on."))
    if request.headers.get("HX-Request"):
        return HttpResponseClientRedirect(url)
    return redirect(url)
