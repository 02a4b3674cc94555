"""A new teammate without any operator: invited, joins, turns on two-factor and creates a
key, in English and in Japanese; a fresh sign-in before a key keeps the form; a password
reset; a passkey sign-up and passkey sign-in. Emails come from Django's locmem outbox
(the server runs in this process); authenticator codes are computed from the secret."""

import re
from urllib.parse import urlparse

import httpx
import pytest
from django.core import mail
from django.core.cache import cache
from django.utils import translation
from playwright.sync_api import expect

from apikeys.models import ApiKey
from organizations import invitations
from organizations.models import Membership, Organization, Role

from .. import totp
from ..factories import PASSWORD, invitation_path
from .conftest import SIZES
from .test_api_keys import create_key

KEY = re.compile(r"gns_[0-9A-Za-z]{38}")
NEW_PASSWORD = "teammate passphrase 2026"


def words(language):
    """The page's words in that language, from the same catalogues the server uses."""

    def say(text):
        with translation.override(language):
            return translation.gettext(text)

    return say


def reset_link(message) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", message.body).group(1)


@pytest.mark.parametrize("language", ["en", "ja"])
def test_a_new_teammate_joins_turns_on_two_factor_and_creates_a_key(
    live, browser, sign_in, owner, language, sent_mail
):
    say = words(language)
    Organization.objects.filter(slug="acme").update(require_two_factor=True)

    # The Owner invites, on the Members page.
    boss_context = browser.new_context(locale=language)
    sign_in(owner, boss_context)
    boss = boss_context.new_page()
    boss.goto(f"{live.url}/o/acme/members/")
    boss.get_by_label(say("Email"), exact=True).fill("nina@example.com")
    boss.get_by_label(say("Role"), exact=True).select_option(Role.MEMBER)
    boss.get_by_role("button", name=say("Send invitation")).click()
    expect(boss.get_by_role("row", name=re.compile("nina@example.com"))).to_be_visible()
    link = invitation_path(sent_mail.last())
    boss_context.close()

    # The teammate opens the link in a browser of their own.
    context = browser.new_context(locale=language)
    page = context.new_page()
    page.goto(live.url + link)
    expect(page.get_by_role("heading", name=say("Create your account"))).to_be_visible()
    expect(page.get_by_label(say("Email"), exact=True)).to_have_value("nina@example.com")
    expect(page.get_by_label(say("Email"), exact=True)).to_be_disabled()
    page.get_by_label(say("Name"), exact=True).fill("Nina New")
    page.get_by_label(say("Password"), exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name=say("Create account")).click()

    # In the organization, with the banner; keys wait for two-factor.
    expect(page.get_by_role("heading", name=say("API keys"), level=1)).to_be_visible()
    expect(page.locator(".banner")).to_contain_text("Acme")
    expect(
        page.get_by_text(say("Welcome to %(organization)s.") % {"organization": "Acme"})
    ).to_be_visible()
    page.get_by_role("button", name=say("Create API key")).first.click()
    blocked = page.get_by_role("dialog", name=say("Turn on two-factor authentication first"))
    expect(blocked).to_be_visible()
    blocked.get_by_role("link", name=say("Turn on two-factor")).click()

    # allauth's pages: activate the authenticator app (it asks for the password first).
    page.get_by_role("link", name=say("Activate")).first.click()
    page.get_by_label(say("Password"), exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name=say("Confirm")).click()
    secret = page.get_by_label(say("Authenticator secret")).input_value()
    page.get_by_label(say("Authenticator code")).fill(totp.code(secret))
    page.get_by_role("button", name=say("Activate")).click()
    expect(page.get_by_role("heading", name=say("Recovery Codes"))).to_be_visible()

    # Now the key.
    page.goto(f"{live.url}/o/acme/api-keys/")
    expect(page.locator(".banner")).to_have_count(0)
    page.get_by_role("button", name=say("Create API key")).first.click()
    form = page.get_by_role("dialog", name=say("Create API key"))
    form.get_by_label(say("Key name")).fill("Nina's laptop")
    form.get_by_role("button", name=say("Create API key")).click()
    reveal = page.get_by_role("dialog", name=say("API key created"))
    plaintext = reveal.get_by_label(say("API key"), exact=True).input_value()
    assert KEY.fullmatch(plaintext)
    me = httpx.get(f"{live.url}/api/v1/me", headers={"x-api-key": plaintext}, timeout=10)
    assert me.status_code == 200 and me.json()["user_email"] == "nina@example.com"
    membership = Membership.objects.get(user__email="nina@example.com")
    assert membership.role == Role.MEMBER and membership.user.name == "Nina New"
    context.close()


def test_a_stale_session_signs_in_again_and_the_key_is_made_from_the_typed_form(
    live, page, sign_in, member
):
    sign_in(member, minutes_ago=10)
    page.goto(f"{live.url}/o/acme/api-keys/")
    page.get_by_role("button", name="Create API key").first.click()
    form = page.get_by_role("dialog", name="Create API key")
    form.get_by_label("Key name").fill("Typed before the prompt")
    form.get_by_role("button", name="Create API key").click()
    # The whole page goes to the prompt (not swapped into the dialog).
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    assert urlparse(page.url).path == "/accounts/reauthenticate/"
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    reveal = page.get_by_role("dialog", name="API key created")
    expect(reveal).to_be_visible()
    assert ApiKey.objects.get().name == "Typed before the prompt"
    assert KEY.fullmatch(reveal.get_by_label("API key", exact=True).input_value())
    # Reloading doesn't make another key or show this one again.
    page.reload()
    assert ApiKey.objects.count() == 1
    assert not KEY.search(page.content())


def never_asked_again(page) -> list[str]:
    """The addresses the page went to, to show none was "Confirm it's you"."""
    visited = []
    page.on("framenavigated", lambda frame: visited.append(urlparse(frame.url).path))
    return visited


def create_and_copy_a_key(page, name):
    reveal, shown = create_key(page, name)
    reveal.get_by_role("button", name="Copy", exact=True).click()
    expect(reveal.get_by_role("button", name="Copied", exact=True)).to_be_visible()
    plaintext = page.evaluate("navigator.clipboard.readText()")
    assert plaintext == shown
    reveal.get_by_role("link", name="Done").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    return plaintext


def test_a_new_teammate_invited_by_email_makes_and_copies_a_first_key_at_once(
    live, browser, sign_in, owner, sent_mail
):
    boss_context = browser.new_context()
    sign_in(owner, boss_context)
    boss = boss_context.new_page()
    boss.goto(f"{live.url}/o/acme/members/")
    boss.get_by_label("Email", exact=True).fill("nina@example.com")
    boss.get_by_role("button", name="Send invitation").click()
    expect(boss.get_by_role("row", name=re.compile("nina@example.com"))).to_be_visible()
    link = invitation_path(sent_mail.last())
    boss_context.close()

    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    visited = never_asked_again(page)
    page.goto(live.url + link)
    page.get_by_label("Name", exact=True).fill("Nina New")
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="API keys", level=1)).to_be_visible()
    plaintext = create_and_copy_a_key(page, "Nina's laptop")
    me = httpx.get(f"{live.url}/api/v1/me", headers={"x-api-key": plaintext}, timeout=10)
    assert me.status_code == 200 and me.json()["user_email"] == "nina@example.com"
    assert "/accounts/reauthenticate/" not in visited
    expect(page.get_by_role("heading", name="Confirm it's you")).to_have_count(0)
    context.close()


def test_a_forgotten_password_is_reset_by_email_and_signs_in_freshly(live, page, member, sent_mail):
    visited = never_asked_again(page)
    page.goto(f"{live.url}/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill("member@acme.test")
    page.get_by_role("button", name="Send the reset link").click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    page.goto(live.url + reset_link(sent_mail.last()))
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password (again)").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    # Signed in by the reset, and fresh: a key needs no password again.
    expect(page.get_by_role("heading", name="API keys", level=1)).to_be_visible()
    create_and_copy_a_key(page, "After the reset")
    assert "/accounts/reauthenticate/" not in visited
    # The new password is the one that signs in.
    page.locator("summary[aria-label^='Account']").click()
    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{live.url}/accounts/login/")
    page.get_by_label("Email").fill("member@acme.test")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="API keys", level=1)).to_be_visible()


def test_sign_up_with_a_passkey_then_sign_in_with_it(live, browser, owner):
    # (Inviting in the browser is the test above.)
    sent = invitations.invite(owner.organization, "pia@example.com", Role.MEMBER, owner.user)
    assert sent.delivered
    link = invitation_path(mail.outbox[-1])  # sent in this process

    # Passkeys need a secure context: localhost, not 127.0.0.1 (an IP can't be an RP id).
    origin = live.url.replace("127.0.0.1", "localhost")
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    page.goto(origin + link)
    page.get_by_role("link", name="Use a passkey instead of a password").click()
    page.get_by_label("Name", exact=True).fill("Pia Passkey")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="API keys", level=1)).to_be_visible()
    user = Membership.objects.get(user__email="pia@example.com").user
    assert not user.has_usable_password()
    # The passkey just made is a fresh sign-in: no "Confirm it's you" for a first key.
    visited = never_asked_again(page)
    create_and_copy_a_key(page, "Pia's laptop")
    assert "/accounts/reauthenticate/" not in visited

    page.locator("summary[aria-label^='Account']").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Genesis Console")).to_be_visible()
    cache.clear()
    page.goto(f"{origin}/accounts/login/")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.get_by_role("heading", name="API keys", level=1)).to_be_visible()
    context.close()


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES)
def test_times_are_in_the_browsers_zone_from_the_first_sign_in(live, browser, owner, size):
    from datetime import UTC, datetime

    from organizations import services
    from organizations.models import AuditEvent, User

    services.set_key_lifetime_policy(owner.organization, 30)
    AuditEvent.objects.update(created_at=datetime(2026, 12, 6, 16, 17, tzinfo=UTC))
    width, height = size
    context = browser.new_context(
        timezone_id="Asia/Tokyo", locale="en-US", viewport={"width": width, "height": height}
    )
    page = context.new_page()
    page.goto(f"{live.url}/accounts/login/")
    page.get_by_label("Email").fill(owner.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="API keys", level=1)).to_be_visible()
    assert User.objects.get(pk=owner.user_id).time_zone == "Asia/Tokyo"
    page.goto(f"{live.url}/o/acme/audit/")
    time = page.locator("main time").first
    expect(time).to_have_text("Dec. 7, 2026, 1:17 a.m. JST")
    expect(time).to_have_attribute("title", "2026-12-07 01:17:00 JST (UTC+09:00)")
    expect(page.get_by_text("Times are in Asia/Tokyo")).to_be_visible()
    page.goto(f"{live.url}/accounts/profile/")
    expect(page.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
    context.close()


def test_recovery_codes_download_first_and_lead_back_to_the_console(live, page, window, member):
    from django.test import Client

    from .. import sessions
    from ..accounts.test_two_factor import enrol_totp
    from .test_accessibility import assert_accessible

    client = sessions.sign_in(Client(), member.user)
    enrol_totp(client)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live.url}]
    )
    page.goto(f"{live.url}/o/acme/members/")
    page.goto(f"{live.url}/accounts/2fa/recovery-codes/")
    download = page.get_by_role("link", name="Download codes")
    generate = page.get_by_role("link", name="Generate new codes")
    back = page.locator("a.button", has_text="Back to the console")
    expect(download).to_have_class("button")
    expect(generate).to_have_class("button button--secondary")
    # Apart: below the codes' own actions, never on their row.
    assert generate.bounding_box()["y"] > back.bounding_box()["y"] + back.bounding_box()["height"]
    assert_accessible(page)
    back.click()
    expect(page).to_have_url(f"{live.url}/o/acme/members/")


def test_a_session_that_ends_in_a_dialog_comes_back_to_it_with_what_was_typed(
    live, page, window, member, sign_in
):
    from django.contrib.sessions.models import Session

    sign_in(member)
    page.goto(f"{live.url}/o/acme/api-keys/")
    page.get_by_role("button", name="Create API key").first.click()
    form = page.get_by_role("dialog", name="Create API key")
    form.get_by_label("Key name").fill("Typed before it ended")
    form.get_by_label("Description").fill("Nightly deploys")
    form.get_by_label("Expiration").select_option("60")
    form.get_by_label("MCP server").uncheck()
    Session.objects.all().delete()  # expired, or signed out elsewhere
    form.get_by_role("button", name="Create API key").click()

    expect(page.get_by_role("heading", name="Sign in to Genesis Console")).to_be_visible()
    expect(page.get_by_text("Your session ended. Sign in again")).to_be_visible()
    page.get_by_label("Email").fill(member.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()

    # Back in the dialog, as it was left.
    form = page.get_by_role("dialog", name="Create API key")
    expect(form.get_by_label("Key name")).to_have_value("Typed before it ended")
    expect(form.get_by_label("Description")).to_have_value("Nightly deploys")
    expect(form.get_by_label("Expiration")).to_have_value("60")
    expect(form.get_by_label("MCP server")).not_to_be_checked()
    expect(form.get_by_label("Genesis API")).to_be_checked()
    assert not ApiKey.objects.exists()
    form.get_by_role("button", name="Create API key").click()
    expect(page.get_by_role("dialog", name="API key created")).to_be_visible()
    key = ApiKey.objects.get()
    assert (key.name, key.description) == ("Typed before it ended", "Nightly deploys")
    assert "mcp:read" not in key.scopes
