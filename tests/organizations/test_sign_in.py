import pytest

from organizations.models import User

from ..factories import PASSWORD, MembershipFactory, UserFactory

WRONG = "The email address or the password is not right. Passwords are case-sensitive."


def test_a_new_password_is_stored_as_argon2_and_verifies(db):
    from genesis import settings as production  # the tests' Argon2 is a cheaper one

    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    user = User.objects.create_user("argon@example.com", "a long enough passphrase")
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password("a long enough passphrase")
    assert not user.check_password("a long enough passphrasE")


def test_sign_in_with_email_in_any_case_goes_to_the_keys_page(member, client):
    response = client.post(
        "/accounts/login/",
        {"login": "MEMBER@acme.test", "password": PASSWORD},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/o/acme/api-keys/"
    assert "My API keys" in response.text
    member.user.refresh_from_db()
    assert member.user.password.startswith("argon2")


def test_a_wrong_password_says_so_without_revealing_which_part(member, client):
    response = client.post("/accounts/login/", {"login": "member@acme.test", "password": "x"})
    assert response.status_code == 200
    assert WRONG in response.text
    unknown = client.post("/accounts/login/", {"login": "who@acme.test", "password": "x"})
    assert WRONG in unknown.text


def test_the_session_key_rotates_on_sign_in(member, client):
    client.get("/accounts/login/")
    client.session.save()
    before = client.session.session_key
    client.post("/accounts/login/", {"login": "member@acme.test", "password": PASSWORD})
    assert client.session.session_key != before


def test_sign_out_is_a_post(member, client_for):
    client = client_for(member)
    confirm = client.get("/accounts/logout/")  # asks, signs nobody out
    assert confirm.status_code == 200
    assert '<form method="post" action="/accounts/logout/">' in confirm.text
    assert client.get("/o/acme/api-keys/").status_code == 200
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


# A dotless i (U+0131) and a long s (U+017F): PostgreSQL's case folding makes them "I"
# and "S", so the database found sid@example.com for either.
LOOK_ALIKES = ["s\u0131d@example.com", "\u017fid@example.com"]


@pytest.mark.parametrize("look_alike", LOOK_ALIKES)
def test_a_locked_email_stays_locked_for_look_alike_spellings(client, db, look_alike):
    page = "/accounts/login/"
    UserFactory(email="sid@example.com", is_staff=True)
    for _ in range(5):
        client.post(page, {"login": "sid@example.com", "password": "wrong"})
    response = client.post(page, {"login": look_alike, "password": PASSWORD})
    assert response.status_code in (200, 429)  # refused, or refused as locked
    assert "_auth_user_id" not in client.session


def test_sign_in_finds_an_email_by_its_lowercase_only(db):
    UserFactory(email="sid@example.com")
    with pytest.raises(User.DoesNotExist):
        User.objects.get_by_natural_key(LOOK_ALIKES[0])
    assert User.objects.get_by_natural_key(" SID@example.com").email == "sid@example.com"
