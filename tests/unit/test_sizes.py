"""Size conversions against the brands' published charts, and sizes typed in any system."""

from __future__ import annotations

from fractions import Fraction

import pytest

from sneakers_app.catalog_data import CATALOG
from sneakers_app.services import sizes

# (stored size, US men's, US women's, UK, EU, cm) rows as the brands publish them.
NIKE_MENS = [
    ("7", "US M 7", "US W 8.5", "UK 6", "EU 40", "25 cm"),
    ("8.5", "US M 8.5", "US W 10", "UK 7.5", "EU 42", "26.5 cm"),
    ("10", "US M 10", "US W 11.5", "UK 9", "EU 44", "28 cm"),
    ("10.5", "US M 10.5", "US W 12", "UK 9.5", "EU 44.5", "28.5 cm"),
    ("12", "US M 12", "US W 13.5", "UK 11", "EU 46", "30 cm"),
    ("13", "US M 13", "US W 14.5", "UK 12", "EU 47.5", "31 cm"),
]
NIKE_WOMENS = [
    ("6W", "US M 4.5", "US W 6", "UK 3.5", "EU 36.5", "23 cm"),
    ("8W", "US M 6.5", "US W 8", "UK 5.5", "EU 39", "25 cm"),
    ("9.5W", "US M 8", "US W 9.5", "UK 7", "EU 41", "26.5 cm"),
    ("11.5W", "US M 10", "US W 11.5", "UK 9", "EU 44", "28.5 cm"),
    ("12W", "US M 10.5", "US W 12", "UK 9.5", "EU 44.5", "29 cm"),
]
NIKE_GS = [
    ("3.5Y", "US M 3.5", "US W 5", "UK 3", "EU 35.5", "22.5 cm"),
    ("5Y", "US M 5", "US W 6.5", "UK 4.5", "EU 37.5", "23.5 cm"),
    ("6Y", "US M 6", "US W 7.5", "UK 5.5", "EU 38.5", "24 cm"),
    ("6.5Y", "US M 6.5", "US W 8", "UK 6", "EU 39", "24.5 cm"),
    ("7Y", "US M 7", "US W 8.5", "UK 6", "EU 40", "25 cm"),
]
ADIDAS_MENS = [
    ("4", "US M 4", "US W 5", "UK 3.5", "EU 36", "22 cm"),
    ("7", "US M 7", "US W 8", "UK 6.5", "EU 40", "25 cm"),
    ("8.5", "US M 8.5", "US W 9.5", "UK 8", "EU 42", "26.5 cm"),
    ("9.5", "US M 9.5", "US W 10.5", "UK 9", "EU 43\u2153", "27.5 cm"),
    ("10", "US M 10", "US W 11", "UK 9.5", "EU 44", "28 cm"),
    ("10.5", "US M 10.5", "US W 11.5", "UK 10", "EU 44\u2154", "28.5 cm"),
    ("13", "US M 13", "US W 14", "UK 12.5", "EU 48", "31 cm"),
]
ADIDAS_WOMENS = [
    ("5W", "US M 4", "US W 5", "UK 3.5", "EU 36", "22 cm"),
    ("8W", "US M 7", "US W 8", "UK 6.5", "EU 40", "25 cm"),
    ("11W", "US M 10", "US W 11", "UK 9.5", "EU 44", "28 cm"),
]
NEW_BALANCE_MENS = [
    ("8", "US M 8", "US W 9.5", "UK 7.5", "EU 41.5", "26 cm"),
    ("9", "US M 9", "US W 10.5", "UK 8.5", "EU 42.5", "27 cm"),
    ("10", "US M 10", "US W 11.5", "UK 9.5", "EU 44", "28 cm"),
    ("12", "US M 12", "US W 13.5", "UK 11.5", "EU 46.5", "30 cm"),
]
CONVERSE_MENS = [  # unisex: UK is the US men's size
    ("9", "US M 9", "US W 11", "UK 9", "EU 42.5", "27.5 cm"),
    ("10", "US M 10", "US W 12", "UK 10", "EU 44", "28.5 cm"),
]


@pytest.mark.parametrize(
    ("brand", "chart", "rows"),
    [
        ("Nike", "men", NIKE_MENS),
        ("Jordan", "men", NIKE_MENS),
        ("Nike", "women", NIKE_WOMENS),
        ("Jordan", "gs", NIKE_GS),
        ("adidas", "men", ADIDAS_MENS),
        ("Yeezy", "men", ADIDAS_MENS),
        ("adidas", "women", ADIDAS_WOMENS),
        ("New Balance", "men", NEW_BALANCE_MENS),
        ("Converse", "men", CONVERSE_MENS),
    ],
)
def test_conversions_follow_the_published_charts(
    brand: str, chart: str, rows: list[tuple[str, ...]]
) -> None:
    for size, *expected in rows:
        labels = sizes.conversions(brand=brand, chart=chart, size=size)
        assert [labels[s] for s in sizes.SYSTEMS] == expected, (brand, size)


def test_the_same_foot_reads_differently_on_each_brand() -> None:
    nike = sizes.conversions(brand="Nike", chart="men", size="10")
    adidas = sizes.conversions(brand="adidas", chart="men", size="10")
    assert nike["uk"] == "UK 9" and adidas["uk"] == "UK 9.5"
    # Nike women's 11.5 is men's 10, adidas women's 11 is.
    assert sizes.conversions(brand="Nike", chart="women", size="11.5W")["us_m"] == "US M 10"
    assert sizes.conversions(brand="adidas", chart="women", size="11W")["us_m"] == "US M 10"


def test_kids_sizes_lead_with_their_grade_school_size() -> None:
    labels = sizes.conversions(brand="Jordan", chart="gs", size="7Y")
    assert next(iter(labels)) == "gs" and labels["gs"] == "GS 7Y"
    assert sizes.label(brand="Jordan", chart="gs", size="7Y", system="us_m") == "GS 7Y"
    assert sizes.label(brand="Jordan", chart="gs", size="7Y", system="eu") == "EU 40"
    assert sizes.conversion_line(brand="Jordan", chart="gs", size="6Y") == (
        "GS 6Y \u00b7 US M 6 \u00b7 US W 7.5 \u00b7 UK 5.5 \u00b7 EU 38.5 \u00b7 24 cm"
    )


def test_labels_in_each_system_and_an_unknown_size() -> None:
    assert sizes.label(brand="Nike", chart="men", size="10", system="eu") == "EU 44"
    assert sizes.label(brand="Nike", chart="men", size="10", system="cm") == "28 cm"
    assert sizes.label(brand="Nike", chart="men", size="10", system="nonsense") == "US M 10"
    # A size the chart lacks keeps the label it is stored in, in every system.
    assert sizes.label(brand="Nike", chart="men", size="21", system="eu") == "US M 21"
    assert sizes.label(brand="Nike", chart="women", size="3W", system="uk") == "US W 3"
    # An unknown brand reads Nike's chart; an unknown chart is men's.
    assert sizes.label(brand="Acme", chart="men", size="10", system="uk") == "UK 9"
    assert sizes.label(brand="Nike", chart="kids??", size="10", system="uk") == "UK 9"


def test_the_size_as_on_the_box() -> None:
    """Staff and shipping labels read the product's own chart (its box), with EU; a label's
    fonts have no thirds, so they are written out."""
    assert sizes.own_label(brand="Nike", chart="men", size="10") == "US M 10"
    assert sizes.own_label(brand="Nike", chart="women", size="8W") == "US W 8"
    assert sizes.own_label(brand="Nike", chart="gs", size="7Y") == "GS 7Y"
    assert sizes.own_label(brand="Nike", chart="men", size="30") == "US M 30"
    assert sizes.box_label(brand="Nike", chart="men", size="10") == "US M 10 / EU 44"
    assert sizes.box_label(brand="adidas", chart="men", size="10.5") == "US M 10.5 / EU 44 2/3"
    assert sizes.box_label(brand="adidas", chart="men", size="9.5") == "US M 9.5 / EU 43 1/3"
    assert sizes.box_label(brand="Nike", chart="women", size="8W") == "US W 8 / EU 39"
    assert sizes.box_label(brand="Nike", chart="men", size="30") == "US M 30"


def test_every_catalog_size_has_a_row_on_its_chart() -> None:
    for sneaker in CATALOG:
        for size in sneaker.sizes:
            row = sizes.row_for(brand=sneaker.brand, chart=sneaker.size_chart, size=size)
            assert row is not None, (sneaker.brand, sneaker.size_chart, size)
            assert all(row.value(s) is not None for s in sizes.SYSTEMS)


def test_charts_are_monotonic() -> None:
    """Within a chart a bigger size is never smaller in any system (a typo in the data)."""
    for (family, chart), rows in sizes._charts().items():
        ordered = sorted(rows.values(), key=lambda r: r.us_m or 0)
        for system in sizes.SYSTEMS:
            values = [r.value(system) for r in ordered]
            assert values == sorted(values), (family, chart, system)  # type: ignore[type-var]


@pytest.mark.parametrize(
    ("typed", "system", "value"),
    [
        ("EU 44", "eu", Fraction(44)),
        ("eu44", "eu", Fraction(44)),
        ("uk9", "uk", Fraction(9)),
        ("UK 9.5", "uk", Fraction(19, 2)),
        ("28cm", "cm", Fraction(28)),
        ("28 CM", "cm", Fraction(28)),
        ("280mm", "cm", Fraction(28)),
        ("10.5", "us_m", Fraction(21, 2)),
        ("US 10", "us_m", Fraction(10)),
        ("US M 10", "us_m", Fraction(10)),
        ("men's 10", "us_m", Fraction(10)),
        ("W 11", "us_w", Fraction(11)),
        ("11.5W", "us_w", Fraction(23, 2)),
        ("US W 11.5", "us_w", Fraction(23, 2)),
        ("women's 8", "us_w", Fraction(8)),
        ("7Y", "gs", Fraction(7)),
        ("GS 6Y", "gs", Fraction(6)),
        ("44 2/3", "eu", Fraction(134, 3)),
        ("EU 44\u2154", "eu", Fraction(134, 3)),
        ("44,5", "eu", Fraction(89, 2)),
        ("10\u00bd", "us_m", Fraction(21, 2)),
        ("44", "eu", Fraction(44)),
        ("27.5", "cm", Fraction(55, 2)),
        ("size 9", "us_m", Fraction(9)),
    ],
)
def test_a_typed_size_in_any_system(typed: str, system: str, value: Fraction) -> None:
    assert sizes.parse(typed) == sizes.SizeQuery(system=system, value=value)


def test_a_bare_number_reads_in_the_members_system() -> None:
    assert sizes.parse("9", default_system="uk") == sizes.SizeQuery(system="uk", value=Fraction(9))
    assert sizes.parse("9", default_system="us_w").system == "us_w"  # type: ignore[union-attr]
    # EU and cm members typing a US-sized number mean a US size.
    assert sizes.parse("9", default_system="eu").system == "us_m"  # type: ignore[union-attr]
    assert sizes.parse("US 9", default_system="us_w").system == "us_w"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "abc",
        "EU 440",
        "UK 99",
        "10.25",
        "-10",
        "US W 10 cm",
        "7Y cm",
        "1e3",
        "10; DROP TABLE",
        "\x00",
        "9" * 500,
        "eu 44 2/3 2/3",
        "nan",
        "0",
    ],
)
def test_what_is_not_a_size(typed: str) -> None:
    assert sizes.parse(typed) is None


def test_a_size_named_in_search_text() -> None:
    assert sizes.find_in_text("Jordan EU 44") == (
        sizes.SizeQuery(system="eu", value=Fraction(44)),
        "jordan",
    )
    assert sizes.find_in_text("dunk uk 9 panda") == (
        sizes.SizeQuery(system="uk", value=Fraction(9)),
        "dunk panda",
    )
    found = sizes.find_in_text("990v6 28cm")
    assert found is not None and found[0].system == "cm" and found[1] == "990v6"
    # Model names and style codes are never sizes; a number alone is a word in search text.
    for text in ("Air Jordan 1", "Yeezy Boost 350 V2", "M2002RDA", "Gel-1130", "XT-6", "10"):
        assert sizes.find_in_text(text) is None, text


def test_a_typed_size_finds_the_sizes_of_each_brand_and_chart() -> None:
    run = [str(n / 2).removesuffix(".0") for n in range(8, 31)]
    uk9 = sizes.parse("UK 9")
    eu44 = sizes.parse("EU 44")
    eu445 = sizes.parse("EU 44.5")
    assert uk9 is not None and eu44 is not None and eu445 is not None
    assert sizes.matching_sizes(uk9, brand="Nike", chart="men", sizes=run) == ["10"]
    assert sizes.matching_sizes(uk9, brand="adidas", chart="men", sizes=run) == ["9.5"]
    assert sizes.matching_sizes(eu44, brand="adidas", chart="men", sizes=run) == ["10"]
    # 44.5 is Nike's 10.5 and the nearest of adidas's thirds, 44 2/3.
    assert sizes.matching_sizes(eu445, brand="Nike", chart="men", sizes=run) == ["10.5"]
    assert sizes.matching_sizes(eu445, brand="adidas", chart="men", sizes=run) == ["10.5"]
    # Nike's chart gives UK 6 to both 6.5 and 7.
    uk6 = sizes.parse("UK 6")
    assert uk6 is not None
    assert sizes.matching_sizes(uk6, brand="Nike", chart="men", sizes=run) == ["6.5", "7"]
    womens = ["10W", "11W", "11.5W", "12W"]
    men10 = sizes.parse("US M 10")
    assert men10 is not None
    assert sizes.matching_sizes(men10, brand="Nike", chart="women", sizes=womens) == ["11.5W"]
    gs = ["6Y", "6.5Y", "7Y"]
    eu40 = sizes.parse("EU 40")
    assert eu40 is not None
    assert sizes.matching_sizes(eu40, brand="Jordan", chart="gs", sizes=gs) == ["7Y"]
    assert sizes.matching_sizes(eu40, brand="Jordan", chart="men", sizes=run) == ["7"]


def test_suggestions_in_a_system() -> None:
    eu = sizes.suggestions("eu")
    assert "EU 44" in eu and eu == sorted(set(eu), key=eu.index)
    assert sizes.suggestions("nonsense")[0].startswith("US M ")


def test_the_size_systems_a_member_can_pick() -> None:
    assert sizes.SYSTEMS == ("us_m", "us_w", "uk", "eu", "cm")
    assert all(sizes.system_error(s) == "" for s in sizes.SYSTEMS)
    for bad in ("", "gs", "US_M", "eu ", "x" * 100):
        assert sizes.system_error(bad) != ""
