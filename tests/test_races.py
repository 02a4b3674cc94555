"""Revocation under races and load. PostgreSQL only: these rely on its row locks and
real concurrency (SQLite runs one writer at a time)."""

import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from django.db import connection
from django.test import Client

from apikeys import services
from apikeys.models import ApiKey
from organizations import services as org_services
from organizations.models import Role

from .servers import free_port

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL=postgres://...)"
)

ROOT = Path(__file__).resolve().parent.parent


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
    for round_number in range(5):
        if round_number:
            member = org_services.add_member(organization, user.email, Role.MEMBER)

        def create_until_removed(index, membership=member, prefix=f"r{round_number}"):
            if index == 0:
                time.sleep(0.02)  # let the others get going
                org_services.remove_member(membership)
                return 0
            made = 0
            for number in range(100):
                try:
                    services.create_key(user, organization, f"{prefix}-{index}-{number}")
                    made += 1
                except services.NotAMember:
                    break
            return made

        made = sum(in_threads(5, create_until_removed))
        assert made > 0, "keys were being created when the member was removed"
        assert not ApiKey.objects.active().filter(user=user, organization=organization).exists()


def signed_in_clients(membership, count):
    first = Client()
    first.force_login(membership.user)
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


def server_env():
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="genesis.settings",
        DEBUG="0",
        SECURE_SSL_REDIRECT="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=(
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        ),
        LOG_LEVEL="ERROR",
    )
    return env


@pytest.fixture
def workers(transactional_db):
    """genesis.asgi under uvicorn with two worker processes, on the test database."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable, "-m", "uvicorn", "genesis.asgi:application", "--workers", "2",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
            "--no-access-log",
        ],
        cwd=ROOT, env=server_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(process.stderr.read().decode() if process.stderr else "")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_revocation_holds_under_load_across_workers(workers, admin, member, make_key):
    key = make_key(member, "Under load").plaintext
    tools = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    results = []  # (started, status)
    stop_at = time.monotonic() + 4  # the load stops by itself
    lock = threading.Lock()

    def load(index):
        with httpx.Client(base_url=workers, timeout=10) as http:
            while time.monotonic() < stop_at:
                started = time.monotonic()
                if index % 2:
                    response = http.get("/api/v1/me", headers={"x-api-key": key})
                else:
                    response = http.post(
                        "/mcp",
                        json=tools,
                        headers={
                            "Authorization": f"Bearer {key}",
                            "Accept": "application/json, text/event-stream",
                        },
                    )
                with lock:
                    results.append((started, response.status_code))

    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(load, index) for index in range(6)]
        time.sleep(1.5)
        revoked = Client()
        revoked.force_login(admin.user)
        key_id = ApiKey.objects.get(name="Under load").pk
        assert revoked.post(f"/o/acme/api-keys/{key_id}/revoke/").status_code == 302
        committed_at = time.monotonic()  # the revoke's transaction committed before this
        for future in futures:
            future.result(timeout=30)

    assert not [status for _, status in results if status >= 500]
    before = [status for started, status in results if started < committed_at]
    after = [status for started, status in results if started > committed_at]
    assert before.count(200) > 20, "the key worked under load before the revoke"
    assert len(after) > 20, "the load went on after the revoke"
    assert set(after) <= {401, 429}, "no request that started after the revoke got through"
