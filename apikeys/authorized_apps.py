"""Authorized apps in the console, beside the keys: a person's own grants in the
organization, and for Admins and Owners every member's; each revocable by its person, or
by an Admin or Owner (after a fresh sign-in, as for someone else's key)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts import sudo
from oauth import services
from oauth import usage as grant_usage
from oauth.models import AuthorizedApp, RevokeReason
from organizations.access import require_admin
from organizations.decorators import dialog_view, organization_view
from organizations.models import Membership
from ui.htmx import finish
from ui.pages import page_of

from .views import KEYS_CHANGED, keys_url, render_key_dialog

ORG_APPS_PER_PAGE = 20


def my_apps(membership: Membership):
    return grant_usage.with_recent_requests(
        AuthorizedApp.objects.active().filter(
            user_id=membership.user_id, organization_id=membership.organization_id
        )
    )


def org_apps_page(request, membership: Membership):
    apps = grant_usage.with_recent_requests(
        AuthorizedApp.objects.active()
        .filter(organization_id=membership.organization_id)
        .select_related("user")
    )
    return page_of(apps, request.GET.get("apps_page"), ORG_APPS_PER_PAGE, counted=True)


def context(request, membership: Membership) -> dict:
    """What the API keys page shows of authorized apps (apikeys.views.page_context)."""
    shown = {"my_apps": my_apps(membership)}
    if membership.is_admin:
        shown["org_apps"] = org_apps_page(request, membership)
    return shown


@require_GET
@organization_view
def my_apps_section(request, membership):
    return render(
        request,
        "apikeys/page.html#my-apps",
        {"membership": membership, "my_apps": my_apps(membership)},
    )


@require_GET
@organization_view
def org_apps_section(request, membership):
    require_admin(membership)
    return render(
        request,
        "apikeys/page.html#org-apps",
        {"membership": membership, "org_apps": org_apps_page(request, membership)},
    )


@dialog_view
def revoke_app(request, membership, grant_id):
    mine = AuthorizedApp.objects.filter(
        pk=grant_id, user_id=membership.user_id, organization_id=membership.organization_id
    ).exists()
    if not mine:
        require_admin(membership)  # someone else's: Admins and Owners only (403)
    grant = get_object_or_404(
        AuthorizedApp.objects.select_related("user"),
        pk=grant_id,
        organization_id=membership.organization_id,
    )
    if request.method == "GET" and grant.is_active:
        return render_key_dialog(request, membership, "oauth/_revoke_dialog.html", {"app": grant})
    if request.method == "POST":
        if not mine:
            sudo.require_fresh_sign_in(request)
        reason = RevokeReason.BY_OWNER if mine else RevokeReason.BY_ADMIN
        if grant.token_family is not None and services.revoke(grant, request.user, reason):
            messages.success(
                request,
                _("“%(name)s” can no longer use the MCP server.") % {"name": grant.client_name},
            )
            return finish(request, keys_url(membership), trigger=KEYS_CHANGED)
    messages.info(request, _("“%(name)s” was already revoked.") % {"name": grant.client_name})
    return finish(request, keys_url(membership), trigger=KEYS_CHANGED)
