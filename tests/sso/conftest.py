import socket
import threading

import pytest

from sso import services

from .idp import CLIENT_ID, CLIENT_SECRET, OpenIdProvider, require_node


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
