"""Every page holds its layout with realistic long data: 100-character key names, long
emails and organization names, 30 keys, one person in 15 organizations. At a laptop's
1280 px and a phone's 375 px, in English and Japanese, nothing is wider than the window,
dialogs keep their buttons on screen, and dark mode passes the contrast checks."""

from datetime import timedelta

import pytest
from django.utils import formats, timezone
from playwright.sync_api import expect

from apikeys.models import ApiKey
from organizations import audit
from organizations.models import AuditAction, Role

from ..factories import (
    InvitationFactory,
    MembershipFactory,
    OrganizationFactory,
    make_service_account,
    make_service_key,
)
from .conftest import SIZES
from .test_accessibility import assert_accessible

WORKFLOW = "github.com/org/repo/.github/workflows/deploy.yml"


def long_name(prefix, n):
    """A name of exactly 100 characters, with no space to break at."""
    return f"{prefix}-{n:02d}-".ljust(100, "x")


@pytest.fixture
def long_data(owner, admin, member, make_key):
    """The Owner's view of an organization full of long text; returns the service account."""
    organization = owner.organization
    organization.name = "Acme Interplanetary Logistics, Research and Development Consortium"
    organization.save()
    owner.user.name = "Olivia Alexandrovna Featherstonehaugh-Montgomery"
    owner.user.email = "olivia.featherstonehaugh-montgomery@engineering.acme-interplanetary.example"
    owner.user.save()
    member.user.name = "Maximiliana Wolfeschlegelsteinhausenbergerdorff"
    member.user.email = "maximiliana.wolfeschlegelsteinhausenbergerdorff@subsidiary.example.com"
    member.user.save()
    for n in range(14):
        MembershipFactory(
            user=owner.user,
            role=Role.MEMBER,
            organization=OrganizationFactory(name=f"Globex Corporation Subsidiary Number {n:02d}"),
        )
    soon = timezone.now() + timedelta(days=80)
    for n in range(15):
        make_key(owner, long_name(WORKFLOW, n), expires_at=soon if n % 2 else None)
        make_key(member, long_name(f"{WORKFLOW}-member", n), allowed_ips="10.0.0.0/8 192.0.2.1")
    ApiKey.objects.filter(user=member.user).update(
        last_used_at=timezone.now() - timedelta(hours=3),
        last_used_surface="mcp",
        last_used_client="claude-code/1.0.33 (external, cli) node/22.11.0 linux",
    )
    account = make_service_account(
        organization, name=f"Deploy bot for {WORKFLOW} in production", actor=owner.user
    )
    make_service_key(account, owner, name=long_name(f"{WORKFLOW}-bot", 0))
    InvitationFactory(
        organization=organization,
        email="a.very.long.invitee.address.for.testing@subdomain.example-company.com",
    )
    audit.record(
        organization.pk,
        AuditAction.KEY_AUTO_REVOKED,
        actor_id=owner.user.pk,
        target=member.user.email,
        details={"reason": "member_removed", "keys": [long_name(WORKFLOW, n) for n in range(3)]},
    )
    return account


def page_paths(account):
    return [
        "/o/acme/api-keys/",
        "/o/acme/mcp-server/",
        "/o/acme/members/",
        "/o/acme/audit/",
        "/o/acme/usage/",
        "/o/acme/settings/",
        f"/o/acme/service-accounts/{account.user_id}/",
        "/accounts/profile/",
        "/accounts/password/change/",
        "/accounts/2fa/",
        "/accounts/sessions/",
    ]


def assert_fits(page, what):
    width = page.viewport_size["width"]
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{what} is {scroll_width} px wide in a {width} px window"
    # Nor does a table get by scrolling inside its card.
    scrolling = page.evaluate(
        "[...document.querySelectorAll('.card')]"
        ".filter(card => card.scrollWidth > card.clientWidth + 1).length"
    )
    assert not scrolling, f"{what}: {scrolling} card(s) scroll sideways"


def assert_on_screen(page, locator):
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    expect(locator.first).to_be_visible()
    for box in [element.bounding_box() for element in locator.all()]:
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, box


def set_language(page, live, language):
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live.url}])


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("size", SIZES)
def test_no_page_is_wider_than_the_window(live, page, owner, long_data, sign_in, language, size):
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    set_language(page, live, language)
    page.goto(f"{live.url}/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    assert_fits(page, "/accounts/login/")

    sign_in(owner)
    for path in page_paths(long_data):
        page.goto(f"{live.url}{path}")
        expect(page.locator("main")).to_be_visible()
        assert_fits(page, path)
    # Every tab is in sight (none past the edge), and so is the account menu, which shares
    # its row with the brand.
    page.goto(f"{live.url}/o/acme/api-keys/")
    tabs = page.locator("nav.tabs a")
    expect(tabs).to_have_count(6)
    assert_on_screen(page, tabs)
    assert_on_screen(page, page.locator(".user-menu > summary"))
    avatar = page.locator(".user-menu > summary").bounding_box()
    brand = page.locator(".topbar .brand").bounding_box()
    assert avatar["y"] < brand["y"] + brand["height"], "the avatar has no row of its own"


@pytest.mark.parametrize("language", ["en", "ja"])
def test_dialogs_fit_a_phone(live, page, owner, member, long_data, sign_in, language):
    page.set_viewport_size({"width": 375, "height": 812})
    set_language(page, live, language)
    sign_in(owner)
    page.goto(f"{live.url}/o/acme/api-keys/")

    # A long name is cut in its row, whole in its title, and whole in the dialog.
    key = ApiKey.objects.filter(user=member.user).first()
    name = page.locator(f"#org-key-{key.pk} .table__name .truncate")
    expect(name).to_have_attribute("title", key.name)
    assert name.evaluate("element => element.scrollHeight > element.clientHeight")
    page.locator(f"#org-key-{key.pk} .table__actions button").click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text(key.name)
    assert_on_screen(page, dialog.locator(".dialog__actions > *"))
    assert_fits(page, "the revoke dialog")
    dialog.locator("[data-dialog-close]").click()
    expect(dialog).to_have_count(0)

    page.locator(".page__header .dialog-opener button").click()
    assert_on_screen(page, dialog.locator(".dialog__actions > *"))
    assert_fits(page, "the create dialog")
    dialog.locator("[data-dialog-close]").click()

    page.goto(f"{live.url}/o/acme/members/")
    page.locator(f"#member-{member.pk} .table__actions button").click()
    assert_on_screen(page, dialog.locator(".dialog__actions > *"))
    assert_fits(page, "the remove dialog")


@pytest.mark.parametrize(
    "path",
    [
        "/o/acme/api-keys/",
        "/o/acme/mcp-server/",
        "/o/acme/members/",
        "/o/acme/audit/",
        "/o/acme/settings/",
    ],
)
def test_dark_mode_passes_the_accessibility_checks(live, page, owner, long_data, sign_in, path):
    page.emulate_media(color_scheme="dark")
    sign_in(owner)
    page.goto(f"{live.url}{path}")
    assert page.evaluate("getComputedStyle(document.documentElement).colorScheme") == "dark"
    assert_accessible(page)


def test_dark_mode_dialogs_and_sign_in(live, page, owner, member, long_data, sign_in):
    page.emulate_media(color_scheme="dark")
    page.goto(f"{live.url}/accounts/login/")
    assert page.evaluate("getComputedStyle(document.documentElement).colorScheme") == "dark"
    assert_accessible(page)
    sign_in(owner)
    page.goto(f"{live.url}/o/acme/api-keys/")
    key = ApiKey.objects.filter(user=member.user).first()
    page.locator(f"#org-key-{key.pk} .table__actions button").click()
    expect(page.locator("dialog[open]")).to_be_visible()
    assert_accessible(page)
    page.goto(f"{live.url}/accounts/profile/")
    assert_accessible(page)


def overlap(first, second) -> bool:
    """Whether two bounding boxes share any area."""
    return not (
        first["x"] + first["width"] <= second["x"]
        or second["x"] + second["width"] <= first["x"]
        or first["y"] + first["height"] <= second["y"]
        or second["y"] + second["height"] <= first["y"]
    )


def boxes(locator) -> list[dict]:
    """Where an element's text is drawn, line by line: its text's own boxes, which show
    text spilling out of a box too narrow for it (the element's box would not)."""
    return locator.evaluate(
        """element => {
            const range = document.createRange();
            range.selectNodeContents(element);
            return [...range.getClientRects()]
                .filter(r => r.width > 0)
                .map(r => ({x: r.x, y: r.y, width: r.width, height: r.height}));
        }"""
    )


def assert_apart(first, second):
    """No part of `first` is drawn over `second`, and both stay inside their cell."""
    cell = first.evaluate("element => element.closest('td').getBoundingClientRect().toJSON()")
    for one in boxes(first):
        for other in boxes(second):
            assert not overlap(one, other), (one, other)
    for box in boxes(first) + boxes(second):
        assert cell["left"] <= box["x"] and box["x"] + box["width"] <= cell["right"] + 0.5


def test_last_used_and_expiry_read_whole_at_any_width(
    live, page, window, member, make_key, sign_in
):
    key = make_key(member, "Deploy", expires_at=timezone.now() + timedelta(days=29, hours=1))
    ApiKey.objects.filter(pk=key.pk).update(
        last_used_at=timezone.now() - timedelta(seconds=5),
        last_used_surface="api",
        last_used_client="curl/7.88.1",
    )
    sign_in(member)
    page.goto(f"{live.url}/o/acme/api-keys/")
    row = page.locator(f"#key-{key.pk}")
    used = row.locator("td[data-label='Last used']")
    expect(used.locator(".muted")).to_contain_text("via API")
    assert_apart(used.locator("time"), used.locator(".muted"))
    expect(used).to_contain_text("Just now")
    expect(used).not_to_contain_text("0 minutes")
    expires = row.locator("td[data-label='Expires']")
    day = timezone.localtime(key.expires_at).date()
    expect(expires.locator("time")).to_have_text(formats.date_format(day, "DATE_FORMAT"))
    expect(expires).to_contain_text("in 4\xa0weeks")
    assert_apart(expires.locator("time"), expires.locator(".muted"))


def test_audit_targets_wrap_whole_instead_of_being_cut(
    live, page, window, owner, long_data, sign_in
):
    sign_in(owner)
    page.goto(f"{live.url}/o/acme/audit/?action=key_auto_revoked")
    target = page.locator("td[data-label='Target']").first
    expect(target).to_contain_text(long_name(WORKFLOW, 2))  # the last of the list, whole
    for element in [target, *target.locator("*").all()]:
        clipped = element.evaluate(
            "e => getComputedStyle(e).textOverflow === 'ellipsis' || e.scrollWidth > e.clientWidth"
        )
        assert not clipped, element.evaluate("e => e.outerHTML.slice(0, 120)")
    cell = target.bounding_box()
    for box in boxes(target):
        assert cell["x"] <= box["x"] and box["x"] + box["width"] <= cell["x"] + cell["width"] + 0.5
    assert_fits(page, "the audit log")


def same_row(*boxes) -> bool:
    """Whether the boxes share a line: each one's vertical span crosses the others'."""
    return all(
        one["y"] < other["y"] + other["height"] and other["y"] < one["y"] + one["height"]
        for one in boxes
        for other in boxes
    )


def test_a_phones_header_is_one_row_with_the_language_in_the_account_menu(
    live, page, owner, long_data, sign_in
):
    page.set_viewport_size({"width": 375, "height": 812})
    sign_in(owner)
    page.goto(f"{live.url}/o/acme/api-keys/")
    brand = page.locator(".topbar > .brand").bounding_box()
    switcher = page.locator(".switcher > summary").bounding_box()
    avatar = page.locator(".user-menu > summary").bounding_box()
    assert same_row(brand, switcher, avatar), (brand, switcher, avatar)
    expect(page.locator("#language-bar")).to_be_hidden()
    tabs = page.locator("nav.tabs").bounding_box()
    assert tabs["y"] >= avatar["y"] + avatar["height"]
    page.locator(".user-menu > summary").click()
    language = page.locator(".user-menu").get_by_label("Language")
    expect(language).to_be_visible()
    language.select_option("ja")  # applies at once: no button to press
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_role("heading", name="API キー", level=1)).to_be_visible()


def test_the_language_applies_when_picked(live, page, window, member, sign_in):
    page.goto(f"{live.url}/accounts/login/")  # signed out: in the header at any width
    language = page.locator("#language-bar")
    expect(language).to_be_visible()
    expect(page.locator(".language--bar .button")).to_be_hidden()
    language.select_option("ja")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    sign_in(member)
    page.goto(f"{live.url}/o/acme/api-keys/")
    if window == "phone":
        page.locator(".user-menu > summary").click()
        language = page.locator("#language-menu")
    expect(language).to_have_value("ja")
    # The arrow keys move through the choices without changing the page under them;
    # Enter applies the one reached.
    language.focus()
    language.press("ArrowUp")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    language.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "en")
