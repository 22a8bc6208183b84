"""The inbox, the navbar's unread badge, and live toasts for the user's own trading events.

`watch` is a background event started by the navbar when a logged-in page mounts. One copy per
browser tab (the `_watching` guard); it polls the database every `POLL_SECONDS` for the logged-in
user's unread count and new notices, and toasts matches, outbid alerts and failed payments. It
stops when asked (`stop_watch`), when the user logs out or changes, or when the tab disconnects.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Literal

import reflex as rx
from reflex.event import EventSpec

from sneakers_app.db import session_scope
from sneakers_app.services import accounts, notifications
from sneakers_app.services.notifications import Kind, NotificationError
from state.base import SessionState, client_connected, toast, worker_stopping

logger = logging.getLogger(__name__)

PAGE_SIZE = 20
POLL_SECONDS = 2.0
MAX_WATCH_SECONDS = 6 * 3600  # a forgotten tab stops polling; the next page load restarts it
MAX_MISSED = 5  # polls in a row without the tab's websocket before the watcher gives up
WATCH_STALE_SECONDS = 5 * POLL_SECONDS
TOAST_KINDS = frozenset({Kind.BID_MATCHED, Kind.ASK_MATCHED, Kind.OUTBID, Kind.PAYMENT_FAILED})
KIND_ICONS: dict[str, str] = {
    Kind.BID_MATCHED: "circle-check",
    Kind.ASK_MATCHED: "circle-check",
    Kind.OUTBID: "trending-up",
    Kind.PAYMENT_FAILED: "credit-card",
    Kind.PRICE_DROP: "trending-down",
    Kind.AUTH_FAILED: "shield-x",
    Kind.AUTHENTICATED: "shield-check",
    Kind.PAYOUT_SENT: "banknote",
    Kind.REFUND_ISSUED: "undo-2",
    Kind.SHIPPED_TO_BUYER: "truck",
    Kind.DELIVERED: "package-check",
}


def ago(moment: datetime, now: datetime | None = None) -> str:
    """ "just now", "5 min ago", "3 h ago", "2 days ago", then the date."""
    now = now or datetime.now(UTC)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    if seconds < 7 * 86400:
        days = seconds // 86400
        return f"{days} day{'s' if days > 1 else ''} ago"
    return moment.strftime("%b %-d, %Y")


def safe_link(link: str) -> str:
    """Only paths inside the app are followed from a notification."""
    return link if link.startswith("/") and not link.startswith("//") else ""


@dataclasses.dataclass
class NotificationRow:
    id: int
    kind: str
    icon: str
    title: str
    body: str
    link: str
    when: str
    read: bool


def _row(view: notifications.NotificationView) -> NotificationRow:
    return NotificationRow(
        id=view.id,
        kind=view.kind,
        icon=KIND_ICONS.get(view.kind, "bell"),
        title=view.title[:1].upper() + view.title[1:],
        body=view.body,
        link=safe_link(view.link),
        when=ago(view.created_at),
        read=view.read,
    )


class NotificationState(SessionState):
    items: list[NotificationRow] = []
    has_more: bool = False
    loaded: bool = False
    unread: int = 0
    inbox_error: str = ""
    # the live watcher
    _watching: bool = False
    # Which copy runs, for which connection of the tab, and when it last polled (time.time()):
    # with several web workers the session lives in Redis and outlives a worker that dies with
    # its watcher, whose `_watching` would then stay set. A tab that reconnected (a new socket,
    # perhaps on another worker) or whose watcher stopped polling (WATCH_STALE_SECONDS) starts
    # a new copy; a copy that finds itself replaced stops.
    _watch_beat: float = 0.0
    _watch_copy: str = ""
    _watch_sid: str = ""
    _stop_requested: bool = False
    _watch_user_id: int = 0
    _last_seen_id: int = 0

    @rx.var
    def unread_label(self) -> str:
        return "99+" if self.unread > 99 else str(self.unread)

    def _forget_user(self) -> None:
        """The inbox goes; the live watcher stops by itself when the session token changes."""
        self.items = []
        self.has_more = self.loaded = False
        self.unread = 0
        self.inbox_error = ""
        self._watch_user_id = self._last_seen_id = 0

    # --- the inbox page ---------------------------------------------------------------------

    @rx.event
    def on_load(self) -> EventSpec | None:
        user = self._current_user()
        if user is None:
            self.items = []
            self.loaded = False
            return self._login_redirect()
        with session_scope() as session:
            views = notifications.inbox(session=session, user_id=user.id, limit=PAGE_SIZE + 1)
            self.unread = notifications.unread_count(session=session, user_id=user.id)
        self.items = [_row(v) for v in views[:PAGE_SIZE]]
        self.has_more = len(views) > PAGE_SIZE
        self.inbox_error = ""
        self.loaded = True
        return None

    @rx.event
    def load_more(self) -> EventSpec | None:
        user = self._current_user()
        if user is None:
            return self._login_redirect()
        before = self.items[-1].id if self.items else None
        with session_scope() as session:
            views = notifications.inbox(
                session=session, user_id=user.id, limit=PAGE_SIZE + 1, before_id=before
            )
        known = {row.id for row in self.items}
        self.items = self.items + [_row(v) for v in views[:PAGE_SIZE] if v.id not in known]
        self.has_more = len(views) > PAGE_SIZE
        return None

    @rx.event
    def mark_read(self, notification_id: int) -> EventSpec | None:
        return self._mark_read(notification_id)

    def _mark_read(self, notification_id: object) -> EventSpec | None:
        user = self._current_user()
        if user is None:
            return self._login_redirect()
        if isinstance(notification_id, bool) or not isinstance(notification_id, int):
            return None
        try:
            with session_scope() as session:
                notifications.mark_read(
                    session=session, user_id=user.id, notification_id=notification_id
                )
                self.unread = notifications.unread_count(session=session, user_id=user.id)
        except NotificationError as exc:
            self.inbox_error = str(exc)
            return None
        self.items = [
            dataclasses.replace(row, read=True) if row.id == notification_id else row
            for row in self.items
        ]
        return None

    @rx.event
    def open_notification(self, notification_id: int) -> EventSpec | None:
        """Mark it read and follow its link (a path inside the app, looked up on our side)."""
        redirect = self._mark_read(notification_id)
        if redirect is not None:
            return redirect
        link = next((row.link for row in self.items if row.id == notification_id), "")
        return rx.redirect(link) if link else None

    @rx.event
    def mark_all_read(self) -> EventSpec | None:
        user = self._current_user()
        if user is None:
            return self._login_redirect()
        with session_scope() as session:
            notifications.mark_all_read(session=session, user_id=user.id)
            self.unread = notifications.unread_count(session=session, user_id=user.id)
        self.items = [dataclasses.replace(row, read=True) for row in self.items]
        return None

    # --- the live watcher ---------------------------------------------------------------------

    @rx.event
    def stop_watch(self) -> None:
        self._stop_requested = True

    @rx.event(background=True)
    async def watch(self):  # type: ignore[no-untyped-def]
        if not self.auth_token:
            return  # a visitor (every live page starts this on load): not even the state lock
        copy = uuid.uuid4().hex
        async with self:
            claimed = self._claim_watch(copy)
        if claimed is None:
            return
        token, tab = claimed
        started = time.monotonic()
        connected = True
        try:
            while time.monotonic() - started < MAX_WATCH_SECONDS:
                if await _gone_for_good(tab):
                    connected = False
                    break
                poll = await asyncio.to_thread(_poll, token)
                if poll is None:
                    break
                fresh: list[notifications.NotificationView] = []
                async with self:
                    if self._stop_requested or self.auth_token != token:
                        break
                    if self._watch_copy != copy:
                        return  # another copy took over: it owns `_watching` now
                    self._watch_beat = time.time()
                    if poll.ok:
                        fresh = self._take_poll(poll)
                for shown in _toasts(fresh):
                    yield shown
                await asyncio.sleep(POLL_SECONDS)
        finally:
            # A tab that is gone is left as it is: a new copy starts once its beat is stale.
            if connected:
                async with self:
                    if self._watch_copy == copy:
                        self._watching = False

    def _claim_watch(self, copy: str) -> tuple[str, str] | None:
        """Make `copy` the tab's watcher: (session token, tab token), or None when a live copy
        already watches this connection of the tab, or nobody is logged in."""
        sid = self.router.session.session_id
        fresh_beat = time.time() - self._watch_beat < WATCH_STALE_SECONDS
        if (self._watching and self._watch_sid == sid and fresh_beat) or not self.auth_token:
            return None
        self._watching = True
        self._watch_beat = time.time()
        self._watch_copy = copy
        self._watch_sid = sid
        self._stop_requested = False
        self._watch_user_id = 0
        return self.auth_token, self.router.session.client_token

    def _take_poll(self, poll: _Poll) -> list[notifications.NotificationView]:
        """Shows one poll's unread count and new notices; returns the notices new to the tab."""
        if self.unread != poll.unread:  # assigned, it would be sent to the tab at every poll
            self.unread = poll.unread
        if self._watch_user_id != poll.user_id:
            # The first look only sets the mark: old notices are not news.
            self._watch_user_id = poll.user_id
            self._last_seen_id = poll.newest_id
            return []
        fresh = [n for n in poll.recent if n.id > self._last_seen_id]
        self._last_seen_id = max(self._last_seen_id, poll.newest_id)
        if fresh and self.loaded:
            known = {row.id for row in self.items}
            self.items = [_row(n) for n in fresh if n.id not in known] + self.items
        return fresh


async def _gone_for_good(tab: str) -> bool:
    """Wait while the tab's socket is gone (closed, or reconnecting), up to MAX_MISSED polls,
    touching nothing of its state (every change would be sent to a tab that is not there):
    whether it is still gone then."""
    for _ in range(MAX_MISSED):
        if client_connected(tab):
            return False
        if worker_stopping():
            return True  # the tab comes back to another worker, whose watcher takes over
        await asyncio.sleep(POLL_SECONDS)
    return not client_connected(tab)


@dataclasses.dataclass(frozen=True)
class _Poll:
    ok: bool
    user_id: int = 0
    unread: int = 0
    newest_id: int = 0
    recent: list[notifications.NotificationView] = dataclasses.field(default_factory=list)


def _poll(token: str) -> _Poll | None:
    """One look at the database (runs in a thread): None when the session is over."""
    try:
        with session_scope() as session:
            user = accounts.user_for_token(session=session, token=token)
            if user is None:
                return None
            recent = notifications.inbox(session=session, user_id=user.id, limit=10)
            unread = notifications.unread_count(session=session, user_id=user.id)
    except Exception:  # a database hiccup must not end the watcher for good
        logger.exception("notification poll failed")
        return _Poll(ok=False)
    newest = max((n.id for n in recent), default=0)
    return _Poll(ok=True, user_id=user.id, unread=unread, newest_id=newest, recent=recent)


def _toasts(fresh: list[notifications.NotificationView]) -> list[EventSpec]:
    """The toasts of a poll's new notices, oldest first (unread ones of the kinds that toast)."""
    return [_toast(n) for n in reversed(fresh) if not n.read and n.kind in TOAST_KINDS]


def _toast(notice: notifications.NotificationView) -> EventSpec:
    kind = notice.kind
    tone: Literal["success", "error", "info"] = "error" if kind == Kind.PAYMENT_FAILED else "info"
    if kind in (Kind.BID_MATCHED, Kind.ASK_MATCHED):
        tone = "success"
    return toast(
        tone, notice.title, description=notice.body[:160], duration=8000, close_button=True
    )
