"""Pagination without a COUNT: a page of a long list costs the same whatever the list's
length (counting 10,000 keys cost more than rendering the page)."""

import math
from dataclasses import dataclass


@dataclass
class Page:
    object_list: list
    number: int
    per_page: int
    has_next: bool
    count: int | None = None  # the whole list's length, where it was counted

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1

    @property
    def end_index(self) -> int:
        return self.start_index + len(self.object_list) - 1


# Far past any real list, and small enough that the offset fits every database's integer
# (?page=99999999999999999999 overflowed SQLite's).
MAX_PAGE = 100_000


def page_number(value) -> int:
    """A requested page number as every list takes it: 1-based, anything that is not a
    whole number means 1, and huge ones are clamped."""
    try:
        number = int(value)
    except (TypeError, ValueError):  # also digit strings too long to convert
        return 1
    return min(max(1, number), MAX_PAGE)


def page_of(
    queryset, number, per_page: int, *, counted: bool = False, last_past_end: bool = False
) -> Page:
    """The `number`th page (see page_number), fetching one extra row to know whether
    another page follows. `counted`: and the whole list's length, for "21-29 of 29"
    and "61 members" (one COUNT more, except on the last page). Past the end the page
    is empty, with a way back; `last_past_end`: it is the last page instead."""
    number = page_number(number)
    offset = (number - 1) * per_page
    rows = list(queryset[offset : offset + per_page + 1])
    page = Page(rows[:per_page], number, per_page, has_next=len(rows) > per_page)
    past_end = number > 1 and not rows
    if counted or (last_past_end and past_end):
        on_last_page = not page.has_next and not past_end
        # There the length is the full pages before it and its own rows, without a COUNT.
        page.count = offset + len(rows) if on_last_page else queryset.count()
    if last_past_end and past_end:
        last = max(1, math.ceil(page.count / per_page))
        return page_of(queryset, last, per_page, counted=counted)
    return page


def without_page(request, param: str = "page") -> str:
    """The request's query string without its page number: a list's filters, for its
    page links to carry on (templates/_pagination.html)."""
    query = request.GET.copy()
    query.pop(param, None)
    return query.urlencode()
