"""Hardened settings, headers, sign-in brute force, and secrets kept out of logs and
error reports."""

import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.test import Client, RequestFactory
from django.views.debug import ExceptionReporter

from api.endpoints import ApiKeyAuth
from apikeys import keys, services
from apikeys.models import ApiKey

from . import sessions
from .factories import PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parent.parent
KEY = re.compile(r"gns_[0-9A-Za-z]{38}")


def test_check_deploy_passes_with_production_settings():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DEBUG"))}
    env.update(
        DJANGO_SETTINGS_MODULE="genesis.settings",
        DEBUG="0",
        SECRET_KEY="Zq8#r2L!v9Xw4@tN7&yB1^pK6*mC3(hF0)sJ5-eG8+uD2=aQ-w7Lp0kVx3",
        ALLOWED_HOSTS="console.example.com",
        APIKEY_PEPPERS="p1:" + "k" * 40,
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_console_pages_send_the_security_headers(member, client_for):
    response = client_for(member).get("/o/acme/api-keys/")
    policy = response["Content-Security-Policy"]
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    nonce = re.search(r"script-src 'self' 'nonce-([^']+)'", policy).group(1)
    assert f'nonce="{nonce}"' in response.text
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_hsts_is_sent_over_https(member, client_for, settings):
    settings.SECURE_HSTS_SECONDS = 31_536_000
    response = client_for(member).get("/o/acme/api-keys/", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.parametrize(
    "path", ["/accounts/login/", "/o/acme/api-keys/", "/o/acme/members/", "/o/acme/mcp-server/"]
)
def test_pages_have_no_inline_script_or_style(owner, member, make_key, client_for, path):
    make_key(member)
    client = client_for(None if path.startswith("/accounts") else owner)
    html = client.get(path).text
    for script in re.findall(r"<script\b[^>]*>", html):
        # A JSON data block (allauth's passkey setup) is never run as script.
        assert "src=" in script or 'type="application/json"' in script, script
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html), "no inline event handlers"


def login(client, email, password):
    return client.post("/accounts/login/", {"login": email, "password": password})


def test_sign_in_locks_after_five_failures_for_that_email_and_ip(member, admin, client):
    for _ in range(5):
        assert login(client, member.user.email, "wrong").status_code == 200
    locked = login(client, member.user.email, PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed login attempts" in locked.text
    assert "_auth_user_id" not in client.session
    # Someone else signing in from the same place is not locked out.
    assert login(client, admin.user.email, PASSWORD).status_code == 302


def test_the_lockout_ignores_the_emails_case_and_spaces(db, client):
    victim = UserFactory(email="victim@example.com", is_staff=True)
    for _ in range(5):
        login(client, "victim@example.com", "wrong")
    for spelling in ("victiM@example.com", " VICTIM@EXAMPLE.COM "):
        response = login(client, spelling, PASSWORD)
        assert response.status_code == 429, spelling
        assert "_auth_user_id" not in client.session
    victim.refresh_from_db()
    assert victim.last_login is None


def test_admin_sign_in_is_the_consoles_sign_in(db, client):
    # Django admin's own form had its own lockout to keep in step; now there is one.
    UserFactory(email="operator@example.com", is_staff=True)
    response = client.post("/admin/login/", {"username": "operator@example.com", "password": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert "_auth_user_id" not in client.session


def test_a_success_neither_counts_nor_wipes_earlier_failures(member, client):
    # allauth's rule: wiping the count on a success would let an attacker who owns one
    # account interleave its sign-ins with guesses at another's.
    for _ in range(4):
        login(client, member.user.email, "wrong")
    assert login(client, member.user.email, PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    assert login(client, member.user.email, "wrong").status_code == 200
    assert login(client, member.user.email, PASSWORD).status_code == 429


def test_no_log_record_ever_holds_a_key(http, member, admin, client_for, caplog):
    with caplog.at_level(logging.DEBUG):
        created = client_for(member).post("/o/acme/api-keys/create/", {"name": "logged?"})
        plaintext = KEY.search(created.text).group(0)
        assert http.get("/api/v1/me", headers={"x-api-key": plaintext}).status_code == 200
        mcp = {"Authorization": f"Bearer {plaintext}", "Accept": "application/json"}
        tools = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
        assert http.post("/mcp", json=tools, headers=mcp).status_code == 200
        key_id = KEY.pattern and created.text.split('id="key-')[1].split('"')[0]
        client_for(admin).post(f"/o/acme/api-keys/{key_id}/revoke/")
        assert http.get("/api/v1/me", headers={"x-api-key": plaintext}).status_code == 401
        assert http.post("/mcp", json=tools, headers=mcp).status_code == 401
    assert caplog.records, "the logs were captured"
    for record in caplog.records:
        assert plaintext not in record.getMessage()
        assert plaintext not in str(record.__dict__)


def report_for(request, monkeypatch):
    """Django's error report for a crash in the middle of checking the request's key."""

    def crash(*args):
        raise RuntimeError("boom")

    # Crash where no key is passed, so every frame holding it is ours to check.
    monkeypatch.setattr(services, "_key_check_sql", crash)
    try:
        ApiKeyAuth()(request)
    except RuntimeError:
        reporter = ExceptionReporter(request, *sys.exc_info())
        return reporter.get_traceback_html() + reporter.get_traceback_text()
    raise AssertionError("the key check did not crash")


def test_error_reports_never_show_the_key(db, monkeypatch):
    key = keys.generate()
    request = RequestFactory().get("/api/v1/me", HTTP_X_API_KEY=key)
    report = report_for(request, monkeypatch)
    assert "boom" in report
    assert "HTTP_X_API_KEY" in report
    assert key not in report
    assert key[4:20] not in report


def test_error_reports_never_show_key_headers(db):
    key = keys.generate()
    request = RequestFactory().get("/mcp", HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_X_API_KEY=key)
    reporter = ExceptionReporter(request, RuntimeError, RuntimeError("boom"), None)
    report = reporter.get_traceback_html() + reporter.get_traceback_text()
    assert "HTTP_AUTHORIZATION" in report
    assert key not in report


def test_the_view_that_shows_a_key_hides_it_from_error_reports(member):
    from apikeys import views

    def crash(path):
        raise RuntimeError("boom")

    request = RequestFactory().post("/o/acme/api-keys/create/", {"name": "crash"})
    fresh = {sessions.RECORDS: [{"method": "password", "at": time.time()}]}
    fresh[sessions.RECORDS_USER] = str(member.user.pk)
    request.user, request.session, request.htmx = member.user, fresh, False
    # Crash after the key exists, where the view builds the reveal dialog.
    request.build_absolute_uri = crash
    try:
        views.create_key(request, org="acme")
    except RuntimeError:
        reporter = ExceptionReporter(request, *sys.exc_info())
        report = reporter.get_traceback_html()
    plaintext = ApiKey.objects.get().hint[:8]
    assert "boom" in report
    assert not KEY.search(report)
    assert plaintext  # the key was made before the crash


def test_production_cookies_are_secure_and_same_site():
    """Session, CSRF and language cookies: Secure with DEBUG off, never read by scripts."""
    from .test_settings import load_settings

    names = [
        f"{kind}_COOKIE_{flag}"
        for kind in ("SESSION", "CSRF", "LANGUAGE")
        for flag in ("SECURE", "HTTPONLY", "SAMESITE")
    ]
    result = load_settings(
        SECRET_KEY="s" * 50,
        APIKEY_PEPPERS="p1:" + "x" * 32,
        code="from django.conf import settings; "
        f"print(*[getattr(settings, name) for name in {names!r}])",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "Lax"] * 3


def test_the_language_cookie_is_same_site_and_hidden_from_scripts(client, db):
    response = client.post("/i18n/setlang/", {"language": "ja", "next": "/"})
    cookie = response.cookies["django_language"]
    assert cookie.value == "ja"
    assert cookie["samesite"] == "Lax"
    assert cookie["httponly"]


@pytest.mark.parametrize(
    "path",
    [
        "/o/acme/api-keys/",
        "/o/acme/api-keys/mine/",
        "/o/acme/api-keys/organization/",
        "/o/acme/members/",
        "/o/acme/audit/",
        "/o/acme/settings/",
        "/o/acme/mcp-server/",
    ],
)
def test_organization_pages_are_never_cached(owner, client_for, make_key, path):
    make_key(owner)
    response = client_for(owner).get(path)
    assert response.status_code == 200
    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"no-store", "private"} <= cache_control


def test_an_ipv6_client_counts_as_its_64_for_the_lockout(member):
    def attempt(address, password):
        client = Client(REMOTE_ADDR=address)
        return client.post("/accounts/login/", {"login": member.user.email, "password": password})

    for host in range(5):
        attempt(f"2001:db8:1:2::{host + 1:x}", "wrong")
    assert attempt("2001:db8:1:2::ffff", PASSWORD).status_code == 429  # same /64
    assert attempt("2001:db8:1:3::1", PASSWORD).status_code == 302  # another network
