"""The staff events, as review and notify apply them to their copies (intake produces them)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from ..events import Event
from ..inbox import UnitOfWork
from . import store
from .tables import StaffTables

STAFF_EVENTS = ("staff.changed", "staff.token_changed", "staff.signed_out")


def handlers_for(tables: StaffTables) -> dict[str, Callable[[UnitOfWork, Event], None]]:
    """One handler per staff event, on this service's staff tables (merged into its HANDLERS)."""

    def staff_changed(uow: UnitOfWork, event: Event) -> None:
        """A member was added or changed; a deactivation ends their sessions and tokens here."""
        store.apply_member(uow.session, tables, event.data, datetime.now(timezone.utc))

    def staff_token_changed(uow: UnitOfWork, event: Event) -> None:
        """A personal API token was created (its hash only) or revoked."""
        store.apply_token(uow.session, tables, event.data, datetime.now(timezone.utc))

    def staff_signed_out(uow: UnitOfWork, event: Event) -> None:
        """Someone signed out on one service: their sessions of that sign-in end here too."""
        store.revoke_family(uow.session, tables, event.data["family"], datetime.now(timezone.utc))

    return {"staff.changed": staff_changed, "staff.token_changed": staff_token_changed,
            "staff.signed_out": staff_signed_out}
