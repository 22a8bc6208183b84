"""The trade ticket's words and numbers: fee lines and totals, price hints, expiry choices and
the self-match refusal (services/ticket.py), without a database or a book."""

from __future__ import annotations

import dataclasses

import pytest

from sneakers_app.services import fees, market, ticket

MINIMUM_ASK = fees.minimum_ask_cents()  # $6 with the default schedule


def texts(hints: list[ticket.HintView]) -> list[str]:
    return [h.text for h in hints]


# --- fee lines --------------------------------------------------------------------------


def test_a_buyer_sees_price_processing_and_shipping_and_the_total() -> None:
    lines, label, total = ticket.fee_lines("buy", 25_000)
    assert [(line.label, line.amount) for line in lines] == [
        ("Price", "$250.00"),
        ("Processing fee (3.0%)", "$7.50"),
        ("Shipping", "$14.95"),
    ]
    assert (label, total) == ("Total", "$272.45")
    assert ticket.fee_lines("bid", 25_000)[1:] == ("Total if your bid matches", "$272.45")


def test_a_seller_sees_their_level_fee_processing_shipping_and_the_payout() -> None:
    lines, label, total = ticket.fee_lines("ask", 25_000, fee_level=2)
    assert [(line.label, line.amount) for line in lines] == [
        ("Price", "$250.00"),
        ("Transaction fee (level 2, 8.5%)", "-$21.25"),
        ("Payment processing (3.0%)", "-$7.50"),
        ("Shipping to verification", "-$5.00"),
    ]
    assert (label, total) == ("Your payout", "$216.25")
    # Sell Now quotes the same, at level 1 unless told.
    assert ticket.fee_lines("sell", 25_000)[0][1].label == "Transaction fee (level 1, 9.0%)"


def test_the_labels_follow_the_schedule() -> None:
    schedule = dataclasses.replace(
        fees.DEFAULT_SCHEDULE, buyer_processing_bp=250, seller_processing_bp=325
    )
    buyer, _, _ = ticket.fee_lines("bid", 10_000, schedule=schedule)
    seller, _, _ = ticket.fee_lines("ask", 10_000, schedule=schedule)
    assert buyer[1].label == "Processing fee (2.5%)"
    assert buyer[1].amount == "$2.50"
    assert seller[2].label == "Payment processing (3.3%)"


def test_an_unknown_level_is_quoted_at_the_first() -> None:
    assert ticket.fee_lines("ask", 10_000, fee_level=99) == ticket.fee_lines("ask", 10_000)


@pytest.mark.parametrize(
    "price", [None, market.MIN_PRICE_CENTS - 1, market.MAX_PRICE_CENTS + 1, 0, -100]
)
def test_no_lines_without_a_price_in_bounds(price: int | None) -> None:
    lines, _, total = ticket.fee_lines("bid", price)
    assert (lines, total) == ([], "")


@pytest.mark.parametrize("price", [market.MIN_PRICE_CENTS, market.MAX_PRICE_CENTS])
def test_the_price_bounds_are_quoted(price: int) -> None:
    lines, _, total = ticket.fee_lines("bid", price)
    assert lines and total


# --- the quote --------------------------------------------------------------------------


def test_buy_now_quotes_the_lowest_ask_and_sell_now_the_highest_bid() -> None:
    top = (20_000, 22_000)
    buy = ticket.quote("buy", "ignored", top)
    assert buy.fixed_price == "$220.00"
    assert buy.fee_lines[0].amount == "$220.00"
    assert buy.hints == []
    sell = ticket.quote("sell", "", top)
    assert sell.fixed_price == "$200.00"
    assert sell.total_label == "Your payout"


def test_buy_now_with_no_ask_quotes_nothing() -> None:
    quote = ticket.quote("buy", "", (20_000, None))
    assert (quote.fixed_price, quote.fee_lines, quote.total) == ("", [], "")


def test_a_bid_quotes_the_typed_price() -> None:
    quote = ticket.quote("bid", "$1,234.5", (None, None))
    assert quote.fixed_price == ""
    assert quote.fee_lines[0].amount == "$1,234.50"
    assert ticket.quote("bid", "abc", (None, None)).total == ""


def test_no_hints_before_a_size_is_chosen() -> None:
    assert ticket.quote("ask", "", (None, None), size_chosen=False).hints == []
    assert ticket.quote("ask", "", (None, None)).hints != []


# --- hints ------------------------------------------------------------------------------


def test_a_bid_is_told_to_buy_now_or_beat_the_highest_bid_by_a_dollar() -> None:
    hints = ticket.hints("bid", (20_000, 22_000))
    assert texts(hints) == [
        "Buy now: bid the lowest ask, $220.00.",
        "Be the highest bidder: $201.00 beats $200.00.",
    ]
    assert [(h.price, h.label) for h in hints] == [("220.00", "Use"), ("201.00", "Use")]


def test_no_beating_the_highest_bid_when_a_dollar_more_reaches_the_ask() -> None:
    assert texts(ticket.hints("bid", (20_000, 20_100))) == ["Buy now: bid the lowest ask, $201.00."]
    assert len(ticket.hints("bid", (20_000, 20_101))) == 2


def test_a_bid_on_an_empty_book_gets_no_hint() -> None:
    assert ticket.hints("bid", (None, None)) == []
    assert texts(ticket.hints("bid", (20_000, None))) == [
        "Be the highest bidder: $201.00 beats $200.00."
    ]


def test_an_ask_is_told_to_sell_faster_or_undercut_by_a_dollar() -> None:
    hints = ticket.hints("ask", (20_000, 22_000))
    assert texts(hints) == [
        "Sell faster: ask the highest bid, $200.00, to sell now.",
        "First in line: $219.00 undercuts the lowest ask, $220.00.",
    ]
    assert [h.price for h in hints] == ["200.00", "219.00"]


def test_no_undercut_that_would_meet_the_highest_bid() -> None:
    assert texts(ticket.hints("ask", (21_900, 22_000))) == [
        "Sell faster: ask the highest bid, $219.00, to sell now."
    ]
    assert len(ticket.hints("ask", (21_899, 22_000))) == 2


def test_an_ask_with_nobody_asking_or_bidding_is_told_it_sets_the_price() -> None:
    hints = ticket.hints("ask", (None, None))
    assert texts(hints) == ["Earn more: no one is asking in this size yet, so you set the price."]
    assert (hints[0].price, hints[0].label) == ("", "")
    # With a bid there is a price to take, and no "earn more".
    assert texts(ticket.hints("ask", (20_000, None))) == [
        "Sell faster: ask the highest bid, $200.00, to sell now."
    ]


def test_no_hint_below_the_minimum_ask() -> None:
    # A bid below the minimum ask is not worth selling into.
    assert ticket.hints("ask", (MINIMUM_ASK - 1, None)) == []
    assert len(ticket.hints("ask", (MINIMUM_ASK, None))) == 1
    # An undercut below the minimum ask is not offered.
    assert ticket.hints("ask", (None, MINIMUM_ASK)) == []
    assert texts(ticket.hints("ask", (None, MINIMUM_ASK + 100))) == [
        f"First in line: ${MINIMUM_ASK // 100}.00 undercuts the lowest ask, "
        f"${MINIMUM_ASK // 100 + 1}.00."
    ]


@pytest.mark.parametrize("kind", ["buy", "sell"])
def test_buy_now_and_sell_now_get_no_hints(kind: str) -> None:
    assert ticket.hints(kind, (20_000, 22_000)) == []


# --- expiry, sides, refusals ------------------------------------------------------------


def test_expiry_choices_per_side() -> None:
    assert ticket.expiry_choices("bid") == [str(d) for d in market.BID_EXPIRY_DAYS]
    assert ticket.expiry_choices("buy") == ticket.expiry_choices("bid")
    assert ticket.expiry_choices("ask") == [str(d) for d in market.ASK_EXPIRY_DAYS]
    assert ticket.expiry_choices("sell") == ticket.expiry_choices("ask")


def test_kinds_and_sides() -> None:
    assert [ticket.side_of(k) for k in ticket.KINDS] == ["bid", "bid", "ask", "ask"]
    assert [ticket.is_immediate(k) for k in ticket.KINDS] == [True, False, True, False]
    assert ticket.now_price("buy", (1, 2)) == 2
    assert ticket.now_price("sell", (1, 2)) == 1


def test_nobody_on_the_other_side() -> None:
    assert ticket.no_counterparty("buy") == (
        "No one is selling this size right now. Place a bid instead."
    )
    assert ticket.no_counterparty("sell") == (
        "No one is bidding on this size right now. Place an ask instead."
    )
    assert ticket.price_changed(21_000).startswith("The price just changed to $210.00.")


def test_a_bid_or_ask_meeting_ones_own_order_is_refused_at_the_price() -> None:
    assert ticket.self_match("bid", None, 20_000) is None
    bid = ticket.self_match("bid", 19_000, 20_000)
    assert bid == ticket.Refusal(
        field="price",
        message="You have an ask at $190.00 in this size: this bid would match your own "
        "listing. Cancel that ask or choose a lower price.",
    )
    ask = ticket.self_match("ask", 21_000, 20_000)
    assert ask is not None and ask.field == "price"
    assert ask.message.endswith("Cancel that bid or choose a higher price.")


def test_buy_now_is_refused_only_when_the_best_price_is_ones_own() -> None:
    assert ticket.self_match("buy", 19_000, 20_000) is None
    own = ticket.self_match("buy", 20_000, 20_000)
    assert own is not None and own.field == ""
    assert own.message.startswith("The best price in this size is your own listing.")


def test_an_ask_below_the_minimum_is_an_error_while_typing_not_a_negative_payout() -> None:
    below = f"{(MINIMUM_ASK - 100) / 100:.2f}"
    assert "Asks start at" in ticket.typing_error("ask", below)
    lines, label, total = ticket.fee_lines("ask", MINIMUM_ASK - 100)
    assert (lines, label, total) == ([], "Your payout", "")
    assert ticket.fee_lines("ask", MINIMUM_ASK)[2].startswith("$")
    # A fine price, no price yet, half-typed text and Buy Now say nothing while typing.
    for kind, text in (("ask", "250"), ("ask", ""), ("ask", "12."), ("bid", "250"), ("buy", "1")):
        assert ticket.typing_error(kind, text) == "", (kind, text)
    assert "lowest price" in ticket.typing_error("bid", "0.50")
