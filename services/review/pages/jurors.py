"""The secretariat's jurors pages (server-rendered, under /secretariat/jurors): the list with each
juror's status, load and progress; a juror's page (edit, assignments, conflicts, re-invite,
deactivate after a confirmation that lists what will be released, reactivate); inviting many
from a CSV, with a preview before anything is written. Rules: ops/juror_admin.py and
ops/juror_import.py; a refusal is shown beside the field it names, with what was typed."""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for

from shared.auth import Principal
from shared.events.common import CATEGORIES, LANGUAGES

from ..current import db as _db
from ..ops import juror_admin, juror_import
from ..ops.common import Refused
from .common import CATEGORY_NAMES, ROUND_NAMES, _check_csrf, _now, _page, _require, _sentence, secretariat_pages

STATUS_NAMES = {"invited": "Invited", "accepted": "Accepted", "declined": "Declined", "deactivated": "Deactivated"}
STATE_NAMES = {"submitted": "Submitted", "in_progress": "In progress", "not_started": "Not started"}
SOURCE_NAMES = {"country": "Same country", "organisation": "Same organisation", "email_domain": "Same email domain",
                "declared": "Declared by the juror"}


def _actor(principal: Principal) -> str:
    return f"secretariat:{principal.who}"


def _frame(template: str, status: int = 200, **context):
    return _page(template, status, area="Secretariat", home_url=url_for("review_secretariat_pages.dashboard"),
                 status_names=STATUS_NAMES, state_names=STATE_NAMES, source_names=SOURCE_NAMES,
                 category_names=CATEGORY_NAMES, round_names=ROUND_NAMES, categories=CATEGORIES,
                 languages=LANGUAGES, **context)


@secretariat_pages.get("/jurors")
def jurors():
    """Every juror: status, load and progress; the applications that need a juror again."""
    _require("secretariat")
    with _db().session() as s:
        return _frame("review/jurors.html", rows=juror_admin.jurors_overview(s), needing=juror_admin.needing_jurors(s))


def _juror_page(s, juror_id: str, status: int = 200, typed: dict | None = None, errors: dict | None = None,
                message: str = ""):
    try:
        view = juror_admin.juror_overview(s, juror_id)
    except Refused:
        abort(404)
    juror = view["juror"]
    shown = typed or {"name": juror.name, "email": juror.email, "country": juror.country,
                      "organisation": juror.organisation, "language": juror.language,
                      "categories": [e for e in juror.expertise or [] if e in CATEGORIES],
                      "max_load": "" if juror.max_load is None else str(juror.max_load), "version": juror.version}
    return _frame("review/jurors_detail.html", status, view=view, juror=juror, shown=shown, errors=errors or {},
                  assignments=juror_admin.juror_assignments(s, juror.id), message=message)


@secretariat_pages.get("/jurors/<juror_id>")
def juror(juror_id):
    _require("secretariat")
    with _db().session() as s:
        return _juror_page(s, juror_id)


def _typed(form) -> dict:
    return {"name": form.get("name", ""), "email": form.get("email", ""), "country": form.get("country", "").strip(),
            "organisation": form.get("organisation", ""), "language": form.get("language", ""),
            "categories": form.getlist("categories"), "max_load": form.get("max_load", "").strip(),
            "version": form.get("version", "")}


def _changes(typed: dict, current_expertise: list) -> tuple[dict, dict]:
    """(changes for update_juror, errors found here): the categories replace the category keys of
    the juror's expertise; other topics stay."""
    errors, data = {}, {k: typed[k] for k in ("name", "email", "country", "organisation", "language")}
    unknown = [c for c in typed["categories"] if c not in CATEGORIES]
    if unknown:
        errors["categories"] = [f"unknown category: {', '.join(unknown)}"]
    topics = [e for e in current_expertise or [] if e not in CATEGORIES]
    data["expertise"] = [c for c in CATEGORIES if c in typed["categories"]] + topics
    if typed["max_load"]:
        try:
            data["max_load"] = int(typed["max_load"])
        except ValueError:
            errors["max_load"] = ["a whole number from 0 to 10000"]
    else:
        data["max_load"] = None
    return data, errors


@secretariat_pages.post("/jurors/<juror_id>")
def edit(juror_id):
    principal = _require("secretariat")
    _check_csrf()
    typed = _typed(request.form)
    with _db().session() as s:
        try:
            current = juror_admin.juror_overview(s, juror_id)["juror"]
        except Refused:
            abort(404)
        data, errors = _changes(typed, current.expertise)
        errors.update({k: v for k, v in juror_admin.field_errors(data).items() if k not in errors})
        try:
            version = int(typed["version"])
        except ValueError:
            version = -1  # a form without its version is stale
        if not errors:
            try:
                juror_admin.update_juror(s, juror_id, data, _actor(principal), _now(), version=version)
                s.commit()
            except Refused as exc:
                s.rollback()
                message = ""
                if exc.status == 409 and not exc.errors:
                    message = f"Not saved: {_sentence(exc.message)} What you typed is shown below."
                    typed["version"] = exc.details.get("version", typed["version"])
                return _juror_page(s, juror_id, exc.status, typed, exc.errors or {}, message)
            flash("Saved.", "ok")
            return redirect(url_for("review_secretariat_pages.juror", juror_id=juror_id), 303)
        s.rollback()
        return _juror_page(s, juror_id, 422, typed, errors)


def _act(juror_id: str, operation, done: str):
    """Run one change of the juror in a transaction and come back to their page."""
    with _db().session() as s:
        try:
            operation(s)
            s.commit()
        except Refused as exc:
            s.rollback()
            if exc.status == 404:
                abort(404)
            return _juror_page(s, juror_id, exc.status, message=_sentence(exc.message))
    flash(done, "ok")
    return redirect(url_for("review_secretariat_pages.juror", juror_id=juror_id), 303)


@secretariat_pages.route("/jurors/<juror_id>/deactivate", methods=["GET", "POST"])
def deactivate(juror_id):
    """GET: what deactivating will release; POST (from that page): do it."""
    principal = _require("secretariat")
    if request.method == "POST":
        _check_csrf()
        reason = request.form.get("reason", "")
        if len(reason) > juror_admin.MAX_REASON:
            with _db().session() as s:
                return _deactivate_page(s, juror_id, 422, reason, f"Too long: at most {juror_admin.MAX_REASON} characters.")
        return _act(juror_id, lambda s: juror_admin.deactivate(s, juror_id, _actor(principal), _now(), reason),
                    "Deactivated: their open assignments were released and their sign-in no longer works.")
    with _db().session() as s:
        return _deactivate_page(s, juror_id)


def _deactivate_page(s, juror_id: str, status: int = 200, reason: str = "", error: str = ""):
    try:
        view = juror_admin.juror_overview(s, juror_id)
    except Refused:
        abort(404)
    return _frame("review/jurors_deactivate.html", status, juror=view["juror"], view=view,
                  releasing=juror_admin.open_assignments(s, juror_id), reason=reason, error=error)


@secretariat_pages.post("/jurors/<juror_id>/reactivate")
def reactivate(juror_id):
    principal = _require("secretariat")
    _check_csrf()
    return _act(juror_id, lambda s: juror_admin.reactivate(s, juror_id, _actor(principal), _now()),
                "Reactivated: they can sign in and be assigned again.")


@secretariat_pages.post("/jurors/<juror_id>/reinvite")
def reinvite(juror_id):
    principal = _require("secretariat")
    _check_csrf()
    return _act(juror_id, lambda s: juror_admin.reinvite(s, juror_id, _actor(principal), _now()),
                "Invitation sent again, with a new sign-in link.")


# --- inviting from a CSV ----------------------------------------------------------------------

def _import_page(status: int = 200, text: str = "", error: str = "", result: dict | None = None):
    return _frame("review/jurors_import.html", status, text=text, error=error, result=result,
                  max_rows=juror_import.MAX_ROWS, max_kb=juror_import.MAX_BYTES // 1000)


def _posted_csv() -> tuple[str, str]:
    """(the CSV's text, a problem): an uploaded file wins over the text box."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        raw = upload.read(juror_import.MAX_BYTES + 1)
        if len(raw) > juror_import.MAX_BYTES:
            return "", f"The CSV is too big: at most {juror_import.MAX_BYTES // 1000} kB."
        try:
            return raw.decode("utf-8-sig"), ""
        except UnicodeDecodeError:
            return "", "The file is not UTF-8 text: save the CSV as UTF-8 and upload it again."
    return request.form.get("csv", "").replace("\r\n", "\n"), ""


@secretariat_pages.get("/jurors/import")
def import_form():
    _require("secretariat")
    return _import_page()


@secretariat_pages.post("/jurors/import")
def import_preview():
    """The preview: every line new, already a juror, or an error; a confirm button when none is."""
    _require("secretariat")
    _check_csrf()
    text, problem = _posted_csv()
    if problem:
        return _import_page(422, error=problem)
    if not text.strip():
        return _import_page(422, error="Empty: choose a CSV file or paste its lines.")
    with _db().session() as s:
        try:
            result = juror_import.preview(s, text)
        except Refused as exc:
            return _import_page(exc.status, text, _sentence(exc.message))
    bad = result["counts"]["error"]
    return _import_page(422 if bad else 200, text, f"{bad} line(s) have errors: correct them and preview again."
                        if bad else "", result)


@secretariat_pages.post("/jurors/import/confirm")
def import_confirm():
    principal = _require("secretariat")
    _check_csrf()
    text, token = request.form.get("csv", "").replace("\r\n", "\n"), request.form.get("token", "")
    if not text.strip():
        return _import_page(422, error="Empty: choose a CSV file or paste its lines.")
    with _db().session() as s:
        try:
            done = juror_import.confirm(s, text, token, _actor(principal), _now())
            s.commit()
        except Refused as exc:
            s.rollback()
            result = None
            if exc.status != 422 or "rows" in exc.details:
                try:
                    result = juror_import.preview(s, text)
                except Refused:
                    pass
            return _import_page(exc.status, text, _sentence(exc.message), result)
    flash(f"Invited {len(done['created'])} juror(s)" + (f"; {done['skipped']} already juror(s), skipped." if
                                                       done["skipped"] else "."), "ok")
    return redirect(url_for("review_secretariat_pages.jurors"), 303)
