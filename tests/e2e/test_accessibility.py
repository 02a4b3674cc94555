"""axe-core finds no serious or critical violation on any page, dialogs open included."""

from urllib.parse import urlencode

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core import mail
from playwright.sync_api import expect

from organizations import invitations

from ..factories import invitation_path
from .test_api_keys import create_key, open_keys_page

axe = Axe()


# axe-core's experimental rules are off unless asked for; this one catches a control whose
# accessible name doesn't contain the words it shows (voice control users say those).
EXPERIMENTAL_RULES = {"rules": {"label-content-name-mismatch": {"enabled": True}}}


def assert_accessible(page):
    results = axe.run(page, options=EXPERIMENTAL_RULES)
    serious = [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"])
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert not serious, "\n".join(serious)


def test_sign_in_page(live, page):
    page.goto(f"{live.url}/accounts/login/")
    assert_accessible(page)


def test_api_keys_page_as_a_member_with_the_reveal_dialog(live, page, member, sign_in, make_key):
    make_key(member, "Existing key")
    sign_in(member)
    open_keys_page(page, live)
    assert_accessible(page)
    create_key(page, "Fresh key")
    assert_accessible(page)


def test_api_keys_page_as_an_admin(live, page, admin, member, sign_in, make_key):
    make_key(member, "Mia's key")
    make_key(admin, "Adam's key")
    sign_in(admin)
    open_keys_page(page, live)
    assert_accessible(page)
    page.get_by_role("button", name="Revoke API key Mia's key").click()
    expect(page.get_by_role("dialog", name="Revoke API key")).to_be_visible()
    assert_accessible(page)


def test_authorized_apps_and_the_consent_page_in_both_languages(live, page, admin, member, sign_in):
    from oauth2_provider.models import Application

    from tests.oauth import flow
    from tests.oauth.grants import make_grant

    make_grant(member, "Claude")
    make_grant(admin, "Cursor")
    sign_in(admin)
    open_keys_page(page, live)
    page.get_by_role("button", name="Revoke authorized app Claude").click()
    expect(page.get_by_role("dialog", name="Revoke authorized app")).to_be_visible()
    assert_accessible(page)

    application = Application.objects.create(
        name="Inspector",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=flow.REDIRECT_URI,
    )
    query = urlencode(flow.authorize_params(application.client_id, flow.pkce()[1]))
    for language in ("en", "ja"):
        page.context.add_cookies([{"name": "django_language", "value": language, "url": live.url}])
        page.goto(f"{live.url}/oauth/authorize/?{query}")
        expect(page.locator("html")).to_have_attribute("lang", language)
        expect(page.get_by_role("radio")).to_be_checked()
        assert_accessible(page)


def test_empty_api_keys_page_and_create_dialog(live, page, member, sign_in):
    sign_in(member)
    open_keys_page(page, live)
    assert_accessible(page)
    page.get_by_role("button", name="Create API key").first.click()
    dialog = page.get_by_role("dialog", name="Create API key")
    dialog.get_by_label("Key name").fill("   ")  # passes the browser's check, not ours
    dialog.get_by_role("button", name="Create API key").click()
    expect(dialog.get_by_text("Enter a name for the key.")).to_be_visible()
    assert_accessible(page)


@pytest.mark.parametrize(
    "path", ["/o/acme/members/", "/o/acme/mcp-server/", "/o/acme/audit/", "/o/acme/settings/"]
)
def test_members_and_mcp_server_pages(live, page, owner, admin, member, sign_in, path):
    sign_in(owner)
    page.goto(f"{live.url}{path}")
    assert_accessible(page)


def test_narrow_screens(live, page, admin, member, sign_in, make_key):
    make_key(member, "Mia's key")
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in(admin)
    open_keys_page(page, live)
    assert_accessible(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, "no sideways scrolling at 375 px"


def test_the_check_itself_catches_a_violation(live, page):
    page.goto(f"{live.url}/accounts/login/")
    page.evaluate("document.querySelector('label[for=id_password]').remove()")
    with pytest.raises(AssertionError, match="label"):
        assert_accessible(page)


def test_the_check_catches_a_name_that_does_not_say_what_is_shown(live, page):
    page.goto(f"{live.url}/accounts/login/")
    sign_in_button = "document.querySelector('main button[type=submit]')"
    page.evaluate(f"{sign_in_button}.setAttribute('aria-label', 'Go')")
    with pytest.raises(AssertionError, match="label-content-name-mismatch"):
        assert_accessible(page)


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_organization_switcher_is_named_by_what_it_shows(
    live, page, window, owner, sign_in, language
):
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live.url}])
    sign_in(owner)
    page.goto(f"{live.url}/o/acme/members/")
    switcher = page.locator(".switcher > summary")
    expect(switcher).to_be_visible()
    name = switcher.evaluate("element => element.textContent.replace(/\\s+/g, ' ').trim()")
    assert "Acme" in name
    assert_accessible(page)


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/profile/",
        "/accounts/password/change/",
        "/accounts/2fa/",
        "/accounts/sessions/",
        "/accounts/reauthenticate/?next=/o/acme/api-keys/",
    ],
)
def test_account_pages(live, page, member, sign_in, path):
    sign_in(member)
    page.goto(f"{live.url}{path}")
    assert_accessible(page)


@pytest.mark.parametrize(
    "path", ["/accounts/password/reset/", "/accounts/signup/", "/invitations/not-a-link/"]
)
def test_pages_for_people_signed_out(live, page, path):
    page.goto(f"{live.url}{path}")
    assert_accessible(page)


def test_sign_up_through_an_invitation(live, page, owner):
    invitations.invite(owner.organization, "nina@example.com", "member", owner.user)
    page.goto(live.url + invitation_path(mail.outbox[-1]))  # sent in this process
    expect(page.get_by_label("Name", exact=True)).to_be_visible()
    assert_accessible(page)
