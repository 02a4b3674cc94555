"""Django admin goes through the same services as the console."""

import pytest
from django.test import Client

from apikeys import services as key_services
from apikeys.models import ApiKey
from organizations.models import AuditAction, AuditEvent, Invitation, Membership, Role

from .factories import InvitationFactory, UserFactory


@pytest.fixture
def operator(db):
    return UserFactory(email="ops@genesis.test", is_staff=True, is_superuser=True)


@pytest.fixture
def ops(client, operator):
    client.force_login(operator)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/organizations/user/",
        "/admin/organizations/user/add/",
        "/admin/organizations/organization/",
        "/admin/apikeys/apikey/",
        "/admin/organizations/invitation/",
        "/admin/mfa/authenticator/",
    ],
)
def test_admin_pages_load(ops, team, make_key, url):
    make_key(team["member"])
    assert ops.get(url).status_code == 200


def test_key_change_page_shows_no_digest(ops, member, make_key):
    key = make_key(member)
    response = ops.get(f"/admin/apikeys/apikey/{key.pk}/change/")
    assert response.status_code == 200
    assert key.hint in response.text
    assert key.digest not in response.text
    assert key.plaintext not in response.text


def test_a_keys_page_shows_its_scopes_allowlist_and_maker(ops, member, make_key):
    key = make_key(member, scopes=frozenset({"api:read"}), allowed_ips="203.0.113.0/24")
    page = ops.get(f"/admin/apikeys/apikey/{key.pk}/change/").text
    assert "api:read" in page and "203.0.113.0/24" in page
    assert "Created by" in page


def test_operators_disable_enable_and_delete_service_accounts(ops, admin):
    from apikeys.models import RevokeReason
    from organizations.models import ServiceAccount

    from .factories import make_service_account, make_service_key

    account = make_service_account(admin.organization)
    key = make_service_key(account, admin)
    url = "/admin/organizations/serviceaccount/"
    assert ops.get(url).status_code == 200
    assert ops.get(f"{url}{account.user_id}/change/").status_code == 200
    assert ops.get(f"{url}add/").status_code == 403
    for action in ("disable", "enable"):
        ops.post(url, {"action": action, "_selected_action": [account.user_id]})
    account.user.refresh_from_db()
    assert account.user.is_active
    assert AuditEvent.objects.filter(action=AuditAction.SERVICE_ACCOUNT_DISABLED).exists()
    ops.post(url, {"action": "delete", "_selected_action": [account.user_id]})
    key.refresh_from_db()
    assert key.revoke_reason == RevokeReason.ACCOUNT_DELETED
    assert ServiceAccount.objects.get().deleted_at is not None


def test_keys_cannot_be_added_or_deleted_in_admin(ops, member, make_key):
    key = make_key(member)
    assert ops.get("/admin/apikeys/apikey/add/").status_code == 403
    assert ops.post(f"/admin/apikeys/apikey/{key.pk}/delete/", {"post": "yes"}).status_code == 403
    assert 'value="delete_selected"' not in ops.get("/admin/apikeys/apikey/").text
    ops.post("/admin/apikeys/apikey/", {"action": "delete_selected", "_selected_action": [key.pk]})
    assert ApiKey.objects.filter(pk=key.pk).exists()


def test_revoke_action_goes_through_the_service(ops, operator, member, make_key):
    first, second = make_key(member, "one"), make_key(member, "two")
    response = ops.post(
        "/admin/apikeys/apikey/",
        {"action": "revoke_selected", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )
    assert "Revoked 2 API keys." in response.text
    for key in (first, second):
        key.refresh_from_db()
        assert (key.revoke_reason, key.revoked_by) == ("revoked", operator)
        assert key_services.authenticate(key.plaintext) is None


def inline_data(org, memberships, changes):
    data = {
        "name": org.name,
        "slug": org.slug,
        "created_at_0": "2026-01-01",
        "created_at_1": "00:00:00",
        "memberships-TOTAL_FORMS": str(len(memberships)),
        "memberships-INITIAL_FORMS": str(len(memberships)),
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    for index, membership in enumerate(memberships):
        prefix = f"memberships-{index}-"
        data |= {
            prefix + "id": str(membership.pk),
            prefix + "organization": str(org.pk),
            prefix + "user": str(membership.user_id),
            prefix + "role": membership.role,
        }
        data |= {prefix + key: value for key, value in changes.get(membership.pk, {}).items()}
    return data


def test_removing_a_membership_inline_revokes_keys(ops, owner, member, make_key):
    key = make_key(member)
    org = owner.organization
    data = inline_data(org, [owner, member], {member.pk: {"DELETE": "on"}})
    response = ops.post(f"/admin/organizations/organization/{org.pk}/change/", data)
    assert response.status_code == 302, response.text
    assert not Membership.objects.filter(pk=member.pk).exists()
    assert key_services.authenticate(key.plaintext) is None


def test_the_last_owner_rule_holds_in_admin(ops, owner, member):
    org = owner.organization
    data = inline_data(org, [owner, member], {owner.pk: {"role": Role.MEMBER}})
    response = ops.post(f"/admin/organizations/organization/{org.pk}/change/", data, follow=True)
    assert "at least one Owner" in response.text
    assert Membership.objects.get(pk=owner.pk).role == Role.OWNER


def test_deleting_a_user_in_admin_kills_their_keys(ops, member, make_key):
    key = make_key(member)
    response = ops.post(f"/admin/organizations/user/{member.user_id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert key_services.authenticate(key.plaintext) is None


def test_operators_revoke_invitations_through_the_service(ops, org):
    invitation = InvitationFactory(organization=org)
    page = ops.get("/admin/organizations/invitation/")
    assert invitation.email in page.text and invitation.token_hash not in page.text
    ops.post(
        "/admin/organizations/invitation/",
        {"action": "revoke", "_selected_action": [invitation.pk]},
    )
    assert Invitation.objects.get().revoked_at is not None
    assert AuditEvent.objects.get().action == AuditAction.INVITATION_REVOKED


def test_an_account_made_in_admin_signs_in(ops, client):
    ops.post(
        "/admin/organizations/user/add/",
        {
            "email": " New.Person@Example.com ",
            "name": "New Person",
            "password1": "a long passphrase 2026",
            "password2": "a long passphrase 2026",
            "usable_password": "true",
        },
    )

    signed_in = Client().post(
        "/accounts/login/",
        {"login": "new.person@example.com", "password": "a long passphrase 2026"},
    )
    assert signed_in.status_code == 302
