"""The product page's trade dialog driven from a websocket tab (tests/support/reflex_client.py),
as a browser does it: open the dialog for a kind (bid, ask), choose the size, submit a price."""

from __future__ import annotations

from state.product import ProductState
from state.product_trade import TradeState
from tests.support.reflex_client import Tab, Update, state_name

PRODUCT = state_name(ProductState)
TRADE = state_name(TradeState)


def _answered(u: Update) -> bool:
    said = u.value(TRADE, "form_error") or u.value(TRADE, "price_error")
    return (
        bool(said or u.value(PRODUCT, "listing_message"))
        or u.value(PRODUCT, "dialog_open") is False
    )


async def submit(tab: Tab, *, kind: str, size: str, price: str, timeout: float = 60.0) -> str:
    """The refusal the dialog shows ("" when the order was placed)."""
    mark = len(tab.updates)
    await tab.send(TRADE, "open_trade", kind=kind)
    await tab.wait_var(PRODUCT, "dialog_open", True, timeout, since=mark)
    await tab.send(TRADE, "set_dialog_size", size=size)
    mark = len(tab.updates)
    await tab.send(TRADE, "submit_trade", form_data={"price": price})
    done = await tab.wait_for(_answered, timeout, since=mark)
    return str(done.value(TRADE, "form_error") or done.value(TRADE, "price_error") or "")
