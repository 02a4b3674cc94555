"""The Members page in a browser: a role picked in a member's row is applied after one
confirmation, at a laptop's and a phone's width."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from organizations.models import Membership, Role

from ..factories import MembershipFactory
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


CONTROLS = "main :is(a[href], button, select, input:not([type=hidden]), textarea, [tabindex='0'])"


def assert_covers_no_control(page):
    """The messages' boxes share no area with any control shown on the page."""
    boxes = page.evaluate(
        """selector => {
            const shown = element => {
                const r = element.getBoundingClientRect();
                return r.width > 0 && r.height > 0 ? r.toJSON() : null;
            };
            const messages = [...document.querySelectorAll('#messages .message')].map(shown);
            const controls = [...document.querySelectorAll(selector)]
                .filter(element => !element.closest('#messages')).map(shown);
            return {messages: messages.filter(Boolean), controls: controls.filter(Boolean)};
        }""",
        CONTROLS,
    )
    assert boxes["messages"] and boxes["controls"]
    for message in boxes["messages"]:
        for control in boxes["controls"]:
            apart = (
                message["right"] <= control["left"]
                or control["right"] <= message["left"]
                or message["bottom"] <= control["top"]
                or control["bottom"] <= message["top"]
            )
            assert apart, (message, control)


@pytest.fixture
def many_members(owner):
    return [
        MembershipFactory(organization=owner.organization, user__name=f"Person {n:02d}")
        for n in range(40)
    ]


def test_a_message_docks_in_the_page_where_it_covers_no_control(
    live, page, window, owner, many_members, sign_in
):
    sign_in(owner)
    page.goto(f"{live.url}/o/acme/members/")
    page.get_by_label("Email", exact=True).fill("nina@example.com")
    page.get_by_role("button", name="Send invitation").click()
    message = page.locator("#messages .message")
    expect(message).to_contain_text("We sent an invitation to nina@example.com")
    expect(page.locator("#messages")).not_to_have_class(re.compile("messages--floating"))
    assert_covers_no_control(page)
    # Scrolled down to the last rows, it is out of sight, and covers nothing there either.
    page.get_by_role("row", name=re.compile("Person 39")).scroll_into_view_if_needed()
    assert_covers_no_control(page)


def test_a_message_far_down_the_page_shows_a_moment_then_only_in_the_dock(
    live, page, window, owner, many_members, sign_in
):
    # The page's clock stands still once it has loaded: only run_for moves it.
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    page.clock.install(time=start)
    sign_in(owner)
    page.goto(f"{live.url}/o/acme/members/")
    page.clock.pause_at(start + timedelta(hours=1))
    last = many_members[-1]
    page.get_by_role("button", name=f"Remove member {last.user.name}").click()
    page.get_by_role("dialog", name="Remove member").get_by_role("button", name="Remove").click()
    messages = page.locator("#messages")
    expect(messages).to_contain_text(f"{last.user.name} was removed")
    # Its dock is out of sight up there: it shows over the window's corner for now...
    expect(messages).to_have_class(re.compile("messages--floating"))
    expect(messages.locator(".message")).to_be_in_viewport()
    # ...and a few seconds later only in the dock, over no control.
    page.clock.run_for(6000)
    # (The list has come back, focus on the row before the removed one.)
    expect(page.get_by_role("button", name="Remove member Person 38")).to_be_focused()
    expect(messages).not_to_have_class(re.compile("messages--floating"))
    expect(messages.locator(".message")).not_to_be_in_viewport()
    assert_covers_no_control(page)
    page.evaluate("window.scrollTo(0, 0)")
    expect(messages.locator(".message")).to_be_in_viewport()
    assert_covers_no_control(page)
