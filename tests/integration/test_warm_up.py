"""A web worker warms up before it serves: the step is the app's first lifespan task, and it
opens the database and Redis it will use."""

from __future__ import annotations

import asyncio
import logging

import pytest

from sneakers_app import db, warm_up


def test_the_first_lifespan_step_opens_the_database_and_redis(
    app_db: None, caplog: pytest.LogCaptureFixture
) -> None:
    from sneakers_app.sneakers_app import app

    ours = [
        task
        for task in app.get_lifespan_tasks()
        if getattr(task, "__module__", "").startswith(("sneakers_app", "state"))
    ]
    assert ours[0] is warm_up.ready_before_serving  # before the app's own tasks start

    async def start() -> None:
        async with warm_up.ready_before_serving():
            pass

    with caplog.at_level(logging.WARNING, logger=warm_up.__name__):
        asyncio.run(start())
    assert not caplog.records
    pool = db.get_db_engine().pool
    assert pool.checkedin() >= 1  # type: ignore[attr-defined]  # its connection, kept for use
