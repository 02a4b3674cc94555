"""Settings, read from the environment.

Development: `DEBUG=1` is enough; every secret then has a fixed development value.
Production: DEBUG off, and SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL and APIKEY_PEPPERS set.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from pythonjsonlogger.core import RESERVED_ATTRS

from genesis.drain import drain_seconds
from infra.client_ip import parse_trusted_proxies

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-genesis-development-only"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")

# The proxies in front (addresses or CIDR ranges), the only peers believed about
# X-Forwarded-For and X-Forwarded-Proto. Empty: the TCP peer is the client (infra.client_ip).
try:
    TRUSTED_PROXIES = parse_trusted_proxies(env_list("TRUSTED_PROXIES"))
except ValueError as error:
    raise ImproperlyConfigured(str(error)) from None


def parse_peppers(value: str) -> dict[str, str]:
    """Parse `id:secret,id:secret`. The first entry is the current pepper for new keys;
    the others still verify keys made under them, so a pepper can be rotated."""
    peppers = {}
    for item in value.split(","):
        pepper_id, sep, secret = item.strip().partition(":")
        if not item.strip():
            continue
        if not sep or not pepper_id or len(secret) < 16:
            raise ImproperlyConfigured(
                "APIKEY_PEPPERS must look like 'id:secret,...' with secrets of 16+ characters."
            )
        peppers[pepper_id] = secret
    return peppers


APIKEY_PEPPERS = parse_peppers(os.environ.get("APIKEY_PEPPERS", ""))
if not APIKEY_PEPPERS:
    if not DEBUG:
        raise ImproperlyConfigured("APIKEY_PEPPERS must be set when DEBUG is off.")
    APIKEY_PEPPERS = {"dev": "genesis-development-pepper-not-secret"}

INSTALLED_APPS = [
    "operators.apps.OperatorAdminConfig",  # Django's admin, on the operators' site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",  # allauth's session and passkey lists
    "django_htmx",
    "ninja",
    "csp",
    "post_office",
    "template_partials",
    "genesis",  # the project's management commands (serve, drain, compile_translations)
    "ui",  # the console's shared template tags
    "organizations",
    "apikeys",
    "accounts",  # our glue for django-allauth
    "oauth",  # our glue for django-oauth-toolkit: consent, grants, MCP tokens
    "oauth2_provider",
    "scim",  # SCIM 2.0 provisioning at /scim/v2/: an identity provider manages members
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    # Single sign-on per organization (sso/): each organization's connection is a SocialApp.
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.socialaccount.providers.saml",
    "sso",
    "operators",  # last: its admin replaces third-party admins registered before it
]

# One stack for every request (genesis.middleware): the console's own middleware is
# wrapped so that machine-facing URLs (the API, /mcp, OAuth's endpoints) skip it. They get
# the client's address, JSON errors, the security headers that apply to JSON (HSTS,
# nosniff, frame denial, referrer policy), ALLOWED_HOSTS and the audit context.
MIDDLEWARE = [
    # First: the request's id, its line in the log and its time (infra.request_log).
    "infra.request_log.RequestLogMiddleware",
    # Then everything after it sees the client's address (infra.client_ip).
    "infra.client_ip.ClientIpMiddleware",
    "infra.machine.MachineResponsesMiddleware",
    # Before anything reads the body: an oversized one gets 413, unread.
    "infra.machine.BodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "genesis.middleware.WhiteNoiseMiddleware",
    "genesis.middleware.SessionMiddleware",
    "genesis.middleware.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # As it is: `check --deploy` looks for it by name. At machine URLs it checks nothing
    # (their views are csrf_exempt: keys and tokens, not cookies).
    "django.middleware.csrf.CsrfViewMiddleware",
    "genesis.middleware.AuthenticationMiddleware",
    # Times in the person's zone, else the browser's (accounts.time_zones).
    "genesis.middleware.TimeZoneMiddleware",
    "genesis.middleware.MessageMiddleware",
    # Sign-in stages, and the fresh sign-in (sudo mode) asked for by key actions.
    "allauth.account.middleware.AccountMiddleware",
    # After allauth's, so its process_exception runs first (accounts.middleware).
    "genesis.middleware.HtmxReauthenticationMiddleware",
    "organizations.audit.AuditContextMiddleware",
    # An organization that requires SSO opens only to sessions that came through it.
    "genesis.middleware.RequireSsoMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "genesis.middleware.HtmxMiddleware",
    "genesis.middleware.CSPMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "accounts.backends.PeopleModelBackend",
    "accounts.backends.PeopleAuthenticationBackend",
]

ROOT_URLCONF = "genesis.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "organizations.context_processors.organizations",
                "ui.context_processors.csp_nonce",
                "accounts.context_processors.accounts",
            ],
        },
    },
]

WSGI_APPLICATION = "genesis.wsgi.application"

# Connections live a minute across requests. CONN_HEALTH_CHECKS: Django checks a reused
# connection once before a request's first query (a round trip on PostgreSQL, nothing on
# SQLite), so that a database that restarted or failed over costs no request an error;
# measured in docs/performance.md.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=60, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL: readers carry on while another request writes, and a read costs 3 system
        # calls instead of 8 (file locks and a header read per statement otherwise), which
        # shows on every key check (bench/). synchronous stays FULL: a revocation that was
        # acknowledged must survive a power cut.
        "init_command": "PRAGMA journal_mode=WAL;",
        # Take the write lock when a transaction starts, so two writers queue up instead
        # of one failing with "database is locked" when it upgrades a read lock.
        "transaction_mode": "IMMEDIATE",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["OPTIONS"] = {
        # A database that doesn't answer fails a new connection in 3 s, not the OS's 2 min.
        "connect_timeout": 3,
        # And an open connection whose packets go unanswered for 3 s (the database's host
        # gone, a network partition) is dropped, not waited on for the OS's 15 minutes:
        # the request gets 503 and the next connection is a new one (tests/cluster cuts an
        # app host off its database). A slow query is unaffected: its packets are acked.
        "tcp_user_timeout": 3000,
        # Parameters bound on the server, so psycopg prepares a statement it has run 5
        # times on a connection: the key check's four-table join took 0.5 ms to plan and
        # 0.04 ms to run. Behind PgBouncer in transaction mode this needs PgBouncer 1.21+
        # with max_prepared_statements set.
        "server_side_binding": True,
        "prepare_threshold": 5,
    }
    # Behind a pooler in transaction mode (PgBouncer's pool_mode = transaction), each
    # transaction may get another server connection: a cursor held across transactions
    # (Django's server-side cursors, for .iterator()) can't be, nor, on a PgBouncer older
    # than 1.21 or without max_prepared_statements, a statement prepared on one connection
    # (psycopg's "prepared statement already exists" errors, found by tests/cluster).
    # DATABASE_POOLING=transaction turns the first off; DATABASE_PREPARED_STATEMENTS=0 the
    # second (only where the pooler can't carry them: each key check is then planned anew).
    if os.environ.get("DATABASE_POOLING", "").strip().lower() == "transaction":
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    if not env_bool("DATABASE_PREPARED_STATEMENTS", True):
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = None

AUTH_USER_MODEL = "organizations.User"
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account_login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Messages live in the session: nothing a user types rides in a cookie of its own.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Hardening. With DEBUG off these are on; `manage.py check --deploy` passes (a test runs it).
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and drops the client's own).
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Cookies only over https, unless the console is served over plain http on purpose (a
# closed network, the tests' servers on loopback): SECURE_COOKIES=0.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = env_bool(
    "SECURE_COOKIES", not DEBUG
)
SESSION_COOKIE_HTTPONLY = CSRF_COOKIE_HTTPONLY = LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 12
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000))
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# No inline script or style anywhere; the one script that needs it, htmx, carries a nonce.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Accounts: django-allauth (sign-in, password reset and change, sessions, two-factor,
# passkeys, fresh sign-in before key actions). Our glue is the `accounts` app.
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
MFA_ADAPTER = "accounts.adapter.MFAAdapter"
ACCOUNT_FORMS = {"signup": "accounts.forms.SignupForm"}
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]  # and our name field (accounts.forms)
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
# Everyone's address is proven: by an invitation, by an operator, or by a code for open
# sign-up. Passkey sign-up needs this (a passkey proves no address).
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_SESSION_REMEMBER = True  # the session lasts SESSION_COOKIE_AGE, as before
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False  # a reset for an unknown address mails no one
# A new password set from the mailed link signs the person in (a second factor is still
# asked for where they have one), and counts as a fresh sign-in (accounts.sudo).
ACCOUNT_LOGIN_ON_PASSWORD_RESET = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "Genesis Console: "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
ACCOUNT_PASSWORD_INPUT_RENDER_VALUE = False
# Sign-up without an invitation (off: only invited people get an account).
GENESIS_OPEN_SIGNUP = env_bool("GENESIS_OPEN_SIGNUP")
# Invitation links work for this long.
INVITATION_LIFETIME = timedelta(days=7)

# Brute force: the one lockout. 5 failed sign-ins for one email from one client IP stop
# that pair for 15 minutes, and 10 failures a minute from one IP stop that IP. The email is
# compared stripped and lowercased, as sign-in finds it; the IP is infra.client_ip's.
# Keyed on the pair (accounts.adapter), so nobody can lock a victim out from elsewhere.
# (allauth's other limits stay at its defaults: sign-ups, resets, reauthentication.)
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/15m/key"}

# Fresh sign-in ("sudo mode") before making, rolling or revoking others' keys: by password
# or a second factor, never by a code mailed to the address.
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
# Django admin only for staff with a second factor and a recent sign-in (operators.site).
# On unless DEBUG: a development machine's first operator has none yet.
ADMIN_REQUIRE_TWO_FACTOR = env_bool("ADMIN_REQUIRE_TWO_FACTOR", not DEBUG)
ACCOUNT_REAUTHENTICATION_METHODS = ("password", "mfa")

# Single sign-on (sso/): each organization's identity provider is a SocialApp of
# allauth's `openid_connect` or `saml` provider, made by its Owner in Settings
# (sso.services).
SOCIALACCOUNT_ADAPTER = "sso.adapter.SsoAdapter"
# An existing person signs in through their organization's SSO and is linked, only when
# the provider asserts their address verified (sso.adapter decides which apps may).
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
# The provider vouches for the address (sso.adapter refuses one it doesn't verify).
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_STORE_TOKENS = False  # we sign people in; we never call the provider's APIs
# Discovery, token and user-info requests to an identity provider (seconds).
SOCIALACCOUNT_REQUESTS_TIMEOUT = 5
# Whether those requests may go to this machine or its link (loopback, link-local: a
# cloud's metadata service), where an Owner-typed URL has no business (sso.remote);
# private networks are always allowed. On with DEBUG: a provider on the developer's laptop.
SSO_ALLOW_LOCAL_ADDRESSES = env_bool("SSO_ALLOW_LOCAL_ADDRESSES", DEBUG)

MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_PASSKEY_SIGNUP_ENABLED = True
MFA_TOTP_ISSUER = "Genesis Console"
# A code typed as it rolls over (every 30 s) still counts: one step either side, as RFC
# 6238 recommends for the delay between the app and the server. A used code never counts
# twice (allauth remembers it).
MFA_TOTP_TOLERANCE = 1
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG

USERSESSIONS_TRACK_ACTIVITY = False  # a write on every request; the list shows sign-ins

# Email: notices to key owners never talk to a mail server inside a request. They go into
# a queue in the database (django-post-office), in the same request, and
# `manage.py send_queued_mail` (run every minute) sends them by SMTP, outside any
# transaction, giving each try EMAIL_TIMEOUT seconds and trying failures again every 5
# minutes, 8 times, before marking them failed (Django admin lists them). With DEBUG they
# go straight to the console.
EMAIL_BACKEND = "post_office.EmailBackend"
POST_OFFICE = {
    "BACKENDS": {
        "default": "django.core.mail.backends.console.EmailBackend"
        if DEBUG
        else "django.core.mail.backends.smtp.EmailBackend"
    },
    "DEFAULT_PRIORITY": "now" if DEBUG else "medium",
    "MAX_RETRIES": 8,
    "RETRY_INTERVAL": timedelta(minutes=5),
    "BATCH_DELIVERY_TIMEOUT": 120,
    "MESSAGE_ID_ENABLED": True,
    "LOG_LEVEL": 1,  # failures only
}
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Genesis Console <no-reply@localhost>")
# Where links in emails point (the console's public address).
PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# allauth builds the address an identity provider sends people back to (sso/) from the
# request, then forces this scheme: PUBLIC_URL's, where it is set.
if "PUBLIC_URL" in os.environ:
    ACCOUNT_DEFAULT_HTTP_PROTOCOL = PUBLIC_URL.partition("://")[0]

# English and Japanese; the browser's Accept-Language picks, the header switcher overrides.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ja", "日本語")]
# Ours, then our wording of a few of django-allauth's strings (locale_overrides/).
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale_overrides"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Failed-key counters (apikeys.throttle). Local memory is per process: set REDIS_URL so
# every worker shares them.
REDIS_URL = os.environ.get("REDIS_URL", "")
# The rate limits' counts (infra.limits) live in Redis with REDIS_URL, shared by every
# worker and host; without it, in each process's memory. Redis is advisory: each call gets
# 250 ms at most, and a Redis that fails is counted around ("local", infra.limits) or,
# for allauth's sign-in limits in "default", left uncounted (django-redis's documented
# IGNORE_EXCEPTIONS) until it answers again.
REDIS_OPTIONS = {"SOCKET_CONNECT_TIMEOUT": 0.25, "SOCKET_TIMEOUT": 0.25}
LOCAL_MEMORY = "django.core.cache.backends.locmem.LocMemCache"
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {**REDIS_OPTIONS, "IGNORE_EXCEPTIONS": True},
    }
    if REDIS_URL
    else {"BACKEND": LOCAL_MEMORY},
    "limits": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": REDIS_OPTIONS,
    }
    if REDIS_URL
    else {"BACKEND": LOCAL_MEMORY, "LOCATION": "limits"},
    "local": {"BACKEND": LOCAL_MEMORY, "LOCATION": "limits-while-redis-fails"},
}

# Rate limits (infra.limits), "count/period" with a period of s, m or h: failed key
# checks per client address before it gets 429 (apikeys.throttle); public leak reports per
# address; new client names written per key or grant; refusals of a key outside its IP
# allowlist recorded per key; new OAuth clients per address (an IPv6 one by its /64).
RATE_LIMITS = {
    "key_failures": f"{int(os.environ.get('KEY_FAILURES_PER_MINUTE', '20'))}/m",
    "leak_reports": f"{int(os.environ.get('LEAK_REPORTS_PER_MINUTE', '10'))}/m",
    "client_renames": "3/m",
    "refusal_records": "1/m",
    "oauth_registrations": f"{int(os.environ.get('OAUTH_REGISTRATIONS_PER_HOUR', '20'))}/h",
    # Domain verification codes mailed per organization (sso.domains).
    "domain_codes": "10/h",
}

# How many days of per-key usage (apikeys.usage) `manage.py prune_usage` keeps.
USAGE_RETENTION_DAYS = int(os.environ.get("USAGE_RETENTION_DAYS", "90"))

# The largest request body taken (Django's default, written out: the shipped nginx site's
# client_max_body_size is the same, so nginx refuses larger ones itself), and how long an
# MCP request's body may take to arrive (mcp_server.edge); then 413 and 408.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
REQUEST_BODY_TIMEOUT = 15

# On SIGTERM, /api/v1/ready answers 503 for this long before the server stops, so that a
# load balancer polling it stops sending first (infra.readiness; ASGI servers only).
DRAIN_SECONDS = drain_seconds()
# While this file exists, /api/v1/ready answers 503 (`manage.py drain` makes it).
DRAIN_FILE = os.environ.get("DRAIN_FILE", "")
# GitHub's secret-scanning public keys, in GitHub's format (apikeys.leaks), refreshed by
# `manage.py refresh_github_secret_scanning_keys`. Unset: the partner endpoint answers 503.
GITHUB_SECRET_SCANNING_KEYS_FILE = os.environ.get("GITHUB_SECRET_SCANNING_KEYS_FILE", "")
GITHUB_SECRET_SCANNING_KEYS_URL = "https://api.github.com/meta/public_keys/secret_scanning"  # noqa: S105

# /metrics (infra.scrape) answers only `Authorization: Bearer <METRICS_TOKEN>`; unset, it
# answers nobody (404).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

# Where the transports listen; the console shows these URLs to users.
API_PATH = "/api/v1/"
MCP_PATH = "/mcp"
# The MCP server for clients that sign in with OAuth: a path of its own, so that a client
# configured with a key header at MCP_PATH is never offered OAuth (Claude Code and Cursor
# drop the header once a server advertises it). MCP_PATH advertises nothing.
MCP_OAUTH_PATH = MCP_PATH + "/oauth"
OAUTH_PATH = "/oauth"  # the authorization server: the issuer's path, and its endpoints

# The MCP server checks Host and Origin itself (DNS-rebinding protection); Django's
# ALLOWED_HOSTS doesn't reach /mcp. By default it accepts the hosts Django accepts.
MCP_ALLOWED_HOSTS = env_list(
    "MCP_ALLOWED_HOSTS",
    ",".join(f"{host},{host}:*" for host in ALLOWED_HOSTS if not host.startswith(".")),
)
MCP_ALLOWED_ORIGINS = env_list(
    "MCP_ALLOWED_ORIGINS",
    ",".join(
        f"{scheme}://{host},{scheme}://{host}:*"
        for host in ALLOWED_HOSTS
        if not host.startswith(".")
        for scheme in ("https", "http")
    ),
)

# OAuth 2.1 for MCP clients (django-oauth-toolkit; our glue is the `oauth` app). Every
# RFC 9700 gate is on: S256 PKCE only, tokens hashed at rest, no implicit or password
# grant, refresh tokens rotated and a reused one ends the grant. The issuer and the MCP
# server's resource identifier are built on PUBLIC_URL: set it to the URL clients use.
OAUTH_ISSUER = PUBLIC_URL + OAUTH_PATH
MCP_OAUTH_RESOURCE = PUBLIC_URL + MCP_OAUTH_PATH
# The toolkit's own models (named here because migrations that point at them need the
# settings; oauth.AuthorizedApp does).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"  # noqa: S105 (a model name)
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"  # noqa: S105
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"  # noqa: S105
OAUTH2_PROVIDER_DEVICE_GRANT_MODEL = "oauth2_provider.DeviceGrant"
OAUTH2_PROVIDER = {
    "OAUTH2_VALIDATOR_CLASS": "oauth.validator.GenesisValidator",
    "SCOPES_BACKEND_CLASS": "oauth.scopes.GrantScopes",
    "OIDC_ISS_ENDPOINT": OAUTH_ISSUER,
    "OAUTH2_PROTECTED_RESOURCE_IDENTIFIER": MCP_OAUTH_RESOURCE,
    "OAUTH2_PROTECTED_RESOURCE_AUTHORIZATION_SERVERS": [OAUTH_ISSUER],
    "OAUTH2_PROTECTED_RESOURCE_NAME": "Genesis MCP server",
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token"],
    "OAUTH2_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": [
        "none",
        "client_secret_post",
        "client_secret_basic",
    ],
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ACCESS_TOKEN_EXPIRE_SECONDS": int(os.environ.get("OAUTH_ACCESS_TOKEN_SECONDS", "3600")),
    "REFRESH_TOKEN_EXPIRE_SECONDS": 30 * 24 * 3600,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,  # hashed storage allows no grace (E001)
    "PKCE_REQUIRED": True,
    "REQUEST_APPROVAL_PROMPT": "force",  # the person consents every time
    # Desktop and command-line clients listen on a loopback port of their own choosing.
    "ALLOW_LOCALHOST_LOOPBACK": True,
    # http for loopback only (oauth.validator); cursor:// and vscode:// are those editors'
    # own links back to themselves (RFC 8252 private-use schemes).
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http", "cursor", "vscode"],
    "DCR_ENABLED": True,
    # A client manages its registration (RFC 7592) with its token for a year.
    "DCR_REGISTRATION_TOKEN_EXPIRE_SECONDS": 365 * 24 * 3600,
    # Open registration, as MCP clients need it; oauth.views.Registration throttles it.
    "DCR_REGISTRATION_PERMISSION_CLASSES": ("oauth2_provider.dcr.AllowAllDCRPermission",),
    "CIMD_ENABLED": True,
    "CIMD_METADATA_FETCHER": "oauth.cimd.GuardedFetcher",
    "CIMD_FETCH_TIMEOUT_SECONDS": 5,
    "CIMD_MAX_DOCUMENT_SIZE": 16 * 1024,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    # http stays allowed for loopback redirects (RFC 8252), and only for them: the
    # validator refuses http elsewhere (oauth.validator.is_safe_redirect_uri).
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": False,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}
# W008 says http redirect URIs are allowed: for loopback only, as the validator enforces.
SILENCED_SYSTEM_CHECKS = ["oauth2_provider.W008"]


LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
# "json": one JSON object per line (python-json-logger): time, level, logger, message, the
# process, the request's id, and a request's line's fields (infra.request_log). Otherwise
# plain text, the message alone.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "").strip().lower()
LOG_FORMATTERS = {
    "json": {
        "()": "pythonjsonlogger.json.JsonFormatter",
        "fmt": ["levelname", "name", "message", "process"],  # process: which worker
        "rename_fields": {"levelname": "level", "name": "logger"},
        "timestamp": "time",
        # Whatever else a record carries is written too, except Django's request object
        # (its query string, its cookies) and the development server's socket.
        "reserved_attrs": [*RESERVED_ATTRS, "request", "server_time", "taskName"],
    },
    "plain": {"format": "%(message)s"},
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"default": LOG_FORMATTERS["json" if LOG_FORMAT == "json" else "plain"]},
    "filters": {
        "request_log": {"()": "infra.faults.RequestLog"},
        "condensed": {"()": "infra.faults.Condensed"},
        "request_id": {"()": "infra.request_log.RequestIdFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "default",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # The MCP SDK logs the end of every stateless request's session at INFO.
    "loggers": {
        "mcp": {"level": LOG_LEVEL if LOG_LEVEL == "DEBUG" else "WARNING"},
        # oauthlib writes refresh tokens and authorization codes into its DEBUG lines:
        # never below INFO, whatever LOG_LEVEL says.
        "oauthlib": {"level": "INFO" if LOG_LEVEL == "DEBUG" else LOG_LEVEL},
        # Requests failed for a dependency, and machine URLs' refusals: a line a minute.
        "django.request": {"filters": ["request_log"]},
        # The mail sender logs each failed try with its traceback: a line a minute.
        # (A handler of its own here: post_office then adds none of its own.)
        "post_office": {"handlers": ["console"], "propagate": False, "filters": ["condensed"]},
    },
}
