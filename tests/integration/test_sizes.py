"""Sizes on SQLite and PostgreSQL: the browse filter and the search box find a size typed in any
system on each product's own brand and size chart, and a member's size system is remembered."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from sneakers_app import catalog_data, seed
from sneakers_app.models import Ask, Product, ProductVariant, User
from sneakers_app.services import accounts, catalog, sizes
from tests.support import factories


def add_product(
    session: Session, *, slug: str, brand: str, model: str, chart: str, run: list[str]
) -> Product:
    product = Product(
        slug=slug,
        brand=brand,
        model=model,
        colorway="White Black",
        name=f"{model} White Black",
        style_code=slug.upper(),
        retail_price_cents=12000,
        release_date=date(2021, 3, 10),
        description=f"The {model}.",
        image=f"{slug}.svg",
        size_chart=chart,
    )
    session.add(product)
    session.flush()
    assert product.id is not None
    for i, size in enumerate(run):
        session.add(ProductVariant(product_id=product.id, size=size, sort_order=i))
    session.flush()
    return product


# slug, brand, model, size chart, size run
SHELF = (
    ("dunk-men", "Nike", "Dunk Low", "men", ["9", "10", "11"]),
    ("jordan-men", "Jordan", "Air Jordan 1", "men", ["9", "10", "11"]),
    ("samba-men", "adidas", "Samba OG", "men", ["9", "10", "11"]),
    ("dunk-women", "Nike", "Dunk Low Women", "women", ["10W", "11W", "11.5W"]),
    ("dunk-gs", "Nike", "Dunk Low GS", "gs", ["6Y", "7Y"]),
)


@pytest.fixture
def shelf(session: Session) -> Session:
    for slug, brand, model, chart, run in SHELF:
        add_product(session, slug=slug, brand=brand, model=model, chart=chart, run=run)
    session.commit()
    return session


def found(session: Session, **filters: str) -> list[str]:
    cards = catalog.browse(session=session, filters=catalog.BrowseFilters(sort="newest", **filters))  # type: ignore[arg-type]
    return sorted(c.slug for c in cards)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        # Nike's UK 9 is US 10 (the women's 11.5); adidas's UK 9 is US 9.5, not in this run.
        ("UK 9", ["dunk-men", "dunk-women", "jordan-men"]),
        ("uk9", ["dunk-men", "dunk-women", "jordan-men"]),
        # EU 44 is US 10 on Nike's chart and on adidas's.
        ("EU 44", ["dunk-men", "dunk-women", "jordan-men", "samba-men"]),
        # adidas's thirds: EU 44 2/3 is its 10.5, which this run lacks; 45 1/3 is its 11.
        ("EU 45 1/3", ["samba-men"]),
        ("28cm", ["dunk-men", "dunk-women", "jordan-men", "samba-men"]),
        ("28.5 cm", ["dunk-women"]),
        ("EU 40", ["dunk-gs"]),
        ("7Y", ["dunk-gs"]),
        ("W 11.5", ["dunk-men", "dunk-women", "jordan-men"]),
        # US men's 10 is also Nike's women's 11.5.
        ("10", ["dunk-men", "dunk-women", "jordan-men", "samba-men"]),
        ("US 12", []),
        ("abc", []),
        ("'; drop table products; --", []),
    ],
)
def test_the_size_filter_reads_any_system(shelf: Session, size: str, expected: list[str]) -> None:
    assert found(shelf, size=size) == expected


def test_a_bare_number_is_read_in_the_members_system(shelf: Session) -> None:
    # A UK member's "9" is UK 9; a US women's member's "11.5" is W 11.5.
    assert found(shelf, size="9", size_system="uk") == ["dunk-men", "dunk-women", "jordan-men"]
    assert found(shelf, size="11", size_system="us_w") == ["dunk-women", "samba-men"]


def test_the_search_box_finds_a_size_named_in_it(shelf: Session) -> None:
    assert found(shelf, query="dunk eu 44") == ["dunk-men", "dunk-women"]
    assert found(shelf, query="UK 9") == ["dunk-men", "dunk-women", "jordan-men"]
    assert found(shelf, query="dunk 7Y") == ["dunk-gs"]
    # A number that does not name its system is a word ("Air Jordan 1").
    assert found(shelf, query="air jordan 1") == ["jordan-men"]
    # The filter box wins over a size in the text.
    assert found(shelf, query="dunk eu 44", size="EU 40") == []


def test_the_lowest_ask_shown_is_the_size_asked_for(shelf: Session) -> None:
    dunk = shelf.exec(select(Product).where(Product.slug == "dunk-men")).one()
    seller = User(email="seller-sizes@example.com", display_name="S", password_hash="x")
    shelf.add(seller)
    shelf.flush()
    variants = {
        v.size: v.id
        for v in shelf.exec(select(ProductVariant).where(ProductVariant.product_id == dunk.id))
    }
    now = datetime.now(UTC)
    for size, price in (("9", 15_000), ("10", 21_000)):
        shelf.add(
            Ask(
                user_id=seller.id or 0,
                variant_id=variants[size] or 0,
                price_cents=price,
                client_key=f"sizes-{size}",
                expires_at=now + timedelta(days=3),
            )
        )
    shelf.commit()

    def dunk_ask(**filters: str) -> int | None:
        browse = catalog.BrowseFilters(**filters)  # type: ignore[arg-type]
        cards = catalog.browse(session=shelf, filters=browse)
        return {c.slug: c.lowest_ask_cents for c in cards}["dunk-men"]

    assert dunk_ask(size="EU 44") == 21_000
    assert dunk_ask(query="dunk uk 9") == 21_000
    assert dunk_ask(size="EU 42.5") == 15_000  # Nike's 9
    assert dunk_ask(size="28 cm") == 21_000
    assert dunk_ask() == 15_000


def test_product_detail_carries_its_size_chart(shelf: Session) -> None:
    detail = catalog.get_product(session=shelf, slug="dunk-gs")
    assert detail is not None and detail.size_chart == "gs"
    assert [v.size for v in detail.variants] == ["6Y", "7Y"]


def test_a_member_picks_a_size_system_and_keeps_it(session: Session) -> None:
    user_id = factories.user(session)
    email = session.get(User, user_id).email  # type: ignore[union-attr]
    session.commit()
    login = accounts.log_in(session=session, email=email, password="a long enough password")
    session.commit()
    assert login.user.size_system == "us_m"
    assert sizes.set_size_system(session=session, user_id=user_id, system="eu") == ""
    session.commit()
    user = accounts.user_for_token(session=session, token=login.token)
    assert user is not None and user.size_system == "eu"
    # Anything else is refused and changes nothing.
    for bad in ("gs", "EU", "", "us_m; drop table users", "x" * 200):
        assert sizes.set_size_system(session=session, user_id=user_id, system=bad) != ""
    assert sizes.set_size_system(session=session, user_id=10**9, system="uk") != ""
    session.commit()
    session.expire_all()
    assert session.get(User, user_id).size_system == "eu"  # type: ignore[union-attr]


def test_the_seed_gives_each_product_its_size_chart(session: Session) -> None:
    kinds = {s.size_chart: s for s in catalog_data.CATALOG}
    assert set(kinds) == {"men", "women", "gs"}
    for chart, model in kinds.items():
        product, created = seed.seed_product(session, model)
        assert created and product.size_chart == chart
    # A catalog seeded before products carried their chart converges on it.
    womens = kinds["women"]
    product, _ = seed.seed_product(session, womens)
    product.size_chart = "men"
    session.add(product)
    session.commit()
    product, created = seed.seed_product(session, womens)
    session.commit()
    assert not created and product.size_chart == "women"
    gs = catalog.get_product(session=session, slug=kinds["gs"].slug)
    assert gs is not None and [v.size for v in gs.variants] == list(kinds["gs"].sizes)
