import re
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.utils import translation

from organizations import services
from organizations.models import AuditAction, AuditEvent, Role

from ..factories import ApiKeyFactory, MembershipFactory, invitation_path

KEY = re.compile(r"gns_[0-9A-Za-z]{38}")


def actions():
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", 200), ("admin", 200), ("member", 403), ("outsider", 404), ("anonymous", 302)],
)
def test_admins_and_owners_read_the_audit_log(team, client_for, role, expected):
    who = None if role == "anonymous" else team[role]
    assert client_for(who).get("/o/acme/audit/").status_code == expected


def test_console_actions_are_recorded_with_actor_ip_and_target(
    owner, admin, member, client_for, new_user
):
    mia = client_for(member)
    created = mia.post("/o/acme/api-keys/create/", {"name": "CI", "expires": "30"})
    plaintext = KEY.search(created.text).group(0)
    key_id = created.text.split('id="key-')[1].split('"')[0]
    mia.post(f"/o/acme/api-keys/{key_id}/rename/", {"name": "CI runner"})
    rolled = mia.post(f"/o/acme/api-keys/{key_id}/roll/")
    new_id = rolled.text.split('id="key-')[1].split('"')[0]
    client_for(admin).post(f"/o/acme/api-keys/{new_id}/revoke/")
    boss = client_for(owner)
    boss.post("/o/acme/members/invite/", {"email": new_user.email, "role": Role.MEMBER})
    client_for(new_user).post(invitation_path(mail.outbox[-1]))
    added = new_user.memberships.get()
    boss.post(f"/o/acme/members/{added.pk}/role/", {"role": Role.ADMIN})
    ApiKeyFactory(membership=added, name="nina's")
    boss.post(f"/o/acme/members/{added.pk}/remove/")
    boss.post("/o/acme/settings/", {"max_key_lifetime_days": "90"})

    assert actions() == [
        AuditAction.KEY_CREATED,
        AuditAction.KEY_RENAMED,
        AuditAction.KEY_CREATED,  # the rolled key's new secret
        AuditAction.KEY_ROLLED,
        AuditAction.KEY_REVOKED,
        AuditAction.MEMBER_INVITED,
        AuditAction.INVITATION_ACCEPTED,
        AuditAction.ROLE_CHANGED,
        AuditAction.KEY_CREATED,
        AuditAction.MEMBER_REMOVED,
        AuditAction.KEY_AUTO_REVOKED,
        AuditAction.POLICY_CHANGED,
    ]
    events = list(AuditEvent.objects.order_by("id").select_related("actor", "target_user"))
    assert events[0].actor == member.user and events[0].target_user == member.user
    assert events[0].ip == "127.0.0.1"
    assert events[4].actor == admin.user
    assert events[5].actor == owner.user and events[5].target == new_user.email
    assert events[6].actor == new_user and events[6].details == {"role": "member"}
    assert events[7].details == {"from": "member", "to": "admin"}
    assert events[10].details["reason"] == "member_removed"
    assert events[10].actor == owner.user
    for event in events:
        assert plaintext not in f"{event.target} {event.details}"

    page = client_for(admin).get("/o/acme/audit/").text
    assert "API key revoked" in page and "Adam Admin" in page
    assert "Member → Admin" in page
    assert plaintext not in page


def test_deactivating_a_user_revokes_and_records(member, make_key):
    key = make_key(member)
    member.user.is_active = False
    member.user.save()
    key.refresh_from_db()
    assert key.revoke_reason == "user_deactivated"
    event = AuditEvent.objects.get(action=AuditAction.KEY_AUTO_REVOKED)
    assert event.details["reason"] == "user_deactivated"
    assert event.actor is None  # outside a request: "System"


def test_the_log_filters_by_action_and_member(owner, admin, member, client_for):
    ApiKeyFactory(membership=member, name="mia-key")
    ApiKeyFactory(membership=admin, name="adam-key")
    client = client_for(owner)
    by_action = client.get("/o/acme/audit/?action=key_created").text
    assert "mia-key" in by_action and "adam-key" in by_action
    by_member = client.get("/o/acme/audit/?member=member@acme").text
    assert "mia-key" in by_member and "adam-key" not in by_member
    assert client.get("/o/acme/audit/?action=nonsense&page=x").status_code == 200


def test_the_log_is_paginated_and_scoped_to_the_organization(owner, outsider, client_for):
    for index in range(55):
        services.set_key_lifetime_policy(owner.organization, (7, 30)[index % 2])
    services.set_key_lifetime_policy(outsider.organization, 7)
    client = client_for(owner)
    first = client.get("/o/acme/audit/").text
    assert first.count('Action">Policy changed<') == 50
    assert "page=2" in first
    second = client.get("/o/acme/audit/?page=2").text
    assert second.count('Action">Policy changed<') == 5


def test_the_log_is_read_only_in_admin_and_outlives_its_organization(client, member):
    from ..factories import UserFactory, give_second_factor
    from ..sessions import sign_in

    ops = UserFactory(is_staff=True, is_superuser=True)
    give_second_factor(ops)
    sign_in(client, ops)
    ApiKeyFactory(membership=member)
    event = AuditEvent.objects.first()
    assert client.get("/admin/organizations/auditevent/").status_code == 200
    assert client.get("/admin/organizations/auditevent/add/").status_code == 403
    assert client.post(f"/admin/organizations/auditevent/{event.pk}/delete/").status_code == 403
    organization = member.organization
    deleted = client.post(
        f"/admin/organizations/organization/{organization.pk}/delete/", {"post": "yes"}
    )
    assert deleted.status_code == 403  # closed instead, never deleted
    closed = client.post(
        f"/admin/organizations/organization/{organization.pk}/act/close/", {"reason": "Gone"}
    )
    assert closed.status_code == 302
    assert AuditEvent.objects.filter(pk=event.pk, organization=organization).exists()


def test_the_audit_log_costs_the_same_queries_at_any_length(owner, client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(owner)
    client.get("/o/acme/audit/")
    counts = []
    for _ in range(2):
        for _ in range(20):
            MembershipFactory(organization=owner.organization)
        with CaptureQueriesContext(connection) as queries:
            client.get("/o/acme/audit/")
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_log_shows_the_time_of_day(owner, client_for):
    services.set_key_lifetime_policy(owner.organization, 30)
    AuditEvent.objects.update(created_at=datetime(2026, 11, 27, 9, 41, tzinfo=UTC))
    page = client_for(owner).get("/o/acme/audit/", HTTP_ACCEPT_LANGUAGE="en").text
    assert "Nov. 27, 2026, 9:41 a.m." in page


def test_auto_revocation_counts_every_key_and_keeps_a_bounded_list(owner, member):
    from apikeys.models import ApiKey
    from apikeys.services import AUDITED_KEYS_PER_EVENT

    for number in range(AUDITED_KEYS_PER_EVENT + 5):
        ApiKeyFactory(membership=member, name=f"k{number}")
    services.remove_member(member)
    event = AuditEvent.objects.get(action=AuditAction.KEY_AUTO_REVOKED)
    assert event.target == f"{AUDITED_KEYS_PER_EVENT + 5} API keys"
    assert len(event.details["keys"]) == AUDITED_KEYS_PER_EVENT
    assert not ApiKey.objects.active().filter(user=member.user).exists()


def audit_csv(client) -> list[list[str]]:
    import csv
    import io

    response = client.get("/o/acme/audit/export.csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_targets_of_ours_are_worded_from_the_events_data_not_its_stored_text(
    owner, member, client_for
):
    ApiKeyFactory(membership=member)
    ApiKeyFactory(membership=member)
    services.set_key_lifetime_policy(owner.organization, 30)
    services.remove_member(member)
    # Whatever words the row holds (an older wording, an operator's note), the log says
    # what the event's data says.
    AuditEvent.objects.filter(
        action__in=[AuditAction.KEY_AUTO_REVOKED, AuditAction.POLICY_CHANGED]
    ).update(target="(reworded)")
    client = client_for(owner)
    client.cookies["django_language"] = "ja"
    page = client.get("/o/acme/audit/").text
    with translation.override("ja"):
        count = translation.ngettext("%(count)s API key", "%(count)s API keys", 2) % {"count": 2}
        policy = translation.gettext("Maximum API key lifetime")
    assert count in page and policy in page
    assert "(reworded)" not in page
    # The CSV words them in the same one place.
    targets = [row[4] for row in audit_csv(client)[1:]]
    assert count in targets and policy in targets


def test_events_written_before_keep_their_targets(owner):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("organizations.migrations.0007_audit_targets_as_data")
    old = [
        AuditEvent.objects.create(
            organization=owner.organization,
            action=AuditAction.KEY_AUTO_REVOKED,
            target="3 API keys",
            details={"reason": "member_removed", "keys": ["a (gns_1…)"]},
        ),
        AuditEvent.objects.create(
            organization=owner.organization,
            action=AuditAction.POLICY_CHANGED,
            target="Maximum API key lifetime",
            details={"from": None, "to": 30},
        ),
    ]
    migration.add_target_data(apps, None)
    revoked, policy = (AuditEvent.objects.get(pk=event.pk) for event in old)
    assert revoked.details["count"] == 3
    assert policy.details["policy"] == "max_key_lifetime"
    with translation.override("en"):
        assert revoked.shown_target() == "3 API keys"
        assert policy.shown_target() == "Maximum API key lifetime"
