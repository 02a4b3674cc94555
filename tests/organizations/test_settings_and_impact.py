import pytest
from django.db import DatabaseError

from organizations import services
from organizations.models import AuditEvent, Organization

from ..factories import ApiKeyFactory


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", 302), ("admin", 403), ("member", 403), ("outsider", 404), ("anonymous", 302)],
)
def test_only_owners_set_the_key_policy(team, client_for, role, expected):
    who = None if role == "anonymous" else team[role]
    response = client_for(who).post("/o/acme/settings/", {"max_key_lifetime_days": "90"})
    assert response.status_code == expected
    policy = Organization.objects.get(slug="acme").max_key_lifetime_days
    assert policy == (90 if role == "owner" else None)


def test_the_settings_page_and_bad_values(owner, client_for):
    client = client_for(owner)
    page = client.get("/o/acme/settings/")
    assert "Maximum lifetime of new API keys" in page.text
    assert client.post("/o/acme/settings/", {"max_key_lifetime_days": "5"}).status_code == 400
    assert client.post("/o/acme/settings/", {"max_key_lifetime_days": ""}).status_code == 302
    assert Organization.objects.get(slug="acme").max_key_lifetime_days is None


def test_only_owners_see_the_settings_tab(owner, admin, client_for):
    assert 'href="/o/acme/settings/"' in client_for(owner).get("/o/acme/api-keys/").text
    assert 'href="/o/acme/settings/"' not in client_for(admin).get("/o/acme/api-keys/").text


def test_the_removal_dialog_lists_the_keys_it_revokes(admin, member, outsider, client_for):
    ApiKeyFactory(membership=member, name="mia-ci")
    ApiKeyFactory(membership=member, name="mia-laptop")
    gone = ApiKeyFactory(membership=member, name="mia-old")
    gone.revoked_at = gone.created_at
    gone.save()
    dialog = client_for(admin).get(f"/o/acme/members/{member.pk}/remove/").text
    assert "2 active API keys" in dialog
    assert "mia-ci" in dialog and "mia-laptop" in dialog
    assert "mia-old" not in dialog
    assert "Never" in dialog


def test_the_removal_dialog_says_when_there_is_nothing_to_revoke(admin, member, client_for):
    dialog = client_for(admin).get(f"/o/acme/members/{member.pk}/remove/").text
    assert "Mia Member has no active API keys here." in dialog


def test_a_policy_that_fails_to_save_leaves_no_audit_entry(owner, monkeypatch):
    def broken_save(self, *args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(Organization, "save", broken_save)
    with pytest.raises(DatabaseError):
        services.set_key_lifetime_policy(owner.organization, 30)
    assert not AuditEvent.objects.exists()
