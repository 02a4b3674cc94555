import socket
import threading

import pytest

from sso import services

from .idp import CLIENT_ID, CLIENT_SECRET, OpenIdProvider, SamlIdentityProvider, require_node


@pytest.fixture(scope="module")
def idp():
    """A real OpenID provider on loopback (its redirect URI is no page of ours: these
    tests only read its discovery document)."""
    require_node()
    with OpenIdProvider("http://127.0.0.1:9/callback", {}) as running:
        yield running


@pytest.fixture
def connection(org):
    """Acme connected to a provider (not running: nothing here calls it)."""
    return services.save_oidc(
        org, issuer="http://127.0.0.1:9", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )


@pytest.fixture
def silent_server():
    """A loopback port that accepts connections and never answers: a provider that hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


@pytest.fixture
def closed_port():
    """A loopback port nothing listens on: a provider that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(scope="module")
def saml_idp():
    """A real SAML IdP on loopback (these tests only read its metadata)."""
    require_node()
    with SamlIdentityProvider({"entity_id": "x", "acs_url": "http://127.0.0.1:9/"}, {}) as running:
        yield running


@pytest.fixture
def document_server():
    """A loopback HTTP server answering every GET with the body `serve(...)` sets: bytes,
    or an endless stream of them (a provider that never stops sending); `serve.requests`
    lists what it was asked for."""
    import http.server

    served = {"body": b"", "endless": False}
    requests_seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests_seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            try:
                if served["endless"]:
                    while True:  # until the client hangs up
                        self.wfile.write(b" " * 65536)
                self.wfile.write(served["body"])
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def serve(body=b"", *, endless=False):
        served.update(body=body, endless=endless)
        return f"http://127.0.0.1:{server.server_address[1]}"

    serve.requests = requests_seen  # the paths asked for, in order

    yield serve
    server.shutdown()
    server.server_close()
