"""How allauth's social sign-in serves an organization's SSO (its documented adapter
hooks): who may come in through which organization's provider, what a new account gets,
and what a person sees when the provider fails or refuses."""

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.providers.base import AuthProcess
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from . import domains, remote, services
from .models import Connection

# gettext_noop: translated where it is shown (here, and sso.middleware).
AUTHENTICATION_ERROR = gettext_noop(
    "Signing in through your identity provider did not work (it refused, or its answer "
    "could not be trusted). Try again, or ask your administrator."
)


def connection_for(sociallogin) -> Connection | None:
    app = sociallogin.provider.app
    if app is None or app.pk is None:
        return None
    return Connection.objects.select_related("organization").filter(app_id=app.pk).first()


def verified_email(sociallogin) -> str | None:
    """The address the provider asserts and says it verified (OIDC's email_verified). A
    SAML IdP's asserted address counts as verified: SAML has no such claim, and the
    domain check that follows (pre_social_login) is what decides (is_email_verified)."""
    saml = (
        sociallogin.provider.app is not None and sociallogin.provider.app.provider == services.SAML
    )
    for address in sociallogin.email_addresses:
        if (address.verified or saml) and address.email:
            return address.email.strip().lower()
    return None


def refuse(request, message: str, status: int = 403):
    raise ImmediateHttpResponse(
        render(request, "sso/refused.html", {"message": message}, status=status)
    )


class SsoAdapter(DefaultSocialAccountAdapter):
    def get_requests_session(self):
        """Every request allauth makes to a provider (discovery, token, user info, keys),
        and ours (sso.remote.read), kept off this machine and its link."""
        return remote.guarded(super().get_requests_session())

    def pre_social_login(self, request, sociallogin):
        """Only a person whose provider asserts a verified address at one of the
        organization's verified domains comes in (a new account, a link to an existing
        one with that address, or a returning person alike)."""
        if sociallogin.state.get("process") == AuthProcess.CONNECT:
            # Tying an identity to whoever is signed in would let an account with another
            # address ride the organization's SSO: a link is made by signing in, only.
            refuse(request, _("Sign in with SSO instead: your account is linked when you do."))
        connection = connection_for(sociallogin)
        if connection is None or connection.organization.closed_at is not None:
            refuse(request, _("This single sign-on connection no longer exists."), 404)
        email = verified_email(sociallogin)
        if email is None:
            refuse(
                request,
                _(
                    "Your identity provider did not confirm your email address, so you can't "
                    "sign in with it here. Ask your administrator."
                ),
            )
        if not domains.verified_for(connection.organization_id, email):
            refuse(
                request,
                _(
                    "%(domain)s is not a verified domain of %(organization)s, so its single "
                    "sign-on can't sign you in."
                )
                % {"domain": domains.of_email(email), "organization": connection.organization.name},
            )
        if sociallogin.is_existing and sociallogin.user.email.lower() != email:
            # Linked before, but the provider now names another person: never trust it.
            refuse(request, _("Your identity provider names a different email address now."))
        if sociallogin.user is not None and not sociallogin.user.is_active:
            refuse(request, _("This account is inactive."))

    def is_email_verified(self, provider, email) -> bool:
        """SAML has no "email verified" claim: the IdP an Owner connected is trusted to
        assert addresses at the organization's verified domains (and only those get in,
        pre_social_login)."""
        app = provider.app
        if app is not None and app.provider == services.SAML and app.pk is not None:
            organization_id = (
                Connection.objects.filter(app_id=app.pk)
                .values_list("organization_id", flat=True)
                .first()
            )
            if organization_id and domains.verified_for(organization_id, email):
                return True
        return super().is_email_verified(provider, email)

    def is_open_for_signup(self, request, sociallogin) -> bool:
        # pre_social_login has let only a verified address at a verified domain this far.
        connection = connection_for(sociallogin)
        email = verified_email(sociallogin)
        return bool(
            connection and email and domains.verified_for(connection.organization_id, email)
        )

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        user.email = (user.email or "").lower()
        user.name = (data.get("name") or "").strip()[:150] or user.email.partition("@")[0]
        user.language = getattr(request, "LANGUAGE_CODE", "") or ""
        return user

    def can_authenticate_by_email(self, login, email) -> bool:
        # An organization's provider may sign in the existing account with the same
        # address (allauth then links it); allauth only offers verified addresses here.
        connection = connection_for(login)
        return bool(connection and domains.verified_for(connection.organization_id, email))

    def on_authentication_error(
        self, request, provider, error=None, exception=None, extra_context=None
    ):
        raise ImmediateHttpResponse(
            render(
                request,
                "sso/refused.html",
                {"message": _(AUTHENTICATION_ERROR)},
                status=403,
            )
        )
