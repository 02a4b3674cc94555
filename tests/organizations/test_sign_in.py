from django.conf import settings

from ..factories import PASSWORD, MembershipFactory


def test_argon2_hashes_passwords(db):
    assert settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_sign_in_with_email_in_any_case_goes_to_the_keys_page(member, client):
    response = client.post(
        "/accounts/login/",
        {"username": "MEMBER@acme.test", "password": PASSWORD},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/o/acme/api-keys/"
    assert "My API keys" in response.text
    member.user.refresh_from_db()
    assert member.user.password.startswith("argon2")


def test_a_wrong_password_says_so_without_revealing_which_part(member, client):
    response = client.post("/accounts/login/", {"username": "member@acme.test", "password": "x"})
    assert response.status_code == 200
    assert "Please enter a correct email address and password" in response.text
    unknown = client.post("/accounts/login/", {"username": "who@acme.test", "password": "x"})
    assert "Please enter a correct email address and password" in unknown.text


def test_the_session_key_rotates_on_sign_in(member, client):
    client.get("/accounts/login/")
    client.session.save()
    before = client.session.session_key
    client.post("/accounts/login/", {"username": "member@acme.test", "password": PASSWORD})
    assert client.session.session_key != before


def test_sign_out_is_a_post(member, client_for):
    client = client_for(member)
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/o/acme/api-keys/").status_code == 302


def test_home_asks_anonymous_to_sign_in(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_home_remembers_the_current_organization(member, outsider, client_for):
    # member also belongs to Globex, which sorts after Acme.
    MembershipFactory(user=member.user, organization=outsider.organization)
    client = client_for(member)
    assert client.get("/")["Location"] == "/o/acme/api-keys/"
    client.get("/o/globex/members/")
    assert client.get("/")["Location"] == "/o/globex/api-keys/"


def test_the_switcher_lists_every_organization_of_the_user(member, outsider, client_for):
    MembershipFactory(user=member.user, organization=outsider.organization)
    response = client_for(member).get("/o/acme/api-keys/")
    assert 'href="/o/globex/api-keys/"' in response.text
    assert 'href="/o/acme/api-keys/"' in response.text


def test_a_user_without_organizations_is_told_what_to_do(new_user, client):
    client.force_login(new_user)
    response = client.get("/")
    assert response.status_code == 200
    assert "You're not in an organization yet" in response.text


def test_unknown_organizations_are_404_like_foreign_ones(member, client_for):
    client = client_for(member)
    assert client.get("/o/nope/api-keys/").status_code == 404
    assert client.get("/o/globex/api-keys/").status_code == 404
