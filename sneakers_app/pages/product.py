"""/product/[slug]: the product, its market per size, trade dialogs, live book, chart, stats."""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.a11y import live_announcer, trend_word
from components.fields import described_by, field_error
from components.layout import page
from components.listing_parts import confirm_cancel
from components.order_book import order_book
from components.price_chart import price_chart, range_picker
from components.size_picker import size_conversions, size_picker, size_system_picker
from components.trade_dialog import trade_dialog
from sneakers_app import routes
from state.product import OwnListingView, ProductState, SaleRow
from state.product_trade import TradeState
from state.product_watch import WatchState

S = ProductState
T = TradeState
W = WatchState
MUTED = "var(--gray-11)"


def label(text: str | rx.Var) -> rx.Component:
    return rx.text(text, size="1", color="var(--gray-11)", weight="medium")


def fact(name: str, value: rx.Var) -> rx.Component:
    return rx.vstack(label(name), rx.text(value, size="2", weight="medium"), spacing="0")


def not_found() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("footprints", size=40, color="var(--gray-9)"),
            rx.heading("We couldn't find that sneaker", size="6", id="not-found"),
            rx.text(
                "The link may be mistyped, or the product is no longer listed.",
                color=MUTED,
            ),
            rx.link(rx.button("Browse the catalog"), href=routes.BROWSE),
            align="center",
            spacing="3",
        ),
        padding_y="80px",
    )


def live_badge() -> rx.Component:
    return rx.tooltip(
        rx.hstack(
            rx.box(class_name="live-dot"),
            rx.text("Live", size="1", weight="bold", color="var(--green-11)"),
            align="center",
            spacing="1",
            id="live-indicator",
            data_updated=S.live_at,
        ),
        content=rx.cond(
            S.live_at != "",
            "Order book updated live, last at " + S.live_at + " UTC",
            "Prices update live as orders are placed",
        ),
    )


def size_label(size: Any) -> Any:
    """A size of this product in the viewer's size system ("EU 44")."""
    return S.size_labels[size + "|" + S.size_system]


def scope_text() -> rx.Var:
    return rx.cond(S.selected_size != "", size_label(S.selected_size), "All sizes")


def header() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.link(S.brand, href=routes.BROWSE + "?brand=" + S.brand, size="2", weight="medium"),
            rx.text("/", size="2", color="var(--gray-11)", aria_hidden="true"),
            rx.text(S.model, size="2", color=MUTED, class_name="clamp-1"),
            spacing="2",
        ),
        rx.heading(S.name, size=rx.breakpoints(initial="6", md="7"), id="product-name"),
        rx.text(S.colorway, size="2", color=MUTED),
        spacing="1",
        width="100%",
    )


def quote_box(title: str, value: rx.Var, box_id: str, sub: rx.Component) -> rx.Component:
    return rx.vstack(
        label(title),
        rx.text(
            value,
            size=rx.breakpoints(initial="4", sm="6"),
            weight="bold",
            id=box_id,
            class_name="tabular",
        ),
        sub,
        spacing="0",
        min_width="0",
    )


def market_panel() -> rx.Component:
    change = rx.badge(
        rx.match(
            S.last_change_dir,
            ("up", rx.icon("trending-up", size=12)),
            ("down", rx.icon("trending-down", size=12)),
            rx.icon("minus", size=12),
        ),
        trend_word(S.last_change_dir),
        S.last_change,
        color_scheme=rx.match(S.last_change_dir, ("up", "green"), ("down", "red"), "gray"),
        variant="soft",
        size="1",
        id="last-change",
    )
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text("Market · ", scope_text(), size="2", weight="bold", id="market-scope"),
                rx.spacer(),
                live_badge(),
                width="100%",
                align="center",
            ),
            rx.grid(
                quote_box("Last sale", S.last_sale, "last-sale", change),
                quote_box(
                    "Lowest ask",
                    S.lowest_ask,
                    "lowest-ask",
                    rx.text(
                        S.lowest_ask_where[S.size_system],
                        size="1",
                        color=MUTED,
                        id="lowest-ask-size",
                    ),
                ),
                quote_box(
                    "Highest bid",
                    S.highest_bid,
                    "highest-bid",
                    rx.text(
                        S.highest_bid_where[S.size_system],
                        size="1",
                        color=MUTED,
                        id="highest-bid-size",
                    ),
                ),
                columns="3",
                spacing="3",
                width="100%",
            ),
            rx.cond(
                S.market_note[S.size_system] != "",
                rx.callout(
                    S.market_note[S.size_system],
                    icon="info",
                    size="1",
                    color_scheme="gray",
                    id="market-note",
                ),
            ),
            rx.grid(
                rx.button(
                    rx.icon("shopping-bag", size=16),
                    "Buy now",
                    size="3",
                    on_click=T.open_trade("buy"),
                    id="buy-now",
                ),
                rx.button(
                    rx.icon("hand-coins", size=16),
                    "Place bid",
                    size="3",
                    variant="outline",
                    on_click=T.open_trade("bid"),
                    id="place-bid",
                ),
                rx.button(
                    rx.icon("zap", size=16),
                    "Sell now",
                    size="3",
                    color_scheme="gray",
                    variant="solid",
                    high_contrast=True,
                    on_click=T.open_trade("sell"),
                    id="sell-now",
                ),
                rx.button(
                    rx.icon("tag", size=16),
                    "Place ask",
                    size="3",
                    variant="outline",
                    color_scheme="gray",
                    on_click=T.open_trade("ask"),
                    id="place-ask",
                ),
                columns="2",
                spacing="2",
                width="100%",
            ),
            rx.cond(
                S.listing_message != "",
                rx.callout(S.listing_message, icon="circle-check", size="1", id="order-message"),
            ),
            spacing="4",
            width="100%",
        ),
        size="3",
        width="100%",
    )


def watch_control() -> rx.Component:
    """Members only: a logged-out visitor gets a link to log in and come back here."""
    return rx.cond(
        W.user_id > 0,
        _watch_popover(),
        rx.cond(
            W.session_checked,
            rx.link(
                rx.icon("bell", size=14),
                "Log in to watch",
                href=f"{routes.LOGIN}?next={routes.product(S.slug)}",
                size="2",
                display="inline-flex",
                align_items="center",
                gap="4px",
                white_space="nowrap",
                flex_shrink="0",
                id="watch-login",
            ),
        ),
    )


def _watch_popover() -> rx.Component:
    return rx.popover.root(
        rx.popover.trigger(
            rx.button(
                rx.icon(rx.cond(W.watching, "bell-ring", "bell"), size=16),
                rx.cond(W.watching, "Watching", "Watch"),
                variant=rx.cond(W.watching, "soft", "outline"),
                color_scheme="gray",
                id="watch-button",
            )
        ),
        rx.popover.content(
            # A form: Save (or Enter) sends the field's own value, not the last one the
            # debounced field had sent (a click within 300 ms of typing saved the one before).
            rx.form(
                rx.vstack(
                    rx.text("Watch ", scope_text(), size="2", weight="bold"),
                    rx.text(
                        "Get a notice when an ask drops to your target price (optional).",
                        size="1",
                        color=MUTED,
                    ),
                    rx.input(
                        rx.input.slot(rx.icon("dollar-sign", size=14)),
                        value=W.watch_target,
                        on_change=W.set_watch_target,
                        placeholder="Target price",
                        id="watch-target",
                        name="target",
                        aria_label="Target price, dollars",
                        **described_by(W.watch_error, "watch-error"),
                        input_mode="decimal",
                        width="100%",
                    ),
                    field_error(W.watch_error, "watch-error"),
                    rx.hstack(
                        rx.cond(
                            W.watching,
                            rx.button(
                                "Stop watching",
                                variant="soft",
                                color_scheme="red",
                                on_click=W.remove_watch,
                                type="button",
                                id="watch-remove",
                            ),
                        ),
                        rx.button("Save", type="submit", id="watch-save"),
                        justify="end",
                        width="100%",
                    ),
                    rx.cond(
                        W.watch_message != "",
                        rx.text(
                            W.watch_message, size="1", color="var(--green-11)", id="watch-message"
                        ),
                    ),
                    spacing="2",
                    width="100%",
                ),
                on_submit=W.save_watch,
                reset_on_submit=False,
            ),
            # The button ends its column: the popover lines up with that edge and grows
            # leftwards, within the column and the screen.
            align="end",
            collision_padding=16,
            width="260px",
            max_width="calc(100vw - 32px)",
            id="watch-popover",
        ),
    )


def image_card() -> rx.Component:
    return rx.card(
        rx.image(
            src=S.image,
            alt=S.name,
            width="100%",
            max_height=rx.breakpoints(initial="240px", md="none"),
            style={"aspect_ratio": "4 / 3", "object_fit": "contain"},
        ),
        rx.grid(
            fact("Style code", S.style_code),
            fact("Retail price", S.retail),
            fact("Release date", S.release_date),
            fact("Colorway", S.colorway),
            columns=rx.breakpoints(initial="2", sm="4"),
            spacing="4",
            width="100%",
            padding_top="12px",
        ),
        size="2",
        width="100%",
    )


def top_section() -> rx.Component:
    """Desktop: image left, name and trading right. Phone: name, image, then trading."""
    return rx.box(
        rx.box(image_card(), grid_area="image", align_self="start"),
        rx.box(header(), grid_area="header"),
        rx.vstack(
            rx.hstack(
                rx.text("Size", size="2", weight="bold"),
                rx.text("lowest ask shown", size="1", color=MUTED),
                rx.spacer(),
                watch_control(),
                align="center",
                width="100%",
            ),
            rx.hstack(
                rx.text("Show sizes in", size="1", color=MUTED),
                size_system_picker(
                    S.size_system, S.set_size_system, picker_id="product-size-system"
                ),
                align="center",
                spacing="2",
                wrap="wrap",
                width="100%",
            ),
            rx.vstack(
                size_picker(
                    S.sizes,
                    S.selected_size,
                    S.all_sizes_ask,
                    S.select_size,
                    label=size_label,
                    conversions=S.size_lines,
                ),
                size_conversions(S.selected_size, S.size_lines, S.size_chart_name),
                spacing="2",
                width="100%",
            ),
            market_panel(),
            spacing="4",
            width="100%",
            grid_area="trade",
            id="trade-column",
        ),
        display="grid",
        grid_template_columns=rx.breakpoints(initial="minmax(0, 1fr)", md="1fr 1fr"),
        grid_template_rows=rx.breakpoints(initial="auto", md="auto 1fr"),
        grid_template_areas=rx.breakpoints(
            initial='"header" "image" "trade"', md='"image header" "image trade"'
        ),
        column_gap="24px",
        row_gap="16px",
        width="100%",
    )


def chart_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.vstack(
                    rx.heading("Price history", size="4", as_="h2"),
                    rx.text(scope_text(), " · daily average and pairs sold", size="1", color=MUTED),
                    spacing="0",
                ),
                rx.spacer(),
                range_picker(S.chart_range, S.set_range),
                width="100%",
                align="center",
                wrap="wrap",
                spacing="2",
            ),
            price_chart(S.figure, S.chart_empty),
            spacing="3",
            width="100%",
        ),
        size="2",
        width="100%",
    )


def book_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.vstack(
                    rx.heading("Order book", size="4", as_="h2"),
                    rx.text(scope_text(), " · best prices first", size="1", color=MUTED),
                    spacing="0",
                ),
                rx.spacer(),
                live_badge(),
                width="100%",
                align="center",
            ),
            order_book(S.book_bids, S.book_asks, S.selected_size == "", S.own_levels, size_label),
            spacing="3",
            width="100%",
        ),
        size="2",
        width="100%",
        id="order-book",
    )


def stat(title: str, value: rx.Var, stat_id: str, sub: rx.Component | None = None) -> rx.Component:
    return rx.card(
        rx.vstack(
            label(title),
            rx.text(value, size="5", weight="bold", id=stat_id, class_name="tabular"),
            *([sub] if sub is not None else []),
            spacing="1",
        ),
        size="1",
        width="100%",
    )


def stats_section() -> rx.Component:
    return rx.grid(
        stat("12-month high", S.stat_high, "stat-high"),
        stat("12-month low", S.stat_low, "stat-low"),
        stat("12-month average", S.stat_average, "stat-average"),
        stat(
            "Volatility",
            S.stat_volatility,
            "stat-volatility",
            rx.text("stdev / mean of sales", size="1", color=MUTED),
        ),
        stat(
            "Price premium",
            S.stat_premium,
            "stat-premium",
            rx.text("last sale vs retail ", S.retail, size="1", color=MUTED),
        ),
        stat(
            "Sales, 12 months",
            S.stat_sales,
            "stat-sales",
            rx.text(S.stat_sales_total, " all time", size="1", color=MUTED),
        ),
        columns=rx.breakpoints(initial="2", sm="3", lg="6"),
        spacing="3",
        width="100%",
        id="stats",
    )


def sale_row(sale: SaleRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(sale.when, color=MUTED),
        rx.table.cell(size_label(sale.size)),
        rx.table.cell(sale.price, text_align="right", weight="bold", class_name="tabular"),
    )


def recent_sales_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Recent sales", size="4", as_="h2"),
            rx.cond(
                S.recent.length() > 0,
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell("Date (UTC)"),
                            rx.table.column_header_cell("Size"),
                            rx.table.column_header_cell("Price", text_align="right"),
                        )
                    ),
                    rx.table.body(rx.foreach(S.recent, sale_row)),
                    size="1",
                    width="100%",
                    id="recent-sales",
                ),
                rx.text(
                    "No sales yet in this size. The first trade will show here.",
                    size="2",
                    color=MUTED,
                    id="recent-sales-empty",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        size="2",
        width="100%",
        role="region",
        aria_label="Recent sales",
    )


def own_listing_row(order: OwnListingView) -> rx.Component:
    return rx.hstack(
        rx.badge(
            rx.cond(order.side == "bid", "Bid", "Ask"),
            color_scheme=rx.cond(order.side == "bid", "green", "red"),
            variant="soft",
        ),
        rx.text(size_label(order.size), size="2"),
        rx.text(order.price, size="2", weight="bold", class_name="tabular"),
        rx.text("until ", order.expires, size="1", color=MUTED),
        rx.spacer(),
        confirm_cancel(
            order.side,
            (size_label(order.size), " at ", order.price),
            S.cancel_listing(order.key),
            size="1",
            variant="soft",
            id="cancel-" + order.key,
        ),
        align="center",
        width="100%",
        spacing="2",
    )


def side_column() -> rx.Component:
    return rx.vstack(
        rx.cond(
            S.own_listings.length() > 0,
            rx.card(
                rx.vstack(
                    rx.heading("Your orders here", size="4", as_="h2"),
                    rx.foreach(S.own_listings, own_listing_row),
                    spacing="3",
                    width="100%",
                    role="region",
                    aria_label="Your orders here",
                    id="own-orders",
                ),
                size="2",
                width="100%",
            ),
        ),
        rx.card(
            rx.vstack(
                rx.heading("About this sneaker", size="4", as_="h2"),
                rx.text(S.description, size="2", color=MUTED),
                rx.hstack(
                    rx.icon("shield-check", size=18, color="var(--green-10)"),
                    rx.text(
                        "Every pair is inspected by our authenticators before it ships to you.",
                        size="2",
                    ),
                    spacing="2",
                    align="center",
                ),
                spacing="3",
                width="100%",
            ),
            size="2",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )


PAGE_CSS = """
.live-dot { width: 8px; height: 8px; border-radius: 50%; background: var(--green-9);
  box-shadow: 0 0 0 0 var(--green-a7); animation: live-pulse 1.8s infinite; }
@keyframes live-pulse { 0% { box-shadow: 0 0 0 0 var(--green-a7); }
  70% { box-shadow: 0 0 0 7px transparent; } 100% { box-shadow: 0 0 0 0 transparent; } }
.tabular { font-variant-numeric: tabular-nums; }
.clamp-1 { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.book-row { transition: background 300ms ease; }
.size-tile { padding: 4px !important; }
"""


def product_view() -> rx.Component:
    return rx.vstack(
        rx.el.style(PAGE_CSS),
        top_section(),
        stats_section(),
        rx.grid(
            chart_card(),
            book_card(),
            columns=rx.breakpoints(initial="1", lg="2"),
            spacing="4",
            width="100%",
        ),
        rx.grid(
            recent_sales_card(),
            side_column(),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="4",
            width="100%",
        ),
        trade_dialog(),
        live_announcer(
            "Market, "
            + scope_text()
            + ": lowest ask "
            + S.lowest_ask
            + ", highest bid "
            + S.highest_bid
            + ", last sale "
            + S.last_sale,
            "market-announcement",
        ),
        spacing="6",
        width="100%",
    )


def product_page() -> rx.Component:
    return page(
        rx.cond(
            S.loaded,
            rx.cond(S.found, product_view(), not_found()),
            rx.center(rx.spinner(size="3"), padding_y="80px"),
        )
    )
