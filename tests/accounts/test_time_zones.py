"""Every time the console shows is in the person's time zone, named, exact on hover: the
one in their profile, else the browser's (a cookie static/js/console.js writes), which the
first sign-in keeps in the profile. The CSV stays ISO 8601, with the offset."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apikeys.models import ApiKey
from apikeys.notices import send_expiry_notices
from organizations import services
from organizations.models import AuditEvent, User

from ..factories import PASSWORD, ApiKeyFactory, InvitationFactory

# 2026-12-06 16:17 UTC is 2026-12-07 01:17 in Tokyo, 11:17 in New York.
WHEN = datetime(2026, 12, 6, 16, 17, tzinfo=UTC)
EVENT = 'Action">Policy changed<'  # a row of the log


def in_zone(user, zone):
    User.objects.filter(pk=user.pk).update(time_zone=zone)


@pytest.fixture
def logged_policy_change(owner):
    services.set_key_lifetime_policy(owner.organization, 30)
    AuditEvent.objects.update(created_at=WHEN)


def test_the_audit_log_is_in_the_persons_zone_named_exact_on_hover(
    owner, client_for, logged_policy_change
):
    in_zone(owner.user, "Asia/Tokyo")
    page = client_for(owner).get("/o/acme/audit/", HTTP_ACCEPT_LANGUAGE="en").text
    assert "Dec. 7, 2026, 1:17 a.m. JST" in page
    assert 'datetime="2026-12-07T01:17:00+09:00"' in page
    assert 'title="2026-12-07 01:17:00 JST (UTC+09:00)"' in page
    assert "Times are in Asia/Tokyo" in page
    japanese = client_for(owner).get("/o/acme/audit/", HTTP_ACCEPT_LANGUAGE="ja").text
    assert "2026年12月7日1:17 JST" in japanese


def test_without_a_zone_of_their_own_the_browsers(owner, client_for, logged_policy_change):
    client = client_for(owner)
    client.cookies["time_zone"] = "America/New_York"
    page = client.get("/o/acme/audit/", HTTP_ACCEPT_LANGUAGE="en").text
    assert "Dec. 6, 2026, 11:17 a.m. EST" in page
    client.cookies["time_zone"] = "Mars/Olympus_Mons"  # not a zone: UTC
    page = client.get("/o/acme/audit/", HTTP_ACCEPT_LANGUAGE="en").text
    assert "Dec. 6, 2026, 4:17 p.m. UTC" in page


def test_the_first_sign_in_keeps_the_browsers_zone_and_later_ones_leave_it(member):
    browser = Client()
    browser.cookies["time_zone"] = "Asia/Tokyo"
    browser.post("/accounts/login/", {"login": member.user.email, "password": PASSWORD})
    assert User.objects.get(pk=member.user_id).time_zone == "Asia/Tokyo"
    travelling = Client()
    travelling.cookies["time_zone"] = "Europe/Paris"
    travelling.post("/accounts/login/", {"login": member.user.email, "password": PASSWORD})
    assert User.objects.get(pk=member.user_id).time_zone == "Asia/Tokyo"


def test_the_profile_chooses_the_zone(member, client_for):
    client = client_for(member)
    client.cookies["time_zone"] = "Europe/Paris"
    form = client.get("/accounts/profile/").text
    assert '<option value="Europe/Paris" selected>' in form  # the browser's, to start with
    saved = client.post(
        "/accounts/profile/", {"name": "Mia", "language": "en", "time_zone": "Asia/Tokyo"}
    )
    assert saved.status_code == 302
    assert User.objects.get(pk=member.user_id).time_zone == "Asia/Tokyo"
    refused = client.post(
        "/accounts/profile/", {"name": "Mia", "language": "en", "time_zone": "Nowhere/Else"}
    )
    assert refused.status_code == 400
    assert User.objects.get(pk=member.user_id).time_zone == "Asia/Tokyo"


def test_the_csv_is_iso_8601_with_the_persons_offset(owner, client_for, logged_policy_change):
    in_zone(owner.user, "Asia/Tokyo")
    response = client_for(owner).get("/o/acme/audit/export.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1][0] == "2026-12-07T01:17:00+09:00"
    assert datetime.fromisoformat(rows[1][0]) == WHEN


def test_key_lists_and_invitations_are_in_the_zone(owner, member, client_for):
    in_zone(owner.user, "Asia/Tokyo")
    key = ApiKeyFactory(membership=member, expires_at=WHEN + timedelta(days=400))
    ApiKey.objects.filter(pk=key.pk).update(created_at=WHEN, last_used_at=WHEN)
    invitation = InvitationFactory(organization=owner.organization)
    invitation.sent_at = WHEN
    invitation.save()
    client = client_for(owner)
    keys = client.get("/o/acme/api-keys/", HTTP_ACCEPT_LANGUAGE="en").text
    row = keys.split(f'id="org-key-{key.pk}"')[1].split("</tr>")[0]
    assert 'datetime="2026-12-07T01:17:00+09:00"' in row  # created, last used
    assert 'title="2026-12-07 01:17:00 JST (UTC+09:00)"' in row
    assert 'datetime="2028-01-11T01:17:00+09:00"' in row  # expires
    members = client.get("/o/acme/members/", HTTP_ACCEPT_LANGUAGE="en").text
    sent = members.split(f'id="invitation-{invitation.pk}"')[1].split("</tr>")[0]
    assert 'datetime="2026-12-07T01:17:00+09:00"' in sent


def test_a_custom_expiry_ends_with_that_day_where_the_person_is(member, client_for):
    in_zone(member.user, "Asia/Tokyo")
    day = timezone.now().date() + timedelta(days=10)
    client = client_for(member)
    form = client.get("/o/acme/api-keys/create/").text
    assert "at the end of that day in your time zone (Asia/Tokyo)" in form
    client.post(
        "/o/acme/api-keys/create/",
        {"name": "Dated", "expires": "custom", "expires_on": day.isoformat()},
    )
    expires_at = ApiKey.objects.get().expires_at
    # Midnight after that day in Tokyo: 15:00 UTC on the day itself.
    assert expires_at == datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(
        hours=15
    )


def test_the_audit_logs_days_are_the_persons(owner, client_for, logged_policy_change):
    in_zone(owner.user, "Asia/Tokyo")
    client = client_for(owner)
    # 16:17 UTC on the 6th is the 7th in Tokyo.
    assert EVENT in client.get("/o/acme/audit/?since=2026-12-07").text
    assert EVENT not in client.get("/o/acme/audit/?until=2026-12-06").text
    assert client.get("/o/acme/audit/?since=0001-01-01&until=9999-12-31").status_code == 200


def test_expiry_emails_are_in_the_recipients_zone(member, make_key, mailoutbox):
    in_zone(member.user, "Asia/Tokyo")
    member.user.refresh_from_db()
    make_key(member, "soon", expires_at=timezone.now() + timedelta(days=6))
    send_expiry_notices()
    [mail] = mailoutbox
    assert " JST." in mail.body
