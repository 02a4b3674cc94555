"""The organization's SCIM tokens in its Settings (Owners only): make one (shown once, in
the response that made it), revoke one. Both need a fresh sign-in, like every power
change (accounts.sudo)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_POST

from accounts import sudo
from organizations import access
from organizations.decorators import organization_view
from sso import policy as sso_policy

from . import tokens
from .forms import TokenForm
from .models import ScimToken


def _owner_post(request, membership) -> None:
    access.require_owner(membership)  # Admins and Members: 403; outsiders had their 404
    sudo.require_fresh_sign_in(request)


@sensitive_variables("raw", "context")  # the token, never in an error report
@require_POST
@organization_view
def create_token(request, membership):
    _owner_post(request, membership)
    form = TokenForm(request.POST)
    context = {"membership": membership, "form": form}
    if not form.is_valid():
        return render(request, "scim/token_page.html", context, status=400)
    if sso_policy.credentials_blocked(request, [membership.organization_id]):
        # A token that adds and removes members, made outside the company's sign-in, is
        # what Require SSO is there to stop (its break-glass Owner's too, as for keys).
        form.add_error(
            None,
            _("%(organization)s requires single sign-on: sign in through it to make a token.")
            % {"organization": membership.organization.name},
        )
        return render(request, "scim/token_page.html", context, status=403)
    token, raw = tokens.create_token(
        membership.organization, form.cleaned_data["name"], actor=request.user
    )
    # The one response that carries the token: organization_view marks it no-store, and
    # no redirect follows, so it is in no URL, session, message or log.
    context |= {
        "token": token,
        "plaintext": raw,
        "base_url": request.build_absolute_uri("/scim/v2/"),
    }
    return render(request, "scim/token_page.html", context)


@require_POST
@organization_view
def revoke_token(request, membership, token_id):
    _owner_post(request, membership)
    token = get_object_or_404(
        ScimToken, pk=token_id, organization=membership.organization, revoked_at=None
    )
    tokens.revoke_token(token, actor=request.user)
    messages.success(request, _("SCIM token “%(name)s” revoked.") % {"name": token.name})
    return redirect("organizations:settings", org=membership.organization.slug)
