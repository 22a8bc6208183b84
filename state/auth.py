"""Log-in and sign-up forms: parse the form, call the accounts service, show its message."""

from __future__ import annotations

from urllib.parse import unquote

import reflex as rx

from sneakers_app import routes
from sneakers_app.db import session_scope
from sneakers_app.services import accounts
from state.base import SessionState
from state.security import queue_emails


def _safe_next(raw: str) -> str:
    """Only same-site paths are followed after log-in (no open redirect)."""
    target = unquote(raw or "")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return routes.BROWSE
    if target.startswith((routes.LOGIN, routes.SIGNUP)):
        return routes.BROWSE
    return target[:300]


class AuthFormState(SessionState):
    email_error: str = ""
    password_error: str = ""
    name_error: str = ""
    form_error: str = ""
    submitting: bool = False
    # Set after a sign-up: the page then says to open the emailed link (the same answer whether
    # or not the address already has an account).
    sign_up_sent_to: str = ""

    def _clear(self) -> None:
        self.email_error = self.password_error = self.name_error = self.form_error = ""

    def _show(self, error: accounts.AccountError) -> None:
        if error.field == "email":
            self.email_error = error.message
        elif error.field == "password":
            self.password_error = error.message
        elif error.field == "display_name":
            self.name_error = error.message
        else:
            self.form_error = error.message

    def _next(self) -> str:
        return _safe_next(self.router.url.query_parameters.get("next", ""))

    @rx.event
    def reset_form(self) -> rx.event.EventSpec | None:
        self._clear()
        self.submitting = False
        self.sign_up_sent_to = ""
        if self._current_user() is not None:
            return rx.redirect(self._next())
        return None

    @rx.event
    def log_in(self, form: dict[str, str]) -> rx.event.EventSpec | None:
        self._clear()
        email = str(form.get("email", ""))[:300]
        password = str(form.get("password", ""))[:1024]
        try:
            with session_scope() as session:
                result = accounts.log_in(session=session, email=email, password=password)
        except accounts.AccountError as error:
            self._show(error)
            return None
        self.auth_token = result.token
        self._set_user(result.user)
        return rx.redirect(self._next())

    @rx.event
    def sign_up(self, form: dict[str, str]) -> rx.event.EventSpec | None:
        self._clear()
        email = str(form.get("email", ""))[:300]
        name = str(form.get("display_name", ""))[:300]
        password = str(form.get("password", ""))[:1024]
        try:
            with session_scope() as session:
                asked = accounts.request_sign_up(
                    session=session, email=email, display_name=name, password=password
                )
        except accounts.AccountError as error:
            self._show(error)
            return None
        queue_emails(link_id=asked.link_id, notification_id=asked.email_notification_id)
        self.sign_up_sent_to = email.strip()[:254]
        return None
