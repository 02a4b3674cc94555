"""What SCIM provisioning keeps: an organization's bearer tokens, and the people its
identity provider manages there (one SCIM User resource per person and organization)."""

import uuid

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from organizations.models import Organization, User


class ScimTokenQuerySet(models.QuerySet):
    def unrevoked(self):
        return self.filter(revoked_at__isnull=True)


class ScimToken(models.Model):
    """A bearer token an identity provider provisions one organization with. Like an API
    key, only its HMAC digest (apikeys.keys) and a hint are kept, never the token."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="scim_tokens"
    )
    name = models.CharField(max_length=100)
    hint = models.CharField(max_length=30)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    pepper_id = models.CharField(max_length=32, editable=False)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ScimTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.name} ({self.hint})"

    @property
    def actor_label(self) -> str:
        """Who the audit log says acted, for a change this token made."""
        return f"SCIM: {self.name}"


class ScimUser(models.Model):
    """A person as the organization's identity provider sees them. `active` mirrors the
    membership: an active resource has one, an inactive one (deprovisioned) has none.
    `attributes` is the resource as the provider last wrote it (without id and meta),
    so what it reads back is what it wrote."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="scim_users"
    )
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="scim_users")
    user_name = models.CharField(max_length=254)
    external_id = models.CharField(max_length=254, blank=True)
    display_name = models.CharField(max_length=254, blank=True)
    active = models.BooleanField(default=True)
    attributes = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="one_scim_user_per_person_and_org"
            ),
            # userName is unique per organization, case-insensitively (RFC 7643 4.1.1).
            models.UniqueConstraint(
                "organization", Lower("user_name"), name="scim_user_name_unique_in_org"
            ),
        ]

    def __str__(self):
        return f"{self.user_name} in {self.organization}"
