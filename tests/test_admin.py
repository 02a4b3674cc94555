"""Django admin goes through the same services as the console (issue 29, item by item;
tests/test_admin_inventory.py holds every admin page to no secret)."""

import pytest
from allauth.mfa.models import Authenticator
from django.db.models import ProtectedError
from django.test import Client

from apikeys import services as key_services
from apikeys.models import ApiKey, RevokeReason
from organizations import services as org_services
from organizations.models import (
    AuditAction,
    AuditEvent,
    Invitation,
    Membership,
    Organization,
    Role,
    User,
)

from .factories import (
    ApiKeyFactory,
    InvitationFactory,
    MembershipFactory,
    UserFactory,
    give_second_factor,
    make_service_account,
)
from .oauth.grants import make_grant
from .sessions import sign_in


@pytest.fixture
def operator(db):
    """An operator as production wants one: staff with a second factor."""
    user = UserFactory(email="ops@genesis.test", name="Olga Ops", is_staff=True, is_superuser=True)
    give_second_factor(user)
    return user


@pytest.fixture
def ops(client, operator):
    return sign_in(client, operator)


def act(ops, user, action, reason="Asked by their manager, ticket 4711", **extra):
    return ops.post(
        f"/admin/organizations/user/{user.pk}/act/{action}/", {"reason": reason, **extra}
    )


def person_events(action):
    return AuditEvent.objects.filter(action=action, organization=None)


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/organizations/user/",
        "/admin/organizations/user/add/",
        "/admin/organizations/organization/",
        "/admin/organizations/organization/add/",
        "/admin/apikeys/apikey/",
        "/admin/organizations/invitation/",
        "/admin/organizations/auditevent/",
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
    from organizations.models import ServiceAccount

    from .factories import make_service_key

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
    assert AuditEvent.objects.filter(action=AuditAction.KEY_REVOKED, actor=operator).count() == 2


def inline_data(org, memberships, changes, **fields):
    data = {
        "name": org.name,
        "max_key_lifetime_days": org.max_key_lifetime_days or "",
        "memberships-TOTAL_FORMS": str(len(memberships)),
        "memberships-INITIAL_FORMS": str(len(memberships)),
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        **fields,
    }
    if org.require_two_factor:
        data["require_two_factor"] = "on"
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


def test_removing_a_membership_inline_revokes_keys(ops, operator, owner, member, make_key):
    key = make_key(member)
    org = owner.organization
    data = inline_data(org, [owner, member], {member.pk: {"DELETE": "on"}})
    response = ops.post(f"/admin/organizations/organization/{org.pk}/change/", data)
    assert response.status_code == 302, response.text
    assert not Membership.objects.filter(pk=member.pk).exists()
    assert key_services.authenticate(key.plaintext) is None
    removed = AuditEvent.objects.get(action=AuditAction.MEMBER_REMOVED)
    assert removed.actor == operator


def test_the_last_owner_rule_holds_in_admin(ops, owner, member):
    org = owner.organization
    data = inline_data(org, [owner, member], {owner.pk: {"role": Role.MEMBER}})
    response = ops.post(f"/admin/organizations/organization/{org.pk}/change/", data, follow=True)
    assert "at least one Owner" in response.text
    assert Membership.objects.get(pk=owner.pk).role == Role.OWNER


def test_removing_the_last_owner_inline_says_so_and_nothing_else(ops, owner, member):
    org = owner.organization
    data = inline_data(org, [owner, member], {owner.pk: {"DELETE": "on"}}, name="Acme Renamed")
    response = ops.post(f"/admin/organizations/organization/{org.pk}/change/", data, follow=True)
    assert response.status_code == 200
    assert "at least one Owner" in response.text
    assert "successfully" not in response.text
    assert Membership.objects.filter(pk=owner.pk).exists()
    assert Organization.objects.get(pk=org.pk).name == "Acme"  # nothing saved


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


def test_an_account_made_in_admin_signs_in_and_is_logged(ops, operator, client):
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
    created = person_events(AuditAction.ACCOUNT_CREATED).get()
    assert created.actor == operator and created.target == "new.person@example.com"


def test_an_account_for_an_address_in_use_is_refused_whatever_its_case(ops, member):
    response = ops.post(
        "/admin/organizations/user/add/",
        {
            "email": "MEMBER@acme.test",
            "name": "Twin",
            "password1": "a long passphrase 2026",
            "password2": "a long passphrase 2026",
            "usable_password": "true",
        },
    )
    assert response.status_code == 200
    assert "Another account uses member@acme.test" in response.text
    assert User.objects.filter(email__iexact="member@acme.test").count() == 1


# 1. Second factors: never shown, never edited; one audited reset.


@pytest.fixture
def second_factors(member):
    totp = Authenticator.objects.create(
        user=member.user, type="totp", data={"secret": "TOTPSECRETNEVERSHOWN"}
    )
    codes = Authenticator.objects.create(
        user=member.user,
        type="recovery_codes",
        data={"seed": "recoveryseedneversh0wn", "used_mask": 0},
    )
    return totp, codes


def test_no_second_factor_secret_is_shown_or_editable(ops, member, second_factors):
    totp, codes = second_factors
    pages = [ops.get("/admin/mfa/authenticator/")] + [
        ops.get(f"/admin/mfa/authenticator/{factor.pk}/change/") for factor in (totp, codes)
    ]
    for page in pages:
        assert page.status_code == 200
        assert "TOTPSECRETNEVERSHOWN" not in page.text
        assert "recoveryseedneversh0wn" not in page.text
        assert 'name="data"' not in page.text and 'name="_save"' not in page.text
    assert "TOTP Authenticator" in pages[1].text  # the type, the dates

    forged = ops.post(
        f"/admin/mfa/authenticator/{totp.pk}/change/",
        {"user": member.user_id, "type": "totp", "data": '{"secret": "CHOSEN"}'},
    )
    assert forged.status_code == 403
    assert ops.get("/admin/mfa/authenticator/add/").status_code == 403
    totp.refresh_from_db()
    assert totp.data == {"secret": "TOTPSECRETNEVERSHOWN"}


def test_an_operator_resets_two_factor_as_allauth_deactivates_it(
    ops, operator, member, second_factors
):
    page = ops.get(f"/admin/organizations/user/{member.user_id}/act/reset-two-factor/")
    assert page.status_code == 200 and "Reason" in page.text

    assert act(ops, member.user, "reset-two-factor").status_code == 302
    assert not Authenticator.objects.filter(user=member.user).exists()
    reset = person_events(AuditAction.TWO_FACTOR_RESET).get()
    assert reset.actor == operator and reset.target_user == member.user
    assert reset.details == {
        "reason": "Asked by their manager, ticket 4711",
        "methods": ["recovery_codes", "totp"],
    }
    # allauth's signal: the organization's log says so, with the operator as actor.
    disabled = AuditEvent.objects.get(action=AuditAction.TWO_FACTOR_DISABLED)
    assert disabled.organization == member.organization and disabled.actor == operator


def test_a_reset_without_a_reason_changes_nothing(ops, member, second_factors):
    response = act(ops, member.user, "reset-two-factor", reason="  ")
    assert response.status_code == 400
    assert "This field is required" in response.text
    assert Authenticator.objects.filter(user=member.user).count() == 2


# 2. OAuth tokens, codes and client registrations: not in admin.


@pytest.mark.parametrize(
    "model", ["accesstoken", "refreshtoken", "grant", "idtoken", "application"]
)
def test_oauth_tokens_and_registrations_are_not_in_admin(ops, member, model):
    grant = make_grant(member)
    assert ops.get(f"/admin/oauth2_provider/{model}/").status_code == 404
    forged = ops.post(
        f"/admin/oauth2_provider/{model}/{grant.access_token_id}/change/",
        {"token_checksum": "0" * 64, "expires_0": "2030-01-01", "expires_1": "00:00:00"},
    )
    assert forged.status_code == 404


def test_authorized_apps_are_read_only_and_revoked_through_the_service(ops, operator, member):
    grant = make_grant(member)
    url = f"/admin/oauth/authorizedapp/{grant.pk}/change/"
    assert ops.post(url, {"scopes": "mcp:read mcp:write org:admin"}).status_code == 403
    ops.post(
        "/admin/oauth/authorizedapp/", {"action": "revoke_selected", "_selected_action": [grant.pk]}
    )
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert AuditEvent.objects.get(action=AuditAction.APP_REVOKED).actor == operator


# 3. Deleting a person: through the services, for anyone, with the trail kept.


def test_deleting_a_person_removes_them_everywhere_as_the_console_does(
    ops,
    operator,
    owner,
    member,
    other_org,
    make_key,
    second_factors,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    elsewhere = MembershipFactory(user=member.user, organization=other_org, role=Role.ADMIN)
    MembershipFactory(organization=other_org, role=Role.OWNER)
    keys = [make_key(member, "CI"), make_key(elsewhere, "Deploy")]
    grant = make_grant(member)  # an authorized app: no longer in the way
    key_services.delete_key(make_key(member, "Old"), member.user)  # Mia's own act
    earlier = AuditEvent.objects.filter(actor=member.user).count()
    assert earlier
    user_id = member.user_id

    with django_capture_on_commit_callbacks(execute=True):
        assert act(ops, member.user, "delete").status_code == 302

    assert mailoutbox == []  # nothing kept, or sent, at the address they had
    assert not Membership.objects.filter(user_id=user_id).exists()
    removed = AuditEvent.objects.filter(action=AuditAction.MEMBER_REMOVED, target_user_id=user_id)
    assert sorted(removed.values_list("organization__slug", "actor")) == [
        ("acme", operator.pk),
        ("globex", operator.pk),
    ]
    for key in keys:
        key.refresh_from_db()  # the row stays, revoked, and says why
        assert key.revoke_reason == RevokeReason.MEMBER_REMOVED
        assert key_services.authenticate(key.plaintext) is None
    assert AuditEvent.objects.filter(action=AuditAction.KEY_AUTO_REVOKED).count() == 2
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    person = User.objects.get(pk=user_id)  # anonymised, not gone
    assert person.deleted_at and not person.is_active and not person.has_usable_password()
    assert person.name == "" and "member@acme.test" not in person.email
    assert not Authenticator.objects.filter(user=person).exists()
    assert AuditEvent.objects.filter(actor=person).count() == earlier  # actors kept
    deleted = person_events(AuditAction.ACCOUNT_DELETED).get()
    assert (deleted.actor, deleted.target) == (operator, "member@acme.test")
    assert ops.get(f"/admin/organizations/user/{user_id}/change/").status_code == 200


def test_the_last_owner_is_deleted_only_once_replaced(ops, owner, member, make_key):
    key = make_key(owner)
    response = act(ops, owner.user, "delete")
    assert response.status_code == 400
    assert "Acme: An organization needs at least one Owner" in response.text
    assert Membership.objects.filter(pk=owner.pk).exists()
    assert key_services.authenticate(key.plaintext) is not None
    assert not person_events(AuditAction.ACCOUNT_DELETED).exists()

    org_services.change_role(member, Role.OWNER)
    assert act(ops, owner.user, "delete").status_code == 302
    assert User.objects.get(pk=owner.user_id).deleted_at is not None


def test_users_are_never_deleted_by_djangos_own_delete(ops, member):
    assert 'value="delete_selected"' not in ops.get("/admin/organizations/user/").text
    ops.post(
        "/admin/organizations/user/",
        {"action": "delete_selected", "_selected_action": [member.user_id], "post": "yes"},
    )
    deleted = ops.post(f"/admin/organizations/user/{member.user_id}/delete/", {"post": "yes"})
    assert deleted.status_code == 403
    assert User.objects.get(pk=member.user_id).deleted_at is None
    assert Membership.objects.filter(pk=member.pk).exists()


# 4. Organizations are closed, never deleted: their audit log outlives them.


def test_closing_an_organization_revokes_everything_and_keeps_its_log(
    ops, operator, team, make_key, client_for
):
    org = team["owner"].organization
    keys = [make_key(team["member"]), make_key(team["owner"])]
    account = make_service_account(org)
    invitation = InvitationFactory(organization=org)
    grant = make_grant(team["admin"])
    logged = AuditEvent.objects.filter(organization=org).count()

    response = ops.post(
        f"/admin/organizations/organization/{org.pk}/act/close/", {"reason": "Contract ended"}
    )
    assert response.status_code == 302

    org.refresh_from_db()
    assert org.closed_at is not None
    assert not Membership.objects.filter(organization=org).exists()
    for key in keys:
        assert key_services.authenticate(key.plaintext) is None
    assert not ApiKey.objects.filter(organization=org, revoked_at=None).exists()
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert Invitation.objects.get(pk=invitation.pk).revoked_at is not None
    account.user.refresh_from_db()
    assert not account.user.is_active
    assert AuditEvent.objects.filter(organization=org).count() > logged  # nothing lost
    closed = AuditEvent.objects.get(action=AuditAction.ORGANIZATION_CLOSED)
    assert (closed.organization, closed.actor) == (org, operator)
    assert closed.details == {"reason": "Contract ended"}
    assert client_for(team["owner"]).get("/o/acme/audit/").status_code == 404
    with pytest.raises(org_services.MembershipError):
        org_services.add_member(org, "admin@globex.test", Role.MEMBER)
    with pytest.raises(ProtectedError):  # not even the ORM erases its log
        org.delete()


def test_organizations_have_no_delete_in_admin(ops, org):
    assert ops.post(f"/admin/organizations/organization/{org.pk}/delete/").status_code == 403
    assert 'value="delete_selected"' not in ops.get("/admin/organizations/organization/").text
    assert Organization.objects.filter(pk=org.pk).exists()


def test_a_closed_organization_reopens_without_its_keys(ops, owner, make_key):
    key = make_key(owner)
    org = owner.organization
    ops.post(f"/admin/organizations/organization/{org.pk}/act/close/", {"reason": "By mistake"})
    ops.post(f"/admin/organizations/organization/{org.pk}/act/reopen/", {"reason": "By mistake"})
    org.refresh_from_db()
    assert org.closed_at is None
    assert key_services.authenticate(key.plaintext) is None
    assert AuditEvent.objects.filter(action=AuditAction.ORGANIZATION_REOPENED).exists()


def test_the_audit_log_migration_only_drops_not_null_on_postgresql():
    """Django's AlterField would drop and re-add the foreign key, checking every row of
    the log while writes to it wait."""
    from importlib import import_module

    migration = import_module("organizations.migrations.0007_operators")

    class PostgreSQL:
        vendor = "postgresql"

    class SchemaEditor:
        connection = PostgreSQL()
        statements = []

        def execute(self, sql, params=()):
            self.statements.append(sql)

    editor = SchemaEditor()
    # Inside the migration's Briefly group (infra.online_migrations) since 0.3.0.
    [operation] = [
        each
        for group in migration.Migration.operations
        for each in getattr(group, "operations", (group,))
        if isinstance(each, migration.AuditEventOrganizationNullable)
    ]
    operation.database_forwards("organizations", editor, None, None)
    assert editor.statements == [
        'ALTER TABLE "organizations_auditevent" ALTER COLUMN "organization_id" DROP NOT NULL'
    ]


# 5. The organization's policies change through their services, or not at all.


def test_policy_fields_change_only_through_the_services(ops, operator, owner):
    org = owner.organization
    url = f"/admin/organizations/organization/{org.pk}/change/"
    refused = ops.post(url, inline_data(org, [owner], {}, max_key_lifetime_days="5"))
    assert refused.status_code == 200 and "Select a valid choice" in refused.text
    org.refresh_from_db()
    assert org.max_key_lifetime_days is None

    changed = inline_data(
        org, [owner], {}, max_key_lifetime_days="30", require_two_factor="on", slug="evil"
    )
    changed |= {"created_at_0": "2000-01-01", "created_at_1": "00:00:00"}
    assert ops.post(url, changed).status_code == 302
    org.refresh_from_db()
    assert (org.max_key_lifetime_days, org.require_two_factor, org.slug) == (30, True, "acme")
    assert org.created_at.year != 2000
    policies = AuditEvent.objects.filter(action=AuditAction.POLICY_CHANGED, actor=operator)
    assert policies.count() == 2


def test_an_organization_made_in_admin_has_an_owner_and_is_logged(ops, operator, new_user):
    response = ops.post(
        "/admin/organizations/organization/add/",
        {
            "name": "Initech",
            "slug": "initech",
            "owner": "NINA@example.com",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.text
    org = Organization.objects.get(slug="initech")
    assert Membership.objects.get(organization=org).user == new_user
    assert Membership.objects.get(organization=org).role == Role.OWNER
    created = AuditEvent.objects.get(action=AuditAction.ORGANIZATION_CREATED)
    assert (created.organization, created.actor) == (org, operator)


# 6. One page per person, and lists that find things.


def test_the_person_page_has_everything_an_operator_needs(
    ops, member, other_org, make_key, second_factors
):
    MembershipFactory(user=member.user, organization=other_org, role=Role.ADMIN)
    key = make_key(member, "CI pipeline", scopes=frozenset({"api:read"}))
    key_services.revoke_key(make_key(member, "Old deploy"), None)
    make_grant(member, "Claude")
    page = ops.get(f"/admin/organizations/user/{member.user_id}/change/")
    assert page.status_code == 200
    text = page.text
    for shown in ("Acme", "Globex", "Member", "Admin"):  # organizations and roles
        assert shown in text
    for shown in ("CI pipeline", key.hint, "api:read", "Old deploy", "Revoked"):  # keys
        assert shown in text
    assert "Claude" in text  # authorized apps
    assert "TOTP Authenticator" in text and "Recovery codes" in text  # two-factor
    assert "API key created" in text  # recent audit events
    for action in ("Revoke every credential", "Suspend", "Reset two-factor", "Delete person"):
        assert action in text
    assert key.digest not in text and "TOTPSECRETNEVERSHOWN" not in text


def test_revoke_every_credential_asks_why_then_revokes_keys_apps_and_sessions(
    ops, operator, member, other_org, make_key, mailoutbox, django_capture_on_commit_callbacks
):
    elsewhere = MembershipFactory(user=member.user, organization=other_org)
    keys = [make_key(member, "CI"), make_key(elsewhere, "Deploy")]
    grant = make_grant(member)
    assert act(ops, member.user, "revoke-credentials", reason="").status_code == 400
    assert key_services.authenticate(keys[0].plaintext) is not None

    with django_capture_on_commit_callbacks(execute=True):
        assert act(ops, member.user, "revoke-credentials").status_code == 302
    for key in keys:
        assert key_services.authenticate(key.plaintext) is None
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    event = person_events(AuditAction.CREDENTIALS_REVOKED).get()
    assert event.actor == operator and event.details["keys"] == 2
    assert event.details["reason"] == "Asked by their manager, ticket 4711"
    [mail] = mailoutbox  # one email, both keys
    assert keys[0].hint in mail.body and keys[1].hint in mail.body
    assert Membership.objects.filter(user=member.user).count() == 2  # still a member


def test_suspend_then_reactivate_a_person(ops, operator, member, make_key):
    key = make_key(member)
    assert act(ops, member.user, "suspend").status_code == 302
    member.user.refresh_from_db()
    assert not member.user.is_active
    assert key_services.authenticate(key.plaintext) is None
    assert person_events(AuditAction.ACCOUNT_SUSPENDED).get().actor == operator
    page = ops.get(f"/admin/organizations/user/{member.user_id}/change/").text
    assert "Suspended" in page and "Reactivate" in page

    assert act(ops, member.user, "reactivate").status_code == 302
    member.user.refresh_from_db()
    assert member.user.is_active
    assert key_services.authenticate(key.plaintext) is None  # nothing comes back
    assert person_events(AuditAction.ACCOUNT_REACTIVATED).exists()


def test_service_accounts_are_not_suspended_or_deleted_as_people(ops, admin):
    account = make_service_account(admin.organization)
    response = act(ops, account.user, "delete")
    assert response.status_code == 400 and "service account" in response.text
    assert Membership.objects.filter(user=account.user).exists()


def rows(action, page) -> int:
    return page.count(f'<td class="field-action">{action}</td>')


def test_the_audit_log_filters_by_date_actor_and_person(ops, operator, owner, member, make_key):
    ops.logout()
    client = sign_in(Client(), member.user)
    client.post("/o/acme/api-keys/create/", {"name": "Mine"})  # Mia acts
    sign_in(ops, operator)
    org_services.change_role(member, Role.ADMIN)  # no actor: the system
    AuditEvent.objects.filter(action=AuditAction.ROLE_CHANGED).update(
        created_at="2025-03-01T12:00:00Z"
    )
    base = "/admin/organizations/auditevent/"
    by_person = ops.get(base, {"person": "member@acme"}).text
    assert rows("API key created", by_person) and rows("Role changed", by_person)
    by_actor = ops.get(base, {"actor_is": "member@acme"}).text
    assert rows("API key created", by_actor) and not rows("Role changed", by_actor)
    in_march = ops.get(base, {"created_at__year": "2025", "created_at__month": "3"}).text
    assert rows("Role changed", in_march) and not rows("API key created", in_march)
    assert 'name="person"' in ops.get(base).text  # a box to type into


def test_the_key_list_shows_expiry_and_scopes(ops, member, make_key):
    from datetime import timedelta

    from django.utils import timezone

    make_key(member, scopes=frozenset({"mcp:read"}), expires_at=timezone.now() + timedelta(days=9))
    page = ops.get("/admin/apikeys/apikey/").text
    assert "column-expires_at" in page and "column-scopes" in page
    assert "mcp:read" in page


@pytest.mark.parametrize(
    ("url", "budget"),
    [
        # Measured with 1 and with 40 rows of each: 6, 7, 9, 7, 6 and 6 either way.
        ("/admin/organizations/user/", 7),
        ("/admin/apikeys/apikey/", 8),
        ("/admin/organizations/auditevent/", 10),
        ("/admin/oauth/authorizedapp/", 8),
        ("/admin/organizations/organization/", 7),
        ("/admin/mfa/authenticator/", 7),
    ],
)
def test_lists_cost_the_same_queries_at_any_length(
    ops, member, url, budget, django_assert_max_num_queries
):
    for index in range(30):
        person = MembershipFactory(organization=member.organization)
        ApiKeyFactory(membership=person, name=f"Key {index}")
        make_grant(person)
        give_second_factor(person.user)
    with django_assert_max_num_queries(budget):
        assert ops.get(url).status_code == 200


def test_the_person_page_costs_the_same_queries_at_any_size(
    ops, member, make_key, django_assert_max_num_queries
):
    for index in range(60):
        make_key(member, f"Key {index}")
        make_grant(member)
    with django_assert_max_num_queries(17):  # measured: 16 with one key, 15 with 60
        assert ops.get(f"/admin/organizations/user/{member.user_id}/change/").status_code == 200


# 7. One email per person, listing the keys.


def test_revoking_many_keys_of_one_person_sends_one_email(
    ops, member, make_key, mailoutbox, django_capture_on_commit_callbacks
):
    keys = [make_key(member, f"Runner {index}") for index in range(30)]
    with django_capture_on_commit_callbacks(execute=True):
        ops.post(
            "/admin/apikeys/apikey/",
            {"action": "revoke_selected", "_selected_action": [key.pk for key in keys]},
        )
    [mail] = mailoutbox
    assert mail.to == ["member@acme.test"]
    assert all(f"Runner {index} ({keys[index].hint})" in mail.body for index in range(30))
    assert "Olga Ops (ops@genesis.test) revoked these API keys" in mail.body


def test_the_email_listing_keys_is_in_the_persons_language(
    ops, member, make_key, mailoutbox, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=member.user_id).update(language="ja")
    keys = [make_key(member, "一"), make_key(member, "二")]
    with django_capture_on_commit_callbacks(execute=True):
        ops.post(
            "/admin/apikeys/apikey/",
            {"action": "revoke_selected", "_selected_action": [key.pk for key in keys]},
        )
    [mail] = mailoutbox
    assert mail.subject == "API キーが失効しました"
    assert "Mia Member 様" in mail.body and "一 (" in mail.body


# 8. Staff: two-factor and a recent sign-in; what operators do to people is logged.


def test_staff_without_two_factor_are_sent_to_set_it_up(client, db):
    staff = UserFactory(is_staff=True, is_superuser=True)
    sign_in(client, staff)
    response = client.get("/admin/organizations/user/")
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/"
    page = client.get("/accounts/2fa/").text
    assert "Django admin needs two-factor authentication" in page


def test_it_is_on_by_default_in_production(settings):
    assert settings.ADMIN_REQUIRE_TWO_FACTOR  # the tests run production settings


def test_without_the_setting_staff_get_in_as_before(client, db, settings):
    settings.ADMIN_REQUIRE_TWO_FACTOR = False
    sign_in(client, UserFactory(is_staff=True, is_superuser=True), minutes_ago=600)
    assert client.get("/admin/").status_code == 200


def test_admin_asks_for_a_recent_sign_in(client, operator, member):
    sign_in(client, operator, minutes_ago=90)
    stale = client.get("/admin/")
    assert stale.status_code == 302 and "/reauthenticate/" in stale["Location"]

    sign_in(client, operator, minutes_ago=10)  # fine for reading, not for a change
    assert client.get("/admin/").status_code == 200
    change = act(client, member.user, "suspend")
    assert change.status_code == 302 and "/reauthenticate/" in change["Location"]
    member.user.refresh_from_db()
    assert member.user.is_active


def test_the_console_sign_in_guards_admin(client, member):
    anonymous = client.get("/admin/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/")
    assert client.get("/admin/login/")["Location"].startswith("/accounts/login/")
    sign_in(client, member.user)
    assert client.get("/admin/login/").status_code == 403  # not staff


def test_granting_and_removing_staff_is_in_the_operators_log(ops, operator, member):
    url = f"/admin/organizations/user/{member.user_id}/change/"
    data = {"email": "member@acme.test", "is_staff": "on"}
    assert ops.post(url, data).status_code == 302
    granted = person_events(AuditAction.STAFF_GRANTED).get()
    assert (granted.actor, granted.target_user) == (operator, member.user)
    assert granted.details["to"] == {"staff": True, "superuser": False}
    ops.post(url, {"email": "member@acme.test"})
    assert person_events(AuditAction.STAFF_REMOVED).get().actor == operator
    member.user.refresh_from_db()
    assert not member.user.is_staff


def test_an_email_change_by_an_operator_is_logged_and_signs_in(ops, operator, member):
    url = f"/admin/organizations/user/{member.user_id}/change/"
    assert ops.post(url, {"email": "Mia@New.Example"}).status_code == 302
    changed = person_events(AuditAction.EMAIL_CHANGED).get()
    assert changed.details == {"from": "member@acme.test", "to": "mia@new.example"}
    assert changed.actor == operator
    signed_in = Client().post(
        "/accounts/login/", {"login": "mia@new.example", "password": "correct horse battery staple"}
    )
    assert signed_in.status_code == 302


def test_an_email_taken_by_someone_else_is_refused(ops, owner, member):
    url = f"/admin/organizations/user/{member.user_id}/change/"
    response = ops.post(url, {"email": "Owner@Acme.test"})
    assert response.status_code == 200  # the form again, with why
    assert "Another account uses owner@acme.test" in response.text
    assert "successfully" not in response.text
    member.user.refresh_from_db()
    assert member.user.email == "member@acme.test"
    assert not person_events(AuditAction.EMAIL_CHANGED).exists()


def test_a_password_set_by_an_operator_is_logged(ops, operator, member):
    url = f"/admin/organizations/user/{member.user_id}/password/"
    response = ops.post(
        url,
        {"password1": "another long phrase 77", "password2": "another long phrase 77"},
    )
    assert response.status_code == 302
    member.user.refresh_from_db()
    assert member.user.check_password("another long phrase 77")
    event = person_events(AuditAction.PASSWORD_SET).get()
    assert (event.actor, event.details) == (operator, {"usable": True})


# 9. The small things.


def test_read_only_pages_offer_neither_save_nor_delete(ops, member, make_key):
    key = make_key(member)
    grant = make_grant(member)
    for url in (
        f"/admin/apikeys/apikey/{key.pk}/change/",
        f"/admin/oauth/authorizedapp/{grant.pk}/change/",
        f"/admin/organizations/auditevent/{AuditEvent.objects.first().pk}/change/",
    ):
        page = ops.get(url).text
        assert 'name="_save"' not in page and "deletelink" not in page, url


def test_a_refusal_in_admin_does_not_send_an_operator_to_an_admin_or_owner(ops, member, make_key):
    key = make_key(member)
    refused = ops.post(f"/admin/apikeys/apikey/{key.pk}/delete/", {"post": "yes"})
    assert refused.status_code == 403
    assert "Ask an Admin or Owner" not in refused.text
    assert "Django admin doesn't do this here" in refused.text


def test_a_revoked_key_says_so_once(ops, member, make_key):
    key_services.revoke_key(make_key(member), None)
    page = ops.get("/admin/apikeys/apikey/").text
    assert "Revoked (Revoked)" not in page
    assert '<td class="field-state">Revoked</td>' in page


def test_the_members_inline_names_a_service_account_not_its_address(ops, admin):
    account = make_service_account(admin.organization, "Deploy bot")
    page = ops.get(f"/admin/organizations/organization/{admin.organization_id}/change/").text
    assert "Deploy bot (service account)" in page
    assert account.user.email not in page


@pytest.mark.parametrize(
    "url",
    [
        "/admin/usersessions/usersession/",
        "/admin/auth/group/",
        "/admin/post_office/emailtemplate/",
        "/admin/post_office/attachment/",
    ],
)
def test_third_party_admins_with_nothing_for_operators_are_gone(ops, url):
    assert ops.get(url).status_code == 404


def test_addresses_and_emails_are_read_only(ops, member):
    from allauth.account.models import EmailAddress
    from post_office import mail

    address = EmailAddress.objects.get(user=member.user)
    EmailAddress.objects.filter(pk=address.pk).update(verified=False)
    assert ops.get("/admin/account/emailaddress/add/").status_code == 403
    assert "make_verified" not in ops.get("/admin/account/emailaddress/").text
    ops.post(
        "/admin/account/emailaddress/",
        {"action": "make_verified", "_selected_action": [address.pk]},
    )
    assert not EmailAddress.objects.get(pk=address.pk).verified
    email = mail.send("someone@example.com", "ops@example.com", subject="Hi", message="Hello")
    url = f"/admin/post_office/email/{email.pk}/"
    assert ops.post(f"{url}change/", {"to": "x@y.z"}).status_code == 403
    ops.get(f"{url}resend/", follow=True)  # post_office's own page: not here
    assert type(email).objects.get(pk=email.pk).status == email.status  # not sent again


def test_a_deleted_persons_past_actions_show_no_name(ops, owner, member, make_key, client_for):
    key_services.delete_key(make_key(member), member.user)  # "API key deleted", by Mia
    act(ops, member.user, "delete")
    owners = client_for(owner)
    page = owners.get("/o/acme/audit/").text
    assert "Deleted person" in page and "Mia Member" not in page
    exported = b"".join(owners.get("/o/acme/audit/export.csv").streaming_content).decode()
    assert "Deleted person" in exported and "Mia Member" not in exported
    # The operators' own log is theirs: not an organization's filter.
    assert 'value="account_deleted"' not in page and 'value="member_removed"' in page


# Bad input: a clear answer, never a 500.


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/admin/organizations/user/99999999999999999999/act/suspend/", 404),
        ("/admin/organizations/user/abc/act/suspend/", 404),
        ("/admin/organizations/organization/1/act/delete-everything/", 404),
        ("/admin/organizations/auditevent/?person=%00member", 200),
        ("/admin/organizations/auditevent/?actor_is=" + "x" * 5000, 200),
    ],
)
def test_bad_addresses_and_filters_get_a_clear_answer(ops, member, make_key, url, status):
    make_key(member)
    response = ops.get(url)
    assert response.status_code == status
    if status == 200:  # matches nothing (PostgreSQL would refuse a NUL in the query)
        assert response.context["cl"].result_count == 0


def test_an_overlong_reason_is_refused(ops, member):
    response = act(ops, member.user, "suspend", reason="x" * 501)
    assert response.status_code == 400
    assert "at most 500 characters" in response.text
    member.user.refresh_from_db()
    assert member.user.is_active


def test_a_change_asked_on_a_stale_sign_in_carries_on_after_the_password(client, operator, member):
    from .factories import PASSWORD

    sign_in(client, operator, minutes_ago=10)
    asked = act(client, member.user, "suspend", reason="Phished")
    assert asked.status_code == 302 and "/reauthenticate/" in asked["Location"]
    done = client.post(asked["Location"], {"password": PASSWORD})
    assert done.status_code == 302
    assert done["Location"] == f"/admin/organizations/user/{member.user_id}/change/"
    member.user.refresh_from_db()
    assert not member.user.is_active
    assert person_events(AuditAction.ACCOUNT_SUSPENDED).get().details == {"reason": "Phished"}


def test_an_operators_own_password_is_changed_as_in_the_console(ops):
    response = ops.get("/admin/password_change/")
    assert response.status_code == 302 and response["Location"] == "/accounts/password/change/"


def test_a_service_accounts_address_stays_its_own(ops, admin):
    account = make_service_account(admin.organization)
    url = f"/admin/organizations/user/{account.user_id}/change/"
    response = ops.post(url, {"email": "bot@example.com", "is_staff": "on"})
    assert response.status_code == 200 and "is a service account" in response.text
    account.user.refresh_from_db()
    assert account.user.email.endswith(".invalid")


@pytest.mark.parametrize("action", ["suspend", "reset-two-factor", "delete"])
def test_an_operator_does_not_lock_themselves_out(ops, operator, action):
    response = act(ops, operator, action)
    assert response.status_code == 400
    assert "Another operator does this to your own account" in response.text
    operator.refresh_from_db()
    assert operator.is_active and operator.deleted_at is None
    assert Authenticator.objects.filter(user=operator).exists()
