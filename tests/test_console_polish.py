"""The console's finish (issue 19): errors and messages that keep their place, the create
and roll dialogs, lists whose filters live in the URL with totals, the audit log's date
range and CSV export, and words in both languages."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone, translation

from apikeys.models import ApiKey
from organizations import services as org_services
from organizations.models import AuditAction, AuditEvent

from .factories import ApiKeyFactory, MembershipFactory
from .test_authorization_matrix import LOGIN, actor, assert_status

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_an_expired_session_sends_htmx_to_sign_in_and_back(db, client):
    response = client.get(
        "/o/acme/api-keys/create/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/o/acme/api-keys/?q=ci",
    )
    assert response.status_code == 200  # htmx follows HX-Redirect with a full page
    assert response["HX-Redirect"] == "/accounts/login/?next=/o/acme/api-keys/%3Fq%3Dci"
    # A page elsewhere is not where it goes back to.
    foreign = client.get(
        "/o/acme/api-keys/create/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="https://evil.example/phish",
    )
    assert foreign["HX-Redirect"] == "/accounts/login/?next=/o/acme/api-keys/create/"


def test_an_ended_session_in_a_dialog_goes_back_to_the_dialog_and_says_why(db, client):
    posted = client.post(
        "/o/acme/api-keys/create/",
        {"name": "Typed before it ended"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="dialog-slot",
        HTTP_HX_CURRENT_URL="http://testserver/o/acme/api-keys/",
    )
    # Back to the dialog itself (its URL opens it), and console.js told to keep the form.
    assert posted["HX-Redirect"] == "/accounts/login/?next=/o/acme/api-keys/create/"
    assert posted["HX-Trigger"] == "session-ended"
    sign_in_page = client.get(posted["HX-Redirect"]).text
    assert "Your session ended. Sign in again to carry on where you were." in sign_in_page
    # A dialog opened with a choice in its address comes back with it.
    opened = client.get(
        "/o/acme/members/7/role/?role=admin", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="dialog-slot"
    )
    assert opened["HX-Redirect"] == "/accounts/login/?next=/o/acme/members/7/role/%3Frole%3Dadmin"


def test_an_ended_session_says_so_without_javascript_too_but_a_first_visit_doesnt(db, client):
    posted = client.post("/o/acme/api-keys/create/", {"name": "x"})
    assert posted.status_code == 302
    assert posted["Location"] == "/accounts/login/?next=/o/acme/api-keys/create/"
    assert "Your session ended" in client.get(posted["Location"]).text
    visit = Client().get("/o/acme/api-keys/", follow=True)
    assert "Sign in to Genesis Console" in visit.text and "Your session ended" not in visit.text


def test_a_refresh_leaves_the_message_of_the_action_before_it(admin, member, client_for):
    client = client_for(admin)
    done = client.post(f"/o/acme/members/{member.pk}/remove/", **HTMX)
    assert "was removed from Acme" in done.text and 'hx-swap-oob="true"' in done.text
    assert "data-dismiss" in done.text  # it stays until dismissed
    refreshed = client.get("/o/acme/members/", **HTMX)  # the list's refresh that follows
    assert 'id="messages"' not in refreshed.text


def test_the_create_dialog_offers_30_days_first_and_dates_within_the_policy(
    owner, member, client_for
):
    dialog = client_for(member).get("/o/acme/api-keys/create/", **HTMX).text
    assert re.search(r'<option value="30" selected>', dialog)
    assert dialog.index('value="never"') > dialog.index('value="90"')
    assert 'data-shown-when="expires=custom"' in dialog
    assert 'data-shown-when="expires=never"' in dialog  # the note, shown for Never
    assert 'data-max-length="100"' in dialog and 'maxlength="100"' not in dialog
    org_services.set_key_lifetime_policy(owner.organization, 30)
    limited = client_for(member).get("/o/acme/api-keys/create/", **HTMX).text
    today = timezone.now().date()
    assert f'min="{today + timedelta(days=1)}"' in limited
    assert f'max="{today + timedelta(days=29)}"' in limited
    # The last day offered is one the policy takes.
    made = client_for(member).post(
        "/o/acme/api-keys/create/",
        {"name": "Edge", "expires": "custom", "expires_on": str(today + timedelta(days=29))},
    )
    assert made.status_code == 200 and ApiKey.objects.filter(name="Edge").exists()


def test_a_long_name_is_refused_with_its_length_not_cut(member, client_for):
    response = client_for(member).post("/o/acme/api-keys/create/", {"name": "x" * 101}, **HTMX)
    assert response.status_code == 400
    assert "at most 100 characters (this one has 101)" in response.text
    assert not ApiKey.objects.exists()


def test_a_roll_says_what_happened_to_the_old_secret(member, client_for, make_key):
    key = make_key(member)
    now = client_for(member).post(f"/o/acme/api-keys/{key.pk}/roll/", **HTMX).text
    assert "API key rolled" in now and "The old secret no longer works." in now
    assert "delete it and create a new one" not in now
    new = ApiKey.objects.active().get()
    later = (
        client_for(member).post(f"/o/acme/api-keys/{new.pk}/roll/", {"overlap": "24h"}, **HTMX).text
    )
    assert "The old secret keeps working for 23\xa0hours" in later or "for 1\xa0day" in later


def test_the_organization_list_keeps_its_filters_in_the_address(admin, member, client_for):
    for n in range(3):
        ApiKeyFactory(membership=member, name=f"deploy {n}")
    ApiKeyFactory(membership=admin, name="laptop")
    client = client_for(admin)
    section = client.get("/o/acme/api-keys/organization/?q=deploy", **HTMX)
    assert section["HX-Replace-Url"] == "/o/acme/api-keys/?q=deploy"
    assert "Clear filters" in section.text and "laptop" not in section.text
    # The address it keeps shows the same list on a reload.
    page = client.get("/o/acme/api-keys/?q=deploy").text
    org_part = page[page.index('id="org-keys"') :]
    assert "deploy 2" in org_part and "laptop" not in org_part
    assert "Clear filters" not in client.get("/o/acme/api-keys/organization/", **HTMX).text


def test_the_audit_log_has_a_date_range(admin, client_for):
    old = AuditEvent.objects.create(
        organization=admin.organization, action=AuditAction.MEMBER_ADDED, target="old@x.test"
    )
    AuditEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    AuditEvent.objects.create(
        organization=admin.organization, action=AuditAction.MEMBER_ADDED, target="new@x.test"
    )
    since = (timezone.now() - timedelta(days=7)).date()
    page = client_for(admin).get(f"/o/acme/audit/?since={since}").text
    assert "new@x.test" in page and "old@x.test" not in page
    until = (timezone.now() - timedelta(days=30)).date()
    page = client_for(admin).get(f"/o/acme/audit/?until={until}").text
    assert "old@x.test" in page and "new@x.test" not in page
    assert client_for(admin).get("/o/acme/audit/?until=9999-12-31").status_code == 200


def test_the_audit_log_exports_as_csv_without_secrets(admin, member, client_for, make_key):
    key = make_key(member, '=HYPERLINK("http://evil")')
    response = client_for(admin).get("/o/acme/audit/export.csv?action=key_created")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="audit-acme-' in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:4] == ["Time", "Actor", "Actor email", "Action"]
    [row] = rows[1:]
    assert row[3] == "API key created"
    assert row[4].startswith("'=HYPERLINK")  # a spreadsheet shows it, never runs it
    assert key.plaintext not in body and key.digest not in body


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", 200), ("admin", 200), ("member", 403), ("outsider", 404), ("anonymous", LOGIN)],
)
def test_who_exports_the_audit_log(team, client_for, role, expected):
    response = client_for(actor(team, role)).get("/o/acme/audit/export.csv")
    assert_status(response, expected)


def test_audit_targets_of_ours_read_in_the_readers_language(owner, member, make_key, client_for):
    make_key(member)
    make_key(member)
    org_services.set_key_lifetime_policy(owner.organization, 30)
    org_services.remove_member(member)
    client = client_for(owner)
    client.cookies["django_language"] = "ja"
    page = client.get("/o/acme/audit/").text
    with translation.override("ja"):
        assert translation.gettext("Maximum API key lifetime") in page
    assert "2 件の API キー" in page
    assert "API キー自動失効" in page
    # Stored in English, whatever the language of the request that wrote it.
    assert AuditEvent.objects.filter(target="2 API keys").exists()


def test_the_language_applies_when_picked_with_a_button_without_javascript(member, client_for):
    page = client_for(member).get("/o/acme/api-keys/").text
    # The header's and the account menu's (phones'), each applied by console.js.
    assert page.count("data-apply-on-change") == 2
    assert len(re.findall(r'<button type="submit"[^>]*>Change</button>', page)) == 2


def test_error_pages_offer_sign_in_to_the_signed_out(db, client, member, client_for):
    assert "Sign in" in client.get("/no/such/page/").text
    assert "Go to your API keys" in client_for(member).get("/no/such/page/").text


def test_the_revoke_dialog_says_who_is_told_and_when_the_key_was_used(admin, client_for):
    other = MembershipFactory(organization=admin.organization, user__name="Rita")
    key = ApiKeyFactory(membership=other)
    dialog = client_for(admin).get(f"/o/acme/api-keys/{key.pk}/revoke/", **HTMX).text
    assert "We email Rita that you revoked it." in dialog
    assert "Last used" in dialog and "Never" in dialog


@pytest.mark.parametrize(
    "path",
    ["/o/acme/settings/", "/o/acme/api-keys/", "/o/acme/members/", "/o/acme/usage/"],
)
def test_every_id_on_an_owners_page_is_its_own(owner, client_for, path):
    """Several forms on one page (Settings: the key policy, two-factor, SSO, SCIM): a
    repeated id would tie a label to another section's field."""
    page = client_for(owner).get(path)
    assert page.status_code == 200
    ids = re.findall(r'\sid="([^"]+)"', page.content.decode())
    assert [i for i in set(ids) if ids.count(i) > 1] == []
