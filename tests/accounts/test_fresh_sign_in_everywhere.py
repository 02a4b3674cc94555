"""Every console view that changes data either asks a stale sign-in to confirm first
(accounts.sudo), or is named below as exempt, with the reason. A new view that is neither
fails here.

The check is behavioural: an Owner whose sign-in is an hour old POSTs to every URL of the
console, each aimed at someone else's objects (a Member's key, membership, app and an
open invitation, a service account), so that a guard that only applies to other people's
things is seen too. A view is guarded when that POST is sent to "Confirm it's you"; it is
read-only when POST is refused (405)."""

import itertools

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from organizations.models import Role
from scim import tokens as scim_tokens
from sso.models import Domain

from ..factories import ApiKeyFactory, InvitationFactory, make_service_account, make_service_key
from ..oauth.grants import make_grant
from .test_fresh_sign_in import REAUTH

# Console views that change data without a fresh sign-in, and why that is safe.
EXEMPT = {
    "apikeys:delete": "only the person's own key, only narrower: a stolen session gains nothing",
    "apikeys:rename": "a label: no access changes",
    "account_profile": "the person's own name, language and which emails they get",
    "set_language": "the language of the person's own pages",
    "invitation": "accepting one's own invitation, proved by its link; joins as offered",
    "account_login": "signing in is the fresh sign-in",
    "sso_sign_in": "sends the browser to an identity provider: signing in is the fresh sign-in",
}

# Whole families of URLs that are not the console's session-backed views, and why.
OUTSIDE_ROUTES = (
    "admin/",  # operators: Django admin, under the staff rules (tests/test_admin.py)
    "api/",  # the Genesis API: keys, never sessions
    "oauth/",  # OAuth endpoints take clients' credentials; the consent page: oauth tests
    ".well-known/",  # metadata documents: read-only
    "metrics",  # Prometheus's scrape: read-only, a bearer token, never a session
    "scim/",  # SCIM provisioning: the organization's bearer tokens, never a session
)
OUTSIDE_VIEWS = (
    "allauth.",  # allauth's account pages ask for its own reauthentication where it matters
    "django.views.generic.base.RedirectView",
)


def console_urls(resolver=None, prefix=""):
    """(route, name, view's dotted path) of every URL pattern."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            namespace = f"{entry.namespace}:" if entry.namespace else ""
            for route, name, where in console_urls(entry, prefix + str(entry.pattern)):
                yield route, (namespace + name if name else None), where
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.name, entry.lookup_str


@pytest.fixture
def targets(team):
    """URL arguments made anew for each URL (an exempt view may really delete), each first
    pointing at something that isn't the signed-in Owner's; where a view only takes the
    Owner's own (or a service account's) key, the next."""
    return lambda: make_targets(team)


SERIAL = itertools.count()


def make_targets(team):
    member, owner = team["member"], team["owner"]
    account = make_service_account(
        member.organization, name=f"Bot {next(SERIAL)}", actor=team["admin"].user
    )
    return {
        "org": ["acme"],
        "member_id": [member.pk],
        "key_id": [
            ApiKeyFactory(membership=member).pk,
            ApiKeyFactory(membership=owner).pk,
            make_service_key(account, team["admin"]).pk,
        ],
        "account_id": [account.user_id],
        "invitation_id": [InvitationFactory(organization=member.organization, role=Role.ADMIN).pk],
        "grant_id": [make_grant(member).pk],
        "token": ["not-a-real-invitation-token"],
        "domain_id": [
            Domain.objects.create(organization=member.organization, name=f"d{next(SERIAL)}.test").pk
        ],
        "token_id": [scim_tokens.create_token(owner.organization, "Okta", actor=None)[0].pk],
    }


def choices(values: dict):
    """One value for each argument: the first of each, then the next key, and so on."""
    for index in range(max(len(options) for options in values.values())):
        yield {name: options[min(index, len(options) - 1)] for name, options in values.items()}


def fill(route: str, values: dict) -> str:
    path = route
    for converter in ("int", "slug", "str"):
        for name, value in values.items():
            path = path.replace(f"<{converter}:{name}>", str(value))
    assert "<" not in path, f"no value for an argument of {route}"
    return "/" + path


def test_every_view_that_changes_data_asks_a_stale_sign_in_or_says_why_not(
    team, client_for, targets
):
    client = client_for(team["owner"], minutes_ago=60)
    guarded, read_only, exempt_seen, unguarded = [], [], [], []
    for route, name, where in console_urls():
        if route.startswith(OUTSIDE_ROUTES) or where.startswith(OUTSIDE_VIEWS):
            continue
        if route.startswith("^"):  # the JSON catch-alls for machine paths
            continue
        for values in choices(targets()):
            response = client.post(fill(route, values))
            if response.status_code != 404:
                break
        if response.status_code == 302 and response["Location"].startswith(REAUTH):
            guarded.append(name)
        elif response.status_code == 405:
            read_only.append(name)
        elif name in EXEMPT:
            exempt_seen.append(name)
        else:
            unguarded.append(f"{name} ({route}): {response.status_code}")
    assert not unguarded, "neither guarded nor named exempt: " + ", ".join(unguarded)
    # The list of reasons holds no stale entries (a guarded view isn't also excused).
    assert sorted(exempt_seen) == sorted(EXEMPT), exempt_seen
    # What the issue names is among the guarded.
    for name in [
        "organizations:remove_member",
        "organizations:leave",
        "organizations:change_role",
        "organizations:settings",
        "organizations:two_factor_policy",
        "organizations:invite",
        "organizations:resend_invitation",
        "organizations:revoke_invitation",
        "service_accounts:create",
        "service_accounts:role",
        "service_accounts:disable",
        "service_accounts:enable",
        "service_accounts:delete",
        "service_accounts:create_key",
        "service_accounts:key_roll",
        "service_accounts:key_revoke",
        "apikeys:create",
        "apikeys:roll",
        "apikeys:revoke",  # someone else's key (one's own: test_fresh_sign_in)
        "apikeys:revoke_app",  # someone else's app, likewise
        "sso:save_connection",
        "sso:disconnect",
        "sso:require",
        "sso:add_domain",
        "sso:verify_domain",
        "sso:resend_code",
        "sso:remove_domain",
        "scim_tokens:create",
        "scim_tokens:revoke",
    ]:
        assert name in guarded, name
    assert "apikeys:list" in read_only
