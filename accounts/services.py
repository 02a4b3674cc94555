"""Changes to a person's account that are ours, not allauth's: their own (name,
language), and an operator's (Django admin: address, password, rights, two-factor reset,
suspension, deletion), each of those in the operators' log with the operator as actor."""

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_removed
from allauth.usersessions.models import UserSession
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from organizations import audit
from organizations.models import AuditAction, Membership, User
from organizations.services import MembershipError, remove_member


def vouch_for_email(user: User) -> None:
    """Make the user's current email their one verified, primary address.

    Sign-in needs a verified EmailAddress row (ACCOUNT_EMAIL_VERIFICATION is mandatory,
    which passkey sign-up requires). People made by an operator (createsuperuser, Django
    admin, seed_demo) have an address the operator vouches for; invitees prove theirs by
    the link. Not a post_save signal: allauth's own sign-up adds the row itself and
    refuses a user that already has one."""
    with transaction.atomic():
        EmailAddress.objects.filter(user=user).exclude(email=user.email).delete()
        EmailAddress.objects.update_or_create(
            user=user, email=user.email, defaults={"verified": True, "primary": True}
        )


def update_profile(
    user: User, *, name: str, language: str, time_zone: str, stale_key_digest: bool | None = None
) -> User:
    """`language` "": as each browser asks (the one kept for emails stays until the next
    sign-in tells). `stale_key_digest` None: unchanged (the form didn't offer it)."""
    user.name = name
    user.language = language or user.language
    user.language_chosen = bool(language)
    user.time_zone = time_zone
    fields = ["name", "language", "language_chosen", "time_zone"]
    if stale_key_digest is not None:
        user.stale_key_digest = stale_key_digest
        fields.append("stale_key_digest")
    user.save(update_fields=fields)
    return user


def choose_language(user: User, language: str) -> None:
    """The language switcher: the person's choice, for every browser and their emails."""
    User.objects.filter(pk=user.pk).update(language=language, language_chosen=True)
    user.language, user.language_chosen = language, True


def remember_time_zone(user: User, time_zone: str) -> None:
    """The browser's zone becomes the person's until they choose one (written once, when
    the profile has none)."""
    if time_zone and not user.time_zone:
        User.objects.filter(pk=user.pk, time_zone="").update(time_zone=time_zone)
        user.time_zone = time_zone


def remember_language(user: User, language: str) -> None:
    """The language a browser asked for, kept for the emails of someone who chose none
    (written only when it changes)."""
    if language and not user.language_chosen and user.language != language:
        User.objects.filter(pk=user.pk).update(language=language)
        user.language = language


class AccountError(Exception):
    """A change an operator asked for that breaks a rule; the message is for them."""


# A deleted person's row stays (their keys, grants and audit events point at it), with
# nothing left that says who they were.
DELETED_EMAIL_DOMAIN = "deleted.invalid"


def _refuse_service_account(user: User) -> None:
    if user.is_service_account:
        raise AccountError(
            _("%(name)s is a service account: disable or delete it on its own page.")
            % {"name": user.name}
        )


def _log(user: User, action: str, **details) -> None:
    """An entry of the operators' log about a person (the operator is the actor)."""
    audit.record(None, action, target_user_id=user.pk, target=user.email, details=details)


@transaction.atomic
def open_account(user: User) -> User:
    """An account an operator made (Django admin's add form set the password): saved with
    its address lowercased, as sign-in finds it, and vouched for."""
    user.email = user.email.strip().lower()
    user.save()
    vouch_for_email(user)
    _log(user, AuditAction.ACCOUNT_CREATED)
    return user


def check_change(current: User | None, *, email: str | None = None, rights: bool = False):
    """Raise AccountError if an operator may not give this account (as the database has
    it; None: a new one) an address (`email`, lowercased) or admin rights: a service
    account's address is what says it is one and it never signs in; a deleted account
    gets neither; an address is one account's."""
    if current is not None and ((email is not None and email != current.email) or rights):
        _refuse_service_account(current)
        if current.deleted_at is not None:
            raise AccountError(_("A deleted account can't be changed."))
    if email is not None:
        others = User.objects.filter(email__iexact=email)
        if current is not None:
            others = others.exclude(pk=current.pk)
        if others.exists():
            raise AccountError(_("Another account uses %(email)s.") % {"email": email})


@transaction.atomic
def change_email(user: User, email: str) -> bool:
    """An operator changes a person's address: it is theirs, verified, at once (the
    operator vouches for it). Returns whether it changed."""
    email = email.strip().lower()
    current = User.objects.select_for_update().get(pk=user.pk)
    previous = current.email
    if email == previous:
        return False
    check_change(current, email=email)
    user.email = email
    user.save(update_fields=["email"])
    vouch_for_email(user)
    _log(user, AuditAction.EMAIL_CHANGED, **{"from": previous, "to": email})
    return True


@transaction.atomic
def set_password(user: User, password: str | None) -> None:
    """An operator sets a person's password, or (None) leaves them none: they sign in by
    a passkey or reset it by email. Their sessions end with the old password."""
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.save(update_fields=["password"])
    _log(user, AuditAction.PASSWORD_SET, usable=password is not None)


@transaction.atomic
def set_operator_rights(user: User, *, is_staff: bool, is_superuser: bool) -> bool:
    """Grant or remove Django admin (staff) and all of its permissions (superuser).
    Returns whether anything changed."""
    current = User.objects.select_for_update().get(pk=user.pk)
    before = {"staff": current.is_staff, "superuser": current.is_superuser}
    after = {"staff": is_staff, "superuser": is_superuser}
    if before == after:
        return False
    gained = any(after[right] and not before[right] for right in after)
    check_change(current, rights=gained)
    user.is_staff, user.is_superuser = is_staff, is_superuser
    user.save(update_fields=["is_staff", "is_superuser"])
    action = AuditAction.STAFF_GRANTED if gained else AuditAction.STAFF_REMOVED
    _log(user, action, **{"from": before, "to": after})
    return True


def end_sessions(user: User) -> int:
    """Sign the person out everywhere (allauth's record of each session). Returns how
    many ended."""
    sessions = list(UserSession.objects.filter(user=user))
    for session in sessions:
        session.end()
    return len(sessions)


@transaction.atomic
def reset_two_factor(user: User, reason: str) -> bool:
    """An operator removes every second factor of a person (their authenticator app,
    passkeys and recovery codes), as allauth's own deactivation does: the rows go and
    allauth's authenticator_removed signal is sent for each, so each organization's log
    says so, with the operator as actor. The person signs in with their password alone
    and turns two-factor on again. Returns whether there was anything to remove."""
    authenticators = list(Authenticator.objects.filter(user=user))
    if not authenticators:
        return False
    Authenticator.objects.filter(pk__in=[each.pk for each in authenticators]).delete()
    for authenticator in authenticators:
        authenticator_removed.send(
            sender=Authenticator, request=None, user=user, authenticator=authenticator
        )
    methods = sorted({each.type for each in authenticators})
    _log(user, AuditAction.TWO_FACTOR_RESET, reason=reason, methods=methods)
    return True


@transaction.atomic
def suspend(user: User, reason: str) -> bool:
    """Deactivate a person: every key and authorized app of theirs is revoked (apikeys'
    receiver), every session ends, and they can't sign in. Returns whether this call
    did it."""
    _refuse_service_account(user)
    current = User.objects.select_for_update().get(pk=user.pk)
    if not current.is_active:
        return False
    current.is_active = False
    current.save(update_fields=["is_active"])  # the receiver revokes
    user.is_active = False
    end_sessions(user)
    _log(user, AuditAction.ACCOUNT_SUSPENDED, reason=reason)
    return True


@transaction.atomic
def reactivate(user: User, reason: str) -> bool:
    """Let a suspended person sign in again. Nothing revoked comes back."""
    _refuse_service_account(user)
    if user.deleted_at is not None:
        raise AccountError(_("A deleted account can't be reactivated."))
    reactivated = User.objects.filter(pk=user.pk, is_active=False).update(is_active=True)
    if reactivated:
        user.is_active = True
        _log(user, AuditAction.ACCOUNT_REACTIVATED, reason=reason)
    return bool(reactivated)


@transaction.atomic
def delete_person(user: User, reason: str) -> bool:
    """Delete a person as the console would remove them everywhere, then anonymise the
    account. Each membership goes through organizations.services.remove_member (the
    last-Owner rule holds: make someone else Owner, or close the organization, first),
    which revokes their keys and grants there, audited; what is left is revoked as for a
    deactivated user. The row stays, with no name, address, password, second factor,
    session or rights, so the keys, grants and audit events that point at it keep their
    history; past audit entries keep the address they recorded. Returns whether this
    call did it (a second tab finds it deleted)."""
    _refuse_service_account(user)
    current = User.objects.select_for_update().get(pk=user.pk)
    if current.deleted_at is not None:
        return False
    for membership in Membership.objects.filter(user=current).select_related("organization"):
        try:
            remove_member(membership)
        except MembershipError as error:
            raise AccountError(f"{membership.organization.name}: {error}") from None
    _log(current, AuditAction.ACCOUNT_DELETED, reason=reason)  # by the address it had
    current.email = f"deleted-{current.pk}@{DELETED_EMAIL_DOMAIN}"
    current.name = ""
    current.language = ""
    current.is_active = current.is_staff = current.is_superuser = False
    current.deleted_at = timezone.now()
    current.set_unusable_password()
    current.save()  # inactive: the receiver revokes anything left
    current.groups.clear()
    current.user_permissions.clear()
    end_sessions(current)
    EmailAddress.objects.filter(user=current).delete()
    Authenticator.objects.filter(user=current).delete()
    user.refresh_from_db()
    return True
