from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from oauth2_provider import views as oauth_toolkit

from accounts import views as account_views
from api.endpoints import api
from apikeys import views as key_views
from genesis import views as machine_views
from infra import scrape
from organizations import views as organization_views
from sso import views as sso_views

urlpatterns = [
    # First: the API is most of the traffic, and patterns are tried in order.
    path(settings.API_PATH.lstrip("/"), api.urls),
    path("", organization_views.home, name="home"),
    # Prometheus's scrape: a 404 for anyone without METRICS_TOKEN (infra.scrape).
    path("metrics", scrape.metrics_view, name="metrics"),
    # Ours first: they replace a few of allauth's (accounts.urls).
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    # Sign in through an organization's identity provider (sso/).
    path("sso/", sso_views.sign_in, name="sso_sign_in"),
    path("invitations/<str:token>/", account_views.invitation, name="invitation"),
    # Operators' site (operators.site): the console's sign-in, two-factor, a recent sign-in.
    path("admin/", admin.site.urls),
    path("i18n/setlang/", account_views.set_language, name="set_language"),
    # Machine-facing paths answer JSON even where nothing is: routed here, so that no
    # HTML page (DEBUG's included) ever answers a program.
    re_path(r"^api/", machine_views.api_not_found),
    # SCIM 2.0 (scim): identity providers provision an organization's members; its own
    # JSON 404 for anything else under /scim/.
    path("scim/", include("scim.urls")),
    # OAuth for MCP clients: the authorization server (its issuer is OAUTH_PATH) and the
    # metadata of it and of the MCP server's OAuth path (RFC 8414, RFC 9728 path forms).
    # Nothing at the root well-known URLs or for MCP_PATH: a key client is never offered
    # OAuth (settings.MCP_OAUTH_PATH).
    path(settings.OAUTH_PATH.strip("/") + "/", include("oauth.urls")),
    path(
        ".well-known/oauth-authorization-server" + settings.OAUTH_PATH,
        oauth_toolkit.OAuthServerMetadataView.as_view(),
        name="oauth_server_metadata",
    ),
    path(
        ".well-known/oauth-protected-resource" + settings.MCP_OAUTH_PATH,
        oauth_toolkit.OAuthProtectedResourceMetadataView.as_view(),
        name="mcp_resource_metadata",
    ),
    re_path(r"^\.well-known/", machine_views.no_oauth),
    re_path(r"^register/?$", machine_views.no_oauth),
    path("o/<slug:org>/api-keys/", include("apikeys.urls")),
    path("o/<slug:org>/mcp-server/", key_views.mcp_server, name="mcp_server"),
    path("o/<slug:org>/service-accounts/", include("apikeys.service_account_urls")),
    path("o/<slug:org>/usage/", include("apikeys.usage_urls")),
    path("o/<slug:org>/settings/sso/", include("sso.urls")),
    path("o/<slug:org>/settings/scim-tokens/", include("scim.console_urls")),
    path("o/<slug:org>/", include("organizations.urls")),
]

handler400 = "genesis.views.bad_request"
handler403 = "genesis.views.permission_denied"
handler404 = "genesis.views.page_not_found"
handler500 = "genesis.views.server_error"
