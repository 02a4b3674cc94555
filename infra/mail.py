"""Mail that carries a secret: an invitation link, a password-reset link, a sign-in code.

Everything else is queued in the database by django-post-office and sent by
`send_queued_mail`, which retries. These are not: a queued message is a stored copy of
a working link. They go straight to the mail server, with EMAIL_TIMEOUT, after the
request's transaction; if the server refuses or doesn't answer, nothing is kept and the
person asks again (Resend, or the reset form)."""

import logging

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

logger = logging.getLogger(__name__)


def public_url(path: str) -> str:
    """The address of `path` for a link in an email: on PUBLIC_URL, never on the Host
    header of whatever request happened to send it (which a client writes)."""
    return settings.PUBLIC_URL + path


def connection():
    """The mail server post_office itself sends through (the console with DEBUG); when
    EMAIL_BACKEND is something else (tests: Django's locmem outbox), that one."""
    backend = settings.EMAIL_BACKEND
    if backend == "post_office.EmailBackend":
        backend = settings.POST_OFFICE["BACKENDS"]["default"]
    return get_connection(backend, fail_silently=False)


def send_secret(subject: str, body: str, to: str) -> bool:
    return deliver(EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [to]))


def undeliverable(address: str) -> bool:
    """An address no mail reaches (RFC 2606's .invalid: a service account's). Sending a
    link there would only leave a copy in some bounce."""
    return address.strip().lower().endswith(".invalid")


def deliver(message) -> bool:
    """Send one message now; False (and a log line) when the mail server fails. Nothing
    goes to an undeliverable address."""
    message.to = [address for address in message.to if not undeliverable(address)]
    if not message.to:
        return False
    message.connection = connection()
    try:
        message.send()
    except Exception:
        logger.exception("Could not send mail to the mail server; nothing was kept")
        return False
    return True
