"""Service accounts: automation's own identity in an organization, whose keys outlive the
person who made them, refused while it is disabled and revoked when it is deleted."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import authenticate
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apikeys import leaks, service_accounts, services
from apikeys.models import ApiKey, RevokeReason
from apikeys.notices import send_expiry_notices
from organizations import services as org_services
from organizations.models import AuditAction, AuditEvent, Membership, Role, ServiceAccount

from ..factories import (
    ApiKeyFactory,
    MembershipFactory,
    make_service_account,
    make_service_key,
)

KEY = re.compile(r'value="(gns_[^"]+)"')


def page_of(account) -> str:
    return f"/o/acme/service-accounts/{account.user_id}/"


def me(client, key):
    return client.get("/api/v1/me", HTTP_X_API_KEY=key.plaintext)


def test_an_admin_creates_one_with_a_name_description_and_role(admin, client_for):
    response = client_for(admin).post(
        "/o/acme/service-accounts/create/",
        {"name": "Deploy bot", "description": "Ships main from CI", "role": Role.ADMIN},
    )
    account = ServiceAccount.objects.get()
    assert response.status_code == 302
    assert response["Location"] == page_of(account)
    assert account.user.name == "Deploy bot" and account.description == "Ships main from CI"
    assert account.created_by == admin.user
    assert Membership.objects.get(user=account.user).role == Role.ADMIN
    # No way to sign in: no password, and an address nothing is delivered to.
    assert not account.user.has_usable_password()
    assert account.user.email.endswith("@service-accounts.invalid")
    event = AuditEvent.objects.get(action=AuditAction.SERVICE_ACCOUNT_CREATED)
    assert event.actor == admin.user and event.target == "Deploy bot"
    assert event.summary() == "as Admin"


@pytest.mark.parametrize("actor", ["owner", "admin"])
def test_never_an_owner(team, client_for, actor):
    response = client_for(team[actor]).post(
        "/o/acme/service-accounts/create/", {"name": "Boss bot", "role": Role.OWNER}
    )
    assert response.status_code == 400
    assert not ServiceAccount.objects.exists()
    dialog = (
        client_for(team[actor]).get("/o/acme/service-accounts/create/", HTTP_HX_REQUEST="true").text
    )
    assert 'value="owner"' not in dialog
    with pytest.raises(service_accounts.ServiceAccountError):
        service_accounts.create(team[actor].organization, "Boss bot", "", Role.OWNER, None)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "role": "member"}, "Enter a name for the service account."),
        ({"name": "x" * 151, "role": "member"}, "at most 150 characters"),
        ({"name": "Deploy\u202ebot", "role": "member"}, "control or invisible characters"),
        ({"name": "CI", "description": "a\u200bb", "role": "member"}, "invisible characters"),
        ({"name": "deploy BOT", "role": "member"}, "already has a service account named"),
    ],
)
def test_bad_input_is_a_400_that_says_why(admin, client_for, data, message):
    make_service_account(admin.organization, "Deploy bot")
    response = client_for(admin).post(
        "/o/acme/service-accounts/create/", data, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert ServiceAccount.objects.count() == 1


def test_a_deleted_accounts_name_can_be_used_again(admin):
    old = make_service_account(admin.organization, "Deploy bot")
    service_accounts.delete(old.user.service_account)
    assert make_service_account(admin.organization, "Deploy bot").user != old.user


def test_an_admin_makes_its_keys_which_act_as_it(admin, client_for):
    account = make_service_account(admin.organization, "Deploy bot")
    response = client_for(admin).post(
        page_of(account) + "keys/create/", {"name": "Production deploy", "expires": "30"}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    plaintext = KEY.search(response.text).group(1)
    assert "of the service account Deploy bot" in response.text
    key = ApiKey.objects.get()
    assert key.user == account.user and key.created_by == admin.user
    context = services.authenticate(plaintext)
    assert context.user_id == account.user_id and context.role == Role.MEMBER
    event = AuditEvent.objects.get(action=AuditAction.KEY_CREATED)
    assert event.actor == admin.user and event.target_user == account.user
    page = client_for(admin).get(page_of(account)).text
    assert "Production deploy" in page and "Adam Admin" in page and plaintext not in page


def test_its_keys_are_capped_by_its_role(admin, client_for):
    member_bot = make_service_account(admin.organization, "Reader", Role.MEMBER)
    admin_bot = make_service_account(admin.organization, "Janitor", Role.ADMIN)
    client = client_for(admin)
    form = {"name": "k", "surfaces": ["api"], "access": "read_write", "org_admin": "on"}
    client.post(page_of(member_bot) + "keys/create/", form)
    client.post(page_of(admin_bot) + "keys/create/", form)
    assert "org:admin" not in ApiKey.objects.get(user=member_bot.user).scopes
    assert "org:admin" in ApiKey.objects.get(user=admin_bot.user).scopes
    assert (
        "Organization administration" not in client.get(page_of(member_bot) + "keys/create/").text
    )


def test_its_keys_survive_the_removal_of_whoever_made_them(owner, admin, client_for):
    account = make_service_account(admin.organization, actor=admin.user)
    theirs = make_service_key(account, admin, "Deploy")
    own = ApiKeyFactory(membership=admin)
    org_services.remove_member(admin)
    own.refresh_from_db()
    theirs.refresh_from_db()
    assert own.revoke_reason == RevokeReason.MEMBER_REMOVED  # the person's own: revoked
    assert theirs.revoked_at is None and services.authenticate(theirs.plaintext) is not None
    # The list and the log still say who made it.
    page = client_for(owner).get(page_of(account)).text
    assert "Adam Admin" in page and theirs.hint in page
    made = AuditEvent.objects.get(action=AuditAction.KEY_CREATED, target_user=account.user)
    assert made.actor is None or made.actor == admin.user  # no request: the services' actor


def test_disabled_every_key_is_refused_at_once_and_enabled_they_work_again(
    admin, client_for, client
):
    account = make_service_account(admin.organization)
    keys = [make_service_key(account, admin, name) for name in ("one", "two")]
    assert me(client, keys[0]).status_code == 200
    done = client_for(admin).post(page_of(account) + "disable/")
    assert done.status_code == 302
    assert [me(client, key).status_code for key in keys] == [401, 401]
    assert ApiKey.objects.unrevoked().count() == 2  # refused, not revoked
    page = client_for(admin).get(page_of(account)).text
    assert "Disabled" in page and "keys/create/" not in page
    client_for(admin).post(page_of(account) + "enable/")
    assert [me(client, key).status_code for key in keys] == [200, 200]
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert AuditAction.SERVICE_ACCOUNT_DISABLED in actions
    assert AuditAction.SERVICE_ACCOUNT_ENABLED in actions


def test_deactivated_by_an_operator_it_keeps_its_keys(admin):
    # Django admin saves the user: a person's keys would be revoked, a service account's
    # are only refused.
    account = make_service_account(admin.organization)
    key = make_service_key(account, admin)
    account.user.is_active = False
    account.user.save()
    key.refresh_from_db()
    assert key.revoked_at is None and services.authenticate(key.plaintext) is None


def test_deleted_its_keys_are_revoked_and_it_is_gone(admin, client_for, client):
    account = make_service_account(admin.organization)
    key = make_service_key(account, admin)
    dialog = client_for(admin).get(page_of(account) + "delete/", HTTP_HX_REQUEST="true")
    assert dialog.status_code == 200 and key.hint in dialog.text
    done = client_for(admin).post(page_of(account) + "delete/")
    assert done.status_code == 302 and done["Location"] == "/o/acme/members/"
    key.refresh_from_db()
    assert key.revoke_reason == RevokeReason.ACCOUNT_DELETED
    assert me(client, key).status_code == 401
    assert not Membership.objects.filter(user=account.user).exists()
    assert client_for(admin).get(page_of(account)).status_code == 404
    assert "Deploy bot" not in client_for(admin).get("/o/acme/members/").text
    event = AuditEvent.objects.get(action=AuditAction.KEY_AUTO_REVOKED)
    assert event.summary().startswith("service account deleted")
    assert AuditEvent.objects.filter(action=AuditAction.SERVICE_ACCOUNT_DELETED).exists()
    # A second tab finds it deleted already.
    assert client_for(admin).post(page_of(account) + "delete/").status_code == 404


def test_deleting_needs_a_fresh_sign_in(admin, client_for):
    account = make_service_account(admin.organization)
    asked = client_for(admin, minutes_ago=10).post(page_of(account) + "delete/")
    assert asked.status_code == 302 and "reauthenticate" in asked["Location"]
    assert ServiceAccount.objects.get().deleted_at is None


def test_nobody_signs_in_as_one(admin, client):
    account = make_service_account(admin.organization)
    account.user.set_password("an operator set this")
    account.user.save()
    assert authenticate(email=account.user.email, password="an operator set this") is None
    response = client.post(
        "/accounts/login/", {"login": account.user.email, "password": "an operator set this"}
    )
    assert "_auth_user_id" not in client.session
    assert response.status_code == 200 and "the password is not right" in response.text


def test_listed_on_the_members_page_apart_from_people(admin, member, client_for):
    make_service_account(admin.organization, "Deploy bot", Role.ADMIN)
    as_admin = client_for(admin).get("/o/acme/members/").text
    section = as_admin[as_admin.index('id="service-accounts"') :]
    people = as_admin[
        as_admin.index('id="members-title"') : as_admin.index('id="service-accounts"')
    ]
    assert "Deploy bot" in section and "Deploy bot" not in people
    assert "2 members" in people  # the people only
    assert "/o/acme/service-accounts/create/" in as_admin
    assert "service-accounts.invalid" not in as_admin
    # Members see them, without the way in.
    as_member = client_for(member).get("/o/acme/members/").text
    assert "Deploy bot" in as_member
    assert "/o/acme/service-accounts/" not in as_member


def test_the_members_page_costs_the_same_queries_with_more_accounts(admin, client_for):
    client = client_for(admin)
    client.get("/o/acme/members/")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/o/acme/members/").status_code == 200
        return len(captured)

    first = make_service_account(admin.organization, "First")
    make_service_key(first, admin)
    few = queries()
    for n in range(5):
        account = make_service_account(admin.organization, f"Bot {n}", Role.ADMIN)
        make_service_key(account, admin)
        make_service_key(account, admin)
    assert queries() == few


def test_its_page_costs_the_same_queries_with_more_keys(admin, client_for):
    account = make_service_account(admin.organization)
    client = client_for(admin)
    client.get(page_of(account))

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(page_of(account)).status_code == 200
        return len(captured)

    make_service_key(account, admin)
    few = queries()
    other = MembershipFactory(organization=admin.organization, role=Role.ADMIN)
    for _ in range(5):
        make_service_key(account, other)
    assert queries() == few


def test_people_routes_leave_service_accounts_alone(owner, client_for):
    account = make_service_account(owner.organization)
    client = client_for(owner)
    assert client.post(f"/o/acme/members/{account.pk}/role/", {"role": "owner"}).status_code == 404
    assert client.post(f"/o/acme/members/{account.pk}/remove/").status_code == 404
    assert Membership.objects.get(pk=account.pk).role == Role.MEMBER
    with pytest.raises(org_services.MembershipError):
        org_services.change_role(account, Role.OWNER)
    with pytest.raises(org_services.MembershipError):
        org_services.remove_member(account)


def test_its_role_changes_on_its_page_but_never_to_owner(owner, admin, client_for):
    account = make_service_account(owner.organization)
    assert client_for(admin).post(page_of(account) + "role/", {"role": "admin"}).status_code == 302
    assert Membership.objects.get(pk=account.pk).role == Role.ADMIN
    assert client_for(admin).post(page_of(account) + "role/", {"role": "owner"}).status_code == 403
    client_for(owner).post(page_of(account) + "role/", {"role": "owner"})
    assert Membership.objects.get(pk=account.pk).role == Role.ADMIN
    event = AuditEvent.objects.get(action=AuditAction.ROLE_CHANGED)
    assert event.target == "Deploy bot"


def test_the_removal_dialog_suggests_service_account_keys(admin, member, client_for, make_key):
    make_key(member, "Nightly deploy")
    dialog = client_for(admin).get(f"/o/acme/members/{member.pk}/remove/").text
    assert "Nightly deploy" in dialog
    assert "service account" in dialog and "knows its secret" in dialog


def test_rolling_one_of_its_keys_with_an_overlap(admin, client_for, client):
    account = make_service_account(admin.organization)
    old = make_service_key(account, admin)
    other = MembershipFactory(organization=admin.organization, role=Role.ADMIN)
    response = client_for(other).post(page_of(account) + f"keys/{old.pk}/roll/", {"overlap": "1h"})
    assert response.status_code == 200
    new = ApiKey.objects.exclude(pk=old.pk).get()
    assert new.user == account.user and new.created_by == other.user
    new.plaintext = KEY.search(response.text).group(1)
    assert me(client, old).status_code == 200 and me(client, new).status_code == 200


def test_its_keys_buttons_open_its_own_dialogs(admin, client_for):
    # Not the API keys page's (once a context variable of the page's layout shadowed
    # the account's, and Roll opened a 404 there).
    account = make_service_account(admin.organization)
    key = make_service_key(account, admin)
    page = client_for(admin).get(page_of(account)).text
    for action in ("roll", "revoke"):
        assert f'action="{page_of(account)}keys/{key.pk}/{action}/"' in page
    assert f"/api-keys/{key.pk}/" not in page


def test_its_keys_are_revoked_from_its_page_and_the_organization_list(admin, client_for):
    account = make_service_account(admin.organization)
    first, second = make_service_key(account, admin, "first"), make_service_key(account, admin)
    listed = client_for(admin).get("/o/acme/api-keys/organization/").text
    assert "Service account" in listed and "made by Adam Admin" in listed
    assert client_for(admin).post(page_of(account) + f"keys/{first.pk}/revoke/").status_code == 302
    assert client_for(admin).post(f"/o/acme/api-keys/{second.pk}/revoke/").status_code == 302
    assert not ApiKey.objects.unrevoked().exists()
    assert ApiKey.objects.filter(revoked_by=admin.user).count() == 2


def test_another_accounts_key_is_404_on_its_page(admin, client_for, other_org):
    account = make_service_account(admin.organization, "One")
    other = make_service_account(admin.organization, "Two")
    theirs = make_service_key(other, admin)
    url = page_of(account) + f"keys/{theirs.pk}/revoke/"
    assert client_for(admin).post(url).status_code == 404
    elsewhere = make_service_account(other_org, "Globex bot")
    assert client_for(admin).get(page_of(elsewhere)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_notices_go_to_the_people_behind_it(
    owner, admin, client_for, mailoutbox, django_capture_on_commit_callbacks
):
    account = make_service_account(admin.organization, "Deploy bot", Role.ADMIN)
    key = make_service_key(account, admin, "Prod", expires_at=timezone.now() + timedelta(days=3))
    # Expiring: its maker hears of it, not the account's .invalid address.
    assert send_expiry_notices() == 1
    [expiring] = mailoutbox
    assert expiring.to == ["admin@acme.test"]
    assert "of the service account Deploy bot" in expiring.body
    assert page_of(account) in expiring.body
    # Revoked by someone else: its maker is told.
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client_for(owner).post(f"/o/acme/api-keys/{key.pk}/revoke/")
    assert [mail.to for mail in mailoutbox] == [["admin@acme.test"]]
    # Its maker gone: the Admins and Owners hear of a leak, never the account itself.
    mailoutbox.clear()
    leaked = make_service_key(account, admin, "Leaked")
    org_services.remove_member(admin)
    with django_capture_on_commit_callbacks(execute=True):
        leaks.report(leaked.plaintext, where="https://example.com/x", reporter="test")
    recipients = sorted(address for mail in mailoutbox for address in mail.to)
    assert recipients == ["owner@acme.test"]


def test_the_api_names_service_accounts_and_who_made_their_keys(admin, client):
    from organizations import scopes

    account = make_service_account(admin.organization)
    make_service_key(account, admin, "Deploy")
    mine = ApiKeyFactory(membership=admin, scopes=scopes.DEFAULT | {scopes.ORG_ADMIN})
    body = client.get("/api/v1/organization/keys", HTTP_X_API_KEY=mine.plaintext).json()
    deploy = next(item for item in body["items"] if item["name"] == "Deploy")
    assert deploy["created_by"]["service_account"] is True
    assert deploy["created_by"]["name"] == "Deploy bot"
    assert deploy["made_by"] == {"name": "Adam Admin", "email": "admin@acme.test"}


def test_it_belongs_to_its_organization_only(admin, outsider, client_for):
    account = make_service_account(admin.organization)
    with pytest.raises(org_services.MembershipError):
        org_services.add_member(outsider.organization, account.user.email, Role.OWNER)
    # Even if it got in elsewhere (by hand), that organization can't reach it.
    Membership.objects.create(user=account.user, organization=outsider.organization)
    client = client_for(outsider)
    assert client.get(page_of(account).replace("acme", "globex")).status_code == 404
    assert client.post(page_of(account).replace("acme", "globex") + "delete/").status_code == 404
    assert ServiceAccount.objects.get().deleted_at is None


def test_a_members_name_is_not_a_service_accounts(admin, member, client_for):
    response = client_for(admin).post(
        "/o/acme/service-accounts/create/", {"name": "mia member", "role": Role.ADMIN}
    )
    assert response.status_code == 400 and "is the name of a member" in response.text
    assert not ServiceAccount.objects.exists()


def test_its_address_is_never_shown_nor_mailed(
    admin, member, client_for, client, mailoutbox, django_capture_on_commit_callbacks
):
    from organizations import scopes

    account = make_service_account(admin.organization, "Janitor", Role.ADMIN)
    key = make_service_key(account, admin, scopes=scopes.DEFAULT | {scopes.ORG_ADMIN})
    mias = ApiKeyFactory(membership=member, name="Mia's")
    assert me(client, key).json()["user_email"] == ""
    listed = client.get("/api/v1/organization/keys", HTTP_X_API_KEY=key.plaintext).json()
    janitors = [item for item in listed["items"] if item["created_by"]["service_account"]]
    assert janitors and all(item["created_by"]["email"] == "" for item in janitors)
    with django_capture_on_commit_callbacks(execute=True):
        revoked = client.post(
            f"/api/v1/organization/keys/{mias.pk}/revoke", HTTP_X_API_KEY=key.plaintext
        )
    assert revoked.status_code == 204
    [told] = mailoutbox
    assert "The service account Janitor revoked your API key" in told.body
    assert ".invalid" not in told.body
    log = client_for(admin).get("/o/acme/audit/").text
    assert "Service account" in log and ".invalid" not in log
    # No mail goes to its address: a password reset, an invitation.
    mailoutbox.clear()
    client.post("/accounts/password/reset/", {"email": account.user.email})
    assert mailoutbox == []
    invited = client_for(admin).post(
        "/o/acme/members/invite/", {"email": account.user.email, "role": Role.MEMBER}
    )
    assert invited.status_code == 400 and mailoutbox == []


def test_a_huge_id_is_a_404(admin, client_for):
    huge = "/o/acme/service-accounts/99999999999999999999/"
    assert client_for(admin).get(huge).status_code == 404
    assert client_for(admin).post(huge + "delete/").status_code == 404


def test_disabled_it_gets_no_new_key_or_secret(admin, client_for):
    account = make_service_account(admin.organization)
    key = make_service_key(account, admin)
    service_accounts.disable(account.user.service_account)
    client = client_for(admin)
    made = client.post(page_of(account) + "keys/create/", {"name": "More"})
    rolled = client.post(page_of(account) + f"keys/{key.pk}/roll/")
    assert made.status_code == rolled.status_code == 400
    assert "Enable it first" in made.text
    assert ApiKey.objects.count() == 1 and ApiKey.objects.get().revoked_at is None


def test_an_empty_post_is_a_400(admin, client_for):
    response = client_for(admin).post(
        "/o/acme/service-accounts/create/", "{}", content_type="application/json"
    )
    assert response.status_code == 400
    assert not ServiceAccount.objects.exists()
