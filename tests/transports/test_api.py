"""The Genesis API over a real server (httpx), plus query counts through the test client."""

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apikeys import keys
from apikeys.models import ApiKey
from apikeys.shapes import UNAUTHORIZED
from infra.limits import rate

from ..factories import ApiKeyFactory


def me(http, key, **headers):
    return http.get("/api/v1/me", headers={"x-api-key": key, **headers})


def test_health_needs_no_key(http):
    response = http.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_me_describes_the_key(http, admin, make_key):
    key = make_key(admin, "Deploy bot")
    response = me(http, key.plaintext)
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "user_name": "Adam Admin",
        "user_email": "admin@acme.test",
        "organization_name": "Acme",
        "organization_slug": "acme",
        "role": "admin",
        "key_name": "Deploy bot",
        "key_hint": key.hint,
        "key_created_at": body["key_created_at"],
        "key_expires_at": None,
    }
    assert datetime.fromisoformat(body["key_created_at"]) == key.created_at
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert key.plaintext not in response.text


def test_me_shows_when_the_key_expires(http, member, make_key):
    key = make_key(member, "Expiring")
    expires_at = timezone.now() + timedelta(days=3)
    ApiKey.objects.filter(pk=key.pk).update(expires_at=expires_at)
    body = me(http, key.plaintext).json()
    assert datetime.fromisoformat(body["key_expires_at"]) == expires_at


def test_the_schema_says_how_to_send_a_key_and_that_way_works(http, member, make_key):
    """A generated client follows the schema: the header it names carries a key."""
    schema = http.get("/api/v1/openapi.json").json()
    [scheme] = schema["components"]["securitySchemes"].values()
    assert scheme["in"] == "header"
    [operation] = schema["paths"]["/api/v1/me"].values()
    assert operation["security"]
    key = make_key(member)
    assert http.get("/api/v1/me", headers={scheme["name"]: key.plaintext}).status_code == 200
    assert http.get("/api/v1/me", headers={scheme["name"]: "gns_x"}).status_code == 401


def test_the_docs_are_served_locally(http):
    docs = http.get("/api/v1/docs")
    assert docs.status_code == 200
    assert "cdn" not in docs.text.lower()
    assert "/static/ninja/swagger-ui-bundle" in docs.text


@pytest.fixture
def refusals(member, owner, make_key):
    """One key of every kind that must be refused."""
    deleted = make_key(member, "deleted")
    ApiKey.objects.filter(pk=deleted.pk).update(revoked_at=timezone.now())
    expired = make_key(member, "expired", expires_at=timezone.now() + timedelta(days=1))
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    inactive_owner = make_key(owner, "inactive")
    owner.user.is_active = False
    owner.user.save()
    good = keys.generate()
    return {
        "missing": None,
        "empty": "",
        "malformed": "not-a-key",
        "bad checksum": good[:-1] + ("a" if good[-1] != "a" else "b"),
        "unknown": good,
        "revoked": deleted.plaintext,
        "expired": expired.plaintext,
        "deactivated user": inactive_owner.plaintext,
        # As long as a header gets past the servers in front (nginx: 8 KB a line); longer
        # ones are their 400 (tests/test_deploy.py).
        "huge": "gns_" + "A" * 6_000,
        "unicode": "gns_ключ🔑",
    }


def test_every_refusal_is_the_same_401(http, refusals):
    answers = set()
    for kind, key in refusals.items():
        headers = {} if key is None else {"x-api-key": key.encode("utf-8")}
        response = http.get("/api/v1/me", headers=headers)
        assert response.status_code == 401, kind
        assert response.json() == UNAUTHORIZED, kind
        answers.add(response.content)
    assert len(answers) == 1


def test_refusing_a_malformed_key_costs_no_query(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/api/v1/me", HTTP_X_API_KEY="gns_" + "x" * 38)
    assert response.status_code == 401


def test_a_valid_key_costs_one_query_once_its_use_is_recorded(
    client, transactional_db, member, make_key, django_assert_num_queries
):
    # No test transaction around it, as on the request path: no savepoint either.
    key = make_key(member)
    # Authenticate, then record the first use; on PostgreSQL that write is a transaction
    # of its own (BEGIN, UPDATE, COMMIT): it skips a row a revoke holds rather than wait.
    first_use = 2 if connection.vendor == "sqlite" else 4
    with django_assert_num_queries(first_use):
        assert client.get("/api/v1/me", HTTP_X_API_KEY=key.plaintext).status_code == 200
    with django_assert_num_queries(1):  # within the minute: no write
        assert client.get("/api/v1/me", HTTP_X_API_KEY=key.plaintext).status_code == 200


def test_last_use_is_recorded_at_most_once_a_minute(http, member, make_key, address):
    key = make_key(member)
    me(http, key.plaintext, **{"User-Agent": "deploy-script/1.2"})
    key.refresh_from_db()
    first = key.last_used_at
    assert first is not None
    assert (key.last_used_ip, key.last_used_surface, key.last_used_client) == (
        address,
        "api",
        "deploy-script/1.2",
    )
    me(http, key.plaintext, **{"User-Agent": "other/2.0"})
    key.refresh_from_db()
    assert (key.last_used_at, key.last_used_client) == (first, "deploy-script/1.2")
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=first - timedelta(minutes=2))
    me(http, key.plaintext, **{"User-Agent": "other/2.0"})
    key.refresh_from_db()
    assert key.last_used_at > first
    assert key.last_used_client == "other/2.0"


def test_too_many_failures_get_429_until_the_window_passes(
    client, member, make_key, throttle_clock
):
    """In this process, where the clock is pinned (the production servers' limits are
    tested in tests/test_client_ip.py)."""
    http = client
    key = make_key(member)
    for _ in range(rate("key_failures").count):
        assert me(http, "gns_wrong").status_code == 401
    # At the limit a valid key still works; one more failure and everything waits.
    assert me(http, key.plaintext).status_code == 200
    assert me(http, "gns_wrong").status_code == 401
    blocked = me(http, key.plaintext)
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["Retry-After"]) <= rate("key_failures").seconds
    assert http.get("/api/v1/health").status_code == 200  # no key, no throttle
    # The next window starts clean.
    throttle_clock.set(throttle_clock.now + rate("key_failures").seconds)
    assert me(http, key.plaintext).status_code == 200


def test_console_changes_apply_on_the_very_next_request(
    http, client_for, owner, admin, member, make_key
):
    deleted, revoked, removed = (make_key(member, name) for name in ("d", "r", "x"))
    other = ApiKeyFactory(membership=admin)
    for key in (deleted, revoked, removed, other):
        assert me(http, key.plaintext).status_code == 200

    client_for(member).post(f"/o/acme/api-keys/{deleted.pk}/delete/")
    assert me(http, deleted.plaintext).status_code == 401
    client_for(admin).post(f"/o/acme/api-keys/{revoked.pk}/revoke/")
    assert me(http, revoked.plaintext).status_code == 401
    client_for(owner).post(f"/o/acme/members/{member.pk}/remove/")
    assert me(http, removed.plaintext).status_code == 401
    assert me(http, other.plaintext).status_code == 200


def test_the_asgi_app_also_serves_the_console_and_static_files(http):
    assert "Sign in to Genesis Console" in http.get("/accounts/login/").text
    css = http.get("/static/css/console.css")
    assert css.status_code == 200
    assert "text/css" in css.headers["content-type"]
    assert http.get("/static/django_htmx/htmx-2.min.js").status_code == 200


def test_unknown_api_paths_answer_in_json(client, db):
    response = client.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "error_description": "No such endpoint"}
    assert "text/html" in client.get("/nowhere/")["Content-Type"]
