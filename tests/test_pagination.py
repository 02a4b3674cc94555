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


# Numbers past this one page: the clamped huge one, and ٣ (Arabic-Indic 3, a digit like
# any other); 5,000 digits are no number at all (Python reads at most 4,300): page 1.
PAST_THE_END = {"99999999999999999999", "٣"}


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("page", BAD_PAGES)
def test_any_page_number_gets_a_page(owner, member, client_for, make_key, path, page):
    """Anything that isn't a page number is the first page; a number past the end is
    the page past the end (the Members list: its last page)."""
    make_key(member, "Listed key")
    response = client_for(owner).get(path, {"page": page})
    assert response.status_code == 200
    # What the list's one page holds: the member's key (its creation, in the audit log),
    # or on the Members list the member.
    listed = member.user.email if "/members/" in path else "Listed key"
    shown = page not in PAST_THE_END or "/members/" in path
    assert (listed in response.text) is shown


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
