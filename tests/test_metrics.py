"""Metrics at /metrics, request ids and JSON log lines (issue 32, item 6), on the production
servers: each with two workers, writing to one multiprocess directory, as the units run
them (docs/deploy/genesis-metrics.service)."""

import json
import re
import time
import tomllib
from pathlib import Path

import httpx
import pytest
from django.db import OperationalError
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from infra import faults
from organizations import scopes

from .calls import TOOLS_LIST, mcp_headers
from .servers import DEPLOY, PROXY_ADDRESS, Production, client_address

TOKEN = "tests-only-metrics-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def metered(django_db_setup, tmp_path_factory):
    """The production servers with two workers each, metrics on, JSON logs, and a
    failed-key limit low enough to reach; spoken to directly, a connection per request,
    so that either worker may answer (nginx would reuse one connection to one worker)."""
    directory = tmp_path_factory.mktemp("prometheus")
    with Production(
        nginx=False,
        TRUSTED_PROXIES=PROXY_ADDRESS,
        workers=2,
        PROMETHEUS_MULTIPROC_DIR=str(directory),
        METRICS_TOKEN=TOKEN,
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
        KEY_FAILURES_PER_MINUTE="2",
    ) as production:
        yield production


def call(address: str, method: str, url: str, **kwargs) -> httpx.Response:
    """One request on a connection of its own, from `address`."""
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(transport=transport, timeout=10) as client:
        return client.request(method, url, **kwargs)


def me(url: str, key: str, address: str) -> httpx.Response:
    return call(address, "GET", f"{url}/api/v1/me", headers={"x-api-key": key})


def mcp(url: str, key: str, address: str, path: str = "/mcp") -> httpx.Response:
    return call(address, "POST", f"{url}{path}", json=TOOLS_LIST, headers=mcp_headers(key))


def eventually(condition, what: str, timeout: float = 20):
    """`condition()`'s first true answer, asked again until `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        answer = condition()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


def scrape(url: str) -> dict:
    """/metrics as {(name, labels): value}."""
    response = httpx.get(f"{url}/metrics", headers=BEARER, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def key_checks(samples: dict, surface: str, outcome: str) -> float:
    labels = (("outcome", outcome), ("surface", surface))
    return samples.get(("genesis_key_checks_total", labels), 0)


def json_lines(output: str) -> list[dict]:
    """The app's log lines (granian's own start-up lines aside), each parsed: one JSON
    object per line."""
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def line_of(production, response: httpx.Response, path: str) -> dict | None:
    """The log line of the request `response` answered, by its X-Request-ID."""
    output = production.web.output_so_far() + production.mcp.output_so_far()
    wanted = response.headers["X-Request-ID"]
    for line in json_lines(output):
        if line.get("path") == path and line.get("request_id") == wanted:
            return line
    return None


# Without the setting, and without the token


def test_metrics_are_a_json_404_without_a_token_configured(http):
    """The session's servers, behind nginx where it is installed (its map says /metrics
    is a machine URL)."""
    for headers in ({}, {"Authorization": "Bearer anything"}):
        response = http.get("/metrics", headers=headers)
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
        assert response.headers["X-Request-ID"]


def test_metrics_are_a_json_404_with_a_wrong_or_missing_token(metered):
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": TOKEN},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
    ):
        response = httpx.get(f"{metered.url}/metrics", headers=headers, timeout=10)
        assert response.status_code == 404, headers
        assert response.json()["error"] == "not_found"
    # The wrong method without the token learns nothing either.
    assert httpx.post(f"{metered.url}/metrics", timeout=10).status_code == 404


def test_metrics_with_the_token_are_prometheus_text(metered):
    samples = scrape(metered.url)
    names = {name for name, _ in samples}
    assert "genesis_mail_queue_messages" in names
    assert "genesis_request_duration_seconds_bucket" in names
    assert "genesis_dependency_errors_total" in names
    build = next(labels for name, labels in samples if name == "genesis_build_info")
    # The release pyproject.toml declares (CHANGELOG.md, README's "Upgrading").
    declared = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    assert ("version", declared["project"]["version"]) in build
    # Every surface and outcome is there from the start.
    for surface in ("api", "mcp", "oauth"):
        for outcome in ("ok", "forbidden", "refused", "throttled"):
            labels = (("outcome", outcome), ("surface", surface))
            assert ("genesis_key_checks_total", labels) in samples


# Counted across the workers of both servers


def test_key_checks_are_counted_by_surface_and_outcome_across_workers_and_servers(
    metered, transactional_db, member, make_key
):
    address = client_address()
    key = make_key(member)
    mcp_only = make_key(member, scopes=frozenset({scopes.MCP_READ}))
    api_only = make_key(member, scopes=frozenset({scopes.API_READ}))
    before = scrape(metered.url)
    pids = set()
    calls = 0

    def two_workers_answered():
        nonlocal calls
        response = me(metered.url, key.plaintext, address)
        assert response.status_code == 200
        calls += 1
        line = eventually(lambda: line_of(metered, response, "/api/v1/me"), "the call's log line")
        pids.add(line["process"])
        return len(pids) >= 2

    eventually(two_workers_answered, "both workers of the web server answered", timeout=60)
    assert me(metered.url, mcp_only.plaintext, address).status_code == 403  # no api:read
    assert me(metered.url, mcp_only.plaintext, address).status_code == 403
    for _ in range(3):
        assert mcp(metered.mcp_url, key.plaintext, address).status_code == 200
    assert mcp(metered.mcp_url, api_only.plaintext, address).status_code == 403  # no mcp:read
    assert mcp(metered.mcp_url, "gns_not_a_key", address).status_code == 401

    # Wrong keys from another address until a worker says 429 (without Redis each worker
    # counts on its own, 2 a minute).
    throttled_address = client_address()
    outcomes = {"refused": 0, "throttled": 0}

    def throttled():
        status = me(metered.url, "gns_not_a_key", throttled_address).status_code
        outcomes["refused" if status == 401 else "throttled"] += 1
        return status == 429

    eventually(throttled, "a 429", timeout=30)
    expected = {
        ("api", "ok"): calls,
        ("api", "forbidden"): 2,
        ("api", "refused"): outcomes["refused"],
        ("api", "throttled"): outcomes["throttled"],
        ("mcp", "ok"): 3,
        ("mcp", "forbidden"): 1,
        ("mcp", "refused"): 1,
        ("mcp", "throttled"): 0,
    }

    def grown():
        after = scrape(metered.url)
        return {
            checked: key_checks(after, *checked) - key_checks(before, *checked)
            for checked in expected
        }

    eventually(lambda: grown() == expected, f"the counts {expected}, not {grown()}")


def test_request_latency_is_measured_per_surface(metered, transactional_db, member, make_key):
    address = client_address()
    key = make_key(member)
    assert me(metered.url, key.plaintext, address).status_code == 200
    assert mcp(metered.mcp_url, key.plaintext, address).status_code == 200
    assert call(address, "GET", f"{metered.url}/accounts/login/").status_code == 200
    samples = scrape(metered.url)
    for surface in ("api", "mcp", "console"):
        labels = (("surface", surface),)
        assert samples[("genesis_request_duration_seconds_count", labels)] >= 1, surface


# Request ids and log lines


def test_every_answer_carries_a_request_id(http, member, make_key):
    """Console, API and MCP answers, through nginx where it is installed (which gives
    each request its id: the client's own is replaced)."""
    key = make_key(member)
    client_id = {"X-Request-ID": "chosen-by-the-client"}
    answers = [
        http.get("/accounts/login/", headers=client_id),
        http.get("/", headers=client_id),  # a redirect to sign in
        http.get("/api/v1/health", headers=client_id),
        http.get("/api/v1/me", headers={"x-api-key": key.plaintext, **client_id}),
        http.get("/api/v1/me", headers={"x-api-key": "gns_not_a_key", **client_id}),
        http.post("/mcp", json=TOOLS_LIST, headers={**mcp_headers(key.plaintext), **client_id}),
        http.get("/mcp", headers=client_id),  # 405
    ]
    assert [answer.status_code for answer in answers] == [200, 302, 200, 200, 401, 200, 405]
    ids = [answer.headers.get("X-Request-ID") for answer in answers]
    assert all(ids), ids
    assert "chosen-by-the-client" not in ids
    assert len(set(ids)) == len(ids)


def test_a_request_id_is_believed_from_a_trusted_proxy_only(metered):
    health = f"{metered.url}/api/v1/health"
    headers = {"X-Request-ID": "proxy-id-0123"}
    trusted = call(PROXY_ADDRESS, "GET", health, headers=headers)
    assert trusted.headers["X-Request-ID"] == "proxy-id-0123"
    stranger = call(client_address(), "GET", health, headers=headers)
    assert re.fullmatch(r"[0-9a-f]{32}", stranger.headers["X-Request-ID"])
    # Not an id: a new one, whoever sends it.
    odd = call(PROXY_ADDRESS, "GET", health, headers={"X-Request-ID": "a b;c"})
    assert re.fullmatch(r"[0-9a-f]{32}", odd.headers["X-Request-ID"])
    # The MCP server believes the same proxy, and no one else.
    answered = call(PROXY_ADDRESS, "GET", f"{metered.mcp_url}/mcp", headers=headers)
    assert answered.headers["X-Request-ID"] == "proxy-id-0123"
    stranger = call(client_address(), "GET", f"{metered.mcp_url}/mcp", headers=headers)
    assert re.fullmatch(r"[0-9a-f]{32}", stranger.headers["X-Request-ID"])


def test_log_lines_are_json_with_the_request_id_and_never_the_key(
    metered, transactional_db, member, make_key
):
    address = client_address()
    key = make_key(member)
    api = me(metered.url, key.plaintext, address)
    last = "y" if key.plaintext.endswith("x") else "x"  # another key, whatever it ends in
    wrong = me(metered.url, key.plaintext[:-1] + last, address)
    tools = mcp(metered.mcp_url, key.plaintext, address, path="/mcp?secret=abc")
    assert (api.status_code, wrong.status_code, tools.status_code) == (200, 401, 200)

    line = eventually(lambda: line_of(metered, api, "/api/v1/me"), "the API call's line")
    assert line["logger"] == "infra.request_log"
    assert line["level"] == "INFO"
    assert line["time"]
    assert (line["method"], line["status"], line["surface"]) == ("GET", 200, "api")
    assert line["key_id"] == f"apikey:{key.pk}"
    assert line["duration_ms"] >= 0
    refused = eventually(lambda: line_of(metered, wrong, "/api/v1/me"), "the refusal's line")
    assert (refused["status"], refused["key_id"]) == (401, None)
    line = eventually(lambda: line_of(metered, tools, "/mcp"), "the MCP call's line")
    assert (line["method"], line["status"], line["surface"]) == ("POST", 200, "mcp")
    assert line["key_id"] == f"apikey:{key.pk}"
    output = metered.web.output_so_far() + metered.mcp.output_so_far()
    assert key.plaintext not in output
    assert key.plaintext[:-1] not in output
    assert "secret=abc" not in output


# In this process


def test_a_dependency_error_is_counted_each_time_even_when_not_logged(settings):
    settings.METRICS_TOKEN = TOKEN
    labels = {"dependency": "database"}
    before = REGISTRY.get_sample_value("genesis_dependency_errors_total", labels) or 0
    for _ in range(3):
        faults.report("Metrics test", "the database is down", OperationalError("gone"))
    faults.report("Metrics test", "a bug, not an outage", ValueError("no"))
    after = REGISTRY.get_sample_value("genesis_dependency_errors_total", labels)
    assert after - before == 3


def test_nothing_is_counted_while_metrics_are_off(settings):
    """No METRICS_TOKEN: no one can read them, so requests don't pay for them."""
    settings.METRICS_TOKEN = ""
    labels = {"dependency": "database"}
    before = REGISTRY.get_sample_value("genesis_dependency_errors_total", labels) or 0
    faults.report("Metrics test", "the database is down", OperationalError("gone"))
    assert REGISTRY.get_sample_value("genesis_dependency_errors_total", labels) == before


def test_the_shipped_dashboard_and_scrape_job_ask_for_what_metrics_answers(metered):
    exported = {name for name, _ in scrape(metered.url)}
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    asked = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"genesis_[a-z_]+", target["expr"])
    }
    assert asked, "the dashboard's queries"
    assert asked <= exported
    job = (DEPLOY / "prometheus.yml").read_text()
    assert "metrics_path: /metrics" in job
    assert "type: Bearer" in job
