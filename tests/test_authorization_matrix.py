"""Who can do what: every action for every role, the outsider (an Admin of another
organization) and anonymous, with the status and what happened in the database."""

import pytest

from apikeys.models import ApiKey, RevokeReason
from organizations.models import Invitation, Membership, Role, ServiceAccount

from .factories import (
    InvitationFactory,
    MembershipFactory,
    make_service_account,
    make_service_key,
)

ROLES = ["owner", "admin", "member", "outsider", "anonymous"]
LOGIN = "login"  # anonymous: sent to sign in, nothing done


def actor(team, role):
    return None if role == "anonymous" else team[role]


def assert_status(response, expected):
    if expected == LOGIN and "HX-Redirect" in response:  # htmx: the whole page goes there
        assert response["HX-Redirect"].startswith("/accounts/login/")
    elif expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    else:
        assert response.status_code == expected


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", 200), ("admin", 200), ("member", 200), ("outsider", 404), ("anonymous", LOGIN)],
)
def test_list_own_keys(team, client_for, make_key, role, expected):
    mine = make_key(team["member"], "Member key")
    response = client_for(actor(team, role)).get("/o/acme/api-keys/")
    assert_status(response, expected)
    if role == "member":
        assert "Member key" in response.text
    elif expected == 200:
        # Owners and Admins see it in the organization section only.
        assert response.text.count(mine.hint) == 1


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", 200), ("admin", 200), ("member", 200), ("outsider", 404), ("anonymous", LOGIN)],
)
def test_create_key(team, client_for, role, expected):
    response = client_for(actor(team, role)).post(
        "/o/acme/api-keys/create/", {"name": "Deploy bot"}
    )
    assert_status(response, expected)
    created = ApiKey.objects.filter(name="Deploy bot", organization__slug="acme")
    if expected == 200:
        assert created.get().user == team[role].user
    else:
        assert not created.exists()


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", 302), ("admin", 302), ("member", 302), ("outsider", 404), ("anonymous", LOGIN)],
)
def test_delete_own_key(team, client_for, make_key, role, expected):
    # The outsider and anonymous try the member's key: they have none here.
    holder = team[role] if role in ("owner", "admin", "member") else team["member"]
    key = make_key(holder)
    response = client_for(actor(team, role)).post(f"/o/acme/api-keys/{key.pk}/delete/")
    assert_status(response, expected)
    key.refresh_from_db()
    if expected == 302:
        assert key.revoke_reason == RevokeReason.DELETED
        assert key.revoked_by == holder.user
    else:
        assert key.revoked_at is None


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", 404), ("admin", 404), ("member", 404), ("outsider", 404), ("anonymous", LOGIN)],
)
def test_delete_another_members_key(team, client_for, make_key, role, expected):
    # Delete is for your own keys only; Admins and Owners revoke instead.
    other = team["admin"] if role == "member" else team["member"]
    key = make_key(other)
    response = client_for(actor(team, role)).post(f"/o/acme/api-keys/{key.pk}/delete/")
    assert_status(response, expected)
    key.refresh_from_db()
    assert key.revoked_at is None


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", 302), ("admin", 302), ("member", 403), ("outsider", 404), ("anonymous", LOGIN)],
)
def test_revoke_a_members_key(team, client_for, make_key, role, expected):
    target = make_key(MembershipFactory(organization=team["member"].organization))
    response = client_for(actor(team, role)).post(f"/o/acme/api-keys/{target.pk}/revoke/")
    assert_status(response, expected)
    target.refresh_from_db()
    if expected == 302:
        assert target.revoke_reason == RevokeReason.REVOKED
        assert target.revoked_by == team[role].user
    else:
        assert target.revoked_at is None


@pytest.mark.parametrize(
    ("role", "page", "section"),
    [
        ("owner", 200, 200),
        ("admin", 200, 200),
        ("member", 200, 403),
        ("outsider", 404, 404),
        ("anonymous", LOGIN, LOGIN),
    ],
)
def test_see_organization_section(team, client_for, make_key, role, page, section):
    other_key = make_key(team["member"], "Someone else's key")
    client = client_for(actor(team, role))
    page_response = client.get("/o/acme/api-keys/")
    section_response = client.get("/o/acme/api-keys/organization/")
    assert_status(page_response, page)
    assert_status(section_response, section)
    shows_section = "Organization API Keys" in page_response.text
    assert shows_section == (role in ("owner", "admin"))
    if role in ("owner", "admin"):
        assert other_key.hint in section_response.text
        assert "member@acme.test" in section_response.text
    if role == "member":
        assert "org-keys" not in page_response.text


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", 302), ("admin", 302), ("member", 403), ("outsider", 404), ("anonymous", LOGIN)],
)
def test_manage_members(team, client_for, new_user, role, expected):
    client = client_for(actor(team, role))
    invited = client.post("/o/acme/members/invite/", {"email": new_user.email, "role": Role.MEMBER})
    assert_status(invited, expected)
    invitation = Invitation.objects.filter(email=new_user.email, organization__slug="acme")
    assert invitation.exists() == (expected == 302)

    target = team["member"]
    changed = client.post(f"/o/acme/members/{target.pk}/role/", {"role": Role.ADMIN})
    removed = client.post(f"/o/acme/members/{target.pk}/remove/")
    assert_status(changed, expected)
    assert_status(removed, expected)
    still_member = Membership.objects.filter(pk=target.pk).exists()
    assert still_member == (expected != 302)


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", 302), ("admin", 302), ("member", 403), ("outsider", 404), ("anonymous", LOGIN)],
)
def test_resend_and_revoke_invitations(team, client_for, role, expected):
    invitation = InvitationFactory(organization=team["owner"].organization)
    token_hash = invitation.token_hash
    client = client_for(actor(team, role))
    resent = client.post(f"/o/acme/invitations/{invitation.pk}/resend/")
    assert_status(resent, expected)
    invitation.refresh_from_db()
    assert (invitation.token_hash != token_hash) == (expected == 302)
    revoked = client.post(f"/o/acme/invitations/{invitation.pk}/revoke/")
    assert_status(revoked, expected)
    invitation.refresh_from_db()
    assert (invitation.revoked_at is not None) == (expected == 302)


@pytest.mark.parametrize(
    ("role", "invite", "revoke"),
    [
        ("owner", 302, 302),
        ("admin", 400, 403),  # an Admin's form offers no Owner role
        ("member", 403, 403),
        ("outsider", 404, 404),
        ("anonymous", LOGIN, LOGIN),
    ],
)
def test_only_owners_invite_owners_or_touch_their_invitations(
    team, client_for, new_user, role, invite, revoke
):
    client = client_for(actor(team, role))
    invited = client.post("/o/acme/members/invite/", {"email": new_user.email, "role": "owner"})
    assert_status(invited, invite)
    made = Invitation.objects.filter(email=new_user.email, role=Role.OWNER).exists()
    assert made == (invite == 302)
    theirs = InvitationFactory(organization=team["owner"].organization, role=Role.OWNER)
    assert_status(client.post(f"/o/acme/invitations/{theirs.pk}/resend/"), revoke)
    theirs = Invitation.objects.get(email=theirs.email, revoked_at=None, accepted_at=None)
    assert_status(client.post(f"/o/acme/invitations/{theirs.pk}/revoke/"), revoke)
    theirs.refresh_from_db()
    assert (theirs.revoked_at is not None) == (revoke == 302)


# Service accounts: Admins and Owners manage them and their keys; Members see them listed
# on the Members page only.
ADMINS_ONLY = [
    ("owner", 302),
    ("admin", 302),
    ("member", 403),
    ("outsider", 404),
    ("anonymous", LOGIN),
]


def account_url(account) -> str:
    return f"/o/acme/service-accounts/{account.user_id}/"


@pytest.mark.parametrize(("role", "expected"), ADMINS_ONLY)
def test_create_a_service_account(team, client_for, role, expected):
    response = client_for(actor(team, role)).post(
        "/o/acme/service-accounts/create/", {"name": "Deploy bot", "role": Role.MEMBER}
    )
    assert_status(response, expected)
    assert ServiceAccount.objects.filter(user__name="Deploy bot").exists() == (expected == 302)


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", 200), ("admin", 200), ("member", 403), ("outsider", 404), ("anonymous", LOGIN)],
)
def test_see_a_service_accounts_page_and_keys(team, client_for, role, expected):
    account = make_service_account(team["owner"].organization)
    key = make_service_key(account, team["admin"])
    client = client_for(actor(team, role))
    page = client.get(account_url(account))
    assert_status(page, expected)
    assert_status(client.get(account_url(account) + "keys/"), expected)
    if expected == 200:
        assert key.hint in page.text


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", 200), ("admin", 200), ("member", 403), ("outsider", 404), ("anonymous", LOGIN)],
)
def test_create_a_service_accounts_key(team, client_for, role, expected):
    account = make_service_account(team["owner"].organization)
    response = client_for(actor(team, role)).post(
        account_url(account) + "keys/create/", {"name": "Deploy"}
    )
    assert_status(response, expected)
    made = ApiKey.objects.filter(user=account.user)
    assert made.exists() == (expected == 200)
    if expected == 200:
        assert made.get().created_by == team[role].user


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", 200), ("admin", 200), ("member", 403), ("outsider", 404), ("anonymous", LOGIN)],
)
def test_roll_a_service_accounts_key(team, client_for, role, expected):
    account = make_service_account(team["owner"].organization)
    key = make_service_key(account, team["admin"])
    response = client_for(actor(team, role)).post(account_url(account) + f"keys/{key.pk}/roll/")
    assert_status(response, expected)
    key.refresh_from_db()
    assert (key.revoke_reason == RevokeReason.ROLLED) == (expected == 200)


@pytest.mark.parametrize(("role", "expected"), ADMINS_ONLY)
def test_revoke_a_service_accounts_key(team, client_for, role, expected):
    account = make_service_account(team["owner"].organization)
    key = make_service_key(account, team["admin"])
    response = client_for(actor(team, role)).post(account_url(account) + f"keys/{key.pk}/revoke/")
    assert_status(response, expected)
    key.refresh_from_db()
    assert (key.revoke_reason == RevokeReason.REVOKED) == (expected == 302)


@pytest.mark.parametrize(("role", "expected"), ADMINS_ONLY)
def test_disable_enable_and_change_a_service_accounts_role(team, client_for, role, expected):
    account = make_service_account(team["owner"].organization)
    client = client_for(actor(team, role))
    assert_status(client.post(account_url(account) + "disable/"), expected)
    account.user.refresh_from_db()
    assert account.user.is_active == (expected != 302)
    assert_status(client.post(account_url(account) + "enable/"), expected)
    account.user.refresh_from_db()
    assert account.user.is_active
    assert_status(client.post(account_url(account) + "role/", {"role": Role.ADMIN}), expected)
    account.refresh_from_db()
    assert (account.role == Role.ADMIN) == (expected == 302)


@pytest.mark.parametrize(("role", "expected"), ADMINS_ONLY)
def test_delete_a_service_account(team, client_for, role, expected):
    account = make_service_account(team["owner"].organization)
    key = make_service_key(account, team["admin"])
    response = client_for(actor(team, role)).post(account_url(account) + "delete/")
    assert_status(response, expected)
    key.refresh_from_db()
    assert (key.revoke_reason == RevokeReason.ACCOUNT_DELETED) == (expected == 302)
    deleted = ServiceAccount.objects.get(pk=account.user_id).deleted_at is not None
    assert deleted == (expected == 302)
