"""Applicant accounts: registration (and, with the portal, passwordless sign-in and sessions)."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shared.auth import issue_token
from shared.events import make_event
from shared.outbox import record

from . import domain
from .models import Applicant, outbox
from .schemas import ApplicantCreate, ApplicantRegistered

applicants = Blueprint("applicants", __name__, url_prefix="/api/applicants", description="Applicant accounts")

PRODUCER = "intake"


def _db():
    return current_app.extensions["prize"]["db"]


def _now() -> datetime:
    return datetime.now(timezone.utc)


@applicants.route("")
class ApplicantsView(MethodView):
    @applicants.arguments(ApplicantCreate)
    @applicants.response(201, ApplicantRegistered)
    def post(self, data):
        """Register an applicant (city government, institution, corporation or individual)."""
        applicant = Applicant(id=str(uuid.uuid4()), created_at=_now(), **data)
        applicant.contact_email = applicant.contact_email.lower()
        try:
            with _db().session() as s, s.begin():
                if s.scalar(select(Applicant.id).where(Applicant.contact_email == applicant.contact_email)):
                    abort(409, message="an applicant with this contact email is already registered")
                s.add(applicant)
                s.flush()
                record(s, outbox, make_event("applicant.registered", {
                    **domain.applicant_snapshot(applicant), "registered_at": applicant.created_at,
                }, producer=PRODUCER, correlation_id=applicant.id))
        except IntegrityError:
            abort(409, message="an applicant with this contact email is already registered")
        token = issue_token(current_app.config["SECRET_KEY"], "applicant", applicant.id)
        return {"applicant": applicant, "token": token}




def init_app(app) -> None:
    """Hook sign-in and sessions into the app (being built)."""


blueprints = [applicants]
page_blueprints: list = []
