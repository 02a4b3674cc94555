"""What the sign-in lockout (django-axes) counts failures against."""

from django.conf import settings


def normalized_username(request, credentials: dict | None) -> str | None:
    """The email as sign-in compares it: stripped and lowercased. Sign-in finds the user
    whatever the case (User.objects.get_by_natural_key), so counting the exact string let
    `victiM@example.com` try again after `victim@example.com` was locked."""
    source = credentials if credentials else getattr(request, "POST", None) or {}
    username = source.get(settings.AXES_USERNAME_FORM_FIELD)
    return username.strip().lower() if isinstance(username, str) else username
