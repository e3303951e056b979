"""What notify's views (api/ and pages/) share: the app's database and the web app's Sender.
Views only: operations take these as arguments."""
from __future__ import annotations

from flask import current_app

from .ops.deliveries import Sender
from shared.web import current_db


_db = current_db  # the service's Database, wired by app.create_app


def web_sender() -> Sender:
    """The web app's own Sender (a resend is sent at once, from the request), made by the
    factory app.create_app wired, on first use."""
    prize = current_app.extensions["prize"]
    if "sender" not in prize:
        prize["sender"] = prize["make_sender"]()
    return prize["sender"]
