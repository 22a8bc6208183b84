"""Notifications on SQLite and PostgreSQL, with email through a real SMTP server (aiosmtpd)
running in the test process, and through the outbox folder."""

from __future__ import annotations

import email
import email.policy
import ssl
import string
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import event, func
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col, select

from sneakers_app.db import make_engine
from sneakers_app.models import (
    Bid,
    Notification,
    Order,
    PriceAlert,
    Product,
    ProductVariant,
    User,
)
from sneakers_app.services import notifications as n
from sneakers_app.services import sizes
from sneakers_app.services.email import (
    EmailRejected,
    EmailTransientError,
    OutboxMailer,
    OutgoingEmail,
    SmtpMailer,
    mailer_from_settings,
    parse_smtp_url,
)
from sneakers_app.settings import VAR_DIR, Settings
from tests.support import factories
from tests.support.servers import free_port
from tests.support.smtp import Collector, SmtpServer, make_certificate, start_smtp
from tests.support.statements import sent_by

NOW = datetime(2025, 3, 14, 15, 9, 26, tzinfo=UTC)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = start_smtp()
    yield server
    server.stop()


@pytest.fixture
def settings() -> Settings:
    return Settings(
        ENVIRONMENT="test",
        APP_URL="https://sneakers.test",
        EMAIL_FROM="Sneakers Marketplace <no-reply@sneakers.test>",
    )


@pytest.fixture
def mailer(smtp: SmtpServer) -> SmtpMailer:
    return SmtpMailer(smtp.url)


def _user(session: Session, name: str = "Buyer") -> User:
    user = session.get(User, factories.user(session, name))
    assert user is not None and user.id is not None
    return user


def _rows(session: Session, user_id: int | None = None) -> list[Notification]:
    stmt = select(Notification).order_by(col(Notification.id))
    if user_id is not None:
        stmt = stmt.where(Notification.user_id == user_id)
    return list(session.exec(stmt.execution_options(populate_existing=True)).all())


def _outbid(session: Session, user: User, key: str = "outbid:1:2") -> n.NotifyResult | None:
    assert user.id is not None
    return n.notify(
        session=session,
        user_id=user.id,
        kind=n.Kind.OUTBID,
        context={
            "variant_id": factories.variant(session, "10"),
            "your_price_cents": 25_000,
            "new_price_cents": 26_000,
        },
        dedupe_key=key,
        now=NOW,
    )


# --- rendering and the default channels ----------------------------------------------------


def test_notify_writes_an_inbox_row_rendered_from_the_kind_and_marks_email_due(
    session: Session,
) -> None:
    user = _user(session)
    variant_id = factories.variant(session, "9.5")
    product = session.exec(
        select(Product).join(ProductVariant).where(ProductVariant.id == variant_id)
    ).one()
    result = n.notify(
        session=session,
        user_id=user.id or 0,
        kind=n.Kind.OUTBID,
        context={"variant_id": variant_id, "your_price_cents": 123_450, "new_price_cents": 130_000},
        dedupe_key="outbid:10:11",
        now=NOW,
    )
    session.commit()
    assert result is not None and result.created and result.in_app and result.email_due
    assert result.email_notification_id == result.notification.id
    row = _rows(session, user.id)[0]
    assert row.kind == "outbid"
    assert row.title == f"You've been outbid on {product.name} (US M 9.5)"
    assert row.body.startswith(
        f"Someone bid $1,300.00 for {product.name} (US M 9.5), more than your bid of $1,234.50."
    )
    assert row.link == f"/product/{product.slug}"
    assert row.created_at == NOW and row.emailed_at is None and row.read_at is None
    assert n.unread_count(session=session, user_id=user.id or 0) == 1
    assert [v.id for v in n.inbox(session=session, user_id=user.id or 0)] == [row.id]


def test_order_kinds_link_to_the_order_or_fall_back_to_the_orders_page(session: Session) -> None:
    user = _user(session)
    with_order = n.notify(
        session=session,
        user_id=user.id or 0,
        kind=n.Kind.PAYOUT_SENT,
        context={"order_id": 4242, "amount_cents": 21_000},
        dedupe_key="payout:4242",
    )
    without = n.notify(
        session=session,
        user_id=user.id or 0,
        kind=n.Kind.DELIVERED,
        context={},
        dedupe_key="delivered:x",
    )
    assert with_order is not None and without is not None
    assert with_order.notification.link == "/orders/4242"
    assert with_order.notification.title == "Payout sent: $210.00"
    assert "Order #4242" in with_order.notification.body
    assert without.notification.link == "/orders"
    assert without.notification.title == "your item was delivered"


def test_a_notice_names_the_size_in_its_recipients_size_system(session: Session) -> None:
    """The same event reads "EU 43" to a member who reads EU sizes, "UK 8.5" to one in UK."""
    variant_id = factories.variant(session, "9.5")  # Nike men's 9.5
    titles = {}
    for system in ("eu", "uk", "us_w"):
        user = _user(session)
        assert sizes.set_size_system(session=session, user_id=user.id or 0, system=system) == ""
        result = n.notify(
            session=session,
            user_id=user.id or 0,
            kind=n.Kind.OUTBID,
            context={"variant_id": variant_id, "your_price_cents": 1_000, "new_price_cents": 1_100},
            dedupe_key=f"outbid:sizes:{user.id}",
            now=NOW,
        )
        assert result is not None
        titles[system] = result.notification.title
    assert titles["eu"].endswith("(EU 43)")
    assert titles["uk"].endswith("(UK 8.5)")
    assert titles["us_w"].endswith("(US W 11)")


def test_every_template_names_only_what_its_documented_context_provides() -> None:
    for kind, spec in n.KINDS.items():
        given = set(spec.context) | {k.removesuffix("_cents") for k in spec.context}
        derived = {"item", "order_ref", "product", "size"}
        derived |= {"ship_by"} if "order_id" in spec.context else set()
        derived |= {"expires_at"} if {"bid_id", "ask_id"} & given else set()
        derived |= {"appeal_note"} if "can_appeal" in given else set()
        derived |= {"tracking_note"} if "tracking" in given else set()
        derived |= {"count_bids"} if "count" in given else set()
        derived |= {"bought_title", "bought_lead", "sold_title", "sold_lead"}  # the match words
        named = {
            name
            for template in (spec.title, spec.body)
            for _, name, _, _ in string.Formatter().parse(template)
            if name
        }
        assert named <= given | derived, (kind, named - given - derived)
    assert set(n.KINDS) == set(n.Kind)


def test_deadlines_come_from_the_bid_and_the_order(session: Session) -> None:
    buyer, seller = _user(session, "Buyer"), _user(session, "Seller")
    trade = factories.trade(session, buyer_id=buyer.id or 0, seller_id=seller.id or 0)
    bid = session.get(Bid, trade.bid_id)
    assert bid is not None
    bid.expires_at = datetime(2025, 3, 15, 9, 30, tzinfo=UTC)
    order = Order(
        trade_id=trade.id,
        buyer_id=buyer.id or 0,
        seller_id=seller.id or 0,
        variant_id=trade.variant_id,
        price_cents=trade.price_cents,
        ship_by=datetime(2025, 3, 18, 23, 59, tzinfo=UTC),
    )
    session.add_all([bid, order])
    session.flush()
    expiring = n.notify(
        session=session,
        user_id=buyer.id or 0,
        kind=n.Kind.BID_EXPIRING,
        context={"bid_id": bid.id, "price_cents": bid.price_cents},
        dedupe_key=f"bid_expiring:{bid.id}",
    )
    reminder = n.notify(
        session=session,
        user_id=seller.id or 0,
        kind=n.Kind.SHIP_BY_REMINDER,
        context={"order_id": order.id},
        dedupe_key=f"ship_by_reminder:{order.id}",
    )
    assert expiring is not None and reminder is not None
    assert "$250.00" in expiring.notification.body
    assert "expires Sat 15 Mar 2025, 09:30 UTC." in expiring.notification.body
    assert "(US M 10)" in expiring.notification.title
    assert reminder.notification.title.endswith("by Tue 18 Mar 2025, 23:59 UTC")
    assert reminder.notification.body.startswith(f"Order #{order.id} must be shipped")
    assert reminder.notification.link == f"/orders/{order.id}"


def test_unknown_kind_and_missing_dedupe_key_are_refused(session: Session) -> None:
    user = _user(session)
    with pytest.raises(n.UnknownKind, match="sneaker_sighting"):
        n.notify(session=session, user_id=user.id or 0, kind="sneaker_sighting", dedupe_key="k")
    with pytest.raises(n.NotificationError, match="dedupe key"):
        n.notify(session=session, user_id=user.id or 0, kind=n.Kind.OUTBID, dedupe_key="")
    assert _rows(session) == []


# --- preferences ---------------------------------------------------------------------------


def test_preferences_list_every_kind_on_by_default_and_save_per_channel(session: Session) -> None:
    user = _user(session)
    uid = user.id or 0
    views = n.preferences(session=session, user_id=uid)
    # Every kind but the security notices, which the user cannot turn off.
    assert [v.kind for v in views] == [k for k in n.Kind if k.value not in n.ALWAYS_SENT]
    assert all(v.in_app and v.email and v.label for v in views)

    n.set_preference(session=session, user_id=uid, kind=n.Kind.OUTBID, in_app=True, email=False)
    n.set_preference(session=session, user_id=uid, kind="price_drop", in_app=False, email=True)
    n.set_preference(session=session, user_id=uid, kind="price_drop", in_app=False, email=False)
    session.commit()
    by_kind = {v.kind: v for v in n.preferences(session=session, user_id=uid)}
    assert (by_kind[n.Kind.OUTBID].in_app, by_kind[n.Kind.OUTBID].email) == (True, False)
    assert (by_kind[n.Kind.PRICE_DROP].in_app, by_kind[n.Kind.PRICE_DROP].email) == (False, False)
    assert (by_kind[n.Kind.DELIVERED].in_app, by_kind[n.Kind.DELIVERED].email) == (True, True)
    other = n.preferences(session=session, user_id=_user(session, "Other").id or 0)
    assert all(v.in_app and v.email for v in other)


def test_channels_read_ahead_answer_as_the_saved_preferences_until_one_is_saved(
    session: Session,
) -> None:
    """`preload_channels` (a charge, before its two notices): one statement for every
    (user, kind), then `channels` answers from it; a preference saved in the transaction, or
    a new transaction, reads the database again."""
    seller, buyer = (_user(session, name).id or 0 for name in ("Seller", "Buyer"))
    n.set_preference(
        session=session, user_id=seller, kind=n.Kind.ASK_MATCHED, in_app=True, email=False
    )
    session.commit()
    with sent_by(session.get_bind()) as statements:
        n.preload_channels(
            session,
            [
                (seller, n.Kind.ASK_MATCHED),
                (buyer, n.Kind.BID_MATCHED),
                (buyer, n.Kind.PASSWORD_CHANGED),  # always sent: nothing to read
            ],
        )
        assert len(statements) == 1
        assert n.channels(session, seller, n.Kind.ASK_MATCHED) == (True, False)
        assert n.channels(session, buyer, n.Kind.BID_MATCHED) == (True, True)
        assert len(statements) == 1
        n.set_preference(
            session=session, user_id=buyer, kind=n.Kind.BID_MATCHED, in_app=False, email=True
        )
        assert n.channels(session, buyer, n.Kind.BID_MATCHED) == (False, True)
        session.commit()
        n.preload_channels(session, [(seller, n.Kind.ASK_MATCHED)])
        session.rollback()  # the transaction ended: what it read is forgotten
        asked = len(statements)
        assert n.channels(session, seller, n.Kind.ASK_MATCHED) == (True, False)
        assert len(statements) > asked


def test_set_preference_refuses_an_unknown_kind(session: Session) -> None:
    user = _user(session)
    with pytest.raises(n.UnknownKind, match="'newsletter'"):
        n.set_preference(
            session=session, user_id=user.id or 0, kind="newsletter", in_app=False, email=False
        )
    assert all(v.email for v in n.preferences(session=session, user_id=user.id or 0))


def test_email_off_keeps_the_inbox_row_and_sends_nothing(
    session: Session, smtp: SmtpServer, mailer: SmtpMailer, settings: Settings
) -> None:
    user = _user(session)
    n.set_preference(
        session=session, user_id=user.id or 0, kind=n.Kind.OUTBID, in_app=True, email=False
    )
    result = _outbid(session, user)
    session.commit()
    assert result is not None and result.in_app and not result.email_due
    assert result.email_notification_id is None
    assert n.unread_count(session=session, user_id=user.id or 0) == 1
    assert not n.deliver_email(
        session=session,
        notification_id=result.notification.id or 0,
        mailer=mailer,
        settings=settings,
    )
    assert smtp.messages == []


def test_in_app_off_still_emails_but_stays_out_of_the_inbox(
    session: Session, smtp: SmtpServer, mailer: SmtpMailer, settings: Settings
) -> None:
    user = _user(session)
    uid = user.id or 0
    n.set_preference(session=session, user_id=uid, kind=n.Kind.OUTBID, in_app=False, email=True)
    result = _outbid(session, user)
    session.commit()
    assert result is not None and not result.in_app and result.email_due
    assert n.inbox(session=session, user_id=uid) == []
    assert n.unread_count(session=session, user_id=uid) == 0
    assert n.mark_all_read(session=session, user_id=uid) == 0
    with pytest.raises(n.NotificationNotFound):
        n.mark_read(session=session, user_id=uid, notification_id=result.notification.id or 0)

    assert n.deliver_email(
        session=session,
        notification_id=result.notification.id or 0,
        mailer=mailer,
        settings=settings,
    )
    [received] = smtp.wait_for(1)
    assert received.rcpt_tos == (user.email,)
    assert received.message["Subject"].startswith("You've been outbid on")


def test_both_channels_off_records_nothing(session: Session) -> None:
    user = _user(session)
    n.set_preference(
        session=session, user_id=user.id or 0, kind=n.Kind.OUTBID, in_app=False, email=False
    )
    assert _outbid(session, user) is None
    assert _rows(session) == []


# --- dedupe and send-once ------------------------------------------------------------------


def test_same_event_twice_is_one_row_and_one_email(
    session: Session, smtp: SmtpServer, mailer: SmtpMailer, settings: Settings
) -> None:
    user = _user(session)
    first = _outbid(session, user, key="outbid:7:8")
    session.commit()
    second = _outbid(session, user, key="outbid:7:8")
    session.commit()
    assert first is not None and second is not None
    assert first.created and not second.created
    assert second.notification.id == first.notification.id
    assert len(_rows(session)) == 1

    ids = n.email_ids([first, second])
    assert ids == (first.notification.id, first.notification.id)
    sent = [
        n.deliver_email(session=session, notification_id=i, mailer=mailer, settings=settings)
        for i in ids
    ]
    assert sent == [True, False]
    assert len(smtp.wait_for(1)) == 1
    # Once sent, the event is no longer "email due" even if notified again.
    third = _outbid(session, user, key="outbid:7:8")
    assert third is not None and not third.email_due
    assert len(smtp.messages) == 1


def test_a_dedupe_key_cannot_be_reused_for_another_user(session: Session) -> None:
    buyer, seller = _user(session, "Buyer"), _user(session, "Seller")
    _outbid(session, buyer, key="shared:1")
    with pytest.raises(n.NotificationError, match="another event"):
        _outbid(session, seller, key="shared:1")
    assert [r.user_id for r in _rows(session)] == [buyer.id]


def test_notify_leaves_the_commit_to_the_caller(session: Session) -> None:
    user = _user(session)
    session.commit()
    assert _outbid(session, user, key="outbid:rolled:back") is not None
    session.rollback()
    assert _rows(session) == []


def test_concurrent_notify_with_one_key_creates_one_row(
    session: Session, database_url: str
) -> None:
    user = _user(session)
    variant_id = factories.variant(session)
    session.commit()
    barrier = threading.Barrier(2)
    results: list[n.NotifyResult | None] = []
    errors: list[BaseException] = []

    def worker() -> None:
        engine = make_engine(database_url)
        try:
            with Session(engine, expire_on_commit=False) as own:
                barrier.wait()
                result = n.notify(
                    session=own,
                    user_id=user.id or 0,
                    kind=n.Kind.BID_PLACED,
                    context={"variant_id": variant_id, "price_cents": 20_000},
                    dedupe_key="bid_placed:race",
                )
                own.commit()
                results.append(result)
        except BaseException as exc:
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(r.created for r in results if r is not None) == [False, True]
    assert len({r.notification.id for r in results if r is not None}) == 1
    assert len(_rows(session)) == 1


def test_deliver_email_twice_sends_once_and_stamps_emailed_at(
    session: Session, smtp: SmtpServer, mailer: SmtpMailer, settings: Settings
) -> None:
    user = _user(session)
    result = _outbid(session, user)
    session.commit()
    assert result is not None
    nid = result.notification.id or 0
    sent_at = datetime(2025, 3, 14, 16, 0, tzinfo=UTC)
    assert n.deliver_email(
        session=session, notification_id=nid, mailer=mailer, settings=settings, now=sent_at
    )
    assert not n.deliver_email(
        session=session, notification_id=nid, mailer=mailer, settings=settings
    )
    assert len(smtp.wait_for(1)) == 1
    assert _rows(session)[0].emailed_at == sent_at
    assert not n.deliver_email(
        session=session, notification_id=999_999, mailer=mailer, settings=settings
    )


class _SlowMailer:
    """Holds each send open a moment so two racing workers overlap for sure."""

    def __init__(self, inner: SmtpMailer) -> None:
        self.inner = inner

    def send(self, message: OutgoingEmail) -> None:
        threading.Event().wait(0.05)
        self.inner.send(message)


def test_two_workers_racing_on_one_notification_send_one_email(
    session: Session, database_url: str, smtp: SmtpServer, settings: Settings
) -> None:
    """Both workers have read the row (emailed_at still empty) before either claims it: the
    worst interleaving, forced by holding each worker's claim UPDATE until the other is there."""
    user = _user(session)
    ids = []
    for i in range(4):
        result = _outbid(session, user, key=f"outbid:race:{i}")
        assert result is not None and result.notification.id is not None
        ids.append(result.notification.id)
    session.commit()
    mailer = _SlowMailer(SmtpMailer(smtp.url))
    outcomes: dict[int, list[bool]] = {i: [] for i in ids}
    errors: list[BaseException] = []
    at_claim = {i: threading.Barrier(2, timeout=20) for i in ids}

    def worker() -> None:
        engine = make_engine(database_url)
        current: list[int] = []

        @event.listens_for(engine, "before_cursor_execute")
        def hold_claim(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if (
                " ".join(statement.split())
                .upper()
                .startswith("UPDATE NOTIFICATIONS SET EMAILED_AT")
            ):
                at_claim[current[-1]].wait()

        try:
            for nid in ids:
                current.append(nid)
                with Session(engine, expire_on_commit=False) as own:
                    sent = n.deliver_email(
                        session=own, notification_id=nid, mailer=mailer, settings=settings
                    )
                    outcomes[nid].append(sent)
        except BaseException as exc:
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert {i: sorted(v) for i, v in outcomes.items()} == {i: [False, True] for i in ids}
    received = smtp.wait_for(len(ids) + 1, timeout=1.0)
    assert len(received) == len(ids)
    assert sorted(r.message["Message-ID"] for r in received) == sorted(
        f"<notification-{i}@sneakers.test>" for i in ids
    )


def test_a_transient_failure_releases_the_claim_for_a_retry(
    session: Session, smtp: SmtpServer, mailer: SmtpMailer, settings: Settings
) -> None:
    user = _user(session)
    result = _outbid(session, user)
    session.commit()
    assert result is not None
    nid = result.notification.id or 0
    nobody_listening = SmtpMailer(f"smtp://127.0.0.1:{free_port()}?timeout=2")
    with pytest.raises(EmailTransientError):
        n.deliver_email(
            session=session, notification_id=nid, mailer=nobody_listening, settings=settings
        )
    assert _rows(session)[0].emailed_at is None
    assert n.deliver_email(session=session, notification_id=nid, mailer=mailer, settings=settings)
    assert len(smtp.wait_for(1)) == 1


class _Refusing(Collector):
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "554 5.7.1 Message refused"


def test_a_permanent_refusal_is_not_retried(session: Session, settings: Settings) -> None:
    user = _user(session)
    result = _outbid(session, user)
    session.commit()
    assert result is not None
    port = free_port()
    controller = Controller(_Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        nid = result.notification.id or 0
        refusing = SmtpMailer(f"smtp://127.0.0.1:{port}")
        with pytest.raises(EmailRejected, match="554"):
            n.deliver_email(
                session=session, notification_id=nid, mailer=refusing, settings=settings
            )
        assert _rows(session)[0].emailed_at is not None
        assert not n.deliver_email(
            session=session, notification_id=nid, mailer=refusing, settings=settings
        )
    finally:
        controller.stop()


def test_a_notice_whose_transaction_rolled_back_leaves_the_session_with_it(
    session: Session,
) -> None:
    """A notice is written with a Core INSERT and put in the session as if read back
    (services/sql.as_loaded): a rollback must take it out of the session as it takes the row
    out of the database, or the session holds a row that does not exist (and SQLite, which
    gives the next row the same id, refuses the next notice)."""
    user = _user(session)
    session.commit()
    first = _outbid(session, user, key="outbid:rolled-back")
    assert first is not None and first.created and first.notification.id is not None
    gone = first.notification.id
    session.rollback()
    assert identity_key(Notification, gone) not in session.identity_map
    assert session.get(Notification, gone) is None
    again = _outbid(session, user, key="outbid:rolled-back")
    session.commit()
    assert again is not None and again.created and again.notification.id is not None
    assert [r.dedupe_key for r in _rows(session, user.id)] == ["outbid:rolled-back"]

    # a savepoint's rollback takes only what was written inside it
    kept_id = again.notification.id
    savepoint = session.begin_nested()
    inner = _outbid(session, user, key="outbid:in-a-savepoint")
    assert inner is not None and inner.notification.id is not None
    inner_id = inner.notification.id
    savepoint.rollback()
    assert identity_key(Notification, inner_id) not in session.identity_map
    assert identity_key(Notification, kept_id) in session.identity_map
    session.commit()
    assert [r.id for r in _rows(session, user.id)] == [kept_id]

    # a savepoint released, then the transaction around it rolled back: gone with it (a write
    # first: SQLite's driver begins the transaction around a savepoint only at a write)
    factories.variant(session, "11")
    savepoint = session.begin_nested()
    released = _outbid(session, user, key="outbid:released")
    assert released is not None and released.notification.id is not None
    released_id = released.notification.id
    savepoint.commit()
    assert identity_key(Notification, released_id) in session.identity_map
    session.rollback()
    assert identity_key(Notification, released_id) not in session.identity_map
    assert [r.id for r in _rows(session, user.id)] == [kept_id]


# --- the message itself --------------------------------------------------------------------


def _parse(data: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_outbox_mailer_writes_a_parseable_eml(
    session: Session, tmp_path: Path, settings: Settings
) -> None:
    user = _user(session)
    result = _outbid(session, user)
    session.commit()
    assert result is not None
    outbox = OutboxMailer(tmp_path / "outbox")
    assert n.deliver_email(
        session=session,
        notification_id=result.notification.id or 0,
        mailer=outbox,
        settings=settings,
    )
    [path] = outbox.messages()
    assert path.suffix == ".eml"
    raw = path.read_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    message = _parse(raw)
    assert message["From"] == "Sneakers Marketplace <no-reply@sneakers.test>"
    assert message["To"].addresses[0].addr_spec == user.email
    assert message["Subject"] == result.notification.title
    assert message["Message-ID"] == f"<notification-{result.notification.id}@sneakers.test>"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert result.notification.body in text.get_content()
    assert "https://sneakers.test/product/" in text.get_content()
    assert "<h2>You&#x27;ve been outbid on" in html.get_content()


def test_header_injection_through_names_adds_no_header_and_no_recipient(
    session: Session, smtp: SmtpServer, mailer: SmtpMailer, settings: Settings
) -> None:
    user = _user(session)
    user.display_name = "Eve\r\nBcc: victim@evil.test"
    session.add(user)
    variant_id = factories.variant(session)
    variant = session.get(ProductVariant, variant_id)
    product = session.get(Product, variant.product_id if variant else 0)
    assert product is not None
    product.name = 'Air Max "Evil"\r\nX-Injected: yes\r\n\r\n<script>'
    session.add(product)
    result = n.notify(
        session=session,
        user_id=user.id or 0,
        kind=n.Kind.PRICE_DROP,
        context={"variant_id": variant_id, "lowest_ask_cents": 9_900, "target_price_cents": 10_000},
        dedupe_key="price_drop:evil",
    )
    session.commit()
    assert result is not None
    assert "\r" not in result.notification.title and "\n" not in result.notification.title
    assert n.deliver_email(
        session=session,
        notification_id=result.notification.id or 0,
        mailer=mailer,
        settings=settings,
    )
    [received] = smtp.wait_for(1)
    assert received.rcpt_tos == (user.email,)
    message = received.message
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert set(message.keys()) == {
        "Subject",
        "From",
        "To",
        "Date",
        "Message-ID",
        "Auto-Submitted",
        "X-Sneakers-Notification",
        "Content-Type",
        "MIME-Version",
    }
    assert "X-Injected: yes" in message["Subject"]  # kept as harmless text on one line
    assert message["To"].addresses[0].addr_spec == user.email
    assert len(message["To"].addresses) == 1
    html = message.get_body(("html",))
    assert html is not None and "<script>" not in html.get_content()


# --- SMTP transport details ----------------------------------------------------------------


def _outgoing(to: str = "buyer@example.com") -> OutgoingEmail:
    message = EmailMessage()
    message["Subject"] = "Hello"
    message["From"] = "no-reply@sneakers.test"
    message["To"] = to
    message.set_content("Hello")
    return OutgoingEmail(message=message, sender="no-reply@sneakers.test", recipients=(to,))


def test_smtp_url_parsing() -> None:
    plain = parse_smtp_url("smtp://mail.example.com")
    assert (plain.host, plain.port, plain.starttls, plain.implicit_tls) == (
        "mail.example.com",
        25,
        False,
        False,
    )
    assert plain.username is None
    tls = parse_smtp_url("smtp://ap%40key:p%2Fss@relay.example.com?starttls=true&timeout=5")
    assert (tls.port, tls.starttls, tls.username, tls.password, tls.timeout) == (
        587,
        True,
        "ap@key",
        "p/ss",
        5.0,
    )
    assert parse_smtp_url("smtps://u:p@relay.example.com:2465").port == 2465
    assert parse_smtp_url("smtps://relay.example.com").implicit_tls
    for bad in ("http://x", "smtp://", "smtps://x?starttls=1", "smtp://x?timeout=soon"):
        with pytest.raises(Exception, match="SMTP_URL"):
            parse_smtp_url(bad)


def test_mailer_from_settings_picks_smtp_or_the_outbox() -> None:
    outbox = mailer_from_settings(Settings(ENVIRONMENT="test", SMTP_URL=""))
    assert isinstance(outbox, OutboxMailer) and outbox.folder == VAR_DIR / "outbox"
    smtp = mailer_from_settings(Settings(ENVIRONMENT="test", SMTP_URL="smtps://relay.test"))
    assert isinstance(smtp, SmtpMailer) and smtp.config.implicit_tls


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("smtp-tls"))


# aiosmtpd warns about AUTH without STARTTLS even when the whole connection is TLS (smtps).
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.parametrize("implicit_tls", [False, True], ids=["starttls", "smtps"])
def test_smtp_mailer_over_tls_with_login(
    certificate: tuple[Path, Path], implicit_tls: bool
) -> None:

    server = start_smtp(
        credentials=("mailer", "s3cret"), tls=certificate, implicit_tls=implicit_tls
    )
    try:
        trust = ssl.create_default_context(cafile=str(certificate[0]))
        SmtpMailer(server.url, ssl_context=trust).send(_outgoing())
        [received] = server.wait_for(1)
        assert received.rcpt_tos == ("buyer@example.com",)
        wrong = server.url.replace("s3cret", "wrong")
        with pytest.raises(EmailRejected, match="535"):
            SmtpMailer(wrong, ssl_context=trust).send(_outgoing())
        # An untrusted certificate is never silently accepted.
        with pytest.raises(EmailTransientError, match="CERTIFICATE_VERIFY_FAILED"):
            SmtpMailer(server.url).send(_outgoing())
        assert len(server.messages) == 1
    finally:
        server.stop()


# --- inbox ---------------------------------------------------------------------------------


def test_mark_read_refuses_someone_elses_notification(session: Session) -> None:
    owner, intruder = _user(session, "Owner"), _user(session, "Intruder")
    result = _outbid(session, owner)
    session.commit()
    assert result is not None
    nid = result.notification.id or 0
    with pytest.raises(n.NotificationNotFound, match="not found"):
        n.mark_read(session=session, user_id=intruder.id or 0, notification_id=nid)
    with pytest.raises(n.NotificationNotFound):
        n.mark_read(session=session, user_id=intruder.id or 0, notification_id=nid + 1000)
    session.commit()
    assert _rows(session)[0].read_at is None
    assert n.unread_count(session=session, user_id=owner.id or 0) == 1
    assert n.mark_read(session=session, user_id=owner.id or 0, notification_id=nid, now=NOW)
    assert not n.mark_read(session=session, user_id=owner.id or 0, notification_id=nid)
    session.commit()
    assert _rows(session)[0].read_at == NOW
    assert n.unread_count(session=session, user_id=owner.id or 0) == 0


def test_unread_counts_mark_all_read_and_paging(session: Session) -> None:
    alice, bob = _user(session, "Alice"), _user(session, "Bob")
    a, b = alice.id or 0, bob.id or 0
    for i in range(5):
        _outbid(session, alice, key=f"outbid:a:{i}")
    _outbid(session, bob, key="outbid:b:0")
    session.commit()
    assert n.unread_count(session=session, user_id=a) == 5
    assert n.unread_count(session=session, user_id=b) == 1

    page1 = n.inbox(session=session, user_id=a, limit=2)
    page2 = n.inbox(session=session, user_id=a, limit=2, before_id=page1[-1].id)
    page3 = n.inbox(session=session, user_id=a, limit=2, before_id=page2[-1].id)
    ids = [v.id for v in page1 + page2 + page3]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 5
    assert all(r.user_id == a for r in _rows(session) if r.id in ids)

    n.mark_read(session=session, user_id=a, notification_id=ids[0])
    assert n.unread_count(session=session, user_id=a) == 4
    assert n.mark_all_read(session=session, user_id=a, now=NOW + timedelta(minutes=1)) == 4
    session.commit()
    assert n.unread_count(session=session, user_id=a) == 0
    assert n.unread_count(session=session, user_id=b) == 1
    assert all(v.read for v in n.inbox(session=session, user_id=a, limit=50))
    assert n.mark_all_read(session=session, user_id=a) == 0


# --- price drops ---------------------------------------------------------------------------


def _alert(
    session: Session, *, user_id: int, product_id: int, variant_id: int | None, target: int | None
) -> int:
    alert = PriceAlert(
        user_id=user_id, product_id=product_id, variant_id=variant_id, target_price_cents=target
    )
    session.add(alert)
    session.flush()
    assert alert.id is not None
    return alert.id


def test_price_drop_selects_the_watchers_whose_target_is_met(session: Session) -> None:
    v10 = factories.variant(session, "10")
    variant = session.get(ProductVariant, v10)
    assert variant is not None
    pid = variant.product_id
    v11 = ProductVariant(product_id=pid, size="11", sort_order=1)
    session.add(v11)
    session.flush()
    other_product_variant = factories.variant(session, "10")
    other = session.get(ProductVariant, other_product_variant)
    assert other is not None and v11.id is not None
    users = [_user(session, f"Watcher{i}").id or 0 for i in range(7)]

    exact = _alert(session, user_id=users[0], product_id=pid, variant_id=v10, target=20_000)
    whole = _alert(session, user_id=users[1], product_id=pid, variant_id=None, target=25_000)
    low = _alert(session, user_id=users[2], product_id=pid, variant_id=v10, target=19_999)
    _alert(session, user_id=users[3], product_id=pid, variant_id=v11.id, target=30_000)  # size 11
    _alert(session, user_id=users[4], product_id=pid, variant_id=v10, target=None)  # just watching
    _alert(session, user_id=users[5], product_id=other.product_id, variant_id=None, target=90_000)
    session.commit()

    drops = n.price_drop_alerts(session=session, variant_id=v10, lowest_ask_cents=20_000)
    assert [(d.alert_id, d.user_id) for d in drops] == [(exact, users[0]), (whole, users[1])]
    assert all(d.variant_id == v10 and d.lowest_ask_cents == 20_000 for d in drops)
    assert n.price_drop_alerts(session=session, variant_id=v10, lowest_ask_cents=25_001) == []
    assert n.price_drop_alerts(session=session, variant_id=v10, lowest_ask_cents=0) == []

    results = n.notify_price_drops(
        session=session, variant_id=v10, lowest_ask_cents=20_000, now=NOW
    )
    session.commit()
    assert sorted(r.notification.user_id for r in results) == [users[0], users[1]]
    assert all(r.notification.kind == "price_drop" for r in results)
    assert "$200.00" in results[0].notification.title
    alert = session.get(PriceAlert, exact, populate_existing=True)
    assert alert is not None and alert.last_notified_at == NOW

    # The same price level again is not news; a lower one is, for both watchers.
    assert n.price_drop_alerts(session=session, variant_id=v10, lowest_ask_cents=20_000) == []
    assert n.notify_price_drops(session=session, variant_id=v10, lowest_ask_cents=20_000) == []
    lower = n.price_drop_alerts(session=session, variant_id=v10, lowest_ask_cents=19_999)
    assert [d.alert_id for d in lower] == [exact, whole, low]
    assert session.exec(select(func.count()).select_from(Notification)).one() == 2
