"""Account security UI: the /account password and sessions section, and the staff second
factor that /verification shows until the session has passed it."""

from __future__ import annotations

import reflex as rx

from components.a11y import alert_dialog_title
from components.account_sections import section
from components.fields import described_by, field_error, field_label
from state.auth import PASSWORD_RULE
from state.security import PasswordChangeState, SecondFactorState

P = PasswordChangeState
T = SecondFactorState


def _password_input(
    label: str, name: str, autocomplete: str, error: rx.Var, hint: str = ""
) -> rx.Component:
    return rx.vstack(
        field_label(label, name),
        rx.input(
            name=name,
            id=name,
            type="password",
            auto_complete=autocomplete,
            max_length=256,
            required=True,
            size="3",
            width="100%",
            color_scheme=rx.cond(error != "", "red", "gray"),
            # Editing a field that shows an error clears it (no event otherwise).
            on_change=rx.cond(error != "", P.clear_error(name), rx.noop()),
            **described_by(error, f"{name}-error", f"{name}-hint" if hint else ""),
        ),
        rx.text(hint, size="1", color="var(--gray-11)", id=f"{name}-hint")
        if hint
        else rx.fragment(),
        field_error(error, f"{name}-error"),
        spacing="1",
        width="100%",
    )


def security_section() -> rx.Component:
    return section(
        "Password and sessions",
        "Changing your password logs out every other device.",
        "shield-check",
        rx.form(
            rx.vstack(
                rx.grid(
                    _password_input(
                        "Current password", "current_password", "current-password", P.current_error
                    ),
                    _password_input(
                        "New password", "new_password", "new-password", P.new_error, PASSWORD_RULE
                    ),
                    columns=rx.breakpoints(initial="1", sm="2"),
                    spacing="3",
                    width="100%",
                ),
                rx.button("Change password", type="submit", id="change-password-submit"),
                spacing="3",
                width="100%",
            ),
            on_submit=P.change_password,
            reset_on_submit=True,
            key=P.form_key.to_string(),
            width="100%",
        ),
        rx.divider(),
        rx.flex(
            rx.text(
                "Lost a device, or logged in somewhere you should not have? Log out of every "
                "browser and device, this one included.",
                size="2",
                color="var(--gray-11)",
            ),
            rx.alert_dialog.root(
                rx.alert_dialog.trigger(
                    rx.button(
                        rx.icon("log-out", size=14),
                        "Log out everywhere",
                        variant="soft",
                        color_scheme="red",
                        id="logout-everywhere",
                        flex_shrink="0",
                    )
                ),
                rx.alert_dialog.content(
                    alert_dialog_title("Log out everywhere?"),
                    rx.alert_dialog.description(
                        "Every session of your account ends, including this one. You will need "
                        "your password to log in again."
                    ),
                    rx.flex(
                        rx.alert_dialog.cancel(rx.button("Cancel", variant="soft")),
                        rx.alert_dialog.action(
                            rx.button(
                                "Log out everywhere",
                                color_scheme="red",
                                on_click=P.log_out_everywhere,
                                id="logout-everywhere-confirm",
                            )
                        ),
                        spacing="3",
                        justify="end",
                        margin_top="16px",
                    ),
                ),
            ),
            direction=rx.breakpoints(initial="column", sm="row"),
            spacing="3",
            align=rx.breakpoints(initial="start", sm="center"),
            justify="between",
            width="100%",
        ),
        id="security-section",
    )


# --- staff second factor ----------------------------------------------------------------------


def _code_form(label: str) -> rx.Component:
    return rx.form(
        rx.vstack(
            field_label("6-digit code", "totp-code"),
            rx.input(
                name="code",
                id="totp-code",
                auto_complete="one-time-code",
                input_mode="numeric",
                max_length=12,
                required=True,
                size="3",
                width="100%",
                auto_focus=True,
                **described_by(T.code_error, "totp-error"),
            ),
            field_error(T.code_error, "totp-error"),
            rx.button(label, type="submit", size="3", width="100%", id="totp-submit"),
            spacing="2",
            width="100%",
        ),
        on_submit=T.submit_code,
        reset_on_submit=True,
        width="100%",
    )


def _card(*children: rx.Component) -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(*children, spacing="4", width="100%"),
            size="4",
            width="100%",
            max_width="460px",
        ),
        padding_y="32px",
        width="100%",
    )


def second_factor_view() -> rx.Component:
    return _card(
        rx.icon("smartphone", size=32, color="var(--accent-9)"),
        rx.heading("Confirm it's you", size="6", id="second-factor-title"),
        rx.text(
            "The verification console needs the code from your authenticator app once per login.",
            size="2",
            color="var(--gray-11)",
        ),
        _code_form("Open the console"),
    )


def enrol_view() -> rx.Component:
    return _card(
        rx.icon("shield-plus", size=32, color="var(--accent-9)"),
        rx.heading("Set up your second factor", size="6", id="enrol-title"),
        rx.text(
            "Staff accounts need an authenticator app (any TOTP app: 1Password, Google "
            "Authenticator, Authy...) to open the verification console.",
            size="2",
            color="var(--gray-11)",
        ),
        rx.cond(
            T.totp_secret != "",
            rx.vstack(
                rx.text(
                    "Scan this code with the app, or type the key in. It is shown only now.",
                    size="2",
                ),
                rx.center(
                    rx.image(
                        src=T.totp_qr, width="200px", height="200px", alt="QR code", id="totp-qr"
                    ),
                    width="100%",
                ),
                rx.code(T.totp_secret, id="totp-secret", size="3", word_break="break-all"),
                rx.text("Then enter the code the app shows.", size="2"),
                _code_form("Confirm and open the console"),
                spacing="3",
                width="100%",
            ),
            rx.vstack(
                field_error(T.code_error, "enrol-error"),
                rx.button(
                    "Set up my authenticator app",
                    size="3",
                    width="100%",
                    on_click=T.start_enrolment,
                    id="enrol-start",
                ),
                width="100%",
            ),
        ),
    )
