"""An Admin gives automation its own identity in the browser: a service account made on
the Members page, a key for it, the key working, refused while the account is disabled
and revoked when it is deleted; its page and dialogs accessible."""

from playwright.sync_api import expect

from apikeys.models import ApiKey, RevokeReason

from ..calls import me
from .test_accessibility import assert_accessible
from .test_api_keys import create_key


def test_an_admin_runs_a_service_account_from_the_members_page(live, page, admin, member, sign_in):
    sign_in(admin)
    page.goto(f"{live.url}/o/acme/members/")
    page.get_by_role("button", name="Create service account").click()
    dialog = page.get_by_role("dialog", name="Create service account")
    assert_accessible(page)
    dialog.get_by_label("Name").fill("Deploy bot")
    dialog.get_by_label("Description").fill("Ships main from GitHub Actions")
    dialog.get_by_role("button", name="Create service account").click()

    expect(page.get_by_role("heading", name="Deploy bot", level=1)).to_be_visible()
    expect(page.get_by_text("Create its first API key here")).to_be_visible()
    assert_accessible(page)
    reveal, plaintext = create_key(page, "Production deploy")
    expect(reveal.get_by_text("of the service account Deploy bot")).to_be_visible()
    reveal.get_by_role("link", name="Done").click()
    row = page.locator("#account-keys tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Adam Admin")
    assert me(live.url, plaintext).status_code == 200

    page.get_by_role("button", name="Disable").click()
    expect(page.get_by_text("Its API keys are refused until you enable it again")).to_be_visible()
    assert me(live.url, plaintext).status_code == 401
    page.get_by_role("button", name="Enable").click()
    assert me(live.url, plaintext).status_code == 200

    page.get_by_role("button", name="Delete service account").click()
    confirm = page.get_by_role("dialog", name="Delete service account")
    expect(confirm).to_contain_text("Production deploy")
    assert_accessible(page)
    confirm.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("heading", name="Members", level=1)).to_be_visible()
    expect(page.get_by_text("Its API keys were revoked")).to_be_visible()
    assert me(live.url, plaintext).status_code == 401
    assert ApiKey.objects.get().revoke_reason == RevokeReason.ACCOUNT_DELETED
