"""What an outside review of the authorization server found, each kept fixed: grants only
on a fresh sign-in, no skipping the consent page, no redirects for requests nobody saw,
one exchange per code (a replay ends the grant), JSON and no 500 for odd requests, and
registration held to the same rules when a client updates or deletes it."""

import threading
from urllib.parse import urlsplit

import httpx
import pytest
from oauth2_provider.models import Application

from oauth.models import AuthorizedApp, RevokeReason
from organizations.models import AuditAction, AuditEvent
from tests.oauth import flow


def test_a_consent_posted_on_a_stale_sign_in_grants_nothing(server, member, client_id):
    params = flow.authorize_params(client_id, flow.pkce()[1])
    with flow.browser_for(server, member.user) as fresh:
        page = fresh.get("/oauth/authorize/", params=params)
        data = flow.form_fields(page.text)
    data.update(organization=str(member.organization.pk), scopes=["mcp:read"], allow="on")
    with flow.browser_for(server, member.user, minutes_ago=30) as stale:
        stale.get("/o/acme/api-keys/")  # a CSRF cookie and token of this session
        data["csrfmiddlewaretoken"] = stale.cookies["csrftoken"]
        response = stale.post("/oauth/authorize/", data=data)
    assert response.status_code == 302
    back = urlsplit(response.headers["location"])
    assert back.path == "/oauth/authorize/" and f"client_id={client_id}" in back.query
    assert not AuthorizedApp.objects.exists()


def test_approval_prompt_auto_still_shows_the_page(server, http, member):
    granted = flow.grant(server, http, member)
    params = flow.authorize_params(granted.client_id, flow.pkce()[1], approval_prompt="auto")
    with flow.browser_for(server, member.user) as browser:
        page = browser.get("/oauth/authorize/", params=params)
    assert page.status_code == 200
    assert "Authorize Test client" in page.text
    assert AuthorizedApp.objects.count() == 1


def test_skip_authorization_is_never_honoured(server, member, client_id):
    Application.objects.filter(client_id=client_id).update(skip_authorization=True)
    with flow.browser_for(server, member.user) as browser:
        response = browser.get(
            "/oauth/authorize/", params=flow.authorize_params(client_id, flow.pkce()[1])
        )
    assert "location" not in response.headers or "code=" not in response.headers["location"]
    assert not AuthorizedApp.objects.exists()


@pytest.mark.parametrize("extra", [{"prompt": "none"}, {"scope": "bogus"}])
def test_no_redirect_to_the_client_for_a_request_nobody_saw(server, http, member, client_id, extra):
    params = flow.authorize_params(client_id, flow.pkce()[1], **extra)
    with httpx.Client(base_url=server.url, timeout=10) as anonymous:
        response = anonymous.get("/oauth/authorize/", params=params)
    assert response.headers.get("location", "").startswith("/accounts/login/")
    with flow.browser_for(server, member.user) as browser:
        response = browser.get("/oauth/authorize/", params=params)
    assert not response.headers.get("location", "").startswith("http://127.0.0.1:9")


def test_a_replayed_code_ends_the_grant_it_made(server, http, member):
    client_id, code, verifier = flow.code_for(server, http, member)
    tokens = flow.exchange(http, client_id, code, verifier).json()
    assert flow.mcp_post(http, tokens["access_token"]).status_code == 200
    assert flow.exchange(http, client_id, code, verifier).status_code == 400
    assert flow.mcp_post(http, tokens["access_token"]).status_code == 401
    assert AuthorizedApp.objects.get().revoke_reason == RevokeReason.CODE_REUSED


def test_racing_exchanges_of_one_code_never_leave_a_working_grant_behind(server, http, member):
    client_id, code, verifier = flow.code_for(server, http, member)
    barrier = threading.Barrier(3)
    answers = []

    def exchange():
        with httpx.Client(base_url=server.url, timeout=20) as own:
            barrier.wait()
            answers.append(flow.exchange(own, client_id, code, verifier))

    threads = [threading.Thread(target=exchange) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers)[0] in (200, 400)
    assert [a.status_code for a in answers].count(200) <= 1
    assert all(a.headers["content-type"].startswith("application/json") for a in answers)
    assert AuthorizedApp.objects.get().revoke_reason == RevokeReason.CODE_REUSED


def test_racing_refreshes_answer_json_and_one_wins(server, http, member):
    granted = flow.grant(server, http, member)
    barrier = threading.Barrier(2)
    answers = []

    def refresh():
        with httpx.Client(base_url=server.url, timeout=20) as own:
            barrier.wait()
            answers.append(flow.refresh(own, granted.client_id, granted.refresh_token))

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) in ([200, 400], [400, 400])
    assert all(a.headers["content-type"].startswith("application/json") for a in answers)


@pytest.mark.parametrize(
    "path, data",
    [
        ("/oauth/token/", {"grant_type": "urn:ietf:params:oauth:grant-type:device_code"}),
        ("/oauth/token/", {"grant_type": "client_credentials"}),
        ("/oauth/token/", {"grant_type": "authorization_code", "code": "a\x00b"}),
        ("/oauth/revoke/", {"token": "a\x00b"}),
        ("/oauth/token", {"grant_type": "refresh_token", "refresh_token": "nope"}),
    ],
)
def test_odd_token_requests_get_a_json_4xx(http, path, data):
    response = http.post(path, data=data)
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("application/json")


def test_revocation_answers_json(http):
    response = http.post("/oauth/revoke/", data={"token": "unknown", "client_id": "x"})
    assert response.headers["content-type"].startswith("application/json")


def test_the_consent_page_refuses_a_nul(server, member, client_id):
    params = flow.authorize_params(client_id, flow.pkce()[1], state="a\x00b")
    with flow.browser_for(server, member.user) as browser:
        response = browser.get("/oauth/authorize/", params=params)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "metadata",
    [
        {"redirect_uris": ["https://a.example/cb http://evil.example/cb"]},
        {"redirect_uris": ["https://u:p@evil.example/cb"]},
        {"redirect_uris": ["http://evil.example\\@127.0.0.1/cb"]},
        {"redirect_uris": ["https://a.example/cb#frag"]},
        {"redirect_uris": ["https://a.example/cb"], "grant_types": ["client_credentials"]},
        {"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]},
        {"redirect_uris": ["https://a.example/cb"], "client_name": "a\x00b"},
    ],
)
def test_registration_refuses_what_we_dont_offer(http, metadata):
    response = http.post("/oauth/register/", json=metadata)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert not Application.objects.exists()


def test_deeply_nested_metadata_is_a_400(http):
    response = http.post(
        "/oauth/register/", content=b"[" * 100_000, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


def test_a_registration_is_not_cached_and_its_update_keeps_our_rules(http):
    response = http.post("/oauth/register/", json={"redirect_uris": [flow.REDIRECT_URI]})
    assert response.headers["cache-control"] == "no-store"
    registration = response.json()
    update = http.put(
        urlsplit(registration["registration_client_uri"]).path,
        json={"redirect_uris": ["http://evil.example/cb"]},
        headers={"Authorization": f"Bearer {registration['registration_access_token']}"},
    )
    assert update.status_code == 400
    application = Application.objects.get(client_id=registration["client_id"])
    assert application.redirect_uris == flow.REDIRECT_URI


def test_a_deleted_registration_revokes_its_grants_audited(server, http, member):
    client_id, code, verifier = flow.code_for(server, http, member)
    token = flow.exchange(http, client_id, code, verifier).json()["access_token"]
    Application.objects.get(client_id=client_id).delete()
    grant = AuthorizedApp.objects.get()
    assert grant.revoke_reason == RevokeReason.CLIENT_DELETED
    assert AuditEvent.objects.filter(action=AuditAction.APP_REVOKED).exists()
    assert flow.mcp_post(http, token).status_code == 401


def test_first_uses_of_metadata_documents_count_as_registrations(in_process, settings):
    # In this process, with the limit lowered (the test client runs the same stack).
    http = in_process
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "oauth_registrations": "2/h"}
    statuses = [
        http.post(
            "/oauth/token/",
            data={
                "grant_type": "authorization_code",
                "code": "x",
                "client_id": f"https://localhost:1/client-{n}.json",  # refused, not fetched
            },
        ).status_code
        for n in range(3)
    ]
    assert statuses[:2] != [429, 429] and statuses[2] == 429
