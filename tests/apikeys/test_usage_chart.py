"""The usage chart's geometry: bars stacked within the drawing, round axis numbers."""

from datetime import date, timedelta

import pytest

from apikeys import usage_chart, usage_report

TODAY = date(2026, 12, 6)


@pytest.mark.parametrize(
    ("value", "top"), [(0, 1), (1, 1), (3, 5), (10, 10), (11, 20), (47, 50), (501, 1000)]
)
def test_the_axis_ends_at_a_round_number(value, top):
    assert usage_chart.nice_ceiling(value) == top


def buckets(*rows):
    return [
        {"date": TODAY - timedelta(days=ago), "surface": s, "outcome": o, "count": n}
        for ago, s, o, n in rows
    ]


def test_a_days_requests_stack_in_series_order_up_to_the_axis_top():
    usage = usage_report.summarize(
        buckets((0, "api", "ok", 5), (0, "mcp", "ok", 3), (0, "api", "forbidden", 2)), TODAY
    )
    chart = usage_chart.chart(usage)
    assert [bar.series for bar in chart.bars] == ["api", "mcp", "forbidden"]
    baseline = usage_chart.HEIGHT - usage_chart.BOTTOM
    top = usage_chart.TOP
    # 10 requests on a 0-10 axis: the stack fills the plot exactly, each bar on the last.
    assert chart.bars[0].y + chart.bars[0].height == pytest.approx(baseline)
    for lower, upper in zip(chart.bars, chart.bars[1:], strict=False):
        assert upper.y + upper.height == pytest.approx(lower.y)
    assert chart.bars[-1].y == pytest.approx(top)
    assert [tick.label for tick in chart.ticks] == ["0", "5", "10"]
    for bar in chart.bars:
        assert bar.x >= usage_chart.LEFT and bar.x + bar.width <= usage_chart.WIDTH


def test_every_day_of_the_period_is_there_and_older_rows_are_left_out():
    usage = usage_report.summarize(buckets((29, "api", "ok", 1), (30, "api", "ok", 9)), TODAY)
    assert len(usage.days) == 30 and usage.days[-1].date == TODAY
    assert usage.total == 1
    chart = usage_chart.chart(usage)
    assert chart.day_labels[-1].label == "12/6" and chart.day_labels[-1].anchor == "end"


def test_an_empty_period_draws_no_bars():
    chart = usage_chart.chart(usage_report.summarize([], TODAY))
    assert chart.bars == [] and [tick.label for tick in chart.ticks] == ["0", "1"]
