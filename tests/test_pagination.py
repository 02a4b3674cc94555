"""Every paginated list takes any ?page= value: words, negatives and numbers too big for
the database mean a page that exists, never a 500."""

import pytest

from ui.pages import MAX_PAGE, page_number

LISTS = [
    "/o/acme/api-keys/",
    "/o/acme/api-keys/organization/",
    "/o/acme/members/",
    "/o/acme/audit/",
]
BAD_PAGES = ["abc", "-3", "0", "2.5", "", "99999999999999999999", "9" * 5000, "1e9", "٣"]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("page", BAD_PAGES)
def test_any_page_number_gets_a_page(owner, member, client_for, make_key, path, page):
    make_key(member, "Listed key")
    response = client_for(owner).get(path, {"page": page})
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/o/acme/api-keys/", "/o/acme/audit/"])
def test_a_page_past_the_end_is_empty_with_a_way_back(owner, member, client_for, make_key, path):
    make_key(member, "Listed key")
    response = client_for(owner).get(path, {"page": "99999999999999999999"})
    assert response.status_code == 200
    assert "Listed key" not in response.text.split("My API keys")[-1]
    assert f"page={MAX_PAGE - 1}" in response.text


def test_the_members_list_shows_its_last_page_past_the_end(owner, member, client_for):
    response = client_for(owner).get("/o/acme/members/", {"page": "99999999999999999999"})
    assert response.status_code == 200
    assert member.user.email in response.text


@pytest.mark.parametrize(
    ("value", "number"),
    [(None, 1), ("abc", 1), ("-3", 1), ("0", 1), ("7", 7), (" 7 ", 7), ("9" * 30, MAX_PAGE)],
)
def test_page_numbers_are_whole_and_clamped(value, number):
    assert page_number(value) == number
