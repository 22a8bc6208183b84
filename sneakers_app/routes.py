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
CONFIRM_SIGNUP = "/signup/confirm"
FORGOT_PASSWORD = "/forgot-password"  # noqa: S105 (a route)
RESET_PASSWORD = "/reset-password"  # noqa: S105 (a route)


def product(slug: str) -> str:
    return f"/product/{slug}"
