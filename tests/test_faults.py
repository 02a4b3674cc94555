"""Dependencies that fail: Redis stopped or frozen, the database read-only or gone, a mail
server that never answers, slow clients. Against real servers; valid keys keep working
where the guarantees allow, every answer keeps its contract (JSON with the right status
at machine URLs, never an HTML 500, never no answer), nothing hangs past its timeout, the
log says it once, and recovery needs no restart."""

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client

from apikeys import keys
from infra import faults, limits
from infra.limits import rate

from . import sessions
from .asgi import InProcess
from .calls import TOOLS_LIST as TOOLS
from .calls import mcp, mcp_headers, me
from .faults import MailInbox, RedisServer, SilentMailServer, TcpRelay, without_write_override
from .servers import MCP, ROOT, WEB, Production, ServerProcess, server_env

needs_redis = pytest.mark.skipif(not RedisServer.binary, reason="needs redis-server")


def ready(url):
    return httpx.get(f"{url}/api/v1/ready", timeout=5)


def wait_until(condition, timeout=15, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


# What the app logs, without the server's start and stop lines or Python's warnings.
QUIET = {"PYTHONWARNINGS": "ignore", "LOG_LEVEL": "WARNING"}


def quiet(command: list[str]) -> list[str]:
    return [*command[:-1], "--log-level", "warning", command[-1]]


def fault_lines(output: str) -> list[str]:
    """The app's lines in a server's output: not granian's own start and stop lines (its
    "[WARNING] Killing worker-1 after it refused to gracefully stop", seen on a loaded
    machine when the test stops the server, is about stopping, not about the outage)."""
    return [
        line
        for line in output.splitlines()
        if line.strip() and not line.startswith(("[INFO]", "[WARNING] Killing worker"))
    ]


def test_ready_never_answers_500_when_a_check_itself_breaks(client, transactional_db, settings):
    # A Redis client that can't even be had (here: REDIS_URL set, and the rate limits'
    # cache in local memory, which has no Redis connection): the check fails, readiness
    # answers.
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    local = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    settings.CACHES = {**settings.CACHES, "limits": local}
    response = client.get("/api/v1/ready")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "redis": "unavailable"},
    }


def test_one_slow_check_is_not_an_outage_but_a_hung_one_is(client, transactional_db, monkeypatch):
    """On a busy machine a check may take longer than readiness waits: the last answer
    stands while it is fresh (STALE_SECONDS); a check that hangs past that is an outage."""
    from infra import readiness

    monkeypatch.setattr(readiness, "_pending", None)
    monkeypatch.setattr(readiness, "_last", None)
    assert client.get("/api/v1/ready").status_code == 200  # answered: the last answer
    now = [time.monotonic()]
    monkeypatch.setattr(readiness.time, "monotonic", lambda: now[0])
    released = threading.Event()
    monkeypatch.setattr(readiness, "_database", lambda: released.wait(timeout=30))
    try:
        slow = client.get("/api/v1/ready")
        assert slow.status_code == 200, slow.json()
        now[0] += readiness.STALE_SECONDS + 1
        hung = client.get("/api/v1/ready")
        assert hung.status_code == 503
        assert hung.json()["checks"]["database"] == "no answer in time"
    finally:
        released.set()
        readiness._pending.result(timeout=30)


def test_ready_says_what_answered(http, settings):
    response = http.get("/api/v1/ready")
    assert response.status_code == 200
    expected = {"database": "ok", "redis": "ok"} if settings.REDIS_URL else {"database": "ok"}
    assert response.json() == {"status": "ok", "checks": expected}
    assert http.get("/api/v1/health").json() == {"status": "ok"}


# Redis ------------------------------------------------------------------------------


@pytest.fixture
def redis():
    with RedisServer() as server:
        yield server


@pytest.fixture
def on_redis(transactional_db, redis):
    """The production servers on their own Redis, logging warnings (faults) and up."""
    with Production(nginx=False, REDIS_URL=redis.url, LOG_LEVEL="WARNING") as production:
        yield production


@needs_redis
def test_with_redis_stopped_keys_work_and_refusals_stay_401(on_redis, redis, member, make_key):
    key = make_key(member).plaintext
    assert me(on_redis.url, key).status_code == 200
    redis.stop()
    for _ in range(5):
        assert me(on_redis.url, key).status_code == 200
        assert mcp(on_redis.mcp_url, key).status_code == 200
        refused = me(on_redis.url, "gns_wrong")
        assert refused.status_code == 401
        assert refused.json()["error"] == "invalid_token"
        assert mcp(on_redis.mcp_url, "gns_wrong").status_code == 401
    # Liveness stays, readiness says which dependency is down.
    assert httpx.get(f"{on_redis.url}/api/v1/health").status_code == 200
    down = ready(on_redis.url)
    assert down.status_code == 503
    assert down.json()["checks"]["redis"] == "unavailable"

    # The throttle goes on, per process, meanwhile.
    def throttled():
        for _ in range(rate("key_failures").count + 1):
            me(on_redis.url, "gns_wrong")
        return me(on_redis.url, key).status_code == 429

    assert throttled() or throttled()  # again if the first burst straddled a window's end

    redis.start()  # the same port: no restart of ours
    assert wait_until(lambda: ready(on_redis.url).status_code == 200)
    # Counting in Redis again once the process's few seconds on its own are over.
    client = __import__("redis").Redis.from_url(redis.url)

    def counted_in_redis():
        me(on_redis.url, "gns_wrong")
        return bool(client.keys("*key_failures*"))

    assert wait_until(counted_in_redis, timeout=limits.RETRY_SECONDS + 5)


@needs_redis
def test_a_redis_that_refuses_writes_is_an_outage_of_the_limits_never_a_500(
    on_redis, redis, member, make_key
):
    """Read-only after a failover (here: a replica of nothing), or out of memory: Redis
    answers every write with an error. The limits count in each process meanwhile."""
    key = make_key(member).plaintext
    client = __import__("redis").Redis.from_url(redis.url)
    client.execute_command("REPLICAOF", "127.0.0.1", "1")  # nothing listens on port 1
    try:
        for _ in range(3):
            assert me(on_redis.url, key).status_code == 200
            assert me(on_redis.url, "gns_wrong").status_code == 401
            named = httpx.post(
                f"{on_redis.mcp_url}/mcp",
                json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                    "protocolVersion": "2025-06-18", "capabilities": {},
                    "clientInfo": {"name": "probe", "version": "1"}}},
                headers={**mcp_headers(key), "Accept": "application/json, text/event-stream"},
                timeout=10,
            )  # fmt: skip
            assert named.status_code == 200, named.text

        def throttled():
            for _ in range(rate("key_failures").count + 1):
                me(on_redis.url, "gns_wrong")
            return me(on_redis.url, key).status_code == 429

        assert throttled() or throttled()  # counted here meanwhile (a second burst if the
        # first straddled a window's end)
    finally:
        client.execute_command("REPLICAOF", "NO", "ONE")


@needs_redis
def test_a_redis_outage_is_one_log_line_not_a_traceback_per_request(
    transactional_db, redis, member, make_key
):
    key = make_key(member).plaintext
    with (
        ServerProcess(quiet(WEB), REDIS_URL=redis.url, **QUIET) as web,
        ServerProcess(quiet(MCP), REDIS_URL=redis.url, **QUIET) as mcp_server,
    ):
        redis.stop()
        for _ in range(30):
            me(web.url, key)
            me(web.url, "gns_wrong")
            mcp(mcp_server.url, key)
    for server in (web, mcp_server):
        lines = fault_lines(server.output)
        assert sum("Redis: not answering" in line for line in lines) == 1, server.output
        assert "Traceback" not in server.output
        assert len(lines) <= 3, server.output  # Redis, and the 401s and 429s it counted
        assert key not in server.output


@needs_redis
def test_a_frozen_redis_holds_no_request_past_its_timeout(on_redis, redis, member, make_key):
    key = make_key(member).plaintext
    assert me(on_redis.url, key).status_code == 200
    redis.freeze()
    try:
        started = time.monotonic()
        for _ in range(10):
            assert me(on_redis.url, key, timeout=3).status_code == 200
            assert mcp(on_redis.mcp_url, key, timeout=3).status_code == 200
        # 250 ms for the first call that meets the freeze, then the local stand-in.
        assert time.monotonic() - started < 4
        began = time.monotonic()
        assert ready(on_redis.url).status_code == 503
        assert time.monotonic() - began < 1
        assert httpx.get(f"{on_redis.url}/api/v1/health", timeout=2).status_code == 200
    finally:
        redis.thaw()
    assert wait_until(lambda: ready(on_redis.url).status_code == 200)
    assert me(on_redis.url, key).status_code == 200


def test_the_limits_count_locally_while_redis_refuses(caplog, settings, monkeypatch):
    """The rate limits themselves, in this process: a Redis that refuses connections."""
    monkeypatch.setattr(limits, "_outage", limits._Outage())  # none yet in this process
    faults._reports.forget("Redis")
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    address = port.getsockname()[1]
    port.close()  # nothing listens there now
    settings.CACHES = {
        **settings.CACHES,
        "limits": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{address}/0",
            "OPTIONS": settings.REDIS_OPTIONS,
        },
    }
    allowed = [limits.hit("client_renames", "apikey:1") for _ in range(5)]
    assert allowed == [True, True, True, False, False]  # counted, in this process
    assert limits.retry_after("client_renames", "apikey:1") > 0
    assert [r.getMessage()[:21] for r in caplog.records if r.name == "infra.faults"] == [
        "Redis: not answering;"
    ]


# The database ---------------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite default")
def test_a_read_only_database_keeps_keys_working_without_last_used(
    transactional_db, member, make_key, tmp_path
):
    key = make_key(member)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    copy = tmp_path / "read-only.sqlite3"
    shutil.copy(connection.settings_dict["NAME"], copy)
    copy.chmod(0o444)
    read_only = {"DATABASE_URL": f"sqlite:///{copy}", **QUIET}
    web = ServerProcess([*without_write_override(), *quiet(WEB)], **read_only)
    mcp_server = ServerProcess([*without_write_override(), *quiet(MCP)], **read_only)

    def last_used():
        with sqlite3.connect(copy) as database:
            return database.execute(
                "SELECT last_used_at FROM apikeys_apikey WHERE id = ?", (key.pk,)
            ).fetchone()[0]

    with web, mcp_server:
        for _ in range(5):  # the first use is due for its last-used write
            assert me(web.url, key.plaintext).status_code == 200
            assert mcp(mcp_server.url, key.plaintext).status_code == 200
        assert me(web.url, "gns_wrong").status_code == 401
        assert last_used() is None
        # Readiness says so: the database answers, and takes no writes.
        down = ready(web.url)
        assert (down.status_code, down.json()["checks"]["database"]) == (503, "unavailable")
        # Writable again: the very next writes go through (no connection kept read-only).
        copy.chmod(0o644)
        assert wait_until(lambda: ready(web.url).status_code == 200)
        assert me(web.url, key.plaintext).status_code == 200
        assert last_used() is not None
    for server in (web, mcp_server):
        assert sum("Last use not recorded" in line for line in fault_lines(server.output)) == 1
        assert "Traceback" not in server.output.split("Last use not recorded", 1)[1]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
def test_with_the_database_gone_every_answer_keeps_its_contract(transactional_db, member, make_key):
    key = make_key(member).plaintext
    session = Client()
    sessions.sign_in(session, member.user)
    cookies = {name: morsel.value for name, morsel in session.cookies.items()}
    db = connection.settings_dict
    with TcpRelay(int(db["PORT"] or 5432), db["HOST"] or "127.0.0.1") as relay:
        url = f"postgres://{db['USER']}:{db['PASSWORD']}@127.0.0.1:{relay.port}/{db['NAME']}"
        with Production(nginx=False, DATABASE_URL=url, **QUIET) as server:
            assert me(server.url, key).status_code == 200
            relay.cut()  # as if PostgreSQL stopped

            api = me(server.url, key)
            assert api.status_code == 503
            assert api.json()["error"] == "temporarily_unavailable"
            assert int(api.headers["Retry-After"]) >= 1
            page = httpx.get(f"{server.url}/o/acme/api-keys/", cookies=cookies, timeout=10)
            assert page.status_code == 503
            assert "Back in a moment" in page.text
            assert httpx.get(f"{server.url}/api/v1/health").status_code == 200
            assert ready(server.url).json()["checks"]["database"] == "unavailable"
            # Every MCP request gets an answer, and it is JSON.
            with ThreadPoolExecutor(max_workers=8) as pool:
                answers = list(pool.map(lambda _: mcp(server.mcp_url, key), range(24)))
            assert {answer.status_code for answer in answers} == {503}
            assert all(answer.json()["error"] == "temporarily_unavailable" for answer in answers)

            relay.restore()  # back: no restart of ours
            assert wait_until(lambda: me(server.url, key).status_code == 200)
            assert mcp(server.mcp_url, key).status_code == 200
    lines = fault_lines(server.output)
    assert "Traceback" not in server.output
    assert len(lines) <= 16, server.output  # both servers' few lines


def test_a_database_error_is_a_503_in_json_for_machines_and_a_page_for_people(
    member, monkeypatch, transactional_db
):
    """In this process, the database made to fail: the WSGI application through Django's
    test client (the same middleware), the ASGI one (the MCP server) through tests.asgi."""
    from django.db import OperationalError

    from apikeys import services
    from organizations import decorators

    def down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(services, "authenticate", down)
    monkeypatch.setattr(decorators, "get_membership_or_404", down)
    api = Client(raise_request_exception=False).get("/api/v1/me", HTTP_X_API_KEY="gns_" + "A" * 38)
    assert (api.status_code, api.json()["error"]) == (503, "temporarily_unavailable")
    assert api["Retry-After"]
    with InProcess() as asgi:
        answer = asgi.request("POST", "/mcp", json=TOOLS, headers=mcp_headers("gns_" + "A" * 38))
    assert (answer.status_code, answer.json()["error"]) == (503, "temporarily_unavailable")
    assert answer.headers["Retry-After"]
    browser = Client(raise_request_exception=False)
    sessions.sign_in(browser, member.user)
    page = browser.get("/o/acme/api-keys/")
    assert page.status_code == 503
    assert "text/html" in page["Content-Type"]
    assert "Back in a moment" in page.text


def test_a_bug_is_a_json_500_at_machine_urls(monkeypatch, transactional_db):
    from apikeys import services

    def bug(*args, **kwargs):
        raise KeyError("a bug, not an outage")

    monkeypatch.setattr(services, "authenticate", bug)
    api = Client(raise_request_exception=False).get("/api/v1/me", HTTP_X_API_KEY="gns_" + "A" * 38)
    assert (api.status_code, api.json()["error"]) == (500, "server_error")
    with InProcess() as asgi:
        answer = asgi.request("POST", "/mcp", json=TOOLS, headers=mcp_headers("gns_" + "A" * 38))
    assert (answer.status_code, answer.json()["error"]) == (500, "server_error")


# Mail -------------------------------------------------------------------------------


@pytest.fixture
def queued_mail(settings):
    """The production mail setup: notices queued in the request, sent by the sender."""
    settings.EMAIL_BACKEND = "post_office.EmailBackend"
    settings.POST_OFFICE = {
        **settings.POST_OFFICE,
        "BACKENDS": {"default": "django.core.mail.backends.smtp.EmailBackend"},
    }
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_TIMEOUT = 1
    return settings


def test_a_silent_mail_server_never_slows_a_revoke_and_loses_no_notice(
    transactional_db, queued_mail, client_for, admin, member, make_key
):
    from post_office.models import STATUS, Email

    key = make_key(member, "Revoked while mail is down")
    with SilentMailServer() as silent:
        queued_mail.EMAIL_PORT = silent.port
        started = time.monotonic()
        response = client_for(admin).post(f"/o/acme/api-keys/{key.pk}/revoke/")
        assert response.status_code == 302
        assert time.monotonic() - started < 1
        key.refresh_from_db()
        assert key.revoked_at is not None
        notice = Email.objects.get()
        assert (notice.to, notice.status) == ([member.user.email], STATUS.queued)

        started = time.monotonic()
        call_command("send_queued_mail")  # the sender, on its own schedule
        assert time.monotonic() - started < 10
        notice.refresh_from_db()
        assert (notice.status, notice.number_of_retries) == (STATUS.requeued, 1)

    with MailInbox() as inbox:
        queued_mail.EMAIL_PORT = inbox.port
        Email.objects.update(scheduled_time=None)  # its retry is due
        call_command("send_queued_mail")
    notice.refresh_from_db()
    assert notice.status == STATUS.sent
    assert [envelope.rcpt_tos for envelope in inbox.received] == [[member.user.email]]
    assert b"Revoked while mail is down" in inbox.received[0].content
    assert key.plaintext.encode() not in inbox.received[0].content
    assert not mail.outbox  # nothing took the old way round the queue


def test_mail_with_a_secret_goes_straight_to_the_server_and_a_silent_one_costs_a_timeout(
    transactional_db, queued_mail, client_for, admin, member
):
    """Invitation links and reset links are never queued (a stored working link); a
    silent server costs EMAIL_TIMEOUT, says so, and loses nothing already saved."""
    from post_office.models import Email

    from organizations.models import Invitation

    with SilentMailServer() as silent:
        queued_mail.EMAIL_PORT = silent.port
        started = time.monotonic()
        response = client_for(admin).post(
            "/o/acme/members/invite/", {"email": "nina@example.com", "role": "member"}, follow=True
        )
        assert time.monotonic() - started < 5
        assert response.status_code == 200
        assert "the mail server didn&#x27;t take the email" in response.text
        assert Invitation.objects.filter(email="nina@example.com").exists()
        reset = Client().post("/accounts/password/reset/", {"email": member.user.email})
        assert reset.status_code == 302
    assert not Email.objects.exists()

    with MailInbox() as inbox:
        queued_mail.EMAIL_PORT = inbox.port
        invitation = Invitation.objects.get()
        resent = client_for(admin).post(f"/o/acme/invitations/{invitation.pk}/resend/", follow=True)
        assert "We sent an invitation to nina@example.com" in resent.text
        Client().post("/accounts/password/reset/", {"email": member.user.email})
    assert [envelope.rcpt_tos for envelope in inbox.received] == [
        ["nina@example.com"],
        [member.user.email],
    ]
    assert b"/invitations/" in inbox.received[0].content
    assert b"/accounts/password/reset/key/" in inbox.received[1].content
    assert not Email.objects.exists()


# Slow clients -----------------------------------------------------------------------


def test_a_body_over_the_limit_gets_413_unread(server, transactional_db):
    response = httpx.post(f"{server.url}/api/v1/me", content=b"x" * (3 * 1024 * 1024), timeout=10)
    assert response.status_code == 413
    assert response.json()["error"] == "request_too_large"


# Draining ---------------------------------------------------------------------------


class Balancer:
    """Clients sending /api/v1/me for as long as a load balancer would send them on."""

    # However a test fails, its clients stop: a failed assertion inside the test's thread
    # pool would otherwise wait for them forever (a loaded machine hung the suite).
    GIVE_UP_SECONDS = 120

    def __init__(self, url: str, key: str):
        self.url, self.key = url, key
        self.sending = threading.Event()
        self.results, self.failures = [], []
        self.give_up_at = time.monotonic() + self.GIVE_UP_SECONDS

    def send(self):
        with httpx.Client(base_url=self.url, timeout=10) as http:
            while self.sending.is_set() and time.monotonic() < self.give_up_at:
                try:
                    response = http.get("/api/v1/me", headers={"x-api-key": self.key})
                    self.results.append(response.status_code)
                except httpx.TransportError as error:
                    self.failures.append(error)

    def start(self, pool, clients: int) -> None:
        self.sending.set()
        self.loaders = [pool.submit(self.send) for _ in range(clients)]
        assert wait_until(lambda: len(self.results) > 20, timeout=20)

    def stop_once_ready_says_503(self) -> int:
        """Waits for /ready's 503, then for the balancer's next health check; returns how
        many answers came before the 503."""
        assert wait_until(lambda: ready(self.url).status_code == 503, timeout=5)
        seen = len(self.results)
        # Still answered while draining: a few more come before the balancer stops.
        assert wait_until(lambda: len(self.results) > seen + 5, timeout=10)
        self.sending.clear()
        for loader in self.loaders:
            loader.result(timeout=20)
        return seen

    def assert_nothing_lost(self, answered_before_the_drain: int) -> None:
        assert len(self.results) > answered_before_the_drain, "it kept serving while draining"
        assert not self.failures
        assert set(self.results) == {200}


def test_draining_never_waits_for_django_to_start(tmp_path):
    script = (
        "import sys; from genesis import drain; "
        "code = drain.main(sys.argv[1:]); print('django' in sys.modules); sys.exit(code)"
    )
    env = {"PATH": os.environ.get("PATH", ""), "DRAIN_FILE": str(tmp_path / "d"), "DEBUG": "1"}
    ran = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=30, check=True,
    )  # fmt: skip
    assert ran.stdout.splitlines()[-1] == "False"
    assert (tmp_path / "d").exists()
    subprocess.run([sys.executable, "-m", "genesis.drain", "--undo"], cwd=ROOT, env=env,
                   check=True, timeout=30)  # fmt: skip
    assert not (tmp_path / "d").exists()


def test_the_production_server_drains_before_it_stops(transactional_db, member, make_key, tmp_path):
    """granian's workers never see a SIGTERM of their own: the systemd unit runs
    `manage.py drain` first (ExecStop), which turns /ready to 503 for DRAIN_SECONDS."""
    # 5 s: long enough that a loaded machine still asks /ready inside the window.
    server = ServerProcess(WEB, DRAIN_FILE=str(tmp_path / "draining"), DRAIN_SECONDS="5")
    with server, ThreadPoolExecutor(max_workers=3) as pool:
        assert ready(server.url).status_code == 200
        balancer = Balancer(server.url, make_key(member).plaintext)
        balancer.start(pool, 2)
        drain = pool.submit(
            subprocess.run,
            [sys.executable, "-m", "genesis.drain"],  # as the unit runs it
            cwd=ROOT, env=server.env, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        before = balancer.stop_once_ready_says_503()
        assert ready(server.url).json() == {"status": "draining", "checks": None}
        assert drain.result().returncode == 0  # waited its 5 s; now systemd sends SIGTERM
    balancer.assert_nothing_lost(before)


# Logs -------------------------------------------------------------------------------


def test_a_fault_is_reported_once_a_minute_with_a_count(caplog, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(faults.time, "monotonic", lambda: clock[0])
    faults._reports.forget("Test fault")
    error = ConnectionError("refused")
    for _ in range(100):
        faults.report("Test fault", "not answering", error)
    clock[0] += faults.REPORT_INTERVAL_SECONDS
    faults.report("Test fault", "not answering", error)
    messages = [r.getMessage() for r in caplog.records if r.name == "infra.faults"]
    assert messages == [
        "Test fault: not answering (ConnectionError: refused)",
        "Test fault: not answering (ConnectionError: refused); 99 more since the last report",
    ]
    assert not any(r.exc_info for r in caplog.records)  # an outage: its error says enough


def test_a_bug_is_reported_with_its_traceback_the_first_time(caplog):
    faults._reports.forget("Test bug")
    for _ in range(3):
        faults.report("Test bug", "/mcp", KeyError("x"), traceback=True)
    records = [r for r in caplog.records if r.name == "infra.faults"]
    assert len(records) == 1
    assert records[0].exc_info


def test_an_outage_is_a_line_a_minute_in_the_servers_log_not_one_per_request(transactional_db):
    """The console and API server with a database that can't be opened: every answer is
    a 503, and the log says so once (not a line, or a traceback, per request)."""
    missing = "sqlite:////nonexistent-directory/genesis.sqlite3"
    unknown = keys.generate()  # well formed, so the check reaches the database
    with ServerProcess(quiet(WEB), DATABASE_URL=missing, **QUIET) as web:
        for _ in range(20):
            assert me(web.url, unknown).status_code == 503
    lines = fault_lines(web.output)
    assert "Traceback" not in web.output
    assert len(lines) <= 3, web.output
    assert sum("Unavailable (503)" in line for line in lines) <= 1, web.output


def test_the_mail_sender_logs_a_line_per_kind_of_failure_not_a_traceback_per_try(
    transactional_db, member, make_key
):
    from post_office import mail as post_office_mail

    for number in range(3):
        post_office_mail.send([member.user.email], "Genesis <a@example.com>", subject=f"n{number}",
                              message="body", priority="medium")  # fmt: skip
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    env = server_env(EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(port), EMAIL_TIMEOUT="1", **QUIET)
    sent = subprocess.run(
        [sys.executable, "manage.py", "send_queued_mail"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    output = sent.stdout + sent.stderr
    assert "Traceback" not in output, output
    failures = [line for line in fault_lines(output) if "post_office" in line]
    assert 1 <= len(failures) <= 2, output
