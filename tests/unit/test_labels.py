"""The order code on a label, its Code 128 and QR symbols read back by a barcode reader, and the
label's PDF."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from sneakers_app.services import labels
from sneakers_app.services.addresses import AddressSnapshot
from sneakers_app.settings import Settings


def code128_image(code: str, module_px: int = 3, height: int = 80) -> Image.Image:
    """The bars the PDF draws, rasterised with a quiet zone as a printer would print them."""
    modules = labels.code128_modules(code)
    quiet = 12 * module_px
    image = Image.new("L", (len(modules) * module_px + 2 * quiet, height + 2 * quiet), 255)
    draw = ImageDraw.Draw(image)
    for index, bit in enumerate(modules):
        if bit == "1":
            x = quiet + index * module_px
            draw.rectangle([x, quiet, x + module_px - 1, quiet + height], fill=0)
    return image


def qr_image(code: str, module_px: int = 8) -> Image.Image:
    matrix = labels.qr_matrix(code)
    quiet = 4 * module_px
    side = len(matrix) * module_px + 2 * quiet
    image = Image.new("L", (side, side), 255)
    draw = ImageDraw.Draw(image)
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                x, y = quiet + c * module_px, quiet + r * module_px
                draw.rectangle([x, y, x + module_px - 1, y + module_px - 1], fill=0)
    return image


def read(image: Image.Image) -> list[tuple[str, str]]:
    return [(r.format.name, r.text) for r in zxingcpp.read_barcodes(image)]


@pytest.mark.parametrize("order_id", [1, 123, 999_999, 1_234_567])
def test_the_code_128_and_the_qr_read_back_as_the_order_code(order_id: int) -> None:
    code = labels.order_code(order_id)
    assert read(code128_image(code)) == [("Code128", code)]
    # a full QR code (phone cameras do not read Micro QR)
    assert read(qr_image(code)) == [("QRCode", code)]
    assert labels.parse_order_code(code) == order_id


def test_the_order_code_has_a_fixed_form() -> None:
    assert labels.order_code(123) == "SNK-000123"
    assert labels.order_code(1_234_567) == "SNK-1234567"


@pytest.mark.parametrize(
    ("typed", "order_id"),
    [
        ("SNK-000123", 123),
        ("snk-000123", 123),
        ("  SNK-000123\n", 123),
        ("SNK000123", 123),
        ("SNK 123", 123),
        ("#123", 123),
        ("123", 123),
        ("0000123", 123),
    ],
)
def test_a_scanned_or_typed_code_names_its_order(typed: str, order_id: int) -> None:
    assert labels.parse_order_code(typed) == order_id


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "SNK-",
        "SNK-0",
        "0",
        "-5",
        "SNK-12a",
        "12.5",
        "Jordan 1",
        "SNK--12",
        "1" * 13,
        str(2**31),
        None,
        123,
    ],
)
def test_anything_else_names_no_order(typed: object) -> None:
    assert labels.parse_order_code(typed) is None


def test_an_address_snapshot_reads_as_lines_and_junk_reads_as_none() -> None:
    snapshot = (
        '{"full_name": "Ana Lima", "line1": "1 Main St", "line2": "Apt 2", "city": "Austin",'
        ' "region": "TX", "postal_code": "78701", "country": "US"}'
    )
    address = labels.decode_snapshot(snapshot)
    assert address is not None
    assert address.lines() == ["Ana Lima", "1 Main St", "Apt 2", "Austin, TX 78701", "US"]
    for junk in ("", "null", "[]", "{", '{"full_name": "X"}', '"text"'):
        assert labels.decode_snapshot(junk) is None


def test_the_centre_address_comes_from_the_settings() -> None:
    settings = Settings(
        AUTH_CENTRE_NAME="Centre B",
        AUTH_CENTRE_LINE1="9 Dock Rd",
        AUTH_CENTRE_LINE2="",
        AUTH_CENTRE_CITY="Leeds",
        AUTH_CENTRE_REGION="",
        AUTH_CENTRE_POSTAL_CODE="LS1 4AP",
        AUTH_CENTRE_COUNTRY="GB",
    )
    assert labels.centre_address(settings).lines() == [
        "Centre B",
        "9 Dock Rd",
        "Leeds, LS1 4AP",
        "GB",
    ]


def test_a_label_is_a_one_page_pdf_even_with_letters_outside_latin_1() -> None:
    label = labels.Label(
        kind=labels.LabelKind.RETURN,
        order_id=42,
        code=labels.order_code(42),
        sender=labels.centre_address(),
        recipient=AddressSnapshot(
            full_name="Łukasz Żółć 山田",
            line1="ul. Długa 1" + " very long" * 12,
            city="Gdańsk",
            postal_code="80-001",
            country="PL",
        ),
        product='Air Jordan 1 "Chicago"',
        size="10.5",
        date_label="Printed",
        date=datetime(2026, 12, 3, tzinfo=UTC),
    )
    pdf = labels.render_pdf(label)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") == 1
