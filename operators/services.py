"""What operators do that reaches across apps: each app's own services, in one
transaction, and one entry in the operators' log. (What stays within an app is that
app's service: accounts.services for a person's account, organizations.services for an
organization.)"""

from django.db import transaction

from accounts import services as accounts
from apikeys import services as keys
from apikeys.models import ApiKey
from oauth import services as grants
from oauth.models import RevokeReason as GrantRevokeReason
from organizations import audit
from organizations.models import AuditAction, User


@transaction.atomic
def revoke_every_credential(user: User, actor: User, reason: str) -> bool:
    """Revoke every API key and authorized app of a person, in every organization, and
    end their sessions; they keep their account and memberships, and make new keys.
    One email tells them which keys (apikeys.notices). Returns whether anything went."""
    unrevoked = ApiKey.objects.unrevoked().filter(user=user)
    revoked = keys.revoke_keys(
        unrevoked.select_related("user__service_account", "organization"), actor
    )
    apps = grants.revoke_member_grants(user.pk, None, GrantRevokeReason.BY_ADMIN)
    sessions = accounts.end_sessions(user)
    audit.record(
        None,
        AuditAction.CREDENTIALS_REVOKED,
        target_user_id=user.pk,
        target=user.email,
        details={"reason": reason, "keys": revoked, "apps": apps, "sessions": sessions},
    )
    return bool(revoked or apps or sessions)
