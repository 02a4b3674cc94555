"""Usage pages: one key's (for its owner, and for the organization's Admins and Owners),
and the organization's overview with its stale keys (Admins and Owners)."""

from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from organizations.access import require_admin
from organizations.decorators import dialog_view, organization_view
from organizations.models import Membership
from ui.pages import page_of, without_page

from . import usage_report, views
from .access import get_org_key_or_404, get_usage_key_or_404
from .forms import OrgKeyFilterForm
from .models import ApiKey
from .usage_chart import chart

STALE_KEYS_PER_PAGE = 20


@require_GET
@organization_view
def key_usage(request, membership, key_id):
    key = get_usage_key_or_404(membership, key_id)
    key_usage = usage_report.key_usage(key)
    return render(
        request,
        "apikeys/usage.html",
        {
            "membership": membership,
            "key": key,
            "usage": key_usage,
            "chart": chart(key_usage),
            "series": usage_report.SERIES,
            "own": key.user_id == membership.user_id,
        },
    )


def overview_url(membership: Membership) -> str:
    return reverse("usage:overview", kwargs={"org": membership.organization.slug})


def overview_keys(request, membership: Membership):
    """The organization's keys (revoked ones too: their refusals count), filtered by the
    query string, and the filters."""
    filters = OrgKeyFilterForm(request.GET)
    keys = filters.filter(ApiKey.objects.filter(organization_id=membership.organization_id))
    return keys, filters


def stale_context(request, membership: Membership, keys) -> dict:
    return {
        "stale_page": page_of(
            usage_report.stale_keys(keys),
            request.GET.get("page"),
            STALE_KEYS_PER_PAGE,
            counted=True,
        ),
        "filter_query": without_page(request),
        # Revoke opens the API keys page's dialog, and comes back here (revoke_key below).
        "key_urls": views.KeyUrls("usage:", {"org": membership.organization.slug}),
        "stale_days": usage_report.STALE_AFTER.days,
    }


def overview_context(request, membership: Membership) -> dict:
    keys, filters = overview_keys(request, membership)
    organization_usage = usage_report.organization_usage(keys)
    return {
        "membership": membership,
        "filters": filters,
        "usage": organization_usage,
        "chart": chart(organization_usage),
        "series": usage_report.SERIES,
        "busiest": usage_report.busiest_keys(keys),
        "most_refused": usage_report.most_refused_keys(keys),
        **stale_context(request, membership, keys),
    }


@require_GET
@organization_view
def overview(request, membership):
    require_admin(membership)
    return render(request, "apikeys/usage_overview.html", overview_context(request, membership))


@require_GET
@organization_view
def stale_section(request, membership):
    """The stale keys alone, refreshed after a revoke (htmx)."""
    require_admin(membership)
    keys, _ = overview_keys(request, membership)
    response = render(
        request,
        "apikeys/usage_overview.html#stale-keys",
        {"membership": membership, **stale_context(request, membership, keys)},
    )
    # The address bar keeps the filters and the page, as the Organization API Keys do.
    query = request.GET.urlencode()
    response["HX-Replace-Url"] = overview_url(membership) + (f"?{query}" if query else "")
    return response


def overview_page(request, membership) -> views.KeyPage:
    return views.KeyPage(
        request,
        membership,
        overview_url(membership),
        "apikeys/usage_overview.html",
        lambda: overview_context(request, membership),
    )


@dialog_view
def revoke_key(request, membership, key_id):
    """The API keys page's revoke (its dialog, service and fresh sign-in rule), opened
    from the stale keys: without JavaScript it goes back to the overview."""
    return views.revoke(overview_page(request, membership), get_org_key_or_404(membership, key_id))
