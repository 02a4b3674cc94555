"""The console's middleware, skipped at machine-facing URLs: one MIDDLEWARE list for every
request, so that Django's test client, the WSGI server and the ASGI server all run the
same stack, and no handler needs a list of its own.

A key-authenticated API request needs the client's address, JSON errors, the security
headers that apply to JSON, the host check and the audit context. It paid for sessions,
CSRF, messages, locale negotiation, htmx, static files and a Content-Security-Policy
built per request: most of /api/v1/health's time. Each of those is wrapped here in
`console_only`, which hands a machine-facing request (is_machine_path: the API, /mcp,
OAuth's endpoints and discovery) straight to the next layer. (allauth's AccountMiddleware
and Django's CsrfViewMiddleware stay as they are: allauth refuses to start unless
MIDDLEWARE names its own, `check --deploy` looks for Django's by name, and at machine URLs
each costs a few microseconds.)
"""

from csp.middleware import CSPMiddleware as DjangoCspMiddleware
from django.contrib.auth.middleware import (
    AuthenticationMiddleware as DjangoAuthenticationMiddleware,
)
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django_htmx.middleware import HtmxMiddleware as DjangoHtmxMiddleware
from whitenoise.middleware import WhiteNoiseMiddleware as WhiteNoise

from accounts.middleware import HtmxReauthenticationMiddleware as Reauthentication
from accounts.time_zones import TimeZoneMiddleware as TimeZones
from infra.machine import is_machine_path
from sso.middleware import RequireSsoMiddleware as RequireSso

# Django calls these on a middleware that has them (its documented hooks).
HOOKS = ("process_view", "process_exception", "process_template_response")


def console_only(middleware):
    """A subclass of `middleware` that does its work for the console's requests only: a
    machine one goes on to the next layer, and its response comes back untouched. (A
    subclass, so that checks for the original, Django admin's among them, still find it.)
    """

    def __call__(self, request):
        if is_machine_path(request.path_info):
            return self.get_response(request)
        return middleware.__call__(self, request)

    namespace = {"__call__": __call__, "__doc__": f"{middleware.__name__}, console only."}
    for hook in HOOKS:
        if hasattr(middleware, hook):
            namespace[hook] = _for_console(getattr(middleware, hook))
    return type(f"ConsoleOnly{middleware.__name__}", (middleware,), namespace)


def _for_console(hook):
    def for_console(self, request, *args):
        if is_machine_path(request.path_info):
            return None
        return hook(self, request, *args)

    return for_console


WhiteNoiseMiddleware = console_only(WhiteNoise)
SessionMiddleware = console_only(DjangoSessionMiddleware)
LocaleMiddleware = console_only(DjangoLocaleMiddleware)
AuthenticationMiddleware = console_only(DjangoAuthenticationMiddleware)
TimeZoneMiddleware = console_only(TimeZones)
MessageMiddleware = console_only(DjangoMessageMiddleware)
HtmxReauthenticationMiddleware = console_only(Reauthentication)
HtmxMiddleware = console_only(DjangoHtmxMiddleware)
CSPMiddleware = console_only(DjangoCspMiddleware)
RequireSsoMiddleware = console_only(RequireSso)
