"""The console's usage pages: a key's usage (its owner; the organization's Admins and
Owners) and the organization's overview with its stale keys (Admins and Owners)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from pytest_django.asserts import assertRedirects

from apikeys import services
from apikeys.models import ApiKey, KeyUsage

from ..factories import make_service_account, make_service_key

TODAY = datetime.now(UTC).date


def usage_url(key):
    return f"/o/acme/api-keys/{key.pk}/usage/"


OVERVIEW = "/o/acme/usage/"


def count(key, surface, outcome, number, days_ago=0):
    KeyUsage.objects.create(
        key=key, date=TODAY() - timedelta(days=days_ago), surface=surface, outcome=outcome,
        count=number,
    )  # fmt: skip


def totals_row(page: str, outcome: str) -> str:
    start = page.index(f'id="usage-{outcome}"')
    return page[start : page.index("</tr>", start)]


def cells(row: str) -> list[str]:
    return [cell.split(">", 1)[1].split("<", 1)[0] for cell in row.split("<td")[1:]]


# A key's usage page ---------------------------------------------------------------------


def test_five_api_three_mcp_and_two_forbidden_show_as_5_3_and_2(member, client_for, make_key):
    key = make_key(member, "Deploy")
    count(key, "api", "ok", 5)
    count(key, "mcp", "ok", 3)
    count(key, "api", "forbidden", 2)
    page = client_for(member).get(usage_url(key)).text
    assert cells(totals_row(page, "ok")) == ["5", "3", "8"]
    assert cells(totals_row(page, "forbidden")) == ["2", "0", "2"]
    assert cells(totals_row(page, "all")) == ["7", "3", "10"]
    # The chart's bars, and its table alternative, today's row: API 5, MCP 3, scope 2.
    assert page.count('class="usage-chart__bar usage-chart__bar--api"') == 1
    assert page.count('class="usage-chart__bar usage-chart__bar--forbidden"') == 1
    today_row = page[page.index(f'datetime="{TODAY().isoformat()}"') :]
    assert cells(today_row[: today_row.index("</tr>")]) == ["5", "3", "2", "0", "0", "10"]
    assert 'role="img"' in page and '<title id="key-chart-title">' in page


def test_days_outside_the_last_30_are_not_shown(member, client_for, make_key):
    key = make_key(member)
    count(key, "api", "ok", 4, days_ago=29)
    count(key, "api", "ok", 100, days_ago=30)
    page = client_for(member).get(usage_url(key)).text
    assert cells(totals_row(page, "ok")) == ["4", "0", "4"]
    assert page.count("<time datetime=") >= 30


def test_the_page_shows_the_clients_and_addresses_recorded(member, client_for, make_key):
    key = make_key(member)
    ApiKey.objects.filter(pk=key.pk).update(
        last_used_at=timezone.now() - timedelta(hours=2), last_used_surface="mcp",
        last_used_client="claude-code/1.0", last_used_ip="203.0.113.7",
        last_refused_at=timezone.now() - timedelta(hours=1), last_refused_ip="198.51.100.9",
    )  # fmt: skip
    page = client_for(member).get(usage_url(key)).text
    clients = page[page.index('id="clients"') :]
    for shown in ["claude-code/1.0", "203.0.113.7", "198.51.100.9", "MCP"]:
        assert shown in clients


def test_a_never_used_key_says_so(member, client_for, make_key):
    page = client_for(member).get(usage_url(make_key(member))).text
    assert "Never" in page[page.index('id="clients"') :]


def test_its_owner_sees_a_revoked_keys_usage(member, client_for, make_key):
    key = make_key(member)
    count(key, "api", "refused", 6)
    services.revoke_key(key, member.user)
    page = client_for(member).get(usage_url(key)).text
    assert cells(totals_row(page, "refused")) == ["6", "0", "6"]
    assert "Revoked" in page


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_admins_and_owners_see_any_key_of_their_organization(team, client_for, make_key, who):
    key = make_key(team["member"], "Member's key")
    count(key, "mcp", "ok", 9)
    response = client_for(team[who]).get(usage_url(key))
    assert response.status_code == 200
    assert cells(totals_row(response.text, "ok")) == ["0", "9", "9"]
    assert "member@acme.test" in response.text  # whose key it is


def test_admins_see_a_service_accounts_key(owner, admin, client_for):
    account = make_service_account(owner.organization, name="Deploy bot", actor=owner.user)
    key = make_service_key(account, owner)
    response = client_for(admin).get(usage_url(key))
    assert response.status_code == 200 and "Deploy bot" in response.text


@pytest.mark.parametrize("who", ["member", "outsider"])
def test_another_persons_key_is_404(team, client_for, make_key, who):
    key = make_key(team["owner"])
    assert client_for(team[who]).get(usage_url(key)).status_code == 404


def test_a_key_of_another_organization_is_404_even_to_its_admin(team, client_for, make_key):
    key = make_key(team["outsider"])
    assert client_for(team["owner"]).get(usage_url(key)).status_code == 404
    assert (
        client_for(team["owner"]).get("/o/acme/api-keys/99999999999999999999/usage/").status_code
        == 404
    )


def test_anonymous_is_sent_to_sign_in(client, member, make_key):
    url = usage_url(make_key(member))
    assertRedirects(client.get(url), f"/accounts/login/?next={url}", fetch_redirect_response=False)


def test_the_usage_page_is_read_only(member, client_for, make_key):
    assert client_for(member).post(usage_url(make_key(member))).status_code == 405


def test_a_keys_page_costs_the_same_queries_with_many_rows(
    member, client_for, make_key, django_assert_max_num_queries
):
    key = make_key(member)
    client = client_for(member)
    client.get(usage_url(key))  # the session's first request writes it
    for days_ago in range(30):
        for surface in ("api", "mcp"):
            for outcome in ("ok", "forbidden", "refused", "throttled"):
                count(key, surface, outcome, days_ago + 1, days_ago=days_ago)
    # (One of them: whether the organization requires SSO of this session, sso.middleware.)
    with django_assert_max_num_queries(7):
        assert client.get(usage_url(key)).status_code == 200


@pytest.mark.parametrize(("who", "shown"), [("member", 1), ("owner", 2)])
def test_key_rows_link_to_their_usage(team, client_for, make_key, who, shown):
    key = make_key(team[who])
    others = make_key(team["admin"])
    page = client_for(team[who]).get("/o/acme/api-keys/").text
    # Own list; an Owner's key is in the organization's list too, and so are others'.
    assert page.count(f'href="{usage_url(key)}"') == shown
    assert page.count(f'href="{usage_url(others)}"') == shown - 1


# The organization overview --------------------------------------------------------------


@pytest.fixture
def used(member, owner, make_key):
    """Keys of the member and the owner with requests."""
    busy = make_key(member, "Busy")
    quiet = make_key(owner, "Quiet")
    old = make_key(member, "Old secret")
    count(busy, "api", "ok", 40)
    count(busy, "mcp", "ok", 2, days_ago=3)
    count(quiet, "api", "ok", 1)
    count(old, "api", "refused", 12)
    services.revoke_key(old, member.user)
    return {"busy": busy, "quiet": quiet, "old": old}


def section(page: str, id_: str) -> str:
    start = page.index(f'id="{id_}"')
    return page[start : page.index("</section>", start)]


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_admins_and_owners_see_the_overview(team, client_for, used, who):
    response = client_for(team[who]).get(OVERVIEW)
    assert response.status_code == 200
    page = response.text
    assert cells(totals_row(page, "ok")) == ["41", "2", "43"]
    assert cells(totals_row(page, "refused")) == ["12", "0", "12"]
    busiest = section(page, "busiest-keys")
    assert busiest.index("Busy") < busiest.index("Old secret") < busiest.index("Quiet")
    refused = section(page, "refused-keys")
    assert "Old secret" in refused and "Busy" not in refused and "12" in refused
    assert 'aria-current="page">Usage<' in page


@pytest.mark.parametrize("who", ["member", "outsider"])
def test_members_and_outsiders_may_not_see_the_overview(team, client_for, used, who):
    status = client_for(team[who]).get(OVERVIEW).status_code
    assert status == (403 if who == "member" else 404)


def test_members_have_no_usage_tab(member, client_for):
    assert "/o/acme/usage/" not in client_for(member).get("/o/acme/api-keys/").text


def test_anonymous_is_sent_to_sign_in_from_the_overview(client, org):
    response = client.get(OVERVIEW)
    assertRedirects(response, f"/accounts/login/?next={OVERVIEW}", fetch_redirect_response=False)


def test_the_overview_filters_by_member_in_the_url(owner, client_for, used):
    page = client_for(owner).get(OVERVIEW, {"member": "owner@acme"}).text
    assert cells(totals_row(page, "ok")) == ["1", "0", "1"]
    assert "Busy" not in section(page, "busiest-keys")
    assert 'value="owner@acme"' in page


def test_stale_keys(owner, member, client_for, make_key):
    now = timezone.now()
    never = make_key(member, "Never used")
    old = make_key(member, "Used 31 days ago")
    recent = make_key(member, "Used yesterday")
    revoked = make_key(member, "Revoked unused")
    services.revoke_key(revoked, member.user)
    expired = make_key(member, "Expired unused")
    ApiKey.objects.filter(pk=old.pk).update(last_used_at=now - timedelta(days=31))
    ApiKey.objects.filter(pk=recent.pk).update(last_used_at=now - timedelta(days=1))
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=now - timedelta(days=1))
    stale = section(client_for(owner).get(OVERVIEW).text, "stale-keys")
    assert f'id="stale-key-{never.pk}"' in stale and f'id="stale-key-{old.pk}"' in stale
    for fresh_or_gone in (recent, revoked, expired):
        assert f'id="stale-key-{fresh_or_gone.pk}"' not in stale
    assert stale.index(f"stale-key-{never.pk}") < stale.index(f"stale-key-{old.pk}")
    assert "member@acme.test" in stale  # each with its owner
    assert f"/o/acme/usage/{never.pk}/revoke/" in stale


def test_revoke_from_the_stale_keys_revokes_through_the_service(
    owner, member, client_for, make_key
):
    key = make_key(member, "Never used")
    client = client_for(owner)
    dialog = client.get(f"/o/acme/usage/{key.pk}/revoke/", HTTP_HX_REQUEST="true")
    assert dialog.status_code == 200 and "Revoke API key" in dialog.text
    response = client.post(f"/o/acme/usage/{key.pk}/revoke/")
    assertRedirects(response, OVERVIEW, fetch_redirect_response=False)
    key.refresh_from_db()
    assert key.revoked_at is not None and key.revoked_by_id == owner.user_id
    from organizations.models import AuditEvent

    assert AuditEvent.objects.filter(action="key_revoked").exists()
    assert f"stale-key-{key.pk}" not in client.get(OVERVIEW).text


def test_revoke_from_the_overview_asks_a_stale_sign_in_to_confirm(
    owner, member, client_for, make_key
):
    key = make_key(member)
    response = client_for(owner, minutes_ago=60).post(f"/o/acme/usage/{key.pk}/revoke/")
    assert response.status_code == 302 and "reauthenticate" in response["Location"]
    key.refresh_from_db()
    assert key.revoked_at is None


@pytest.mark.parametrize("who", ["member", "outsider"])
def test_members_and_outsiders_may_not_revoke_from_the_overview(team, client_for, make_key, who):
    key = make_key(team["owner"])
    response = client_for(team[who]).post(f"/o/acme/usage/{key.pk}/revoke/")
    assert response.status_code == (403 if who == "member" else 404)
    key.refresh_from_db()
    assert key.revoked_at is None


def test_anonymous_may_not_revoke_from_the_overview(client, owner, make_key):
    key = make_key(owner)
    response = client.post(f"/o/acme/usage/{key.pk}/revoke/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    key.refresh_from_db()
    assert key.revoked_at is None


def test_the_stale_section_refreshes_alone_and_keeps_the_filters(
    owner, member, client_for, make_key
):
    make_key(member, "Never used")
    response = client_for(owner).get(
        "/o/acme/usage/stale/", {"member": "member"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "Never used" in response.text
    assert "<html" not in response.text
    assert response["HX-Replace-Url"] == "/o/acme/usage/?member=member"


def test_the_overview_costs_the_same_queries_with_many_keys(
    owner, member, client_for, make_key, django_assert_max_num_queries
):
    client = client_for(owner)
    client.get(OVERVIEW)

    def add_keys(start, stop):
        for n in range(start, stop):
            key = make_key(member if n % 2 else owner, f"Key {n}")
            if n % 3:  # two in three used; the others stale, more than a page of them
                for surface in ("api", "mcp"):
                    count(key, surface, "ok", n + 1, days_ago=n % 30)
                    count(key, surface, "refused", n + 1, days_ago=n % 30)

    add_keys(0, 90)
    with django_assert_max_num_queries(10) as captured:
        page = client.get(OVERVIEW).text
    assert "Key 89" in page and "Key 0" in section(page, "stale-keys")
    few = len(captured)
    add_keys(90, 180)
    with django_assert_max_num_queries(few):
        client.get(OVERVIEW)


# In English and Japanese ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "english", "japanese"),
    [
        ("key", "Clients and addresses", "クライアントとアドレス"),
        (OVERVIEW, "Stale keys", "使われていないキー"),
    ],
)
def test_the_usage_pages_in_both_languages(owner, client_for, make_key, path, english, japanese):
    key = make_key(owner)
    count(key, "api", "ok", 1)
    url = usage_url(key) if path == "key" else path
    client = client_for(owner)
    en, ja = client.get(url, HTTP_ACCEPT_LANGUAGE="en"), client.get(url, HTTP_ACCEPT_LANGUAGE="ja")
    assert english in en.text and japanese not in en.text
    assert japanese in ja.text and english not in ja.text
    for label in ("API (応答済み)", "スコープ不足", "回数制限", "数値を表で表示", "利用状況"):
        assert label in ja.text


def test_a_key_with_answered_requests_in_the_period_is_not_stale(owner, client_for, make_key):
    # Its last_used_at not yet written (it lags a minute), but its counts say it was used.
    used = make_key(owner, "Used today")
    count(used, "mcp", "ok", 1)
    refused_only = make_key(owner, "Only refused")
    count(refused_only, "api", "refused", 3)
    stale = section(client_for(owner).get(OVERVIEW).text, "stale-keys")
    assert f"stale-key-{used.pk}" not in stale and f"stale-key-{refused_only.pk}" in stale
