"""Pagination without a COUNT: a page of a long list costs the same whatever the list's
length (counting 10,000 keys cost more than rendering the page)."""

from dataclasses import dataclass


@dataclass
class Page:
    object_list: list
    number: int
    per_page: int
    has_next: bool

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


def page_of(queryset, number, per_page: int) -> Page:
    """The `number`th page (1-based; anything else means 1), fetching one extra row to
    know whether another page follows."""
    try:
        number = max(1, int(number))
    except (TypeError, ValueError):
        number = 1
    offset = (number - 1) * per_page
    rows = list(queryset[offset : offset + per_page + 1])
    return Page(rows[:per_page], number, per_page, has_next=len(rows) > per_page)
