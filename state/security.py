"""Account security: password change, log out everywhere, forgotten password and the emailed
reset link, the sign-up confirmation link, and the staff second factor. Thin: parse the form,
re-check the session, call `services.accounts` (its commit sends the emails)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import reflex as rx
from reflex.event import EventSpec

from sneakers_app import routes
from sneakers_app.db import session_scope
from sneakers_app.services import accounts, limits
from state import offload
from state.base import SessionState, handler, toast

logger = logging.getLogger(__name__)


def _field(form: dict[str, str], name: str, limit: int = 1024) -> str:
    return str(form.get(name, "") or "")[:limit]


def _token_from_url(state: rx.State) -> str:
    return str(state.router.url.query_parameters.get("token", "") or "")[:200]


class PasswordChangeState(SessionState):
    """The /account security section."""

    current_error: str = ""
    new_error: str = ""
    form_key: int = 0

    @rx.event
    def on_load(self) -> None:
        """Messages of an earlier visit do not greet the next one."""
        self.current_error = self.new_error = ""

    @rx.event
    def clear_error(self, field: str) -> None:
        if field == "current_password":
            self.current_error = ""
        elif field == "new_password":
            self.new_error = ""

    @rx.event
    async def change_password(self, form: dict[str, str]) -> AsyncIterator[EventSpec | None]:
        if self._current_user() is None:
            yield self._login_redirect()
            return
        self.current_error = self.new_error = ""
        yield None  # the earlier answer goes while this one is checked
        token = self.auth_token
        current, new = _field(form, "current_password"), _field(form, "new_password")

        def change() -> accounts.PasswordChanged:
            with session_scope() as session:
                return accounts.change_password(
                    session=session, token=token, current_password=current, new_password=new
                )

        try:
            done = await offload.password_work(change)  # argon2 in the password pool
        except accounts.AccountError as error:
            if error.field == "new_password":
                self.new_error = error.message
            else:
                self.current_error = error.message
            return
        self.form_key += 1  # empties the form
        ended = done.sessions_ended
        others = f" {ended} other session{'s' if ended != 1 else ''} logged out." if ended else ""
        yield toast("success", f"Password changed.{others}", duration=5000)

    @rx.event
    async def log_out_everywhere(self) -> EventSpec:
        token = self.auth_token
        try:
            with session_scope() as session:
                accounts.log_out_everywhere(session=session, token=token)
        except accounts.AccountError:
            pass  # this session had ended already: logging out here is all that is left
        self.auth_token = ""
        self._set_user(None)
        await self._forget_in_every_page_state()
        return rx.redirect(routes.LOGIN)


class RecoveryState(SessionState):
    """/forgot-password, /reset-password?token=... and /signup/confirm?token=..."""

    email_error: str = ""
    sent_to: str = ""
    link_error: str = ""
    link_email: str = ""
    password_error: str = ""
    checked: bool = False

    @rx.event
    def open_forgot(self) -> None:
        self.email_error = self.sent_to = ""

    @rx.event
    def clear_error(self, field: str) -> None:
        if field == "email":
            self.email_error = ""
        elif field == "new_password":
            self.password_error = ""

    @rx.event
    async def request_reset(self, form: dict[str, str]) -> AsyncIterator[None]:
        """Answers the same whether or not the address has an account; limited per client IP
        (each request can email someone)."""
        email = _field(form, "email", 300).strip()
        if not email:
            self.email_error = "Enter your email address."
            return
        self.email_error = ""
        yield None  # the earlier answer goes while this one is checked
        ip = self.router.session.client_ip

        def request() -> int | None:
            limits.check(limits.PASSWORD_RESET, ip=ip)
            with session_scope() as session:
                return accounts.request_password_reset(session=session, email=email)

        try:
            await asyncio.to_thread(request)
        except limits.RateLimited as refused:
            self.email_error = refused.message
            return
        self.sent_to = email[:254]

    @rx.event
    def open_reset(self) -> None:
        self.checked = False
        self.password_error = self.link_error = self.link_email = ""
        try:
            with session_scope() as session:
                self.link_email = accounts.reset_link_email(
                    session=session, token=_token_from_url(self)
                )
        except accounts.AccountError as error:
            self.link_error = error.message
        self.checked = True

    @rx.event
    async def reset_password(
        self, form: dict[str, str]
    ) -> AsyncIterator[EventSpec | list[EventSpec] | None]:
        token, new = _token_from_url(self), _field(form, "new_password")
        self.password_error = ""
        yield None  # the earlier answer goes while this one is checked

        def reset() -> accounts.PasswordChanged:
            with session_scope() as session:
                return accounts.reset_password(session=session, token=token, new_password=new)

        try:
            await offload.password_work(reset)  # argon2 in the password pool
        except accounts.AccountError as error:
            if error.field == "new_password":
                self.password_error = error.message
            else:
                self.link_error = error.message
            return
        self.auth_token = ""
        self._set_user(None)
        await self._forget_in_every_page_state()
        yield [
            rx.redirect(routes.LOGIN),
            toast("success", "Password changed. Log in with your new password.", duration=6000),
        ]

    @rx.event
    def confirm_sign_up(self) -> EventSpec | list[EventSpec] | None:
        self.checked = False
        self.link_error = ""
        try:
            with session_scope() as session:
                result = accounts.confirm_sign_up(session=session, token=_token_from_url(self))
        except accounts.AccountError as error:
            self.link_error = error.message
            self.checked = True
            return None
        self.auth_token = result.token
        self._set_user(result.user)
        self.checked = True
        return [
            rx.redirect(routes.BROWSE),
            toast("success", f"Welcome, {result.user.display_name}!"),
        ]


class SecondFactorState(SessionState):
    """The staff second factor, shown by /verification until this session has passed it."""

    totp_secret: str = ""
    totp_uri: str = ""
    totp_qr: str = ""
    code_error: str = ""

    def _clear_secret(self) -> None:
        self.totp_secret = self.totp_uri = self.totp_qr = ""

    @rx.event
    def start_enrolment(self) -> EventSpec | None:
        self.code_error = ""
        if self._current_user() is None:
            self._clear_secret()
            return self._login_redirect()
        try:
            with session_scope() as session:
                enrolment = accounts.begin_totp_enrolment(session=session, token=self.auth_token)
        except accounts.AccountError as error:
            self._clear_secret()
            self.code_error = error.message
            return None
        self.totp_secret = enrolment.secret
        self.totp_uri = enrolment.uri
        self.totp_qr = enrolment.qr_svg
        return None

    @rx.event
    def submit_code(self, form: dict[str, str]) -> EventSpec | None:
        from state.staff import VerificationState

        self.code_error = ""
        user = self._current_user()
        if user is None:
            self._clear_secret()
            return self._login_redirect()
        code = _field(form, "code", 20)
        try:
            with session_scope() as session:
                if user.totp_enrolled:
                    accounts.verify_second_factor(session=session, token=self.auth_token, code=code)
                else:
                    accounts.confirm_totp_enrolment(
                        session=session, token=self.auth_token, code=code
                    )
        except accounts.AccountError as error:
            self.code_error = error.message
            return None
        self._clear_secret()
        return handler(VerificationState.on_load)()
