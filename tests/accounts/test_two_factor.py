"""Two-factor: turning on an authenticator app (codes computed in the test), signing in
with it, the organization policy that holds back key creation until a member has it,
who has it on the Members page, and the audit log."""

import re

import pytest
from allauth.mfa.models import Authenticator
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apikeys.models import ApiKey
from organizations.models import AuditAction, AuditEvent, Organization

from .. import totp
from ..factories import PASSWORD, MembershipFactory


def enrol_totp(client, password=PASSWORD) -> str:
    """Turn on an authenticator app through allauth's pages; returns the secret."""
    asked = client.get("/accounts/2fa/totp/activate/")
    if asked.status_code == 302 and "reauthenticate" in asked["Location"]:
        # allauth asks for the password before adding a factor.
        client.post(asked["Location"], {"password": password})
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = client.session["mfa.totp.secret"]
    assert secret in page.text  # shown for typing into the app, beside the QR code
    done = client.post("/accounts/2fa/totp/activate/", {"code": totp.code(secret)})
    assert done.status_code == 302, done.content
    return secret


def test_a_member_turns_on_an_authenticator_app_and_it_is_logged(
    member, client_for, django_capture_on_commit_callbacks
):
    client = client_for(member)
    with django_capture_on_commit_callbacks(execute=True):  # allauth signals on commit
        enrol_totp(client)
    assert Authenticator.objects.filter(user=member.user, type="totp").exists()
    event = AuditEvent.objects.get(action=AuditAction.TWO_FACTOR_ENABLED)
    assert event.organization == member.organization and event.target_user == member.user
    assert event.details == {"method": "totp"}
    # Recovery codes to go with it.
    assert Authenticator.objects.filter(user=member.user, type="recovery_codes").exists()
    assert "Recovery codes" in client.get("/accounts/2fa/").text


def test_a_wrong_code_turns_nothing_on(member, client_for):
    client = client_for(member)
    client.post(client.get("/accounts/2fa/totp/activate/")["Location"], {"password": PASSWORD})
    client.get("/accounts/2fa/totp/activate/")
    response = client.post("/accounts/2fa/totp/activate/", {"code": "000000"})
    assert response.status_code == 200
    assert "Incorrect code" in response.text
    assert not Authenticator.objects.filter(user=member.user).exists()


def test_sign_in_asks_for_the_code(member, client, client_for):
    secret = enrol_totp(client_for(member))
    cache.clear()  # each code works once
    first = client.post("/accounts/login/", {"login": "member@acme.test", "password": PASSWORD})
    assert first["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/o/acme/api-keys/").status_code == 302  # not signed in yet
    wrong = client.post("/accounts/2fa/authenticate/", {"code": "123456"})
    assert wrong.status_code == 200
    done = client.post("/accounts/2fa/authenticate/", {"code": totp.code(secret)})
    assert done.status_code == 302
    assert client.get("/o/acme/api-keys/").status_code == 200


def test_turning_it_off_is_logged(member, client_for):
    client = client_for(member)
    enrol_totp(client)
    off = client.post("/accounts/2fa/totp/deactivate/")
    assert off.status_code == 302
    assert not Authenticator.objects.filter(user=member.user, type="totp").exists()
    assert AuditEvent.objects.filter(action=AuditAction.TWO_FACTOR_DISABLED).count() == 1


@pytest.fixture
def required(org):
    Organization.objects.filter(pk=org.pk).update(require_two_factor=True)
    return org


def test_the_policy_holds_back_new_keys_until_the_member_enrols(required, member, client_for):
    client = client_for(member)
    page = client.get("/o/acme/api-keys/")
    assert "Acme requires two-factor authentication" in page.text
    for response, status in (
        (client.get("/o/acme/api-keys/create/"), 200),
        (client.get("/o/acme/api-keys/create/", HTTP_HX_REQUEST="true"), 200),
        (client.post("/o/acme/api-keys/create/", {"name": "Deploy"}), 403),
    ):
        assert response.status_code == status
        assert "Turn on two-factor authentication first" in response.text
    assert not ApiKey.objects.exists()
    enrol_totp(client)
    assert "requires two-factor" not in client.get("/o/acme/api-keys/").text
    created = client.post("/o/acme/api-keys/create/", {"name": "Deploy"})
    assert created.status_code == 200
    assert ApiKey.objects.get().name == "Deploy"


def test_the_policy_holds_back_rolling_but_keys_keep_working(
    org, member, client_for, make_key, http
):
    key = make_key(member)
    Organization.objects.filter(pk=org.pk).update(require_two_factor=True)
    client = client_for(member)
    assert client.post(f"/o/acme/api-keys/{key.pk}/roll/").status_code == 403
    assert "Turn on two-factor" in client.get(f"/o/acme/api-keys/{key.pk}/roll/").text
    assert ApiKey.objects.active().get().pk == key.pk
    assert http.get("/api/v1/me", headers={"x-api-key": key.plaintext}).status_code == 200


def test_no_banner_where_the_policy_is_off(member, client_for):
    assert "requires two-factor" not in client_for(member).get("/o/acme/api-keys/").text


def test_owners_turn_the_policy_on_and_off_and_it_is_logged(owner, member, client_for):
    client = client_for(owner)
    page = client.get("/o/acme/settings/")
    assert "2 members haven&#x27;t turned on two-factor" in page.text or (
        "2 members haven't turned on two-factor" in page.text
    )
    # (The Owner has no second factor: they say so to be asked no more.)
    client.post("/o/acme/settings/two-factor/", {"require_two_factor": "on", "confirmed": "on"})
    assert Organization.objects.get(slug="acme").require_two_factor
    client.post("/o/acme/settings/two-factor/", {})
    assert not Organization.objects.get(slug="acme").require_two_factor
    events = AuditEvent.objects.filter(action=AuditAction.POLICY_CHANGED).order_by("id")
    assert [event.details["to"] for event in events] == [True, False]
    log = client.get("/o/acme/audit/").text
    assert "two-factor required" in log and "two-factor not required" in log


@pytest.mark.parametrize(
    ("role", "status"),
    [("admin", 403), ("member", 403), ("outsider", 404), ("anonymous", 302)],
)
def test_only_owners_change_the_policy(team, client_for, role, status):
    client = client_for(None if role == "anonymous" else team[role])
    response = client.post("/o/acme/settings/two-factor/", {"require_two_factor": "on"})
    assert response.status_code == status
    assert not Organization.objects.get(slug="acme").require_two_factor
    assert not AuditEvent.objects.filter(action=AuditAction.POLICY_CHANGED).exists()


def test_the_members_page_shows_admins_who_has_two_factor(team, client_for):
    Authenticator.objects.create(user=team["member"].user, type="totp", data={"secret": "X"})
    page = client_for(team["admin"]).get("/o/acme/members/").text
    row = re.search(rf'<tr id="member-{team["member"].pk}">.*?</tr>', page, re.S).group(0)
    assert ">On<" in row
    row = re.search(rf'<tr id="member-{team["owner"].pk}">.*?</tr>', page, re.S).group(0)
    assert ">Off<" in row
    assert "Two-factor" not in client_for(team["member"]).get("/o/acme/members/").text


def test_the_two_factor_column_costs_no_query_per_member(owner, client_for):
    client = client_for(owner)
    client.get("/o/acme/members/")
    with CaptureQueriesContext(connection) as few:
        client.get("/o/acme/members/")
    for membership in MembershipFactory.create_batch(5, organization=owner.organization):
        Authenticator.objects.create(user=membership.user, type="totp", data={"secret": "X"})
    with CaptureQueriesContext(connection) as many:
        client.get("/o/acme/members/")
    assert len(few) == len(many)


def test_a_passkey_turned_on_and_off_is_logged_too(member, rf):
    from allauth.mfa.signals import authenticator_added, authenticator_removed

    passkey = Authenticator.objects.create(
        user=member.user, type=Authenticator.Type.WEBAUTHN, data={"name": "Laptop"}
    )
    request = rf.post("/accounts/2fa/webauthn/add/")
    authenticator_added.send(
        Authenticator, request=request, user=member.user, authenticator=passkey
    )
    authenticator_removed.send(
        Authenticator, request=request, user=member.user, authenticator=passkey
    )
    events = AuditEvent.objects.filter(organization=member.organization).order_by("id")
    assert [(event.action, event.summary()) for event in events] == [
        (AuditAction.TWO_FACTOR_ENABLED, "passkey"),
        (AuditAction.TWO_FACTOR_DISABLED, "passkey"),
    ]


def test_settings_count_people_without_two_factor_and_link_to_who(owner, admin, client_for):
    from ..factories import make_service_account

    Authenticator.objects.create(user=admin.user, type="totp", data={"secret": "X"})
    make_service_account(owner.organization, "Deploy bot")  # never signs in: not counted
    client = client_for(owner)
    page = client.get("/o/acme/settings/").text
    assert "1 member hasn" in page and "turned on two-factor authentication." in page
    assert 'href="/o/acme/members/?two_factor=off">See who</a>' in page
    who = client.get("/o/acme/members/?two_factor=off").text
    assert "1 member without two-factor authentication" in who
    assert f'id="member-{owner.pk}"' in who and f'id="member-{admin.pk}"' not in who
    assert "Deploy bot" in who  # its own list, below, is unfiltered
    # A Member sees everyone (the filter is about two-factor, an Admin's column).
    assert "2 members" in client_for(admin).get("/o/acme/members/").text


def test_an_owner_without_two_factor_is_warned_before_requiring_it(owner, client_for):
    client = client_for(owner)
    asked = client.post("/o/acme/settings/two-factor/", {"require_two_factor": "on"})
    assert asked.status_code == 200
    assert "You haven't turned on two-factor authentication yourself" in asked.text
    assert "Require it anyway" in asked.text
    assert not Organization.objects.get(slug="acme").require_two_factor
    confirmed = client.post(
        "/o/acme/settings/two-factor/", {"require_two_factor": "on", "confirmed": "on"}
    )
    assert confirmed.status_code == 302
    assert Organization.objects.get(slug="acme").require_two_factor


def test_an_owner_with_two_factor_is_not_asked(owner, client_for):
    Authenticator.objects.create(user=owner.user, type="totp", data={"secret": "X"})
    saved = client_for(owner).post("/o/acme/settings/two-factor/", {"require_two_factor": "on"})
    assert saved.status_code == 302
    assert Organization.objects.get(slug="acme").require_two_factor


def test_recovery_codes_are_kept_first_and_new_ones_made_apart(member, client_for):
    client = client_for(member)
    enrol_totp(client)
    page = client.get("/accounts/2fa/recovery-codes/").text
    download = re.search(r'<a class="([^"]+)" href="/accounts/2fa/recovery-codes/download/"', page)
    generate = re.search(r'<a class="([^"]+)" href="/accounts/2fa/recovery-codes/generate/"', page)
    assert download.group(1) == "button"  # the main action
    assert generate.group(1) == "button button--secondary"
    # Apart, after a heading that says what it is for, and what it does to these codes.
    apart = page[download.end() : generate.start()]
    assert "Lost them, or used them up?" in apart and "the old ones stop working" in apart
    assert 'href="/" data-back-to-console>Back to the console</a>' in page
