"""Authorized apps in the console: each person sees and revokes their own; Admins and
Owners see and revoke every member's; outsiders get 404 and anonymous visitors sign in."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from oauth2_provider.models import AccessToken, RefreshToken

from oauth.models import AuthorizedApp, RevokeReason
from organizations.models import AuditAction, AuditEvent
from tests.factories import MembershipFactory
from tests.oauth.grants import make_grant
from tests.test_authorization_matrix import LOGIN, actor, assert_status

PAGE = "/o/acme/api-keys/"


def revoke_url(grant):
    return f"{PAGE}apps/{grant.pk}/revoke/"


def test_each_person_sees_their_own_apps_and_admins_see_everyones(team, client_for):
    make_grant(team["member"], "Member's Claude")
    make_grant(team["admin"], "Admin's Cursor")

    member_page = client_for(team["member"]).get(PAGE).text
    assert "Member&#x27;s Claude" in member_page
    assert "Admin&#x27;s Cursor" not in member_page
    assert "Organization authorized apps" not in member_page

    owner_page = client_for(team["owner"]).get(PAGE).text
    assert "Organization authorized apps" in owner_page
    assert "Member&#x27;s Claude" in owner_page and "Admin&#x27;s Cursor" in owner_page

    outsider_page = client_for(team["outsider"]).get("/o/globex/api-keys/").text
    assert "Member&#x27;s Claude" not in outsider_page


def test_the_list_shows_access_and_last_use(team, client_for):
    grant = make_grant(team["member"], "Claude", scopes="mcp:read")
    AuthorizedApp.objects.filter(pk=grant.pk).update(
        last_used_ip="203.0.113.9", last_used_client="claude-ai 1.0", last_used_at=grant.created_at
    )
    page = client_for(team["member"]).get(f"{PAGE}apps/mine/").text
    assert "MCP server · read only" in page
    assert "203.0.113.9" in page and "claude-ai 1.0" in page


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", 200), ("admin", 200), ("member", 403), ("outsider", 404), ("anonymous", LOGIN)],
)
def test_revoking_someone_elses_app(team, client_for, role, expected):
    victim = MembershipFactory(organization=team["owner"].organization)
    grant = make_grant(victim)
    response = client_for(actor(team, role)).post(revoke_url(grant), headers={"HX-Request": "true"})
    assert_status(response, expected)
    grant.refresh_from_db()
    if expected == 200:
        assert grant.revoke_reason == RevokeReason.BY_ADMIN
        assert not AccessToken.objects.filter(pk=grant.access_token_id).exists()
        assert not RefreshToken.objects.filter(token_family=grant.token_family, revoked=None)
        event = AuditEvent.objects.get(action=AuditAction.APP_REVOKED)
        assert event.actor == team[role].user
        assert event.target_user == victim.user
    else:
        assert grant.revoked_at is None
        assert not AuditEvent.objects.filter(action=AuditAction.APP_REVOKED).exists()


@pytest.mark.parametrize("role", ["owner", "admin", "member"])
def test_everyone_revokes_their_own_app(team, client_for, role):
    grant = make_grant(team[role])
    response = client_for(team[role]).post(revoke_url(grant))
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.revoke_reason == RevokeReason.BY_OWNER


def test_revoking_someone_elses_app_needs_a_fresh_sign_in(team, client_for):
    grant = make_grant(team["member"])
    stale = client_for(team["admin"], minutes_ago=30)
    response = stale.post(revoke_url(grant))
    assert response.status_code == 302
    assert "/accounts/reauthenticate/" in response["Location"]
    grant.refresh_from_db()
    assert grant.revoked_at is None


def test_the_confirmation_names_the_app_and_its_person(team, client_for):
    grant = make_grant(team["member"], "Claude Desktop")
    response = client_for(team["owner"]).get(revoke_url(grant))
    assert response.status_code == 200
    assert "Revoke authorized app" in response.text
    assert "Claude Desktop" in response.text and team["member"].user.email in response.text


def test_revoking_twice_says_so(team, client_for):
    grant = make_grant(team["member"])
    client = client_for(team["member"])
    client.post(revoke_url(grant))
    response = client.post(revoke_url(grant), follow=True)
    assert "was already revoked" in response.text
    assert AuditEvent.objects.filter(action=AuditAction.APP_REVOKED).count() == 1


def test_an_unknown_app_is_404_and_get_only_shows(team, client_for):
    client = client_for(team["owner"])
    assert client.post(f"{PAGE}apps/999999/revoke/").status_code == 404
    assert client.put(revoke_url(make_grant(team["member"]))).status_code == 405


def test_the_lists_queries_do_not_grow_with_apps(team, client_for):
    client = client_for(team["owner"])
    client.get(PAGE)

    def queries(url):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    make_grant(team["owner"])
    few = {url: queries(url) for url in (PAGE, f"{PAGE}apps/organization/", f"{PAGE}apps/mine/")}
    for _ in range(4):
        make_grant(team["owner"])
        make_grant(team["member"])
    assert {url: queries(url) for url in few} == few
