"""Each Admin and Owner turns the weekly stale-key digest off (and on) for themselves in
their profile; a Member has no digest and no switch; nobody changes someone else's."""

import pytest

from organizations.models import User

PROFILE = "/accounts/profile/"
SWITCH = 'name="stale_key_digest"'


def wants_digest(membership) -> bool:
    return User.objects.get(pk=membership.user.pk).stale_key_digest


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_admins_and_owners_turn_their_digest_off_and_on(team, client_for, role):
    me = team[role]
    client = client_for(me, minutes_ago=60)  # their own emails: no fresh sign-in needed
    page = client.get(PROFILE)
    assert SWITCH in page.text and "checked" in page.text.split(SWITCH)[1].split(">")[0]
    off = client.post(PROFILE, {"name": me.user.name, "language": "en"})
    assert off.status_code == 302 and off["Location"] == PROFILE
    assert wants_digest(me) is False
    page = client.get(PROFILE)
    assert "checked" not in page.text.split(SWITCH)[1].split(">")[0]
    others = [team[other] for other in ("owner", "admin", "outsider") if other != role]
    assert all(wants_digest(other) for other in others)  # only their own
    client.post(PROFILE, {"name": me.user.name, "language": "en", "stale_key_digest": "on"})
    assert wants_digest(me) is True


def test_a_member_has_no_switch_and_keeps_the_default(member, client_for):
    client = client_for(member)
    assert SWITCH not in client.get(PROFILE).text
    saved = client.post(PROFILE, {"name": "Mia", "language": "en"})
    assert saved.status_code == 302
    assert wants_digest(member) is True  # not offered, so not turned off by omission


def test_an_outsider_admin_changes_only_their_own(team, client_for):
    client_for(team["outsider"]).post(PROFILE, {"name": "Otto", "language": "en"})
    assert wants_digest(team["outsider"]) is False
    assert wants_digest(team["owner"]) and wants_digest(team["admin"])


def test_anonymous_is_sent_to_sign_in_and_nothing_changes(team, client):
    response = client.post(PROFILE, {"name": "X", "language": "en"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert all(wants_digest(membership) for membership in team.values())


def test_the_switch_is_in_japanese(admin, client_for):
    client = client_for(admin)
    client.post(PROFILE, {"name": "Adam", "language": "ja", "stale_key_digest": "on"})
    page = client.get(PROFILE).text
    assert "使われていない API キーの週次ダイジェスト" in page
