"""The member's dashboard charts (a plotly figure is a state var): the portfolio's value over
time and the seller's sales; and the look they share: a transparent background, the app's font,
one hover box for the day or period, money on the value axis."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

import plotly.graph_objects as go
import reflex as rx

from sneakers_app.services import portfolio
from sneakers_app.services import seller_dashboard as dash

FONT = {"family": "Inter, system-ui, sans-serif", "size": 12, "color": "#60646c"}
MONEY_AXIS: dict[str, object] = {
    "tickprefix": "$",
    "tickformat": ",.0f",
    "gridcolor": "rgba(0,0,0,0.06)",
    "fixedrange": True,
    "zeroline": False,
}
"""A y axis in whole dollars (the figure's values are dollars: cents / 100)."""


CONFIG: dict[str, object] = {"displayModeBar": False, "responsive": True}
"""Every chart's Plotly config: no toolbar (it covered the legends, and the charts are fixed,
nothing to zoom or pan), redrawn to its box's width."""


class SharedFigure(go.Figure):  # type: ignore[misc]  # plotly is untyped
    """A chart built once and never changed after (every chart var is only ever assigned a new
    one; the product page's are shared by every tab showing the same points). It pickles as its
    JSON text, made at its first pickling and kept, and unpickles to one figure per text per
    process: with sessions in Redis every event loads the tab's state, and plotly rebuilding
    and re-validating a 14-month chart from its pickle took 38 ms of the event, most of a web
    worker's CPU."""

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (_figure_from_json, (self.as_json(),))

    def as_json(self) -> str:
        """The figure's JSON text, made once."""
        text: str | None = getattr(self, "_pickled_json", None)
        if text is None:
            text = self.to_json()
            self._pickled_json = text
        return text

    def as_dict(self) -> dict[str, Any]:
        """What the browser gets (`serialize_shared_figure`), made once: Reflex's own
        serialiser for a Figure runs plotly's `to_json` (all its validators) for every tab
        that is sent the chart, 16 % of a web worker's CPU while a crowd joined a product
        page. Shared by every delta that carries the figure, so never changed."""
        data: dict[str, Any] | None = getattr(self, "_sent_dict", None)
        if data is None:
            data = json.loads(self.as_json())
            self._sent_dict = data
        return data


@rx.serializer
def serialize_shared_figure(figure: SharedFigure) -> dict[str, Any]:
    """A shared chart as the browser gets it (the same as Reflex's Figure serialiser)."""
    return figure.as_dict()


@functools.lru_cache(maxsize=512)
def _figure_from_json(text: str) -> SharedFigure:
    """The figure of a pickled chart (validated once per text and process, then shared)."""
    figure = SharedFigure(json.loads(text))
    figure._pickled_json = text
    return figure


EMPTY_FIGURE = SharedFigure()
"""The figure every chart var starts with, one for all sessions: Reflex deep-copies a var's
mutable default for each new session (13 ms for an empty Figure, three of them in every page
hydrate, most of a page join's CPU). Nothing changes a figure in place: a chart var is only
ever assigned a new one."""


def empty_figure() -> go.Figure:
    """A chart var's default (`rx.field(default_factory=empty_figure)`): the shared one."""
    return EMPTY_FIGURE


MIN_DAYS = 7
"""A date axis spans at least a week: with one day of data Plotly would zoom to the hours
(ticks a fraction of a second apart)."""


def date_axis(days: Sequence[date]) -> dict[str, object]:
    """An x axis of days. Fewer than `MIN_DAYS` days show as the week ending the last one,
    half a day of margin each side, one tick a day."""
    axis: dict[str, object] = {"showgrid": False, "type": "date", "fixedrange": True}
    if not days or (days[-1] - days[0]).days >= MIN_DAYS - 1:
        return axis
    noon = datetime.combine(days[-1], time(12))
    start = noon - timedelta(days=MIN_DAYS)
    return {
        **axis,
        "range": [start.isoformat(sep=" "), noon.isoformat(sep=" ")],
        "dtick": timedelta(days=1) // timedelta(milliseconds=1),
        "tickformat": "%b %-d",
    }


def layout(
    *,
    height: int,
    xaxis: dict[str, object],
    yaxis: dict[str, object],
    legend: bool = True,
    **more: object,
) -> dict[str, object]:
    """A figure's layout: the shared look, its size and axes, and anything `more`."""
    return {
        "height": height,
        "margin": {"l": 8, "r": 8, "t": 8, "b": 8},
        "showlegend": legend,
        **({"legend": {"orientation": "h", "y": 1.12, "x": 0}} if legend else {}),
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "hovermode": "x unified",
        "font": FONT,
        "xaxis": xaxis,
        "yaxis": yaxis,
        **more,
    }


def value_chart(points: list[portfolio.ValuePoint]) -> go.Figure:
    """The portfolio's market value day by day, over what was paid."""
    # The chart starts on the first day something was owned, not with a run of zeros.
    first = next((i for i, p in enumerate(points) if p.cost_cents > 0), len(points))
    points = points[first:]
    days = [p.day.isoformat() for p in points]
    mode = "lines+markers" if len(points) < 20 else "lines"
    fig = SharedFigure()
    fig.add_trace(
        go.Scatter(
            x=days,
            y=[p.cost_cents / 100 for p in points],
            name="Paid",
            mode="lines" if len(points) > 1 else "markers",  # one day: a line has no length
            marker={"color": "#8b8d98", "size": 7},
            line={"color": "#8b8d98", "width": 1.5, "dash": "dot", "shape": "hv"},
            hovertemplate="$%{y:,.0f} paid<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=days,
            y=[p.value_cents / 100 for p in points],
            name="Market value",
            mode=mode,
            fill="tozeroy",
            fillcolor="rgba(48, 164, 108, 0.10)",
            line={"color": "#30a46c", "width": 2.5, "shape": "hv"},
            hovertemplate="%{x|%b %-d, %Y}<br><b>$%{y:,.0f}</b> value<extra></extra>",
        )
    )
    fig.update_layout(
        layout(
            height=260,
            xaxis=date_axis([p.day for p in points]),
            yaxis={"side": "right", **MONEY_AXIS, "rangemode": "tozero"},
        )
    )
    return fig


def sales_chart(report: dash.Analytics) -> go.Figure:
    """A seller's revenue (bars) and pairs sold (line) per week or month."""
    labels = [b.label for b in report.buckets]
    fig = SharedFigure()
    fig.add_trace(
        go.Bar(
            x=labels,
            y=[b.revenue_cents / 100 for b in report.buckets],
            name="Revenue",
            marker={"color": "#30a46c"},
            hovertemplate="%{x}<br><b>$%{y:,.2f}</b> revenue<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=[b.units for b in report.buckets],
            name="Pairs sold",
            yaxis="y2",
            mode="lines+markers",
            line={"color": "#3e63dd", "width": 2},
            marker={"size": 6},
            hovertemplate="%{y} sold<extra></extra>",
        )
    )
    top_units = max([b.units for b in report.buckets] + [1])
    fig.update_layout(
        layout(
            height=280,
            bargap=0.35,
            xaxis={"showgrid": False, "fixedrange": True, "type": "category"},
            yaxis={**MONEY_AXIS, "rangemode": "tozero"},
            yaxis2={
                "overlaying": "y",
                "side": "right",
                "showgrid": False,
                "fixedrange": True,
                "rangemode": "tozero",
                "range": [0, top_units * 1.3],
                "dtick": max(1, top_units // 4),
            },
        )
    )
    return fig
