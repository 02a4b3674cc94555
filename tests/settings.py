"""Test settings: production settings (DEBUG off) with test secrets."""

import os
import socket

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-not-for-production")
os.environ.setdefault("APIKEY_PEPPERS", "t1:tests-only-pepper-0123456789")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ["DEBUG"] = "0"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The session's test server (tests/conftest.py `server`) listens at PUBLIC_URL: the OAuth
# issuer and the MCP server's audience are built on it, as in production.
os.environ.setdefault("PUBLIC_URL", f"http://127.0.0.1:{_free_port()}")
# The tests' identity providers run on loopback (tests/sso/idp.py), which production
# refuses to reach (sso.remote; tests/sso/test_local_addresses.py turns this off); set
# in the environment so that the tests' servers allow it too.
os.environ.setdefault("SSO_ALLOW_LOCAL_ADDRESSES", "1")

from genesis.settings import *  # noqa: E402, F403

# Manifest storage needs collectstatic; tests serve the source files.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve static files straight from the source folders (no collectstatic in tests).
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# A file, not memory, so servers started by tests (uvicorn threads, browsers' live
# server) share the test database with the test itself.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # One per test run, so runs side by side don't share it.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f"test-db-{os.getpid()}.sqlite3")}  # noqa: F405

# Servers started by tests close their connections after each request, so the test
# database can be dropped at the end (PostgreSQL refuses while sessions are open).
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405

# Tests speak plain http to test servers.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0

# The tests' passwords: Argon2 as in production, at a small fraction of its cost.
PASSWORD_HASHERS = ["tests.hashers.CheapArgon2PasswordHasher", *PASSWORD_HASHERS]  # noqa: F405
