from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_api_key.models import APIKey


class Me(APIView):
    """The key's details, with one verification of the key per request."""

    permission_classes = []

    def get(self, request):
        try:
            key = APIKey.objects.get_from_key(request.headers.get("X-Api-Key", ""))
        except APIKey.DoesNotExist:
            return Response({"detail": "Invalid API key."}, status=401)
        if key.revoked or key.has_expired:
            return Response({"detail": "Invalid API key."}, status=401)
        return Response(
            {
                "name": key.name,
                "prefix": key.prefix,
                "created": key.created,
                "expires": key.expiry_date,
            }
        )


class Health(APIView):
    permission_classes = []

    def get(self, request):
        return Response({"status": "ok"})


urlpatterns = [path("api/v1/me", Me.as_view()), path("api/v1/health", Health.as_view())]
