"""Garbage in the auth headers never gets more than a 401 (or 429), and the API keeps to
its own OpenAPI schema (schemathesis, default checks)."""

import string

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apikeys import keys, throttle

from .factories import ApiKeyFactory

REFUSED = {401, 429}
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any header value HTTP allows (RFC 9110 field-value: visible ASCII, obs-text, and spaces
# or tabs inside); anything else the HTTP server itself answers with 400 before our code.
header_bytes = st.binary(max_size=300).map(
    lambda raw: bytes(b for b in raw if 0x21 <= b <= 0x7E or b >= 0x80 or b in b" \t").strip(b" \t")
)
huge = st.integers(min_value=1_000, max_value=60_000).map(lambda n: b"gns_" + b"A" * n)


def one_character_changed(key: str, position: int, replacement: str) -> str:
    position %= len(key)
    if key[position] == replacement:
        replacement = "0" if replacement != "0" else "1"
    return key[:position] + replacement + key[position + 1 :]


@pytest.fixture
def valid_key(member):
    return ApiKeyFactory(membership=member).plaintext


@FUZZ
@given(value=st.text(max_size=500))
def test_any_x_api_key_text_is_refused_by_the_api(client, db, value):
    assert client.get("/api/v1/me", HTTP_X_API_KEY=value).status_code in REFUSED


@FUZZ
@given(
    position=st.integers(min_value=0, max_value=41),
    replacement=st.sampled_from(string.ascii_letters + string.digits + "_-é🔑"),
)
def test_a_valid_key_with_one_character_changed_is_refused(
    client, valid_key, position, replacement
):
    changed = one_character_changed(valid_key, position, replacement)
    assert client.get("/api/v1/me", HTTP_X_API_KEY=changed).status_code in REFUSED
    assert keys.is_well_formed(valid_key)


@FUZZ
@given(value=st.one_of(header_bytes, huge))
def test_any_header_bytes_are_refused_by_api_and_mcp(server, transactional_db, value):
    tools = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    with httpx.Client(base_url=server.url, timeout=10) as http:
        api = http.get("/api/v1/me", headers={"x-api-key": value})
        mcp = http.post(
            "/mcp",
            json=tools,
            headers={"Authorization": (b"Bearer " + value).strip(), "Accept": "application/json"},
        )
    # h11 answers an oversized header block itself with 431; never a 5xx.
    assert api.status_code in REFUSED | {431}
    assert mcp.status_code in REFUSED | {431}


def test_the_valid_key_itself_is_accepted(client, valid_key):
    assert client.get("/api/v1/me", HTTP_X_API_KEY=valid_key).status_code == 200


def test_the_api_keeps_to_its_schema(server, transactional_db, valid_key, monkeypatch):
    # Its probes send many bad keys on purpose; throttling has tests of its own.
    monkeypatch.setattr(throttle, "FAILURE_LIMIT", 10**6)
    schema = schemathesis.openapi.from_url(f"{server.url}/api/v1/openapi.json")

    @schema.auth()
    class ApiKeyHeader:
        """Tells schemathesis how we authenticate, so its checks can also leave it out."""

        def get(self, case, context):
            return valid_key

        def set(self, case, data, context):
            case.headers = {**(case.headers or {}), "X-API-Key": data}

    operations = [result.ok() for result in schema.get_all_operations()]
    assert {operation.path for operation in operations} >= {"/api/v1/me", "/api/v1/health"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
        def conforms(case):
            # schemathesis' default checks, the ones that send no key included.
            case.call_and_validate()

        conforms()
