"""Integer cents in, text out; and the one place prices typed by people become cents."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_PRICE = re.compile(r"^\$?\s*(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?$")


def format_usd(cents: int | None, *, whole: bool = False) -> str:
    """$1,234.50, or $1,235 with whole=True (rounded half up); an em dash for no value."""
    if cents is None:
        return "\u2014"
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    if whole:
        return f"{sign}${(cents + 50) // 100:,}"
    return f"{sign}${cents // 100:,}.{cents % 100:02d}"


def parse_usd(text: str) -> int:
    """Parse "$1,234.5" style input into cents; ValueError with a readable message otherwise."""
    raw = (text or "").strip()
    if not raw:
        raise ValueError("Enter a price.")
    if len(raw) > 20 or not _PRICE.match(raw):
        raise ValueError("Enter a price in dollars, like 250 or 249.99.")
    try:
        value = Decimal(raw.replace("$", "").replace(",", "").strip())
    except InvalidOperation as exc:
        raise ValueError("Enter a price in dollars, like 250 or 249.99.") from exc
    return int(value * 100)
