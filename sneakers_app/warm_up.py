"""A web worker gets ready before it takes its first tabs.

Granian serves a worker once the app's lifespan has started, and a rolling restart hands the
stopped worker's tabs to its successor 3.5 s after starting it. The first requests of a fresh
worker paid for what the process does only once: creating the database engine (importing the
PostgreSQL driver: 0.7 s of a worker's CPU profiled while the tabs arrived), its first
connections, and Plotly's validators for a chart read back from a session. This lifespan step
does that first, so the tabs that arrive find a worker as quick as the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

from sqlalchemy import text

from sneakers_app.db import session_scope
from sneakers_app.redis_client import get_redis

log = logging.getLogger(__name__)

WARM_UP_SECONDS = 5.0
"""The longest a worker's start waits for it (a database or Redis away: it serves cold)."""


def warm() -> None:
    with session_scope() as session:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    get_redis().ping()
    from state import charts, product_chart

    figure = product_chart.warm_up()
    charts.SharedFigure(json.loads(figure.to_json()))  # as a session's chart is read back


@contextlib.asynccontextmanager
async def ready_before_serving() -> AsyncIterator[None]:
    """A lifespan step of the Reflex app (entered before the worker serves)."""
    try:
        await asyncio.wait_for(asyncio.to_thread(warm), WARM_UP_SECONDS)
    except Exception:
        log.warning("warm-up failed: this web worker starts cold", exc_info=True)
    yield
