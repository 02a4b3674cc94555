"""API keys for operators: searchable and revocable, never creatable here (a key must be
shown once to its owner) and never editable in what makes it a key."""

from django.contrib import admin, messages
from django.utils.translation import ngettext

from organizations.models import ServiceAccount
from ui.admin import ActOnlyAdmin

from . import service_accounts, services
from .models import ApiKey, KeyUsage


@admin.register(ApiKey)
class ApiKeyAdmin(ActOnlyAdmin):
    list_display = [
        "name",
        "hint",
        "user",
        "organization",
        "scopes",
        "state",
        "revoke_reason",
        "created_at",
        "expires_at",
        "last_used_at",
    ]
    list_filter = [
        "organization",
        "revoke_reason",
        ("revoked_at", admin.EmptyFieldListFilter),
        ("expires_at", admin.DateFieldListFilter),
    ]
    search_fields = ["name", "hint", "user__email", "user__name", "organization__name"]
    list_select_related = ["user", "organization"]
    actions = ["revoke_selected"]
    fields = [
        "name",
        "hint",
        "user",
        "created_by",
        "organization",
        "created_at",
        "expires_at",
        "scopes",
        "allowed_ips",
        "last_refused_at",
        "last_refused_ip",
        "revoked_at",
        "revoked_by",
        "revoke_reason",
        "last_used_at",
        "last_used_ip",
        "last_used_surface",
        "last_used_client",
        "pepper_id",
    ]
    readonly_fields = fields

    @admin.display(description="State")
    def state(self, key):
        if key.revoked_at:
            return "Revoked"  # and why, in its own column
        return "Active" if key.is_active else "Expired"

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke_selected(self, request, queryset):
        unrevoked = queryset.unrevoked().select_related("user__service_account", "organization")
        revoked = services.revoke_keys(unrevoked, request.user)
        messages.success(
            request,
            ngettext("Revoked %(count)s API key.", "Revoked %(count)s API keys.", revoked)
            % {"count": revoked},
        )


@admin.register(ServiceAccount)
class ServiceAccountAdmin(ActOnlyAdmin):
    """Operators see service accounts and disable, enable or delete them through the same
    services as the console; they are created on the Members page."""

    list_display = ["name", "organization", "state", "created_by", "created_at"]
    list_filter = ["organization", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__name", "description", "organization__name"]
    list_select_related = ["user", "organization", "created_by"]
    fields = ["user", "organization", "description", "created_by", "created_at", "deleted_at"]
    readonly_fields = fields
    actions = ["disable", "enable", "delete"]

    @admin.display(description="Name", ordering="user__name")
    def name(self, account):
        return account.user.name

    @admin.display(description="State")
    def state(self, account):
        if account.deleted_at:
            return "Deleted"
        return "Disabled" if account.is_disabled else "Active"

    def _each(self, request, queryset, act, done: str):
        changed = sum(act(account) for account in queryset.filter(deleted_at=None))
        accounts = ngettext("%(count)s service account", "%(count)s service accounts", changed)
        messages.success(request, f"{done} {accounts % {'count': changed}}.")

    @admin.action(description="Disable the selected service accounts", permissions=["change"])
    def disable(self, request, queryset):
        self._each(request, queryset, service_accounts.disable, "Disabled")

    @admin.action(description="Enable the selected service accounts", permissions=["change"])
    def enable(self, request, queryset):
        self._each(request, queryset, service_accounts.enable, "Enabled")

    @admin.action(
        description="Delete the selected service accounts (their keys are revoked)",
        permissions=["change"],
    )
    def delete(self, request, queryset):
        self._each(request, queryset, service_accounts.delete, "Deleted")


@admin.register(KeyUsage)
class KeyUsageAdmin(ActOnlyAdmin):
    """Operators look at what each key was used for; counts are written by apikeys.usage
    and deleted by `manage.py prune_usage` only, never edited here."""

    list_display = ["date", "key_name", "key_hint", "organization", "surface", "outcome", "count"]
    list_filter = [("date", admin.DateFieldListFilter), "surface", "outcome"]
    search_fields = ["key__name", "key__hint", "key__organization__name"]
    list_select_related = ["key__organization"]
    ordering = ["-date", "key_id", "surface", "outcome"]
    fields = ["key", "date", "surface", "outcome", "count"]
    readonly_fields = fields

    @admin.display(description="Key", ordering="key__name")
    def key_name(self, usage):
        return usage.key.name

    @admin.display(description="Hint")
    def key_hint(self, usage):
        return usage.key.hint

    @admin.display(description="Organization", ordering="key__organization__name")
    def organization(self, usage):
        return usage.key.organization
