"""Usage per key (apikeys.usage): counted in memory, written at most once a minute per
worker in one upsert, shown over the API and MCP. In this process, where
tests/conftest.py's `usage_counts` pins the counts' clock (the production servers count in
processes of their own)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from apikeys import services, usage
from apikeys.models import KeyUsage
from organizations import scopes
from organizations import services as org_services

from ..asgi import InProcess
from ..calls import TOOLS_LIST, mcp_headers

ADMIN_SCOPES = scopes.DEFAULT | {scopes.ORG_ADMIN}


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def due(usage_counts):
    """Move the counts' clock a minute on: the next key check writes them."""
    usage_counts.clock.set(usage_counts.clock.now + usage.WRITE_SECONDS)


def me(client, key, **extra):
    return client.get("/api/v1/me", HTTP_X_API_KEY=key, **extra)


def stored(key) -> dict:
    rows = KeyUsage.objects.filter(key=key).values_list("surface", "outcome", "count")
    return {(surface, outcome): count for surface, outcome, count in rows}


def call_tool(asgi, key, name, arguments):
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": name, "arguments": arguments}}  # fmt: skip
    return asgi.request("POST", "/mcp", json=message, headers=mcp_headers(key))


def test_api_mcp_and_scope_refused_calls_show_over_the_api_and_mcp(
    client, transactional_db, admin, usage_counts
):
    key = services.create_key(admin.user, admin.organization, "CI", scopes=scopes.DEFAULT)
    reader = services.create_key(admin.user, admin.organization, "Reader", scopes=ADMIN_SCOPES)
    used, secret = key
    with InProcess() as asgi:
        for _ in range(5):
            assert me(client, secret).status_code == 200
        for _ in range(3):
            response = asgi.request("POST", "/mcp", json=TOOLS_LIST, headers=mcp_headers(secret))
            assert response.status_code == 200
        for _ in range(2):  # org:admin is missing
            assert client.get("/api/v1/organization/keys", HTTP_X_API_KEY=secret).status_code == 403
        assert KeyUsage.objects.count() == 0  # all in memory until a minute has passed
        due(usage_counts)
        expected = [
            {"date": today(), "surface": "api", "outcome": "forbidden", "count": 2},
            {"date": today(), "surface": "api", "outcome": "ok", "count": 5},
            {"date": today(), "surface": "mcp", "outcome": "ok", "count": 3},
        ]
        for path in (f"/api/v1/keys/{used.pk}/usage", f"/api/v1/organization/keys/{used.pk}/usage"):
            answer = client.get(path, HTTP_X_API_KEY=reader[1])
            assert answer.status_code == 200
            assert answer.json() == {"key_id": used.pk, "buckets": expected}
        over_mcp = call_tool(asgi, reader[1], "get_api_key_usage", {"key_id": used.pk})
    assert over_mcp.json()["result"]["structuredContent"] == {
        "key_id": used.pk,
        "buckets": expected,
    }


def test_a_worker_writes_once_a_minute_in_one_upsert_adding_to_the_stored_counts(
    client, transactional_db, member, make_key, usage_counts, django_assert_num_queries
):
    key = make_key(member)
    me(client, key.plaintext)  # its first use: "last used" is written
    with django_assert_num_queries(1):  # within the minute: the key check only, as before
        assert me(client, key.plaintext).status_code == 200
    due(usage_counts)
    with django_assert_num_queries(2) as queries:  # the key check and one upsert
        assert me(client, key.plaintext).status_code == 200
    assert "ON CONFLICT" in queries.captured_queries[1]["sql"]
    assert stored(key) == {("api", "ok"): 3}
    for _ in range(2):
        me(client, key.plaintext)
    due(usage_counts)
    me(client, key.plaintext)
    assert stored(key) == {("api", "ok"): 6}


def test_the_mcp_server_writes_what_it_counted_when_it_stops(transactional_db, member, make_key):
    key = make_key(member)
    with InProcess() as asgi:
        asgi.request("POST", "/mcp", json=TOOLS_LIST, headers=mcp_headers(key.plaintext))
        assert KeyUsage.objects.count() == 0
    assert stored(key) == {("mcp", "ok"): 1}


def test_a_key_deleted_before_the_write_costs_the_others_nothing(
    transactional_db, member, make_key
):
    kept, gone = make_key(member), make_key(member)
    usage.count(kept.pk, "api", "ok")
    usage.count(gone.pk, "api", "ok")
    gone.delete()
    usage.flush()
    assert stored(kept) == {("api", "ok"): 1}
    assert KeyUsage.objects.count() == 1


def _revoked(key, member):
    services.revoke_key(key, member.user)


def _deleted(key, member):
    services.delete_key(key, member.user)


def _expired(key, member):
    type(key).objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(1))


def _owner_deactivated(key, member):
    member.user.is_active = False
    member.user.save(update_fields=["is_active"])


def _owner_removed(key, member):
    org_services.remove_member(member)


def _outside_allowlist(key, member):
    type(key).objects.filter(pk=key.pk).update(allowed_ips="192.0.2.0/24")


@pytest.mark.parametrize(
    "refuse",
    [_revoked, _deleted, _expired, _owner_deactivated, _owner_removed, _outside_allowlist],
)
def test_a_refused_key_counts_against_that_key_on_both_surfaces(
    client, transactional_db, member, make_key, refuse
):
    key = make_key(member)
    refuse(key, member)
    assert me(client, key.plaintext).status_code == 401
    with InProcess() as asgi:
        response = asgi.request("POST", "/mcp", json=TOOLS_LIST, headers=mcp_headers(key.plaintext))
    assert response.status_code == 401
    usage.flush()
    assert stored(key) == {("api", "refused"): 1, ("mcp", "refused"): 1}


def test_finding_a_refused_key_costs_one_query_on_the_refusal_path_only(
    client, db, member, make_key, django_assert_num_queries
):
    key = make_key(member)
    services.revoke_key(key, member.user)
    with django_assert_num_queries(2):  # the key check, then which key it was
        assert me(client, key.plaintext).status_code == 401
    with django_assert_num_queries(0):
        assert me(client, "gns_" + "x" * 38).status_code == 401
    usage.flush()
    assert stored(key) == {("api", "refused"): 1}


def test_throttled_requests_count_against_a_key_refused_before_without_a_query(
    client, db, member, make_key, django_assert_num_queries
):
    key = make_key(member)
    services.revoke_key(key, member.user)
    status = None
    refusals = 0
    while status != 429:
        status = me(client, key.plaintext).status_code
        refusals += status == 401
    with django_assert_num_queries(0):
        assert me(client, key.plaintext).status_code == 429
    usage.flush()
    assert stored(key) == {("api", "refused"): refusals, ("api", "throttled"): 2}


def test_an_mcp_request_missing_a_tools_scope_is_forbidden(transactional_db, member, make_key):
    key = make_key(member, scopes=frozenset({scopes.MCP_READ}))
    with InProcess() as asgi:
        refused = call_tool(asgi, key.plaintext, "delete_my_api_key", {"key_id": key.pk})
        allowed = call_tool(asgi, key.plaintext, "whoami", {})
    assert (refused.status_code, allowed.status_code) == (403, 200)
    usage.flush()
    assert stored(key) == {("mcp", "forbidden"): 1, ("mcp", "ok"): 1}


# Who may see a key's usage -------------------------------------------------------------


@pytest.fixture
def counted(db, member, make_key):
    key = make_key(member)
    KeyUsage.objects.create(key=key, date=datetime.now(UTC).date(), surface="api",
                            outcome="ok", count=7)  # fmt: skip
    return key


def usage_of(client, key, secret, *, organization=False, **params):
    prefix = "/api/v1/organization" if organization else "/api/v1"
    headers = {} if secret is None else {"HTTP_X_API_KEY": secret}
    return client.get(f"{prefix}/keys/{key.pk}/usage", params, **headers)


def test_its_owner_sees_a_keys_usage_revoked_or_not(client, counted, member, make_key):
    other = make_key(member).plaintext
    services.revoke_key(counted, member.user)
    answer = usage_of(client, counted, other)
    assert answer.status_code == 200
    assert answer.json()["buckets"][0]["count"] == 7


@pytest.mark.parametrize("who", ["admin", "owner", "outsider"])
def test_another_members_key_is_404_on_the_personal_endpoint(client, counted, team, make_key, who):
    secret = make_key(team[who], scopes=ADMIN_SCOPES).plaintext
    answer = usage_of(client, counted, secret)
    assert answer.status_code == 404
    assert answer.json()["error"] == "not_found"


@pytest.mark.parametrize("who", ["admin", "owner"])
def test_admins_and_owners_see_any_key_of_their_organization(client, counted, team, make_key, who):
    secret = make_key(team[who], scopes=ADMIN_SCOPES).plaintext
    answer = usage_of(client, counted, secret, organization=True, days="1")
    assert answer.status_code == 200
    assert answer.json()["key_id"] == counted.pk


def test_an_admin_of_another_organization_gets_404(client, counted, outsider, make_key):
    secret = make_key(outsider, scopes=ADMIN_SCOPES).plaintext
    assert usage_of(client, counted, secret, organization=True).status_code == 404


def test_a_member_or_a_key_without_org_admin_gets_403(client, counted, member, admin, make_key):
    for holder in (member, admin):
        secret = make_key(holder).plaintext  # no org:admin
        answer = usage_of(client, counted, secret, organization=True)
        assert (answer.status_code, answer.json()["scope"]) == (403, "org:admin")


def test_anonymous_gets_401(client, counted):
    for organization in (False, True):
        assert usage_of(client, counted, None, organization=organization).status_code == 401


@pytest.mark.parametrize("days", ["0", "91", "abc", "1.5", "", "-1", "१", "9" * 30])
def test_bad_days_are_a_400_in_json(client, counted, member, make_key, days):
    secret = make_key(member).plaintext
    answer = usage_of(client, counted, secret, days=days)
    assert answer.status_code == 400
    assert answer["Content-Type"].startswith("application/json")
    assert answer.json()["error"] == "bad_request"
    assert answer.json()["error_description"].startswith("days: ")


def test_days_bound_what_is_shown(client, counted, member, make_key):
    old = datetime.now(UTC).date() - timedelta(days=5)
    KeyUsage.objects.create(key=counted, date=old, surface="mcp", outcome="refused", count=3)
    secret = make_key(member).plaintext
    assert len(usage_of(client, counted, secret, days="5").json()["buckets"]) == 1
    recent = usage_of(client, counted, secret, days="6").json()["buckets"]
    assert recent[0] == {"date": old.isoformat(), "surface": "mcp", "outcome": "refused",
                         "count": 3}  # fmt: skip
    assert len(recent) == 2


def test_the_mcp_tool_refuses_bad_days_and_keys_it_may_not_see(
    transactional_db, counted, team, make_key
):
    secret = make_key(team["outsider"], scopes=ADMIN_SCOPES).plaintext
    mine = make_key(team["member"]).plaintext
    with InProcess() as asgi:
        theirs = call_tool(asgi, secret, "get_api_key_usage", {"key_id": counted.pk})
        bad = call_tool(asgi, mine, "get_api_key_usage", {"key_id": counted.pk, "days": 91})
        good = call_tool(asgi, mine, "get_api_key_usage", {"key_id": counted.pk, "days": 90})
    assert theirs.json()["result"]["isError"] and bad.json()["result"]["isError"]
    assert good.json()["result"]["structuredContent"]["buckets"][0]["count"] == 7


def test_both_endpoints_are_in_the_openapi_schema(client, db):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/keys/{key_id}/usage", "/api/v1/organization/keys/{key_id}/usage"):
        assert set(paths[path]["get"]["responses"]) >= {"200", "400", "401", "403", "404"}


# Retention ------------------------------------------------------------------------------


def test_prune_deletes_only_rows_older_than_the_retention(db, member, make_key, settings):
    key = make_key(member)
    now = datetime.now(UTC).date()
    for age in (0, 89, 90, 400):
        KeyUsage.objects.create(key=key, date=now - timedelta(days=age), surface="api",
                                outcome="ok", count=1)  # fmt: skip
    call_command("prune_usage", verbosity=0)
    kept = sorted((now - row).days for row in KeyUsage.objects.values_list("date", flat=True))
    assert kept == [0, 89]
    assert settings.USAGE_RETENTION_DAYS == 90


def test_upserts_add_on_this_database(db, member, make_key):
    """The upsert is the same statement in SQLite and PostgreSQL: run on whichever this is."""
    key = make_key(member)
    for _ in range(2):
        usage.count(key.pk, "api", "ok")
        usage.flush()
    assert stored(key) == {("api", "ok"): 2}, connection.vendor
