"""Garbage in the auth headers gets exactly the 401 of any refusal, after a real key check
(each example starts unthrottled), and the API keeps to its own OpenAPI schema
(schemathesis, default checks). The throttle has tests of its own."""

import string

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.cache import caches
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apikeys import keys, services
from apikeys.shapes import UNAUTHORIZED

from .factories import ApiKeyFactory

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any header value HTTP allows (RFC 9110 field-value: visible ASCII, obs-text, and spaces
# or tabs inside), never empty; anything else the HTTP server itself answers with 400
# before our code. Long ones too: uvicorn's parser (httptools) takes them all.
header_bytes = (
    st.binary(max_size=300)
    .map(
        lambda raw: bytes(b for b in raw if 0x21 <= b <= 0x7E or b >= 0x80 or b in b" \t").strip(
            b" \t"
        )
    )
    .filter(bool)
)
# As long as a header line gets past the proxy in front (nginx: 8 KB); longer ones are its
# 400 (tests/test_deploy.py).
long_keys = st.integers(min_value=1_000, max_value=8_000).map(lambda n: b"gns_" + b"A" * n)


class AuthenticateCalls:
    """Counts the calls that reach apikeys.services.authenticate: a fuzz example that
    stops at the throttle (429) or in the HTTP server tests nothing of the key check."""

    def __init__(self, monkeypatch):
        self.count = 0
        real = services.authenticate

        def counting(raw_key, ip=None):
            self.count += 1
            return real(raw_key, ip)

        monkeypatch.setattr(services, "authenticate", counting)


@pytest.fixture
def calls(monkeypatch):
    return AuthenticateCalls(monkeypatch)


@pytest.fixture
def examples():
    """Counts the examples Hypothesis ran; at the end, each must have reached the key
    check (all of them but a few that Hypothesis shrinks or replays)."""
    ran = []
    yield ran
    assert ran, "Hypothesis ran no example"


def assert_most_reached_authenticate(calls, examples, per_example=1):
    assert calls.count >= 0.9 * per_example * len(examples), (calls.count, len(examples))


def one_character_changed(key: str, position: int, replacement: str) -> str:
    position %= len(key)
    if key[position] == replacement:
        replacement = "0" if replacement != "0" else "1"
    return key[:position] + replacement + key[position + 1 :]


@pytest.fixture
def valid_key(member):
    return ApiKeyFactory(membership=member).plaintext


def test_any_x_api_key_text_is_refused_by_the_api(client, db, calls, examples):
    @FUZZ
    @given(value=st.text(max_size=500))
    def refused(value):
        caches["limits"].clear()  # each example starts unthrottled: it reaches the key check
        examples.append(value)
        assert client.get("/api/v1/me", HTTP_X_API_KEY=value).status_code == 401

    refused()
    assert_most_reached_authenticate(calls, examples)


def test_a_valid_key_with_one_character_changed_is_refused(client, valid_key, calls, examples):
    @FUZZ
    @given(
        position=st.integers(min_value=0, max_value=41),
        replacement=st.sampled_from(string.ascii_letters + string.digits + "_-é🔑"),
    )
    def refused(position, replacement):
        caches["limits"].clear()
        examples.append(position)
        changed = one_character_changed(valid_key, position, replacement)
        assert client.get("/api/v1/me", HTTP_X_API_KEY=changed).status_code == 401

    refused()
    assert keys.is_well_formed(valid_key)
    assert_most_reached_authenticate(calls, examples)


def test_any_header_bytes_are_refused_by_api_and_mcp(http, examples):
    """Through the production servers (what their HTTP parsers let through matters), whose
    limits are out of reach (tests/conftest.py): every example reaches the key check."""
    tools = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}

    @FUZZ
    @given(value=st.one_of(header_bytes, long_keys))
    def refused(value):
        examples.append(value)
        api = http.get("/api/v1/me", headers={"x-api-key": value})
        mcp = http.post(
            "/mcp",
            json=tools,
            headers={"Authorization": b"Bearer " + value, "Accept": "application/json"},
        )
        assert (api.status_code, mcp.status_code) == (401, 401), value
        assert api.json() == mcp.json() == UNAUTHORIZED

    refused()


def test_the_valid_key_itself_is_accepted(client, valid_key):
    assert client.get("/api/v1/me", HTTP_X_API_KEY=valid_key).status_code == 200


@pytest.fixture
def leak_endpoints_configured(tmp_path):
    """The GitHub endpoint configured (with a key pair of the test's), as in production,
    and public reports and failed keys unthrottled."""
    from tests.apikeys.test_leaks import Signer

    Signer(tmp_path / "github-keys.json")
    with override_settings(
        GITHUB_SECRET_SCANNING_KEYS_FILE=str(tmp_path / "github-keys.json"),
        # Its probes send many bad keys on purpose; throttling has tests of its own.
        RATE_LIMITS={
            **django_settings.RATE_LIMITS,
            "leak_reports": "1000000/m",
            "key_failures": "1000000/m",
        },
    ):
        yield


@pytest.fixture
def admin_key(admin, member):
    """An Admin's key with organization administration, so every endpoint answers its
    200 too; the organization has a member's key and a service account's to list."""
    from organizations import scopes

    from .factories import make_service_account, make_service_key

    ApiKeyFactory(membership=member)
    make_service_key(make_service_account(admin.organization), admin)
    return ApiKeyFactory(membership=admin, scopes=scopes.DEFAULT | {scopes.ORG_ADMIN}).plaintext


def test_the_api_keeps_to_its_schema(transactional_db, admin_key, leak_endpoints_configured):
    # The production entry point in this process (with the test's settings applied).
    from genesis.wsgi import application

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)

    @schema.auth()
    class ApiKeyHeader:
        """Tells schemathesis how we authenticate, so its checks can also leave it out."""

        def get(self, case, context):
            return admin_key

        def set(self, case, data, context):
            case.headers = {**(case.headers or {}), "X-API-Key": data}

    operations = [result.ok() for result in schema.get_all_operations()]
    assert {operation.path for operation in operations} >= {
        "/api/v1/me",
        "/api/v1/health",
        "/api/v1/keys",
        "/api/v1/organization/keys",
    }
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
        def conforms(case):
            # schemathesis' default checks, the ones that send no key included.
            case.call_and_validate()

        conforms()
