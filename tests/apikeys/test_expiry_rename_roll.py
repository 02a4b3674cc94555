import re
from datetime import timedelta

import pytest
from django.utils import timezone

from apikeys import services
from apikeys.models import ApiKey, RevokeReason
from organizations.services import set_key_lifetime_policy

from .forms import create

KEY = re.compile(r"gns_[0-9A-Za-z]{38}")


class TestExpiry:
    @pytest.mark.parametrize("days", [7, 30, 60, 90])
    def test_a_key_can_expire_after_some_days(self, member, client_for, days):
        assert create(client_for(member), expires=str(days)).status_code == 200
        left = ApiKey.objects.get().expires_at - timezone.now()
        assert timedelta(days=days) - timedelta(minutes=1) < left <= timedelta(days=days)

    def test_or_on_a_date(self, member, client_for):
        day = (timezone.now() + timedelta(days=10)).date()
        create(client_for(member), expires="custom", expires_on=day.isoformat())
        expires_at = ApiKey.objects.get().expires_at
        assert expires_at.date() == day + timedelta(days=1)
        assert (expires_at.hour, expires_at.minute) == (0, 0)

    def test_a_form_without_an_expiry_gets_the_default_30_days(self, member, client_for):
        # A script posting only a name gets what the dialog offers first, never "Never".
        assert (
            client_for(member).post("/o/acme/api-keys/create/", {"name": "Bare"}).status_code == 200
        )
        left = ApiKey.objects.get().expires_at - timezone.now()
        assert timedelta(days=30) - timedelta(minutes=1) < left <= timedelta(days=30)

    def test_without_an_expiry_under_a_shorter_policy_the_policys_limit(
        self, owner, member, client_for
    ):
        set_key_lifetime_policy(owner.organization, 7)
        assert (
            client_for(member).post("/o/acme/api-keys/create/", {"name": "Bare"}).status_code == 200
        )
        left = ApiKey.objects.get().expires_at - timezone.now()
        assert timedelta(days=7) - timedelta(minutes=1) < left <= timedelta(days=7)

    def test_or_never(self, member, client_for):
        create(client_for(member), expires="never")
        assert ApiKey.objects.get().expires_at is None

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"expires": "custom"}, "Choose the day the key should stop working."),
            ({"expires": "custom", "expires_on": "2020-01-01"}, "in the future"),
            ({"expires": "custom", "expires_on": "31/12/2099"}, "Enter a date like"),
            ({"expires": "custom", "expires_on": "9999-12-31"}, "within the next 10 years"),
            ({"expires": "12"}, "Select a valid choice"),
        ],
    )
    def test_bad_expiry_gets_a_message(self, member, client_for, data, message):
        response = create(client_for(member), **data)
        assert response.status_code == 400
        assert message in response.text
        assert not ApiKey.objects.exists()

    def test_lists_show_when_keys_expire(self, admin, member, client_for, make_key):
        soon = make_key(member, "soon", expires_at=timezone.now() + timedelta(days=3, hours=1))
        gone = make_key(member, "gone", expires_at=timezone.now() + timedelta(days=1))
        ApiKey.objects.filter(pk=gone.pk).update(expires_at=timezone.now() - timedelta(hours=1))
        page = client_for(admin).get("/o/acme/api-keys/").text

        def row(key):
            return page.split(f'id="org-key-{key.pk}"')[1].split("</tr>")[0]

        assert "in 3\xa0days" in row(soon)
        assert "Expired" in row(gone)
        assert services.authenticate(gone.plaintext) is None


class TestPolicy:
    def test_the_policy_limits_the_choices_and_is_enforced(self, owner, member, client_for):
        set_key_lifetime_policy(owner.organization, 30)
        client = client_for(member)
        form = client.get("/o/acme/api-keys/create/").text
        assert 'value="never"' not in form
        assert 'value="60"' not in form
        assert "allows API keys for at most 30 days" in form
        assert create(client, expires="never").status_code == 400
        far = (timezone.now() + timedelta(days=45)).date().isoformat()
        refused = create(client, expires="custom", expires_on=far)
        assert refused.status_code == 400
        assert "at most 30 days" in refused.text
        assert not ApiKey.objects.exists()
        assert create(client, expires="30").status_code == 200

    def test_the_service_enforces_it_too(self, owner, member):
        set_key_lifetime_policy(owner.organization, 7)
        with pytest.raises(services.PolicyError):
            services.create_key(member.user, member.organization, "no expiry")
        with pytest.raises(services.PolicyError):
            services.create_key(
                member.user,
                member.organization,
                "too long",
                expires_at=timezone.now() + timedelta(days=8),
            )


def own_key_action(client, key, action, **data):
    return client.post(f"/o/acme/api-keys/{key.pk}/{action}/", data)


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", 404), ("admin", 404), ("member", 302), ("outsider", 404), ("anonymous", 302)],
)
def test_only_the_owner_of_a_key_renames_it(team, client_for, make_key, role, expected):
    key = make_key(team["member"], "Old name")
    who = None if role == "anonymous" else team[role]
    response = own_key_action(client_for(who), key, "rename", name="New name")
    assert response.status_code == expected
    key.refresh_from_db()
    assert key.name == ("New name" if role == "member" else "Old name")


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", 404), ("admin", 404), ("member", 200), ("outsider", 404), ("anonymous", 302)],
)
def test_only_the_owner_of_a_key_rolls_it(team, client_for, make_key, role, expected):
    key = make_key(team["member"], "Rolling")
    who = None if role == "anonymous" else team[role]
    response = own_key_action(client_for(who), key, "roll")
    assert response.status_code == expected
    key.refresh_from_db()
    assert (key.revoke_reason == RevokeReason.ROLLED) == (role == "member")
    assert services.authenticate(key.plaintext) is None or role != "member"


def test_rename_rejects_bad_names(member, client_for, make_key):
    key = make_key(member, "Keep")
    response = own_key_action(client_for(member), key, "rename", name="   ")
    assert response.status_code == 400
    assert "Enter a name for the key." in response.text
    key.refresh_from_db()
    assert key.name == "Keep"


def test_rolling_shows_a_new_key_once_and_the_old_one_dies(member, client_for, make_key):
    old = make_key(member, "CI", expires_at=timezone.now() + timedelta(days=30))
    client = client_for(member)
    assert "Roll API key" in client.get(f"/o/acme/api-keys/{old.pk}/roll/").text
    response = own_key_action(client, old, "roll")
    assert "no-store" in response["Cache-Control"]
    plaintext = KEY.search(response.text).group(0)
    assert plaintext != old.plaintext
    new = ApiKey.objects.active().get()
    assert (new.name, new.user, new.organization) == ("CI", member.user, member.organization)
    assert abs((new.expires_at - new.created_at) - timedelta(days=30)) < timedelta(seconds=5)
    assert services.authenticate(old.plaintext) is None
    assert services.authenticate(plaintext).key_id == new.pk
    assert plaintext not in client.get("/o/acme/api-keys/").text


def test_rolling_or_renaming_a_gone_key_is_a_friendly_no(member, client_for, make_key):
    key = make_key(member)
    services.delete_key(key, member.user)
    client = client_for(member)
    for action in ("roll", "rename"):
        response = client.post(f"/o/acme/api-keys/{key.pk}/{action}/", {"name": "x"}, follow=True)
        assert response.status_code == 200
        assert "already deleted, revoked or expired" in response.text
    assert ApiKey.objects.active().count() == 0
