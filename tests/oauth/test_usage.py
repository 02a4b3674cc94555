"""Usage per grant (oauth.usage), counted like keys' (tests/apikeys/test_usage.py): each
request that presents a grant's access token at the MCP server, by outcome, written at
most once a minute, and shown where people review their authorized apps."""

from datetime import UTC, datetime, timedelta

from django.utils import timezone
from oauth2_provider.models import AccessToken

from apikeys import usage as key_usage
from infra.daily_counts import WRITE_SECONDS
from oauth import services
from oauth import usage as grant_usage
from oauth.models import GrantUsage, RevokeReason
from organizations import services as org_services

from ..asgi import InProcess
from ..calls import TOOLS_LIST, mcp_headers
from .grants import make_grant

OAUTH_MCP = "/mcp/oauth"


def stored(grant) -> dict:
    rows = GrantUsage.objects.filter(grant=grant).values_list("surface", "outcome", "count")
    return {(surface, outcome): count for surface, outcome, count in rows}


def call(asgi, token, message=TOOLS_LIST):
    return asgi.request("POST", OAUTH_MCP, json=message, headers=mcp_headers(token))


def tool(name):
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": name, "arguments": {}}}  # fmt: skip


def test_each_request_counts_against_its_grant_by_outcome(transactional_db, member):
    grant = make_grant(member, scopes="mcp:read")
    other = make_grant(member, client="ChatGPT")
    with InProcess() as asgi:
        for _ in range(3):
            assert call(asgi, grant.token).status_code == 200
        assert call(asgi, grant.token, tool("delete_my_api_key")).status_code == 403  # mcp:write
        assert call(asgi, other.token).status_code == 200
        assert GrantUsage.objects.count() == 0  # in memory until a minute has passed
    # The server writes what it counted when it stops.
    assert stored(grant) == {("mcp", "ok"): 3, ("mcp", "forbidden"): 1}
    assert stored(other) == {("mcp", "ok"): 1}


def test_a_worker_writes_once_a_minute(transactional_db, member, grant_usage_counts):
    grant = make_grant(member)
    with InProcess() as asgi:
        call(asgi, grant.token)
        assert GrantUsage.objects.count() == 0
        grant_usage_counts.clock.set(grant_usage_counts.clock.now + WRITE_SECONDS)
        call(asgi, grant.token)  # its check writes what is due (the one before it)
        assert stored(grant) == {("mcp", "ok"): 1}


def test_an_expired_or_removed_persons_token_counts_as_refused(transactional_db, member):
    grant = make_grant(member)
    AccessToken.objects.filter(pk=grant.access_token_id).update(
        expires=timezone.now() - timedelta(minutes=1)
    )
    with InProcess() as asgi:
        assert call(asgi, grant.token).status_code == 401
        assert call(asgi, "not-a-token-anyone-made").status_code == 401  # nobody's
    assert stored(grant) == {("mcp", "refused"): 1}
    assert sum(GrantUsage.objects.values_list("count", flat=True)) == 1


def test_a_keys_usage_and_a_grants_stay_apart(transactional_db, member, make_key):
    grant, key = make_grant(member), make_key(member)
    with InProcess() as asgi:
        call(asgi, grant.token)
        asgi.request("POST", "/mcp", json=TOOLS_LIST, headers=mcp_headers(key.plaintext))
    key_usage.flush()
    assert stored(grant) == {("mcp", "ok"): 1}
    assert list(key.usage.values_list("outcome", "count")) == [("ok", 1)]


def recent(grant, days_ago, count, outcome="ok"):
    GrantUsage.objects.create(
        grant=grant,
        date=datetime.now(UTC).date() - timedelta(days=days_ago),
        surface="mcp",
        outcome=outcome,
        count=count,
    )


def test_people_see_each_apps_requests_in_the_last_30_days(team, client_for):
    mine = make_grant(team["member"], client="Claude")
    recent(mine, 0, 4)
    recent(mine, 29, 2, outcome="refused")
    recent(mine, 30, 100)  # older than 30 days
    page = client_for(team["member"]).get("/o/acme/api-keys/").text
    row = page.split(f'id="app-{mine.pk}"')[1].split("</tr>")[0]
    assert 'data-label="Requests (30 days)">6<' in row
    admin_page = client_for(team["admin"]).get("/o/acme/api-keys/").text
    org_row = admin_page.split(f'id="org-app-{mine.pk}"')[1].split("</tr>")[0]
    assert 'data-label="Requests (30 days)">6<' in org_row
    japanese = client_for(team["member"]).get("/o/acme/api-keys/", HTTP_ACCEPT_LANGUAGE="ja")
    assert "リクエスト数 (30 日間)" in japanese.text


def test_the_apps_lists_cost_the_same_queries_at_any_length(
    team, client_for, django_assert_max_num_queries
):
    client = client_for(team["admin"])
    make_grant(team["member"])
    with django_assert_max_num_queries(40) as few:
        client.get("/o/acme/api-keys/")
    for index in range(10):
        recent(make_grant(team["member"], client=f"App {index}"), 1, 3)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/o/acme/api-keys/").status_code == 200


def test_prune_usage_deletes_old_grant_counts_too(db, member, settings):
    grant = make_grant(member)
    recent(grant, settings.USAGE_RETENTION_DAYS, 1)
    recent(grant, 0, 1)
    assert key_usage.prune() == 1
    assert stored(grant) == {("mcp", "ok"): 1}


def test_a_revoked_grants_usage_stays_with_it(db, member):
    grant = make_grant(member)
    recent(grant, 0, 2)
    services.revoke(grant, None, RevokeReason.BY_OWNER)
    assert stored(grant) == {("mcp", "ok"): 2}
    org_services.remove_member(member)
    assert GrantUsage.objects.filter(grant=grant).exists()
    assert grant_usage.RECENT_DAYS == 30
