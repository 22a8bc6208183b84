"""The size-system picker's handler, driven through Reflex's own event processing against a
real database and redis-server: a member's choice is saved to the account (and every tab they
log in from reads it), a visitor's stays in the tab, a bad value changes nothing, and a session
that ended saves nothing."""

from __future__ import annotations

import asyncio

import pytest

from sneakers_app import db
from sneakers_app.models import User
from sneakers_app.services import accounts
from state.base import SessionState
from tests.integration.test_tab_privacy import _log_in
from tests.support import factories
from tests.support.reflex_events import Tab


def saved_system(user_id: int) -> str:
    with db.session_scope() as s:
        user = s.get(User, user_id)
        assert user is not None
        return user.size_system


@pytest.mark.usefixtures("app_db")
def test_the_size_system_is_the_accounts_or_the_tabs() -> None:
    with db.session_scope() as s:
        member = factories.user(s, "Sizes")

    async def shown(tab: Tab) -> str:
        system: str = (await tab.state(SessionState)).size_system
        return system

    async def scenario() -> None:
        tab = Tab()
        # A visitor's choice is the tab's alone; nonsense is refused.
        await tab.send(SessionState, "set_size_system", system="uk")
        assert await shown(tab) == "uk"
        for bad in ("gs", "UK", "", "eu; drop table users", "x" * 500):
            await tab.send(SessionState, "set_size_system", system=bad)
            assert await shown(tab) == "uk"
        # Logging in shows the account's system; a choice then is saved to the account.
        await _log_in(tab, member)
        assert await shown(tab) == "us_m"
        await tab.send(SessionState, "set_size_system", system=["eu"])
        assert await shown(tab) == "eu" and saved_system(member) == "eu"
        other = Tab()
        await _log_in(other, member)
        assert await shown(other) == "eu"
        await tab.send(SessionState, "set_size_system", system="cm; --")
        assert saved_system(member) == "eu"
        # A session that ended saves nothing: the tab is a visitor's again.
        token = (await tab.state(SessionState)).auth_token
        with db.session_scope() as s:
            accounts.log_out(session=s, token=token)
        await tab.send(SessionState, "set_size_system", system="cm")
        assert await shown(tab) == "cm" and saved_system(member) == "eu"
        assert (await tab.state(SessionState)).user_id == 0

    asyncio.run(scenario())
