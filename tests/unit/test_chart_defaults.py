"""Chart vars cost nothing per session: a new session's default is one shared empty figure, not a
deep copy (Reflex copies a var's mutable default for every session a page's hydrate touches,
and copying a plotly Figure cost most of a product page join's CPU); and a chart loaded again
from a pickled session (sessions in Redis: every event) is not rebuilt each time."""

from __future__ import annotations

import pickle
from datetime import date, timedelta

import pytest

from sneakers_app.services.analytics import DailyPoint
from state import charts, product_chart
from state.base import SessionState
from state.charts import EMPTY_FIGURE
from state.portfolio import PortfolioState
from state.product import ProductState
from state.selling import SellerState


@pytest.mark.parametrize("state", [ProductState, SellerState, PortfolioState])
def test_a_new_session_starts_with_the_shared_empty_chart(state: type[SessionState]) -> None:
    field = state.get_fields()["figure"]
    assert field.default_factory is not None
    assert field.default_factory() is EMPTY_FIGURE
    assert field.default_factory() is field.default_factory()


def _a_chart() -> charts.SharedFigure:
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(60)]
    points = [
        DailyPoint(
            day=day, average_cents=25_000 + i, low_cents=24_000, high_cents=26_000, volume=i % 5
        )
        for i, day in enumerate(days)
    ]
    chart: charts.SharedFigure = product_chart.figure(points, "US M 10")
    return chart


def test_a_chart_comes_back_from_a_pickle_unchanged() -> None:
    chart = _a_chart()
    again = pickle.loads(pickle.dumps(chart))  # noqa: S301 - our own bytes
    assert isinstance(again, charts.SharedFigure)
    assert again.to_plotly_json() == chart.to_plotly_json()


def test_a_pickled_chart_is_rebuilt_once_per_process_not_on_every_load() -> None:
    """Sessions in Redis: every event loads the tab's state, chart included; plotly rebuilding
    and validating the figure each time was most of a web worker's CPU."""
    data = pickle.dumps(_a_chart())
    assert pickle.loads(data) is pickle.loads(data)  # noqa: S301 - our own bytes


def test_a_shared_chart_is_sent_as_reflex_would_send_it_but_serialised_once() -> None:
    """What the browser gets for a chart is Reflex's own serialisation of a Figure, made once
    per chart rather than for every tab it is sent to (plotly's `to_json` runs its validators:
    16 % of a web worker's CPU while a crowd joined a product page)."""
    from reflex_base.utils.serializers import serialize, serialize_figure

    chart = _a_chart()
    sent = serialize(chart)
    assert sent == serialize_figure(chart)
    assert serialize(chart) is sent
    again = pickle.loads(pickle.dumps(chart))  # noqa: S301 - our own bytes
    assert serialize(again) == sent
    assert serialize(EMPTY_FIGURE) == serialize_figure(EMPTY_FIGURE)
