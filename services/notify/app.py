"""notify: every email a person must get. Wires the web app and the worker: the one place that
builds the database, the mailer and the Sender and hands them to views, handlers and jobs."""
from __future__ import annotations

import functools
from datetime import timedelta

from shared.config import Settings, load_settings
from shared.db import Database
from shared.inbox import bind
from shared.staff.web import StaffWeb
from shared.web import create_service_app
from shared.worker import PeriodicJob, ServiceWorker

from . import jobs, pages
from .api import blueprints
from .api.sns import SnsContentType
from .handlers import HANDLERS
from .mail import mailer_from_url
from .metrics import EmailsByStatus
from .models import inbox, outbox, staff_tables
from .ops.deliveries import Sender
from .ops.optout import Unsubscribe

SERVICE = "notify"


def make_sender(settings: Settings, db: Database) -> Sender:
    return Sender(db, mailer_from_url(settings.mail_url), settings.mail_from,
                  retry_for=timedelta(hours=settings.mail_retry_hours), unsubscribe=Unsubscribe.of(settings))


def create_app(test_config: dict | None = None, settings: Settings | None = None):
    settings = settings or load_settings()
    db = Database(settings.database_url(SERVICE), SERVICE)
    app = create_service_app(SERVICE, settings, db, title="Seoul Smart City Prize: notify",
                             blueprints=blueprints, test_config=test_config)
    for blueprint in pages.blueprints:  # `/`, the secretariat's outbox and templates pages
        app.register_blueprint(blueprint)
    # staff: sessions handed over from intake's staff sign-in, personal API tokens
    StaffWeb(SERVICE, staff_tables, refuse=pages.staff_refusal, home="/secretariat/outbox").init_app(app)
    app.extensions["prize"]["emails_metrics"] = emails = EmailsByStatus()
    app.extensions["prize"]["state_metrics"].add_probe(emails)  # prize_emails{status} on /metrics
    app.wsgi_app = SnsContentType(app.wsgi_app)  # SNS posts its JSON as text/plain
    # the web app's own Sender (a resend is sent at once, from the request), made on first use
    app.extensions["prize"]["make_sender"] = functools.partial(make_sender, settings, db)
    return app


def create_worker(settings: Settings | None = None) -> ServiceWorker:
    settings = settings or load_settings()
    db = Database(settings.database_url(SERVICE), SERVICE)
    sender = make_sender(settings, db)
    return ServiceWorker(SERVICE, settings, db, outbox, inbox, bind(HANDLERS, sender=sender),
                         jobs=[PeriodicJob("retry-deliveries", jobs.RETRY_EVERY_SECONDS,
                                           functools.partial(jobs.retry_deliveries, sender))])
