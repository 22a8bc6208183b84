"""Notifications: the in-app inbox and email for every step of a trade's life.

How other services use it: inside their own transaction they call `notify(...)` with a
`Kind`, a context and a dedupe key naming the event (`f"outbid:{bid_id}:{new_best_bid_id}"`).
The row commits together with the state change that caused it, and so does the outbox row
that sends its email (the `send_notification_email` task, which calls `deliver_email`); after
the commit `outbox_relay` publishes it at once (the commit's own fast path), else a sweep does.
One event never sends two emails: the dedupe key makes `notify` idempotent,
and `deliver_email` claims the row (emailed_at) before it sends.

One module per concept, every public name re-exported here:
- `kinds`: the kinds table (`Kind`, `KINDS`, `ALWAYS_SENT`) and the errors;
- `rendering`: titles, bodies and links from a context, and the email a notification sends;
- `preferences`: which channels a user wants for each kind;
- `delivery`: `notify`, the outbox email and `deliver_email`;
- `inbox`: list, unread count, mark read;
- `price_drops`: watchers told of a new lowest ask at their target.
"""

from __future__ import annotations

from sneakers_app.services.email import EmailRejected, EmailTransientError
from sneakers_app.services.notifications.delivery import (
    EMAIL_TASK,
    NotifyResult,
    deliver_email,
    email_ids,
    email_key,
    emails_pending,
    notify,
)
from sneakers_app.services.notifications.inbox import (
    MAX_INBOX_PAGE,
    NotificationNotFound,
    NotificationView,
    inbox,
    mark_all_read,
    mark_read,
    unread_count,
)
from sneakers_app.services.notifications.kinds import (
    ALWAYS_SENT,
    KINDS,
    Kind,
    KindSpec,
    NotificationError,
    UnknownKind,
    kind_of,
)
from sneakers_app.services.notifications.preferences import (
    PreferenceView,
    channels,
    preferences,
    preload_channels,
    set_preference,
)
from sneakers_app.services.notifications.price_drops import (
    PriceDrop,
    notify_price_drops,
    price_drop_alerts,
    price_drop_key,
)
from sneakers_app.services.notifications.rendering import (
    Rendered,
    build_email,
    render,
    render_context,
)

__all__ = [
    "ALWAYS_SENT",
    "EMAIL_TASK",
    "KINDS",
    "MAX_INBOX_PAGE",
    "EmailRejected",
    "EmailTransientError",
    "Kind",
    "KindSpec",
    "NotificationError",
    "NotificationNotFound",
    "NotificationView",
    "NotifyResult",
    "PreferenceView",
    "PriceDrop",
    "Rendered",
    "UnknownKind",
    "build_email",
    "channels",
    "deliver_email",
    "email_ids",
    "email_key",
    "emails_pending",
    "inbox",
    "kind_of",
    "mark_all_read",
    "mark_read",
    "notify",
    "notify_price_drops",
    "preferences",
    "preload_channels",
    "price_drop_alerts",
    "price_drop_key",
    "render",
    "render_context",
    "set_preference",
    "unread_count",
]
