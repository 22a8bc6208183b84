"""What the trade dialog's checks read once per transaction (services/read_once.py) is read
again as soon as anything was written: a memo never answers for a state that has changed."""

from __future__ import annotations

import gc
import uuid
from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from sneakers_app.models import Ask, User, utcnow
from sneakers_app.services import market, payments, read_once
from tests.support import factories
from tests.support.statements import sent_by


def test_who_may_sell_is_read_again_after_payout_details_are_saved(session: Session) -> None:
    seller = factories.user(session, "Seller")
    session.commit()
    assert market.trade_blocker(session=session, user_id=seller, side="ask") == market.NO_PAYOUT
    payments.save_payout_account(
        session=session,
        user_id=seller,
        kind="manual",
        account_ref="Test bank 000123456789",
        holder_name="Test Seller",
    )
    session.flush()  # in the same transaction: written, not committed
    assert market.trade_blocker(session=session, user_id=seller, side="ask") == ""


def test_the_crossing_price_is_read_again_after_a_listing_is_written(session: Session) -> None:
    user = factories.user(session, "Trader")
    variant = factories.variant(session)
    session.commit()

    def crossing() -> int | None:
        return market.own_crossing_price(
            session=session, user_id=user, side="bid", variant_id=variant, price_cents=30_000
        )

    assert crossing() is None
    assert crossing() is None  # the memo's answer, nothing written since
    session.add(
        Ask(
            user_id=user,
            variant_id=variant,
            price_cents=25_000,
            client_key=uuid.uuid4().hex,
            expires_at=utcnow() + timedelta(days=7),
        )
    )
    session.flush()
    assert crossing() == 25_000
    session.rollback()  # the transaction ends: the ask is gone, and so is the memo
    assert crossing() is None


def test_kept_many_reads_an_expired_row_again_and_leaves_out_one_deleted_since(
    session: Session, engine: Engine
) -> None:
    """As `session.get` does: a row the session holds but has expired is read again (in the
    same one statement), and one deleted since is not found."""
    kept_id, deleted_id = factories.user(session, "Kept"), factories.user(session, "Deleted")
    session.commit()
    held = {key: session.get(User, key) for key in (kept_id, deleted_id)}
    with engine.begin() as other:  # another process changes and deletes them
        users = User.__table__  # type: ignore[attr-defined]
        other.execute(users.update().where(users.c.id == kept_id).values(display_name="Renamed"))
        other.execute(users.delete().where(users.c.id == deleted_id))
    session.expire_all()  # as a commit with expire_on_commit does
    with sent_by(session.get_bind()) as statements:
        found = read_once.kept_many(session, User, [kept_id, deleted_id])
        assert set(found) == {kept_id}
        assert found[kept_id] is held[kept_id] and found[kept_id].display_name == "Renamed"
        assert len(statements) == 1 and "WHERE users.id IN" in statements[0]


def test_kept_many_reads_the_rows_not_in_the_session_in_one_statement(session: Session) -> None:
    first, second, third = (factories.user(session, name) for name in ("A", "B", "C"))
    session.commit()
    session.expunge_all()
    held = session.get(User, first)  # in the session already: not read again
    with sent_by(session.get_bind()) as statements:
        found = read_once.kept_many(session, User, [first, second, second, third, 10**9])
        assert set(found) == {first, second, third}  # an unknown id is simply absent
        assert found[first] is held
        assert len(statements) == 1 and "WHERE users.id IN" in statements[0]
        # kept for the transaction: asked again, nothing is read
        gc.collect()
        assert read_once.kept_many(session, User, [second, third]).keys() == {second, third}
        assert session.get(User, second) is found[second]
        assert len(statements) == 1
