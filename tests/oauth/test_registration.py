"""How a client becomes known: dynamic registration (RFC 7591), open but throttled, with
redirect URIs https or loopback only; or a client ID metadata document, fetched over
https from a public address (loopback too with DEBUG), with size and time limits."""

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme
from oauth2_provider import cimd as toolkit_cimd
from oauth2_provider.models import Application

from oauth import cimd
from oauth.models import AuthorizedApp
from tests.oauth import flow


def register(http, redirect_uris):
    return http.post(
        "/oauth/register/",
        json={
            "client_name": "Probe",
            "redirect_uris": redirect_uris,
            "token_endpoint_auth_method": "none",
        },
    )


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:33418/callback",
        "http://localhost:6274/oauth/callback",
        "http://[::1]:8080/cb",
        "https://claude.ai/api/mcp/auth_callback",
        "cursor://anysphere.cursor-retrieval/oauth/callback",
    ],
)
def test_https_loopback_and_app_schemes_register(http, uri):
    response = register(http, [uri])
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["token_endpoint_auth_method"] == "none"
    assert "client_secret" not in body
    assert Application.objects.get(client_id=body["client_id"]).name == "Probe"


@pytest.mark.parametrize(
    "uri", ["http://attacker.example/callback", "http://192.168.1.5/cb", "http://10.0.0.1/"]
)
def test_plain_http_elsewhere_is_refused(http, uri):
    response = register(http, ["http://127.0.0.1/ok", uri])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_redirect_uri"
    assert not Application.objects.exists()


def test_registration_is_throttled_per_address(in_process, settings, throttle_clock):
    # In this process, with the limit lowered (the test client runs the same stack).
    http = in_process
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "oauth_registrations": "3/h"}
    for _ in range(3):
        assert register(http, [flow.REDIRECT_URI]).status_code == 201
    refused = register(http, [flow.REDIRECT_URI])
    assert refused.status_code == 429
    # Until the clock's hour is over (the clock is pinned: tests/conftest.py).
    assert refused.headers["retry-after"] == str(3600 - int(throttle_clock.now) % 3600)
    assert Application.objects.count() == 3


def test_a_body_that_isnt_json_is_a_clear_400(http):
    response = http.post(
        "/oauth/register/", content=b"nope", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"


def test_the_toolkit_uses_our_address_check(settings):
    """oauth.cimd wraps a private function of django-oauth-toolkit: still the one it calls."""
    assert toolkit_cimd._ip_is_public is cimd.public_or_local_when_debugging
    settings.DEBUG = False
    assert not toolkit_cimd._ip_is_public("127.0.0.1")
    assert not toolkit_cimd._ip_is_public("10.1.2.3")
    assert toolkit_cimd._ip_is_public("93.184.215.14")
    settings.DEBUG = True
    assert toolkit_cimd._ip_is_public("127.0.0.1")
    assert not toolkit_cimd._ip_is_public("10.1.2.3")  # private networks never


class MetadataDocument:
    """An https server on loopback serving a client's metadata document (`document(url)`
    makes it, knowing its own URL), its certificate from a test CA the process trusts."""

    def __init__(self, document, monkeypatch, tmp_path):
        ca = trustme.CA()
        bundle = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(bundle))
        monkeypatch.setenv("SSL_CERT_FILE", str(bundle))  # ssl's default context reads it
        self.fetches = []
        fetches = self.fetches
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
        self.url = f"https://localhost:{self.httpd.server_address[1]}/client.json"
        served = json.dumps(document(self.url)).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fetches.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(served)))
                self.end_headers()
                self.wfile.write(served)

            def log_message(self, *args):
                pass

        self.httpd.RequestHandlerClass = Handler
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("localhost").configure_cert(context)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def metadata_document(monkeypatch, tmp_path):
    served = []

    def serve(document):
        served.append(MetadataDocument(document, monkeypatch, tmp_path))
        return served[-1]

    yield serve
    for each in served:
        each.close()


def client_document(url, **extra):
    return {
        "client_id": url,
        "client_name": "Docs Client",
        "redirect_uris": [flow.REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        **extra,
    }


# In this process: the fetch of a document on this machine needs DEBUG, and trusting the
# test CA an environment variable of the process that fetches.


def test_a_client_id_metadata_document_names_the_client_and_gets_a_grant(
    in_process, in_process_as, member, settings, metadata_document
):
    settings.DEBUG = True  # the document is on this machine
    document = metadata_document(client_document)
    verifier, challenge = flow.pkce()
    browser = in_process_as(member.user)
    page = browser.get("/oauth/authorize/", params=flow.authorize_params(document.url, challenge))
    assert page.status_code == 200, page.text
    assert "Authorize Docs Client" in page.text
    response = flow.consent(
        browser,
        flow.authorize_params(document.url, challenge),
        organization=member.organization,
        scopes=["mcp:read"],
    )
    tokens = flow.exchange(in_process, document.url, flow.code_from(response), verifier)
    assert tokens.status_code == 200, tokens.text
    assert document.fetches == ["/client.json"]  # once, then cached
    assert AuthorizedApp.objects.get().client_name == "Docs Client"


def test_without_debug_a_document_on_a_private_address_is_never_fetched(
    in_process_as, member, settings, metadata_document
):
    settings.DEBUG = False
    document = metadata_document(client_document)
    browser = in_process_as(member.user)
    page = browser.get("/oauth/authorize/", params=cimd_params(document.url))
    assert page.status_code in (400, 401)
    assert "This app can't be authorized" in page.text
    assert document.fetches == []
    assert not Application.objects.filter(client_id=document.url).exists()


def test_a_document_for_another_client_id_is_refused(
    in_process_as, member, settings, metadata_document
):
    settings.DEBUG = True
    document = metadata_document(lambda url: client_document("https://elsewhere.example/c.json"))
    browser = in_process_as(member.user)
    page = browser.get("/oauth/authorize/", params=cimd_params(document.url))
    assert page.status_code in (400, 401)
    assert not Application.objects.filter(client_id=document.url).exists()


def cimd_params(url):
    return flow.authorize_params(url, flow.pkce()[1])


def test_a_document_that_trickles_in_is_cut_off_at_the_deadline(settings, monkeypatch, tmp_path):
    """One deadline for the whole fetch: a byte a few times a second never holds it."""

    from oauth2_provider.settings import oauth2_settings

    settings.DEBUG = True
    monkeypatch.setattr(oauth2_settings, "CIMD_FETCH_TIMEOUT_SECONDS", 1)
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))

    given_up = threading.Event()

    class Trickle(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            # A byte at a time until the fetcher hangs up (at most 40 s).
            for _ in range(200):
                if given_up.wait(0.2):
                    return
                self.wfile.write(b" ")
                self.wfile.flush()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(context)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        # The fetch gives up on its own (the trickle would go on for 40 s).
        with pytest.raises(toolkit_cimd.CIMDError, match="too long"):
            cimd.GuardedFetcher().fetch(f"https://localhost:{httpd.server_address[1]}/c.json")
    finally:
        given_up.set()
        httpd.shutdown()
        httpd.server_close()
