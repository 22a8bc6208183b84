"""Log lines: JSON objects carrying the bound ids in production, lines for people otherwise,
for structlog's loggers and the standard library's alike."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from sneakers_app import logs
from sneakers_app.settings import Settings


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    out = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:]
    yield out
    root.handlers = saved
    logs.clear()


def _configure(fmt: str, out: io.StringIO) -> None:
    handler = logging.StreamHandler(out)
    logging.getLogger().handlers = [handler]
    logs.configure(fmt, handlers=[handler])


def test_a_json_line_carries_the_ids_bound_where_it_was_logged(captured: io.StringIO) -> None:
    _configure("json", captured)
    logs.bind(request_id="r-1", user_id=7)
    with logs.bound(order_id=42, trade_ids=["5-1"]):
        logging.getLogger("sneakers_app.consumer").info("journal: new orders %s", [42])
    logs.get_logger("sneakers_app.worker").warning("after", attempt=2)
    first, second = (json.loads(line) for line in captured.getvalue().splitlines())
    assert first["event"] == "journal: new orders [42]"
    assert (first["order_id"], first["trade_ids"], first["request_id"]) == (42, ["5-1"], "r-1")
    assert first["level"] == "info" and first["logger"] == "sneakers_app.consumer"
    assert "timestamp" in first
    # the block's ids are gone after it, the context's stay
    assert "order_id" not in second and second["user_id"] == 7 and second["attempt"] == 2


def test_an_exception_is_one_json_line_with_its_traceback(captured: io.StringIO) -> None:
    _configure("json", captured)
    try:
        raise ValueError("bad entry")
    except ValueError:
        logging.getLogger("sneakers_app.consumer").exception("entry failed")
    (line,) = captured.getvalue().splitlines()
    assert "ValueError: bad entry" in json.loads(line)["exception"]


def test_console_lines_are_for_people(captured: io.StringIO) -> None:
    _configure("console", captured)
    with logs.bound(order_id=42):
        logging.getLogger("sneakers_app.x").info("charged")
    text = captured.getvalue()
    assert "charged" in text and "order_id=42" in text and not text.startswith("{")


def test_json_is_the_default_in_production_only() -> None:
    assert Settings(ENVIRONMENT="development").log_format == "console"
    assert Settings(ENVIRONMENT="test").log_format == "console"
    assert Settings(ENVIRONMENT="test", LOG_FORMAT="json").log_format == "json"
    assert Settings.model_construct(ENVIRONMENT="production", LOG_FORMAT="").log_format == "json"
