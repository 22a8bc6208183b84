"""The SQL statements an engine sends while a block runs (tests that pin how few a path needs)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, event


@contextlib.contextmanager
def sent_by(engine: Engine | Any) -> Iterator[list[str]]:
    """Every statement `engine` (or a session's bind) sends inside the block, in order, with its
    whitespace squeezed (`" ".join(statement.split())`)."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)
