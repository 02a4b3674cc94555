from django.conf import settings
from django.http import JsonResponse
from django.views import defaults


def page_not_found(request, exception):
    """The API answers in JSON, even for paths it doesn't have; the console with a page."""
    if request.path.startswith(settings.API_PATH):
        return JsonResponse(
            {"error": "not_found", "error_description": "No such endpoint"}, status=404
        )
    return defaults.page_not_found(request, exception)
