"""Verified email domains: who may join an organization through its SSO.

How a domain is verified (no DNS here: the console may run where no resolver answers):
a code is mailed to one of the addresses that the CA/Browser Forum's Baseline
Requirements accept as the domain's contact (3.2.2.4.4, "Constructed Email to Domain
Contact": admin, administrator, webmaster, hostmaster, postmaster @ the domain), and the
Owner types it into Settings. Only someone who reads that mailbox can finish. The code is
kept as its SHA-256, expires, and dies after a few wrong tries."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from infra import limits, mail
from organizations import audit
from organizations.models import AuditAction, Organization

from .models import Domain

MAILBOXES = ("admin", "administrator", "webmaster", "hostmaster", "postmaster")
CODE_LIFETIME = timedelta(hours=24)
MAX_FAILED_ATTEMPTS = 5


class DomainError(Exception):
    """A refusal, worded for the Owner."""


class TooManyCodes(DomainError):
    """Over the rate of codes an organization may have mailed (RATE_LIMITS["domain_codes"])."""


def normalize(name: str) -> str:
    name = name.strip().lower().rstrip(".")
    if name.startswith("@"):
        name = name[1:]
    try:
        ascii_name = name.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_name = ""
    labels = ascii_name.split(".")
    if (
        len(labels) < 2
        or len(ascii_name) > 253
        or not all(0 < len(label) <= 63 for label in labels)
        or not all(c.isalnum() or c == "-" for label in labels for c in label)
        or any(label.startswith("-") or label.endswith("-") for label in labels)
    ):
        raise DomainError(_("Enter a domain name such as example.com."))
    return ascii_name


def _digest(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def of_email(email: str) -> str:
    return email.rpartition("@")[2].strip().lower()


def verified_for(organization_id: int, email: str) -> bool:
    return Domain.objects.filter(
        organization_id=organization_id, name=of_email(email), verified_at__isnull=False
    ).exists()


def add(organization: Organization, name: str, mailbox: str) -> Domain:
    """Claim `name` for the organization and mail a code to `mailbox`@`name`."""
    name = normalize(name)
    if mailbox not in MAILBOXES:
        raise DomainError(_("Choose one of the offered addresses."))
    _count_code(organization.pk)
    if Domain.objects.filter(name=name, verified_at__isnull=False).exists():
        raise DomainError(
            _("%(domain)s is already verified by an organization.") % {"domain": name}
        )
    try:
        with transaction.atomic():
            domain = Domain.objects.create(organization=organization, name=name)
            audit.record(
                organization.pk,
                AuditAction.POLICY_CHANGED,
                target=name,
                details={"policy": "sso_domain", "added": name},
            )
    except IntegrityError:
        raise DomainError(_("%(domain)s is already on the list.") % {"domain": name}) from None
    _send_code(domain, mailbox)
    return domain


def _count_code(organization_id: int) -> None:
    # Each code is an email to a mailbox of someone else's choosing: a few an hour per
    # organization, so the console can't be made to flood a domain's postmaster.
    if not limits.hit("domain_codes", str(organization_id)):
        raise TooManyCodes(
            _("Too many codes were sent for this organization's domains. Try again later.")
        )


def send_code(domain: Domain, mailbox: str) -> bool:
    """A new code (the old one stops working), mailed to `mailbox`@ the domain."""
    if mailbox not in MAILBOXES:
        raise DomainError(_("Choose one of the offered addresses."))
    _count_code(domain.organization_id)
    return _send_code(domain, mailbox)


def _send_code(domain: Domain, mailbox: str) -> bool:
    code = "-".join(secrets.token_hex(2).upper() for _ in range(3))  # 48 bits, easy to type
    domain.code_digest = _digest(code)
    domain.code_sent_at = timezone.now()
    domain.code_sent_to = f"{mailbox}@{domain.name}"
    domain.failed_attempts = 0
    domain.save(update_fields=["code_digest", "code_sent_at", "code_sent_to", "failed_attempts"])
    context = {"domain": domain, "code": code, "hours": int(CODE_LIFETIME.total_seconds() // 3600)}
    with translation.override(translation.get_language() or settings.LANGUAGE_CODE):
        subject, _nl, body = (
            render_to_string("sso/email/domain_code.txt", context).strip().partition("\n")
        )
    return mail.send_secret(subject.strip(), body.strip() + "\n", domain.code_sent_to)


def verify(domain: Domain, code: str) -> Domain:
    with transaction.atomic():  # a wrong code's count is kept, then refused
        domain, error = _check_code(Domain.objects.select_for_update().get(pk=domain.pk), code)
    if error:
        raise DomainError(error)
    return domain


def _check_code(domain: Domain, code: str) -> tuple[Domain, str]:
    if domain.verified_at is not None:
        return domain, ""
    if (
        not domain.code_digest
        or domain.failed_attempts >= MAX_FAILED_ATTEMPTS
        or timezone.now() - domain.code_sent_at > CODE_LIFETIME
    ):
        return domain, _("That code has expired. Send a new one.")
    if not hmac.compare_digest(domain.code_digest, _digest(code)):
        domain.failed_attempts += 1
        domain.save(update_fields=["failed_attempts"])
        return domain, _("That code is not right.")
    if Domain.objects.filter(name=domain.name, verified_at__isnull=False).exists():
        return domain, _("%(domain)s is already verified by an organization.") % {
            "domain": domain.name
        }
    domain.verified_at = timezone.now()
    domain.code_digest = ""
    domain.save(update_fields=["verified_at", "code_digest"])
    audit.record(
        domain.organization_id,
        AuditAction.POLICY_CHANGED,
        target=domain.name,
        details={"policy": "sso_domain", "verified": domain.name, "by": domain.code_sent_to},
    )
    return domain, ""


@transaction.atomic
def remove(domain: Domain) -> None:
    audit.record(
        domain.organization_id,
        AuditAction.POLICY_CHANGED,
        target=domain.name,
        details={"policy": "sso_domain", "removed": domain.name},
    )
    domain.delete()
