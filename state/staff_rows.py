"""What the verification console shows: plain rows for its queue, one order's history and
inspections, the payouts lists and the parked journal entries, built from the services' views.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from typing import Literal

import reflex as rx
from reflex.event import EventSpec

from sneakers_app import routes, vocabulary
from sneakers_app.money import format_usd
from sneakers_app.services import journal, verification_views
from state.notifications import ago


@dataclasses.dataclass
class QueueRow:
    order_id: int
    product: str
    size: str
    """As on the box ("US M 10")."""
    size_line: str
    """Every system ("US M 10 \u00b7 US W 11.5 \u00b7 UK 9 \u00b7 EU 44 \u00b7 28 cm")."""
    image: str
    price: str
    status: str
    status_label: str
    tracking: str
    waiting: str
    appeal: bool


@dataclasses.dataclass
class EventRow:
    when: str
    status_label: str
    actor: str
    reason: str


@dataclasses.dataclass
class InspectionRow:
    when: str
    inspector: str
    appeal: bool
    passed: bool
    checks: str
    failed_checks: str
    reason: str
    notes: str


@dataclasses.dataclass
class PayoutRow:
    payout_id: int
    order_id: int
    seller: str
    seller_email: str
    amount: str
    holder: str
    account_ref: str
    waiting: str
    conflict: str


@dataclasses.dataclass
class PayoutProblemRow:
    payout_id: int
    order_id: int
    seller: str
    seller_email: str
    amount: str
    destination: str
    status: str
    problem: str
    conflict: str


@dataclasses.dataclass
class ParkedRow:
    parked_id: str
    book: str
    entry_id: str
    command: str
    sequence: int
    summary: str
    error: str
    attempts: int
    when: str


def when(moment: datetime) -> str:
    return moment.strftime("%b %-d, %H:%M UTC")


_CENTS = re.compile(r"\b(\d+) cents\b")


def readable(reason: str) -> str:
    """Event reasons are written for the log ("Charged 23125 cents"); show dollars."""
    return _CENTS.sub(lambda m: format_usd(int(m.group(1))), reason)


def queue_row(item: verification_views.QueueItem) -> QueueRow:
    return QueueRow(
        order_id=item.order_id,
        product=item.pair.name,
        size=item.pair.size_label,
        size_line=item.pair.size_line,
        image=routes.product_image(item.pair.image),
        price=format_usd(item.price_cents),
        status=item.status,
        status_label=vocabulary.order_label(item.status),
        tracking=item.outbound_tracking or item.inbound_tracking,
        waiting=ago(item.waiting_since),
        appeal=item.is_appeal,
    )


def event_rows(facts: verification_views.OrderFacts) -> list[EventRow]:
    """The order's history, newest first."""
    return [
        EventRow(
            when=when(e.at),
            status_label=vocabulary.order_label(e.to_status),
            actor=e.actor_name if e.actor_kind != "system" else "Sneakers (automatic)",
            reason=readable(e.reason),
        )
        for e in reversed(facts.events)
    ]


def inspection_rows(facts: verification_views.OrderFacts) -> list[InspectionRow]:
    return [
        InspectionRow(
            when=when(i.at),
            inspector=i.inspector.name,
            appeal=i.is_appeal,
            passed=i.passed,
            checks=f"{sum(i.checks.values())} of {len(i.checks)} checks passed",
            failed_checks=", ".join(name for name, ok in i.checks.items() if not ok),
            reason=i.reason,
            notes=i.notes,
        )
        for i in facts.inspections
    ]


def payout_row(p: verification_views.PendingPayout) -> PayoutRow:
    return PayoutRow(
        payout_id=p.payout_id,
        order_id=p.order_id,
        seller=p.seller.name,
        seller_email=p.seller.email,
        amount=format_usd(p.amount_cents),
        holder=p.holder_name or "No payout details saved",
        account_ref=p.account_ref,
        waiting=ago(p.created_at),
        conflict=p.conflict,
    )


def payout_problem_row(p: verification_views.PayoutProblem) -> PayoutProblemRow:
    return PayoutProblemRow(
        payout_id=p.payout_id,
        order_id=p.order_id,
        seller=p.seller.name,
        seller_email=p.seller.email,
        amount=format_usd(p.amount_cents),
        destination=p.destination_ref,
        status=p.status,
        problem=p.problem,
        conflict=p.conflict,
    )


def parked_row(v: journal.ParkedView) -> ParkedRow:
    return ParkedRow(
        parked_id=v.parked_id,
        book=v.book,
        entry_id=v.entry_id,
        command=v.command,
        sequence=v.sequence,
        summary=v.summary,
        error=v.error,
        attempts=v.attempts,
        when=when(v.parked_at),
    )


def toast(kind: Literal["success", "info", "error"], message: str, duration: int) -> EventSpec:
    """The console's answer to an action, as a toast."""
    spec: EventSpec = getattr(rx.toast, kind)(message, duration=duration)
    return spec
