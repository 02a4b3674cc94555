"""Grants made straight in the database, for tests of the console and the services (the
flow itself is tests/oauth/flow.py)."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, RefreshToken, set_token_value

from oauth.models import AuthorizedApp


def make_grant(membership, client="Claude", scopes="mcp:read mcp:write") -> AuthorizedApp:
    """A grant with a working access token (`.token`)."""
    application = Application.objects.create(
        name=client,
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="http://127.0.0.1/callback",
    )
    access_token = AccessToken(
        user=membership.user,
        application=application,
        expires=timezone.now() + timedelta(hours=1),
        scope=scopes,
        resource=[settings.MCP_OAUTH_RESOURCE],
    )
    token = uuid.uuid4().hex
    set_token_value(access_token, token)
    access_token.save()
    family = uuid.uuid4()
    refresh_token = RefreshToken(
        user=membership.user, application=application, access_token=access_token,
        token_family=family,
    )  # fmt: skip
    set_token_value(refresh_token, uuid.uuid4().hex)
    refresh_token.save()
    grant = AuthorizedApp.objects.create(
        user=membership.user,
        organization=membership.organization,
        application=application,
        client_name=client,
        redirect_host="127.0.0.1",
        scopes=scopes,
        access_token=access_token,
        token_family=family,
    )
    grant.token = token  # the access token itself, for a test to present
    return grant
