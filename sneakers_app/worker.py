"""The one Celery app. Tasks are thin: they take ids, re-read the world, call a service.

Run alone: `celery -A sneakers_app.worker worker --beat --loglevel=info`.
"""

from __future__ import annotations

from celery import Celery

from sneakers_app.db import session_scope
from sneakers_app.services import accounts
from sneakers_app.settings import get_settings

settings = get_settings()

celery_app = Celery("sneakers", broker=settings.redis_url, backend=None)
celery_app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    timezone="UTC",
    enable_utc=True,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    beat_schedule={
        "purge-expired-sessions": {
            "task": "sneakers_app.worker.purge_expired_sessions",
            "schedule": 3600.0,
        },
    },
)


@celery_app.task(name="sneakers_app.worker.purge_expired_sessions")  # type: ignore[untyped-decorator]
def purge_expired_sessions() -> int:
    """Housekeeping: ended sessions and old login attempts (idempotent)."""
    with session_scope() as session:
        return accounts.purge_expired_sessions(session=session)
