"""Log lines of every process through structlog: one JSON object per line in production, lines
for people in development (LOG_FORMAT picks; docs/observability.md).

The ids of what a line is about travel in context variables, bound where they become known
(`bind`): the request and user in each Reflex event (`state/log_context.py`) and HTTP request,
the journal entry, book and trade and order ids in the consumer, the task and its order in a
Celery task. Every line logged in that context, by structlog or by the standard `logging`
calls the code already makes, carries them.

A leaf: it imports structlog, the standard library and the settings only.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import structlog
from structlog.typing import Processor

from sneakers_app.settings import get_settings

APP_LOGGER = "sneakers_app"
"""The app's modules log at INFO and above; other libraries keep the root's level."""

_SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.stdlib.ExtraAdder(),
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


# structlog's loggers hand each line to the standard library as an ordinary record (its fields
# as the record's extras): one path for every line, filtered by the standard levels, rendered
# by whatever handler a process has (`configure` gives it `formatter`). Set at import, so a
# process that never calls `configure` (a script, a test) gets plain standard logging.
structlog.configure(
    processors=[
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.stdlib.render_to_log_kwargs,
    ],
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=structlog.stdlib.BoundLogger,
    cache_logger_on_first_use=True,
)


def formatter(fmt: str | None = None) -> logging.Formatter:
    """A `logging.Formatter` that renders any record (structlog's or the standard library's)
    as one JSON object or one line for people, with the bound ids."""
    fmt = fmt or get_settings().log_format
    renderer: Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
        final: list[Processor] = [structlog.processors.format_exc_info, renderer]
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
        final = [renderer]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
    )


def configure(fmt: str | None = None, *, handlers: list[logging.Handler] | None = None) -> None:
    """Render every record with `formatter`: on `handlers`, else on one stream handler on the
    root logger (replacing the ones there). Safe to call again."""
    chosen = formatter(fmt)
    if handlers is None:
        handler = logging.StreamHandler(sys.stderr)
        logging.getLogger().handlers = [handler]
        handlers = [handler]
    for each in handlers:
        each.setFormatter(chosen)
    logging.getLogger(APP_LOGGER).setLevel(logging.INFO)


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


def bind(**ids: Any) -> None:
    """Bind ids for the rest of this context (an event's task, a thread's loop pass); None
    values are left out."""
    structlog.contextvars.bind_contextvars(**{k: v for k, v in ids.items() if v is not None})


def clear() -> None:
    structlog.contextvars.clear_contextvars()


@contextlib.contextmanager
def bound(**ids: Any) -> Iterator[None]:
    """Ids bound for the `with` block only (restored after it)."""
    with structlog.contextvars.bound_contextvars(**{k: v for k, v in ids.items() if v is not None}):
        yield
