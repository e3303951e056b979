"""review: screening, juries and decisions. Wires the web app and the worker."""
from __future__ import annotations

from shared.config import Settings, load_settings
from shared.db import Database
from shared.web import create_service_app
from shared.worker import ServiceWorker

from . import api, api_jury, api_secretariat, pages
from .handlers import HANDLERS
from .models import inbox, outbox

SERVICE = "review"


def create_app(test_config: dict | None = None, settings: Settings | None = None):
    settings = settings or load_settings()
    db = Database(settings.database_url(SERVICE), SERVICE)
    app = create_service_app(SERVICE, settings, db, title="Seoul Smart City Prize: review",
                             blueprints=api.blueprints + api_secretariat.blueprints + api_jury.blueprints,
                             test_config=test_config)
    for blueprint in pages.blueprints:  # server-rendered pages (jurors, secretariat)
        app.register_blueprint(blueprint)
    return app


def create_worker(settings: Settings | None = None) -> ServiceWorker:
    settings = settings or load_settings()
    db = Database(settings.database_url(SERVICE), SERVICE)
    return ServiceWorker(SERVICE, settings, db, outbox, inbox, HANDLERS)
