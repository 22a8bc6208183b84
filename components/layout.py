"""The page shell: navbar with login state, content area, footer."""

from __future__ import annotations

import reflex as rx

from components.a11y import page_script
from components.notification_bell import notification_bell
from sneakers_app import routes
from state.base import SessionState


def nav_link(label: str, href: str, icon: str) -> rx.Component:
    return rx.link(
        rx.hstack(rx.icon(icon, size=16), rx.text(label, size="2", weight="medium"), spacing="1"),
        href=href,
        color="var(--gray-12)",
        underline="none",
        _hover={"color": "var(--accent-11)"},
    )


def user_menu() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                rx.icon("circle-user", size=16),
                rx.text(SessionState.user_name, class_name="nav-label"),
                rx.icon("chevron-down", size=14),
                variant="soft",
                # Its name shows only at desktop width; a screen reader hears it at any width.
                aria_label=SessionState.user_name + ": your account",
                id="user-menu",
            )
        ),
        rx.menu.content(
            rx.menu.item("Portfolio", on_click=rx.redirect(routes.PORTFOLIO)),
            rx.menu.item("Selling", on_click=rx.redirect(routes.SELL)),
            rx.menu.item("Orders", on_click=rx.redirect(routes.ORDERS)),
            rx.menu.item("Notifications", on_click=rx.redirect(routes.NOTIFICATIONS)),
            rx.menu.item("Account", on_click=rx.redirect(routes.ACCOUNT)),
            rx.cond(
                SessionState.user_is_staff,
                rx.menu.item("Verification console", on_click=rx.redirect(routes.VERIFICATION)),
            ),
            rx.menu.separator(),
            rx.menu.item("Log out", color="red", on_click=SessionState.log_out, id="logout"),
        ),
    )


def navbar() -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.link(
                rx.hstack(
                    rx.image(src="/logo.svg", width="32px", height="32px", alt=""),
                    rx.text("Sneakers", size="5", weight="bold", class_name="brand-name"),
                    align="center",
                    spacing="2",
                ),
                href=routes.BROWSE,
                underline="none",
                color="var(--gray-12)",
                id="home-link",
            ),
            rx.spacer(),
            rx.hstack(
                nav_link("Browse", routes.BROWSE, "search"),
                nav_link("Sell", routes.SELL, "tag"),
                nav_link("Portfolio", routes.PORTFOLIO, "briefcase"),
                spacing="5",
                class_name="nav-links",
            ),
            rx.cond(
                SessionState.is_authenticated,
                rx.hstack(notification_bell(), user_menu(), spacing="4", align="center"),
                rx.hstack(
                    rx.link(
                        rx.button("Log in", variant="outline"), href=routes.LOGIN, id="nav-login"
                    ),
                    rx.link(rx.button("Sign up"), href=routes.SIGNUP, id="nav-signup"),
                    spacing="3",
                    align="center",
                ),
            ),
            align="center",
            spacing="4",
            max_width="1200px",
            margin="0 auto",
            padding_x="16px",
            height="60px",
        ),
        position="sticky",
        top="0",
        z_index="10",
        background="var(--color-panel-solid)",
        border_bottom="1px solid var(--gray-a5)",
    )


def footer() -> rx.Component:
    return rx.box(
        rx.text(
            "Every pair is inspected by our authentication team before it ships.",
            size="1",
            color="var(--gray-11)",
        ),
        max_width="1200px",
        margin="48px auto 0",
        padding="24px 16px",
        border_top="1px solid var(--gray-a4)",
    )


def page(*children: rx.Component, max_width: str = "1200px") -> rx.Component:
    return rx.box(
        page_script(),
        rx.el.a("Skip to content", href="#main", class_name="skip-link"),
        rx.el.header(navbar()),
        rx.el.main(*children, max_width=max_width, margin="0 auto", padding="24px 16px", id="main"),
        rx.el.footer(footer()),
        min_height="100vh",
        background="var(--gray-1)",
    )
