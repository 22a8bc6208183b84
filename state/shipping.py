"""The seller's shipping panel on /orders/[order_id]: where to send the pair and its label, and
the tracking of a failed pair on its way back."""

from __future__ import annotations

import reflex as rx

from sneakers_app import routes
from sneakers_app.db import session_scope
from sneakers_app.services import labels
from sneakers_app.settings import get_settings
from state.base import SessionState


class OrderShippingState(SessionState):
    shown: bool = False
    code: str = ""
    ship_to: list[str] = []
    label_href: str = ""
    return_tracking: str = ""

    @rx.event
    def on_load(self) -> None:
        """Shown to the order's seller only, while the pair is theirs to send (the service
        decides both; anyone else sees nothing)."""
        self.reset()  # type: ignore[no-untyped-call]
        user = self._current_user()
        raw = routes.order_id_in((self.router.url.path or "").rstrip("/"))
        if user is None or not raw.isdigit() or len(raw) > 12:
            return
        with session_scope() as session:
            shipping = labels.seller_shipping(
                session=session, token=self.auth_token, order_id=int(raw)
            )
        if shipping is None:
            return
        self.shown = True
        self.code = shipping.code
        self.ship_to = list(shipping.ship_to)
        if shipping.label_link:
            self.label_href = get_settings().API_URL.rstrip("/") + shipping.label_link
        self.return_tracking = shipping.return_tracking
