"""One owner's working keys in an organization have names of their own (as GitHub refuses a
second token with the same note): a second "Deploy" is refused, naming it. A key may say
what it is for in an optional description, shown in the lists and edited with its name."""

from datetime import timedelta
from functools import partial

import pytest
from django.utils import timezone

from apikeys import services
from apikeys.models import ApiKey
from organizations.models import AuditAction, AuditEvent

from ..factories import MembershipFactory, make_service_account, make_service_key
from . import forms

HTMX = {"HTTP_HX_REQUEST": "true"}


# Every request of this file is the dialog's (htmx).
create = partial(forms.create, htmx=True)


class TestDuplicateNames:
    @pytest.mark.parametrize("again", ["Deploy", "deploy", "  DEPLOY "])
    def test_a_second_working_key_of_the_same_name_is_refused(
        self, member, client_for, make_key, again
    ):
        make_key(member, "Deploy")
        refused = create(client_for(member), again)
        assert refused.status_code == 400
        assert "You already have an active API key named “" in refused.text
        assert again.strip() in refused.text
        assert ApiKey.objects.count() == 1

    def test_the_same_name_is_free_for_others_elsewhere_and_once_the_key_is_gone(
        self, member, admin, outsider, client_for, make_key
    ):
        make_key(member, "Deploy")
        assert create(client_for(admin), "Deploy").status_code == 200  # another person
        in_globex = MembershipFactory(user=member.user, organization=outsider.organization)
        services.create_key(member.user, in_globex.organization, "Deploy")  # elsewhere
        deleted = make_key(member, "Nightly")
        services.delete_key(deleted, member.user)
        assert create(client_for(member), "Nightly").status_code == 200
        expired = make_key(member, "Weekly")
        ApiKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
        assert create(client_for(member), "Weekly").status_code == 200

    def test_a_service_accounts_keys_too_saying_whose(self, admin, client_for):
        account = make_service_account(admin.organization, "Deploy bot")
        make_service_key(account, admin, name="Production")
        refused = client_for(admin).post(
            f"/o/acme/service-accounts/{account.user_id}/keys/create/", {"name": "Production"}
        )
        assert refused.status_code == 400
        assert "Deploy bot already has an active API key named “Production”" in refused.text
        assert ApiKey.objects.filter(user=account.user).count() == 1

    def test_renaming_to_a_taken_name_is_refused(self, member, client_for, make_key):
        make_key(member, "Deploy")
        other = make_key(member, "Nightly")
        refused = client_for(member).post(
            f"/o/acme/api-keys/{other.pk}/rename/", {"name": "Deploy"}, **HTMX
        )
        assert refused.status_code == 400
        assert "named “Deploy”" in refused.text
        assert ApiKey.objects.get(pk=other.pk).name == "Nightly"
        # Its own name, in another case, is no clash.
        client_for(member).post(f"/o/acme/api-keys/{other.pk}/rename/", {"name": "NIGHTLY"})
        assert ApiKey.objects.get(pk=other.pk).name == "NIGHTLY"

    def test_a_roll_keeps_the_name_even_while_the_old_secret_works(self, member, make_key):
        key = make_key(member, "Deploy")
        new_key, _ = services.roll_key(key, member.user, timedelta(hours=1))
        assert new_key.name == "Deploy"
        again, _ = services.roll_key(new_key, member.user)
        assert again.name == "Deploy"
        with pytest.raises(services.NameTaken):
            services.create_key(member.user, member.organization, "Deploy")


class TestDescriptions:
    def test_made_with_the_key_and_shown_in_both_lists(self, admin, member, client_for):
        created = create(
            client_for(member), "Deploy", description="Deploys main from GitHub Actions"
        )
        assert created.status_code == 200
        key = ApiKey.objects.get()
        assert key.description == "Deploys main from GitHub Actions"
        mine = client_for(member).get("/o/acme/api-keys/").text
        theirs = client_for(admin).get("/o/acme/api-keys/").text
        for page, row in ((mine, f'id="key-{key.pk}"'), (theirs, f'id="org-key-{key.pk}"')):
            cells = page.split(row)[1].split("</tr>")[0]
            assert "Deploys main from GitHub Actions" in cells

    def test_edited_with_the_name_and_kept_by_a_roll(self, member, client_for, make_key):
        key = make_key(member, "Deploy")
        client = client_for(member)
        form = client.get(f"/o/acme/api-keys/{key.pk}/rename/").text
        assert 'name="description"' in form
        client.post(
            f"/o/acme/api-keys/{key.pk}/rename/",
            {"name": "Deploy", "description": "Ask Mia; runs nightly"},
        )
        key.refresh_from_db()
        assert (key.name, key.description) == ("Deploy", "Ask Mia; runs nightly")
        event = AuditEvent.objects.get(action=AuditAction.KEY_RENAMED)
        assert event.details["description"] == "Ask Mia; runs nightly"
        assert "Ask Mia; runs nightly" in event.summary()
        new_key, _ = services.roll_key(key, member.user)
        assert new_key.description == "Ask Mia; runs nightly"

    @pytest.mark.parametrize(
        ("description", "message"),
        [("x" * 301, "at most 300 characters"), ("a\u200bb", "invisible characters")],
    )
    def test_bad_descriptions_get_a_message(self, member, client_for, description, message):
        refused = create(client_for(member), "Deploy", description=description)
        assert refused.status_code == 400 and message in refused.text
        assert not ApiKey.objects.exists()

    def test_markup_in_a_description_is_text(self, member, client_for):
        create(client_for(member), "Deploy", description="<script>alert(1)</script>")
        page = client_for(member).get("/o/acme/api-keys/").text
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
