"""Log-in and sign-up forms: parse the form, call the accounts service, show its message."""

from __future__ import annotations

import asyncio
from urllib.parse import unquote

import reflex as rx
from reflex.event import EventSpec

from sneakers_app import routes
from sneakers_app.db import session_scope
from sneakers_app.services import accounts, limits
from state import offload
from state.base import SessionState

# Shown under every new-password field, before anything is submitted.
PASSWORD_RULE = accounts.PASSWORD_RULE


def _log_in(email: str, password: str) -> accounts.LoginResult:
    """In the password pool (argon2 costs about a quarter of a CPU second)."""
    with session_scope() as session:
        return accounts.log_in(session=session, email=email, password=password)


def _request_sign_up(email: str, name: str, password: str) -> accounts.SignUpRequested:
    """In the password pool (the password is hashed whether or not the address is taken)."""
    with session_scope() as session:
        return accounts.request_sign_up(
            session=session, email=email, display_name=name, password=password
        )


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

    @rx.event
    def clear_error(self, field: str) -> None:
        """The person edited `field` after a refusal: its message goes (a late keystroke while
        a submit runs changes nothing: that submit shows its own answer)."""
        if self.submitting:
            return
        if field == "email":
            self.email_error = ""
        elif field == "password":
            self.password_error = ""
        elif field == "display_name":
            self.name_error = ""

    def _next(self) -> str:
        return _safe_next(self.router.url.query_parameters.get("next", ""))

    @rx.event
    def reset_form(self) -> EventSpec | None:
        self._clear()
        self.submitting = False
        self.sign_up_sent_to = ""
        if self._current_user() is not None:
            return rx.redirect(self._next())
        return None

    async def _begin(self) -> tuple[str, str] | None:
        """Start one submission (None while one is running): (next page, client IP)."""
        async with self:
            if self.submitting:
                return None
            self._clear()
            self.submitting = True
            return self._next(), self.router.session.client_ip

    async def _finish(
        self, next_url: str, result: accounts.LoginResult | None, refused: Exception | None
    ) -> bool:
        async with self:
            self.submitting = False
            if isinstance(refused, accounts.AccountError):
                self._show(refused)
            elif isinstance(refused, limits.RateLimited):
                self.form_error = refused.message
            if result is None:
                return False
            self.auth_token = result.token
            self._set_user(result.user)
            return True

    # Background events: the password hash runs in a worker thread, so a log-in never holds
    # up the events of other tabs (they share this process's event loop).
    @rx.event(background=True)
    async def log_in(self, form: dict[str, str]) -> EventSpec | None:
        email = str(form.get("email", ""))[:300]
        password = str(form.get("password", ""))[:1024]
        begun = await self._begin()
        if begun is None:
            return None
        next_url, ip = begun
        result, refused = None, None
        try:
            # The limit first, outside the password pool: a refused attempt costs no hash and
            # never waits behind the hashes of others.
            await asyncio.to_thread(limits.check, limits.LOG_IN, user=email, ip=ip)
            result = await offload.password_work(_log_in, email, password)
        except (accounts.AccountError, limits.RateLimited) as error:
            refused = error
        finally:
            done = await self._finish(next_url, result, refused)
        return rx.redirect(next_url) if done else None

    @rx.event(background=True)
    async def sign_up(self, form: dict[str, str]) -> None:
        email = str(form.get("email", ""))[:300]
        name = str(form.get("display_name", ""))[:300]
        password = str(form.get("password", ""))[:1024]
        begun = await self._begin()
        if begun is None:
            return None
        _next_url, ip = begun
        asked, refused = None, None
        try:
            await asyncio.to_thread(limits.check, limits.SIGN_UP, ip=ip)
            asked = await offload.password_work(_request_sign_up, email, name, password)
        except (accounts.AccountError, limits.RateLimited) as error:
            refused = error
        finally:
            await self._finish("", None, refused)
        if asked is None:
            return None
        async with self:
            self.sign_up_sent_to = email.strip()[:254]
        return None
