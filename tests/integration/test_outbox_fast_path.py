"""The outbox's fast path: a commit publishes exactly the rows its transaction added, with no
call from the code that committed; a rollback publishes nothing; on an event loop (and where a
process asked for it) the publish happens in a worker thread, never on the committing thread."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from sneakers_app import outbox_relay
from sneakers_app.db import session_scope
from sneakers_app.services import outbox
from tests.support.statements import sent_by

Published = list[tuple[str, list[Any], str]]


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> Published:
    """Every publish the fast path makes: (task, args, name of the publishing thread)."""
    seen: Published = []

    def publish(task: str, args: list[Any]) -> None:
        seen.append((task, args, threading.current_thread().name))

    monkeypatch.setattr(outbox_relay, "publish", publish)
    return seen


def _wait(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not check():
        assert time.monotonic() < deadline, "the worker thread did not publish"
        time.sleep(0.02)


def test_a_commit_publishes_the_rows_of_its_own_transaction(
    engine: Engine, published: Published
) -> None:
    with Session(engine) as s:
        outbox.add(s, "sneakers.complete_order", 1, key="complete_order:1")
        outbox.add(s, "sneakers.complete_order", 2, key="complete_order:2")
        s.commit()
        assert [(t, a) for t, a, _ in published] == [
            ("sneakers.complete_order", [1]),
            ("sneakers.complete_order", [2]),
        ]
        assert outbox_relay.delivered(s).published == 2
        outbox.add(s, "sneakers.complete_order", 3, key="complete_order:3")
        s.commit()
        assert [a for _, a, _ in published] == [[1], [2], [3]]  # only the new transaction's
        s.commit()  # nothing added: nothing published
    assert len(published) == 3
    assert {name for _, _, name in published} == {threading.current_thread().name}
    with Session(engine) as s:
        assert outbox.count_pending(s) == 0


def test_a_commits_rows_are_claimed_by_their_keys_and_marked_two_statements_in_all(
    engine: Engine, published: Published
) -> None:
    """After the commit the rows are claimed in the claim's own UPDATE (no SELECT of which are
    due first), published, and marked delivered: two statements for any number of rows."""
    with Session(engine) as s:
        outbox.add(s, "sneakers.complete_order", 5, key="complete_order:5")
        outbox.add(s, "sneakers.complete_order", 6, key="complete_order:6")
        s.flush()
        with sent_by(engine) as statements:
            s.commit()
    assert [a for _, a, _ in published] == [[5], [6]]
    assert [" ".join(x.split()[:2]) for x in statements] == ["UPDATE outbox", "UPDATE outbox"]
    with Session(engine) as s:
        assert outbox.count_pending(s) == 0


def test_a_rollback_publishes_nothing(engine: Engine, published: Published) -> None:
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        outbox.add(s, "sneakers.complete_order", 4, key="complete_order:4")
        raise RuntimeError("the business step failed")
    with Session(engine) as s:
        outbox.add(s, "sneakers.complete_order", 5, key="complete_order:5")
        s.rollback()
        outbox.add(s, "sneakers.complete_order", 6, key="complete_order:6")
        s.commit()
    assert [a for _, a, _ in published] == [[6]]


def test_on_an_event_loop_the_publish_happens_in_a_worker_thread(
    engine: Engine, published: Published
) -> None:
    async def handler() -> None:  # a web backend event handler, on the loop
        with session_scope(engine) as s:
            outbox.add(s, "sneakers.complete_order", 7, key="complete_order:7")

    asyncio.run(handler())
    _wait(lambda: len(published) == 1)
    [(task, args, thread)] = published
    assert (task, args) == ("sneakers.complete_order", [7])
    assert thread.startswith("outbox-fast-path")


def test_a_thread_that_asked_for_it_publishes_in_the_background(
    engine: Engine, published: Published
) -> None:
    def consumer_loop() -> None:
        outbox_relay.publish_in_background()
        with session_scope(engine) as s:
            outbox.add(s, "sneakers.complete_order", 8, key="complete_order:8")

    loop = threading.Thread(target=consumer_loop, name="journal-loop")
    loop.start()
    loop.join(timeout=10)
    _wait(lambda: len(published) == 1)
    assert published[0][2].startswith("outbox-fast-path")
    # the flag was that thread's: this one still publishes before commit() returns
    with session_scope(engine) as s:
        outbox.add(s, "sneakers.complete_order", 9, key="complete_order:9")
    assert published[-1] == ("sneakers.complete_order", [9], threading.current_thread().name)


def test_a_sweep_skips_the_rows_another_claim_holds(engine: Engine, published: Published) -> None:
    """A commit's fast path claims its rows by their keys while a sweep may claim the same due
    rows oldest first: locked in different orders, two claims that waited for each other
    would deadlock. The sweep takes only rows no other claim holds, and never waits."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL (SQLite has one writer at a time)")
    with Session(engine) as s:
        outbox.add(s, "sneakers.complete_order", 7, key="complete_order:7")
        outbox.add(s, "sneakers.complete_order", 8, key="complete_order:8")
        outbox.added_keys(s)  # left to the sweep: no fast path for this commit
        s.commit()
    with engine.connect() as holder, Session(engine) as sweeper:
        # another claim holds the first row (as a fast path's UPDATE does until it commits)
        holder.execute(
            text("SELECT id FROM outbox WHERE dedupe_key = 'complete_order:7' FOR UPDATE")
        )
        sweeper.execute(text("SET lock_timeout = '3s'"))
        done = outbox.deliver(sweeper, outbox_relay.publish)
        assert (done.published, [a for _, a, _ in published]) == (1, [[8]])
        holder.rollback()
    with Session(engine) as s:
        assert outbox.deliver(s, outbox_relay.publish).published == 1
    assert [a for _, a, _ in published] == [[8], [7]]
