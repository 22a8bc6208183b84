"""Catalog search and product pages on both databases, including hostile search text."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, select

from sneakers_app.models import Product, ProductVariant, Sale
from sneakers_app.services import catalog


def add_product(
    session: Session,
    *,
    slug: str,
    brand: str,
    model: str,
    colorway: str,
    style: str,
    released: date,
) -> Product:
    product = Product(
        slug=slug,
        brand=brand,
        model=model,
        colorway=colorway,
        name=f"{model} {colorway}",
        style_code=style,
        retail_price_cents=18000,
        release_date=released,
        description=f"The {model} in {colorway}.",
        image=f"{slug}.svg",
    )
    session.add(product)
    session.flush()
    assert product.id is not None
    for i, size in enumerate(["9", "10", "11"]):
        session.add(ProductVariant(product_id=product.id, size=size, sort_order=i))
    session.flush()
    return product


@pytest.fixture
def catalog_rows(session: Session) -> Session:
    add_product(
        session,
        slug="jordan-1-chicago",
        brand="Jordan",
        model="Air Jordan 1 High",
        colorway="Chicago",
        style="DZ5485-612",
        released=date(2022, 11, 19),
    )
    add_product(
        session,
        slug="nike-dunk-panda",
        brand="Nike",
        model="Dunk Low",
        colorway="Panda",
        style="DD1391-100",
        released=date(2021, 3, 10),
    )
    yeezy = add_product(
        session,
        slug="adidas-yeezy-350-zebra",
        brand="adidas",
        model="Yeezy Boost 350 V2",
        colorway="Zebra",
        style="CP9654",
        released=date(2017, 2, 25),
    )
    variant = session.exec(
        select(ProductVariant).where(ProductVariant.product_id == yeezy.id)
    ).first()
    assert variant is not None and variant.id is not None and yeezy.id is not None
    for price, day in ((30000, 1), (32000, 2)):
        session.add(
            Sale(
                product_id=yeezy.id,
                variant_id=variant.id,
                price_cents=price,
                executed_at=datetime(2026, 1, day, tzinfo=UTC),
            )
        )
    session.commit()
    return session


def names(cards: list[catalog.ProductCard]) -> list[str]:
    return [c.slug for c in cards]


def test_browse_lists_newest_first(catalog_rows: Session) -> None:
    cards = catalog.search_products(session=catalog_rows)
    assert names(cards) == ["jordan-1-chicago", "nike-dunk-panda", "adidas-yeezy-350-zebra"]
    assert cards[2].last_sale_cents == 32000
    assert cards[0].last_sale_cents is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("panda", ["nike-dunk-panda"]),
        ("PANDA dunk", ["nike-dunk-panda"]),
        ("jord", ["jordan-1-chicago"]),
        ("DZ5485", ["jordan-1-chicago"]),
        ("zebra yeezy", ["adidas-yeezy-350-zebra"]),
        ("chicago panda", []),
    ],
)
def test_full_text_search(catalog_rows: Session, query: str, expected: list[str]) -> None:
    assert names(catalog.search_products(session=catalog_rows, query=query)) == expected


def test_brand_filter(catalog_rows: Session) -> None:
    assert names(catalog.search_products(session=catalog_rows, brand="Nike")) == ["nike-dunk-panda"]
    assert catalog.search_products(session=catalog_rows, brand="Nope") == []
    assert catalog.list_brands(session=catalog_rows) == ["Jordan", "Nike", "adidas"]


@pytest.mark.parametrize(
    "hostile",
    [
        '"',
        "'",
        "*",
        "'; drop table products; --",
        '"panda" OR "*',
        "NEAR(",
        "a" * 5000,
        "\x00\x01",
        "%",
        "panda)",
        "-",
        "^panda",
        "{}[]",
    ],
)
def test_hostile_search_text_is_just_words(catalog_rows: Session, hostile: str) -> None:
    cards = catalog.search_products(session=catalog_rows, query=hostile)
    assert isinstance(cards, list)
    count = catalog_rows.exec(select(Product)).all()
    assert len(count) == 3


def test_quoted_word_still_matches(catalog_rows: Session) -> None:
    assert names(catalog.search_products(session=catalog_rows, query='"panda"')) == [
        "nike-dunk-panda"
    ]


def test_product_detail_and_unknown_slugs(catalog_rows: Session) -> None:
    detail = catalog.get_product(session=catalog_rows, slug="adidas-yeezy-350-zebra")
    assert detail is not None
    assert [v.size for v in detail.variants] == ["9", "10", "11"]
    assert detail.sales_count == 2
    assert detail.last_sale_cents == 32000
    assert detail.variants[0].last_sale_cents == 32000
    for slug in ("nope", "", "../etc/passwd", "A" * 500, "jordan-1-chicago'--"):
        assert catalog.get_product(session=catalog_rows, slug=slug) is None


def test_browse_filters_sorts_and_market_figures(catalog_rows: Session) -> None:
    from datetime import timedelta

    from sneakers_app.models import Ask, User

    now = datetime(2026, 1, 10, tzinfo=UTC)
    yeezy = catalog_rows.exec(select(Product).where(Product.slug == "adidas-yeezy-350-zebra")).one()
    size10 = catalog_rows.exec(
        select(ProductVariant).where(
            ProductVariant.product_id == yeezy.id, ProductVariant.size == "10"
        )
    ).one()
    assert yeezy.id is not None and size10.id is not None
    catalog_rows.add(
        Sale(
            product_id=yeezy.id,
            variant_id=size10.id,
            price_cents=40_000,
            executed_at=now - timedelta(hours=2),
        )
    )
    seller = User(email="s@example.com", display_name="S", password_hash="x")
    catalog_rows.add(seller)
    catalog_rows.flush()
    catalog_rows.add(
        Ask(
            user_id=seller.id or 0,
            variant_id=size10.id or 0,
            price_cents=41_000,
            client_key="k1",
            expires_at=now + timedelta(days=3),
        )
    )
    catalog_rows.commit()

    def run(**kw: object) -> list[catalog.ProductCard]:
        return catalog.browse(session=catalog_rows, filters=catalog.BrowseFilters(**kw), now=now)  # type: ignore[arg-type]

    [card] = run(query="zebra")
    assert card.last_sale_cents == 40_000 and card.lowest_ask_cents == 41_000
    assert card.change_24h_bp == (40_000 - 32_000) * 10_000 // 32_000
    assert card.change_30d_bp is None  # no sale 30 days before
    assert card.sales_30d == 3
    assert names(run(sort="newest")) == [
        "jordan-1-chicago",
        "nike-dunk-panda",
        "adidas-yeezy-350-zebra",
    ]
    assert names(run(sort="most_active"))[0] == "adidas-yeezy-350-zebra"
    assert names(run(sort="price_high"))[0] == "adidas-yeezy-350-zebra"
    assert names(run(release_year=2021)) == ["nike-dunk-panda"]
    assert names(run(min_price_cents=40_500)) == ["adidas-yeezy-350-zebra"]
    assert names(run(max_price_cents=40_000)) == []
    assert names(run(size="10", sort="newest")) == [
        "jordan-1-chicago",
        "nike-dunk-panda",
        "adidas-yeezy-350-zebra",
    ]
    assert names(run(size="15")) == []
    assert catalog.release_years(session=catalog_rows) == [2022, 2021, 2017]


def test_product_facts_are_the_products_and_kept_a_while(
    catalog_rows: Session, app_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A web worker's page loads read a product's listed facts once a minute, not per tab: a
    change shows after `FACTS_SECONDS`; a made-up slug is never kept."""
    from sneakers_app.services import product_page

    catalog_rows.commit()
    product_page._facts.clear()
    detail = catalog.get_product(session=catalog_rows, slug="nike-dunk-panda")
    facts = product_page.product_facts("nike-dunk-panda")
    assert detail is not None and facts is not None
    assert (facts.id, facts.name, facts.brand, facts.size_chart) == (
        detail.id,
        detail.name,
        detail.brand,
        detail.size_chart,
    )
    assert facts.sizes == tuple((v.id, v.size) for v in detail.variants)

    product = catalog_rows.exec(select(Product).where(Product.slug == "nike-dunk-panda")).one()
    product.name = "Dunk Low Panda (renamed)"
    catalog_rows.add(product)
    catalog_rows.commit()
    assert product_page.product_facts("nike-dunk-panda") == facts
    assert product_page.read_product_facts("nike-dunk-panda") != facts
    monkeypatch.setattr(product_page, "FACTS_SECONDS", 0.0)
    renamed = product_page.product_facts("nike-dunk-panda")
    assert renamed is not None and renamed.name == "Dunk Low Panda (renamed)"

    for slug in ("nope", "../etc/passwd", "A" * 500):
        assert product_page.product_facts(slug) is None
    assert set(product_page._facts) == {"nike-dunk-panda"}
    product_page._facts.clear()
