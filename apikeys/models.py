from django.conf import settings
from django.db import models
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from infra.daily_counts import DailyCount, Surface
from infra.daily_counts import Outcome as Outcome  # the vocabulary, where the surfaces read it
from infra.last_use import CLIENT_NAME_LENGTH
from organizations.models import Organization


class RevokeReason(models.TextChoices):
    DELETED = "deleted", _("Deleted by its owner")
    REVOKED = "revoked", _("Revoked")
    MEMBER_REMOVED = "member_removed", _("Member removed from the organization")
    ROLLED = "rolled", _("Replaced by a rolled key")
    USER_DEACTIVATED = "user_deactivated", _("User deactivated")
    LEAKED = "leaked", _("Reported leaked")
    ACCOUNT_DELETED = "account_deleted", _("Service account deleted")


class ApiKeyQuerySet(models.QuerySet):
    """ "Active" has one meaning: the key works (authenticate also wants its user active
    and still a member). Lists show unrevoked keys, the expired ones marked as such."""

    def unrevoked(self):
        return self.filter(revoked_at__isnull=True)

    def active(self):
        return self.unrevoked().filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        )

    def with_owner_role(self):
        """Each key's owner's current role as `owner_role`, in the same query: lists show
        what a key can do now (a demoted Admin's org:admin is not listed)."""
        from organizations.models import Membership

        return self.annotate(
            owner_role=Subquery(
                Membership.objects.filter(
                    user_id=OuterRef("user_id"), organization_id=OuterRef("organization_id")
                ).values("role")[:1]
            )
        )


class ApiKey(models.Model):
    """An API key of one member (a person or a service account) in one organization. The
    key itself is never stored."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_keys"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    # Who made it: its owner, or for a service account's key the Admin or Owner who did
    # (kept when they leave; the key is the service account's, not theirs).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    name = models.CharField(max_length=100)
    # What it is for, optionally (where it runs, who to ask), shown under its name.
    description = models.CharField(max_length=300, blank=True, default="")
    hint = models.CharField(max_length=20)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    pepper_id = models.CharField(max_length=32, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)

    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoke_reason = models.CharField(max_length=20, choices=RevokeReason.choices, blank=True)
    # Rolled with an overlap: the key with the new secret. This one keeps working until its
    # expires_at (the end of the overlap), so clients can move over without an outage.
    replaced_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    # What it may do (organizations.scopes), space-separated; within its owner's role.
    scopes = models.CharField(max_length=200, default="api:read api:write mcp:read mcp:write")
    # Where it may be used from: normalised networks, space-separated (apikeys.allowlist);
    # empty: anywhere.
    allowed_ips = models.TextField(blank=True, default="")
    # The last time it was refused for coming from elsewhere (written at most once a
    # minute), so its owner can see it.
    last_refused_at = models.DateTimeField(null=True, blank=True)
    last_refused_ip = models.GenericIPAddressField(null=True, blank=True)

    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    last_used_surface = models.CharField(max_length=3, choices=Surface.choices, blank=True)
    last_used_client = models.CharField(max_length=CLIENT_NAME_LENGTH, blank=True)

    # When its owner was told it expires within a week (the notice goes once).
    expiry_notice_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When its owner was told that, revoked or expired, it was still being presented a
    # day later (apikeys.digests; the notice goes once).
    still_used_notice_sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    # The id of the form that created the key, so a double-submitted form makes one key.
    form_id = models.UUIDField(null=True, blank=True, editable=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "form_id"],
                condition=Q(form_id__isnull=False),
                name="one_key_per_creation_form",
            )
        ]
        indexes = [
            models.Index(
                fields=["organization", "user", "-created_at", "-id"],
                condition=Q(revoked_at__isnull=True),
                name="active_keys_by_owner",
            ),
            models.Index(
                fields=["organization", "-created_at", "-id"],
                condition=Q(revoked_at__isnull=True),
                name="active_keys_by_org",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.hint})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and (
            self.expires_at is None or self.expires_at > timezone.now()
        )


class KeyUsage(DailyCount):
    """How many requests presented a key on one day (UTC), by surface and outcome. Written
    by apikeys.usage, at most once a minute per worker; pruned after USAGE_RETENTION_DAYS."""

    key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="usage")

    class Meta:
        verbose_name = "API key usage"
        verbose_name_plural = "API key usage"
        constraints = [
            models.UniqueConstraint(
                fields=["key", "date", "surface", "outcome"], name="one_usage_row_per_bucket"
            )
        ]
        # Pruning deletes by date alone.
        indexes = [models.Index(fields=["date"], name="usage_by_date")]

    def __str__(self):
        return f"{self.key_id} {self.date} {self.surface} {self.outcome}: {self.count}"


class StaleKeyDigest(models.Model):
    """The weekly stale-key digest one Admin or Owner was sent for one organization, so
    a second run in the same week sends nothing (apikeys.digests)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # The Monday (UTC) of the ISO week it was sent in.
    week = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user", "week"], name="one_stale_key_digest_a_week"
            )
        ]

    def __str__(self):
        return f"{self.organization_id} {self.user_id} {self.week}"
