"""Revocation under races and load. PostgreSQL only: these rely on its row locks and
real concurrency (SQLite runs one writer at a time)."""

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.db import connection
from django.test import Client

from apikeys import services
from apikeys.models import ApiKey
from organizations import services as org_services
from organizations.models import Role

from . import sessions
from .servers import Production

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL=postgres://...)"
)


def in_threads(count, target):
    """Run `target(index)` in `count` threads at once; each closes its connection."""
    barrier = threading.Barrier(count)

    def run(index):
        try:
            barrier.wait(timeout=10)
            return target(index)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return [future.result(timeout=60) for future in [pool.submit(run, i) for i in range(count)]]


def test_removing_a_member_while_they_create_keys_leaves_no_active_key(
    transactional_db, owner, member
):
    organization, user = member.organization, member.user
    creators = 4
    for round_number in range(5):
        if round_number:
            member = org_services.add_member(organization, user.email, Role.MEMBER)
        started = threading.Barrier(creators + 1)  # every creator has made a key

        def create_until_removed(
            index, membership=member, prefix=f"r{round_number}", started=started
        ):
            if index == creators:
                started.wait(timeout=30)
                org_services.remove_member(membership)
                return None
            for number in range(10_000):
                try:
                    services.create_key(user, organization, f"{prefix}-{index}-{number}")
                except services.NotAMember:
                    return number  # the keys made before the removal refused this creator
                if number == 0:
                    started.wait(timeout=30)
            raise AssertionError("the removal never reached this creator")

        made = in_threads(creators + 1, create_until_removed)[:creators]
        # Every creator had made keys, then was refused: the removal overlapped them all.
        assert all(count >= 1 for count in made), made
        assert not ApiKey.objects.unrevoked().filter(user=user, organization=organization).exists()


def signed_in_clients(membership, count):
    first = Client()
    sessions.sign_in(first, membership.user)
    clients = []
    for _ in range(count):
        client = Client()
        client.cookies = first.cookies
        clients.append(client)
    return clients


def test_double_submitted_forms_neither_fail_nor_duplicate(
    transactional_db, admin, member, make_key
):
    # Create: the same form sent twice at once makes one key.
    clients = signed_in_clients(member, 2)
    form = clients[0].get("/o/acme/api-keys/create/").text
    form_id = re.search(r'name="form_id" value="([0-9a-f-]+)"', form).group(1)
    responses = in_threads(
        2,
        lambda i: clients[i].post("/o/acme/api-keys/create/", {"name": "Once", "form_id": form_id}),
    )
    assert [r.status_code for r in responses] == [200, 200]
    assert ApiKey.objects.filter(name="Once").count() == 1

    # Delete and revoke: both submissions succeed, the key is revoked once.
    deleted, revoked = make_key(member, "delete me"), make_key(member, "revoke me")
    responses = in_threads(2, lambda i: clients[i].post(f"/o/acme/api-keys/{deleted.pk}/delete/"))
    assert [r.status_code for r in responses] == [302, 302]
    admins = signed_in_clients(admin, 2)
    responses = in_threads(2, lambda i: admins[i].post(f"/o/acme/api-keys/{revoked.pk}/revoke/"))
    assert [r.status_code for r in responses] == [302, 302]
    deleted.refresh_from_db()
    revoked.refresh_from_db()
    assert (deleted.revoke_reason, revoked.revoke_reason) == ("deleted", "revoked")
    assert revoked.revoked_by == admin.user


@pytest.fixture
def workers(transactional_db):
    """The production servers with two worker processes each, on the test database."""
    with Production(nginx=False, workers=2) as production:
        yield production


def test_revocation_holds_under_load_across_workers(workers, admin, member, make_key):
    """Six clients (API and MCP) hammer one key; once 60 requests have succeeded an Admin
    revokes it, and each client then sends 15 more, every one of which must be refused.
    Bounded by counts, not by time, so a slow machine only takes longer."""
    key = make_key(member, "Under load").plaintext
    tools = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    clients, accepted_before, after_each = 6, 60, 15
    lock = threading.Lock()
    accepted = 0
    loaded = threading.Event()  # enough requests got through: revoke now
    revoked = threading.Event()  # the revoke has committed
    results = {"before": [], "after": []}

    def call(http, index):
        if index % 2:
            return http.get(f"{workers.url}/api/v1/me", headers={"x-api-key": key}).status_code
        return http.post(
            f"{workers.mcp_url}/mcp",
            json=tools,
            headers={
                "Authorization": f"Bearer {key}",
                "Accept": "application/json, text/event-stream",
            },
        ).status_code

    def load(index):
        nonlocal accepted
        with httpx.Client(timeout=10) as http:
            for _ in range(10_000):
                if revoked.is_set():
                    break
                status = call(http, index)
                with lock:
                    results["before"].append(status)
                    accepted += status == 200
                    if accepted >= accepted_before:
                        loaded.set()
            else:
                raise AssertionError("the revoke never came")
            # Started after the commit: each of these must be refused.
            for _ in range(after_each):
                status = call(http, index)
                with lock:
                    results["after"].append(status)

    with ThreadPoolExecutor(max_workers=clients) as pool:
        futures = [pool.submit(load, index) for index in range(clients)]
        assert loaded.wait(timeout=60), "the key never worked under load"
        admin_client = Client()
        sessions.sign_in(admin_client, admin.user)
        key_id = ApiKey.objects.get(name="Under load").pk
        assert admin_client.post(f"/o/acme/api-keys/{key_id}/revoke/").status_code == 302
        revoked.set()
        for future in futures:
            future.result(timeout=60)

    everything = results["before"] + results["after"]
    assert not [status for status in everything if status >= 500]
    assert results["before"].count(200) >= accepted_before
    assert len(results["after"]) == clients * after_each
    assert set(results["after"]) <= {401, 429}, "no request sent after the revoke got through"
