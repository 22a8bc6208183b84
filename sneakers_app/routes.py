"""Every route of the app, in one place, and the builders that fill them in.

Pages register the patterns; pages, components, state and emails build links with the functions
below, never by spelling a path themselves.
"""

BROWSE = "/"
PRODUCT = "/product/[slug]"
PORTFOLIO = "/portfolio"
SELL = "/sell"
ORDERS = "/orders"
ORDER = "/orders/[order_id]"
NOTIFICATIONS = "/notifications"
VERIFICATION = "/verification"
ACCOUNT = "/account"
LOGIN = "/login"
SIGNUP = "/signup"
CONFIRM_SIGNUP = "/signup/confirm"
FORGOT_PASSWORD = "/forgot-password"  # noqa: S105 (a route)
RESET_PASSWORD = "/reset-password"  # noqa: S105 (a route)
NOTIFICATION_PREFERENCES = "/account#preferences"
# A shipping label's PDF, served by the backend (sneakers_app/api.py) by a signed link.
LABEL = "/api/labels/{order_id}/{kind}.pdf"
# The public REST API (sneakers_app/public_api/), mounted into the backend.
API_V1 = "/api/v1"
# The public API's documentation page and the market-data feed's AsyncAPI document (backend).
API_DOCS = "/api/v1/docs"
FEED_DOCS = "/api/v1/asyncapi.yaml"

_PRODUCT_PREFIX = "/product/"
_ORDER_PREFIX = "/orders/"
_IMAGE_PREFIX = "/products/"


def product(slug: str) -> str:
    return f"{_PRODUCT_PREFIX}{slug}"


def place_ask(slug: str) -> str:
    """The product page with its ask form open (the seller dashboard's "New ask")."""
    return f"{_PRODUCT_PREFIX}{slug}?trade=ask"


def order(order_id: int | str) -> str:
    return f"{_ORDER_PREFIX}{order_id}"


def label(order_id: int, kind: str) -> str:
    return LABEL.format(order_id=order_id, kind=kind)


def product_image(image: str | None) -> str:
    """The served path of a product's picture (under `assets/products/`); "" for none."""
    return f"{_IMAGE_PREFIX}{image}" if image else ""


def slug_in(path: str) -> str:
    """The product slug in a `/product/<slug>` path, "" for any other path."""
    return path.rstrip("/").rsplit("/", 1)[-1] if path.startswith(_PRODUCT_PREFIX) else ""


def order_id_in(path: str) -> str:
    """The raw order id in an `/orders/<id>` path (unchecked text), "" for any other path."""
    return path.rsplit("/", 1)[-1] if path.startswith(_ORDER_PREFIX) else ""
