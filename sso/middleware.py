"""An organization that requires SSO opens only to sessions that came through its SSO:
every page and action under /o/<org>/ answers 403 with where to sign in instead."""

import requests
from django.shortcuts import render
from django.utils.translation import gettext as _

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
