"""The SCIM tokens in Settings, in a real browser: made, shown once, listed, revoked;
accessible, and no sideways scrolling at 375 px."""

import re

from playwright.sync_api import expect

from scim import tokens

from .test_accessibility import assert_accessible


def test_an_owner_makes_lists_and_revokes_a_scim_token(live, page, owner, sign_in):
    tokens.create_token(owner.organization, "Old Entra", actor=None)
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in(owner)
    page.goto(f"{live.url}/o/acme/settings/")
    section = page.locator("#scim")
    section.get_by_label("Name").fill("Okta")
    section.get_by_role("button", name="Create SCIM token").click()
    secret = page.locator("#new-scim-token")
    expect(secret).to_have_value(re.compile(r"^scim_gns_"))
    raw = secret.input_value()
    assert tokens.authenticate(raw).name == "Okta"
    assert_accessible(page)
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("link", name="Done").click()  # not copied yet: asked first
    expect(page).to_have_url(f"{live.url}/o/acme/settings/")
    assert asked
    expect(section.get_by_text("Okta", exact=True)).to_be_visible()
    assert raw not in page.content()
    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    section.locator("summary").first.click()  # the newest: Okta's
    section.get_by_role("button", name="Revoke token").first.click()
    expect(page.get_by_text("SCIM token “Okta” revoked.")).to_be_visible()
    assert tokens.authenticate(raw) is None
