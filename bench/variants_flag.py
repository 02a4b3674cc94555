"""genesis.middleware's console-only classes, deciding from MarkMachine's flag (bench only)."""

from django.utils.module_loading import import_string
from variants import console_only_flag

ORIGINALS = {
    "WhiteNoiseMiddleware": "whitenoise.middleware.WhiteNoiseMiddleware",
    "SessionMiddleware": "django.contrib.sessions.middleware.SessionMiddleware",
    "LocaleMiddleware": "django.middleware.locale.LocaleMiddleware",
    "AuthenticationMiddleware": "django.contrib.auth.middleware.AuthenticationMiddleware",
    "TimeZoneMiddleware": "accounts.time_zones.TimeZoneMiddleware",
    "MessageMiddleware": "django.contrib.messages.middleware.MessageMiddleware",
    "HtmxReauthenticationMiddleware": "accounts.middleware.HtmxReauthenticationMiddleware",
    "HtmxMiddleware": "django_htmx.middleware.HtmxMiddleware",
    "CSPMiddleware": "csp.middleware.CSPMiddleware",
}
for _name, _path in ORIGINALS.items():
    globals()[_name] = console_only_flag(import_string(_path))
