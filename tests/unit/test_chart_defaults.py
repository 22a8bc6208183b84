"""A chart var's default is one shared empty figure, not a deep copy per session: Reflex copies a
var's mutable default for every new session it touches (a page's hydrate touches every state),
and copying a plotly Figure cost most of a product page join's CPU."""

from __future__ import annotations

import pytest

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
