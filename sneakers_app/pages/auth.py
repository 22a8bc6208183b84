"""/login, /signup (finished by an emailed link at /signup/confirm), /forgot-password and
/reset-password."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx
from reflex.event import EventSpec

from components.fields import described_by, field_error, field_label
from components.layout import page
from sneakers_app import routes
from state.auth import PASSWORD_RULE, AuthFormState
from state.security import RecoveryState


def field(
    label: str,
    name: str,
    error: rx.Var,
    *,
    on_edit: Callable[[str], EventSpec] | None = None,
    hint: str = "",
    **props: object,
) -> rx.Component:
    """A labelled input with its rule (`hint`) under it and its error under that; editing the
    input sends `on_edit(name)` only while it shows an error (which that event clears)."""
    if on_edit is not None:
        props["on_change"] = rx.cond(error != "", on_edit(name), rx.noop())
    return rx.vstack(
        field_label(label, name),
        rx.input(
            name=name,
            id=name,
            size="3",
            width="100%",
            color_scheme=rx.cond(error != "", "red", "gray"),
            # Radix draws the field's border as this shadow: red while the field has an error.
            box_shadow=rx.cond(error != "", "inset 0 0 0 1px var(--red-8)", ""),
            **described_by(error, f"{name}-error", f"{name}-hint" if hint else ""),
            **props,
        ),
        rx.text(hint, size="1", color="var(--gray-11)", id=f"{name}-hint")
        if hint
        else rx.fragment(),
        field_error(error, f"{name}-error", size="2"),
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


def _aside(text: str, link: str, href: str) -> rx.Component:
    """The line under a card's title that points to the other way in."""
    return rx.text(text, rx.link(link, href=href), size="2", color="var(--gray-11)")


def login_page() -> rx.Component:
    return auth_card(
        "Log in",
        _aside("New here? ", "Create an account", routes.SIGNUP),
        rx.form(
            rx.vstack(
                field(
                    "Email",
                    "email",
                    AuthFormState.email_error,
                    on_edit=AuthFormState.clear_error,
                    type="email",
                    auto_complete="email",
                    max_length=254,
                    required=True,
                ),
                field(
                    "Password",
                    "password",
                    AuthFormState.password_error,
                    on_edit=AuthFormState.clear_error,
                    type="password",
                    auto_complete="current-password",
                    max_length=256,
                    required=True,
                ),
                rx.button("Log in", type="submit", size="3", width="100%", id="login-submit"),
                rx.link(
                    "Forgot your password?",
                    href=routes.FORGOT_PASSWORD,
                    size="2",
                    id="forgot-link",
                ),
                spacing="4",
                width="100%",
            ),
            on_submit=AuthFormState.log_in,
            reset_on_submit=False,
            width="100%",
        ),
    )


def check_inbox(address: rx.Var, what: str, id: str) -> rx.Component:
    return rx.callout(
        rx.text(
            "We sent an email to ",
            rx.text.strong(address),
            f". Open the link in it to {what}. It can take a minute to arrive; check your spam "
            "folder too.",
        ),
        icon="mail-check",
        color_scheme="green",
        id=id,
    )


def signup_page() -> rx.Component:
    return auth_card(
        "Create your account",
        _aside("Already have one? ", "Log in", routes.LOGIN),
        rx.cond(
            AuthFormState.sign_up_sent_to != "",
            check_inbox(
                AuthFormState.sign_up_sent_to, "finish creating your account", "signup-sent"
            ),
            signup_form(),
        ),
    )


def signup_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            field(
                "Email",
                "email",
                AuthFormState.email_error,
                on_edit=AuthFormState.clear_error,
                type="email",
                auto_complete="email",
                max_length=254,
                required=True,
            ),
            field(
                "Display name",
                "display_name",
                AuthFormState.name_error,
                on_edit=AuthFormState.clear_error,
                auto_complete="nickname",
                max_length=60,
                required=True,
            ),
            field(
                "Password",
                "password",
                AuthFormState.password_error,
                on_edit=AuthFormState.clear_error,
                hint=PASSWORD_RULE,
                type="password",
                auto_complete="new-password",
                max_length=256,
                required=True,
            ),
            rx.button("Create account", type="submit", size="3", width="100%", id="signup-submit"),
            spacing="4",
            width="100%",
        ),
        on_submit=AuthFormState.sign_up,
        reset_on_submit=False,
        width="100%",
    )


def forgot_password_page() -> rx.Component:
    return auth_card(
        "Forgot your password?",
        _aside(
            "We'll email you a link to choose a new one. Remembered it? ", "Log in", routes.LOGIN
        ),
        rx.cond(
            RecoveryState.sent_to != "",
            rx.vstack(
                rx.callout(
                    rx.text(
                        "If an account exists for ",
                        rx.text.strong(RecoveryState.sent_to),
                        ", we sent it a link to reset the password. The link works once, "
                        "for one hour.",
                    ),
                    icon="mail-check",
                    color_scheme="green",
                    id="reset-sent",
                ),
                rx.button(
                    "Send another link",
                    variant="soft",
                    on_click=RecoveryState.open_forgot,
                    id="reset-again",
                ),
                spacing="3",
                width="100%",
            ),
            rx.form(
                rx.vstack(
                    field(
                        "Email",
                        "email",
                        RecoveryState.email_error,
                        on_edit=RecoveryState.clear_error,
                        type="email",
                        auto_complete="email",
                        max_length=254,
                        required=True,
                    ),
                    rx.button(
                        "Email me a link", type="submit", size="3", width="100%", id="reset-submit"
                    ),
                    spacing="4",
                    width="100%",
                ),
                on_submit=RecoveryState.request_reset,
                reset_on_submit=False,
                width="100%",
            ),
        ),
    )


def link_problem() -> rx.Component:
    return rx.vstack(
        rx.callout(
            RecoveryState.link_error, icon="triangle-alert", color_scheme="red", id="link-error"
        ),
        rx.link(rx.button("Ask for a new link", variant="soft"), href=routes.FORGOT_PASSWORD),
        spacing="3",
        width="100%",
    )


def reset_password_page() -> rx.Component:
    return auth_card(
        "Choose a new password",
        rx.text(
            "Every device logged in to your account will be logged out.",
            size="2",
            color="var(--gray-11)",
        ),
        rx.cond(
            ~RecoveryState.checked,
            rx.center(rx.spinner(size="3"), padding_y="24px"),
            rx.cond(
                RecoveryState.link_error != "",
                link_problem(),
                rx.form(
                    rx.vstack(
                        rx.text(
                            "For ",
                            rx.text.strong(RecoveryState.link_email),
                            size="2",
                            id="reset-for",
                        ),
                        field(
                            "New password",
                            "new_password",
                            RecoveryState.password_error,
                            on_edit=RecoveryState.clear_error,
                            hint=PASSWORD_RULE,
                            type="password",
                            auto_complete="new-password",
                            max_length=256,
                            required=True,
                        ),
                        rx.button(
                            "Save new password",
                            type="submit",
                            size="3",
                            width="100%",
                            id="new-password-submit",
                        ),
                        spacing="4",
                        width="100%",
                    ),
                    on_submit=RecoveryState.reset_password,
                    reset_on_submit=False,
                    width="100%",
                ),
            ),
        ),
    )


def confirm_signup_page() -> rx.Component:
    return auth_card(
        "Finishing your sign-up",
        rx.fragment(),
        rx.cond(
            RecoveryState.link_error != "",
            rx.vstack(
                rx.callout(
                    RecoveryState.link_error,
                    icon="triangle-alert",
                    color_scheme="red",
                    id="link-error",
                ),
                rx.hstack(
                    rx.link(rx.button("Log in", variant="soft"), href=routes.LOGIN),
                    rx.link(rx.button("Sign up again", variant="soft"), href=routes.SIGNUP),
                    spacing="3",
                ),
                spacing="3",
                width="100%",
            ),
            rx.center(rx.spinner(size="3"), padding_y="24px"),
        ),
    )
