"""Scheduled emails about how keys are used: the weekly stale-key digest to each
organization's Admins and Owners (`manage.py send_stale_key_digests`), and the notice to
a key's owner that a revoked or expired secret is still being presented a day later
(`manage.py send_still_used_notices`). Each records what it sent, before sending, so
running it twice (or two schedulers at once) sends once; a send the mail server refuses
is forgotten again, for the next run to retry (as apikeys.notices.send_expiry_notices)."""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from infra import mail
from organizations.models import Membership, Organization

from . import usage_report
from .models import ApiKey, KeyUsage, Outcome, StaleKeyDigest
from .notices import admins, keys_url, send_notice, told_about

# A digest lists this many keys, the longest unused first; the console lists them all.
DIGEST_KEYS = 50
# How long after it was revoked or expired a secret still presented is worth a notice:
# a tool retried a few times at the moment of a roll is not.
STILL_USED_AFTER = timedelta(days=1)


def stale_keys(organization_id: int, now: datetime | None = None):
    """The organization's stale keys, as its Usage page lists them, with their owner."""
    return usage_report.stale_keys(ApiKey.objects.filter(organization_id=organization_id), now)


def week_of(now: datetime) -> date:
    """The Monday (UTC) of `now`'s ISO week: a digest goes once in it."""
    day = now.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def send_stale_key_digests(now: datetime | None = None) -> int:
    """To each Admin and Owner who has not turned it off, for each of their
    organizations with stale keys, one digest a week; returns how many went."""
    now = now or timezone.now()
    week = week_of(now)
    sent = 0
    organizations = Organization.objects.filter(closed_at=None).order_by("pk")
    for organization in organizations:
        stale = stale_keys(organization.pk, now)
        listed = list(stale[:DIGEST_KEYS])
        if not listed:
            continue
        total = len(listed) if len(listed) < DIGEST_KEYS else stale.count()
        recipients = admins(organization.pk).filter(stale_key_digest=True, deleted_at=None)
        for person in recipients.order_by("pk"):
            if _digest(organization, person, week, listed, total, now):
                sent += 1
    return sent


def _digest(organization, person, week: date, listed: list, total: int, now: datetime) -> bool:
    try:
        with transaction.atomic():
            # Claimed first: a second run this week (or one at the same time) skips it.
            claim = StaleKeyDigest.objects.create(
                organization=organization, user=person, week=week, sent_at=now
            )
    except IntegrityError:
        return False
    context = {
        "user": person,
        "organization": organization,
        "keys": listed,
        "total": total,
        "more": total > len(listed),
        "days": usage_report.STALE_AFTER.days,
        "url": keys_url(organization),
        "profile_url": mail.public_url(reverse("account_profile")),
    }
    if send_notice(person, "apikeys/email/stale_keys.txt", context):
        return True
    claim.delete()  # the mail server refused it: the next run tries again
    return False


def send_still_used_notices(now: datetime | None = None) -> int:
    """Tell the owner of each key revoked or expired more than STILL_USED_AFTER ago whose
    secret was refused on a later day (apikeys.usage counts those against it), once per
    key; returns how many keys were told about."""
    now = now or timezone.now()
    ended = ApiKey.objects.filter(still_used_notice_sent_at=None).filter(
        Q(revoked_at__lte=now - STILL_USED_AFTER)
        | Q(revoked_at=None, expires_at__lte=now - STILL_USED_AFTER)
    )
    refusals = defaultdict(list)  # key id -> [(day, count)], oldest first
    rows = KeyUsage.objects.filter(key__in=ended, outcome=Outcome.REFUSED).order_by("date")
    for key_id, day, number in rows.values_list("key_id", "date", "count"):
        refusals[key_id].append((day, number))
    keys = ApiKey.objects.filter(pk__in=refusals).select_related(
        "user__service_account", "organization"
    )
    sent = 0
    for key in keys.order_by("pk"):
        ended_at = key.revoked_at or key.expires_at
        later = [(day, n) for day, n in refusals[key.pk] if day > ended_at.astimezone(UTC).date()]
        if later and _still_used(key, ended_at, later, now):
            sent += 1
    return sent


def _still_used(key: ApiKey, ended_at: datetime, days: list, now: datetime) -> bool:
    told, extra = told_about(key)
    people = [person for person in told if _still_with_us(person, key)]
    if not people:
        return False  # its owner left or was deactivated: nobody here to act on it
    claimed = ApiKey.objects.filter(pk=key.pk, still_used_notice_sent_at=None).update(
        still_used_notice_sent_at=now
    )
    if not claimed:
        return False
    context = {
        "key": key,
        "organization": key.organization,
        "ended_at": ended_at,
        "expired": key.revoked_at is None,
        "days": [{"date": day, "count": number} for day, number in days],
        "total": sum(number for _, number in days),
        **extra,
    }
    delivered = all(
        send_notice(person, "apikeys/email/still_used.txt", {**context, "user": person})
        for person in people
    )
    if not delivered:  # try again on the next run
        ApiKey.objects.filter(pk=key.pk).update(still_used_notice_sent_at=None)
        return False
    return True


def _still_with_us(person, key: ApiKey) -> bool:
    """An active person still in the key's organization (a removed or deactivated owner
    can't update the tool that uses it, and is mailed nothing about the organization)."""
    return (
        person.is_active
        and person.deleted_at is None
        and Membership.objects.filter(user=person, organization_id=key.organization_id).exists()
    )
