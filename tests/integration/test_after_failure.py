# ruff: noqa: F811  (the fixtures `mk` and `variant` are imported from test_saga)
"""What each side reads after a pair fails authentication, through the read models the order
pages, the order list and the portfolio use, and the notices and emails each side gets: the
buyer's refund line and net paid, the notice at the failure itself, the seller's penalty, no
payout and the appeal; and a match worded after what each member did."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from sneakers_app.models import Notification, Order, User
from sneakers_app.money import format_usd
from sneakers_app.services import notifications, order_views, portfolio, saga, seller_dashboard
from sneakers_app.services import verification as vf
from sneakers_app.services.notifications import Kind
from tests.integration.test_saga import (  # noqa: F401 (fixtures)
    BAD_STITCHING,
    Market,
    mk,
    smtp,
    variant,
)


def snapshot_card(mk: Market, order_id: int, brand: str = "visa", last4: str = "4242") -> None:
    """The card the match took a snapshot of (the checkout fills these at the match)."""
    with mk.session() as s:
        order = s.get(Order, order_id)
        assert order is not None
        order.card_brand, order.card_last4 = brand, last4
        s.add(order)
        s.commit()


def fail_inspection(
    mk: Market, order_id: int, staff: int, reason: str = "Stitching does not match retail pairs"
) -> None:
    decision = {"checklist": BAD_STITCHING, "passed": False, "reason": reason}
    mk.step(vf.decide, staff_id=staff, order_id=order_id, **decision)


def failed_order(mk: Market, seller: int, buyer: int, staff: int, variant_id: int) -> int:
    """A paid order whose pair just failed its first inspection (the appeal window open)."""
    order_id = mk.paid_order(seller, buyer, variant_id)
    mk.to_authenticating(order_id, seller, staff)
    fail_inspection(mk, order_id, staff)
    return order_id


def _final(mk: Market, order_id: int) -> None:
    deadline = mk.order(order_id).appeal_deadline
    assert deadline is not None
    result = mk.step(
        saga.finalize_failure,
        order_id=order_id,
        client=mk.stripe,
        now=deadline + timedelta(seconds=1),
    )
    assert result.changed


def _notices(mk: Market, user_id: int, kind: Kind) -> list[Notification]:
    mine = (Notification.user_id == user_id) & (Notification.kind == kind)
    with mk.session() as s:
        return list(s.exec(select(Notification).where(mine)).all())


def _detail(mk: Market, user_id: int, order_id: int) -> order_views.OrderDetail:
    with mk.session() as s:
        return order_views.order_detail(session=s, user_id=user_id, order_id=order_id)


def test_the_buyer_sees_the_refund_as_a_line_and_what_they_paid_net(
    mk: Market, variant: int
) -> None:
    seller, buyer, staff = mk.seller(), mk.buyer(), mk.staff()
    order_id = failed_order(mk, seller, buyer, staff, variant)
    snapshot_card(mk, order_id)
    total = mk.order(order_id).buyer_total_cents

    before = _detail(mk, buyer, order_id)
    assert before.refund is None
    assert [(m.label, m.amount_cents) for m in before.money][-1] == ("Total", total)
    with mk.session() as s:
        row = order_views.list_orders(session=s, user_id=buyer, role="buying")[0]
    assert (row.amount_label, row.amount_cents, row.note) == ("Total paid", total, "")

    _final(mk, order_id)
    detail = _detail(mk, buyer, order_id)
    assert detail.refund is not None
    assert detail.refund.amount_cents == total
    assert detail.refund.card == "Visa ending 4242"
    assert detail.refund.at is not None
    lines = [(m.label, m.amount_cents, m.is_total) for m in detail.money]
    assert lines[-3:] == [
        ("Total", total, True),
        ("Refunded to Visa ending 4242", -total, False),
        ("Paid net", 0, True),
    ]
    assert detail.next_steps == ""  # the refund is made: the line says it all
    # The order list and the portfolio's purchase history stop showing the total as paid.
    with mk.session() as s:
        listed = order_views.list_orders(session=s, user_id=buyer, role="buying")
        history = portfolio.purchase_history(session=s, user_id=buyer)
    for rows in (listed, history):
        (row,) = [r for r in rows if r.id == order_id]
        assert (row.amount_label, row.amount_cents) == ("Paid net", 0)
        assert row.note == f"Refunded {format_usd(total)}"
    # The refund notice names the card and when the money lands.
    (refund,) = _notices(mk, buyer, Kind.REFUND_ISSUED)
    assert "to Visa ending 4242" in refund.body
    assert "5 to 10 business days" in refund.body
    mk.books_balance()


def test_a_refund_without_a_card_snapshot_goes_to_your_card(mk: Market, variant: int) -> None:
    """An order matched before the match took a card snapshot names no card it cannot know."""
    seller, buyer, staff = mk.seller(), mk.buyer(), mk.staff()
    order_id = failed_order(mk, seller, buyer, staff, variant)
    snapshot_card(mk, order_id, brand="", last4="")
    _final(mk, order_id)
    detail = _detail(mk, buyer, order_id)
    assert detail.refund is not None and detail.refund.card == "your card"
    assert ("Refunded to your card", -mk.order(order_id).buyer_total_cents) in [
        (m.label, m.amount_cents) for m in detail.money
    ]


def test_the_seller_sees_the_penalty_and_no_payout(mk: Market, variant: int) -> None:
    seller, buyer, staff = mk.seller(), mk.buyer(), mk.staff()
    order_id = failed_order(mk, seller, buyer, staff, variant)
    order = mk.order(order_id)

    on_hold = _detail(mk, seller, order_id)
    assert on_hold.can_appeal
    assert on_hold.money[-1].label == "Payout on hold"
    with mk.session() as s:
        row = order_views.list_orders(session=s, user_id=seller, role="selling")[0]
    assert row.amount_label == "Payout on hold"

    _final(mk, order_id)
    order = mk.order(order_id)
    assert order.penalty_cents > 0
    detail = _detail(mk, seller, order_id)
    assert not detail.can_appeal
    assert detail.penalty_cents == order.penalty_cents
    lines = [(m.label, m.amount_cents) for m in detail.money]
    assert ("No payout: the sale did not go through", 0) in lines
    assert ("Penalty (taken from your next payout)", -order.penalty_cents) in lines
    assert lines[-1] == ("You owe", -order.penalty_cents)
    assert order.seller_payout_cents not in [amount for _, amount in lines]
    with mk.session() as s:
        (row,) = order_views.list_orders(session=s, user_id=seller, role="selling")
    assert (row.amount_label, row.amount_cents, row.note) == (
        "Penalty",
        -order.penalty_cents,
        "No payout",
    )


def test_the_buyer_is_told_at_once_when_the_pair_fails(mk: Market, variant: int) -> None:
    seller, buyer, staff = mk.seller(), mk.buyer(), mk.staff()
    order_id = failed_order(mk, seller, buyer, staff, variant)
    order = mk.order(order_id)
    total = format_usd(order.buyer_total_cents)
    card = f"{order.card_brand.capitalize()} ending {order.card_last4}"
    assert card == "Visa ending 4242"  # the card the match recorded
    assert order.appeal_deadline is not None
    deadline = order_views.when(order.appeal_deadline)

    (notice,) = _notices(mk, buyer, Kind.AUTH_FAILED_BUYER)
    assert notice.link == f"/orders/{order_id}"
    assert "did not pass our authentication" in notice.body
    assert f"The seller may appeal until {deadline}." in notice.body
    assert f"we refund {total} to {card}" in notice.body
    assert "5 to 10 business days" in notice.body
    assert _notices(mk, buyer, Kind.REFUND_ISSUED) == []  # not refunded yet
    # The buyer's order page says the same until the refund is made.
    assert _detail(mk, buyer, order_id).next_steps in notice.body

    # ...and by email, through the SMTP server.
    mk.smtp.collector.clear()
    assert mk.send_emails() >= 1
    with mk.session() as s:
        buyer_email = s.get(User, buyer).email  # type: ignore[union-attr]
    mails = [m.message for m in mk.smtp.collector.messages() if buyer_email in m.rcpt_tos]
    (mail,) = [m for m in mails if "did not pass authentication" in str(m["Subject"])]
    text = mail.get_body(preferencelist=("plain",))
    assert text is not None and f"may appeal until {deadline}" in text.get_content()

    # The seller's notice mentions the appeal, its deadline, and links to the order page.
    (seller_notice,) = _notices(mk, seller, Kind.AUTH_FAILED)
    assert seller_notice.link == f"/orders/{order_id}"
    assert "appeal this decision once from the order page until" in seller_notice.body

    # The later refund notice tells the refund, not the failure over again.
    _final(mk, order_id)
    (refund,) = _notices(mk, buyer, Kind.REFUND_ISSUED)
    assert "may appeal" not in refund.body and "did not pass" not in refund.body
    assert len(_notices(mk, buyer, Kind.AUTH_FAILED_BUYER)) == 1


def test_a_failure_on_appeal_tells_the_buyer_it_is_final(mk: Market, variant: int) -> None:
    seller, buyer = mk.seller(), mk.buyer()
    first, second = mk.staff(), mk.staff()
    order_id = failed_order(mk, seller, buyer, first, variant)
    mk.step(vf.appeal, seller_id=seller, order_id=order_id, reason="These are retail pairs")
    fail_inspection(mk, order_id, second, "Confirmed: replica stitching")
    first_notice, final_notice = sorted(
        _notices(mk, buyer, Kind.AUTH_FAILED_BUYER), key=lambda n: n.id or 0
    )
    assert "may appeal" in first_notice.body
    assert "The decision is final" in final_notice.body
    assert "may appeal" not in final_notice.body
    assert not _detail(mk, seller, order_id).can_appeal


def test_a_match_is_worded_after_what_each_member_did(mk: Market, variant: int) -> None:
    """Buy Now against a resting ask, and Sell Now against a resting bid: four points of view."""
    cases = [
        # (resting side, taker side, buyer's headline, seller's headline)
        ("ask", "bid", "You bought", "Your ask sold"),
        ("bid", "ask", "Your bid matched", "You sold"),
    ]
    for resting, taker, buyer_says, seller_says in cases:
        seller, buyer = mk.seller(), mk.buyer()
        maker = seller if resting == "ask" else buyer
        mk.place(maker, resting, variant)  # type: ignore[arg-type]
        placed = mk.place(seller if taker == "ask" else buyer, taker, variant, immediate=True)  # type: ignore[arg-type]
        assert placed.status == "filled"
        taker_words = "You bought it:" if taker == "bid" else "You sold it:"
        assert taker_words in placed.message  # the trade dialog's message
        mk.drain(variant)
        order_id = mk.new_orders[-1]
        mk.step(saga.charge, order_id=order_id, client=mk.stripe)

        assert _detail(mk, buyer, order_id).headline == buyer_says
        assert _detail(mk, seller, order_id).headline == seller_says
        (bought,) = _notices(mk, buyer, Kind.BID_MATCHED)
        (sold,) = _notices(mk, seller, Kind.ASK_MATCHED)
        assert bought.title.startswith(buyer_says), bought.title
        assert bought.body.startswith(f"{buyer_says} at "), bought.body
        assert sold.title.startswith(seller_says), sold.title
        assert sold.body.startswith(f"{seller_says} at "), sold.body
        with mk.session() as s:
            inbox = notifications.inbox(session=s, user_id=buyer, limit=5)
        assert inbox[0].title == bought.title  # what the live toast shows


def test_the_appeal_button_asks_the_same_rule_on_both_pages(mk: Market, variant: int) -> None:
    """The dashboard row and the order page open the appeal through `seller_dashboard.sale`:
    the seller's own sale, still inside the window; nobody else's, no made-up id."""
    seller, buyer, staff = mk.seller(), mk.buyer(), mk.staff()
    order_id = failed_order(mk, seller, buyer, staff, variant)
    deadline = mk.order(order_id).appeal_deadline
    assert deadline is not None
    with mk.session() as s:
        sale = seller_dashboard.sale(session=s, seller_id=seller, order_id=order_id)
        assert sale is not None and sale.can_appeal
        listed = seller_dashboard.pending_sales(session=s, seller_id=seller)
        assert [x.can_appeal for x in listed if x.order_id == order_id] == [True]
        late = seller_dashboard.sale(
            session=s, seller_id=seller, order_id=order_id, now=deadline + timedelta(seconds=1)
        )
        assert late is not None and not late.can_appeal
        for who, which in ((buyer, order_id), (seller, 10**9), (seller, "1"), (seller, True)):
            assert seller_dashboard.sale(session=s, seller_id=who, order_id=which) is None
