"""review: screening, juries and decisions. Wires the web app and the worker."""
from __future__ import annotations

from shared.config import Settings, load_settings
from shared.db import Database
from shared.inbox import bind
from shared.staff.web import StaffWeb
from shared.web import create_service_app
from shared.worker import PeriodicJob, ServiceWorker

from . import accounts, api, jobs, pages
from .handlers import HANDLERS
from .models import inbox, outbox, staff_tables
from .ops import jurors

SERVICE = "review"


def create_app(test_config: dict | None = None, settings: Settings | None = None):
    settings = settings or load_settings()
    db = Database(settings.database_url(SERVICE), SERVICE)
    limits = {"SIGNIN_LIMIT_PER_ADDRESS": settings.signin_limit_per_address,
              "SIGNIN_LIMIT_PER_CLIENT": settings.signin_limit_per_client}
    app = create_service_app(SERVICE, settings, db, title="Seoul Smart City Prize: review",
                             blueprints=accounts.blueprints + api.blueprints,
                             test_config={**limits, **(test_config or {})})
    for blueprint in accounts.page_blueprints + pages.blueprints:  # server-rendered pages
        app.register_blueprint(blueprint)
    jurors.invitation_link = accounts.invitation_link  # an invitation carries a sign-in link
    pages.page_language.init_app(app)  # the jury pages in the juror's language (shared.i18n)
    accounts.init_app(app)  # jurors' sessions and bearer tokens become Principal("juror", id)
    # staff: sessions handed over from intake's staff sign-in, personal API tokens
    StaffWeb(SERVICE, staff_tables, refuse=pages.staff_refusal).init_app(app)
    return app


def create_worker(settings: Settings | None = None) -> ServiceWorker:
    settings = settings or load_settings()
    db = Database(settings.database_url(SERVICE), SERVICE)
    # reminders to jurors with reviews pending before a round's due date (safe with two workers)
    remind = PeriodicJob("review-reminders", jobs.CHECK_EVERY_SECONDS,
                         lambda: jobs.send_reminders(db, settings.review_public_url))
    # screening emails held for the undo window, published once it has passed (safe with two workers)
    screenings = PeriodicJob("review-screening-emails", jobs.SCREENING_EVERY_SECONDS,
                             lambda: jobs.publish_screenings(db))
    return ServiceWorker(SERVICE, settings, db, outbox, inbox, bind(HANDLERS), jobs=[remind, screenings])
