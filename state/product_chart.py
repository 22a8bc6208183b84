"""The product page's price chart as a plotly figure (volume bars and the average sale)."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import plotly.graph_objects as go

from sneakers_app.services.analytics import DailyPoint
from state import charts


def figure(points: Sequence[DailyPoint], label: str) -> go.Figure:
    """The chart, shared by every session showing the same points (never changed once made:
    a plotly figure is a few thousand objects once serialised, and a thousand open pages each
    holding its own made the garbage collector's full passes take half a second)."""
    return _shared_figure(tuple(points), label)


def warm_up() -> go.Figure:
    """Build one figure now: Plotly makes its validators on first use (about 0.4 s, once per
    process), which the app pays as it starts rather than the first visitor of a product page
    waiting for the chart."""
    return _shared_figure((), "")


@functools.lru_cache(maxsize=256)
def _shared_figure(points: tuple[DailyPoint, ...], label: str) -> go.Figure:
    days = [p.day.isoformat() for p in points]
    fig = charts.SharedFigure()
    fig.add_trace(
        go.Bar(
            x=days,
            y=[p.volume for p in points],
            name="Pairs sold",
            yaxis="y2",
            marker={"color": "rgba(100, 116, 139, 0.45)"},
            hovertemplate="%{y} sold<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=days,
            y=[p.average_cents / 100 for p in points],
            name=f"Average sale ({label})",
            mode="lines+markers" if len(points) < 40 else "lines",
            line={"color": "#30a46c", "width": 2.5, "shape": "spline", "smoothing": 0.4},
            marker={"size": 5},
            hovertemplate="%{x|%b %-d, %Y}<br><b>$%{y:,.0f}</b> average<extra></extra>",
        )
    )
    fig.update_layout(
        height=320,
        margin={"l": 8, "r": 8, "t": 8, "b": 8},
        showlegend=False,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        hovermode="x unified",
        bargap=0.2,
        font={"family": "Inter, system-ui, sans-serif", "size": 12, "color": "#60646c"},
        xaxis=charts.date_axis([p.day for p in points]),
        yaxis={
            "side": "right",
            "tickprefix": "$",
            "tickformat": ",.0f",
            "gridcolor": "rgba(0,0,0,0.06)",
            "fixedrange": True,
            "zeroline": False,
        },
        yaxis2={
            "overlaying": "y",
            "side": "left",
            "showgrid": False,
            "showticklabels": False,
            "fixedrange": True,
            "range": [0, max([p.volume for p in points] + [1]) * 4],
        },
    )
    return fig
