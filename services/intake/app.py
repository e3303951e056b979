"""intake: the applicant portal and the calls. Wires the web app and the worker."""
from __future__ import annotations

from shared.config import Settings, load_settings
from shared.db import Database
from shared.inbox import bind
from shared.web import create_service_app
from shared.worker import PeriodicJob, ServiceWorker

from . import accounts, api, ceremony, ceremony_api, documents, pages, reminders
from .handlers import HANDLERS, inviter
from .models import inbox, outbox

SERVICE = "intake"


def create_app(test_config: dict | None = None, settings: Settings | None = None):
    settings = settings or load_settings()
    db = Database(settings.database_url(SERVICE), SERVICE)
    # Sign-in link limits per 15 minutes; a city hall behind one address may need more.
    limits = {"SIGNIN_LIMIT_PER_ADDRESS": settings.signin_limit_per_address,
              "SIGNIN_LIMIT_PER_CLIENT": settings.signin_limit_per_client}
    app = create_service_app(SERVICE, settings, db, title="Seoul Smart City Prize: intake",
                              blueprints=accounts.blueprints + api.blueprints + documents.blueprints + ceremony_api.blueprints,
                              test_config={**limits, **(test_config or {})})
    for blueprint in pages.blueprints:
        app.register_blueprint(blueprint)
    pages.secure_pages(app, pages.blueprints)
    accounts.init_app(app)
    return app


def create_worker(settings: Settings | None = None) -> ServiceWorker:
    settings = settings or load_settings()
    db = Database(settings.database_url(SERVICE), SERVICE)
    # reminders to applicants whose application is still a draft before the call closes (safe
    # with two workers)
    remind = PeriodicJob("draft-reminders", reminders.CHECK_EVERY_SECONDS,
                         lambda: reminders.run(db, settings.public_url))
    # invited applicants who have not answered: the day before the RSVP date and once it passed
    rsvp = PeriodicJob("rsvp-reminders", ceremony.CHECK_EVERY_SECONDS,
                       lambda: ceremony.run_reminders(db, settings.public_url))
    # whoever is due a ceremony invitation and has none (a safety net: releases and the
    # ceremony's PUT invite at once)
    invite = PeriodicJob("ceremony-invitations", ceremony.INVITE_SWEEP_SECONDS,
                         lambda: ceremony.sweep_invitations(db, settings.public_url))
    handlers = bind(HANDLERS, invite=inviter(settings.public_url))
    return ServiceWorker(SERVICE, settings, db, outbox, inbox, handlers,
                         jobs=[remind, rsvp, invite])
