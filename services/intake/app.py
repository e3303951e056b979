"""intake: the applicant portal and the calls. Wires the web app and the worker."""
from __future__ import annotations

from shared.config import Settings, load_settings
from shared.db import Database
from shared.web import create_service_app
from shared.worker import ServiceWorker

from . import accounts, api, documents, portal
from .handlers import HANDLERS
from .models import inbox, outbox

SERVICE = "intake"


def create_app(test_config: dict | None = None, settings: Settings | None = None):
    settings = settings or load_settings()
    db = Database(settings.database_url(SERVICE), SERVICE)
    app = create_service_app(SERVICE, settings, db, title="Seoul Smart City Prize: intake",
                              blueprints=accounts.blueprints + api.blueprints + documents.blueprints,
                              test_config=test_config)
    for blueprint in accounts.page_blueprints + portal.blueprints:  # server-rendered pages
        app.register_blueprint(blueprint)
    accounts.init_app(app)
    return app


def create_worker(settings: Settings | None = None) -> ServiceWorker:
    settings = settings or load_settings()
    db = Database(settings.database_url(SERVICE), SERVICE)
    return ServiceWorker(SERVICE, settings, db, outbox, inbox, HANDLERS)
