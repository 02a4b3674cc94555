"""What an identity provider changes through SCIM, each call one transaction, each change
in the audit log under "SCIM: <token name>".

A SCIM User is a person's place in one organization: `active` is their membership. A
resource made inactive, or deleted, removes the membership through the organization's
own service (organizations.services.remove_member): apikeys' receiver revokes the
person's API keys and OAuth grants in that organization inside the same transaction,
the log says who removed them, and the Owners are told after the commit. Made active
again, the person is a Member again, with none of their old keys.

Sessions are the person's, not the organization's (a person signs in once for every
organization they belong to), so none is ended: every console page and every key checks
the membership on each request, and the next one after the removal is refused."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from scim2_models import (
    Context,
    InvalidValueException,
    MutabilityException,
    UniquenessException,
)

from organizations import audit, services
from organizations.models import AuditAction, Membership, Role, User

from . import notices
from .models import ScimToken, ScimUser
from .protocol import UserResource

USER_NAME_TAKEN = "Another user of this organization has this userName."
PERSON_TAKEN = "This person is already provisioned in this organization, as another user."
JUST_MADE = "An account with this address was made meanwhile; send the request again."


def person_email(resource: UserResource) -> str:
    """The person's address: the primary email, else the first, else a userName that is
    one."""
    emails = sorted(resource.emails or [], key=lambda email: not email.primary)
    candidates = [str(email.value) for email in emails if email.value] + [resource.user_name]
    for candidate in candidates:
        try:
            validate_email(candidate)
        except DjangoValidationError:
            continue
        return candidate.strip().lower()
    raise InvalidValueException(detail="userName or emails must hold the person's email address.")


def stored_attributes(resource: UserResource) -> dict:
    """What the provider wrote, as it reads it back (id and meta are ours)."""
    payload = resource.model_dump(scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
    payload.pop("id", None)
    payload.pop("meta", None)
    return payload


def _display_name(resource: UserResource) -> str:
    if resource.display_name:
        return resource.display_name
    name = resource.name
    if name is not None:
        return name.formatted or " ".join(p for p in (name.given_name, name.family_name) if p)
    return ""


def _saved(scim_user: ScimUser, fields: list[str]) -> None:
    for field in ("user_name", "external_id"):
        if len(getattr(scim_user, field)) > ScimUser._meta.get_field(field).max_length:
            raise InvalidValueException(detail=f"{field} is longer than we keep.")
    try:
        with transaction.atomic():
            scim_user.save(update_fields=fields) if fields else scim_user.save()
    except IntegrityError:
        raise UniquenessException(detail=USER_NAME_TAKEN) from None


def _find_or_make_person(email: str, resource: UserResource) -> User:
    """The account with this address, or a new one without a password: the person signs
    in through the organization's single sign-on, or sets a password by the reset link.
    The address is not marked verified (an identity provider can name any address)."""
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        if user.is_service_account:
            raise InvalidValueException(detail="A service account can't be provisioned.")
        return user
    user = User(email=email, name=_display_name(resource)[:150])
    user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # made meanwhile, by a concurrent request or a sign-up
        raise UniquenessException(detail=JUST_MADE) from None
    return user


def _sync_membership(scim_user: ScimUser, token: ScimToken, *, activated: bool) -> None:
    """Inactive: no membership, whatever happened before (removed, its keys and grants
    revoked with it, apikeys.signals). Active: a membership, as Member, when the resource
    was just made or made active (`activated`); not on every later write, so a member an
    Admin removed in the console stays removed until the provider deactivates and
    reactivates them."""
    membership = (
        Membership.objects.filter(user_id=scim_user.user_id, organization=token.organization)
        .select_related("organization")
        .first()
    )
    if scim_user.active and activated and membership is None:
        try:
            services.add_member(token.organization, scim_user.user.email, Role.MEMBER)
        except services.MembershipError as error:
            raise InvalidValueException(detail=str(error)) from None
    elif not scim_user.active and membership is not None:
        try:
            services.remove_member(membership)
        except services.MembershipError as error:
            # The organization's last Owner, or a service account: nothing changes.
            raise MutabilityException(detail=str(error)) from None
        notices.member_deprovisioned(membership, token)


def _record(scim_user: ScimUser, action: str, **details) -> None:
    audit.record(
        scim_user.organization_id,
        action,
        target_user_id=scim_user.user_id,
        target=scim_user.user.email,
        details=details or None,
    )


def create(token: ScimToken, resource: UserResource) -> ScimUser:
    with audit.acting_as(token.actor_label), transaction.atomic():
        email = person_email(resource)
        if ScimUser.objects.filter(
            organization=token.organization, user_name__iexact=resource.user_name
        ).exists():
            raise UniquenessException(detail=USER_NAME_TAKEN)
        user = _find_or_make_person(email, resource)
        if ScimUser.objects.filter(organization=token.organization, user=user).exists():
            raise UniquenessException(detail=PERSON_TAKEN)
        scim_user = ScimUser(
            organization=token.organization,
            user=user,
            user_name=resource.user_name,
            external_id=resource.external_id or "",
            display_name=_display_name(resource)[:254],
            active=resource.active is not False,
            attributes=stored_attributes(resource),
        )
        _saved(scim_user, [])
        was_member = Membership.objects.filter(user=user, organization=token.organization).exists()
        _sync_membership(scim_user, token, activated=True)
        if was_member and scim_user.active:
            _record(scim_user, AuditAction.SCIM_USER_UPDATED, linked=True)
        return scim_user


def replace(token: ScimToken, scim_user: ScimUser, resource: UserResource) -> ScimUser:
    """PUT, and PATCH once the library applied it: the resource as it now stands."""
    with audit.acting_as(token.actor_label), transaction.atomic():
        current = ScimUser.objects.select_for_update().select_related("user").get(pk=scim_user.pk)
        changed = {
            "user_name": resource.user_name,
            "external_id": resource.external_id or "",
            "display_name": _display_name(resource)[:254],
        }
        changed = {
            field: value for field, value in changed.items() if getattr(current, field) != value
        }
        for field, value in changed.items():
            setattr(current, field, value)
        was_active, previous = current.active, current.attributes
        active = current.active if resource.active is None else resource.active
        attributes = stored_attributes(resource)
        if changed or attributes != current.attributes or active != current.active:
            current.attributes = attributes
            current.active = active
            current.updated_at = timezone.now()
            current.version += 1
            _saved(current, [*changed, "attributes", "active", "updated_at", "version"])
        before = {key: value for key, value in previous.items() if key != "active"}
        after = {key: value for key, value in attributes.items() if key != "active"}
        if changed or before != after:  # `active`'s own events are the membership's
            # The columns that changed, else the rest of the profile ("attributes").
            _record(
                current, AuditAction.SCIM_USER_UPDATED, fields=sorted(changed) or ["attributes"]
            )
        _sync_membership(current, token, activated=active and not was_active)
        return current


def delete(token: ScimToken, scim_user: ScimUser) -> None:
    with audit.acting_as(token.actor_label), transaction.atomic():
        current = ScimUser.objects.select_for_update().select_related("user").get(pk=scim_user.pk)
        current.active = False
        _sync_membership(current, token, activated=False)
        _record(current, AuditAction.SCIM_USER_DELETED)
        current.delete()
