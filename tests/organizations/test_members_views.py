import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apikeys import services as key_services
from apikeys.models import ApiKey
from organizations.models import Membership, Role

from ..factories import MembershipFactory


def role_of(membership):
    return Membership.objects.get(pk=membership.pk).role


class TestMemberList:
    def test_everyone_in_the_organization_sees_members_and_roles(self, team, client_for):
        response = client_for(team["member"]).get("/o/acme/members/")
        assert response.status_code == 200
        for name in ("Olivia Owner", "Adam Admin", "Mia Member"):
            assert name in response.text
        assert "Otto Outsider" not in response.text
        # Members only read.
        assert "Add member" not in response.text
        assert 'name="role"' not in response.text

    def test_admins_get_the_forms_but_cannot_touch_owners(self, team, client_for):
        response = client_for(team["admin"]).get("/o/acme/members/")
        assert "Add member" in response.text
        assert f"/members/{team['owner'].pk}/role/" not in response.text
        assert f"/members/{team['member'].pk}/role/" in response.text
        assert '<option value="owner"' not in response.text

    def test_owners_can_grant_owner(self, team, client_for):
        response = client_for(team["owner"]).get("/o/acme/members/")
        assert '<option value="owner"' in response.text

    def test_the_list_uses_a_fixed_number_of_queries(self, owner, client_for):
        client = client_for(owner)
        client.get("/o/acme/members/")
        MembershipFactory.create_batch(3, organization=owner.organization)
        with CaptureQueriesContext(connection) as few:
            client.get("/o/acme/members/")
        MembershipFactory.create_batch(10, organization=owner.organization)
        with CaptureQueriesContext(connection) as many:
            client.get("/o/acme/members/")
        assert len(few) == len(many)


class TestAddMember:
    def test_admin_adds_a_member(self, admin, new_user, client_for):
        response = client_for(admin).post(
            "/o/acme/members/add/", {"email": new_user.email, "role": Role.ADMIN}, follow=True
        )
        assert "Nina New was added as Admin" in response.text
        assert Membership.objects.get(user=new_user).role == Role.ADMIN

    def test_admin_cannot_add_an_owner(self, admin, new_user, client_for):
        response = client_for(admin).post(
            "/o/acme/members/add/", {"email": new_user.email, "role": Role.OWNER}
        )
        assert response.status_code == 400
        assert not Membership.objects.filter(user=new_user).exists()

    def test_owner_can_add_an_owner(self, owner, new_user, client_for):
        client_for(owner).post("/o/acme/members/add/", {"email": new_user.email, "role": "owner"})
        assert Membership.objects.get(user=new_user).role == Role.OWNER

    @pytest.mark.parametrize(
        ("email", "message"),
        [
            ("", "Enter the email address"),
            ("not-an-email", "Enter a valid email address."),
            ("nobody@example.com", "No Genesis account uses nobody@example.com"),
            ("member@acme.test", "already a member of Acme"),
            ("<b>x</b>@example.com", "Enter a valid email address."),
        ],
    )
    @pytest.mark.parametrize("htmx", [False, True])
    def test_bad_emails_get_a_message(self, team, client_for, email, message, htmx):
        headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        before = Membership.objects.count()
        response = client_for(team["admin"]).post(
            "/o/acme/members/add/", {"email": email, "role": Role.MEMBER}, **headers
        )
        assert response.status_code == 400
        assert message in response.text
        assert "<b>x</b>" not in response.text
        assert Membership.objects.count() == before

    def test_htmx_gets_the_panel(self, admin, new_user, client_for):
        response = client_for(admin).post(
            "/o/acme/members/add/",
            {"email": new_user.email, "role": Role.MEMBER},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 200
        assert response.text.lstrip().startswith('<div id="members-panel"')
        assert "Nina New" in response.text


class TestChangeRole:
    def test_admin_promotes_a_member_to_admin(self, admin, member, client_for):
        client_for(admin).post(f"/o/acme/members/{member.pk}/role/", {"role": Role.ADMIN})
        assert role_of(member) == Role.ADMIN

    def test_admin_cannot_promote_to_owner(self, admin, member, client_for):
        response = client_for(admin).post(
            f"/o/acme/members/{member.pk}/role/", {"role": Role.OWNER}
        )
        assert response.status_code == 403
        assert role_of(member) == Role.MEMBER

    def test_admin_cannot_demote_an_owner(self, team, client_for):
        owner = team["owner"]
        response = client_for(team["admin"]).post(
            f"/o/acme/members/{owner.pk}/role/", {"role": Role.MEMBER}
        )
        assert response.status_code == 403
        assert role_of(owner) == Role.OWNER

    def test_owner_promotes_to_owner_and_demotes(self, owner, admin, client_for):
        client = client_for(owner)
        client.post(f"/o/acme/members/{admin.pk}/role/", {"role": Role.OWNER})
        assert role_of(admin) == Role.OWNER
        client.post(f"/o/acme/members/{admin.pk}/role/", {"role": Role.MEMBER})
        assert role_of(admin) == Role.MEMBER

    def test_the_last_owner_cannot_demote_themselves(self, owner, client_for):
        response = client_for(owner).post(
            f"/o/acme/members/{owner.pk}/role/", {"role": Role.ADMIN}, HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 400
        assert "at least one Owner" in response.text
        assert role_of(owner) == Role.OWNER

    def test_unknown_roles_are_rejected(self, owner, member, client_for):
        response = client_for(owner).post(
            f"/o/acme/members/{member.pk}/role/", {"role": "god"}, follow=True
        )
        assert "Choose Owner, Admin or Member." in response.text
        assert role_of(member) == Role.MEMBER

    def test_members_of_other_organizations_are_404(self, owner, outsider, client_for):
        response = client_for(owner).post(
            f"/o/acme/members/{outsider.pk}/role/", {"role": Role.MEMBER}
        )
        assert response.status_code == 404
        assert role_of(outsider) == Role.ADMIN


class TestRemoveMember:
    def test_it_asks_first_and_warns_about_keys(self, admin, member, client_for):
        response = client_for(admin).get(f"/o/acme/members/{member.pk}/remove/")
        assert response.status_code == 200
        assert "Remove member" in response.text
        assert "revoked" in response.text
        assert Membership.objects.filter(pk=member.pk).exists()

    def test_removal_revokes_the_members_keys(self, admin, member, client_for, make_key):
        key = make_key(member)
        response = client_for(admin).post(f"/o/acme/members/{member.pk}/remove/", follow=True)
        assert "Mia Member was removed from Acme" in response.text
        assert not Membership.objects.filter(pk=member.pk).exists()
        assert key_services.authenticate(key.plaintext) is None
        assert ApiKey.objects.get(pk=key.pk).revoke_reason == "member_removed"

    def test_htmx_removal_refreshes_the_panel(self, admin, member, client_for):
        response = client_for(admin).post(
            f"/o/acme/members/{member.pk}/remove/", HTTP_HX_REQUEST="true"
        )
        assert response["HX-Trigger"] == "members-changed"

    def test_admin_cannot_remove_an_owner(self, team, client_for):
        response = client_for(team["admin"]).post(f"/o/acme/members/{team['owner'].pk}/remove/")
        assert response.status_code == 403
        assert Membership.objects.filter(pk=team["owner"].pk).exists()


class TestLeave:
    def test_a_member_leaves_and_their_keys_are_revoked(self, owner, member, client_for, make_key):
        key = make_key(member)
        client = client_for(member)
        assert "Leave organization" in client.get("/o/acme/leave/").text
        response = client.post("/o/acme/leave/", follow=True)
        assert "You left Acme" in response.text
        assert "You're not in an organization yet" in response.text
        assert key_services.authenticate(key.plaintext) is None
        assert client.get("/o/acme/api-keys/").status_code == 404

    def test_the_last_owner_cannot_leave(self, owner, client_for):
        response = client_for(owner).post("/o/acme/leave/", follow=True)
        assert "at least one Owner" in response.text
        assert Membership.objects.filter(pk=owner.pk).exists()

    def test_htmx_leave_redirects_home(self, owner, member, client_for):
        response = client_for(member).post("/o/acme/leave/", HTTP_HX_REQUEST="true")
        assert response["HX-Redirect"] == "/"

    def test_anonymous_cannot_leave(self, member, client):
        response = client.post("/o/acme/leave/")
        assert response.status_code == 302
        assert Membership.objects.filter(pk=member.pk).exists()


def test_long_member_lists_are_paginated(owner, client_for):
    MembershipFactory.create_batch(60, organization=owner.organization)
    client = client_for(owner)
    first = client.get("/o/acme/members/")
    assert "61 members" in first.text
    assert "Page 1 of 2" in first.text
    assert first.text.count('<tr id="member-') == 50
    second = client.get("/o/acme/members/?page=2")
    assert second.text.count('<tr id="member-') == 11
    assert client.get("/o/acme/members/?page=oops").status_code == 200
