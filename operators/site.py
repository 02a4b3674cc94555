"""The admin site operators use: the console's sign-in, and (ADMIN_REQUIRE_TWO_FACTOR, on
by default in production) a second factor and a recent sign-in for every page."""

from functools import wraps

from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from accounts import sudo, two_factor

# Reading admin needs a sign-in (password or second factor) within the hour; changing
# anything, one within ACCOUNT_REAUTHENTICATION_TIMEOUT, as the console's own changes of
# who can do what. allauth asks again and then carries the request on.
READ_WITHIN_SECONDS = 60 * 60
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def held_to_two_factor(view):
    @wraps(view)
    def guarded(request, *args, **kwargs):
        if settings.ADMIN_REQUIRE_TWO_FACTOR:
            if not two_factor.is_enabled(request.user):
                messages.warning(
                    request,
                    _(
                        "Django admin needs two-factor authentication. Turn it on here, "
                        "then go back to Django admin."
                    ),
                )
                return redirect("mfa_index")
            reading = request.method in SAFE_METHODS
            sudo.require_fresh_sign_in(request, within=READ_WITHIN_SECONDS if reading else None)
        return view(request, *args, **kwargs)

    return guarded


class OperatorAdminSite(admin.AdminSite):
    site_header = "Genesis Console operators"
    site_title = "Genesis Console operators"
    index_title = "Operators"

    def login(self, request, extra_context=None):
        # The console's sign-in: its lockout, two-factor and passkeys apply to operators.
        return secure_admin_login(super().login)(request, extra_context)

    def password_change(self, request, extra_context=None):
        # One way to change one's own password: allauth's, as in the console.
        return redirect("account_change_password")

    def admin_view(self, view, cacheable=False):
        if view == self.logout:  # signing out never waits for a second factor
            return super().admin_view(view, cacheable)
        return super().admin_view(held_to_two_factor(view), cacheable)
