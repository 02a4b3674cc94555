"""A fresh sign-in before making or rolling a key and before revoking someone else's:
after ACCOUNT_REAUTHENTICATION_TIMEOUT the password is asked again, then the action goes
on with what was typed (allauth stashes and replays the POST; accounts.middleware makes
that work for htmx)."""

import json
import re
import time
from urllib.parse import parse_qs, urlparse

import pytest

from apikeys.models import ApiKey
from organizations.models import Membership

from ..factories import PASSWORD, ApiKeyFactory, make_service_account

KEY = re.compile(r"gns_[0-9A-Za-z]{38}")
REAUTH = "/accounts/reauthenticate/?next="


def confirm(client, location, password=PASSWORD):
    """Answer allauth's sign-in-again page the way its form does."""
    page = client.get(location)
    assert page.status_code == 200
    next_url = parse_qs(urlparse(location).query)["next"][0]
    assert f'name="next" value="{next_url}"' in page.text  # the form carries it on
    assert 'name="password"' in page.text
    return client.post(location, {"password": password, "next": next_url})


def test_after_a_while_creating_a_key_asks_again_then_goes_on(member, client_for):
    client = client_for(member, minutes_ago=10)
    asked = client.post("/o/acme/api-keys/create/", {"name": "Nightly deploy", "expires": "30"})
    assert asked.status_code == 302
    assert asked["Location"].startswith(REAUTH + "%2Fo%2Facme%2Fapi-keys%2Fcreate%2F")
    assert not ApiKey.objects.exists()
    # The stash holds the form, never a key (none exists yet).
    done = confirm(client, asked["Location"])
    assert done.status_code == 200
    key = ApiKey.objects.get()
    assert key.name == "Nightly deploy" and key.expires_at is not None
    assert KEY.search(done.text)  # the reveal dialog, on the full page
    assert done.text.lstrip().startswith("<!doctype html>")
    assert "no-store" in done["Cache-Control"]
    # Fresh now: the next one goes straight through.
    again = client.post("/o/acme/api-keys/create/", {"name": "Second"})
    assert again.status_code == 200 and ApiKey.objects.count() == 2


def test_a_wrong_password_does_nothing(member, client_for):
    client = client_for(member, minutes_ago=10)
    asked = client.post("/o/acme/api-keys/create/", {"name": "Nope"})
    refused = confirm(client, asked["Location"], password="wrong")
    assert refused.status_code == 200
    assert "incorrect" in refused.text.lower() or "not correct" in refused.text.lower()
    assert not ApiKey.objects.exists()


def test_htmx_goes_to_the_page_in_full_and_comes_back_to_a_full_page(member, client_for):
    client = client_for(member, minutes_ago=10)
    asked = client.post(
        "/o/acme/api-keys/create/",
        {"name": "From the dialog"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="dialog-slot",
    )
    # Not a redirect followed inside the XHR: the browser itself goes there.
    assert asked.status_code == 200
    assert asked["HX-Redirect"].startswith(REAUTH)
    stashed = json.loads(client.session["account_reauthentication_state"]["request"])
    assert not [name for name in stashed["META"] if name.startswith("HTTP_HX_")]
    done = confirm(client, asked["HX-Redirect"])
    assert done.text.lstrip().startswith("<!doctype html>")
    assert ApiKey.objects.get().name == "From the dialog"


def test_rolling_asks_again(member, client_for, make_key):
    key = make_key(member)
    client = client_for(member, minutes_ago=10)
    asked = client.post(f"/o/acme/api-keys/{key.pk}/roll/")
    assert asked["Location"].startswith(REAUTH)
    assert ApiKey.objects.active().get().pk == key.pk
    done = confirm(client, asked["Location"])
    assert done.status_code == 200
    assert ApiKey.objects.active().get().pk != key.pk


def test_revoking_someone_elses_key_asks_again_but_not_your_own(admin, member, client_for):
    theirs = ApiKeyFactory(membership=member)
    mine = ApiKeyFactory(membership=admin)
    client = client_for(admin, minutes_ago=10)
    asked = client.post(f"/o/acme/api-keys/{theirs.pk}/revoke/")
    assert asked["Location"].startswith(REAUTH)
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    client.post(f"/o/acme/api-keys/{mine.pk}/revoke/")
    mine.refresh_from_db()
    assert mine.revoked_at is not None
    confirm(client, asked["Location"])
    theirs.refresh_from_db()
    assert theirs.revoked_at is not None and theirs.revoked_by == admin.user


def test_deleting_and_renaming_your_own_keys_need_no_fresh_sign_in(member, client_for, make_key):
    key = make_key(member)
    client = client_for(member, minutes_ago=60)
    client.post(f"/o/acme/api-keys/{key.pk}/rename/", {"name": "Renamed"})
    assert ApiKey.objects.get(pk=key.pk).name == "Renamed"
    client.post(f"/o/acme/api-keys/{key.pk}/delete/")
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None


@pytest.mark.parametrize(("role", "status"), [("outsider", 404), ("member", 403)])
def test_who_may_not_act_is_refused_before_being_asked(team, client_for, role, status):
    theirs = ApiKeyFactory(membership=team["admin"])
    client = client_for(team[role], minutes_ago=10)
    assert client.post(f"/o/acme/api-keys/{theirs.pk}/revoke/").status_code == status
    if role == "outsider":
        assert client.post("/o/acme/api-keys/create/", {"name": "x"}).status_code == 404


def test_signing_in_counts_as_fresh(member, client):
    client.post("/accounts/login/", {"login": "member@acme.test", "password": PASSWORD})
    created = client.post("/o/acme/api-keys/create/", {"name": "Right after sign-in"})
    assert created.status_code == 200
    assert Membership.objects.get(pk=member.pk).user.api_keys.count() == 1


def test_a_second_factor_confirms_too_instead_of_the_password(member, client_for):
    from .. import totp
    from .test_two_factor import enrol_totp

    secret = enrol_totp(client_for(member))
    client = client_for(member, minutes_ago=10)
    asked = client.post("/o/acme/api-keys/create/", {"name": "By code", "expires": "30"})
    assert asked.status_code == 302 and "reauthenticate" in asked["Location"]
    next_url = parse_qs(urlparse(asked["Location"]).query)["next"][0]
    # allauth's sign-in-again by authenticator code, then the stashed form goes on.
    done = client.post(
        "/accounts/2fa/reauthenticate/",
        # The previous step's code (the current one went on enrolling; allauth refuses a
        # code twice), which MFA_TOTP_TOLERANCE accepts.
        {"code": totp.code(secret, at=time.time() - 30), "next": next_url},
    )
    assert done.status_code == 200, done.status_code
    assert ApiKey.objects.get().name == "By code"
    assert KEY.search(done.text)


def stale_then_confirmed(client, path, data=None):
    """POST on a stale sign-in: sent to confirm, nothing done yet; then confirmed, the
    POST goes on. Returns what confirming answered."""
    asked = client.post(path, data or {})
    assert asked.status_code == 302 and asked["Location"].startswith(REAUTH), asked.status_code
    return asked, lambda: confirm(client, asked["Location"])


def test_removing_a_member_asks_again_then_removes_and_revokes(owner, member, client_for):
    key = ApiKeyFactory(membership=member)
    client = client_for(owner, minutes_ago=10)
    _, go_on = stale_then_confirmed(client, f"/o/acme/members/{member.pk}/remove/")
    assert Membership.objects.filter(pk=member.pk).exists()
    go_on()
    assert not Membership.objects.filter(pk=member.pk).exists()
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_changing_a_role_asks_again_then_changes_it(owner, admin, client_for):
    client = client_for(owner, minutes_ago=10)
    _, go_on = stale_then_confirmed(client, f"/o/acme/members/{admin.pk}/role/", {"role": "owner"})
    admin.refresh_from_db()
    assert admin.role == "admin"
    go_on()
    admin.refresh_from_db()
    assert admin.role == "owner"


def test_the_two_factor_and_key_policies_ask_again_then_save(owner, org, client_for):
    org.require_two_factor = True
    org.save()
    client = client_for(owner, minutes_ago=10)
    _, go_on = stale_then_confirmed(client, "/o/acme/settings/two-factor/", {})
    org.refresh_from_db()
    assert org.require_two_factor
    go_on()
    org.refresh_from_db()
    assert not org.require_two_factor
    client = client_for(owner, minutes_ago=10)
    _, go_on = stale_then_confirmed(client, "/o/acme/settings/", {"max_key_lifetime_days": "90"})
    org.refresh_from_db()
    assert org.max_key_lifetime_days is None
    go_on()
    org.refresh_from_db()
    assert org.max_key_lifetime_days == 90


def test_disabling_enabling_and_deleting_a_service_account_ask_again(admin, client_for):
    from ..factories import make_service_key

    account = make_service_account(admin.organization, actor=admin.user)
    key = make_service_key(account, admin)
    service_account = account.user.service_account
    base = f"/o/acme/service-accounts/{account.user_id}"
    for action, disabled in [("disable", True), ("enable", False)]:
        client = client_for(admin, minutes_ago=10)
        _, go_on = stale_then_confirmed(client, f"{base}/{action}/")
        service_account.refresh_from_db()
        assert service_account.is_disabled is not disabled
        go_on()
        service_account.refresh_from_db()
        assert service_account.is_disabled is disabled
    client = client_for(admin, minutes_ago=10)
    _, go_on = stale_then_confirmed(client, f"{base}/delete/")
    key.refresh_from_db()
    assert key.revoked_at is None
    go_on()
    key.refresh_from_db()
    assert key.revoked_at is not None


# A new account, or a password set just now from a link in the person's inbox, is as fresh
# as a sign-in: nobody is asked for the password they typed seconds ago.


def sign_up_through_an_invitation(owner, client):
    from django.core import mail

    from organizations import invitations

    from ..factories import invitation_path

    invitations.invite(owner.organization, "nina@example.com", "member", owner.user)
    assert client.get(invitation_path(mail.outbox[-1])).status_code == 302
    signed_up = client.post(
        "/accounts/signup/", {"name": "Nina New", "password1": "teammate passphrase 2026"}
    )
    assert signed_up.status_code == 302
    assert client.get("/o/acme/api-keys/").status_code == 200  # signed in, a member


def test_a_new_teammate_makes_a_first_key_without_being_asked_again(owner, client):
    sign_up_through_an_invitation(owner, client)
    created = client.post(
        "/o/acme/api-keys/create/", {"name": "Nina's laptop"}, HTTP_HX_REQUEST="true"
    )
    assert created.status_code == 200 and "HX-Redirect" not in created
    assert KEY.search(created.text)
    assert ApiKey.objects.get().user.email == "nina@example.com"


def test_a_sign_up_is_fresh_for_as_long_as_a_sign_in(owner, client):
    from accounts import sudo

    sign_up_through_an_invitation(owner, client)
    session = client.session
    session[sudo.SIGNED_UP] = {**session[sudo.SIGNED_UP], "at": time.time() - 6 * 60}
    session.save()
    asked = client.post("/o/acme/api-keys/create/", {"name": "Later"})
    assert asked.status_code == 302 and asked["Location"].startswith(REAUTH)


def test_a_password_reset_signs_in_freshly(member, client):
    from django.core import mail

    client.post("/accounts/password/reset/", {"email": "member@acme.test"})
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", mail.outbox[-1].body)
    form = client.get(link.group(1), follow=True)
    new_password = "a brand new passphrase 42"
    reset = client.post(
        form.redirect_chain[-1][0], {"password1": new_password, "password2": new_password}
    )
    assert reset.status_code == 302
    created = client.post("/o/acme/api-keys/create/", {"name": "After the reset"})
    assert created.status_code == 200
    assert ApiKey.objects.get().user == member.user
