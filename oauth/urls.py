"""The authorization server at settings.OAUTH_PATH (the issuer), under the toolkit's
namespace, which its views and metadata reverse. Discovery documents are at the root
(genesis.urls): RFC 8414 and RFC 9728 put them there, with the issuer's or resource's
path after the well-known name."""

from django.urls import path
from oauth2_provider import views as toolkit

from . import views

app_name = "oauth2_provider"

urlpatterns = [
    path("authorize/", views.Consent.as_view(), name="authorize"),
    path("token/", views.Token.as_view(), name="token"),
    path("revoke/", toolkit.RevokeTokenView.as_view(), name="revoke-token"),
    path("register/", views.Registration.as_view(), name="dcr-register"),
    # RFC 7592: the client reads, updates or deletes its registration with its token.
    path(
        "register/<str:client_id>/",
        toolkit.DynamicClientRegistrationManagementView.as_view(),
        name="dcr-register-management",
    ),
]
