"""Grants for operators: searchable and revocable (through the same service as the
console), never creatable or editable here: a grant is a person's consent."""

from django.contrib import admin, messages
from django.utils.translation import ngettext

from ui.admin import ActOnlyAdmin

from . import services
from .models import AuthorizedApp, RevokeReason


@admin.register(AuthorizedApp)
class AuthorizedAppAdmin(ActOnlyAdmin):
    list_display = [
        "client_name",
        "user",
        "organization",
        "scopes",
        "state",
        "revoke_reason",
        "created_at",
        "last_used_at",
    ]
    list_filter = ["organization", "revoke_reason", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["client_name", "user__email", "user__name", "organization__name"]
    list_select_related = ["user", "organization"]
    actions = ["revoke_selected"]
    fields = [
        "client_name",
        "redirect_host",
        "user",
        "organization",
        "scopes",
        "created_at",
        "last_used_at",
        "last_used_ip",
        "last_used_client",
        "revoked_at",
        "revoke_reason",
    ]
    readonly_fields = fields

    @admin.display(description="State")
    def state(self, grant):
        if grant.revoked_at:
            return "Revoked"  # and why, in its own column
        return "Active" if grant.is_active else "Not yet used"

    @admin.action(description="Revoke selected authorized apps", permissions=["change"])
    def revoke_selected(self, request, queryset):
        revoked = sum(
            services.revoke(grant, request.user, RevokeReason.BY_ADMIN)
            for grant in queryset.filter(revoked_at__isnull=True)
        )
        messages.success(
            request,
            ngettext(
                "Revoked %(count)s authorized app.", "Revoked %(count)s authorized apps.", revoked
            )
            % {"count": revoked},
        )
