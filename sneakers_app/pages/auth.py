"""/login and /signup."""

from __future__ import annotations

import reflex as rx

from components.layout import page
from sneakers_app import routes
from state.auth import AuthFormState


def field(label: str, name: str, error: rx.Var, **props: object) -> rx.Component:
    return rx.vstack(
        rx.text(label, as_="label", size="2", weight="medium", html_for=name),
        rx.input(name=name, id=name, size="3", width="100%", **props),
        rx.cond(
            error != "",
            rx.text(error, size="2", color="var(--red-11)", id=f"{name}-error"),
        ),
        spacing="1",
        width="100%",
    )


def auth_card(title: str, subtitle: rx.Component, form: rx.Component) -> rx.Component:
    return page(
        rx.center(
            rx.card(
                rx.vstack(
                    rx.heading(title, size="6"),
                    subtitle,
                    form,
                    spacing="4",
                    width="100%",
                ),
                size="4",
                width="100%",
                max_width="420px",
            ),
            padding_y="32px",
        )
    )


def login_page() -> rx.Component:
    return auth_card(
        "Log in",
        rx.text(
            "New here? ",
            rx.link("Create an account", href=routes.SIGNUP),
            size="2",
            color="var(--gray-11)",
        ),
        rx.form(
            rx.vstack(
                field(
                    "Email",
                    "email",
                    AuthFormState.email_error,
                    type="email",
                    auto_complete="email",
                    max_length=254,
                    required=True,
                ),
                field(
                    "Password",
                    "password",
                    AuthFormState.password_error,
                    type="password",
                    auto_complete="current-password",
                    max_length=256,
                    required=True,
                ),
                rx.button("Log in", type="submit", size="3", width="100%", id="login-submit"),
                spacing="4",
                width="100%",
            ),
            on_submit=AuthFormState.log_in,
            reset_on_submit=False,
            width="100%",
        ),
    )


def signup_page() -> rx.Component:
    return auth_card(
        "Create your account",
        rx.text(
            "Already have one? ",
            rx.link("Log in", href=routes.LOGIN),
            size="2",
            color="var(--gray-11)",
        ),
        rx.form(
            rx.vstack(
                field(
                    "Email",
                    "email",
                    AuthFormState.email_error,
                    type="email",
                    auto_complete="email",
                    max_length=254,
                    required=True,
                ),
                field(
                    "Display name",
                    "display_name",
                    AuthFormState.name_error,
                    auto_complete="nickname",
                    max_length=60,
                    required=True,
                ),
                field(
                    "Password",
                    "password",
                    AuthFormState.password_error,
                    type="password",
                    auto_complete="new-password",
                    max_length=256,
                    required=True,
                    placeholder="At least 10 characters",
                ),
                rx.button(
                    "Create account", type="submit", size="3", width="100%", id="signup-submit"
                ),
                spacing="4",
                width="100%",
            ),
            on_submit=AuthFormState.sign_up,
            reset_on_submit=False,
            width="100%",
        ),
    )
