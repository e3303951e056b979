"""intake: the applicant portal and the calls. Wires the web app and the worker."""
from __future__ import annotations

from shared.config import Settings, load_settings
from shared.db import Database
from shared.inbox import bind
from shared.staff.web import StaffWeb
from shared.storage import open_storage
from shared.web import create_service_app
from shared.worker import ServiceWorker

from . import accounts, api, jobs, pages
from .handlers import HANDLERS, inviter
from .models import inbox, outbox, staff_tables

SERVICE = "intake"


def create_app(test_config: dict | None = None, settings: Settings | None = None):
    settings = settings or load_settings()
    db = Database(settings.database_url(SERVICE), SERVICE)
    # Sign-in link limits per 15 minutes; a city hall behind one address may need more.
    limits = {"SIGNIN_LIMIT_PER_ADDRESS": settings.signin_limit_per_address,
              "SIGNIN_LIMIT_PER_CLIENT": settings.signin_limit_per_client}
    app = create_service_app(SERVICE, settings, db, title="Seoul Smart City Prize: intake",
                              blueprints=api.blueprints, test_config={**limits, **(test_config or {})})
    for blueprint in pages.blueprints:
        app.register_blueprint(blueprint)
    pages.secure_pages(app, pages.blueprints)
    accounts.init_app(app)
    pages.page_language.init_app(app)  # the portal in the applicant's language (shared.i18n)
    # staff: sessions, the hand-off to review's and notify's pages, personal API tokens
    StaffWeb(SERVICE, staff_tables, refuse=pages.staff_refusal).init_app(app)
    app.extensions["prize"]["staff_signed_out"] = pages.signed_out_here
    return app


def create_worker(settings: Settings | None = None) -> ServiceWorker:
    settings = settings or load_settings()
    db = Database(settings.database_url(SERVICE), SERVICE)
    # the store of the documents, where the worker also keeps the PDF of each submission
    storage = open_storage(settings.storage_url, settings.secret_key, settings.public_url)
    return ServiceWorker(SERVICE, settings, db, outbox, inbox, bind(HANDLERS, invite=inviter(settings.public_url)),
                         jobs=jobs.periodic_jobs(db, settings.public_url, storage, settings.travel_data_days))
