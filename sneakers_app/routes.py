"""Every route of the app, in one place."""

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


def product(slug: str) -> str:
    return f"/product/{slug}"
