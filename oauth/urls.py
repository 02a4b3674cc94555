"""The authorization server at settings.OAUTH_PATH (the issuer), under the toolkit's
namespace, which its views and metadata reverse. Discovery documents are at the root
(genesis.urls): RFC 8414 and RFC 9728 put them there, with the issuer's or resource's
path after the well-known name."""

from django.urls import path

from . import views

app_name = "oauth2_provider"

urlpatterns = [
    path("authorize/", views.Consent.as_view(), name="authorize"),
    path("token/", views.Token.as_view(), name="token"),
    path("revoke/", views.Revoke.as_view(), name="revoke-token"),
    path("register/", views.Registration.as_view(), name="dcr-register"),
    # RFC 7592: the client reads, updates or deletes its registration with its token.
    path(
        "register/<str:client_id>/",
        views.RegistrationManagement.as_view(),
        name="dcr-register-management",
    ),
    # Without the trailing slash too: a client that drops it gets the endpoint, not a
    # redirect (an HTML 301, for a POST).
    path("token", views.Token.as_view()),
    path("revoke", views.Revoke.as_view()),
    path("register", views.Registration.as_view()),
    path("register/<str:client_id>", views.RegistrationManagement.as_view()),
]
