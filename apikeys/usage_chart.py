"""The geometry of a usage chart (templates/apikeys/_usage_chart.html draws it as SVG):
one stacked bar per day, a series per colour (apikeys.usage_report.SERIES).

Server-rendered: no script, and nothing the CSP refuses (positions are SVG attributes,
colours CSS classes of console.css, so both themes apply). The drawing is a fixed
coordinate space (a viewBox) that the page scales to its width."""

from dataclasses import dataclass

from django.utils import formats

from .usage_report import SERIES, Usage

WIDTH, HEIGHT = 720, 270
# Room for the axes' labels, which console.css sets twice as large on a phone (where the
# drawing is scaled to under half its size).
LEFT, RIGHT, TOP, BOTTOM = 84, 8, 16, 40
BAR_GAP = 4
# A date under every LABEL_EVERY-th bar counted back from the last day (today's is
# always labelled), so labels never collide.
LABEL_EVERY = 7


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str
    title: str  # what a pointer over it shows


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class DayLabel:
    x: float
    label: str
    anchor: str = "middle"  # the SVG text-anchor: today's ends at the drawing's edge


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    ticks: list[Tick]
    day_labels: list[DayLabel]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    baseline: int = HEIGHT - BOTTOM


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... at or above `value` (at least 1): the
    axis's top, so its ticks are round numbers."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def chart(usage: Usage) -> Chart:
    top = nice_ceiling(max((day.total for day in usage.days), default=0))
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / len(usage.days)
    labels = {series.id: str(series.label) for series in SERIES}
    bars, day_labels = [], []
    for index, day in enumerate(usage.days):
        x = LEFT + index * slot
        shown_date = formats.date_format(day.date, "SHORT_DATE_FORMAT")
        stacked = 0
        for series in SERIES:
            requests = day.counts.get(series.id, 0)
            if not requests:
                continue
            height = requests / top * plot_height
            stacked += height
            bars.append(
                Bar(
                    x=round(x + BAR_GAP / 2, 2),
                    y=round(HEIGHT - BOTTOM - stacked, 2),
                    width=round(slot - BAR_GAP, 2),
                    height=round(height, 2),
                    series=series.id,
                    title=f"{shown_date} · {labels[series.id]}: {requests}",
                )
            )
        label = f"{day.date.month}/{day.date.day}"
        if index == len(usage.days) - 1:
            day_labels.append(DayLabel(WIDTH - RIGHT, label, "end"))
        elif (len(usage.days) - 1 - index) % LABEL_EVERY == 0:
            day_labels.append(DayLabel(round(x + slot / 2, 2), label))
    ticks = [
        Tick(round(HEIGHT - BOTTOM - plot_height * fraction, 2), formats.number_format(int(value)))
        for fraction, value in ((0, 0), (0.5, top / 2), (1, top))
        if value == int(value)
    ]
    return Chart(bars, ticks, day_labels)
