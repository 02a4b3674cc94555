"""One middleware stack whose console part machine-facing URLs skip (genesis.middleware):
the API pays for none of it, the console keeps all of its protections. Through the real
server, as production runs it, and through Django's test client, which runs the same
stack."""

import httpx
import pytest
from django.test import Client
from django.utils.module_loading import import_string

from . import sessions


def signed_in_cookies(membership) -> dict:
    browser = Client()
    sessions.sign_in(browser, membership.user)
    return {name: morsel.value for name, morsel in browser.cookies.items()}


@pytest.fixture
def browser(server, transactional_db, member):
    """A signed-in browser at the real server."""
    with httpx.Client(base_url=server.url, cookies=signed_in_cookies(member), timeout=10) as client:
        yield client


def test_api_requests_skip_the_consoles_machinery(browser, member, make_key):
    key = make_key(member).plaintext
    # A browser's request to the API: session cookie, Japanese, htmx.
    response = browser.get(
        "/api/v1/me", headers={"x-api-key": key, "Accept-Language": "ja", "HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "set-cookie" not in response.headers  # no session touched, no CSRF cookie
    assert "Content-Language" not in response.headers  # no locale negotiation
    vary = response.headers.get("Vary", "")
    assert "Cookie" not in vary and "Accept-Language" not in vary and "HX-Request" not in vary
    # The security headers that apply to JSON stay.
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "nonce-" not in response.headers["Content-Security-Policy"]  # written once


def test_api_responses_carry_hsts_behind_https(settings, db):
    settings.SECURE_HSTS_SECONDS = 3600  # read when a stack is built: build one now
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    response = Client(REMOTE_ADDR="127.0.0.1").get("/api/v1/health", HTTP_X_FORWARDED_PROTO="https")
    assert response.json() == {"status": "ok"}
    assert response["Strict-Transport-Security"] == "max-age=3600; includeSubDomains; preload"


def test_the_api_still_checks_the_host(http, db):
    response = http.get("/api/v1/health", headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


def test_the_console_keeps_every_protection(browser, server):
    page = browser.get("/o/acme/api-keys/")
    assert page.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    assert "nonce-" in policy and "unsafe-inline" not in policy
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "Cookie" in page.headers["Vary"]
    assert page.headers["Content-Language"] == "en"
    form = httpx.get(f"{server.url}/accounts/login/")  # a fresh browser: no cookies yet
    assert "csrftoken" in form.headers["set-cookie"]
    # CSRF still guards the console's forms.
    refused = browser.post("/o/acme/api-keys/create/", data={"name": "x"})
    assert refused.status_code == 403


# What the API must not pay for, each by the method that does its work.
CONSOLE_ONLY = [
    ("django.contrib.sessions.middleware.SessionMiddleware", "process_request"),
    ("django.middleware.locale.LocaleMiddleware", "process_request"),
    ("django.contrib.messages.middleware.MessageMiddleware", "process_request"),
    ("django.contrib.auth.middleware.AuthenticationMiddleware", "process_request"),
    ("django_htmx.middleware.HtmxMiddleware", "__call__"),
    ("csp.middleware.CSPMiddleware", "process_response"),
    ("accounts.middleware.HtmxReauthenticationMiddleware", "__call__"),
    ("whitenoise.middleware.WhiteNoiseMiddleware", "__call__"),
]


@pytest.fixture
def console_work(monkeypatch):
    """Records which of the console's middleware did their work."""
    done = set()
    for path, method in CONSOLE_ONLY:
        cls = import_string(path)
        real = getattr(cls, method)

        def spy(self, *args, _real=real, _path=path, **kwargs):
            done.add(_path)
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(cls, method, spy)
    return done


def test_only_console_pages_pay_for_the_console(member, make_key, console_work):
    # In this process (the spies watch it), through the one stack every server runs.
    browser = Client()
    sessions.sign_in(browser, member.user)
    key = make_key(member).plaintext
    assert browser.get("/api/v1/me", HTTP_X_API_KEY=key).status_code == 200
    assert browser.get("/api/v1/health").status_code == 200
    assert console_work == set()
    assert browser.get("/o/acme/api-keys/").status_code == 200
    assert console_work == {path for path, _ in CONSOLE_ONLY}
