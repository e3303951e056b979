"""intake: the applicant portal and the calls. Wires the web app and the worker."""
from __future__ import annotations

from shared.config import Settings, load_settings
from shared.db import Database
from shared.web import create_service_app
from shared.worker import ServiceWorker

from . import accounts, api
from .handlers import HANDLERS
from .models import inbox, outbox

SERVICE = "intake"


def create_app(test_config: dict | None = None, settings: Settings | None = None):
    settings = settings or load_settings()
    db = Database(settings.database_url(SERVICE), SERVICE)
    return create_service_app(SERVICE, settings, db, title="Seoul Smart City Prize: intake",
                              blueprints=accounts.blueprints + api.blueprints,
                              test_config=test_config)


def create_worker(settings: Settings | None = None) -> ServiceWorker:
    settings = settings or load_settings()
    db = Database(settings.database_url(SERVICE), SERVICE)
    return ServiceWorker(SERVICE, settings, db, outbox, inbox, HANDLERS)
