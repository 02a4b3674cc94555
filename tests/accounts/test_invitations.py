"""Joining through an invitation: a new person signs up, someone with an account signs in
and joins, and every link that can't be used gets a page that says why."""

import logging
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.utils import timezone

from organizations.models import AuditAction, AuditEvent, Invitation, Membership, Role

from .. import sessions
from ..factories import PASSWORD, UserFactory, invitation_path


@pytest.fixture
def invite(owner, client_for):
    def send(email="nina@example.com", role=Role.ADMIN):
        client_for(owner).post("/o/acme/members/invite/", {"email": email, "role": role})
        return invitation_path(mail.outbox[-1])

    return send


def test_a_new_person_signs_up_with_the_invited_email_and_lands_in_the_organization(invite, client):
    link = invite()
    response = client.get(link)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/signup/"
    form = client.get("/accounts/signup/")
    assert "You'll join Acme as Admin" in form.text
    assert 'value="nina@example.com"' in form.text and "disabled" in form.text
    signed_up = client.post(
        "/accounts/signup/",
        # A changed address is ignored: the account gets the invited one.
        {"email": "mallory@example.com", "name": "Nina New", "password1": PASSWORD},
        follow=True,
    )
    assert signed_up.redirect_chain[-1][0] == "/o/acme/api-keys/"
    assert "Welcome to Acme" in signed_up.text
    assert "Successfully signed in" not in signed_up.text
    membership = Membership.objects.get(user__email="nina@example.com")
    assert membership.role == Role.ADMIN and membership.user.name == "Nina New"
    assert EmailAddress.objects.get(user=membership.user).verified
    invitation = Invitation.objects.get()
    assert invitation.accepted_by == membership.user and invitation.accepted_at
    assert not Membership.objects.filter(user__email="mallory@example.com").exists()
    accepted = AuditEvent.objects.get(action=AuditAction.INVITATION_ACCEPTED)
    assert accepted.actor == membership.user and accepted.details == {"role": "admin"}
    # The link is used up.
    client.post("/accounts/logout/")
    assert client.get(link).status_code == 410


def test_someone_with_an_account_signs_in_and_joins(invite, new_user, client):
    link = invite(email=new_user.email, role=Role.MEMBER)
    landing = client.get(link)
    assert landing.status_code == 302
    assert landing["Location"].startswith("/accounts/login/?next=%2Finvitations%2F")
    # No sign-up for an address that has an account.
    assert "Accounts are by invitation" in client.get("/accounts/signup/").text
    signed_in = client.post(
        landing["Location"], {"login": new_user.email, "password": PASSWORD}, follow=True
    )
    assert signed_in.redirect_chain[-1][0] == link
    assert "Join Acme" in signed_in.text
    assert not Membership.objects.filter(user=new_user).exists()  # not until they say so
    joined = client.post(link, follow=True)
    assert joined.redirect_chain[-1][0] == "/o/acme/api-keys/"
    assert "Welcome to Acme" in joined.text
    assert Membership.objects.get(user=new_user).role == Role.MEMBER


def test_the_link_works_only_for_the_invited_email(invite, member, client_for):
    link = invite(email="nina@example.com")
    client = client_for(member)
    for method in (client.get, client.post):
        refused = method(link)
        assert refused.status_code == 403
        assert "This invitation is for nina@example.com" in refused.text
    assert not Invitation.objects.get().accepted_at
    assert Membership.objects.filter(user=member.user).count() == 1


@pytest.mark.parametrize(
    ("spoil", "status", "message"),
    [
        ({"revoked_at": timezone.now()}, 410, "This invitation was revoked."),
        ({"accepted_at": timezone.now()}, 410, "This invitation was already used."),
        (
            {"expires_at": timezone.now() - timedelta(seconds=1)},
            410,
            "This invitation has expired.",
        ),
    ],
)
@pytest.mark.parametrize("signed_in", [False, True])
def test_links_that_cant_be_used_get_a_clear_page(
    invite, client, new_user, spoil, status, message, signed_in
):
    link = invite(email=new_user.email)
    Invitation.objects.update(**spoil)
    if signed_in:
        client.force_login(new_user)
    for method in (client.get, client.post):
        response = method(link)
        assert response.status_code == status
        assert message in response.text
    assert not Membership.objects.filter(user=new_user).exists()


@pytest.mark.parametrize("token", ["nope", "x" * 43, "%00", "a" * 500])
def test_unknown_links_are_404(db, client, token):
    response = client.get(f"/invitations/{token}/")
    assert response.status_code == 404
    assert "not valid" in response.text


def test_an_invitation_that_expires_before_the_form_is_sent_creates_no_membership(invite, client):
    link = invite()
    client.get(link)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.post(
        "/accounts/signup/", {"email": "nina@example.com", "name": "Nina", "password1": PASSWORD}
    )
    assert "Accounts are by invitation" in response.text
    assert not Membership.objects.filter(user__email="nina@example.com").exists()


def test_sign_up_without_an_invitation_is_closed(db, client):
    page = client.get("/accounts/signup/")
    assert "Accounts are by invitation" in page.text
    client.post("/accounts/signup/", {"email": "x@example.com", "name": "X", "password1": PASSWORD})
    assert not EmailAddress.objects.filter(email="x@example.com").exists()


def test_open_sign_up_is_a_setting_and_proves_the_address_by_code(db, client, settings):
    settings.GENESIS_OPEN_SIGNUP = True
    response = client.post(
        "/accounts/signup/",
        {"email": "Open@Example.com", "name": "Olga Open", "password1": PASSWORD},
    )
    assert response.status_code == 302
    address = EmailAddress.objects.get(email="open@example.com")
    assert not address.verified
    [code_mail] = mail.outbox
    assert code_mail.to == ["open@example.com"]
    # Not signed in until the code is entered.
    assert client.get("/").status_code == 302


def test_an_existing_accounts_email_cannot_be_taken_by_sign_up(db, client, settings):
    settings.GENESIS_OPEN_SIGNUP = True
    taken = UserFactory(email="taken@example.com")
    client.post(
        "/accounts/signup/", {"email": "TAKEN@example.com", "name": "X", "password1": PASSWORD}
    )
    assert EmailAddress.objects.filter(email="taken@example.com").get().user == taken


def test_a_session_that_opened_a_replaced_link_cannot_sign_up_with_it(invite, owner, client):
    old_link = invite(email="nina@example.com", role=Role.MEMBER)
    client.get(old_link)  # an attacker who saw the first link opens it
    client_for_owner = Client()
    sessions.sign_in(client_for_owner, owner.user)
    invitation = Invitation.objects.get()
    client_for_owner.post(f"/o/acme/invitations/{invitation.pk}/resend/")
    response = client.post(
        "/accounts/signup/", {"email": "x@evil.example", "name": "Mallory", "password1": PASSWORD}
    )
    assert "Accounts are by invitation" in response.text
    assert not Membership.objects.filter(user__email="nina@example.com").exists()
    assert Invitation.objects.get().accepted_at is None


def test_an_admin_cannot_replace_an_owners_invitation(owner, admin, client_for):
    client_for(owner).post(
        "/o/acme/members/invite/", {"email": "boss@example.com", "role": "owner"}
    )
    before = Invitation.objects.get()
    response = client_for(admin).post(
        "/o/acme/members/invite/", {"email": "BOSS@example.com", "role": "admin"}
    )
    assert response.status_code == 403
    after = Invitation.objects.get()
    assert (after.role, after.token_hash, after.invited_by) == (
        Role.OWNER,
        before.token_hash,
        owner.user,
    )


def test_logs_never_hold_a_working_link(invite, member, client_for, caplog):
    link = invite(email="nina@example.com")
    token = link.split("/")[2]
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client_for(member).get(link).status_code == 403
    assert "/invitations/" in caplog.text
    assert token not in caplog.text
