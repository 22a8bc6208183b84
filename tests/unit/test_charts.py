"""The chart figures' date axis: one day of data must not become an axis of hours (Plotly's
autorange around a single date spans a fraction of a second)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sneakers_app.services.analytics import DailyPoint
from sneakers_app.services.portfolio import ValuePoint
from state import charts, product_chart

DAY = date(2026, 3, 14)


def _span(axis: dict[str, object]) -> tuple[datetime, datetime]:
    start, end = (datetime.fromisoformat(str(t)) for t in axis["range"])  # type: ignore[attr-defined]
    return start, end


def test_one_day_of_portfolio_shows_the_week_ending_that_day_a_tick_a_day() -> None:
    fig = charts.value_chart([ValuePoint(day=DAY, value_cents=25_000, cost_cents=20_000)])
    axis = fig.layout.xaxis.to_plotly_json()
    # Mar 8 to Mar 14, half a day of margin each side.
    assert _span(axis) == (datetime(2026, 3, 7, 12), datetime(2026, 3, 14, 12))
    assert axis["dtick"] == 86_400_000
    assert axis["tickformat"] == "%b %-d"
    # Both figures show as points (a line through one day has no length).
    assert [(t.name, "markers" in t.mode) for t in fig.data] == [
        ("Paid", True),
        ("Market value", True),
    ]


def test_one_sale_on_the_price_chart_gets_the_same_week() -> None:
    point = DailyPoint(day=DAY, average_cents=30_000, low_cents=30_000, high_cents=30_000, volume=1)
    axis = product_chart.figure([point], "all sizes").layout.xaxis.to_plotly_json()
    assert _span(axis) == (datetime(2026, 3, 7, 12), datetime(2026, 3, 14, 12))
    assert axis["dtick"] == 86_400_000


def test_a_week_or_more_is_left_to_plotly() -> None:
    days = [DAY + timedelta(days=i) for i in range(7)]
    axis = charts.date_axis(days)
    assert "range" not in axis and "dtick" not in axis
    assert charts.date_axis([]) == {"showgrid": False, "type": "date", "fixedrange": True}
    assert "range" in charts.date_axis(days[:6])


def test_no_chart_shows_plotly_toolbar() -> None:
    assert charts.CONFIG["displayModeBar"] is False
