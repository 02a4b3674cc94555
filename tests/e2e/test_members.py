"""The Members page in a browser: a role picked in a member's row is applied after one
confirmation, at a laptop's and a phone's width."""

from playwright.sync_api import expect

from organizations.models import Membership, Role

from .test_accessibility import assert_accessible
from .test_api_keys import confirm_with_the_keyboard


def test_a_role_changes_with_one_confirmation(live, page, window, owner, member, sign_in):
    sign_in(owner)
    page.goto(f"{live.url}/o/acme/members/")
    role = page.get_by_label("Role of Mia Member")
    row = page.locator(f"#member-{member.pk}")
    expect(row.get_by_role("button", name="Save")).to_have_count(0)
    expect(row.get_by_role("button", name="Change role of Mia Member")).to_be_hidden()

    # Picked, then not confirmed: nothing changes, and the row says so again.
    role.select_option(Role.OWNER)
    dialog = page.get_by_role("dialog", name="Change role")
    expect(dialog).to_contain_text("Make Mia Member (member@acme.test) Owner instead of Member?")
    assert_accessible(page)
    dialog.get_by_role("link", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(role).to_have_value(Role.MEMBER)
    assert Membership.objects.get(pk=member.pk).role == Role.MEMBER

    # Picked and confirmed once: applied, the row and a message say so.
    role.select_option(Role.ADMIN)
    dialog.get_by_role("button", name="Change role").click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_text("Mia Member is now Admin.")).to_be_visible()
    expect(page.get_by_label("Role of Mia Member")).to_have_value(Role.ADMIN)
    assert Membership.objects.get(pk=member.pk).role == Role.ADMIN


def test_with_the_keyboard_stepping_through_roles_asks_only_on_enter(
    live, page, owner, member, sign_in
):
    sign_in(owner)
    page.goto(f"{live.url}/o/acme/members/")
    role = page.get_by_label("Role of Mia Member")
    role.focus()
    role.press("ArrowUp")  # Member -> Admin, on a closed list: not asked yet
    role.press("ArrowUp")  # -> Owner
    expect(page.get_by_role("dialog")).to_have_count(0)
    role.press("Enter")
    dialog = page.get_by_role("dialog", name="Change role")
    expect(dialog).to_contain_text("Owner instead of Member?")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(role).to_have_value(Role.MEMBER)
    expect(role).to_be_focused()
    assert Membership.objects.get(pk=member.pk).role == Role.MEMBER


def test_after_removing_a_member_with_the_keyboard_focus_goes_to_the_next_row(
    live, page, window, owner, admin, member, sign_in
):
    sign_in(owner)
    page.goto(f"{live.url}/o/acme/members/")
    # Listed by name: Adam Admin, Mia Member, Olivia Owner (who can't remove herself).
    confirm_with_the_keyboard(page, "Remove member Adam Admin", "Remove member", "Remove")
    expect(page.get_by_role("button", name="Remove member Mia Member")).to_be_focused()
    assert not Membership.objects.filter(pk=admin.pk).exists()
