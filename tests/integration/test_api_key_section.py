"""The /account API keys section through its state handlers, as a browser tab sends them
(Reflex's own event lookup and processing, `tests.support.reflex_events`), against a real
database and redis-server: a new key is shown once and stored only hashed, a second submit
while the first is made (or while the new key shows) makes nothing, a bad name or scope is
refused with its message, a member revokes their own keys only, and a visitor does nothing."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest
from sqlmodel import col, select

from sneakers_app import db
from sneakers_app.models import ApiKey
from sneakers_app.services import accounts, api_keys
from state.api_keys import ApiKeyState
from state.base import SessionState
from tests.integration.test_tab_privacy import _log_in
from tests.support import factories
from tests.support.reflex_events import Tab


def _member() -> int:
    with db.session_scope() as s:
        return factories.user(s, "Keys")


async def _tab_of(user_id: int) -> Tab:
    tab = Tab()
    await _log_in(tab, user_id)
    await tab.send(ApiKeyState, "on_load")
    return tab


def _rows(user_id: int) -> list[ApiKey]:
    with db.session_scope() as s:
        rows = s.exec(select(ApiKey).where(col(ApiKey.user_id) == user_id)).all()
        s.expunge_all()
        return list(rows)


def _works(secret: str) -> bool:
    with db.session_scope() as s:
        return api_keys.authenticate(session=s, presented=secret) is not None


def _toasts(tab: Tab) -> list[str]:
    """The messages of the toasts the handlers asked the browser to show, in order."""
    return [str(e) for args, _ in tab.emitted for e in args if "toast" in str(e)]


async def _make(tab: Tab, name: str, scope: str = "read") -> None:
    await tab.send(ApiKeyState, "create_key", form={"name": name, "scope": scope})


@pytest.mark.usefixtures("app_db")
def test_a_new_key_is_shown_once_and_stored_only_hashed() -> None:
    member = _member()

    async def scenario() -> None:
        tab = await _tab_of(member)
        keys = await tab.state(ApiKeyState)
        assert (keys.keys, keys.new_key) == ([], "")
        assert keys.docs_href.endswith("/api/v1/docs")

        await _make(tab, "  listing   script ", "trade")
        secret = keys.new_key
        assert secret.startswith("snk_") and not keys.busy and keys.form_error == ""
        assert (keys.new_key_name, keys.new_key_scopes) == ("listing script", "Read and trade")
        (row,) = keys.keys
        assert (row.name, row.scopes, row.last_used) == (
            "listing script",
            "Read and trade",
            "never",
        )
        assert secret.startswith(row.prefix + "_")
        (stored,) = _rows(member)
        assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in (stored.prefix, stored.secret_hash, stored.name, stored.scopes)
        assert _works(secret)
        assert any("_set_focus" in str(e) for args, _ in tab.emitted for e in args)

        # Dismissed, the key is nowhere in the tab's state; the list stays, read again: the
        # key was used meanwhile (`_works`).
        await tab.send(ApiKeyState, "dismiss_new_key")
        assert secret not in repr(tab.root.dict())
        assert [k.name for k in keys.keys] == ["listing script"]
        assert keys.keys[0].last_used != "never"

        # A reload of the page does not show it again either.
        await _make(tab, "price watcher")
        second = keys.new_key
        assert second.startswith("snk_") and second != secret
        assert [k.scopes for k in keys.keys] == ["Read", "Read and trade"]  # newest first
        await tab.send(ApiKeyState, "on_load")
        assert keys.new_key == "" and second not in repr(tab.root.dict())
        assert [k.name for k in keys.keys] == ["price watcher", "listing script"]

    asyncio.run(scenario())


@pytest.mark.usefixtures("app_db")
def test_a_second_submit_while_the_first_is_made_or_shown_makes_nothing() -> None:
    member = _member()

    async def scenario() -> None:
        tab = await _tab_of(member)
        keys = await tab.state(ApiKeyState)
        # Two submits of the form at once (a double click): the second finds the first busy.
        await asyncio.gather(_make(tab, "double click"), _make(tab, "double click"))
        assert len(_rows(member)) == 1 and len(keys.keys) == 1
        shown = keys.new_key
        assert shown and not keys.busy
        # One that arrives once the first is made, while its key shows, makes nothing either.
        await _make(tab, "double click")
        assert len(_rows(member)) == 1 and keys.new_key == shown
        # Dismissed, the form makes the next key.
        await tab.send(ApiKeyState, "dismiss_new_key")
        await _make(tab, "next one")
        assert len(_rows(member)) == 2 and keys.new_key not in ("", shown)

    asyncio.run(scenario())


@pytest.mark.usefixtures("app_db")
def test_a_bad_name_or_scope_is_refused_with_its_message_and_makes_nothing() -> None:
    member = _member()

    async def scenario() -> None:
        tab = await _tab_of(member)
        keys = await tab.state(ApiKeyState)
        refusals: list[tuple[dict[str, Any], str]] = [
            ({"name": "   ", "scope": "read"}, "Name the key"),
            ({"name": "x" * 61, "scope": "read"}, "at most 60 characters"),
            ({"name": "x" * 5000, "scope": "trade"}, "at most 60 characters"),
            ({"name": "tab\tbell\x07", "scope": "read"}, "letters, digits, spaces"),
            ({"name": "prices", "scope": "admin"}, "Choose what the key may do"),
            ({"name": "prices"}, "Choose what the key may do"),
        ]
        for form, message in refusals:
            await tab.send(ApiKeyState, "create_key", form=form)
            assert message in keys.form_error, (form, keys.form_error)
            assert (keys.new_key, keys.keys, keys.busy) == ("", [], False)
        assert _rows(member) == []
        # Typing in the name field clears the message; a good name then makes the key.
        await tab.send(ApiKeyState, "clear_error")
        assert keys.form_error == ""
        await _make(tab, "x" * 60)
        assert keys.form_error == "" and keys.new_key and len(_rows(member)) == 1

    asyncio.run(scenario())


@pytest.mark.usefixtures("app_db")
def test_a_member_revokes_their_own_keys_only() -> None:
    owner, other = _member(), _member()

    async def scenario() -> None:
        tab = await _tab_of(owner)
        keys = await tab.state(ApiKeyState)
        await _make(tab, "mine")
        mine, my_id = keys.new_key, keys.keys[0].id
        with db.session_scope() as s:
            theirs = api_keys.create(session=s, user_id=other, name="theirs", scopes="trade")

        # Another member's key id, an unknown one and nonsense: refused, nothing changes.
        for key_id in (theirs.key.id, 10**9, "drop table", -1, True):
            tab.emitted.clear()
            await tab.send(ApiKeyState, "revoke_key", key_id=key_id)
            assert [k.id for k in keys.keys] == [my_id]
        assert _works(theirs.secret) and _works(mine)
        assert all(r.revoked_at is None for r in _rows(other))

        tab.emitted.clear()
        await tab.send(ApiKeyState, "revoke_key", key_id=my_id)
        assert keys.keys == [] and not _works(mine)
        assert any("Key revoked" in t for t in _toasts(tab))
        assert _works(theirs.secret)
        # Revoked once is enough: a second click says so and changes nothing.
        tab.emitted.clear()
        await tab.send(ApiKeyState, "revoke_key", key_id=my_id)
        assert any("not one of yours" in t for t in _toasts(tab))

    asyncio.run(scenario())


@pytest.mark.usefixtures("app_db")
def test_a_visitor_or_an_ended_session_makes_and_revokes_nothing() -> None:
    member = _member()
    with db.session_scope() as s:
        made = api_keys.create(session=s, user_id=member, name="script", scopes="read")

    async def scenario() -> None:
        visitor = Tab()
        await visitor.send(ApiKeyState, "on_load")
        keys = await visitor.state(ApiKeyState)
        assert keys.keys == []
        await _make(visitor, "sneaky")
        await visitor.send(ApiKeyState, "revoke_key", key_id=made.key.id)
        assert keys.new_key == "" and len(_rows(member)) == 1 and _works(made.secret)
        assert any("/login" in str(e) for args, _ in visitor.emitted for e in args)

        # A member whose session ended (logged out elsewhere) is a visitor too.
        tab = await _tab_of(member)
        keys = await tab.state(ApiKeyState)
        assert [k.id for k in keys.keys] == [made.key.id]
        await _make(tab, "shown")
        assert keys.new_key and len(_rows(member)) == 2
        token = (await tab.state(SessionState)).auth_token
        with db.session_scope() as s:
            accounts.log_out(session=s, token=token)
        await tab.send(ApiKeyState, "dismiss_new_key")
        await _make(tab, "after logout")
        await tab.send(ApiKeyState, "revoke_key", key_id=made.key.id)
        assert len(_rows(member)) == 2 and _works(made.secret)
        assert keys.keys == [] and keys.new_key == ""  # what the tab held of theirs is gone

    asyncio.run(scenario())
