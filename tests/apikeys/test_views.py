import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apikeys import services
from apikeys.models import ApiKey
from apikeys.views import ORG_KEYS_PER_PAGE

from ..factories import ApiKeyFactory, MembershipFactory
from .forms import create

KEY = re.compile(r"gns_[0-9A-Za-z]{38}")


class TestCreate:
    def test_it_shows_the_form(self, member, client_for):
        response = client_for(member).get("/o/acme/api-keys/create/")
        assert response.status_code == 200
        assert "Key name" in response.text
        assert "<dialog" in response.text

    def test_it_trims_the_name(self, member, client_for):
        create(client_for(member), "  Deploy bot  ")
        assert ApiKey.objects.get().name == "Deploy bot"

    @pytest.mark.parametrize(
        ("name", "message"),
        [
            ("", "Enter a name for the key."),
            ("   \t ", "Enter a name for the key."),
            ("x" * 101, "at most 100 characters"),
            ("bad\x00name", "control or invisible characters"),
            ("bell\x07", "control or invisible characters"),
            ("line\nbreak", "control or invisible characters"),
            ("zero\u200bwidth", "control or invisible characters"),
            ("right\u202eleft", "control or invisible characters"),
        ],
    )
    @pytest.mark.parametrize("htmx", [False, True])
    def test_it_rejects_bad_names(self, member, client_for, name, message, htmx):
        response = create(client_for(member), name, htmx=htmx)
        assert response.status_code == 400
        assert message in response.text
        assert 'aria-invalid="true"' in response.text
        assert not ApiKey.objects.exists()

    def test_it_accepts_100_characters(self, member, client_for):
        assert create(client_for(member), "x" * 100).status_code == 200
        assert ApiKey.objects.get().name == "x" * 100

    def test_it_escapes_markup_in_names(self, member, client_for):
        client = client_for(member)
        create(client, "<script>alert(1)</script>")
        page = client.get("/o/acme/api-keys/")
        assert "<script>alert(1)</script>" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text

    def test_it_escapes_markup_in_a_rejected_name(self, member, client_for):
        response = create(client_for(member), "<b>" + "x" * 100)
        assert "<b>xxx" not in response.text
        assert "&lt;b&gt;" in response.text

    def test_it_requires_csrf(self, member):
        client = Client(enforce_csrf_checks=True)
        client.force_login(member.user)
        response = create(client, "No token")
        assert response.status_code == 403
        assert "This form has expired" in response.text
        assert not ApiKey.objects.exists()

    def test_a_double_submitted_form_makes_one_key(self, member, client_for):
        client = client_for(member)
        form = client.get("/o/acme/api-keys/create/").text
        form_id = re.search(r'name="form_id" value="([0-9a-f-]+)"', form).group(1)
        data = {"name": "Twice", "form_id": form_id}
        first = client.post("/o/acme/api-keys/create/", data)
        second = client.post("/o/acme/api-keys/create/", data, HTTP_HX_REQUEST="true")
        assert (first.status_code, second.status_code) == (200, 200)
        key = ApiKey.objects.get(name="Twice")
        assert KEY.search(first.text)
        assert not KEY.search(second.text)
        assert "API key already created" in second.text
        assert key.hint in second.text

    def test_each_displayed_form_makes_its_own_key(self, member, client_for):
        client = client_for(member)
        for name in ("Once", "Twice"):
            form = client.get("/o/acme/api-keys/create/").text
            form_id = re.search(r'name="form_id" value="([0-9a-f-]+)"', form).group(1)
            client.post("/o/acme/api-keys/create/", {"name": name, "form_id": form_id})
        assert ApiKey.objects.filter(name__in=["Once", "Twice"]).count() == 2

    def test_a_rejected_form_keeps_its_id(self, member, client_for):
        form_id = "6f1b0f5e-0000-4000-8000-000000000000"
        response = client_for(member).post(
            "/o/acme/api-keys/create/", {"name": "", "form_id": form_id}
        )
        assert f'value="{form_id}"' in response.text

    def test_a_bad_form_id_is_a_clear_400(self, member, client_for):
        response = client_for(member).post(
            "/o/acme/api-keys/create/", {"name": "ok", "form_id": "not-a-uuid"}
        )
        assert response.status_code == 400
        assert "This form is out of date" in response.text
        assert not ApiKey.objects.exists()


class TestDelete:
    def test_it_asks_first(self, member, client_for, make_key):
        key = make_key(member, "Old laptop")
        response = client_for(member).get(f"/o/acme/api-keys/{key.pk}/delete/")
        assert response.status_code == 200
        assert "Delete API key" in response.text
        assert "Old laptop" in response.text
        key.refresh_from_db()
        assert key.revoked_at is None

    def test_it_deletes_and_says_so(self, member, client_for, make_key):
        key = make_key(member, "Old laptop")
        response = client_for(member).post(f"/o/acme/api-keys/{key.pk}/delete/", follow=True)
        assert "API key “Old laptop” deleted" in response.text
        assert f'id="key-{key.pk}"' not in response.text
        assert services.authenticate(key.plaintext) is None

    def test_htmx_closes_the_dialog_and_refreshes(self, member, client_for, make_key):
        key = make_key(member)
        response = client_for(member).post(
            f"/o/acme/api-keys/{key.pk}/delete/", HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 200
        assert response["HX-Trigger"] == "keys-changed"
        assert "<dialog" not in response.text
        assert "deleted" in response.text  # the message, swapped out of band

    def test_a_key_already_deleted_in_another_tab_gets_a_friendly_answer(
        self, member, client_for, make_key
    ):
        key = make_key(member, "Stale")
        client = client_for(member)
        client.post(f"/o/acme/api-keys/{key.pk}/delete/")
        for method in (client.get, client.post):
            response = method(f"/o/acme/api-keys/{key.pk}/delete/", follow=True)
            assert response.status_code == 200
            assert "was already deleted or revoked" in response.text

    def test_it_rejects_forged_ids_of_other_organizations(self, member, outsider, client_for):
        theirs = ApiKeyFactory(membership=outsider)
        response = client_for(member).post(f"/o/acme/api-keys/{theirs.pk}/delete/")
        assert response.status_code == 404
        # Even through their organization's URL: member isn't in it.
        response = client_for(member).post(f"/o/globex/api-keys/{theirs.pk}/delete/")
        assert response.status_code == 404
        theirs.refresh_from_db()
        assert theirs.revoked_at is None

    def test_it_rejects_unknown_and_malformed_ids(self, member, client_for):
        client = client_for(member)
        assert client.post("/o/acme/api-keys/999999/delete/").status_code == 404
        assert client.post("/o/acme/api-keys/abc/delete/").status_code == 404

    @pytest.mark.parametrize("method", ["put", "patch", "delete"])
    def test_it_rejects_other_methods(self, member, client_for, make_key, method):
        key = make_key(member)
        response = getattr(client_for(member), method)(f"/o/acme/api-keys/{key.pk}/delete/")
        assert response.status_code == 405


class TestRevoke:
    def test_it_asks_with_the_owner_shown(self, admin, member, client_for, make_key):
        key = make_key(member, "Mia's CI")
        response = client_for(admin).get(f"/o/acme/api-keys/{key.pk}/revoke/")
        assert response.status_code == 200
        assert "Revoke API key" in response.text
        assert "Mia Member" in response.text
        assert "member@acme.test" in response.text
        assert ">Revoke</button>" in response.text

    def test_it_revokes_and_the_key_stops_working(self, admin, member, client_for, make_key):
        key = make_key(member)
        response = client_for(admin).post(f"/o/acme/api-keys/{key.pk}/revoke/", follow=True)
        assert "revoked" in response.text
        assert f'id="org-key-{key.pk}"' not in response.text
        assert services.authenticate(key.plaintext) is None

    def test_a_double_submitted_revoke_is_harmless(self, admin, member, client_for, make_key):
        key = make_key(member)
        client = client_for(admin)
        first = client.post(f"/o/acme/api-keys/{key.pk}/revoke/", HTTP_HX_REQUEST="true")
        second = client.post(f"/o/acme/api-keys/{key.pk}/revoke/", HTTP_HX_REQUEST="true")
        assert (first.status_code, second.status_code) == (200, 200)
        assert "already deleted or revoked" in second.text
        key.refresh_from_db()
        assert key.revoked_by == admin.user

    def test_it_rejects_keys_of_other_organizations(self, admin, outsider, client_for):
        theirs = ApiKeyFactory(membership=outsider)
        response = client_for(admin).post(f"/o/acme/api-keys/{theirs.pk}/revoke/")
        assert response.status_code == 404
        theirs.refresh_from_db()
        assert theirs.revoked_at is None

    def test_get_on_post_only_urls_is_405(self, admin, client_for):
        client = client_for(admin)
        assert client.get("/o/acme/members/invite/").status_code == 405
        assert client.post("/o/acme/api-keys/").status_code == 405
        assert client.post("/o/acme/api-keys/organization/").status_code == 405


class TestLists:
    def test_my_keys_shows_only_my_active_keys(self, owner, member, client_for, make_key):
        mine = make_key(owner, "Owner key")
        make_key(member, "Member key")
        gone = make_key(owner, "Gone key")
        services.delete_key(gone, owner.user)
        response = client_for(owner).get("/o/acme/api-keys/mine/")
        assert "Owner key" in response.text
        assert mine.hint in response.text
        assert "Member key" not in response.text
        assert "Gone key" not in response.text
        assert "Never" in response.text

    def test_empty_state_invites_to_create(self, member, client_for):
        response = client_for(member).get("/o/acme/api-keys/")
        assert "You have no API keys in Acme yet" in response.text
        assert "Create your first API key" in response.text

    def test_organization_section_shows_creator_and_filters(self, admin, member, client_for):
        for index in range(3):
            ApiKeyFactory(membership=member, name=f"mia-{index}")
        ApiKeyFactory(membership=admin, name="adam-deploy")
        client = client_for(admin)
        response = client.get("/o/acme/api-keys/organization/")
        assert response.text.count("member@acme.test") >= 3
        assert "Mia Member" in response.text
        by_member = client.get("/o/acme/api-keys/organization/?member=MEMBER@acme")
        assert "mia-0" in by_member.text
        assert "adam-deploy" not in by_member.text
        by_name = client.get("/o/acme/api-keys/organization/?q=DEPLOY")
        assert "adam-deploy" in by_name.text
        assert "mia-0" not in by_name.text

    @pytest.mark.parametrize(
        "query", ["member=%00", "member=" + "m" * 500, "page=-1", "page=zz", "q=" + "x" * 500]
    )
    def test_bad_filters_are_ignored(self, admin, client_for, query):
        response = client_for(admin).get(f"/o/acme/api-keys/?{query}")
        assert response.status_code == 200

    def test_organization_section_is_paginated(self, admin, member, client_for):
        for index in range(25):
            ApiKeyFactory(membership=member, name=f"key-{index:02}")
        client = client_for(admin)
        first = client.get("/o/acme/api-keys/organization/")
        assert "1\u201320 of 25" in first.text
        assert "page=2" in first.text
        assert "key-24" in first.text and "key-04" not in first.text
        second = client.get("/o/acme/api-keys/organization/?page=2")
        assert "key-04" in second.text and "key-24" not in second.text
        assert "21\u201325 of 25" in second.text
        assert "page=3" not in second.text

    @pytest.mark.parametrize("url", ["/o/acme/api-keys/", "/o/acme/api-keys/organization/"])
    def test_queries_do_not_grow_with_keys_or_members(self, admin, client_for, url):
        client = client_for(admin)
        client.get(url)  # the session now remembers the current organization

        def queries():
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url).status_code == 200
            return len(captured)

        # Two pages of keys from the start: "1-20 of 21" costs its COUNT, once.
        ApiKeyFactory.create_batch(ORG_KEYS_PER_PAGE + 1, membership=admin)
        few = queries()
        for membership in [
            admin,
            *MembershipFactory.create_batch(5, organization=admin.organization),
        ]:
            ApiKeyFactory.create_batch(4, membership=membership)
        assert queries() == few
        # The page: session, user, membership, switcher, my keys, and for the organization
        # section one page and, as it has more than one, its COUNT ("1-20 of 25"); then
        # my authorized apps and the organization's; and whether the organization
        # requires SSO of this session (sso.middleware, one query on every page of it).
        assert few == (10 if url.endswith("api-keys/") else 6)


@pytest.mark.parametrize("slug", ["acme", "o999999999", "999999999"])
def test_a_rows_button_urls_are_the_named_urls(slug):
    # KeyUrls reverses each action once and swaps the key id in: the same URL as
    # reversing it for the key, whatever digits the organization's slug holds.
    from django.urls import reverse

    from apikeys.views import KeyUrls

    urls = KeyUrls("apikeys:", {"org": slug})
    for key_id in (1, 999999999, 42):
        key = ApiKey(pk=key_id)
        for action in ("rename", "roll", "delete", "revoke"):
            expected = reverse(f"apikeys:{action}", kwargs={"org": slug, "key_id": key_id})
            assert urls.url(key, action) == expected


def test_the_lists_say_where_a_key_was_last_used_from(member, admin, client_for, make_key):
    from apikeys import services
    from apikeys.models import Surface

    key = make_key(member, "From CI")
    context = services.authenticate(key.plaintext, "203.0.113.7")
    services.record_use(context, ip="203.0.113.7", surface=Surface.API, user_agent="curl/8.5")
    mine = client_for(member).get("/o/acme/api-keys/").text
    assert "via API · curl/8.5 · 203.0.113.7" in mine
    organization = client_for(admin).get("/o/acme/api-keys/").text
    assert "203.0.113.7" in organization
