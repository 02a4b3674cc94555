"""The scheduled emails about how keys are used (apikeys.digests): the weekly stale-key
digest to Admins and Owners, and the notice that a revoked or expired secret is still
being presented a day later."""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from apikeys import services
from apikeys.digests import send_stale_key_digests, send_still_used_notices, week_of
from apikeys.models import ApiKey, KeyUsage, Outcome, StaleKeyDigest
from organizations import services as org_services
from organizations.models import Role, User

from ..factories import MembershipFactory, make_service_account, make_service_key

NOW = datetime(2025, 12, 10, 8, 0, tzinfo=UTC)  # a Wednesday, in no week the suite runs in
DEVNULL = open("/dev/null", "w")  # noqa: SIM115 (the commands' summary line)


def used(key, days_ago: int):
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=NOW - timedelta(days=days_ago))


@pytest.fixture
def stale(team, make_key):
    """In Acme: a key unused for 40 days, one never used, one used yesterday; in Globex,
    only a key used yesterday."""
    old = make_key(team["member"], "Old deploy")
    used(old, 40)
    never = make_key(team["admin"], "Never used")
    fresh = make_key(team["member"], "Nightly build")
    used(fresh, 1)
    used(make_key(team["outsider"], "Globex CI"), 1)
    return {"old": old, "never": never, "fresh": fresh}


def to(mailoutbox) -> list[str]:
    return sorted(address for message in mailoutbox for address in message.to)


def test_the_digest_goes_to_admins_and_owners_with_their_stale_keys(stale, mailoutbox):
    assert send_stale_key_digests(NOW) == 2
    assert to(mailoutbox) == ["admin@acme.test", "owner@acme.test"]  # no Member, no Globex
    message = mailoutbox[0]
    assert message.subject == "Acme: 2 API keys unused for 30 days"
    body = message.body
    assert "- Old deploy (" + stale["old"].hint + ")" in body
    assert "Owner: Mia Member (member@acme.test)" in body
    assert "Last used: 2025-10-31" in body and "Last used: never" in body
    assert "Created: " in body
    assert "Nightly build" not in body and "Globex" not in body
    assert f"{settings.PUBLIC_URL}/o/acme/api-keys/" in body  # never a request's Host
    assert f"{settings.PUBLIC_URL}/accounts/profile/" in body  # where to turn it off
    for key in stale.values():
        assert key.plaintext not in body
    assert body.index("Never used") < body.index("Old deploy")  # never used first


def test_the_digest_goes_once_a_week(stale, mailoutbox):
    call_command("send_stale_key_digests", stdout=DEVNULL)  # this week, whatever today is
    sent = len(mailoutbox)
    assert sent >= 2  # (a year after NOW, Globex's key is stale too)
    call_command("send_stale_key_digests", stdout=DEVNULL)
    assert len(mailoutbox) == sent
    assert send_stale_key_digests(NOW) == 2  # the fixture's week, another than today's
    assert send_stale_key_digests(NOW + timedelta(days=4)) == 0  # Sunday: the same week
    assert send_stale_key_digests(NOW + timedelta(days=5)) == 2  # Monday: a new week
    assert week_of(NOW + timedelta(days=5)) == datetime(2025, 12, 15).date()


def test_an_admin_who_turned_it_off_gets_none(stale, team, mailoutbox):
    User.objects.filter(pk=team["admin"].user.pk).update(stale_key_digest=False)
    assert send_stale_key_digests(NOW) == 1
    assert to(mailoutbox) == ["owner@acme.test"]


def test_no_digest_for_an_organization_without_stale_keys(team, make_key, mailoutbox):
    used(make_key(team["member"]), 29)
    used(make_key(team["outsider"]), 0)
    services.revoke_key(make_key(team["member"], "Revoked and unused"), None)
    expired = make_key(team["member"], "Expired")
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    assert send_stale_key_digests(NOW) == 0
    assert mailoutbox == []
    assert not StaleKeyDigest.objects.exists()


def test_removed_deactivated_and_demoted_admins_get_none(stale, team, org, mailoutbox):
    removed = MembershipFactory(organization=org, role=Role.ADMIN, user__email="gone@acme.test")
    org_services.remove_member(removed)
    deactivated = MembershipFactory(organization=org, role=Role.ADMIN, user__email="off@acme.test")
    User.objects.filter(pk=deactivated.user.pk).update(is_active=False)
    team["admin"].role = Role.MEMBER
    team["admin"].save(update_fields=["role"])
    make_service_account(org, "Admin bot", role=Role.ADMIN)
    assert send_stale_key_digests(NOW) == 1
    assert to(mailoutbox) == ["owner@acme.test"]


def test_the_digest_is_in_each_persons_language(stale, team, mailoutbox):
    User.objects.filter(pk=team["admin"].user.pk).update(language="ja", time_zone="Asia/Tokyo")
    send_stale_key_digests(NOW)
    [japanese] = [message for message in mailoutbox if message.to == ["admin@acme.test"]]
    [english] = [message for message in mailoutbox if message.to == ["owner@acme.test"]]
    assert japanese.subject == "Acme: 30 日間使われていない API キーが 2 件"
    assert "最終使用: なし" in japanese.body and "Old deploy" in japanese.body
    assert english.subject == "Acme: 2 API keys unused for 30 days"


def test_a_service_accounts_stale_key_names_the_account(team, org, mailoutbox):
    bot = make_service_account(org, "Deploy bot")
    make_service_key(bot, team["admin"], "Bot key")
    send_stale_key_digests(NOW)
    assert "Owner: the service account Deploy bot" in mailoutbox[0].body
    assert "service-accounts.invalid" not in mailoutbox[0].body  # never its address


def test_a_mail_server_that_is_down_sends_the_digest_next_time(stale, settings, caplog):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    assert send_stale_key_digests(NOW) == 0
    assert "Could not send" in caplog.text
    assert not StaleKeyDigest.objects.exists()  # nothing recorded: the next run sends it


def test_the_digest_reaches_a_real_mail_server(stale, settings, sent_mail):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sent_mail.inbox.port
    assert send_stale_key_digests(NOW) == 2
    messages = sent_mail.messages()
    assert sorted(m.to[0] for m in messages) == ["admin@acme.test", "owner@acme.test"]
    assert "Old deploy" in messages[0].body


# The notice that an ended key is still presented.


def refused(key, day, count):
    KeyUsage.objects.create(key=key, date=day, surface="api", outcome=Outcome.REFUSED, count=count)


@pytest.fixture
def rolled(member, make_key):
    """A key revoked three days ago, refused on that day, and 4 and 6 times since."""
    key = make_key(member, "Deploy from CI")
    services.revoke_key(key, None)
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=NOW - timedelta(days=3))
    day = (NOW - timedelta(days=3)).date()
    refused(key, day, 2)  # the day it was revoked: not "still", yet
    refused(key, day + timedelta(days=1), 4)
    refused(key, day + timedelta(days=2), 6)
    KeyUsage.objects.create(
        key=key, date=day - timedelta(days=1), surface="mcp", outcome=Outcome.OK, count=9
    )
    return key


def test_the_owner_hears_once_that_a_revoked_key_is_still_presented(rolled, mailoutbox):
    assert send_still_used_notices(NOW) == 1
    [message] = mailoutbox
    assert message.to == ["member@acme.test"]
    assert message.subject == 'Something still uses the old API key "Deploy from CI"'
    body = message.body
    assert f"({rolled.hint}) in Acme was revoked on 2025-12-07 08:00 UTC" in body
    assert "- 2025-12-08 (UTC): 4 refused requests" in body
    assert "- 2025-12-09 (UTC): 6 refused requests" in body
    assert "2025-12-07 (UTC)" not in body  # refused the day it ended: not counted
    assert f"{settings.PUBLIC_URL}/o/acme/api-keys/" in body
    assert rolled.plaintext not in body
    assert send_still_used_notices(NOW + timedelta(days=1)) == 0  # once per key
    assert len(mailoutbox) == 1
    assert ApiKey.objects.get(pk=rolled.pk).still_used_notice_sent_at == NOW


def test_an_expired_key_still_presented_says_it_expired(member, make_key, mailoutbox):
    key = make_key(member, "Old")
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(days=2))
    refused(key, timezone.now().date(), 1)  # the command's today
    call_command("send_still_used_notices", stdout=DEVNULL)
    [message] = mailoutbox
    assert "expired on" in message.body
    assert "1 refused request" in message.body


@pytest.mark.parametrize("hours", [1, 23])
def test_no_notice_within_a_day_of_the_end(member, make_key, mailoutbox, hours):
    key = make_key(member)
    services.revoke_key(key, None)
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=NOW - timedelta(hours=hours))
    refused(key, NOW.date(), 3)
    assert send_still_used_notices(NOW) == 0
    assert mailoutbox == []


def test_no_notice_for_a_key_refused_only_the_day_it_ended_or_while_it_worked(
    member, make_key, mailoutbox
):
    key = make_key(member)
    refused(key, (NOW - timedelta(days=5)).date(), 3)  # outside its allowlist, say
    services.revoke_key(key, None)
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=NOW - timedelta(days=3))
    refused(key, (NOW - timedelta(days=3)).date(), 3)
    working = make_key(member)
    refused(working, NOW.date(), 3)
    assert send_still_used_notices(NOW) == 0
    assert mailoutbox == []


def test_a_removed_or_deactivated_owner_is_not_told(rolled, member, mailoutbox):
    User.objects.filter(pk=member.user.pk).update(is_active=False)
    assert send_still_used_notices(NOW) == 0
    User.objects.filter(pk=member.user.pk).update(is_active=True)
    org_services.remove_member(member)
    assert send_still_used_notices(NOW) == 0
    assert mailoutbox == []


def test_a_service_accounts_key_is_told_to_whoever_made_it(team, org, mailoutbox):
    bot = make_service_account(org)
    key = make_service_key(bot, team["admin"], "Bot key")
    services.revoke_key(key, None)
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=NOW - timedelta(days=2))
    refused(key, (NOW - timedelta(days=1)).date(), 5)
    assert send_still_used_notices(NOW) == 1
    assert to(mailoutbox) == ["admin@acme.test"]


def test_the_notice_is_in_the_owners_language(rolled, member, mailoutbox):
    User.objects.filter(pk=member.user.pk).update(language="ja", time_zone="Asia/Tokyo")
    send_still_used_notices(NOW)
    [message] = mailoutbox
    assert message.subject == "古い API キー「Deploy from CI」がまだ使われています"
    assert "2025-12-07 17:00 JST" in message.body
    assert "2025-12-08 (UTC): 拒否されたリクエスト 4 件" in message.body


def test_a_mail_server_that_is_down_sends_the_notice_next_time(rolled, settings, caplog):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9
    assert send_still_used_notices(NOW) == 0
    assert "Could not send" in caplog.text
    assert rolled.plaintext not in caplog.text
    assert ApiKey.objects.get(pk=rolled.pk).still_used_notice_sent_at is None


def test_the_commands_query_once_per_key_not_per_row(team, make_key, django_assert_max_num_queries):
    for index in range(5):
        key = make_key(team["member"], f"Old {index}")
        services.revoke_key(key, None)
        ApiKey.objects.filter(pk=key.pk).update(revoked_at=NOW - timedelta(days=3))
        for day in range(3):
            refused(key, (NOW - timedelta(days=day)).date(), 1)
    # 2 reads, then per key: the membership check, the claim and the language's zone.
    with django_assert_max_num_queries(2 + 5 * 3):
        assert send_still_used_notices(NOW) == 5
