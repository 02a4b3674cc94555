import io

import pytest
from django.core.management import CommandError, call_command

from organizations.models import Membership, Organization, ServiceAccount, User


def seed(**kwargs):
    out = io.StringIO()
    call_command("seed_demo", stdout=out, **kwargs)
    return out.getvalue()


def test_it_creates_the_demo_and_is_idempotent(db, settings):
    settings.DEBUG = True
    output = seed()
    seed()
    assert set(Organization.objects.values_list("slug", flat=True)) == {"acme", "globex"}
    people = User.objects.filter(service_account__isnull=True)
    assert people.count() == 4
    # And one service account, for automation: once, however often it runs.
    assert [a.user.name for a in ServiceAccount.objects.all()] == ["Deploy bot"]
    roles = {
        (m.user.email, m.organization.slug): m.role
        for m in Membership.objects.filter(user__in=people).select_related("user", "organization")
    }
    assert roles == {
        ("owner@example.com", "acme"): "owner",
        ("admin@example.com", "acme"): "admin",
        ("member@example.com", "acme"): "member",
        ("owner@globex.example", "globex"): "owner",
    }
    assert "owner@example.com" in output
    assert "genesis-demo" in output
    assert User.objects.get(email="admin@example.com").check_password("genesis-demo")


def test_it_takes_a_password(db, settings):
    settings.DEBUG = True
    seed(password="another-secret-1")
    assert User.objects.get(email="member@example.com").check_password("another-secret-1")


def test_it_refuses_without_debug(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        seed()
    assert not User.objects.exists()


def test_the_demo_accounts_sign_in_through_the_console(db, settings, client):
    settings.DEBUG = True
    seed()
    seed()
    for email in ("owner@example.com", "admin@example.com", "member@example.com"):
        client.post("/accounts/logout/")
        response = client.post("/accounts/login/", {"login": email, "password": "genesis-demo"})
        assert response.status_code == 302, email
        assert response["Location"] == "/"
    # No two-factor forced on the demo organization.
    assert not Organization.objects.get(slug="acme").require_two_factor
