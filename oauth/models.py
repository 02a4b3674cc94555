from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from infra.daily_counts import DailyCount
from infra.last_use import CLIENT_NAME_LENGTH
from organizations.models import Organization, User


class RevokeReason(models.TextChoices):
    BY_OWNER = "by_owner", _("Revoked by its owner")
    BY_ADMIN = "by_admin", _("Revoked by an admin")
    MEMBER_REMOVED = "member_removed", _("Member removed")
    USER_DEACTIVATED = "user_deactivated", _("User deactivated")
    TOKEN_REUSED = "token_reused", _("A used refresh token came back")
    CODE_REUSED = "code_reused", _("A used authorization code came back")
    CLIENT_DELETED = "client_deleted", _("Its app's registration was deleted")


class AuthorizedAppQuerySet(models.QuerySet):
    def active(self):
        """Consented, exchanged for tokens, and not revoked."""
        return self.filter(revoked_at__isnull=True, token_family__isnull=False)


class AuthorizedApp(models.Model):
    """One person's consent for one OAuth client in one organization (a "grant")."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="authorized_apps")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="authorized_apps"
    )
    # SET_NULL: a deleted registration revokes the grant (oauth.signals), which stays listed
    # in the audit's terms; client_name keeps what it was called.
    application = models.ForeignKey(
        "oauth2_provider.Application",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    client_name = models.CharField(max_length=255)  # as the consent page showed it
    redirect_host = models.CharField(max_length=255)
    scopes = models.CharField(max_length=100)  # organizations.scopes, space-separated
    created_at = models.DateTimeField(default=timezone.now)
    # The authorization code until it is exchanged (django-oauth-toolkit deletes it then).
    code = models.OneToOneField(
        "oauth2_provider.Grant",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="authorized_app",
    )
    # The code's SHA-256, kept after the toolkit deletes the code: a code that comes back
    # after its one use ends the grant (RFC 6749 4.1.2), and code_used_at lets exactly
    # one of several racing exchanges have it.
    code_digest = models.CharField(max_length=64, blank=True, db_index=True)
    code_used_at = models.DateTimeField(null=True, blank=True)
    # The current access token, and the family every refresh token of this grant shares.
    access_token = models.OneToOneField(
        "oauth2_provider.AccessToken",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="authorized_app",
    )
    token_family = models.UUIDField(null=True, blank=True, unique=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    last_used_client = models.CharField(max_length=CLIENT_NAME_LENGTH, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=20, choices=RevokeReason.choices, blank=True)

    objects = AuthorizedAppQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "revoked_at"])]

    def __str__(self):
        return f"{self.client_name} for {self.user} in {self.organization}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.token_family is not None


class GrantUsage(DailyCount):
    """How many requests presented a grant's access tokens on one day (UTC), by surface
    and outcome, as apikeys.models.KeyUsage for keys. Written by oauth.usage, at most once
    a minute per worker; pruned with the keys' (`manage.py prune_usage`)."""

    grant = models.ForeignKey(AuthorizedApp, on_delete=models.CASCADE, related_name="usage")

    class Meta:
        verbose_name = "authorized app usage"
        verbose_name_plural = "authorized app usage"
        constraints = [
            models.UniqueConstraint(
                fields=["grant", "date", "surface", "outcome"],
                name="one_grant_usage_row_per_bucket",
            )
        ]
        indexes = [models.Index(fields=["date"], name="grant_usage_by_date")]

    def __str__(self):
        return f"{self.grant_id} {self.date} {self.surface} {self.outcome}: {self.count}"
