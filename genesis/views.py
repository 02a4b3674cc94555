"""Error pages, and the JSON answers where a program calls (infra.machine)."""

import sys

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.template import loader
from django.urls import reverse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from infra import faults
from infra.machine import is_machine_path, machine_error, too_large


@csrf_exempt
def no_oauth(request, *args, **kwargs):
    """OAuth discovery and registration, any method: JSON 404 saying how to connect
    (routed explicitly, so that DEBUG's HTML 404 page never answers a client)."""
    return machine_error(request.path, 404)


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    return machine_error(request.path, 404)


def bad_request(request, exception):
    if isinstance(exception, RequestDataTooBig):
        return too_large(request)
    if is_machine_path(request.path):
        return machine_error(request.path, 400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    if is_machine_path(request.path):
        return machine_error(request.path, 403)
    if request.path.startswith(reverse("admin:index")):  # an operator: nobody to ask
        return defaults.permission_denied(request, exception, template_name="admin/403.html")
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    if is_machine_path(request.path):
        return machine_error(request.path, 404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    # Django calls this while it handles the exception, so the exception is at hand.
    if faults.is_dependency_error(sys.exc_info()[1]):
        return unavailable(request)
    if is_machine_path(request.path):
        return machine_error(request.path, 500)
    return defaults.server_error(request)


def unavailable(request):
    """503 with Retry-After: the database (or another dependency) is not answering. The
    page needs nothing but the template, like the 500 page: no database, no session."""
    if is_machine_path(request.path):
        response = machine_error(request.path, 503)
    else:
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
    response["Retry-After"] = str(faults.RETRY_AFTER_SECONDS)
    return response
