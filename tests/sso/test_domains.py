"""Verified domains: a code mailed to the domain's contact address (the CA/Browser
Forum's constructed addresses), typed back by the Owner; kept hashed, short-lived, and
dead after a few wrong tries."""

import re
from datetime import timedelta

import pytest
from django.core import mail

from organizations.models import AuditEvent
from sso import domains
from sso.models import Domain

from ..factories import OrganizationFactory

SETTINGS = "/o/acme/settings/"


def add(client, name="acme.test", mailbox="admin"):
    return client.post(SETTINGS + "sso/domains/", {"name": name, "mailbox": mailbox})


def mailed_code() -> str:
    return re.search(r"[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}", mail.outbox[-1].body).group(0)


def verify(client, domain, code):
    return client.post(SETTINGS + f"sso/domains/{domain.pk}/verify/", {"code": code})


def test_an_owner_verifies_a_domain_with_the_code_mailed_to_it(owner, client_for):
    client = client_for(owner)
    assert add(client, " ACME.test. ").status_code == 302
    [message] = mail.outbox
    assert message.to == ["admin@acme.test"]
    assert "Give it to the Owner who asked only if Acme is yours." in message.body
    code = mailed_code()
    domain = Domain.objects.get()
    assert (domain.name, domain.verified_at) == ("acme.test", None)
    assert code not in domain.code_digest and len(domain.code_digest) == 64
    assert verify(client, domain, code.lower()).status_code == 302
    domain.refresh_from_db()
    assert domain.verified_at is not None
    assert AuditEvent.objects.filter(details__verified="acme.test").exists()
    assert "Verified" in client.get(SETTINGS).text


def test_a_wrong_code_is_refused_and_five_end_the_code(owner, client_for):
    client = client_for(owner)
    add(client)
    code, domain = mailed_code(), Domain.objects.get()
    for _ in range(domains.MAX_FAILED_ATTEMPTS):
        response = verify(client, domain, "0000-0000-0000")
        assert response.status_code == 400
        assert "That code is not right." in response.text
    response = verify(client, domain, code)
    assert response.status_code == 400
    assert "That code has expired. Send a new one." in response.text
    assert Domain.objects.get().verified_at is None


def test_a_new_code_replaces_the_old_one(owner, client_for):
    client = client_for(owner)
    add(client)
    old, domain = mailed_code(), Domain.objects.get()
    client.post(SETTINGS + f"sso/domains/{domain.pk}/resend/", {"mailbox": "hostmaster"})
    assert mail.outbox[-1].to == ["hostmaster@acme.test"]
    assert verify(client, domain, old).status_code == 400
    assert verify(client, domain, mailed_code()).status_code == 302


def test_a_code_expires(owner, client_for):
    client = client_for(owner)
    add(client)
    code, domain = mailed_code(), Domain.objects.get()
    Domain.objects.filter(pk=domain.pk).update(
        code_sent_at=domain.code_sent_at - domains.CODE_LIFETIME - timedelta(seconds=1)
    )
    assert "That code has expired." in verify(client, domain, code).text


@pytest.mark.parametrize(
    ("name", "mailbox", "says"),
    [
        ("", "admin", "Enter a domain name such as example.com."),
        ("not a domain", "admin", "Enter a domain name such as example.com."),
        ("localhost", "admin", "Enter a domain name such as example.com."),
        ("acme.test", "ceo", "Select a valid choice."),
    ],
)
def test_bad_domains_are_refused_with_a_message(owner, client_for, name, mailbox, says):
    response = add(client_for(owner), name, mailbox)
    assert response.status_code == 400
    assert says in response.text
    assert not Domain.objects.exists()
    assert not mail.outbox


def test_a_domain_another_organization_verified_is_refused(owner, client_for):
    Domain.objects.create(
        organization=OrganizationFactory(), name="acme.test", verified_at="2026-01-01T00:00Z"
    )
    response = add(client_for(owner))
    assert response.status_code == 400
    assert "already verified by an organization" in response.text
    assert not mail.outbox


def test_codes_are_mailed_a_few_an_hour_per_organization(owner, client_for):
    client = client_for(owner)
    assert add(client, "acme.test").status_code == 302
    domain = Domain.objects.get()
    resend = SETTINGS + f"sso/domains/{domain.pk}/resend/"
    for _ in range(9):
        assert client.post(resend, {"mailbox": "admin"}).status_code == 302
    assert len(mail.outbox) == 10
    refused = client.post(resend, {"mailbox": "hostmaster"})
    assert refused.status_code == 429
    assert "Too many codes" in refused.text
    assert add(client, "acme.example").status_code == 429
    assert len(mail.outbox) == 10  # nothing more mailed
    assert not Domain.objects.filter(name="acme.example").exists()
