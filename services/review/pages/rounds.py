"""The secretariat's look before each irreversible click: the proposed assignment before it is
saved, the cut and its ties before the round closes, every email before the results are released.

Each preview page (GET, any staff role may read it) calls one operation of ops/previews.py and
carries the preview's fingerprint in its form; the confirmation (POST, roles that may change
things) runs only while the fingerprint still matches (409 with the new preview otherwise) and
only once (a second click of the same form changes nothing and says so).
"""
from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for

from shared.email_preview import Preview, preview_url

from ..current import db as _db
from ..ops import previews
from ..ops.common import Refused
from .common import (CATEGORY_NAMES, ROUND_NAMES, _check_csrf, _now, _page, _require, _sentence,
                     secretariat_pages)

TEMPLATE_NAMES = {"finalist_notice": "Finalist notice", "not_advanced": "Not advanced",
                  "award_winner": "Award (winner or special mention)", "not_awarded": "Not awarded"}
LANGUAGE_NAMES = {"en": "English", "ko": "Korean", "es": "Spanish", "fr": "French", "zh": "Chinese",
                  "ar": "Arabic", "ru": "Russian", "pt": "Portuguese", "tr": "Turkish"}


def _actor(principal) -> str:
    return f"secretariat:{principal.who}"


def _context(**extra) -> dict:
    return {"area": "Secretariat", "home_url": url_for("review_secretariat_pages.dashboard"),
            "round_names": ROUND_NAMES, "category_names": CATEGORY_NAMES, "template_names": TEMPLATE_NAMES,
            "language_names": LANGUAGE_NAMES, **extra}


def _refused(exc: Refused):
    return _page("review/message.html", exc.status, title="Not possible now", message=_sentence(exc.message),
                 **_context())


def _preview(operation, *args):
    """One preview operation in a session that is rolled back: a preview writes nothing."""
    with _db().session() as s:
        try:
            return operation(s, *args)
        finally:
            s.rollback()


def _dashboard_url(call_id: str | None, anchor: str = "") -> str:
    return url_for("review_secretariat_pages.dashboard", call=call_id or None) + anchor


def _confirm(operation):
    """Run a confirmation in one transaction: its result, or the refusal (rolled back)."""
    with _db().session() as s:
        try:
            result = operation(s)
            s.commit()
            return result, None
        except Refused as exc:
            s.rollback()
            return None, exc


# -- assignment ---------------------------------------------------------------------------------

def _show_assignment(round_id: str, status: int = 200, error: str = ""):
    try:
        preview = _preview(previews.assignment_preview, round_id)
    except Refused as exc:
        return _refused(exc)
    return _page("review/round_assign.html", status, preview=preview, error=error, **_context(
        name=ROUND_NAMES.get(preview["kind"], preview["kind"])))


@secretariat_pages.get("/rounds/<round_id>/assign")
def assign_preview(round_id):
    _require("secretariat")
    return _show_assignment(round_id)


@secretariat_pages.post("/rounds/<round_id>/assign")
def assign(round_id):
    """Save the assignment that was previewed (its fingerprint), once."""
    principal = _require("secretariat")
    _check_csrf()
    given = request.form.get("fingerprint", "").strip()
    if not given:
        return _show_assignment(round_id, 422, "Look at the proposed assignment first, then save it here.")
    jury_url = current_app.extensions["prize"]["settings"].review_public_url + "/jury"
    result, refusal = _confirm(lambda s: previews.save_assignment(s, round_id, given, _actor(principal), _now(),
                                                                  jury_url=jury_url))
    if refusal is not None:
        return _show_assignment(round_id, refusal.status, _sentence(refusal.message))
    flash("This assignment was saved already: nothing changed." if result["already"] else
          f"Assigned: {result['added']} new assignment(s) over {result['applications']} application(s); "
          f"{result['jurors_notified']} juror(s) notified.", "ok")
    return redirect(_dashboard_url(request.form.get("call")), 303)


# -- closing ------------------------------------------------------------------------------------

def _show_close(round_id: str, normalise: bool, status: int = 200, error: str = "", errors=None, chosen=None):
    try:
        preview = _preview(previews.close_preview, round_id, normalise)
    except Refused as exc:
        return _refused(exc)
    return _page("review/round_close.html", status, preview=preview, error=error, errors=errors or {},
                 chosen=chosen or {}, **_context(name=ROUND_NAMES.get(preview["kind"], preview["kind"])))


@secretariat_pages.get("/rounds/<round_id>/close")
def close_preview(round_id):
    _require("secretariat")
    return _show_close(round_id, request.args.get("normalise") == "1")


@secretariat_pages.post("/rounds/<round_id>/close")
def close(round_id):
    """Close the round as previewed, with a decision for each tie and each application short of
    reviews; once."""
    principal = _require("secretariat")
    _check_csrf()
    normalise = request.form.get("normalise") == "1"
    decisions = {name[len("decision-"):]: value for name, value in request.form.items()
                 if name.startswith("decision-") and value}
    given = request.form.get("fingerprint", "").strip()
    if not given:
        return _show_close(round_id, normalise, 422, "Look at what closing does first, then confirm it here.")
    result, refusal = _confirm(lambda s: previews.confirm_close(s, round_id, given, decisions, _actor(principal),
                                                                _now(), normalise=normalise))
    if refusal is not None:
        undecided = (refusal.errors or {}).get("decisions", {}) if refusal.status == 422 else {}
        return _show_close(round_id, normalise, refusal.status, _sentence(refusal.message),
                           errors={f"decision-{a}": problems for a, problems in undecided.items()},
                           chosen=decisions if refusal.status == 422 else {})
    flash("This round was closed already: nothing changed." if result["already"] else
          f"Round closed: {result['advanced']} finalist(s), {result['eliminated']} not advanced. "
          "Nothing reaches the applicants before you release the results.", "ok")
    return redirect(_dashboard_url(result["round"].call_id, "#finalists"), 303)


# -- release ------------------------------------------------------------------------------------

def _samples(preview: dict) -> dict:
    """notify's page showing one email of each group (template, language), for an iframe."""
    settings = current_app.extensions["prize"]["settings"]
    return {(g["template"], g["language"]): preview_url(settings, Preview(g["template"], g["sample_application_id"],
                                                                          g["variables"]))
            for g in preview["groups"]}


def _show_release(call_id: str, kind: str, status: int = 200, error: str = "", errors=None, typed: str = ""):
    try:
        preview = _preview(previews.release_preview, call_id, kind)
    except Refused as exc:
        return _refused(exc)
    return _page("review/round_release.html", status, frames_notify=True, preview=preview, samples=_samples(preview),
                 error=error, errors=errors or {}, typed=typed,
                 **_context(name=ROUND_NAMES.get(preview["round"], preview["round"])))


@secretariat_pages.get("/calls/<call_id>/release")
def release_preview(call_id):
    _require("secretariat")
    return _show_release(call_id, request.args.get("kind", "finalist"))


@secretariat_pages.post("/calls/<call_id>/release")
def release(call_id):
    """Release as previewed, once the edition's year is typed in; releasing twice changes nothing."""
    principal = _require("secretariat")
    _check_csrf()
    kind, typed = request.form.get("kind", ""), request.form.get("year", "").strip()
    given = request.form.get("fingerprint", "").strip()
    if not given:
        return _show_release(call_id, kind, 422, "Look at the emails the release causes first, then confirm here.",
                             typed=typed)
    result, refusal = _confirm(lambda s: previews.confirm_release(s, call_id, kind, given, _actor(principal), _now(),
                                                                  year=typed))
    if refusal is not None:
        return _show_release(call_id, kind, refusal.status, _sentence(refusal.message),
                             errors=refusal.errors if refusal.status == 422 else None, typed=typed)
    flash("Already released: nothing was sent again." if result["already"] else
          f"Released: {result['released']} result(s) of the {ROUND_NAMES.get(kind, kind).lower()}.", "ok")
    return redirect(_dashboard_url(call_id), 303)
