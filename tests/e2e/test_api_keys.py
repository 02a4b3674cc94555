"""Every flow of the reference page, in a real browser, the way a person does it."""

import re

import pytest
from django.utils import formats, timezone, translation
from playwright.sync_api import expect

from apikeys.models import ApiKey

from ..calls import me
from ..factories import PASSWORD

KEY = re.compile(r"gns_[0-9A-Za-z]{38}")


def open_keys_page(page, live):
    page.goto(f"{live.url}/o/acme/api-keys/")
    expect(page.get_by_role("heading", name="API keys", level=1)).to_be_visible()


def create_key(page, name):
    """Create API key, Key name, Create API key; returns the key the dialog shows."""
    page.get_by_role("button", name="Create API key").first.click()
    form = page.get_by_role("dialog", name="Create API key")
    form.get_by_label("Key name").fill(name)
    form.get_by_role("button", name="Create API key").click()
    reveal = page.get_by_role("dialog", name="API key created")
    expect(reveal).to_be_visible()
    plaintext = reveal.get_by_label("API key", exact=True).input_value()
    assert KEY.fullmatch(plaintext)
    return reveal, plaintext


def test_a_member_creates_copies_and_never_sees_the_key_again(live, page, member):
    page.goto(f"{live.url}/accounts/login/")
    page.get_by_label("Email").fill(member.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("You have no API keys in Acme yet")).to_be_visible()

    reveal, plaintext = create_key(page, "CI pipeline")
    expect(reveal.get_by_text("You won't be able to see this key again")).to_be_visible()
    reveal.get_by_role("button", name="Copy", exact=True).click()
    expect(reveal.get_by_role("button", name="Copied", exact=True)).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == plaintext

    reveal.get_by_role("link", name="Done").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    key = ApiKey.objects.get()
    row = page.get_by_role("row", name=re.compile("CI pipeline"))
    expect(row).to_contain_text(key.hint)
    expect(row).to_contain_text("Never")
    assert plaintext not in page.content()

    page.reload()
    assert plaintext not in page.content()
    page.get_by_role("link", name="Members").click()
    expect(page.get_by_role("heading", name="Members", level=1)).to_be_visible()
    page.go_back()
    expect(page.get_by_role("row", name=re.compile("CI pipeline"))).to_be_visible()
    assert plaintext not in page.content()


def test_leaving_with_the_dialog_open_and_coming_back_never_shows_the_key(
    live, page, member, sign_in
):
    sign_in(member)
    open_keys_page(page, live)
    reveal, plaintext = create_key(page, "Leaving")
    asked = []

    def answer(question):
        asked.append(question.message)
        question.accept()

    page.once("dialog", answer)  # "Have you copied the key?": yes, leave
    reveal.get_by_role("link", name="Set up an MCP client").click()
    expect(page.get_by_role("heading", name="MCP server", level=1)).to_be_visible()
    assert asked and "Have you copied the key?" in asked[0]
    page.go_back()
    expect(page.get_by_role("heading", name="API keys", level=1)).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Leaving"))).to_be_visible()
    assert plaintext not in page.content()
    page.go_forward()
    page.go_back()
    assert plaintext not in page.content()


def test_the_key_works_until_it_is_deleted(live, page, member, sign_in):
    sign_in(member)
    open_keys_page(page, live)
    reveal, plaintext = create_key(page, "Short-lived")
    reveal.get_by_role("link", name="Done").click()
    assert me(live.url, plaintext).status_code == 200

    page.get_by_role("button", name="Delete API key Short-lived").click()
    confirm = page.get_by_role("dialog", name="Delete API key")
    expect(confirm).to_contain_text("Short-lived")
    confirm.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_role("row", name=re.compile("Short-lived"))).to_have_count(0)
    expect(page.get_by_role("status")).to_contain_text("deleted")
    assert me(live.url, plaintext).status_code == 401


def test_members_do_not_get_the_organization_section(live, page, member, admin, sign_in, make_key):
    make_key(admin, "Admin's deploy key")
    sign_in(member)
    open_keys_page(page, live)
    expect(page.get_by_role("heading", name="My API keys")).to_be_visible()
    expect(page.get_by_role("heading", name="Organization API Keys")).to_have_count(0)
    assert "Admin's deploy key" not in page.content()


def test_an_admin_sees_every_key_and_revokes_one(live, page, admin, member, sign_in, make_key):
    key = make_key(member, "Mia's laptop")
    sign_in(admin)
    open_keys_page(page, live)
    section = page.get_by_role("region", name="Organization API Keys")
    row = section.get_by_role("row", name=re.compile("Mia's laptop"))
    expect(row).to_contain_text("Mia Member")
    expect(row).to_contain_text("member@acme.test")
    with translation.override("en"):
        created = formats.date_format(timezone.localtime(key.created_at), "DATE_FORMAT")
    expect(row).to_contain_text(created)
    expect(section.get_by_role("columnheader", name="Created by")).to_be_visible()
    assert me(live.url, key.plaintext).status_code == 200

    row.get_by_role("button", name="Revoke API key Mia's laptop").click()
    dialog = page.get_by_role("dialog", name="Revoke API key")
    expect(dialog).to_contain_text("Mia Member")
    dialog.get_by_role("button", name="Revoke").click()
    expect(section.get_by_role("row", name=re.compile("Mia's laptop"))).to_have_count(0)
    assert me(live.url, key.plaintext).status_code == 401


def test_removing_a_member_revokes_their_keys(live, page, owner, member, sign_in, make_key):
    keys = [make_key(member, "Mia one"), make_key(member, "Mia two")]
    sign_in(owner)
    open_keys_page(page, live)
    section = page.get_by_role("region", name="Organization API Keys")
    expect(section.get_by_role("row", name=re.compile("Mia one"))).to_be_visible()

    page.get_by_role("link", name="Members").click()
    page.get_by_role("button", name="Remove member Mia Member").click()
    dialog = page.get_by_role("dialog", name="Remove member")
    expect(dialog).to_contain_text("revoked")
    dialog.get_by_role("button", name="Remove").click()
    expect(page.get_by_role("row", name=re.compile("Mia Member"))).to_have_count(0)

    page.get_by_role("link", name="API keys").click()
    expect(section.get_by_role("row", name=re.compile("Mia"))).to_have_count(0)
    for key in keys:
        assert me(live.url, key.plaintext).status_code == 401


def focused(page) -> str:
    return page.evaluate(
        "(() => { const e = document.activeElement;"
        " return e.getAttribute('aria-label') || e.labels?.[0]?.textContent"
        " || e.textContent.trim(); })()"
    )


def test_the_keyboard_alone_creates_copies_and_closes(live, page, member, sign_in):
    sign_in(member)
    open_keys_page(page, live)
    for _ in range(30):
        page.keyboard.press("Tab")
        if focused(page) == "Create API key":
            break
    else:
        pytest.fail("Tab never reached Create API key")

    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Create API key")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Key name")).to_be_focused()
    page.keyboard.type("Typed by keyboard")
    page.keyboard.press("Enter")

    reveal = page.get_by_role("dialog", name="API key created")
    copy = reveal.get_by_role("button", name="Copy", exact=True)
    expect(copy).to_be_focused()
    plaintext = reveal.get_by_label("API key", exact=True).input_value()
    page.keyboard.press("Enter")
    expect(reveal.get_by_role("button", name="Copied", exact=True)).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == plaintext

    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    # Focus goes back to the button that opened the dialog (when its close event runs).
    expect(page.get_by_role("button", name="Create API key").first).to_be_focused()
    assert plaintext not in page.content()


def test_focus_stays_in_the_dialog_and_cancel_returns_it(live, page, member, sign_in, make_key):
    make_key(member, "Kept")
    sign_in(member)
    open_keys_page(page, live)
    page.get_by_role("button", name="Delete API key Kept").focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Delete API key")
    expect(dialog).to_be_visible()
    # Round and round: never the page behind, never nowhere (the body).
    for _ in range(8):
        page.keyboard.press("Tab")
        assert page.evaluate("!!document.activeElement.closest('dialog')")
    for _ in range(8):
        page.keyboard.press("Shift+Tab")
        assert page.evaluate("!!document.activeElement.closest('dialog')")
    dialog.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete API key Kept")).to_be_focused()
    assert ApiKey.objects.get().revoked_at is None


def test_a_dialogs_own_url_opens_it_with_javascript_too(live, page, member, sign_in):
    # Where an opener was used before the page's script ran, or the URL was shared.
    sign_in(member)
    page.goto(f"{live.url}/o/acme/api-keys/create/")
    dialog = page.get_by_role("dialog", name="Create API key")
    expect(dialog).to_be_visible()
    # The page's script makes it modal once it runs.
    page.wait_for_function("document.querySelector('dialog[data-dialog]')?.matches(':modal')")
    expect(dialog.get_by_label("Key name")).to_be_focused()
    page.keyboard.type("Shared link")
    page.keyboard.press("Enter")
    reveal = page.get_by_role("dialog", name="API key created")
    expect(reveal.get_by_role("button", name="Copy", exact=True)).to_be_focused()
    # Escape before copying asks once; "no" keeps the key on screen, the next Escape goes.
    asked = []

    def answer(question):
        asked.append(question.message)
        question.dismiss()

    page.on("dialog", answer)
    page.keyboard.press("Escape")
    expect(reveal).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert len(asked) == 1
    # Reload shows the list, and never posts the form again.
    expect(page).to_have_url(f"{live.url}/o/acme/api-keys/")
    page.reload()
    expect(page.get_by_role("heading", name="API keys", level=1)).to_be_visible()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_role("row", name=re.compile("Shared link"))).to_be_visible()
    assert ApiKey.objects.filter(name="Shared link").count() == 1


def test_the_create_dialog_shows_what_the_choice_needs(live, page, member, sign_in):
    sign_in(member)
    open_keys_page(page, live)
    page.get_by_role("button", name="Create API key").first.click()
    dialog = page.get_by_role("dialog", name="Create API key")
    expiration = dialog.get_by_label("Expiration")
    expect(expiration).to_have_value("30")
    expect(dialog.get_by_label("Expiry date")).to_be_hidden()
    expiration.select_option("custom")
    expect(dialog.get_by_label("Expiry date")).to_be_visible()
    expiration.select_option("never")
    expect(dialog.get_by_label("Expiry date")).to_be_hidden()
    expect(dialog.get_by_text("A key that never expires")).to_be_visible()
    name = dialog.get_by_label("Key name")
    name.fill("x" * 101)  # not cut: counted, then refused with its length
    expect(dialog.get_by_text("101 / 100")).to_be_visible()
    dialog.get_by_role("button", name="Create API key").click()
    expect(dialog.get_by_text("this one has 101")).to_be_visible()
    expect(name).to_have_value("x" * 101)


def test_a_message_stays_until_dismissed(live, page, member, sign_in, make_key):
    make_key(member, "Old laptop")
    sign_in(member)
    open_keys_page(page, live)
    page.get_by_role("button", name="Delete API key Old laptop").click()
    # The lists refresh after a delete: the message outlives that refresh.
    with page.expect_response(lambda response: "/api-keys/mine/" in response.url):
        dialog = page.get_by_role("dialog", name="Delete API key")
        dialog.get_by_role("button", name="Delete").click()
    message = page.get_by_role("status").get_by_text("deleted. It no longer works.")
    expect(message).to_be_visible()
    page.get_by_role("button", name="Dismiss").click()
    expect(message).to_have_count(0)


def confirm_with_the_keyboard(page, action: str, dialog: str, confirm: str):
    """Enter on the row's `action` button, then Enter on the `confirm` button of the
    `dialog` it opens, as a keyboard user does."""
    page.get_by_role("button", name=action).focus()
    page.keyboard.press("Enter")
    page.get_by_role("dialog", name=dialog).get_by_role("button", name=confirm).focus()
    page.keyboard.press("Enter")


def test_after_deleting_with_the_keyboard_focus_goes_to_the_next_rows_action(
    live, page, window, member, admin, sign_in, make_key
):
    for name in ("First", "Second", "Third"):  # listed newest first: Third, Second, First
        make_key(member, name)
    sign_in(member)
    open_keys_page(page, live)
    confirm_with_the_keyboard(page, "Delete API key Second", "Delete API key", "Delete")
    expect(page.get_by_role("row", name=re.compile("Second"))).to_have_count(0)
    # The same action, on the row that was next: a keyboard user carries on from there.
    expect(page.get_by_role("button", name="Delete API key First")).to_be_focused()
    confirm_with_the_keyboard(page, "Delete API key First", "Delete API key", "Delete")
    # No row after it: the one before.
    expect(page.get_by_role("button", name="Delete API key Third")).to_be_focused()
    confirm_with_the_keyboard(page, "Delete API key Third", "Delete API key", "Delete")
    # The list is empty now: its heading.
    expect(page.get_by_role("heading", name="My API keys")).to_be_focused()


def test_after_revoking_with_the_keyboard_focus_stays_in_the_organizations_list(
    live, page, window, member, admin, sign_in, make_key
):
    make_key(member, "Older")
    make_key(member, "Newer")
    sign_in(admin)
    open_keys_page(page, live)
    confirm_with_the_keyboard(page, "Revoke API key Newer", "Revoke API key", "Revoke")
    expect(page.get_by_role("button", name="Revoke API key Older")).to_be_focused()
