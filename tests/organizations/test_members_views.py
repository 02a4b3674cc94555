import hashlib

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apikeys import services as key_services
from apikeys.models import ApiKey
from organizations.models import AuditEvent, Invitation, Membership, Role

from ..factories import MembershipFactory, invitation_path


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
        assert "Invite member" not in response.text
        assert 'name="role"' not in response.text

    def test_admins_get_the_forms_but_cannot_touch_owners(self, team, client_for):
        response = client_for(team["admin"]).get("/o/acme/members/")
        assert "Invite member" in response.text
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


class TestInvite:
    def test_admin_invites_and_the_invitation_is_listed(self, admin, client_for):
        response = client_for(admin).post(
            "/o/acme/members/invite/",
            {"email": " Nina@Example.com ", "role": Role.ADMIN},
            follow=True,
        )
        assert "We sent an invitation to nina@example.com" in response.text
        invitation = Invitation.objects.get()
        assert (invitation.email, invitation.role, invitation.invited_by) == (
            "nina@example.com",
            Role.ADMIN,
            admin.user,
        )
        assert f'id="invitation-{invitation.pk}"' in response.text
        assert "1 pending invitation" in response.text
        [message] = mail.outbox
        assert message.to == ["nina@example.com"]
        assert "Adam Admin invited you to join Acme on Genesis Console as Admin" in message.body
        # Only the link's hash is stored.
        token = invitation_path(message).split("/")[2]
        assert token not in invitation.token_hash
        assert hashlib.sha256(token.encode()).hexdigest() == invitation.token_hash

    def test_inviting_again_renews_the_link_and_the_old_one_stops_working(
        self, admin, client, client_for
    ):
        boss = client_for(admin)
        boss.post("/o/acme/members/invite/", {"email": "nina@example.com", "role": "member"})
        first = invitation_path(mail.outbox[-1])
        boss.post("/o/acme/members/invite/", {"email": "nina@example.com", "role": "admin"})
        second = invitation_path(mail.outbox[-1])
        assert Invitation.objects.get().role == Role.ADMIN
        assert client.get(first).status_code == 404
        assert client.get(second).status_code == 302

    @pytest.mark.parametrize(
        ("email", "message"),
        [
            ("", "Enter the email address"),
            ("not-an-email", "Enter a valid email address."),
            ("member@acme.test", "already a member of Acme"),
            ("<b>x</b>@example.com", "Enter a valid email address."),
        ],
    )
    @pytest.mark.parametrize("htmx", [False, True])
    def test_bad_emails_get_a_message(self, team, client_for, email, message, htmx):
        headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        response = client_for(team["admin"]).post(
            "/o/acme/members/invite/", {"email": email, "role": Role.MEMBER}, **headers
        )
        assert response.status_code == 400
        assert message in response.text
        assert "<b>x</b>" not in response.text
        assert not Invitation.objects.exists()
        assert not mail.outbox

    def test_htmx_gets_the_panel(self, admin, client_for):
        response = client_for(admin).post(
            "/o/acme/members/invite/",
            {"email": "nina@example.com", "role": Role.MEMBER},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 200
        assert response.text.lstrip().startswith('<div id="members-panel"')
        assert "nina@example.com" in response.text

    def test_members_do_not_see_invitations(self, admin, member, client_for):
        client_for(admin).post(
            "/o/acme/members/invite/", {"email": "nina@example.com", "role": "member"}
        )
        page = client_for(member).get("/o/acme/members/").text
        assert "nina@example.com" not in page
        assert "Invite member" not in page

    def test_revoke_and_resend(self, admin, client, client_for):
        boss = client_for(admin)
        boss.post("/o/acme/members/invite/", {"email": "nina@example.com", "role": "member"})
        first = invitation_path(mail.outbox[-1])
        invitation = Invitation.objects.get()
        boss.post(f"/o/acme/invitations/{invitation.pk}/resend/")
        assert len(mail.outbox) == 2
        assert client.get(first).status_code == 404
        second = invitation_path(mail.outbox[-1])
        response = boss.post(f"/o/acme/invitations/{invitation.pk}/revoke/", follow=True)
        assert "The invitation to nina@example.com was revoked" in response.text
        assert "nina@example.com" not in response.text.split("was revoked")[1]
        refused = client.get(second)
        assert refused.status_code == 410
        assert "This invitation was revoked" in refused.text
        actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
        assert actions == ["member_invited", "member_invited", "invitation_revoked"]

    def test_a_mail_server_that_fails_keeps_the_invitation_and_says_so(
        self, admin, client_for, monkeypatch
    ):
        monkeypatch.setattr("infra.mail.deliver", lambda message: False)
        response = client_for(admin).post(
            "/o/acme/members/invite/", {"email": "nina@example.com", "role": "member"}, follow=True
        )
        assert response.status_code == 200
        assert "the mail server didn&#x27;t take the email" in response.text
        assert Invitation.objects.filter(email="nina@example.com").exists()


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


class TestRoleConfirmation:
    """Picking a role in a member's row asks once (a dialog); its button applies it."""

    HTMX = {"HTTP_HX_REQUEST": "true"}

    @pytest.mark.parametrize(
        ("role", "expected"),
        [("owner", 200), ("admin", 200), ("member", 403), ("outsider", 404), ("anonymous", 302)],
    )
    def test_who_is_asked(self, team, client_for, role, expected):
        client = client_for(None if role == "anonymous" else team[role])
        target = team["member"]
        asked = client.get(f"/o/acme/members/{target.pk}/role/?role=admin")
        assert asked.status_code == expected
        if expected == 200:
            assert "Make <strong>Mia Member</strong> (member@acme.test) Admin instead of" in (
                asked.text
            )
            assert 'name="role" value="admin"' in asked.text and "Change role" in asked.text
        assert role_of(target) == Role.MEMBER  # asking changes nothing

    def test_the_confirmation_applies_it_and_the_list_refreshes(self, owner, member, client_for):
        done = client_for(owner).post(
            f"/o/acme/members/{member.pk}/role/", {"role": Role.ADMIN}, **self.HTMX
        )
        assert done.status_code == 200 and done["HX-Trigger"] == "members-changed"
        assert "<dialog" not in done.text and "Mia Member is now Admin." in done.text
        assert role_of(member) == Role.ADMIN

    def test_a_role_they_may_not_give_is_not_offered_nor_asked(self, admin, member, client_for):
        client = client_for(admin)
        page = client.get("/o/acme/members/").text
        row = page.split(f'id="member-{member.pk}"')[1].split("</tr>")[0]
        assert 'value="owner"' not in row and "data-apply-on-change" in row
        assert client.get(f"/o/acme/members/{member.pk}/role/?role=owner").status_code == 403

    def test_the_same_role_again_asks_nothing(self, owner, member, client_for):
        client = client_for(owner)
        again = client.get(f"/o/acme/members/{member.pk}/role/?role=member", **self.HTMX)
        assert again.status_code == 200 and "<dialog" not in again.text
        plain = client.get(f"/o/acme/members/{member.pk}/role/?role=member")
        assert plain.status_code == 302 and plain["Location"] == "/o/acme/members/"
        # Nothing picked (the dialog's address, back from signing in): the Members page.
        bare = client.get(f"/o/acme/members/{member.pk}/role/")
        assert bare.status_code == 302 and bare["Location"] == "/o/acme/members/"

    def test_no_save_button_per_row_but_one_to_ask_without_javascript(
        self, owner, member, client_for
    ):
        page = client_for(owner).get("/o/acme/members/").text
        row = page.split(f'id="member-{member.pk}"')[1].split("</tr>")[0]
        assert ">Save<" not in row
        assert f'method="get" action="/o/acme/members/{member.pk}/role/"' in row
        # Without JavaScript the row's button opens the dialog as a page of its own.
        dialog_page = client_for(owner).get(f"/o/acme/members/{member.pk}/role/?role=admin")
        assert dialog_page.status_code == 200 and "<dialog" in dialog_page.text
        assert "<h1>" in dialog_page.text  # the Members page under it

    def test_an_unknown_role_is_said_in_the_dialog(self, owner, member, client_for):
        asked = client_for(owner).get(f"/o/acme/members/{member.pk}/role/?role=god", **self.HTMX)
        assert asked.status_code == 400
        assert "Choose Owner, Admin or Member." in asked.text
        assert 'type="submit"' not in asked.text  # nothing to confirm


class TestRemoveMember:
    def test_it_asks_first_and_warns_about_keys(self, admin, member, client_for, make_key):
        response = client_for(admin).get(f"/o/acme/members/{member.pk}/remove/")
        assert response.status_code == 200
        assert "Remove member" in response.text
        # Without keys, no warning about them; with some, which ones.
        assert "revoked" not in response.text and "has no active API keys" in response.text
        make_key(member, "Laptop")
        response = client_for(admin).get(f"/o/acme/members/{member.pk}/remove/")
        assert "are revoked" in response.text or "is revoked" in response.text
        assert "Laptop" in response.text
        assert Membership.objects.filter(pk=member.pk).exists()

    def test_it_names_the_service_account_keys_they_made(self, owner, admin, client_for):
        from tests.factories import make_service_account, make_service_key

        account = make_service_account(admin.organization, "Deploy bot", Role.ADMIN)
        key = make_service_key(account, admin, "Prod deploy")
        dialog = client_for(owner).get(f"/o/acme/members/{admin.pk}/remove/").text
        assert "made these keys of service accounts" in dialog
        assert "Prod deploy" in dialog and key.hint in dialog and "Deploy bot" in dialog

    def test_the_last_owner_leaving_is_told_in_the_dialog(self, owner, client_for):
        response = client_for(owner).post("/o/acme/leave/", HTTP_HX_REQUEST="true")
        assert response.status_code == 400
        assert 'role="alert"' in response.text and "at least one Owner" in response.text
        assert "<dialog" in response.text
        assert Membership.objects.filter(pk=owner.pk).exists()

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
    assert "1\u201350 of 61" in first.text
    assert first.text.count('<tr id="member-') == 50
    second = client.get("/o/acme/members/?page=2")
    assert second.text.count('<tr id="member-') == 11
    assert client.get("/o/acme/members/?page=oops").status_code == 200
