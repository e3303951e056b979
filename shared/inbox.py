"""Inbox: a consumed event's id is recorded in the same transaction as its effect.

``InboxDispatcher`` runs the handler registered for an event type inside one unit of work;
a redelivered event finds its id already recorded and has no second effect.
"""
from __future__ import annotations

import functools
import inspect
import logging
from datetime import datetime, timezone
from typing import Any, Callable

from sqlalchemy import Column, MetaData, String, Table, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import tracing
from .db import Database, UTCDateTime
from .events import Event
from .logs import correlation
from .outbox import record

log = logging.getLogger("prize.inbox")


def define_inbox(metadata: MetaData) -> Table:
    return Table(
        "inbox", metadata,
        Column("event_id", String(36), primary_key=True),
        Column("type", String(100), nullable=False),
        Column("handled_at", UTCDateTime, nullable=False),
    )


class UnitOfWork:
    """What a handler gets: the session of the transaction and a way to emit events."""

    def __init__(self, session: Session, outbox: Table, producer: str, correlation_id: str | None):
        self.session = session
        self.outbox = outbox
        self.producer = producer
        self.correlation_id = correlation_id
        self._after_commit: list[Callable[[], None]] = []

    def emit(self, event: Event) -> None:
        record(self.session, self.outbox, event)

    def after_commit(self, fn: Callable[[], None]) -> None:
        self._after_commit.append(fn)


Handler = Callable[[UnitOfWork, Event], None]


def bind(handlers: dict[str, Callable[..., None]], **dependencies: Any) -> dict[str, Handler]:
    """A service's ``HANDLERS`` as the dispatcher calls them, ``(uow, event)``: each handler is
    given, by name, the keyword-only dependencies it declares (``def h(uow, event, *, sender)``).

    The one wiring point of a service's handlers (its app.py, and the tests that stand in for
    it). Refused at wiring time, not at the first event: a dependency a handler declares that is
    not given, and one given that no handler declares (a misspelt name).
    """
    bound: dict[str, Handler] = {}
    wanted_by_any: set[str] = set()
    for type_, handler in handlers.items():
        wanted = [p.name for p in inspect.signature(handler).parameters.values()
                  if p.kind is p.KEYWORD_ONLY]
        missing = [name for name in wanted if name not in dependencies]
        if missing:
            raise TypeError(f"the handler of {type_} needs {', '.join(missing)}: not given")
        wanted_by_any.update(wanted)
        bound[type_] = (functools.partial(handler, **{name: dependencies[name] for name in wanted})
                        if wanted else handler)
    unused = sorted(set(dependencies) - wanted_by_any)
    if unused:
        raise TypeError(f"no handler takes {', '.join(unused)}")
    return bound


class InboxDispatcher:
    def __init__(self, db: Database, inbox: Table, outbox: Table, service: str,
                 handlers: dict[str, Handler]):
        self.db = db
        self.inbox = inbox
        self.outbox = outbox
        self.service = service
        self.handlers = handlers
        self.duplicates = 0
        # what each process span says of the broker and the queue (set by the worker)
        self.span_attributes: dict = {}
        self._record_once_by_dialect: dict = {}

    def __call__(self, event: Event) -> None:
        handler = self.handlers.get(event.type)
        if handler is None:
            log.info("no handler for %s here; ignored", event.type)
            return
        spans = tracing.Processing(self.service, self.span_attributes)
        try:
            with spans.handling(event):
                self._handle(handler, event)
        finally:
            spans.end()

    def _handle(self, handler: Handler, event: Event) -> None:
        uow = None
        try:
            with self.db.session() as session, session.begin():
                # one statement records the event, or finds it recorded already
                if session.execute(self._record_once(session), {"event_id": str(event.id), "type": event.type,
                                   "handled_at": datetime.now(timezone.utc)}).first() is None:
                    self.duplicates += 1
                    tracing.note(**{"prize.inbox.duplicate": True})
                    log.info("event %s already handled; no second effect", event.id)
                    return
                uow = UnitOfWork(session, self.outbox, self.service, event.correlation_id)
                handler(uow, event)
        except IntegrityError:
            # Another consumer committed the same event id first.
            with self.db.engine.connect() as conn:
                if conn.execute(select(self.inbox.c.event_id)
                                .where(self.inbox.c.event_id == str(event.id))).first():
                    self.duplicates += 1
                    return
            raise
        log.info("handled %s %s", event.type, event.id)
        self._run_after_commit(uow._after_commit)

    def _record_once(self, session: Session):
        """INSERT ... ON CONFLICT DO NOTHING RETURNING: a row back if the event is new here."""
        dialect = session.get_bind().dialect.name
        statement = self._record_once_by_dialect.get(dialect)
        if statement is None:
            from sqlalchemy.dialects import postgresql, sqlite
            make = postgresql.insert if dialect == "postgresql" else sqlite.insert
            statement = (make(self.inbox).on_conflict_do_nothing(index_elements=[self.inbox.c.event_id])
                         .returning(self.inbox.c.event_id))
            self._record_once_by_dialect[dialect] = statement
        return statement

    def many(self, events: list[Event]) -> None:
        """Handle a batch in one transaction: one commit instead of one per event.

        All or nothing: if any handler raises, nothing of the batch is kept and the error
        propagates, so the caller can retry the events one by one to isolate the bad one.
        """
        spans = tracing.Processing(self.service, self.span_attributes)  # one per event
        try:
            fresh, hooks = self._many(events, spans)
        except Exception as exc:
            spans.fail(exc)
            spans.end()
            raise
        # One line per event while traffic is light; under a burst, one line per batch (the
        # per-event lines cost about a tenth of the consumer's CPU) and the detail at DEBUG.
        per_event = log.info if len(fresh) <= 5 else log.debug
        for event in fresh:
            with correlation(event.correlation_id):
                per_event("handled %s %s", event.type, event.id)
        if len(fresh) > 5:
            log.info("handled a batch of %d events (%d already handled before)",
                     len(fresh), len(events) - len(fresh))
        for event, fn in hooks:
            with correlation(event.correlation_id), spans.resume(event):
                self._run_after_commit([fn])
        spans.end()

    def _many(self, events: list[Event], spans: tracing.Processing) -> tuple[list[Event], list]:
        """The batch's transaction: returns the events handled and their after-commit steps."""
        hooks: list = []
        ids = [str(e.id) for e in events]
        with self.db.session() as session, session.begin():
            seen = set(session.scalars(select(self.inbox.c.event_id)
                                       .where(self.inbox.c.event_id.in_(ids))))
            fresh = []
            for event in events:
                if str(event.id) in seen or self.handlers.get(event.type) is None:
                    self.duplicates += str(event.id) in seen
                    continue
                seen.add(str(event.id))  # the same event twice in one batch
                fresh.append(event)
            if fresh:
                now = datetime.now(timezone.utc)
                session.execute(insert(self.inbox), [
                    {"event_id": str(e.id), "type": e.type, "handled_at": now} for e in fresh])
            for event in fresh:
                with correlation(event.correlation_id), spans.handling(event):
                    uow = UnitOfWork(session, self.outbox, self.service, event.correlation_id)
                    self.handlers[event.type](uow, event)
                    hooks.extend((event, fn) for fn in uow._after_commit)
        return fresh, hooks

    @staticmethod
    def _run_after_commit(hooks) -> None:
        for fn in hooks:
            try:
                fn()
            except Exception:
                log.exception("after-commit step failed; the sweep will retry it")
