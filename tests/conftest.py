import email
import email.policy
import json as jsonlib
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from urllib.parse import urlsplit

import httpx
import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.management import call_command
from django.test import Client
from django.utils.translation import trans_real

from apikeys import usage
from infra import limits
from infra.daily_counts import DailyCounts
from oauth import usage as grant_usage
from oauth.models import GrantUsage
from organizations.models import Role

from .factories import (
    ApiKeyFactory,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
    numbered,
)
from .faults import MailInbox
from .servers import Production, client_address
from .sessions import sign_in


@pytest.fixture(scope="session", autouse=True)
def _compiled_translations():
    # The install commands compile them; a bare `pytest` does it too. Anything that
    # translated before this (collecting the tests does) cached catalogs without them:
    # Django drops its cache the same way when LOCALE_PATHS changes in a test.
    call_command("compile_translations", verbosity=0)
    trans_real._translations = {}
    trans_real._default = None


def pytest_collection_modifyitems(items):
    # Playwright keeps an event loop in the main thread once it starts, which Django's
    # ORM then refuses to run beside: run the browser tests last.
    items.sort(key=lambda item: "/e2e/" in str(item.path))


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Failed-attempt counters live in the process-wide caches: each test starts clean.
    for alias in settings.CACHES:
        caches[alias].clear()


# The middle of a throttle window: 30 s after one starts, 30 s before it ends.
PINNED_TIME = 1_000_020.0 + 30


class PinnedClock:
    """time.time for a test: it stands still until `set`."""

    def __init__(self, now=PINNED_TIME):
        self.now = now

    def __call__(self):
        return self.now

    def set(self, now):
        self.now = now


@pytest.fixture(autouse=True)
def throttle_clock(monkeypatch):
    """The throttle counts per clock minute: a test that ran across a minute's end would
    see its counts start again. Pinned for every test (servers in this process too);
    `throttle_clock.set(t)` moves it."""

    clock = PinnedClock()
    monkeypatch.setattr(limits, "clock", clock)
    return clock


def noon_today() -> float:
    return datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0).timestamp()


@pytest.fixture(autouse=True)
def usage_counts(monkeypatch):
    """This process's usage counts (apikeys.usage), new for each test, on a clock of their
    own that stands still at noon (UTC) of the day the test began (counts are dated by it;
    a test moving it on minutes or hours stays on that day): nothing is written until a
    test moves it a minute on (`usage_counts.clock.set`) or calls `usage.flush()`."""

    counts = usage.Counts(clock=PinnedClock(noon_today()))
    monkeypatch.setattr(usage, "counts", counts)
    return counts


@pytest.fixture(autouse=True)
def grant_usage_counts(monkeypatch):
    """The same for OAuth grants' usage (oauth.usage)."""
    counts = DailyCounts(GrantUsage, "grant", clock=PinnedClock(noon_today()))
    monkeypatch.setattr(grant_usage, "counts", counts)
    return counts


@pytest.fixture
def org(db):
    return OrganizationFactory(name="Acme", slug="acme")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(name="Globex", slug="globex")


@pytest.fixture
def owner(org):
    return MembershipFactory(
        organization=org, role=Role.OWNER, user__name="Olivia Owner", user__email="owner@acme.test"
    )


@pytest.fixture
def admin(org):
    return MembershipFactory(
        organization=org, role=Role.ADMIN, user__name="Adam Admin", user__email="admin@acme.test"
    )


@pytest.fixture
def member(org):
    return MembershipFactory(
        organization=org, role=Role.MEMBER, user__name="Mia Member", user__email="member@acme.test"
    )


@pytest.fixture
def outsider(other_org):
    """An Admin of another organization."""
    return MembershipFactory(
        organization=other_org,
        role=Role.ADMIN,
        user__name="Otto Outsider",
        user__email="admin@globex.test",
    )


@pytest.fixture
def team(owner, admin, member, outsider):
    return {"owner": owner, "admin": admin, "member": member, "outsider": outsider}


@pytest.fixture
def client_for():
    """A test client signed in as the membership's user, or as a user (or anonymous for
    None)."""

    def make(membership, *, minutes_ago=0):
        client = Client()
        if membership is not None:
            sign_in(client, getattr(membership, "user", membership), minutes_ago=minutes_ago)
        return client

    return make


@pytest.fixture
def make_key():
    def make(membership, name=None, **kwargs):
        name = name or numbered("CI pipeline", membership)
        return ApiKeyFactory(membership=membership, name=name, **kwargs)

    return make


@pytest.fixture
def new_user(db):
    return UserFactory(name="Nina New", email="nina@example.com")


@pytest.fixture(scope="session")
def mail_server():
    """The mail server the test servers send through: a real SMTP server on loopback,
    keeping what it is sent (`received`)."""
    with MailInbox() as inbox:
        yield inbox


class SentMail:
    """What the production servers mailed since the test began, as messages with `to`,
    `subject` and `body` (tests/factories.invitation_path reads the body)."""

    def __init__(self, inbox):
        self.inbox, self.start = inbox, len(inbox.received)

    def messages(self) -> list:
        return [_message(envelope) for envelope in self.inbox.received[self.start :]]

    def last(self, timeout: float = 10):
        """The latest message, waiting for the first one if none has come yet."""
        deadline = time.monotonic() + timeout
        while len(self.inbox.received) <= self.start:
            if time.monotonic() > deadline:
                raise AssertionError("no mail came")
            time.sleep(0.05)
        return self.messages()[-1]


def _message(envelope):
    parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
    part = parsed.get_body(preferencelist=("plain",))
    return SimpleNamespace(
        to=list(envelope.rcpt_tos), subject=str(parsed["Subject"]), body=part.get_content()
    )


@pytest.fixture
def sent_mail(mail_server):
    return SentMail(mail_server)


@pytest.fixture(scope="session")
def server(django_db_setup, mail_server):
    """The whole product as production runs it (tests/servers.py, Production), for the
    session, on the port of PUBLIC_URL (tests/settings.py), which OAuth's URLs are built
    on; mail to `mail_server`."""
    port = urlsplit(settings.PUBLIC_URL).port
    with Production(
        port, EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(mail_server.port), **UNLIMITED
    ) as running:
        yield running


# The session's servers count every test's refusals in memory the tests can't clear, so
# their rate limits are out of reach; each limit is tested on servers of its own (and in
# this process, where tests/conftest.py's clock and caches apply).
UNLIMITED = {
    "KEY_FAILURES_PER_MINUTE": "1000000",
    "OAUTH_REGISTRATIONS_PER_HOUR": "1000000",
    "LEAK_REPORTS_PER_MINUTE": "1000000",
}


@pytest.fixture(scope="module")
def proxied(django_db_setup):
    """The production servers behind a proxy at 127.0.0.1 (TRUSTED_PROXIES), for the
    module; each test forwards addresses of its own (`forwarded`)."""
    with Production(nginx=False, TRUSTED_PROXIES="127.0.0.1") as production:
        yield production


@pytest.fixture(scope="module")
def direct(django_db_setup):
    """The production servers with no trusted proxy, for the module."""
    with Production(nginx=False) as production:
        yield production


class InProcessHttp:
    """Django's test client with httpx's way of saying a request (json=, headers=), for
    tests that change settings or pin the clock: in this process, through the same
    middleware and views as the production servers."""

    def __init__(self):
        self.client = Client()

    def get(self, path, params=None, headers=None):
        response = self.client.get(path, params or {}, headers=headers)
        response.url = response.wsgi_request.get_full_path()  # as httpx's response has it
        return response

    def post(self, path, json=None, data=None, content=None, headers=None):
        if json is not None:
            content = jsonlib.dumps(json)
        if content is not None:
            kind = (headers or {}).get("Content-Type", "application/json")
            return self.client.post(path, content, content_type=kind, headers=headers)
        return self.client.post(path, data or {}, headers=headers)


@pytest.fixture
def in_process(db):
    return InProcessHttp()


@pytest.fixture
def in_process_as(db):
    """An InProcessHttp signed in as a user (a browser with their session)."""

    def signed_in(user):
        http = InProcessHttp()
        sign_in(http.client, user)
        return http

    return signed_in


@pytest.fixture
def address():
    """This test's own client address (tests/servers.py, client_address)."""
    return client_address()


@pytest.fixture
def http(server, transactional_db, address):
    """An HTTP client of the whole product at PUBLIC_URL (the MCP server's paths to it, the
    rest to the console and API), from this test's own address."""
    with httpx.Client(
        base_url=server.url, timeout=10, transport=server.transport(address)
    ) as client:
        yield client


@pytest.fixture
def mcp_http(http):
    return http
