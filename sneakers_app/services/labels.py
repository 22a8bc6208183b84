"""Shipping labels: the seller's parcel to the authentication centre, and the centre's parcels on
to the buyer or back to the seller. A label is a one-page PDF (4 x 6 inches, the size label
printers take; an office printer scales it onto a sheet) with both addresses, the order code as
a Code 128 barcode and as a QR code, the pair and a date.

The order code (`SNK-000123`) is what the centre scans at receipt: the console's search reads it
back (`parse_order_code`), as it reads a typed `123` or `#123`.

Who may print which label is decided here: the seller their own order's label while the pair is
theirs to send; staff (second factor passed, not a party to the order) the buyer's and the
return label. The browser opens a label by a signed link bound to the login that asked for it
(`label_link`): the route that serves it (`sneakers_app/api.py`) re-checks the login and the
rule above, and answers 404 to anything else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import barcode
import segno
from fpdf import FPDF
from sqlmodel import Session

from sneakers_app import routes
from sneakers_app.models import Order, Product, ProductVariant, User, UserSession, utcnow
from sneakers_app.services import accounts, sizes
from sneakers_app.services.addresses import AddressSnapshot, default_address
from sneakers_app.services.orders import OrderError, aware, require_staff
from sneakers_app.services.saga import require_no_conflict
from sneakers_app.settings import Settings, get_settings
from sneakers_app.vocabulary import OrderStatus

# --- the order code -------------------------------------------------------------------------

ORDER_CODE_PREFIX = "SNK-"
MAX_ORDER_ID = 2**31 - 1  # the id column's range (PostgreSQL `integer`)
_CODE = re.compile(r"#?(?:SNK[-\s]?)?(\d{1,12})", re.IGNORECASE)


def order_code(order_id: int) -> str:
    """The code printed and encoded on an order's labels: `SNK-000123`."""
    return f"{ORDER_CODE_PREFIX}{order_id:06d}"


def parse_order_code(text: object) -> int | None:
    """The order id in a scanned or typed code (`SNK-000123`, `snk000123`, `#123`, `123`), or
    None for anything else."""
    if not isinstance(text, str) or len(text) > 40:
        return None
    found = _CODE.fullmatch(text.strip())
    if found is None:
        return None
    order_id = int(found.group(1))
    return order_id if 0 < order_id <= MAX_ORDER_ID else None


# --- addresses ------------------------------------------------------------------------------


def decode_snapshot(raw: str | None) -> AddressSnapshot | None:
    """An order's address snapshot, when it is complete enough to ship to (a name, a street and
    a city); a snapshot without a country is read as US."""
    snapshot = AddressSnapshot.from_json(raw)
    if snapshot is None:
        return None
    fields = {k: v.strip() for k, v in asdict(snapshot).items()}
    if not (fields["full_name"] and fields["line1"] and fields["city"]):
        return None
    return AddressSnapshot(**{**fields, "country": fields["country"] or "US"})


def centre_address(settings: Settings | None = None) -> AddressSnapshot:
    """The authentication centre (settings `AUTH_CENTRE_*`)."""
    s = settings or get_settings()
    return AddressSnapshot(
        full_name=s.AUTH_CENTRE_NAME,
        line1=s.AUTH_CENTRE_LINE1,
        line2=s.AUTH_CENTRE_LINE2,
        city=s.AUTH_CENTRE_CITY,
        region=s.AUTH_CENTRE_REGION,
        postal_code=s.AUTH_CENTRE_POSTAL_CODE,
        country=s.AUTH_CENTRE_COUNTRY,
    )


def party_address(session: Session, order: Order, *, buyer: bool) -> AddressSnapshot | None:
    """The buyer's or seller's address as snapshotted at the match; for an order matched before
    snapshots were taken, the member's default address now."""
    snapshot = decode_snapshot(order.buyer_address if buyer else order.seller_address)
    if snapshot is not None:
        return snapshot
    current = default_address(session=session, user_id=order.buyer_id if buyer else order.seller_id)
    if current is None:
        return None
    return AddressSnapshot.of(current)


# --- what a label says --------------------------------------------------------------------


class LabelKind(StrEnum):
    SELLER = "seller"  # the seller's parcel to the authentication centre
    BUYER = "buyer"  # the centre's parcel to the buyer
    RETURN = "return"  # the centre's parcel back to the seller after a failed authentication


# While each label may be printed: before the parcel leaves, and while it is on its way.
LABEL_STATUSES: dict[LabelKind, frozenset[str]] = {
    LabelKind.SELLER: frozenset(
        {OrderStatus.AWAITING_SHIPMENT, OrderStatus.SHIPPED_TO_VERIFICATION}
    ),
    LabelKind.BUYER: frozenset({OrderStatus.AUTHENTICATED, OrderStatus.SHIPPED_TO_BUYER}),
    LabelKind.RETURN: frozenset({OrderStatus.RETURNING_TO_SELLER, OrderStatus.RETURNED_TO_SELLER}),
}


def staff_label_kind(status: str) -> LabelKind | None:
    """The label staff print for an order in this status (to the buyer, or back to the
    seller), or None."""
    for kind in (LabelKind.BUYER, LabelKind.RETURN):
        if status in LABEL_STATUSES[kind]:
            return kind
    return None


_TITLES = {
    LabelKind.SELLER: "TO AUTHENTICATION",
    LabelKind.BUYER: "TO BUYER",
    LabelKind.RETURN: "RETURN TO SELLER",
}


@dataclass(frozen=True, kw_only=True)
class Label:
    kind: LabelKind
    order_id: int
    code: str
    sender: AddressSnapshot | None
    recipient: AddressSnapshot
    product: str
    size: str
    """As on the box, with EU: "US M 10 / EU 44"."""
    date_label: str
    date: datetime


def _pair(session: Session, order: Order) -> tuple[str, str]:
    variant = session.get(ProductVariant, order.variant_id)
    product = session.get(Product, variant.product_id) if variant else None
    if product is None or variant is None:
        return ("Sneakers", "")
    size = sizes.box_label(brand=product.brand, chart=product.size_chart, size=variant.size)
    return (product.name, size)


def _build(session: Session, order: Order, kind: LabelKind, now: datetime) -> Label:
    centre = centre_address()
    if kind is LabelKind.SELLER:
        sender, recipient = party_address(session, order, buyer=False), centre
    else:
        recipient_address = party_address(session, order, buyer=kind is LabelKind.BUYER)
        if recipient_address is None:
            whose = "buyer" if kind is LabelKind.BUYER else "seller"
            raise OrderError(f"The {whose} has no address on file; the label cannot be printed.")
        sender, recipient = centre, recipient_address
    product, size = _pair(session, order)
    ship_by = order.ship_by if kind is LabelKind.SELLER else None
    return Label(
        kind=kind,
        order_id=order.id or 0,
        code=order_code(order.id or 0),
        sender=sender,
        recipient=recipient,
        product=product,
        size=size,
        date_label="Ship by" if ship_by else "Printed",
        date=aware(ship_by) if ship_by else now,
    )


def _parse_kind(kind: object) -> LabelKind:
    try:
        return LabelKind(str(kind))
    except ValueError:
        raise OrderError("Label not found.") from None


def label_for(
    *, session: Session, user_id: int, order_id: object, kind: object, now: datetime | None = None
) -> Label:
    """The label `user_id` may print, or `OrderError`. The seller's label goes to the order's
    seller only; the buyer's and the return label to staff who are no party to the order. A
    label is printable only while its parcel is to be sent or on its way."""
    label_kind = _parse_kind(kind)
    if not isinstance(order_id, int) or isinstance(order_id, bool):
        raise OrderError("Order not found.")
    if not 0 < order_id <= MAX_ORDER_ID:
        raise OrderError("Order not found.")
    order = session.get(Order, order_id, populate_existing=True)
    if order is None:
        raise OrderError("Order not found.")
    if label_kind is LabelKind.SELLER:
        if order.seller_id != user_id:
            raise OrderError("Order not found.")
    else:
        require_staff(session, user_id)
        require_no_conflict(order, user_id)
    if order.status not in LABEL_STATUSES[label_kind]:
        raise OrderError("There is no label to print for this order now.")
    return _build(session, order, label_kind, now or utcnow())


# --- signed links ---------------------------------------------------------------------------

LINK_LIFETIME = timedelta(hours=12)


def _signature(order_id: int, kind: str, session_id: int, expires: int) -> str:
    key = get_settings().SECRET_KEY.encode()
    message = f"label:{order_id}:{kind}:{session_id}:{expires}".encode()
    mac = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def label_link(
    *, session: Session, token: str, order_id: object, kind: object, now: datetime | None = None
) -> str:
    """A link (path and query) that opens the label in a new tab for this login: it carries the
    login's row id, an expiry and an HMAC, never the session token. Refused (`OrderError`) when
    the login may not print the label."""
    now = now or utcnow()
    login = accounts.live_session(session=session, token=token, now=now)
    if login is None or login.id is None:
        raise OrderError("Log in again to print the label.")
    label = label_for(session=session, user_id=login.user_id, order_id=order_id, kind=kind, now=now)
    if label.kind is not LabelKind.SELLER and login.second_factor_at is None:
        raise OrderError("Confirm your second factor first.")
    expires = int((now + LINK_LIFETIME).timestamp())
    signature = _signature(label.order_id, label.kind, login.id, expires)
    return f"{routes.label(label.order_id, label.kind)}?s={login.id}&e={expires}&sig={signature}"


def seller_label_links(
    *, session: Session, token: str, order_ids: Iterable[int], now: datetime | None = None
) -> dict[int, str]:
    """The seller's label link of each of these orders the login may print now (the others,
    and every one of a login that ended, are left out)."""
    found: dict[int, str] = {}
    for order_id in order_ids:
        try:
            found[order_id] = label_link(
                session=session, token=token, order_id=order_id, kind=LabelKind.SELLER, now=now
            )
        except OrderError:
            continue
    return found


def label_from_link(
    *,
    session: Session,
    order_id: int,
    kind: str,
    session_id: str,
    expires: str,
    signature: str,
    now: datetime | None = None,
) -> Label | None:
    """The label a signed link opens, re-checked against the login and the order as they are
    now; None (the route's 404) for a forged or expired link, a login that ended, or a label the
    user may no longer print."""
    now = now or utcnow()
    if not (session_id.isdigit() and expires.isdigit()) or len(session_id + expires) > 30:
        return None
    expected = _signature(order_id, kind, int(session_id), int(expires))
    if not hmac.compare_digest(expected, signature) or int(expires) <= now.timestamp():
        return None
    login = session.get(UserSession, int(session_id))
    if login is None or login.revoked_at is not None or aware(login.expires_at) <= now:
        return None
    if kind != LabelKind.SELLER and login.second_factor_at is None:
        return None
    user = session.get(User, login.user_id)
    if user is None:
        return None
    try:
        return label_for(
            session=session, user_id=user.id or 0, order_id=order_id, kind=kind, now=now
        )
    except OrderError:
        return None


@dataclass(frozen=True, kw_only=True)
class SellerShipping:
    """What a seller's order page shows of the parcels: while the pair is theirs to send, where
    it goes and the link to its label; after a failed authentication, the return's tracking."""

    code: str
    ship_to: tuple[str, ...]
    label_link: str
    return_tracking: str


def seller_shipping(
    *, session: Session, token: str, order_id: object, now: datetime | None = None
) -> SellerShipping | None:
    """The shipping panel of `order_id` for the login of `token`; None unless the login is the
    order's seller and there is something to show."""
    login = accounts.live_session(session=session, token=token, now=now)
    if login is None or not isinstance(order_id, int) or not 0 < order_id <= MAX_ORDER_ID:
        return None
    order = session.get(Order, order_id)
    if order is None or order.seller_id != login.user_id:
        return None
    try:
        link = label_link(
            session=session, token=token, order_id=order_id, kind=LabelKind.SELLER, now=now
        )
    except OrderError:
        link = ""
    if not link and not order.return_tracking:
        return None
    return SellerShipping(
        code=order_code(order_id),
        ship_to=tuple(centre_address().lines()) if link else (),
        label_link=link,
        return_tracking=order.return_tracking or "",
    )


# --- the codes and the PDF -----------------------------------------------------------------


def code128_modules(code: str) -> str:
    """The Code 128 symbol of `code` as modules, "1" a bar and "0" a space (no quiet zone)."""
    symbol = barcode.get("code128", code)
    modules: str = symbol.build()[0]
    return modules


def qr_matrix(code: str) -> list[list[bool]]:
    """The QR code of `code` (a full QR, never a Micro QR: phone cameras read only these),
    dark modules True, without the quiet zone."""
    qr = segno.make_qr(code, error="m")
    return [[bool(cell) for cell in row] for row in qr.matrix]


_PAGE = (101.6, 152.4)  # 4 x 6 inches, in millimetres
_MARGIN = 5.0


_PLAIN_LETTERS = str.maketrans({"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Œ": "OE", "œ": "oe"})


def _printable(text: str) -> str:
    """Text in the PDF's core fonts (Latin-1): accents kept where Latin-1 has them, other
    letters written without their marks, anything else as "?"."""
    out = []
    for char in text.translate(_PLAIN_LETTERS):
        if ord(char) < 256:
            out.append(char)
            continue
        plain = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode("latin-1")
        out.append(plain or "?")
    return "".join(out)


def _address_block(
    pdf: FPDF, heading: str, address: AddressSnapshot | None, y: float, size: float
) -> float:
    pdf.set_xy(_MARGIN, y)
    pdf.set_font("helvetica", "B", 7)
    pdf.cell(text=heading)
    y += 4
    lines = address.lines() if address else ["(no address on file)"]
    width = _PAGE[0] - 2 * _MARGIN
    for index, line in enumerate(lines):
        pdf.set_xy(_MARGIN, y)
        pdf.set_font("helvetica", "B" if index == 0 else "", size)
        pdf.multi_cell(width, size * 0.45, _printable(line), align="L")
        y = pdf.get_y() + 0.4
    return y


def _draw_code128(pdf: FPDF, code: str, y: float, height: float) -> float:
    modules = code128_modules(code)
    width = _PAGE[0] - 2 * _MARGIN - 8  # leaves a quiet zone of at least 4 mm each side
    module = min(0.5, width / len(modules))
    x0 = (_PAGE[0] - module * len(modules)) / 2
    run_start = None
    for index, bit in enumerate(modules + "0"):
        if bit == "1" and run_start is None:
            run_start = index
        elif bit == "0" and run_start is not None:
            pdf.rect(x0 + run_start * module, y, (index - run_start) * module, height, style="F")
            run_start = None
    pdf.set_font("courier", "B", 13)
    pdf.set_xy(_MARGIN, y + height + 1)
    pdf.cell(_PAGE[0] - 2 * _MARGIN, 5, code, align="C")
    return y + height + 7


def _draw_qr(pdf: FPDF, code: str, x: float, y: float, side: float) -> None:
    matrix = qr_matrix(code)
    module = side / len(matrix)
    for row_index, row in enumerate(matrix):
        for col_index, dark in enumerate(row):
            if dark:
                pdf.rect(x + col_index * module, y + row_index * module, module, module, "F")


def render_pdf(label: Label) -> bytes:
    """The label as a one-page 4 x 6 inch PDF, drawn in vectors (crisp at any printer's
    resolution)."""
    pdf = FPDF(unit="mm", format=_PAGE)
    pdf.set_auto_page_break(False)
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_title(f"Shipping label {label.code}")
    pdf.set_author("Sneakers Marketplace")
    pdf.add_page()
    inner = _PAGE[0] - 2 * _MARGIN
    # A black band: who ships and which leg.
    pdf.set_fill_color(0, 0, 0)
    pdf.rect(_MARGIN, _MARGIN, inner, 9, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.set_font("helvetica", "B", 9)
    pdf.set_xy(_MARGIN + 2, _MARGIN)
    pdf.cell(inner / 2, 9, "SNEAKERS MARKETPLACE")
    pdf.set_font("helvetica", "B", 11)
    pdf.set_xy(_MARGIN + inner / 2, _MARGIN)
    pdf.cell(inner / 2 - 2, 9, _TITLES[label.kind], align="R")
    pdf.set_text_color(0, 0, 0)
    y = _address_block(pdf, "FROM", label.sender, _MARGIN + 12, 8)
    pdf.line(_MARGIN, y + 1, _PAGE[0] - _MARGIN, y + 1)
    y = _address_block(pdf, "SHIP TO", label.recipient, y + 3, 12)
    pdf.set_line_width(0.6)
    pdf.line(_MARGIN, y + 1.5, _PAGE[0] - _MARGIN, y + 1.5)
    pdf.set_line_width(0.2)
    y = _draw_code128(pdf, label.code, max(y + 5, 78.0), 18)
    pdf.line(_MARGIN, y, _PAGE[0] - _MARGIN, y)
    side = min(34.0, _PAGE[1] - _MARGIN - y - 4)
    _draw_qr(pdf, label.code, _MARGIN + 2, y + 3, side)
    text_x = _MARGIN + side + 7
    text_w = _PAGE[0] - _MARGIN - text_x
    pdf.set_xy(text_x, y + 3)
    pdf.set_font("helvetica", "B", 9)
    pdf.multi_cell(text_w, 4, _printable(label.product), align="L")
    pdf.set_x(text_x)
    pdf.set_font("helvetica", "", 9)
    pdf.multi_cell(text_w, 4.5, f"Size {_printable(label.size)}")
    pdf.set_x(text_x)
    pdf.set_font("helvetica", "B", 9)
    pdf.multi_cell(text_w, 4.5, f"{label.date_label}: {label.date:%a %d %b %Y}")
    pdf.set_x(text_x)
    pdf.set_font("helvetica", "", 8)
    pdf.multi_cell(text_w, 4, f"Order {label.code}")
    return bytes(pdf.output())
