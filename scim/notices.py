"""The Owners hear when the identity provider removes someone: after the commit, each in
their own language and time zone, like the key notices (apikeys.notices)."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts import time_zones
from infra import mail
from organizations.models import Membership, Role, User

from .models import ScimToken

logger = logging.getLogger(__name__)


def _owners(organization_id: int):
    return User.objects.filter(
        is_active=True,
        service_account__isnull=True,
        memberships__organization_id=organization_id,
        memberships__role=Role.OWNER,
    )


def member_deprovisioned(membership: Membership, token: ScimToken) -> None:
    organization = token.organization
    context = {
        "organization": organization,
        "person": membership.user.email,
        "token_name": token.name,
        "url": mail.public_url(reverse("organizations:audit", kwargs={"org": organization.slug})),
    }

    def send():
        for owner in _owners(organization.pk):
            if mail.undeliverable(owner.email):
                continue
            with (
                translation.override(owner.language or settings.LANGUAGE_CODE),
                timezone.override(time_zones.valid(owner.time_zone) or settings.TIME_ZONE),
            ):
                text = render_to_string("scim/email/deprovisioned.txt", {**context, "user": owner})
            subject, _, body = text.strip().partition("\n")
            try:
                send_mail(
                    subject.strip(), body.strip() + "\n", settings.DEFAULT_FROM_EMAIL, [owner.email]
                )
            except Exception:
                # The removal has committed: a mail server that is down loses the notice,
                # never the change.
                logger.exception("Could not send the SCIM removal notice to user %s", owner.pk)

    transaction.on_commit(send)
