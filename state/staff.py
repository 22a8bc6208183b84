"""The verification console's gate: staff only, checked on the server on every load."""

from __future__ import annotations

import reflex as rx

from state.base import SessionState


class VerificationState(SessionState):
    access: str = "checking"  # checking | denied | granted

    @rx.event
    def on_load(self) -> rx.event.EventSpec | None:
        user = self._current_user()
        if user is None:
            self.access = "checking"
            return self._login_redirect()
        self.access = "granted" if user.is_staff else "denied"
        return None
