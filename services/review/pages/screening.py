"""The secretariat's screening (server-rendered): the list of applications by screening state,
one application as submitted beside the decision form, the preview of the email the decision
will cause (notify's page in an iframe, shared.email_preview), the confirmation, and the undo
while the email is held (ops/screening.py holds it for PRIZE_SCREENING_UNDO_SECONDS).

Every step reads or changes through ops/screening.py; a refusal is shown on the application's
page with what was typed kept.
"""
from __future__ import annotations

import math
from datetime import timedelta

from flask import current_app, flash, redirect, request, url_for

from shared.email_preview import Preview, preview_url

from ..current import db as _db, storage as _storage
from ..ops import screening
from ..ops.common import Refused
from .common import CATEGORY_NAMES, _check_csrf, _not_found, _now, _page, _require, _sentence, secretariat_pages
from .secretariat import STAGE_NAMES, _actor

STATE_NAMES = {"awaiting": "Awaiting screening", "pending": "Decided, email pending", "eligible": "Eligible",
               "ineligible": "Not eligible", "all": "All"}
LANGUAGES = {"en": "English", "ko": "Korean", "es": "Spanish", "fr": "French", "pt": "Portuguese", "zh": "Chinese",
             "ja": "Japanese", "th": "Thai", "tr": "Turkish", "ru": "Russian", "ar": "Arabic", "pl": "Polish",
             "hu": "Hungarian", "de": "German", "id": "Indonesian", "vi": "Vietnamese"}
PER_PAGE = 50


def _settings():
    return current_app.extensions["prize"]["settings"]


def _window() -> int:
    return _settings().screening_undo_seconds


def _frame(**context) -> dict:
    return {"area": "Secretariat", "home_url": url_for("review_secretariat_pages.dashboard"),
            "stage_names": STAGE_NAMES, "category_names": CATEGORY_NAMES, "state_names": STATE_NAMES, **context}


@secretariat_pages.get("/screening")
def screening_list():
    """Applications by screening state, searchable by reference or title; each row opens its page."""
    principal = _require("secretariat")
    state = request.args.get("state", "awaiting")
    state = state if state in screening.STATES else "awaiting"
    search = request.args.get("q", "")[:200]
    try:
        page = max(int(request.args.get("page", "1")), 1)
    except ValueError:
        page = 1
    call_id = request.args.get("call") or None
    with _db().session() as s:
        found = screening.screening_page(s, state, search, call_id, PER_PAGE, (page - 1) * PER_PAGE)
        s.rollback()
    return _page("review/screening_list.html", **_frame(
        who={"name": principal.who}, rows=found["items"], total=found["total"], state=state, search=search,
        call=call_id, page=page, pages=max(math.ceil(found["total"] / PER_PAGE), 1)))


def _application(application_id: str, status: int = 200, *, typed: dict | None = None, errors: dict | None = None):
    """The application's page: as submitted, its screening history, the decision form (``typed``
    and ``errors``: a refused preview, shown again)."""
    principal = _require("secretariat")
    with _db().session() as s:
        try:
            view = screening.application_view(s, application_id)
        except Refused:
            return _not_found()
        s.rollback()
    if typed is None:
        typed = {"eligible": "", "reason": ""}
    return _page("review/screening.html", status, **_frame(
        who={"name": principal.who}, app=view, typed=typed, errors=errors or {}, window=_window(), when=_when(_window()),
        language=LANGUAGES.get(view["language"], view["language"])))


@secretariat_pages.get("/applications/<application_id>")
def screening_application(application_id):
    return _application(application_id)


@secretariat_pages.get("/applications/<application_id>/documents/<document_id>")
def screening_document(application_id, document_id):
    _require("secretariat")
    with _db().session() as s:
        try:
            url = screening.document_link(s, application_id, document_id, _storage())
        except Refused:
            return _not_found()
        s.rollback()
    response = redirect(url, 303)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _choice() -> tuple[bool | None, str, dict]:
    choice = request.form.get("eligible", "")
    eligible = {"yes": True, "no": False}.get(choice)
    return eligible, request.form.get("reason", ""), {"eligible": choice, "reason": request.form.get("reason", "")}


def _when(seconds: int) -> str:
    if seconds <= 0:
        return "at once"
    if seconds < 90:
        return f"in about {seconds} seconds"
    return f"in about {math.ceil(seconds / 60)} minutes"


@secretariat_pages.post("/applications/<application_id>/screen")
def screen(application_id):
    """Step 2: the email the decision will cause, as notify will send it, and what will happen."""
    principal = _require("secretariat")
    _check_csrf()
    eligible, reason, typed = _choice()
    if eligible is None:
        return _application(application_id, 422, typed=typed, errors={"eligible": ["Choose eligible or not eligible."]})
    with _db().session() as s:
        try:
            shown = screening.preview(s, application_id, eligible, reason)
        except Refused as exc:
            s.rollback()
            if exc.status == 404:
                return _not_found()
            if exc.errors:
                return _application(application_id, exc.status, typed=typed, errors=exc.errors)
            flash(_sentence(exc.message), "error")
            return _application(application_id, exc.status, typed=typed)
        s.rollback()
    window = _window()
    iframe = preview_url(_settings(), Preview("eligibility_result", shown["id"],
                                              {"eligible": eligible, "reason": shown["reason"]}))
    return _page("review/screening_preview.html", frames_notify=True, **_frame(
        who={"name": principal.who}, app=shown, eligible=eligible, reason=shown["reason"], iframe=iframe,
        window=window, when=_when(window), language=LANGUAGES.get(shown["language"], shown["language"]),
        send_at=_now() + timedelta(seconds=window)))


@secretariat_pages.post("/applications/<application_id>/screen/confirm")
def confirm(application_id):
    """Step 3: the decision, recorded with its email held for the undo window."""
    principal = _require("secretariat")
    _check_csrf()
    eligible, reason, typed = _choice()
    seen = request.form.get("fingerprint", "")
    if eligible is None or not seen:
        return _application(application_id, 422, typed=typed,
                            errors={"eligible": ["Preview the email first, then confirm."]})
    with _db().session() as s:
        try:
            done = screening.decide(s, application_id, eligible, reason, _actor(principal), _now(),
                                    hold=_window(), fingerprint_seen=seen)
            s.commit()
        except Refused as exc:
            s.rollback()
            if exc.status == 404:
                return _not_found()
            flash(_sentence(exc.message), "error")
            return _application(application_id, exc.status, typed=typed, errors=exc.errors)
        app, decision = done["application"], done["decision"]
        label = STAGE_NAMES.get(app.stage, app.stage).lower()
        if decision is None and done.get("undone") is not None:
            message = f"The decision waiting to be sent is undone: {app.reference} is {label} again; nothing is sent."
        elif decision is None:
            message = f"{app.reference} is {label}: nothing changed, nothing is sent."
        elif done["replayed"]:
            message = f"Already recorded: {app.reference} is {label}."
        elif decision.published_at is not None:
            message = f"Recorded: {app.reference} is {label}. The email is on its way."
        else:
            message = (f"Recorded: {app.reference} is {label}. The email goes at "
                       f"{decision.send_after.strftime('%H:%M')} UTC unless you undo it.")
    flash(message, "ok")
    return redirect(url_for("review_secretariat_pages.screening_application", application_id=application_id), 303)


@secretariat_pages.post("/applications/<application_id>/screening/<decision_id>/undo")
def undo(application_id, decision_id):
    principal = _require("secretariat")
    _check_csrf()
    with _db().session() as s:
        try:
            done = screening.undo(s, decision_id, _actor(principal), _now(), application_id=application_id)
            s.commit()
        except Refused as exc:
            s.rollback()
            if exc.status == 404:
                return _not_found()
            flash(_sentence(exc.message), "error")
            return _application(application_id, exc.status)
        app = done["application"]
        message = (f"Undone: {app.reference} is {STAGE_NAMES.get(app.stage, app.stage).lower()} again; "
                   "no email is sent.")
    flash(message, "ok")
    return redirect(url_for("review_secretariat_pages.screening_application", application_id=application_id), 303)
