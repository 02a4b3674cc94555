"""Django admin for operators: invitations (revoked through the service) and the audit
log, read-only, filtered by date, organization, action, actor and person. People and
organizations are the operators app's pages (they reach across every app)."""

from django.contrib import admin
from django.db.models import Q

from ui.admin import ActOnlyAdmin, TextFilter

from . import invitations
from .models import AuditEvent, Invitation


@admin.register(Invitation)
class InvitationAdmin(ActOnlyAdmin):
    """Operators see invitations and can revoke them; inviting is the Members page's (the
    link is only ever in the email)."""

    list_display = ["email", "organization", "role", "invited_by", "sent_at", "expires_at", "state"]
    list_filter = ["organization", "role"]
    search_fields = ["email"]
    list_select_related = ["organization", "invited_by"]
    exclude = ["token_hash"]
    actions = ["revoke"]

    @admin.display(description="State")
    def state(self, invitation):
        if invitation.accepted_at:
            return "accepted"
        if invitation.revoked_at:
            return "revoked"
        return "expired" if invitation.is_expired else "open"

    @admin.action(description="Revoke the selected invitations", permissions=["change"])
    def revoke(self, request, queryset):
        for invitation in queryset.filter(accepted_at=None, revoked_at=None):
            invitations.revoke(invitation)


def _person(prefix: str, text: str) -> Q:
    return Q(**{f"{prefix}__email__icontains": text}) | Q(**{f"{prefix}__name__icontains": text})


class ActorFilter(TextFilter):
    title = "actor"
    parameter_name = "actor_is"

    def matches(self, text):
        return _person("actor", text)


class PersonFilter(TextFilter):
    """Everything a person did or had done to them."""

    title = "person (actor or target)"
    parameter_name = "person"

    def matches(self, text):
        return _person("actor", text) | _person("target_user", text)


@admin.register(AuditEvent)
class AuditEventAdmin(ActOnlyAdmin):
    """Read-only: the log is written by the services and never edited. Events with no
    organization are the operators' log (what operators did to people)."""

    list_display = ["created_at", "log", "actor", "action", "target", "summary", "ip"]
    list_filter = [
        PersonFilter,
        ActorFilter,
        ("created_at", admin.DateFieldListFilter),
        "action",
        "organization",
    ]
    date_hierarchy = "created_at"
    search_fields = ["target", "actor__email", "target_user__email"]
    list_select_related = ["organization", "actor", "target_user"]

    @admin.display(description="Log", ordering="organization__name")
    def log(self, event):
        return event.organization or "Operators"

    @admin.display(description="Details")
    def summary(self, event):
        return event.summary()
