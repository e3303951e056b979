"""What review's views (api/, pages/) read from the running app: its database and the document store."""
from __future__ import annotations

from flask import current_app

from shared.storage import open_storage
from shared.web import current_db


db = current_db  # the service's Database, wired by app.create_app


def settings():
    return current_app.extensions["prize"]["settings"]


def storage():
    """Documents are read where intake checked them; on the embedded file store intake's web app
    serves the signed download links (/storage/download), so they point at intake's address."""
    ext = current_app.extensions["prize"]
    if "jury_storage" not in ext:
        ext["jury_storage"] = open_storage(ext["settings"].storage_url, ext["settings"].secret_key,
                                           ext["settings"].public_url)
    return ext["jury_storage"]
