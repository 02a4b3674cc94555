"""Single sign-on through a real SAML 2.0 identity provider (the `samlify` npm package on
loopback, tests/idp/saml.mjs), in the browser against the production server: an Owner
connects it in Settings, a newcomer at a verified domain joins as a Member, an existing
person is linked (and, where SSO is required, makes a key), and every refusal (another
audience, an expired assertion, an unsigned or altered one, an unverified domain, the
same Response posted twice) ends on a page that says why, with nobody signed in."""

import re

import pytest
from allauth.socialaccount.models import SocialAccount
from django.utils import timezone
from playwright.sync_api import expect

from apikeys.models import ApiKey
from organizations.models import Membership, Role, User
from sso import saml, services
from sso.models import Domain
from tests.factories import MembershipFactory
from tests.servers import free_port
from tests.sso.idp import SamlIdentityProvider, require_node, self_signed_certificate

from .test_api_keys import create_key

PEOPLE = {
    "nora": {"email": "nora@acme.test", "name": "Nora Newcomer"},
    "erin": {"email": "erin@acme.test", "name": "Erin Existing"},
    "olga": {"email": "olga@elsewhere.test", "name": "Olga Outside"},
}


@pytest.fixture
def connect_saml(live, org):
    """Connect `org` to a new test SAML IdP (its `tamper`, tests/idp/saml.mjs), with
    acme.test verified; the IdP runs for the test."""
    require_node()
    Domain.objects.create(organization=org, name="acme.test", verified_at=timezone.now())
    running = []

    def start(tamper=""):
        # The SP's URLs come from its SocialApp, so it is made first (from the metadata
        # the IdP will serve once started).
        port = free_port()
        connection = services.save_saml(
            org,
            idp={"entity_id": "pending", "sso_url": "http://127.0.0.1:9/", "x509cert": "-"},
        )
        sp = services.sp_urls(connection.app)
        idp = SamlIdentityProvider(
            {"entity_id": sp["entity_id"], "acs_url": sp["acs"]},
            PEOPLE,
            port=port,
            tamper=tamper,
            host="localhost",  # another site: its POST to our ACS is cross-site
        )
        running.append(idp.__enter__())
        services.save_saml(
            org, idp=saml.idp_settings(saml.fetch(idp.metadata_url)), metadata_url=idp.metadata_url
        )
        return idp

    yield start
    for idp in running:
        idp.__exit__()


def through_the_idp(page, live, who: str, login: str):
    """Up to the IdP's last page, whose form carries the signed Response to our ACS."""
    page.goto(f"{live.url}/sso/")
    page.get_by_label("Work email or organization").fill(who)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("link", name=re.compile(r"^Continue to .+'s sign-in$")).click()
    page.get_by_label("Login").fill(login)
    page.get_by_role("button", name="Sign in").click()


def sign_in_with_saml(page, live, who: str, login: str):
    through_the_idp(page, live, who, login)
    page.get_by_role("button", name="Continue to the application").click()


def test_an_owner_connects_an_idp_in_settings_and_people_sign_in_through_it(
    live, page, browser, owner, sign_in
):
    """The Owner gives the console the IdP's metadata URL, and the IdP the values Settings
    shows (it is restarted with them, with the same keys: the same IdP, configured)."""
    require_node()
    Domain.objects.create(
        organization=owner.organization, name="acme.test", verified_at=timezone.now()
    )
    keys, port = self_signed_certificate(), free_port()
    unconfigured = {"entity_id": "-", "acs_url": "http://127.0.0.1:9/"}
    with SamlIdentityProvider(unconfigured, {}, port=port, keys=keys, host="localhost") as idp:
        sign_in(owner)
        page.goto(f"{live.url}/o/acme/settings/")
        page.get_by_label("IdP metadata URL").fill(idp.metadata_url)
        page.locator("form", has=page.get_by_label("IdP metadata URL")).get_by_role(
            "button", name="Connect"
        ).click()
        expect(page.get_by_text("Single sign-on saved.")).to_be_visible()
    app = services.connection_of(owner.organization).app
    assert app.provider == "saml"
    assert app.settings["idp"]["entity_id"] == idp.metadata_url
    expect(page.get_by_label("Issuer URL")).to_have_count(0)  # one connection per org
    entity_id = page.locator("code", has_text="/metadata/").inner_text()
    acs = page.locator("code", has_text="/acs/").inner_text()
    assert entity_id == f"{live.url}/accounts/saml/{app.client_id}/metadata/"
    assert acs == f"{live.url}/accounts/saml/{app.client_id}/acs/"
    sp_metadata = page.request.get(entity_id)
    assert sp_metadata.ok and acs in sp_metadata.text()

    configured = {"entity_id": entity_id, "acs_url": acs}
    with SamlIdentityProvider(configured, PEOPLE, port=port, keys=keys, host="localhost"):
        signed_out = browser.new_context()
        newcomer = signed_out.new_page()
        sign_in_with_saml(newcomer, live, "nora@acme.test", "nora")
        expect(newcomer).to_have_url(re.compile(r"/o/acme/api-keys/"))
        signed_out.close()
    assert Membership.objects.get(user__email="nora@acme.test").role == Role.MEMBER


def test_a_newcomer_at_a_verified_domain_joins_as_a_member(live, page, org, connect_saml):
    connect_saml()
    sign_in_with_saml(page, live, "nora@acme.test", "nora")
    expect(page).to_have_url(re.compile(r"/o/acme/api-keys/"))
    expect(page.get_by_role("heading", name="My API keys")).to_be_visible()
    nora = User.objects.get(email="nora@acme.test")
    assert nora.name == "Nora Newcomer"
    assert not nora.has_usable_password()
    assert Membership.objects.get(user=nora, organization=org).role == Role.MEMBER


def test_an_existing_person_is_linked_and_makes_keys_where_sso_is_required(
    live, page, org, other_org, owner, connect_saml
):
    erin = MembershipFactory(
        organization=other_org, role=Role.OWNER, user__email="erin@acme.test"
    ).user
    connect_saml()
    services.set_require_sso(services.connection_of(org), True, owner)
    sign_in_with_saml(page, live, "acme", "erin")
    expect(page).to_have_url(re.compile(r"/o/acme/api-keys/"))
    create_key(page, "Through SAML")  # the session came through SSO: allowed
    assert ApiKey.objects.filter(name="Through SAML", created_by=erin).exists()
    assert User.objects.filter(email="erin@acme.test").count() == 1
    assert SocialAccount.objects.get(user=erin).uid == "erin@acme.test"
    assert Membership.objects.get(user=erin, organization=org).role == Role.MEMBER


@pytest.mark.parametrize(
    ("login", "tamper", "says"),
    [
        ("olga", "", "elsewhere.test is not a verified domain of Acme"),
        ("nora", "audience", "did not work"),
        ("nora", "expired", "did not work"),
        ("nora", "unsigned", "did not work"),
        ("nora", "message", "did not work"),
        ("nora", "tampered", "did not work"),
    ],
    ids=[
        "unverified-domain",
        "wrong-audience",
        "expired-assertion",
        "unsigned",
        "message-only-signed",
        "tampered",
    ],
)
def test_a_refused_sign_in_says_why_and_signs_nobody_in(
    live, page, org, connect_saml, login, tamper, says
):
    known_before = User.objects.count()
    connect_saml(tamper=tamper)
    sign_in_with_saml(page, live, "acme", login)
    expect(page.get_by_role("alert")).to_contain_text(says)
    assert User.objects.count() == known_before
    assert not SocialAccount.objects.exists()
    page.goto(f"{live.url}/o/acme/api-keys/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_a_replayed_response_is_refused(live, page, context, org, connect_saml):
    """The same signed Response posted again to the ACS, by the browser that used it and
    by another one: allauth took the AuthnRequest's ID out of the session on first use,
    and a Response that answers no request of this session is refused."""
    connect_saml()
    through_the_idp(page, live, "acme", "nora")
    response = page.locator("input[name=SAMLResponse]").input_value()
    acs = page.locator("form").get_attribute("action")
    page.get_by_role("button", name="Continue to the application").click()
    expect(page).to_have_url(re.compile(r"/o/acme/api-keys/"))
    nora = User.objects.get(email="nora@acme.test")

    elsewhere = context.browser.new_context()
    for browser in (context, elsewhere):
        replay = browser.new_page()
        replay.set_content(
            f'<form method="post" action="{acs}"><input type="hidden" name="SAMLResponse" '
            f'value="{response}"><button>Replay</button></form>'
        )
        replay.get_by_role("button", name="Replay").click()
        expect(replay.get_by_role("alert")).to_contain_text("was used already")
    outsider_page = elsewhere.new_page()
    outsider_page.goto(f"{live.url}/o/acme/api-keys/")
    expect(outsider_page).to_have_url(re.compile(r"/accounts/login/"))
    assert SocialAccount.objects.filter(user=nora).count() == 1
    assert User.objects.filter(email="nora@acme.test").count() == 1
    elsewhere.close()


def test_an_unsolicited_response_is_refused(live, page, org, connect_saml):
    """IdP-initiated sign-in is off: a signed Response that answers no AuthnRequest."""
    idp = connect_saml()
    # A blank page (ours would refuse, by its CSP's form-action, to post to the IdP).
    page.set_content(
        f'<form method="post" action="{idp.origin}/login">'
        '<input name="login" value="nora"><input name="request_id" value="">'
        "<button>Sign in</button></form>"
    )
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Continue to the application").click()
    expect(page.get_by_role("alert")).to_contain_text("did not work")
    assert not User.objects.filter(email="nora@acme.test").exists()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_saml_settings_are_accessible_and_fit_a_phone(
    live, page, owner, sign_in, window, scheme, metadata_xml
):
    from .test_accessibility import assert_accessible

    page.emulate_media(color_scheme=scheme)
    sign_in(owner)
    for connected in (False, True):
        if connected:
            services.save_saml(owner.organization, idp=saml.idp_settings(metadata_xml))
        page.goto(f"{live.url}/o/acme/settings/")
        expect(page.get_by_label("IdP metadata URL")).to_be_visible()
        assert_accessible(page)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= page.viewport_size["width"], connected


@pytest.fixture
def metadata_xml():
    require_node()
    with SamlIdentityProvider({"entity_id": "x", "acs_url": "http://127.0.0.1:9/"}, {}) as idp:
        return saml.fetch(idp.metadata_url)
