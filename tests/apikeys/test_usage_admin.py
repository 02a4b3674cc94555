"""API key usage in Django admin: operators look, filter and search; nobody adds, edits
or deletes a count there (apikeys.usage writes them, `prune_usage` deletes them)."""

from datetime import date, timedelta

import pytest

from apikeys.models import KeyUsage, Outcome

from ..factories import ApiKeyFactory, MembershipFactory, UserFactory, give_second_factor
from ..sessions import sign_in

LIST = "/admin/apikeys/keyusage/"
DAY = date(2026, 12, 1)


@pytest.fixture
def ops(client, db):
    operator = UserFactory(email="ops@genesis.test", is_staff=True, is_superuser=True)
    give_second_factor(operator)
    return sign_in(client, operator)


@pytest.fixture
def usage(member, make_key):
    key = make_key(member, "Deploy from CI")
    other = make_key(member, "Nightly build")
    rows = [
        KeyUsage.objects.create(key=key, date=DAY, surface="api", outcome=Outcome.OK, count=5),
        KeyUsage.objects.create(key=key, date=DAY, surface="mcp", outcome=Outcome.OK, count=3),
        KeyUsage.objects.create(
            key=other,
            date=DAY - timedelta(days=40),
            surface="api",
            outcome=Outcome.REFUSED,
            count=2,
        ),
    ]
    return {"key": key, "other": other, "rows": rows}


def listed(response) -> list[tuple]:
    return sorted(
        (row.key.name, row.surface, row.outcome, row.count)
        for row in response.context["cl"].result_list
    )


def test_the_list_shows_each_keys_counts_and_never_its_secret(ops, usage):
    page = ops.get(LIST)
    assert page.status_code == 200
    assert listed(page) == [
        ("Deploy from CI", "api", "ok", 5),
        ("Deploy from CI", "mcp", "ok", 3),
        ("Nightly build", "api", "refused", 2),
    ]
    text = page.text
    assert usage["key"].hint in text and "Acme" in text
    for key in (usage["key"], usage["other"]):
        assert key.plaintext not in text and key.digest not in text
    row = ops.get(f"{LIST}{usage['rows'][0].pk}/change/").text
    assert usage["key"].plaintext not in row and usage["key"].digest not in row


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("surface__exact=mcp", [("Deploy from CI", "mcp", "ok", 3)]),
        ("outcome__exact=refused", [("Nightly build", "api", "refused", 2)]),
        ("q=nightly", [("Nightly build", "api", "refused", 2)]),
        (f"date__gte={DAY - timedelta(days=1)}&date__lt={DAY + timedelta(days=1)}", "two"),
    ],
)
def test_the_list_filters_by_surface_outcome_and_date_and_searches_names(ops, usage, query, names):
    page = ops.get(f"{LIST}?{query}")
    assert page.status_code == 200
    if names == "two":
        assert [row[0] for row in listed(page)] == ["Deploy from CI", "Deploy from CI"]
    else:
        assert listed(page) == names


def test_the_list_searches_by_the_keys_visible_prefix(ops, usage):
    prefix = usage["other"].hint.split("…")[0]
    page = ops.get(LIST, {"q": prefix})
    assert [row[0] for row in listed(page)] == ["Nightly build"]


def test_counts_cannot_be_added_edited_or_deleted(ops, usage):
    row = usage["rows"][0]
    assert ops.get(f"{LIST}add/").status_code == 403
    page = ops.get(f"{LIST}{row.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.text and "deletelink" not in page.text
    edited = ops.post(f"{LIST}{row.pk}/change/", {"count": 999, "surface": "api"})
    assert edited.status_code == 403
    assert ops.post(f"{LIST}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = ops.post(LIST, {"action": "delete_selected", "_selected_action": [row.pk]})
    assert bulk.status_code in (200, 302)
    assert KeyUsage.objects.get(pk=row.pk).count == 5
    assert KeyUsage.objects.count() == 3


def test_the_list_costs_the_same_queries_at_any_length(
    ops, member, usage, django_assert_max_num_queries
):
    with django_assert_max_num_queries(7) as few:
        ops.get(LIST)
    for index in range(30):
        person = MembershipFactory(organization=member.organization)
        key = ApiKeyFactory(membership=person, name=f"Key {index}")
        KeyUsage.objects.create(key=key, date=DAY, surface="api", outcome=Outcome.OK, count=1)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(ops.get(LIST).context["cl"].result_list) == 33


def test_anonymous_and_people_who_are_not_staff_never_see_it(client, member, usage):
    assert client.get(LIST).status_code == 302
    sign_in(client, member.user)
    response = client.get(LIST)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
