"""What intake's API views share: the blueprints two audiences add routes to, and who the caller is."""
from __future__ import annotations

from flask import g
from flask_smorest import Blueprint

applicants = Blueprint("applicants", __name__, url_prefix="/api/applicants", description="Applicant accounts")
ceremonies = Blueprint("ceremony", __name__, url_prefix="/api",
                       description="The award ceremony: invitations, answers (RSVP), guest list")


def owner() -> str | None:
    """The applicant whose things the caller may see: the caller, if an applicant; None (all) for
    the secretariat."""
    return g.principal.subject if g.principal.role == "applicant" else None
