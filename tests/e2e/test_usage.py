"""The usage pages in a browser: a key's chart and its table, and the organization's
overview with a stale key revoked from it; at a laptop's and a phone's width, in English
and Japanese, light and dark, with axe's checks."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from apikeys.models import ApiKey, KeyUsage

from .test_accessibility import assert_accessible
from .test_layout import assert_fits, set_language

CHART_NAME = {
    "en": "requests per day, last 30 days",
    "ja": "過去 30 日間の 1 日あたりのリクエスト数",
}
SHOW_TABLE = {"en": "Show the numbers as a table", "ja": "数値を表で表示"}
REVOKE = {"en": "Revoke", "ja": "失効"}


@pytest.fixture
def usage(owner, member, make_key):
    """The Owner's key with 5 API, 3 MCP and 2 scope-refused requests today and some on
    other days; a Member's key nobody ever used."""
    today = datetime.now(UTC).date()
    key = make_key(owner, "Deploy pipeline")
    for surface, outcome, number, days_ago in [
        ("api", "ok", 5, 0),
        ("mcp", "ok", 3, 0),
        ("api", "forbidden", 2, 0),
        ("api", "ok", 40, 6),
        ("api", "refused", 7, 6),
        ("mcp", "throttled", 4, 12),
    ]:
        KeyUsage.objects.create(key=key, date=today - timedelta(days=days_ago),
                                surface=surface, outcome=outcome, count=number)  # fmt: skip
    stale = make_key(member, "Forgotten script")
    return {"key": key, "stale": stale}


def check_chart(page, language):
    chart = page.get_by_role("img", name=CHART_NAME[language])
    expect(chart).to_be_visible()
    expect(page.locator(".usage-chart__legend li")).to_have_count(5)
    # Today's bar: three colours (API, MCP, missing a scope); six colours in all.
    assert page.locator(".usage-chart__bar").count() == 6
    box = chart.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]
    page.get_by_text(SHOW_TABLE[language]).click()
    today = page.locator(f'.usage-chart__table time[datetime="{datetime.now(UTC).date()}"]')
    row = today.locator("xpath=ancestor::tr")
    expect(row.locator("td")).to_have_text(["5", "3", "2", "0", "0", "10"])


def open_keys_page(page, live, membership, sign_in, language, scheme):
    page.emulate_media(color_scheme=scheme)
    set_language(page, live, language)
    sign_in(membership)
    page.goto(f"{live.url}/o/acme/api-keys/")


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_keys_usage_page(live, page, window, owner, usage, sign_in, language, scheme):
    open_keys_page(page, live, owner, sign_in, language, scheme)
    link_name = {
        "en": "Usage of API key Deploy pipeline",
        "ja": "API キー Deploy pipeline の利用状況",
    }
    page.locator("#my-keys").get_by_role("link", name=link_name[language]).click()
    expect(page).to_have_url(f"{live.url}/o/acme/api-keys/{usage['key'].pk}/usage/")
    check_chart(page, language)
    expect(page.locator("#usage-all td")).to_have_text(["54", "7", "61"])
    assert_fits(page, "a key's usage page")
    assert_accessible(page)


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_organization_overview(live, page, window, owner, usage, sign_in, language, scheme):
    open_keys_page(page, live, owner, sign_in, language, scheme)
    page.locator("nav.tabs").get_by_role(
        "link", name={"en": "Usage", "ja": "利用状況"}[language]
    ).click()
    expect(page).to_have_url(f"{live.url}/o/acme/usage/")
    check_chart(page, language)
    expect(page.locator("#busiest-keys")).to_contain_text("Deploy pipeline")
    expect(page.locator("#refused-keys")).to_contain_text("Deploy pipeline")
    stale_row = page.locator(f"#stale-key-{usage['stale'].pk}")
    expect(stale_row).to_contain_text("member@acme.test")
    expect(page.locator(f"#stale-key-{usage['key'].pk}")).to_have_count(0)  # used today
    assert_fits(page, "the usage overview")
    assert_accessible(page)

    # Revoke the stale key with the API keys page's dialog; the list refreshes in place.
    stale_row.locator(".table__actions button").click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text("Forgotten script")
    assert_accessible(page)
    dialog.get_by_role("button", name=REVOKE[language], exact=True).click()
    expect(stale_row).to_have_count(0)
    expect(page).to_have_url(f"{live.url}/o/acme/usage/")
    assert ApiKey.objects.get(pk=usage["stale"].pk).revoked_at is not None


def test_the_member_filter_stays_in_the_address(live, page, owner, usage, sign_in):
    sign_in(owner)
    page.goto(f"{live.url}/o/acme/usage/")
    page.get_by_label("Created by").fill("member@acme")
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(page).to_have_url(f"{live.url}/o/acme/usage/?member=member%40acme&q=")
    expect(page.locator("#busiest-keys")).not_to_contain_text("Deploy pipeline")
    expect(page.locator(f"#stale-key-{usage['stale'].pk}")).to_be_visible()
