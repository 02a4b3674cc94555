"""Emails to a key's owner (for a service account's key, to whoever made it): when an
Admin revokes it, when it was revoked because they were removed, and a week before it
expires. Sent after the transaction commits, so a change that rolls back sends nothing.
Never the key itself: its name and hint only."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts import time_zones
from infra import mail
from organizations.models import Organization, Role, User

from .models import ApiKey

EXPIRY_NOTICE_AHEAD = timedelta(days=7)
logger = logging.getLogger(__name__)


def send_notice(user, template: str, context: dict) -> bool:
    """In the recipient's language and time zone, not those of whoever triggered it.
    A mail server that is down loses the notice, never the change that caused it: the
    change has committed already, so this logs and moves on."""
    if mail.undeliverable(user.email):  # a service account: nobody reads its mail
        return False
    with (
        translation.override(user.language or settings.LANGUAGE_CODE),
        timezone.override(time_zones.valid(user.time_zone) or settings.TIME_ZONE),
    ):
        subject, _, body = render_to_string(template, context).strip().partition("\n")
    try:
        send_mail(subject.strip(), body.strip() + "\n", settings.DEFAULT_FROM_EMAIL, [user.email])
    except Exception:
        logger.exception("Could not send the %s notice to user %s", template, user.pk)
        return False
    return True


def keys_url(organization) -> str:
    return mail.public_url(reverse("apikeys:list", kwargs={"org": organization.slug}))


def admins(organization_id: int):
    """The people (never a service account) who run the organization's keys."""
    return User.objects.filter(
        is_active=True,
        service_account__isnull=True,
        memberships__organization_id=organization_id,
        memberships__role__in=[Role.OWNER, Role.ADMIN],
    )


def told_about(key: ApiKey) -> tuple[list, dict]:
    """Who hears about a key, and what their emails add: its owner; for a service
    account's key (nobody reads its mail), whoever made it while they are still an
    active member, else the organization's Admins and Owners, with its page's address."""
    if not key.user.is_service_account:
        return [key.user], {"url": keys_url(key.organization)}
    page = reverse(
        "service_accounts:detail",
        kwargs={"org": key.organization.slug, "account_id": key.user_id},
    )
    context = {"account": key.user, "url": mail.public_url(page)}
    maker = User.objects.filter(
        pk=key.created_by_id,
        is_active=True,
        service_account__isnull=True,
        memberships__organization_id=key.organization_id,
    )
    return list(maker) or list(admins(key.organization_id)), context


def keys_revoked(keys: list[ApiKey], actor) -> None:
    """An Admin, Owner or operator revoked someone else's keys: one email per person
    however many keys, listing them by organization (for a service account's key, its
    maker hears of it, unless they did it). The keys come with their user and
    organization loaded."""

    def send():
        letters = {}  # per recipient: their keys, grouped by the page they live on
        for key in keys:
            people, extra = told_about(key)
            for person in people:
                if actor is not None and actor.pk == person.pk:
                    continue
                groups = letters.setdefault(person.pk, (person, {}))[1]
                group = groups.setdefault(
                    extra["url"], {"organization": key.organization, "keys": [], **extra}
                )
                group["keys"].append(key)
        for person, groups in letters.values():
            context = {"user": person, "actor": actor, "groups": list(groups.values())}
            if sum(len(group["keys"]) for group in groups.values()) == 1:
                [group] = groups.values()
                context |= {**group, "key": group["keys"][0]}
                send_notice(person, "apikeys/email/revoked.txt", context)
            else:
                send_notice(person, "apikeys/email/revoked_many.txt", context)

    keys = [key for key in keys if actor is None or actor.pk != key.user_id]
    if keys:
        transaction.on_commit(send)


def key_leaked(key: ApiKey, where: str) -> None:
    """A leak report revoked a key: its owner and the organization's Admins and Owners
    learn where it was found, each in their own language, after the commit."""

    def send():
        recipients = {user.pk: user for user in admins(key.organization_id)}
        people, extra = told_about(key)
        recipients.update((person.pk, person) for person in people if person.is_active)
        context = {
            "key": key,
            "owner": key.user,
            "organization": key.organization,
            "where": where,
            "url": keys_url(key.organization),
            **extra,
        }
        for recipient in recipients.values():
            send_notice(recipient, "apikeys/email/leaked.txt", {**context, "user": recipient})

    transaction.on_commit(send)


def keys_revoked_on_removal(
    user_id: int, organization_id: int, key_labels: list[str], organization=None
) -> None:
    def send():
        # Read after the commit: a person deleted by an operator (accounts.services) is
        # removed from each organization first, and is mailed nothing at the address
        # they no longer have with us. The organization, where the caller had it.
        recipient = User.objects.filter(pk=user_id, deleted_at=None).first()
        if recipient is None:
            return
        where = organization or Organization.objects.get(pk=organization_id)
        context = {"user": recipient, "organization": where, "keys": key_labels}
        send_notice(recipient, "apikeys/email/removed.txt", context)

    transaction.on_commit(send)


def send_expiry_notices(now=None) -> int:
    """Tell owners of keys that expire within a week, once per key; returns how many."""
    now = now or timezone.now()
    sent = 0
    due = ApiKey.objects.active().filter(
        expires_at__gt=now,
        expires_at__lte=now + EXPIRY_NOTICE_AHEAD,
        expiry_notice_sent_at__isnull=True,
        user__is_active=True,
    )
    for key_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            # Claim the notice first: two schedulers running at once send it once.
            claimed = ApiKey.objects.filter(pk=key_id, expiry_notice_sent_at__isnull=True).update(
                expiry_notice_sent_at=now
            )
            if not claimed:
                continue
            key = ApiKey.objects.select_related("user", "organization").get(pk=key_id)
            people, extra = told_about(key)
            delivered = all(
                send_notice(
                    person,
                    "apikeys/email/expiring.txt",
                    {"key": key, "user": person, "organization": key.organization, **extra},
                )
                for person in people
            )
            if not delivered:  # try again on the next run
                ApiKey.objects.filter(pk=key_id).update(expiry_notice_sent_at=None)
                continue
            sent += 1
    return sent
