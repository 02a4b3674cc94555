"""IP allowlists: a key that works only from the addresses and ranges its owner listed,
checked against the client IP decided behind TRUSTED_PROXIES, refused like any other bad
key, and the refusal shown to its owner."""

import re

import pytest
from django.core.exceptions import ValidationError

from apikeys import allowlist
from apikeys.models import ApiKey
from organizations.models import AuditAction, AuditEvent

from ..test_client_ip import mcp, me

INSIDE_V4, OUTSIDE_V4 = "203.0.113.9", "198.51.100.7"
INSIDE_V6, OUTSIDE_V6 = "2001:db8:1::42", "2001:db9::1"
LIST = "203.0.113.0/24 2001:db8:1::/48"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("", ""),
        ("203.0.113.9", "203.0.113.9/32"),
        ("203.0.113.9/24", "203.0.113.0/24"),  # host bits dropped
        ("203.0.113.0/24,\n 2001:DB8:1::/48", LIST),
        ("10.0.0.1 10.0.0.1/32", "10.0.0.1/32"),  # the same entry once
        ("::1", "::1/128"),
    ],
)
def test_what_is_typed_is_stored_normalised(typed, stored):
    assert allowlist.parse(typed) == stored


@pytest.mark.parametrize("typed", ["nope", "10.0.0.0/33", "2001:db8::g", "10.0.0.1-10.0.0.9"])
def test_bad_entries_are_named(typed):
    with pytest.raises(ValidationError, match="is not an IP address or a range"):
        allowlist.parse(typed)


def test_at_most_twenty_entries():
    allowlist.parse(" ".join(f"10.0.0.{n}" for n in range(20)))
    with pytest.raises(ValidationError, match="At most 20"):
        allowlist.parse(" ".join(f"10.0.0.{n}" for n in range(21)))


@pytest.mark.parametrize(
    ("ip", "allowed"),
    [
        (INSIDE_V4, True),
        (OUTSIDE_V4, False),
        (INSIDE_V6, True),
        (OUTSIDE_V6, False),
        ("::ffff:203.0.113.9", True),  # an IPv4 client seen through an IPv6 socket
        (None, False),
        ("", False),
        ("garbage", False),
    ],
)
def test_who_is_inside(ip, allowed):
    assert allowlist.allows(LIST, ip) is allowed
    assert allowlist.allows("", ip) is True  # no list: anywhere


@pytest.mark.parametrize("call", [me, mcp], ids=["api", "mcp"])
def test_a_key_works_only_from_its_ranges_behind_the_proxy(
    proxied, transactional_db, member, make_key, call
):
    url = proxied.url if call is me else proxied.mcp_url
    key = make_key(member, allowed_ips=LIST)
    assert call(url, key.plaintext, INSIDE_V4).status_code == 200
    assert call(url, key.plaintext, INSIDE_V6).status_code == 200
    refused = call(url, key.plaintext, OUTSIDE_V4)
    wrong = call(url, "gns_" + "A" * 38, OUTSIDE_V6)
    assert refused.status_code == wrong.status_code == 401
    assert refused.content == wrong.content  # nothing tells the two apart
    assert call(url, key.plaintext, OUTSIDE_V6).status_code == 401
    key.refresh_from_db()
    assert key.last_refused_ip == OUTSIDE_V4 and key.last_refused_at is not None
    assert key.last_used_ip in (INSIDE_V4, INSIDE_V6)
    # Once a minute at most: the second refusal wrote nothing more.
    [event] = AuditEvent.objects.filter(action=AuditAction.KEY_REFUSED)
    assert event.details == {"ip": OUTSIDE_V4} and event.target_user == member.user


def test_the_owner_sees_a_refusal_in_the_list_and_the_log(admin, member, client_for, make_key):
    from apikeys import services

    key = make_key(member, "Runner", allowed_ips=LIST)
    assert services.authenticate(key.plaintext, OUTSIDE_V4) is None
    listed = client_for(member).get("/o/acme/api-keys/").text
    assert f"Refused from {OUTSIDE_V4}" in listed
    log = client_for(admin).get("/o/acme/audit/").text
    assert f"refused from {OUTSIDE_V4}" in log


def test_without_trusted_proxies_a_forged_header_gets_no_one_inside(
    direct, transactional_db, member, make_key
):
    key = make_key(member, allowed_ips="203.0.113.0/24")
    assert me(direct.url, key.plaintext, INSIDE_V4).status_code == 401  # peer is 127.0.0.1
    loopback = make_key(member, allowed_ips="127.0.0.1")
    assert me(direct.url, loopback.plaintext, OUTSIDE_V4).status_code == 200


def test_the_key_check_stays_one_query(member, make_key, django_assert_num_queries):
    from apikeys import services

    key = make_key(member, allowed_ips=LIST)
    with django_assert_num_queries(1):
        assert services.authenticate(key.plaintext, INSIDE_V4) is not None


def test_created_in_the_console_shown_in_the_lists_kept_on_roll(member, admin, client_for):
    client = client_for(member)
    created = client.post(
        "/o/acme/api-keys/create/", {"name": "CI runner", "allowed_ips": "203.0.113.7/24"}
    )
    assert created.status_code == 200
    assert "Only from 203.0.113.0/24" in created.text  # in the reveal dialog
    key = ApiKey.objects.get()
    assert key.allowed_ips == "203.0.113.0/24"
    event = AuditEvent.objects.get(action=AuditAction.KEY_CREATED)
    assert event.details["allowed_ips"] == ["203.0.113.0/24"]
    assert "Only from 203.0.113.0/24" in client.get("/o/acme/api-keys/").text
    assert (
        "Only from 203.0.113.0/24" in client_for(admin).get("/o/acme/api-keys/organization/").text
    )
    client.post(f"/o/acme/api-keys/{key.pk}/roll/")
    assert ApiKey.objects.active().get().allowed_ips == "203.0.113.0/24"


@pytest.mark.parametrize("htmx", [False, True])
def test_a_bad_entry_gets_a_message_and_no_key(member, client_for, htmx):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = client_for(member).post(
        "/o/acme/api-keys/create/", {"name": "CI", "allowed_ips": "10.0.0.0/99"}, **headers
    )
    assert response.status_code == 400
    assert "is not an IP address or a range" in response.text
    assert not ApiKey.objects.exists()


def test_an_ipv4_mapped_range_is_stored_as_ipv4_and_matches():
    stored = allowlist.parse("::ffff:203.0.113.0/120")
    assert stored == "203.0.113.0/24"
    assert allowlist.allows(stored, "203.0.113.5")
    assert allowlist.allows(stored, "::ffff:203.0.113.5")


def test_every_bad_line_is_listed_with_its_number(member, client_for):
    typed = "203.0.113.0/24\nnope\n\n10.0.0.1, 10.0.0.0/33\n2001:db8::/48\nalso wrong"
    response = client_for(member).post(
        "/o/acme/api-keys/create/",
        {"name": "CI", "allowed_ips": typed},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    errors = re.findall(r"<li>(Line \d+: [^<]*)</li>", response.text)
    assert [error.split(":")[0] for error in errors] == ["Line 2", "Line 4", "Line 6", "Line 6"]
    assert "“nope”" in errors[0] and "“10.0.0.0/33”" in errors[1]
    assert "“also”" in errors[2] and "“wrong”" in errors[3]
    # The field's description names the list, so a screen reader reads every line.
    assert 'aria-describedby="id_allowed_ips_helptext id_allowed_ips_error"' in response.text
    assert 'id="id_allowed_ips_error"' in response.text
    assert not ApiKey.objects.exists()


def test_a_paste_of_something_else_lists_twenty_and_counts_the_rest():
    with pytest.raises(ValidationError) as raised:
        allowlist.parse("\n".join(f"word{n}" for n in range(30)))
    assert len(raised.value.messages) == 21
    assert raised.value.messages[0].startswith("Line 1: “word0”")
    assert raised.value.messages[-1] == "and 10 more entries"
