"""Invitations: an Admin or Owner invites an email with a role; the person opens the
single-use link, signs up or signs in, and lands in the organization.

The link carries a random token; only its SHA-256 is stored, so the database can't
produce a working link. The email with the link is sent straight to the mail server
(infra.mail.send_secret), never queued in the database for the same reason.
Who may invite with which role is decided by `access` in the views.
"""

import hashlib
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from infra import mail

from . import audit
from .models import AuditAction, Invitation, Membership, Organization, User
from .services import MembershipError

SESSION_KEY = "invitation_id"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, _hash(token)


def link(token: str) -> str:
    return mail.public_url(reverse("invitation", kwargs={"token": token}))


@dataclass(frozen=True)
class Sent:
    invitation: Invitation
    delivered: bool  # False: saved, but the mail server refused or didn't answer


def open_invitation(organization: Organization, email: str) -> Invitation | None:
    """The open invitation to this address, which inviting it again would replace."""
    return Invitation.objects.filter(
        organization=organization, email=email.strip().lower(), accepted_at=None, revoked_at=None
    ).first()


def invite(organization: Organization, email: str, role: str, invited_by: User) -> Sent:
    """Invite `email` with `role`; an open invitation to the same address is renewed (a
    new link, a new week, the new role), and the old link stops working."""
    email = email.strip().lower()
    if mail.undeliverable(email):
        raise MembershipError(_("Nothing is delivered to .invalid addresses."))
    if Membership.objects.filter(organization=organization, user__email=email).exists():
        raise MembershipError(
            _("%(email)s is already a member of %(organization)s.")
            % {"email": email, "organization": organization.name}
        )
    token, token_hash = _new_token()
    now = timezone.now()
    try:
        with transaction.atomic():
            invitation, _created = Invitation.objects.update_or_create(
                organization=organization,
                email=email,
                accepted_at=None,
                revoked_at=None,
                defaults={
                    "role": role,
                    "invited_by": invited_by,
                    "token_hash": token_hash,
                    "sent_at": now,
                    "expires_at": now + settings.INVITATION_LIFETIME,
                },
            )
            audit.record(
                organization.pk, AuditAction.MEMBER_INVITED, target=email, details={"role": role}
            )
    except IntegrityError:  # the same address invited by two Admins at the same moment
        raise MembershipError(_("%(email)s was just invited.") % {"email": email}) from None
    return Sent(invitation, _send(invitation, token))


def resend(invitation: Invitation, invited_by: User) -> Sent:
    """A new link and a new week for an open invitation (expired ones too)."""
    if not invitation.is_open:
        raise MembershipError(_("This invitation was already used or revoked."))
    return invite(invitation.organization, invitation.email, invitation.role, invited_by)


@transaction.atomic
def revoke(invitation: Invitation) -> None:
    revoked = Invitation.objects.filter(pk=invitation.pk, accepted_at=None, revoked_at=None).update(
        revoked_at=timezone.now()
    )
    if revoked:
        audit.record(
            invitation.organization_id,
            AuditAction.INVITATION_REVOKED,
            target=invitation.email,
            details={"role": invitation.role},
        )


def _send(invitation: Invitation, token: str) -> bool:
    # In the inviter's language: nothing is known yet about the invitee's.
    context = {
        "invitation": invitation,
        "organization": invitation.organization,
        "inviter": invitation.invited_by,
        "url": link(token),
        "days": settings.INVITATION_LIFETIME.days,
    }
    with translation.override(translation.get_language() or settings.LANGUAGE_CODE):
        subject, _, body = (
            render_to_string("organizations/email/invitation.txt", context).strip().partition("\n")
        )
    return mail.send_secret(subject.strip(), body.strip() + "\n", invitation.email)


class Refused(Exception):
    """Why a link can't be used; the message is for the person who opened it, and the
    status says what kind of refusal it is (404 unknown, 410 used up, 403 not yours)."""

    def __init__(self, message, status: int = 410):
        super().__init__(message)
        self.status = status


def find(token: str) -> Invitation:
    """The open, unexpired invitation a link carries, or Refused saying why not."""
    invitation = (
        Invitation.objects.select_related("organization", "invited_by")
        .filter(token_hash=_hash(token))
        .first()
    )
    return check(invitation)


def check(invitation: Invitation | None) -> Invitation:
    if invitation is None:
        raise Refused(
            _("This invitation link is not valid. Check that you copied all of it."), status=404
        )
    if invitation.accepted_at is not None:
        raise Refused(_("This invitation was already used."))
    if invitation.revoked_at is not None:
        raise Refused(_("This invitation was revoked."))
    if invitation.is_expired:
        raise Refused(_("This invitation has expired."))
    return invitation


def check_addressee(invitation: Invitation, user: User) -> None:
    if user.email.lower() != invitation.email:
        raise Refused(
            _(
                "This invitation is for %(email)s, and you're signed in as %(you)s. Sign out, "
                "then open the link again."
            )
            % {"email": invitation.email, "you": user.email},
            status=403,
        )


def accept(invitation: Invitation, user: User) -> Membership:
    """Join the organization with the invited role, once, as the invited address only."""
    check_addressee(invitation, user)
    with transaction.atomic():
        current = check(Invitation.objects.select_for_update().filter(pk=invitation.pk).first())
        membership, created = Membership.objects.get_or_create(
            user=user, organization_id=current.organization_id, defaults={"role": current.role}
        )
        Invitation.objects.filter(pk=current.pk).update(
            accepted_at=timezone.now(), accepted_by=user
        )
        if created:
            audit.record(
                current.organization_id,
                AuditAction.INVITATION_ACCEPTED,
                actor_id=user.pk,  # at sign-up nobody is signed in yet
                target_user_id=user.pk,
                target=user.email,
                details={"role": current.role},
            )
    return membership


# The invitation a visitor is signing up or signing in for, kept in their session between
# opening the link and having an account (the token itself is not kept).


def remember(request, invitation: Invitation) -> None:
    # The link's hash too: a resent or renewed invitation has a new one, and a session
    # that opened the old link must not go on to sign up with it.
    request.session[SESSION_KEY] = [invitation.pk, invitation.token_hash]


def forget(request) -> None:
    request.session.pop(SESSION_KEY, None)


def pending(request) -> Invitation | None:
    remembered = request.session.get(SESSION_KEY)
    if not isinstance(remembered, list) or len(remembered) != 2:
        return None
    invitation_id, token_hash = remembered
    invitation = (
        Invitation.objects.select_related("organization")
        .filter(pk=invitation_id, token_hash=token_hash)
        .first()
    )
    try:
        return check(invitation)
    except Refused:
        return None


def accept_pending(request, user: User) -> Membership | None:
    """After a sign-up through an invitation: join, and forget the invitation."""
    invitation = pending(request)
    forget(request)
    if invitation is None:
        return None
    try:
        return accept(invitation, user)
    except Refused:
        return None
