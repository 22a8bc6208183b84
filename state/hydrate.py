"""A tab's hydrate shows the live market as of now.

Reflex sends a tab its whole state when it (re)connects (`State.hydrate_and_load`), then runs the
page's `on_load`. The product page's market vars in a saved session are as old as the tab's last
save: the live feed pushes prices straight to the browser (`state.live_push`), not through the
session. So a tab coming back (a network blip, a web worker restarted, a reload) showed the
prices of its last save, older than what it showed before, until its `on_load` had run: after
every other hydrate queued on that worker, a second or more when a restart hands a hundred tabs
to a worker at once. This middleware refreshes them first, from the worker's shared read
(`ProductState.show_market_now`: the view's latest read in this process if it started
within `HYDRATE_FRESH_SECONDS`, else one read shared by the tabs arriving together), bounded by
`HYDRATE_READ_SECONDS`: a slower read leaves the
hydrate as it was, and the page's load reads the market as before.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from reflex.constants import CompileVars
from reflex.middleware.middleware import Middleware
from reflex.state import BaseState, State

from state.product import ProductState

logger = logging.getLogger(__name__)

HYDRATE_READ_SECONDS = 0.5
"""How long a hydrate may wait for the market's read (shared by the tabs arriving together)."""
HYDRATE_FRESH_SECONDS = 0.5
"""A read of the market that started this recently will do for a hydrate."""

_HYDRATES = frozenset(
    f"{State.get_full_name()}.{name}"
    for name in (CompileVars.HYDRATE, CompileVars.HYDRATE_AND_LOAD)
)


class MarketOnHydrate(Middleware):
    async def preprocess(self, app: Any, state: BaseState, event: Any) -> None:
        if getattr(event, "name", "") not in _HYDRATES:
            return
        try:
            page = await state.get_state(ProductState)
            await asyncio.wait_for(
                page.show_market_now(HYDRATE_FRESH_SECONDS), HYDRATE_READ_SECONDS
            )
        except TimeoutError:
            logger.info("a hydrate went on without the market: its read took longer")
        except Exception:
            logger.warning("a hydrate went on without the market", exc_info=True)
