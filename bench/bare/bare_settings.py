"""The floor: a bare Django project whose one view returns JSON, to set our
/api/v1/health beside under the same server and flags (bench/http_load.py).

BARE_MIDDLEWARE picks its middleware: "none" (the default: Django's request handling and
nothing else) or "startproject" (the list `django-admin startproject` writes)."""

import os
import tempfile

SECRET_KEY = "bare-bench-only-secret-key-0123456789-abcdefghijklmnop"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bare_urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# A database as ours has one, never touched by the view.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(tempfile.gettempdir(), "genesis-bench-bare.sqlite3"),
        "CONN_MAX_AGE": 60,
    }
}
if os.environ.get("BARE_MIDDLEWARE", "none") == "startproject":
    INSTALLED_APPS = [
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.messages",
    ]
    MIDDLEWARE = [
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ]
else:
    INSTALLED_APPS = []
    MIDDLEWARE = []
