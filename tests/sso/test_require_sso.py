""" "Require SSO": members open the organization only through its SSO (its break-glass
Owner excepted), nobody creates or rolls a key in it from a session that didn't come
through it, and keys (service accounts' too) keep working."""

import time

import pytest
from django.db import transaction

from apikeys.models import ApiKey
from sso import policy, services

from ..factories import ApiKeyFactory, make_service_account, make_service_key

KEYS = "/o/acme/api-keys/"


@pytest.fixture
def required(connection, owner):
    return services.set_require_sso(connection, True, owner)


def through_sso(client, organization):
    session = client.session
    session[policy.SESSION_KEY] = [organization.pk]
    session.save()
    return client


@pytest.mark.parametrize("who", ["admin", "member"])
def test_a_password_session_is_sent_to_sso(team, client_for, required, who):
    response = client_for(team[who]).get(KEYS)
    assert response.status_code == 403
    assert "Acme requires single sign-on" in response.text
    assert 'name="who" value="acme"' in response.text
    assert "My API keys" not in response.text


def test_nothing_in_the_organization_opens_without_sso(member, client_for, required):
    client = client_for(member)
    for path in (KEYS, "/o/acme/members/", "/o/acme/mcp-server/", "/o/acme/leave/"):
        assert client.get(path).status_code == 403, path
    response = client.post(KEYS + "create/", {"name": "Sneaky"})
    assert response.status_code == 403
    assert not ApiKey.objects.filter(name="Sneaky").exists()


def test_other_organizations_still_open_with_a_password(member, other_org, client_for, required):
    from ..factories import MembershipFactory

    MembershipFactory(organization=other_org, user=member.user)
    assert client_for(member).get("/o/globex/api-keys/").status_code == 200


def test_an_outsider_still_gets_404(outsider, client_for, required):
    assert client_for(outsider).get(KEYS).status_code == 404


def test_a_session_through_the_organizations_sso_opens_it_and_makes_keys(
    member, org, client_for, required
):
    client = through_sso(client_for(member), org)
    assert client.get(KEYS).status_code == 200
    response = client.post(KEYS + "create/", {"name": "Through SSO"})
    assert response.status_code == 200
    assert ApiKey.objects.filter(name="Through SSO").exists()


def test_the_break_glass_owner_opens_it_but_makes_no_key_without_sso(owner, client_for, required):
    client = client_for(owner)
    assert client.get(KEYS).status_code == 200
    dialog = client.get(KEYS + "create/")
    assert "Sign in with SSO first" in dialog.text
    assert "requires single sign-on to create or roll API keys" in dialog.text
    response = client.post(KEYS + "create/", {"name": "Break glass"})
    assert response.status_code == 403
    assert "Sign in with SSO first" in response.text
    assert not ApiKey.objects.filter(name="Break glass").exists()
    key = ApiKeyFactory(membership=owner)
    response = client.post(KEYS + f"{key.pk}/roll/")
    assert response.status_code == 403
    assert "Sign in with SSO first" in response.text
    key.refresh_from_db()
    assert key.revoked_at is None


def test_another_organizations_sso_does_not_count(owner, other_org, client_for, required):
    client = through_sso(client_for(owner), other_org)
    assert client.post(KEYS + "create/", {"name": "Wrong SSO"}).status_code == 403


def test_keys_and_service_accounts_keep_working(owner, member, admin, client_for, required):
    key = ApiKeyFactory(membership=member)
    account = make_service_account(owner.organization, actor=admin.user)
    service_key = make_service_key(account, admin)
    client = client_for(None)
    assert client.get("/api/v1/me", HTTP_X_API_KEY=key.plaintext).status_code == 200
    assert client.get("/api/v1/me", HTTP_X_API_KEY=service_key.plaintext).status_code == 200


def test_without_require_sso_nothing_changes(member, client_for, connection):
    client = client_for(member)
    assert client.get(KEYS).status_code == 200
    assert client.post(KEYS + "create/", {"name": "Plain"}).status_code == 200


def test_a_stale_sso_only_session_signs_in_through_sso_again(member, client_for):
    """Its person has no password and no second factor for allauth's sign-in-again page."""
    member.user.set_unusable_password()
    member.user.save(update_fields=["password"])
    client = client_for(member)
    session = client.session
    session["account_authentication_methods"] = [
        {"method": "socialaccount", "provider": "org-x", "uid": "m", "at": 0}
    ]
    session.save()
    response = client.post(KEYS + "create/", {"name": "Stale"})
    assert response.status_code == 302
    assert response["Location"] == "/sso/?who=acme"
    assert not ApiKey.objects.filter(name="Stale").exists()
    page = client.get(response["Location"]).text
    assert 'value="acme"' in page
    assert "sign in through SSO again" in page
    response = client.post(KEYS + "create/", {"name": "Stale"}, HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == "/sso/?who=acme"


def test_a_fresh_sso_sign_in_makes_keys_without_a_password(member, client_for):
    member.user.set_unusable_password()
    member.user.save(update_fields=["password"])
    client = client_for(member)
    session = client.session
    session["account_authentication_methods"] = [
        {"method": "socialaccount", "provider": "org-x", "uid": "m", "at": time.time()}
    ]
    session.save()
    assert client.post(KEYS + "create/", {"name": "Fresh"}).status_code == 200
    assert ApiKey.objects.filter(name="Fresh").exists()


def test_a_demoted_break_glass_owner_needs_sso_like_everyone(owner, admin, client_for, required):
    from organizations.services import change_role

    change_role(admin, "owner")
    change_role(owner, "member")
    assert client_for(owner).get(KEYS).status_code == 403


def test_removing_a_member_ends_the_sessions_its_sso_let_in(
    member, other_org, client_for, org, django_capture_on_commit_callbacks
):
    """The identity provider vouched for that sign-in and, removing the member (SCIM's
    deprovisioning does it the same way), no longer does; a session signed in otherwise
    stays, and reaches the person's other organizations."""
    from allauth.usersessions.models import UserSession

    from organizations import services as org_services

    from ..factories import MembershipFactory

    MembershipFactory(organization=other_org, user=member.user)
    came_through_sso = through_sso(client_for(member), org)
    by_password = client_for(member)
    for client in (came_through_sso, by_password):
        UserSession.objects.get_or_create(
            session_key=client.session.session_key,
            defaults={"user": member.user, "ip": "127.0.0.1"},
        )
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        org_services.remove_member(member)
        raise RuntimeError("rolled back")
    assert callbacks == []  # nothing ends for a removal that didn't happen
    assert came_through_sso.get(KEYS).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        org_services.remove_member(member)
    assert came_through_sso.get("/o/globex/api-keys/").status_code == 302  # signed out
    assert by_password.get("/o/globex/api-keys/").status_code == 200
    assert by_password.get(KEYS).status_code == 404
