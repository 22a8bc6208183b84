from __future__ import annotations

import pytest

from sneakers_app.money import format_usd, parse_usd


@pytest.mark.parametrize(
    ("cents", "whole", "text"),
    [
        (0, False, "$0.00"),
        (5, False, "$0.05"),
        (123456, False, "$1,234.56"),
        (-2550, False, "-$25.50"),
        (123450, True, "$1,235"),
        (123449, True, "$1,234"),
        (None, False, "\u2014"),
    ],
)
def test_format_usd(cents: int | None, whole: bool, text: str) -> None:
    assert format_usd(cents, whole=whole) == text


@pytest.mark.parametrize(
    ("text", "cents"),
    [("250", 25000), ("$1,234.5", 123450), ("249.99", 24999), (" 10 ", 1000), ("0.01", 1)],
)
def test_parse_usd(text: str, cents: int) -> None:
    assert parse_usd(text) == cents


@pytest.mark.parametrize(
    "text", ["", "abc", "-5", "1e5", "12.345", "1,00", "$", "NaN", "9" * 30, "1 000"]
)
def test_parse_usd_refuses_junk(text: str) -> None:
    with pytest.raises(ValueError):
        parse_usd(text)
