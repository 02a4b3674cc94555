"""An organization that requires SSO opens only to sessions that came through its SSO:
every page and action under /o/<org>/ answers 403 with where to sign in instead."""

from urllib.parse import urlencode

import requests
from allauth.core.exceptions import ReauthenticationRequired
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from accounts import two_factor

from . import policy
from .adapter import AUTHENTICATION_ERROR


class RequireSsoMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if is_saml(request, "saml_sls"):
            return single_logout_refused(request)
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
        # allauth's saml provider catches python3-saml's refusals, not the XML parser's:
        # a Response that is not XML, or carries a DTD or entities, is refused the same.
        if isinstance(exception, (SyntaxError, ValueError)) and is_saml(request, "saml_finish_acs"):
            return render(
                request,
                "sso/refused.html",
                {"message": _(AUTHENTICATION_ERROR)},
                status=403,
            )
        # allauth's saml provider finds the AuthnRequest a Response answers in the
        # session, once: a Response posted again, or in another browser, answers none.
        if isinstance(exception, PermissionDenied) and is_saml(request, "saml_finish_acs"):
            return render(
                request,
                "sso/refused.html",
                {
                    "message": _(
                        "This answer from your identity provider was used already, or answers "
                        "no sign-in started in this browser. Sign in with SSO again."
                    )
                },
                status=403,
            )
        return None


def is_saml(request, url_name: str) -> bool:
    match = request.resolver_match
    return match is not None and match.url_name == url_name


def single_logout_refused(request):
    """allauth's saml provider answers SAML Single Logout at .../sls/, but accepts an
    unsigned LogoutRequest there (anyone's link would sign a person out), and the
    console keeps no IdP logout endpoint to answer to: it is not offered (404). Signing
    out of the console is its own Sign out; of the IdP, the IdP's."""
    raise Http404("SAML single logout is not offered")


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
