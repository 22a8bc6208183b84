"""Words that follow what the member did, and counts that agree with their nouns."""

from __future__ import annotations

from datetime import date

import pytest

from sneakers_app import vocabulary
from sneakers_app.services.seller_dashboard import LevelCard


@pytest.mark.parametrize(
    ("role", "maker_side", "headline", "title"),
    [
        ("buying", "ask", "You bought", "You bought Dunk Low"),  # Buy Now took a resting ask
        ("buying", "bid", "Your bid matched", "Your bid matched: Dunk Low"),
        ("selling", "bid", "You sold", "You sold Dunk Low"),  # Sell Now took a resting bid
        ("selling", "ask", "Your ask sold", "Your ask sold: Dunk Low"),
        ("buying", None, "You bought", "You bought Dunk Low"),  # no trade known
    ],
)
def test_a_match_reads_after_what_the_member_did(
    role: vocabulary.Side, maker_side: str | None, headline: str, title: str
) -> None:
    assert vocabulary.match_headline(role, maker_side) == headline
    assert vocabulary.match_title(role, maker_side, "Dunk Low") == title


def test_counts_agree_with_their_nouns() -> None:
    assert vocabulary.plural(1, "day") == "1 day"
    assert vocabulary.plural(2, "day") == "2 days"
    assert vocabulary.plural(0, "bid") == "0 bids"
    assert vocabulary.plural(1, "child", "children") == "1 child"
    assert vocabulary.plural(3, "child", "children") == "3 children"


@pytest.mark.parametrize(("left", "text"), [(1, "1 more sale or"), (4, "4 more sales or")])
def test_the_level_hint_counts_sales_right(left: int, text: str) -> None:
    card = LevelCard(
        level=1,
        fee_bp=900,
        sales=3,
        volume_cents=0,
        next_level=2,
        next_fee_bp=850,
        sales_to_next=left,
        volume_to_next_cents=100_000,
        progress_pct=50,
        quarter_ends=date(2026, 12, 31),
    )
    assert card.hint.startswith(text)
