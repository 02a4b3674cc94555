"""API keys for operators: searchable and revocable, never creatable here (a key must be
shown once to its owner) and never editable in what makes it a key."""

from django.contrib import admin, messages

from genesis.admin import NoDirectDeleteMixin

from . import services
from .models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(NoDirectDeleteMixin, admin.ModelAdmin):
    list_display = ["name", "hint", "user", "organization", "state", "created_at", "last_used_at"]
    list_filter = ["organization", "revoke_reason", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "hint", "user__email", "user__name", "organization__name"]
    list_select_related = ["user", "organization"]
    actions = ["revoke_selected"]
    fields = [
        "name",
        "hint",
        "user",
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

    def has_add_permission(self, request):
        return False

    @admin.display(description="State")
    def state(self, key):
        if key.revoked_at:
            return f"Revoked ({key.get_revoke_reason_display()})"
        return "Active" if key.is_active else "Expired"

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke_selected(self, request, queryset):
        revoked = sum(services.revoke_key(key, request.user) for key in queryset.unrevoked())
        messages.success(request, f"Revoked {revoked} API key{'s' if revoked != 1 else ''}.")
