"""The double-entry ledger. Every movement of money posts entries that sum to zero.

Amounts are signed cents: debits positive, credits negative. Accounts:
- `stripe:clearing`        (asset) money at Stripe: + charges, - refunds, - payouts
- `escrow:order:<id>`      (liability) a buyer's money held for one order until it completes or
                           is refunded: -total while held, 0 after
- `seller:<id>`            negative: what we owe the seller; positive: what the seller owes us
- `revenue:fees`, `revenue:shipping`, `revenue:penalties`   the platform's income (credits)

Postings are keyed by a transaction id derived from the order and the step, so a step that runs
twice posts once. Each posting is a `ledger_transactions` row whose primary key is that id, and
every entry references it: of two transactions racing to post the same id, the second waits for
the first on the key and, once the first has committed, writes nothing (its `post` returns
False); each step posts under the order's row lock, so it never races another step anyway.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func
from sqlmodel import Session, col, select

from sneakers_app.models import LedgerEntry, LedgerTransaction, Order, Payment, Payout, utcnow
from sneakers_app.services.sql import insert_for, table_of

CLEARING = "stripe:clearing"
FEES = "revenue:fees"
SHIPPING = "revenue:shipping"
PENALTIES = "revenue:penalties"


class LedgerImbalance(ValueError):
    """A posting whose entries do not sum to zero; nothing is written."""


def escrow(order_id: int) -> str:
    return f"escrow:order:{order_id}"


def seller_account(user_id: int) -> str:
    return f"seller:{user_id}"


def post(
    *,
    session: Session,
    txn_id: str,
    entries: list[tuple[str, int]],
    order_id: int | None = None,
    memo: str = "",
) -> bool:
    """Write one balanced transaction; False (and nothing written) if `txn_id` was posted."""
    entries = [(account, amount) for account, amount in entries if amount != 0]
    if sum(amount for _, amount in entries) != 0:
        raise LedgerImbalance(f"{txn_id}: entries sum to {sum(a for _, a in entries)}")
    if not entries:
        return False
    session.flush()  # rows the caller added first (the entries may reference them)
    # The id is the key: a posting made before writes nothing (a concurrent one is waited
    # for, and whichever commits first is the only one).
    written = session.execute(
        insert_for(session, table_of(LedgerTransaction))
        .values(id=txn_id, order_id=order_id, memo=memo[:200], created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(table_of(LedgerTransaction).c.id)
    ).first()
    if written is None:
        return False
    for account, amount in entries:
        session.add(
            LedgerEntry(
                txn_id=txn_id, account=account, amount_cents=amount, order_id=order_id, memo=memo
            )
        )
    session.flush()
    return True


def balance(*, session: Session, account: str) -> int:
    total = session.exec(
        select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
            LedgerEntry.account == account
        )
    ).one()
    return int(total)


def balances(*, session: Session, prefix: str = "") -> dict[str, int]:
    stmt = select(LedgerEntry.account, func.sum(LedgerEntry.amount_cents)).group_by(
        col(LedgerEntry.account)
    )
    if prefix:
        stmt = stmt.where(col(LedgerEntry.account).startswith(prefix))
    return {account: int(total) for account, total in session.exec(stmt).all()}


@dataclass
class LedgerReport:
    transactions: int = 0
    entries: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# Which money must have moved once an order reaches each terminal state.
REFUNDED_STATES = {"seller_did_not_ship", "returning_to_seller", "returned_to_seller"}
CHARGED_STATES = {
    "paid",
    "awaiting_shipment",
    "shipped_to_verification",
    "received",
    "authenticating",
    "authenticated",
    "auth_failed",
    "shipped_to_buyer",
    "delivered",
}


def check(*, session: Session) -> LedgerReport:
    """Prove the books: every transaction balances, and each order's money adds up."""
    report = LedgerReport()
    _check_transactions(session, report)
    escrows = balances(session=session, prefix="escrow:order:")
    charged = _succeeded(session, "charge")
    refunded = _succeeded(session, "refund")
    payouts = {
        int(order_id): int(amount)
        for order_id, amount in session.exec(
            select(Payout.order_id, Payout.amount_cents).where(Payout.status == "paid")
        ).all()
    }
    for order in session.exec(select(Order)).all():
        assert order.id is not None
        report.problems += _order_problems(
            order,
            held=escrows.get(escrow(order.id), 0),
            paid_in=charged.get(order.id, 0),
            paid_back=refunded.get(order.id, 0),
            paid_out=payouts.get(order.id),
        )
    clearing = balance(session=session, account=CLEARING)
    expected_clearing = sum(charged.values()) - sum(refunded.values()) - sum(payouts.values())
    if clearing != expected_clearing:
        report.problems.append(
            f"stripe:clearing is {clearing}, but charges - refunds - payouts = {expected_clearing}"
        )
    return report


def _check_transactions(session: Session, report: LedgerReport) -> None:
    """Count the transactions and entries; every transaction must sum to zero."""
    sums: dict[str, int] = defaultdict(int)
    for txn_id, amount in session.exec(select(LedgerEntry.txn_id, LedgerEntry.amount_cents)).all():
        sums[txn_id] += int(amount)
        report.entries += 1
    report.transactions = len(sums)
    for txn_id, total in sorted(sums.items()):
        if total != 0:
            report.problems.append(f"transaction {txn_id} does not balance: {total:+d} cents")


def _expected_money(order: Order, paid_in: int) -> tuple[int, int, int]:
    """What the order's state says must have been charged, refunded and held in escrow (held
    as the escrow account's balance: negative while it holds money)."""
    if order.status in CHARGED_STATES:
        return order.buyer_total_cents, 0, -order.buyer_total_cents
    if order.status in REFUNDED_STATES:
        return order.buyer_total_cents, order.buyer_total_cents, 0
    if order.status == "completed":
        return order.buyer_total_cents, 0, 0
    return paid_in, paid_in, 0  # created, payment_failed, cancelled: no money kept


def _order_problems(
    order: Order, *, held: int, paid_in: int, paid_back: int, paid_out: int | None
) -> list[str]:
    """What does not add up in one order's money."""
    label = f"order {order.id} ({order.status})"
    expect_in, expect_back, expect_held = _expected_money(order, paid_in)
    problems = []
    if paid_in != expect_in:
        problems.append(f"{label}: charged {paid_in}, expected {expect_in}")
    if paid_back != expect_back:
        problems.append(f"{label}: refunded {paid_back}, expected {expect_back}")
    if held != expect_held:
        problems.append(f"{label}: escrow holds {-held}, expected {-expect_held}")
    if order.status == "completed":
        parts = (
            order.seller_payout_cents
            + order.seller_transaction_fee_cents
            + order.seller_processing_fee_cents
            + order.seller_shipping_cents
            + order.buyer_processing_fee_cents
            + order.buyer_shipping_cents
        )
        if parts != order.buyer_total_cents:
            problems.append(f"{label}: payout and fees add to {parts}")
        if paid_out is not None and paid_out > order.seller_payout_cents:
            problems.append(f"{label}: paid out more than the seller's share")
    return problems


def _succeeded(session: Session, kind: str) -> dict[int, int]:
    rows = session.exec(
        select(Payment.order_id, func.sum(Payment.amount_cents))
        .where(Payment.kind == kind, Payment.status == "succeeded")
        .group_by(col(Payment.order_id))
    ).all()
    return {int(order_id): int(total) for order_id, total in rows}
