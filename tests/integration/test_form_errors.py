"""Forms through their state handlers (as a browser tab sends them): the address form shows
every field's error at once, and an earlier answer never outlives a new submit or an edit.

Driven through Reflex's own event lookup and processing (`tests.support.reflex_events`),
against a real database and a real redis-server.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlmodel import select

from sneakers_app import db
from sneakers_app.models import AccountToken, User
from sneakers_app.services import addresses
from state.account import AccountState
from state.address_form import COUNTRY_CHOICES
from state.auth import AuthFormState
from state.security import PasswordChangeState, RecoveryState
from tests.support import factories
from tests.support.reflex_events import Tab

PASSWORD = "a long enough password"
EMPTY_ADDRESS = dict.fromkeys(
    ("full_name", "line1", "line2", "city", "region", "postal_code"), ""
) | {"country": "US"}


async def _logged_in_tab() -> tuple[Tab, int]:
    with db.session_scope() as s:
        user_id = factories.user(s, "Former")
        email = s.get(User, user_id).email  # type: ignore[union-attr]
    tab = Tab()
    await tab.send(AuthFormState, "log_in", form={"email": email, "password": PASSWORD})
    assert (await tab.state(AuthFormState)).user_id == user_id
    return tab, user_id


@pytest.mark.usefixtures("app_db")
def test_the_address_form_shows_every_error_and_an_edit_clears_only_its_own() -> None:
    async def scenario() -> None:
        tab, user_id = await _logged_in_tab()
        await tab.send(AccountState, "on_load")
        await tab.send(AccountState, "open_address_form", address_id=0)
        await tab.send(AccountState, "save_address", form_data=EMPTY_ADDRESS)
        account = await tab.state(AccountState)
        assert account.address_dialog_open
        assert set(account.address_errors) == {
            "full_name",
            "line1",
            "city",
            "region",
            "postal_code",
        }
        assert account.address_error == ""

        await tab.send(AccountState, "address_edited", field="city")
        assert "city" not in account.address_errors
        assert len(account.address_errors) == 4
        await tab.send(AccountState, "address_edited", field="no_such_field")
        assert len(account.address_errors) == 4
        # The ZIP and state rules follow the country: picking another one clears their messages.
        await tab.send(AccountState, "address_edited", field="country")
        assert set(account.address_errors) == {"full_name", "line1"}

        typed = {
            "full_name": "Ada Lovelace",
            "line1": "10 Downing Street",
            "line2": "",
            "city": "London",
            "region": "",
            "postal_code": "SW1A 2AA",
            "country": "XX",
        }
        await tab.send(AccountState, "save_address", form_data=typed)
        assert account.address_errors == {"country": "Choose a country from the list."}

        # What the select submits for "United Kingdom".
        uk = next(code for code, name in COUNTRY_CHOICES if name == "United Kingdom")
        await tab.send(AccountState, "save_address", form_data=typed | {"country": uk})
        assert (account.address_errors, account.address_error) == ({}, "")
        assert not account.address_dialog_open
        (row,) = account.addresses
        assert (row.country, row.country_name) == ("GB", "United Kingdom")
        with db.session_scope() as s:
            (saved,) = addresses.list_addresses(session=s, user_id=user_id)
            assert (saved.country, saved.postal_code) == ("GB", "SW1A 2AA")

    asyncio.run(scenario())


@pytest.mark.usefixtures("app_db")
def test_sign_up_refuses_a_common_password_and_each_answer_replaces_the_last() -> None:
    async def scenario() -> None:
        tab = Tab()
        await tab.send(AuthFormState, "reset_form")
        email = f"new-{uuid.uuid4().hex[:8]}@example.com"
        form = {"email": "not an email", "display_name": "Grace Hopper", "password": "password123"}
        await tab.send(AuthFormState, "sign_up", form=form)
        auth = await tab.state(AuthFormState)
        assert auth.email_error.startswith("That email address is not valid")

        await tab.send(AuthFormState, "sign_up", form=form | {"email": email})
        assert auth.email_error == ""  # the new submit's answer replaces the old one
        assert auth.password_error == (
            "This password is too easy to guess: this is a very common password. Try a few "
            "unrelated words together, or let your browser suggest one."
        )
        assert auth.sign_up_sent_to == ""

        await tab.send(AuthFormState, "clear_error", field="password")  # typing in the field
        assert auth.password_error == ""

        await tab.send(AuthFormState, "sign_up", form=form | {"email": email, "password": "grace"})
        assert auth.password_error.startswith("Use a password of at least 10 characters.")
        await tab.send(
            AuthFormState,
            "sign_up",
            form=form | {"email": email, "password": "grace hopper 1906"},
        )
        assert "your name or email" in auth.password_error

        await tab.send(
            AuthFormState,
            "sign_up",
            form=form | {"email": email, "password": "plum kettle marathon"},
        )
        assert (auth.email_error, auth.password_error, auth.name_error) == ("", "", "")
        assert auth.sign_up_sent_to == email
        with db.session_scope() as s:
            links = s.exec(select(AccountToken).where(AccountToken.email == email)).all()
            assert len(links) == 1

    asyncio.run(scenario())


@pytest.mark.usefixtures("app_db")
def test_password_change_errors_clear_on_a_new_submit_an_edit_and_the_next_visit() -> None:
    async def scenario() -> None:
        tab, _ = await _logged_in_tab()
        security = await tab.state(PasswordChangeState)
        wrong = {"current_password": "not my password", "new_password": "plum kettle marathon"}
        await tab.send(PasswordChangeState, "change_password", form=wrong)
        assert security.current_error == "That is not your current password."

        tab.deltas.clear()
        weak = {"current_password": PASSWORD, "new_password": "qwertyuiop"}
        await tab.send(PasswordChangeState, "change_password", form=weak)
        # The old answer went before the new one was worked out (the first update sent).
        name = PasswordChangeState.get_full_name()
        first, *_ = (delta[name] for delta in tab.deltas if name in delta)
        assert first["current_error_rx_state_"] == ""
        assert "new_error_rx_state_" not in first or first["new_error_rx_state_"] == ""
        assert security.current_error == ""
        assert security.new_error.startswith("This password is too easy to guess")

        await tab.send(PasswordChangeState, "clear_error", field="new_password")
        assert security.new_error == ""

        await tab.send(PasswordChangeState, "change_password", form=wrong)
        assert security.current_error
        await tab.send(PasswordChangeState, "on_load")  # the account page opened again
        assert (security.current_error, security.new_error) == ("", "")

    asyncio.run(scenario())


@pytest.mark.usefixtures("app_db")
def test_forgotten_password_error_clears_when_the_email_is_edited() -> None:
    async def scenario() -> None:
        tab = Tab()
        await tab.send(RecoveryState, "open_forgot")
        await tab.send(RecoveryState, "request_reset", form={"email": "  "})
        recovery = await tab.state(RecoveryState)
        assert recovery.email_error == "Enter your email address."
        await tab.send(RecoveryState, "clear_error", field="email")
        assert recovery.email_error == ""

    asyncio.run(scenario())
