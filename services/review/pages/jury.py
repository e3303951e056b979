"""The jurors' desk (server-rendered): assignments, scoring, documents, declaring a conflict."""
from __future__ import annotations

from flask import current_app, flash, jsonify, redirect, request, url_for
from flask_babel import format_time

from shared.auth import Principal
from shared.i18n import _

from ..current import db as _db, storage as _storage
from ..models import Juror
from ..ops import desk, desk_queries, juror_admin
from ..ops.common import Refused
from .common import (CATEGORY_NAMES, ROUND_NAMES, _check_csrf, _juror_signin_url, _not_found, _now, _page, _principal,
                     _require, jury_pages)
from .jury_text import field_errors as _said_errors, refusal_text

# --- jurors -----------------------------------------------------------------------------------

def _refused(exc: desk.Refusal):
    """The desk's refusal as this blueprint's page: the uniform not-found page, else the message."""
    if exc.status == 404:
        return _not_found()
    return _page("review/message.html", exc.status, title=_("Not possible"), message=refusal_text(exc))


# One mapping for the desk's refusals; the scoring form and the conflict form catch them
# themselves, to show the juror's input again with the error beside it.
jury_pages.register_error_handler(desk.Refusal, _refused)


def _juror(s, principal: Principal) -> dict:
    return desk_queries.who(s, principal.subject)


@jury_pages.get("")
def home(status: int = 200, reason: str = "", error: str = ""):
    """My invitation (accept, or decline with a reason) and my assignments per round, with progress."""
    principal = _require("juror")
    with _db().session() as s:
        mine = desk_queries.my_assignments(s, principal.subject)
        juror = s.get(Juror, principal.subject)
        invitation = {"status": juror.invitation, "declined_reason": juror.declined_reason,
                      "answered_at": juror.answered_at}
    # The page a juror opens most: the link and the category's name of each row are made here
    # once (one url_for, not one per row), so the template only prints.
    link = url_for("review_jury_pages.application", application_id="APPLICATION").replace("APPLICATION", "{}")
    for rnd in mine["rounds"]:
        # due in UTC, its time without seconds (the day is the template's local_date)
        rnd["due_time"] = format_time(rnd["due_at"], "short") if rnd["due_at"] else ""
        for a in rnd["assignments"]:
            a["href"] = link.format(a["application_id"])
            a["category_name"] = CATEGORY_NAMES.get(a["category"], a["category"])
    return _page("review/jury_home.html", status, who=mine["juror"], rounds=mine["rounds"], kinds=ROUND_NAMES,
                 invitation=invitation, reason=reason, error=error)


@jury_pages.post("/invitation")
def invitation():
    """Accept the invitation, or decline it with a reason (open assignments go back)."""
    principal = _require("juror")
    _check_csrf()
    answer, reason = request.form.get("answer", ""), request.form.get("reason", "")
    with _db().session() as s:
        try:
            result = juror_admin.answer_invitation(s, principal.subject, answer, reason, _now())
            s.commit()
        except Refused as exc:
            s.rollback()
            if exc.status != 422:
                return _page("review/message.html", exc.status, title=_("Not possible"), message=refusal_text(exc))
            return home(422, reason, refusal_text(exc))
    if result["status"] == "accepted":
        flash(_("Thank you for accepting: your assignments appear here as the secretariat makes them."), "ok")
    else:
        flash(_("You declined; the secretariat has your reason. You may still accept below if you change your "
                "mind."), "ok")
    return redirect(url_for("review_jury_pages.home"), 303)


@jury_pages.get("/signin")
def signin_help():
    if (_principal() or Principal("", "")).role == "juror":
        return redirect(url_for("review_jury_pages.home"), 303)
    if _juror_signin_url() != request.path:
        return redirect(_juror_signin_url(), 303)  # the passwordless sign-in page
    return _page("review/jury_signin.html")



def _application_page(s, principal: Principal, application_id: str, *, typed: dict | None = None,
                      errors: dict | None = None, status: int = 200):
    """The application, the rubric beside each answer and the scoring form. ``typed`` (a refused
    save) shows what the juror sent instead of what is stored, with ``errors`` beside the fields."""
    view = desk_queries.open_application(s, principal.subject, application_id, request.path)
    assignments = view["assignments"]
    current = next((a for a in reversed(assignments) if not a["locked"]), assignments[-1] if assignments else None)
    peers = {}
    for a in assignments:  # desk says whether they may be shown (after one's own, never when the round says so)
        try:
            peers[a["id"]] = desk.peer_scores(s, principal.subject, a["id"], request.path)
        except desk.Refusal:
            pass
    shown = None
    if current is not None:
        shown = {"scores": {k: _field(v) for k, v in current["scores"].items()},
                 "comments": dict(current["comments"]), "revision": current["revision"]}
        if typed:
            shown = {"scores": {**shown["scores"], **typed["scores"]},
                     "comments": {**shown["comments"], **typed["comments"]}, "revision": typed["revision"]}
    return _page("review/application.html", status, who=_juror(s, principal), app=view, current=current,
                 shown=shown, errors=errors or {}, peers=peers, kinds=ROUND_NAMES,
                 category=CATEGORY_NAMES.get(view["category"], view["category"]))


def _field(value) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


@jury_pages.get("/applications/<application_id>")
def application(application_id):
    principal = _require("juror")
    with _db().session() as s:
        return _application_page(s, principal, application_id)


def _posted_scores(form) -> tuple[dict, dict, dict]:
    """(scores, comments, typed) from the form: an empty score clears it; a score that is not a
    number goes to desk as it is, which refuses it with a field error."""
    scores, comments = {}, {}
    for name, value in form.items():
        if name.startswith("score-"):
            text = value.strip().replace(",", ".")
            try:
                number = float(text) if text else None
            except ValueError:
                number = value.strip()
            scores[name[len("score-"):]] = number
        elif name.startswith("comment-"):
            comments[name[len("comment-"):]] = value
    typed = {"scores": {k: form.get("score-" + k, "") for k in scores}, "comments": comments,
             "revision": form.get("revision", "")}
    return scores, comments, typed


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@jury_pages.post("/applications/<application_id>/scores")
def save(application_id):
    """The scoring form: "Save" keeps a draft, "Submit" saves then submits. review.js posts the same
    form in the background (Accept: application/json) to autosave."""
    principal = _require("juror")
    _check_csrf()
    scores, comments, typed = _posted_scores(request.form)
    try:
        revision = int(request.form.get("revision", ""))
    except ValueError:
        revision = -1  # desk answers that the page is stale
    assignment_id = request.form.get("assignment_id", "")
    submitting, step = request.form.get("action") == "submit", "saved"
    with _db().session() as s:
        try:
            if desk_queries.assignment_state(s, principal.subject, assignment_id, request.path)["application_id"] \
                    != application_id:
                return _not_found()  # the form of one application saves that application only
            state = desk.save_scores(s, principal.subject, assignment_id, scores, comments, revision, path=request.path)
            typed["revision"], step = state["revision"], "submitted"
            if submitting:
                state = desk.submit_scores(s, principal.subject, assignment_id, state["revision"], path=request.path)
        except desk.Refusal as exc:
            if exc.status == 404:
                return _not_found()
            if _wants_json():
                body = {"message": refusal_text(exc), "errors": _field_errors(exc), **exc.extra}
                return jsonify(body), exc.status
            message = (_("Not saved: %(reason)s", reason=refusal_text(exc)) if step == "saved" else
                       _("Not submitted: %(reason)s", reason=refusal_text(exc)))
            if "revision" in exc.extra:  # saved elsewhere since: the juror chooses, nothing is lost
                typed["revision"] = exc.extra["revision"]
                message = " ".join((message, _("What you typed is shown below, not saved: press Save to keep it "
                                               "instead, or reload the page to see the stored scores.")))
            flash(message, "error")
            return _application_page(s, principal, application_id, typed=typed, errors=_field_errors(exc),
                                     status=exc.status)
    if _wants_json():
        return jsonify({key: state[key] for key in ("revision", "status", "criteria", "criteria_scored", "total")})
    if submitting:
        flash(_("Scores submitted. Thank you."), "ok")
        return redirect(url_for("review_jury_pages.home"), 303)
    flash(_("Scores saved."), "ok")
    return redirect(url_for("review_jury_pages.application", application_id=application_id), 303)


def _field_errors(exc) -> dict:
    """desk's field errors as {"scores": {key: [..]}, "comments": {...}, ...}, in the juror's language."""
    errors = exc.errors or {}
    return _said_errors(errors.get("json", errors)) if isinstance(errors, dict) else {}


@jury_pages.get("/applications/<application_id>/documents/<document_id>")
def document(application_id, document_id):
    principal = _require("juror")
    with _db().session() as s:
        url = desk_queries.document_link(s, principal.subject, application_id, document_id, request.path, _storage())
    response = redirect(url, 303)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@jury_pages.route("/applications/<application_id>/conflict", methods=["GET", "POST"])
def conflict(application_id):
    principal = _require("juror")
    reason, error = "", ""
    with _db().session() as s:
        view = desk_queries.open_application(s, principal.subject, application_id, request.path)
        if request.method == "POST":
            _check_csrf()
            reason = request.form.get("reason", "")
            settings = current_app.extensions["prize"]["settings"]
            try:
                desk.declare_conflict(s, principal.subject, application_id, reason, path=request.path,
                                      review_url=settings.review_public_url)
            except desk.Refusal as exc:
                if exc.status == 404:
                    return _not_found()
                error = refusal_text(exc)
            else:
                flash(_("Conflict of interest declared: %(reference)s is no longer among your assignments and the "
                        "secretariat will find another juror.", reference=view["reference"]), "ok")
                return redirect(url_for("review_jury_pages.home"), 303)
        return _page("review/conflict.html", 422 if error else 200, who=_juror(s, principal), app=view,
                     reason=reason, error=error)


