"""A person's own account: password reset by email, password change, name and language,
and signing out other sessions, all through allauth."""

import re

import pytest
from django.core import mail
from django.test import Client

from organizations.models import User

from ..factories import PASSWORD

NEW_PASSWORD = "a brand new passphrase 42"


def sign_in(client, email, password):
    return client.post("/accounts/login/", {"login": email, "password": password})


def test_password_reset_by_email_end_to_end(member, client):
    asked = client.post("/accounts/password/reset/", {"email": " MEMBER@acme.test "})
    assert asked.status_code == 302
    [message] = mail.outbox
    assert message.to == ["member@acme.test"]
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", message.body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200
    set_url = form.redirect_chain[-1][0]
    changed = client.post(set_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert changed.status_code == 302
    assert sign_in(Client(), "member@acme.test", PASSWORD).status_code == 200  # refused
    assert sign_in(Client(), "member@acme.test", NEW_PASSWORD).status_code == 302
    # The link works once.
    assert "invalid" in client.get(link, follow=True).text.lower()


def test_the_reset_link_is_on_public_url_whatever_host_and_port_the_request_named(
    member, client, settings
):
    # A Host that ALLOWED_HOSTS takes, on another port (a proxy that drops or changes it).
    client.post(
        "/accounts/password/reset/", {"email": "member@acme.test"}, HTTP_HOST="localhost:1234"
    )
    [message] = mail.outbox
    [link] = re.findall(r"https?://\S+", message.body)
    assert link.startswith(settings.PUBLIC_URL + "/accounts/password/reset/key/")


def test_an_existing_address_signing_up_again_is_mailed_links_on_public_url(
    member, client, settings
):
    settings.GENESIS_OPEN_SIGNUP = True
    client.post(
        "/accounts/signup/",
        {"email": "member@acme.test", "name": "Again", "password1": NEW_PASSWORD},
        HTTP_HOST="localhost:1234",
    )
    [message] = mail.outbox
    links = re.findall(r"https?://[^\s]+", message.body)
    assert links and all(link.startswith(settings.PUBLIC_URL + "/") for link in links), links


def test_a_reset_for_an_unknown_address_mails_no_one_and_says_the_same(db, client):
    response = client.post("/accounts/password/reset/", {"email": "who@example.com"})
    assert response.status_code == 302
    assert not mail.outbox


def test_the_reset_link_is_never_queued_in_the_database(member, client):
    from post_office.models import Email

    client.post("/accounts/password/reset/", {"email": "member@acme.test"})
    assert len(mail.outbox) == 1
    assert not Email.objects.exists()


def test_change_password_needs_the_current_one(member, client):
    sign_in(client, "member@acme.test", PASSWORD)
    wrong = client.post(
        "/accounts/password/change/",
        {"oldpassword": "nope", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert wrong.status_code == 200
    assert "Please type your current password" in wrong.text
    client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert sign_in(Client(), "member@acme.test", NEW_PASSWORD).status_code == 302


def test_profile_changes_name_and_language(member, client_for):
    client = client_for(member)
    page = client.get("/accounts/profile/")
    assert page.status_code == 200 and 'value="Mia Member"' in page.text
    saved = client.post("/accounts/profile/", {"name": "  Mia M.  ", "language": "ja"})
    assert saved.status_code == 302
    assert saved.cookies["django_language"].value == "ja"
    user = User.objects.get(pk=member.user.pk)
    assert (user.name, user.language, user.language_chosen) == ("Mia M.", "ja", True)
    assert "プロフィール" in client.get("/accounts/profile/").text


@pytest.mark.parametrize(
    "data",
    [
        {"name": "", "language": "en"},
        {"name": "   ", "language": "en"},
        {"name": "X", "language": "xx"},
    ],
)
def test_profile_refuses_bad_input_and_keeps_what_was_saved(member, client_for, data):
    response = client_for(member).post("/accounts/profile/", data)
    assert response.status_code == 400
    assert User.objects.get(pk=member.user.pk).name == "Mia Member"


def test_account_pages_ask_anonymous_to_sign_in(db, client):
    for path in (
        "/accounts/profile/",
        "/accounts/password/change/",
        "/accounts/2fa/",
        "/accounts/sessions/",
    ):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/login/"), path


def test_sign_out_of_other_sessions(member):
    here, elsewhere = Client(), Client()
    sign_in(here, "member@acme.test", PASSWORD)
    sign_in(elsewhere, "member@acme.test", PASSWORD)
    page = here.get("/accounts/sessions/")
    assert page.status_code == 200
    here.post("/accounts/sessions/", {})
    assert here.get("/o/acme/api-keys/").status_code == 200
    assert elsewhere.get("/o/acme/api-keys/").status_code == 302


def test_a_chosen_language_follows_the_person_to_the_next_sign_in(member, client):
    User.objects.filter(pk=member.user.pk).update(language="ja", language_chosen=True)
    signed_in = sign_in(client, "member@acme.test", PASSWORD)
    assert signed_in.cookies["django_language"].value == "ja"


def test_until_one_is_chosen_each_browser_keeps_its_own_language(member):
    english = Client(HTTP_ACCEPT_LANGUAGE="en")
    sign_in(english, "member@acme.test", PASSWORD)
    assert User.objects.get(pk=member.user.pk).language == "en"  # for emails
    japanese = Client(HTTP_ACCEPT_LANGUAGE="ja")
    signed_in = sign_in(japanese, "member@acme.test", PASSWORD)
    assert "django_language" not in signed_in.cookies
    assert '<html lang="ja"' in japanese.get("/o/acme/api-keys/").text
    assert User.objects.get(pk=member.user.pk).language == "ja"  # emails follow too
    # Picked in the header: every browser, from the next sign-in on.
    japanese.post("/i18n/setlang/", {"language": "en", "next": "/"})
    another = Client(HTTP_ACCEPT_LANGUAGE="ja")
    assert sign_in(another, "member@acme.test", PASSWORD).cookies["django_language"].value == "en"
    assert '<html lang="en"' in another.get("/o/acme/api-keys/").text


def test_the_profile_can_go_back_to_the_browsers_language(member, client_for):
    User.objects.filter(pk=member.user.pk).update(language="ja", language_chosen=True)
    client = client_for(member)
    form = client.get("/accounts/profile/").text
    assert '<option value="">As your browser asks</option>' in form
    saved = client.post("/accounts/profile/", {"name": "Mia", "language": ""})
    assert saved.status_code == 302
    assert saved.cookies["django_language"].value == ""  # deleted
    user = User.objects.get(pk=member.user.pk)
    assert not user.language_chosen and user.language == "ja"  # for emails, until told
    page = client.get("/o/acme/api-keys/", HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="en"' in page.text
