"""Rolling with an overlap: the old secret keeps working for the chosen time (never past
the key's own expiry or the organization's maximum lifetime), the list shows it beside
the new one with who still uses it, and it dies on time."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from apikeys import services
from apikeys.models import ApiKey, RevokeReason
from organizations.models import AuditAction, AuditEvent

KEY = re.compile(r"gns_[0-9A-Za-z]{38}")


def roll(client, key, overlap=None):
    data = {} if overlap is None else {"overlap": overlap}
    return client.post(f"/o/acme/api-keys/{key.pk}/roll/", data)


def test_the_dialog_offers_the_overlaps_and_defaults_to_at_once(member, client_for, make_key):
    key = make_key(member)
    page = client_for(member).get(f"/o/acme/api-keys/{key.pk}/roll/").text
    for label in ("No: it stops at once", "For 1 hour", "For 24 hours", "For 7 days"):
        assert label in page
    assert re.search(r'value="now"[^>]*checked', page)


def test_without_a_choice_the_old_secret_dies_at_once(member, client_for, make_key):
    old = make_key(member)
    roll(client_for(member), old)
    old.refresh_from_db()
    assert old.revoke_reason == RevokeReason.ROLLED
    assert services.authenticate(old.plaintext) is None


@pytest.mark.parametrize("choice, hours", [("1h", 1), ("24h", 24), ("7d", 168)])
def test_during_the_overlap_both_secrets_work(member, client_for, make_key, choice, hours):
    old = make_key(member, "CI fleet")
    client = client_for(member)
    response = roll(client, old, choice)
    new_plaintext = KEY.search(response.text).group(0)
    assert services.authenticate(old.plaintext).key_id == old.pk
    assert services.authenticate(new_plaintext) is not None
    old.refresh_from_db()
    assert old.revoked_at is None and old.replaced_by is not None
    ends = timezone.now() + timedelta(hours=hours)
    assert abs(old.expires_at - ends) < timedelta(seconds=10)
    event = AuditEvent.objects.get(action=AuditAction.KEY_ROLLED)
    assert event.details["old_key_works_until"] == old.expires_at.isoformat()


def test_the_old_secret_dies_when_the_overlap_ends(member, make_key):
    old = make_key(member)
    services.roll_key(old, member.user, timedelta(hours=1))
    ApiKey.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert services.authenticate(old.plaintext) is None


def test_the_overlap_never_outlives_the_keys_own_expiry(member, make_key):
    soon = timezone.now() + timedelta(minutes=20)
    old = make_key(member, expires_at=soon)
    services.roll_key(old, member.user, timedelta(days=7))
    old.refresh_from_db()
    assert old.expires_at == soon


def test_the_overlap_never_outlives_the_organizations_maximum_lifetime(member, make_key):
    organization = member.organization
    organization.max_key_lifetime_days = 30
    organization.save()
    old = make_key(member, expires_at=timezone.now() + timedelta(days=30))
    ApiKey.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=29, hours=23)
    )
    old.refresh_from_db()
    services.roll_key(old, member.user, timedelta(days=7))
    old.refresh_from_db()
    assert old.expires_at <= old.created_at + timedelta(days=30)
    assert old.expires_at - timezone.now() < timedelta(hours=1)


def test_the_list_shows_the_old_secret_with_who_still_uses_it(member, client_for, make_key):
    old = make_key(member, "Deploy")
    client = client_for(member)
    new_plaintext = KEY.search(roll(client, old, "24h").text).group(0)
    ApiKey.objects.filter(pk=old.pk).update(
        last_used_at=timezone.now(), last_used_ip="203.0.113.7", last_used_surface="api",
        last_used_client="github-actions/2.3",
    )  # fmt: skip
    new = ApiKey.objects.get(replaced_by__isnull=True, revoked_at__isnull=True)
    page = client.get("/o/acme/api-keys/").text
    assert f"Old secret, replaced by {new.hint}" in page
    assert "from 203.0.113.7" in page and "github-actions/2.3" in page
    assert "in 23\xa0hours" in page or "in 1\xa0day" in page
    assert new_plaintext not in page
    # The old half is not rolled again; once its overlap ends it leaves the list.
    assert roll(client, old, "1h").status_code == 302
    ApiKey.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert "Old secret, replaced by" not in client.get("/o/acme/api-keys/").text


def test_an_unknown_overlap_is_a_clear_400(member, client_for, make_key):
    old = make_key(member)
    response = roll(client_for(member), old, "forever")
    assert response.status_code == 400
    old.refresh_from_db()
    assert old.revoked_at is None and old.replaced_by is None
