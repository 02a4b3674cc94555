"""An organization's single sign-on: its identity provider (one allauth SocialApp), whether
it is required, who may still sign in without it, and the email domains it vouches for."""

from allauth.socialaccount.models import SocialApp
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from organizations.models import Organization


class Connection(models.Model):
    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="sso_connection"
    )
    # allauth's record of the provider: provider "openid_connect", provider_id
    # PROVIDER_ID_PREFIX + the organization's slug at creation, client id and secret,
    # settings {"server_url": issuer}.
    app = models.OneToOneField(SocialApp, on_delete=models.PROTECT, related_name="+")
    # Members open this organization only through its SSO (sso.policy).
    require_sso = models.BooleanField(default=False)
    # The one Owner who still may with a password or a passkey, should the provider fail.
    break_glass = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.organization}: {self.app.settings.get('server_url', '')}"


class Domain(models.Model):
    """An email domain the organization claims. Verified (a code mailed to a mailbox at
    it came back), it decides who joins through the organization's SSO; a domain is
    verified by one organization at most."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="sso_domains"
    )
    name = models.CharField(max_length=253)
    verified_at = models.DateTimeField(null=True, blank=True)
    # The code mailed for verification: its SHA-256 only, when and where it was sent,
    # and the wrong codes typed since (sso.domains).
    code_digest = models.CharField(max_length=64, blank=True)
    code_sent_at = models.DateTimeField(null=True, blank=True)
    code_sent_to = models.EmailField(blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="sso_domain_once"),
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(verified_at__isnull=False),
                name="sso_domain_verified_once",
            ),
        ]

    def __str__(self):
        return self.name
