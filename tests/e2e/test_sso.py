"""Single sign-on through a real OpenID provider (the `oidc-provider` npm package on
loopback, tests/sso/idp.py), in the browser against the production server: a newcomer
at a verified domain joins as a Member, an existing person is linked, and every refusal
(an unverified domain or address, a token for another audience, an expired token)
ends on a page that says why, with nobody signed in."""

import re

import pytest
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from apikeys.models import ApiKey
from organizations.models import Membership, Role, User
from sso import services
from sso.models import Domain
from tests.factories import MembershipFactory, UserFactory
from tests.servers import free_port
from tests.sso.idp import CLIENT_ID, CLIENT_SECRET, OpenIdProvider, require_node

from .test_api_keys import create_key

PEOPLE = {
    "nora": {"email": "nora@acme.test", "email_verified": True, "name": "Nora Newcomer"},
    "erin": {"email": "erin@acme.test", "email_verified": True, "name": "Erin Existing"},
    "uma": {"email": "uma@acme.test", "email_verified": False, "name": "Uma Unverified"},
    "olga": {"email": "olga@elsewhere.test", "email_verified": True, "name": "Olga Outside"},
}


@pytest.fixture
def connect(live, org):
    """Connect `org` to a new test provider (its `tamper`, tests/idp/oidc.mjs), with
    acme.test verified; the provider runs for the test."""
    require_node()
    Domain.objects.create(organization=org, name="acme.test", verified_at=timezone.now())
    running = []

    def start(tamper=""):
        port = free_port()
        connection = services.save_oidc(
            org,
            issuer=f"http://127.0.0.1:{port}",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
        )
        path = reverse(
            "openid_connect_callback", kwargs={"provider_id": connection.app.provider_id}
        )
        idp = OpenIdProvider(settings.PUBLIC_URL + path, PEOPLE, port=port, tamper=tamper)
        running.append(idp.__enter__())
        return idp

    yield start
    for idp in running:
        idp.__exit__()


def sign_in_with_sso(page, live, who: str, login: str):
    page.goto(f"{live.url}/sso/")
    page.get_by_label("Work email or organization").fill(who)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("link", name=re.compile(r"^Continue to .+'s sign-in$")).click()
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("anything")
    page.locator("button[type=submit]").click()


def test_a_newcomer_at_a_verified_domain_joins_as_a_member(live, page, org, connect):
    connect()
    sign_in_with_sso(page, live, "nora@acme.test", "nora")
    expect(page).to_have_url(re.compile(r"/o/acme/api-keys/"))
    expect(page.get_by_role("heading", name="My API keys")).to_be_visible()
    nora = User.objects.get(email="nora@acme.test")
    assert nora.name == "Nora Newcomer"
    assert not nora.has_usable_password()
    assert Membership.objects.get(user=nora, organization=org).role == Role.MEMBER


def test_an_owner_connects_a_provider_in_settings_and_people_sign_in_through_it(
    live, page, browser, owner, sign_in
):
    """The Owner gives the console the provider's issuer and client, and the provider the
    redirect URI Settings shows (it is restarted with it, on the same issuer)."""
    require_node()
    Domain.objects.create(
        organization=owner.organization, name="acme.test", verified_at=timezone.now()
    )
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    with OpenIdProvider("http://127.0.0.1:9/unregistered", {}, port=port):
        sign_in(owner)
        page.goto(f"{live.url}/o/acme/settings/")
        page.get_by_label("Issuer URL").fill(issuer)
        page.get_by_label("Client ID").fill(CLIENT_ID)
        page.get_by_label("Client secret").fill(CLIENT_SECRET)
        page.locator("form", has=page.get_by_label("Issuer URL")).get_by_role(
            "button", name="Connect"
        ).click()
        expect(page.get_by_text("Single sign-on saved.")).to_be_visible()
    app = services.connection_of(owner.organization).app
    assert app.provider == "openid_connect"
    assert app.settings["server_url"].rstrip("/") == issuer
    assert CLIENT_SECRET not in page.content()  # kept, never shown again
    callback = page.locator("code", has_text="/login/callback/").inner_text()
    assert callback.endswith(f"/accounts/oidc/{app.provider_id}/login/callback/")
    with OpenIdProvider(callback, PEOPLE, port=port):
        signed_out = browser.new_context()
        newcomer = signed_out.new_page()
        sign_in_with_sso(newcomer, live, "nora@acme.test", "nora")
        expect(newcomer).to_have_url(re.compile(r"/o/acme/api-keys/"))
        signed_out.close()
    assert Membership.objects.get(user__email="nora@acme.test").role == Role.MEMBER


def test_an_existing_person_is_linked_by_signing_in_once(
    live, page, org, other_org, owner, connect
):
    """And, where the organization requires SSO, that session opens it and makes keys."""
    erin = MembershipFactory(
        organization=other_org, role=Role.OWNER, user__email="erin@acme.test"
    ).user
    connect()
    services.set_require_sso(services.connection_of(org), True, owner)
    sign_in_with_sso(page, live, "acme", "erin")
    expect(page).to_have_url(re.compile(r"/o/acme/api-keys/"))
    create_key(page, "Through SSO")  # the session came through SSO: allowed
    assert ApiKey.objects.filter(name="Through SSO", created_by=erin).exists()
    assert User.objects.filter(email="erin@acme.test").count() == 1
    assert SocialAccount.objects.get(user=erin).uid == "erin"
    assert Membership.objects.get(user=erin, organization=org).role == Role.MEMBER
    erin.refresh_from_db()
    assert erin.has_usable_password()  # their verified address: nothing to lock out


@pytest.mark.parametrize(
    ("login", "tamper", "says"),
    [
        ("uma", "", "did not confirm your email address"),
        ("olga", "", "elsewhere.test is not a verified domain of Acme"),
        ("nora", "audience", "did not work"),
        ("nora", "expired", "did not work"),
    ],
    ids=["unverified-address", "unverified-domain", "wrong-audience", "expired-token"],
)
def test_a_refused_sign_in_says_why_and_signs_nobody_in(
    live, page, org, connect, login, tamper, says
):
    known_before = User.objects.count()
    connect(tamper=tamper)
    sign_in_with_sso(page, live, "acme", login)
    expect(page.get_by_role("alert")).to_contain_text(says)
    assert User.objects.count() == known_before
    assert not Membership.objects.filter(organization=org, role=Role.MEMBER).exists()
    page.goto(f"{live.url}/o/acme/api-keys/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_a_person_who_left_the_domain_is_not_linked_to_someone_else(live, page, org, connect):
    UserFactory(email="olga@elsewhere.test")
    connect()
    sign_in_with_sso(page, live, "acme", "olga")
    expect(page.get_by_role("alert")).to_contain_text("not a verified domain")
    assert not SocialAccount.objects.exists()


def test_connecting_an_identity_to_a_signed_in_account_is_refused(
    live, page, context, org, other_org, connect, sign_in
):
    """allauth's "connect" would tie the provider's identity to whoever is signed in,
    whatever their address: only a sign-in links."""
    someone = MembershipFactory(organization=other_org, user__email="someone@globex.test")
    idp = connect()
    sign_in(someone)
    app = services.connection_of(org).app
    page.goto(f"{live.url}/o/globex/api-keys/")
    csrf = next(c["value"] for c in context.cookies() if c["name"] == settings.CSRF_COOKIE_NAME)
    response = context.request.post(
        f"{live.url}/accounts/oidc/{app.provider_id}/login/",
        form={"process": "connect", "csrfmiddlewaretoken": csrf},
        headers={"Referer": f"{live.url}/o/globex/api-keys/"},
        max_redirects=0,
    )
    assert response.headers["location"].startswith(idp.issuer)
    page.goto(response.headers["location"])
    page.locator("input[name=login]").fill("nora")
    page.locator("input[name=password]").fill("anything")
    page.locator("button[type=submit]").click()
    expect(page.get_by_role("alert")).to_contain_text("Sign in with SSO instead")
    assert not SocialAccount.objects.exists()
    assert not Membership.objects.filter(user=someone.user, organization=org).exists()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_sso_pages_are_accessible_and_fit_a_phone(
    live, page, owner, admin, sign_in, window, scheme
):
    from .test_accessibility import assert_accessible

    connection = services.save_oidc(
        owner.organization, issuer="https://login.acme.test", client_id="c", client_secret="s"
    )
    services.set_require_sso(connection, True, owner)
    Domain.objects.create(organization=owner.organization, name="acme.test")
    page.emulate_media(color_scheme=scheme)
    sign_in(owner)
    for path in ("/o/acme/settings/", "/sso/"):
        page.goto(f"{live.url}{path}")
        assert_accessible(page)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= page.viewport_size["width"], path
    sign_in(admin)  # a password session of an organization that requires SSO
    page.goto(f"{live.url}/o/acme/api-keys/")
    expect(page.get_by_role("heading", name="Acme requires single sign-on")).to_be_visible()
    assert_accessible(page)
