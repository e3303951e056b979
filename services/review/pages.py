"""review's server-rendered pages: the jurors' desk and the secretariat's dashboard.

Every rule lives in the operations these pages call: desk (what a juror may see and do) and
jury (what the secretariat does to rounds). The pages read the request, call one operation,
and show its answer or its refusal; they work without JavaScript (review.js only autosaves
the scoring form sooner). Forms carry a CSRF token. Charts are SVG drawn on the server
(charts.py), with the same numbers in a table beside them.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import (Blueprint, Response, abort, current_app, flash, g, jsonify, redirect, render_template,
                   request, session, url_for)
from markupsafe import Markup
from sqlalchemy import func, select

from shared import pagesession
from shared.auth import Principal
from shared.pagesession import configure_page_cookie
from shared.signin import current_session
from shared.storage import open_storage
from shared.web import current_principal

from . import charts, desk, exports, jury
from .models import Application, Assignment, Call, Juror, Round

pages = Blueprint("review_pages", __name__, template_folder="templates", static_folder="static",
                  static_url_path="/static/review")
jury_pages = Blueprint("review_jury_pages", __name__, url_prefix="/jury")
secretariat_pages = Blueprint("review_secretariat_pages", __name__, url_prefix="/secretariat")
blueprints = [pages, jury_pages, secretariat_pages]

PAGE_COOKIE = "prize_review_pages"  # not Flask's "session": intake's pages on another port use that


def _db():
    return current_app.extensions["prize"]["db"]


def _now() -> datetime:
    return datetime.now(timezone.utc)


@pages.record_once
def _cookie_settings(state) -> None:
    settings = state.app.extensions.get("prize", {}).get("settings")
    configure_page_cookie(state.app, PAGE_COOKIE,
                          secure=settings is not None and settings.review_public_url.startswith("https://"))


# --- who is signing in ------------------------------------------------------------------------

def adopt_signed_token(token: str, role: str) -> Principal | None:
    """Interim sign-in (shared.pagesession): a valid signed token of ``role`` opens a page session
    in this browser. Called by /jury?token= and /secretariat/signin."""
    return pagesession.adopt_signed_token(current_app.config["SECRET_KEY"], token, role)


def _page_session_principal() -> Principal | None:
    return pagesession.page_principal()


def _principal() -> Principal | None:
    """Who is calling: shared.web's principal (bearer token, or the service's sign-in session),
    else this browser's page session."""
    return current_principal() or _page_session_principal()


def _csrf() -> str:
    """The token of this browser's forms (the sign-in session's, else the page session's)."""
    return pagesession.page_csrf(current_session())


def _check_csrf() -> None:
    if not pagesession.page_csrf_ok(_csrf()):
        abort(_page("review/message.html", 403, title="This form has expired",
                    message="This form has expired or did not come from this site. Go back, reload the page "
                            "and send it again."))


def _juror_signin_url() -> str:
    """The passwordless sign-in page when review has it, else the page that explains the link."""
    if any(rule.rule == "/signin" for rule in current_app.url_map.iter_rules()):
        return "/signin"
    return url_for("review_jury_pages.signin_help")


def _require(role: str) -> Principal:
    principal = _principal()
    if principal is None:
        target = _juror_signin_url() if role == "juror" else url_for("review_secretariat_pages.signin")
        abort(redirect(target, 302))
    if principal.role != role:
        abort(_page("review/message.html", 403, title="Not for this account",
                    message=f"This page is for the {'jury' if role == 'juror' else 'secretariat'}. "
                            "Sign out and sign in with the right account."))
    g.principal = principal
    return principal


def _page(template: str, status: int = 200, **context):
    response = current_app.make_response((render_template(template, page_csrf=_csrf(), **context), status))
    response.headers["Cache-Control"] = "no-store"  # jurors' pages hold confidential content
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


# Only this service's own script and stylesheet run here; inline styles are the progress meters'.
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


def _not_found(_exc=None):
    """The same page for a missing application, one the juror is not assigned to and one they are
    conflicted on: it says nothing about which (no id, no title)."""
    return _page("review/message.html", 404, title="Not found",
                 message="There is nothing at this address for you.", area=_area())


def _area() -> str:
    return "Secretariat" if request.blueprint == secretariat_pages.name else "Jury"


jury_pages.register_error_handler(404, _not_found)
secretariat_pages.register_error_handler(404, _not_found)


@pages.post("/signout")
def signout():
    _check_csrf()
    area = "secretariat" if (_principal() or Principal("", "")).role == "secretariat" else "jury"
    session.clear()
    if current_session() is not None and any(r.rule == "/logout" for r in current_app.url_map.iter_rules()):
        return redirect("/logout", 307)  # the passwordless session ends there (same form, same token)
    flash("Signed out.", "ok")
    return redirect(url_for("review_secretariat_pages.signin") if area == "secretariat" else _juror_signin_url(), 303)


# --- jurors -----------------------------------------------------------------------------------

def _refused(exc: desk.Refusal):
    if exc.status == 404:
        return _not_found()
    return _page("review/message.html", exc.status, title="Not possible", message=_sentence(exc.message))


def _sentence(message: str) -> str:
    message = str(message)
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def _juror(s, principal: Principal) -> dict:
    juror = s.get(Juror, principal.subject)
    return {"id": principal.subject, "name": juror.name if juror else "Juror"}


@jury_pages.get("")
def home():
    """My assignments per round, with progress."""
    principal = _require("juror")
    with _db().session() as s:
        try:
            mine = desk.my_assignments(s, principal.subject)
        except desk.Refusal as exc:
            return _refused(exc)
    # The page a juror opens most: the link and the category's name of each row are made here
    # once (one url_for, not one per row), so the template only prints.
    link = url_for("review_jury_pages.application", application_id="APPLICATION").replace("APPLICATION", "{}")
    for rnd in mine["rounds"]:
        for a in rnd["assignments"]:
            a["href"] = link.format(a["application_id"])
            a["category_name"] = CATEGORY_NAMES.get(a["category"], a["category"])
    return _page("review/jury_home.html", who=mine["juror"], rounds=mine["rounds"], kinds=ROUND_NAMES)


@jury_pages.get("/signin")
def signin_help():
    if (_principal() or Principal("", "")).role == "juror":
        return redirect(url_for("review_jury_pages.home"), 303)
    if _juror_signin_url() != request.path:
        return redirect(_juror_signin_url(), 303)  # the passwordless sign-in page
    return _page("review/jury_signin.html", title="Jury sign-in")


ROUND_NAMES = {"finalist": "Selection of finalists", "award": "Selection of the winners"}
CATEGORY_NAMES = {"tech_innovacity": "Tech-InnovaCity", "human_centricity": "Human-CentriCity",
                  "leadership": "Leadership"}


def _application_page(s, principal: Principal, application_id: str, *, typed: dict | None = None,
                      errors: dict | None = None, status: int = 200):
    """The application, the rubric beside each answer and the scoring form. ``typed`` (a refused
    save) shows what the juror sent instead of what is stored, with ``errors`` beside the fields."""
    try:
        view = desk.open_application(s, principal.subject, application_id, request.path)
    except desk.Refusal as exc:
        return _refused(exc)
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
            if desk.assignment_state(s, principal.subject, assignment_id, request.path)["application_id"] \
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
                body = {"message": _sentence(exc.message), "errors": _field_errors(exc), **exc.extra}
                return jsonify(body), exc.status
            message = f"Not {step}: {_sentence(exc.message)}"
            if "revision" in exc.extra:  # saved elsewhere since: the juror chooses, nothing is lost
                typed["revision"] = exc.extra["revision"]
                message += (" What you typed is shown below, not saved: press Save to keep it instead, or reload "
                            "the page to see the stored scores.")
            flash(message, "error")
            return _application_page(s, principal, application_id, typed=typed, errors=_field_errors(exc),
                                     status=exc.status)
    if _wants_json():
        return jsonify({key: state[key] for key in ("revision", "status", "criteria", "criteria_scored", "total")})
    if submitting:
        flash("Scores submitted. Thank you.", "ok")
        return redirect(url_for("review_jury_pages.home"), 303)
    flash("Scores saved.", "ok")
    return redirect(url_for("review_jury_pages.application", application_id=application_id), 303)


def _field_errors(exc) -> dict:
    """desk's field errors as {"scores": {key: [..]}, "comments": {...}, ...}."""
    errors = exc.errors or {}
    return errors.get("json", errors) if isinstance(errors, dict) else {}


@jury_pages.get("/applications/<application_id>/documents/<document_id>")
def document(application_id, document_id):
    principal = _require("juror")
    with _db().session() as s:
        try:
            url = desk.document_link(s, principal.subject, application_id, document_id, request.path, _storage())
        except desk.Refusal as exc:
            return _refused(exc)
    response = redirect(url, 303)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _storage():
    """Documents are served by the store (S3) or, on the embedded stack, by intake's signed
    download route: the link is built for intake's public address."""
    ext = current_app.extensions["prize"]
    if "storage" not in ext:
        settings = ext["settings"]
        ext["storage"] = open_storage(settings.storage_url, settings.secret_key, settings.public_url)
    return ext["storage"]


@jury_pages.route("/applications/<application_id>/conflict", methods=["GET", "POST"])
def conflict(application_id):
    principal = _require("juror")
    reason, error = "", ""
    with _db().session() as s:
        try:
            view = desk.open_application(s, principal.subject, application_id, request.path)
        except desk.Refusal as exc:
            return _refused(exc)
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
                error = _sentence(exc.message)
            else:
                flash(f"Conflict of interest declared: {view['reference']} is no longer among your assignments "
                      "and the secretariat will find another juror.", "ok")
                return redirect(url_for("review_jury_pages.home"), 303)
        return _page("review/conflict.html", 422 if error else 200, who=_juror(s, principal), app=view,
                     reason=reason, error=error)


# --- the secretariat --------------------------------------------------------------------------

@secretariat_pages.route("/signin", methods=["GET", "POST"])
def signin():
    """Paste the token of `prize token secretariat` once; this browser keeps it (interim sign-in)."""
    error = ""
    if request.method == "POST":
        _check_csrf()
        if adopt_signed_token(request.form.get("token", ""), "secretariat") is not None:
            return redirect(url_for("review_secretariat_pages.dashboard"), 303)
        error = "This is not a valid secretariat token, or it has expired. Print a new one with: prize token secretariat"
    return _page("review/secretariat_signin.html", 401 if error else 200, error=error, area="Secretariat",
                 home_url=url_for("review_secretariat_pages.dashboard"))


def _actor(principal: Principal) -> str:
    return f"secretariat:{principal.subject}"


FUNNEL = (("Submitted", None), ("Eligible", ("eligible", "finalist", "not_advanced")), ("Finalist", ("finalist",)))
STAGE_NAMES = {"submitted": "Awaiting screening", "eligible": "Eligible", "ineligible": "Not eligible",
               "finalist": "Finalist", "not_advanced": "Not advanced", "withdrawn": "Withdrawn"}
OUTCOME_NAMES = {"winner": "Winner", "special_mention": "Special mention", "not_awarded": "Not awarded"}


def _funnel(counts: dict[tuple[str, str | None], int]) -> list[tuple[str, int]]:
    """How many applications reached each stage (``counts``: (stage, outcome) -> number): a
    finalist was eligible, a winner a finalist."""
    steps = [(label, sum(n for (stage, _), n in counts.items() if stages is None or stage in stages))
             for label, stages in FUNNEL]
    return steps + [("Winner", sum(n for (_, outcome), n in counts.items() if outcome == "winner"))]


LISTED = 50  # applications awaiting screening listed at once


def _progress(s, rnd: Round) -> list[dict]:
    """Per juror of the round: submitted of assigned (removed assignments left out)."""
    rows = s.execute(select(Juror.id, Juror.name, Assignment.status, func.count())
                     .join(Assignment, Assignment.juror_id == Juror.id)
                     .where(Assignment.round_id == rnd.id, Assignment.status != "removed")
                     .group_by(Juror.id, Juror.name, Assignment.status)).all()
    people: dict[str, dict] = {}
    for juror_id, name, status, n in rows:
        p = people.setdefault(juror_id, {"name": name, "done": 0, "total": 0})
        p["total"] += n
        p["done"] += n if status == "submitted" else 0
    return sorted(people.values(), key=lambda p: (p["done"] / p["total"], p["name"]))


def _round_view(s, rnd: Round, normalise: bool, close_refusal=None) -> dict:
    view = {"round": rnd, "name": ROUND_NAMES.get(rnd.kind, rnd.kind), "summary": jury.round_summary(s, rnd),
            "progress": _progress(s, rnd), "standings": None, "error": "", "close_refusal": close_refusal,
            "flags": [], "scores_svg": None, "category_names": CATEGORY_NAMES}
    view["progress_svg"] = Markup(charts.progress(
        [(p["name"], p["done"], p["total"]) for p in view["progress"]],
        title=f"Juror progress, {view['name'].lower()}", chart_id=f"progress-{rnd.kind}"))
    try:
        view["standings"] = jury.standings(s, rnd.id, normalise=normalise)
    except jury.Refused as exc:
        view["error"] = _sentence(exc.message)
        return view
    categories = view["standings"]["categories"]
    names = {key: CATEGORY_NAMES.get(key, key) for key in categories}
    view["flags"] = [row for c in categories.values() for row in c["leaderboard"] if row["disagreement"]]
    groups = {names[key]: [row["score"] for row in c["leaderboard"] if row["score"] is not None]
              for key, c in categories.items()}
    scales = [tuple(c["scale"]) for c in categories.values()]
    if scales:
        low, high = min(lo for lo, _ in scales), max(hi for _, hi in scales)
        view["scores_svg"] = Markup(charts.strip_plot(
            groups, scale=(low, high), chart_id=f"scores-{rnd.kind}",
            title=f"{'Normalised' if normalise else 'Mean'} weighted totals by category, {view['name'].lower()}"))
    view["category_names"] = names
    return view


def _dashboard(s, principal: Principal, status: int = 200, close_refusal: dict | None = None):
    calls = s.scalars(select(Call).order_by(Call.year.desc(), Call.updated_at.desc())).all()
    wanted = request.values.get("call")
    call = next((c for c in calls if c.id == wanted), calls[0] if calls else None)
    normalise = request.values.get("normalise") == "1"
    context = {"calls": calls, "call": call, "normalise": normalise, "rounds": [],
               "stage_names": STAGE_NAMES, "outcome_names": OUTCOME_NAMES, "category_names": CATEGORY_NAMES,
               "kinds": ROUND_NAMES}
    if call is not None:
        # counts and short lists only: an edition may hold thousands of applications with their answers
        by_stage = {(stage, outcome): n for stage, outcome, n in s.execute(
            select(Application.stage, Application.outcome, func.count()).where(Application.call_id == call.id)
            .group_by(Application.stage, Application.outcome))}
        counts: dict[str, int] = {}
        for (stage, _), n in by_stage.items():
            counts[stage] = counts.get(stage, 0) + n
        brief = (Application.id, Application.reference, Application.title, Application.category,
                 Application.organisation, Application.city, Application.country, Application.outcome,
                 Application.award)
        waiting = s.execute(select(*brief).where(Application.call_id == call.id, Application.stage == "submitted")
                            .order_by(Application.submitted_at, Application.id).limit(LISTED)).all()
        finalists = s.execute(select(*brief).where(Application.call_id == call.id, Application.stage == "finalist")
                              .order_by(Application.category, Application.reference)).all()
        rounds = s.scalars(select(Round).where(Round.call_id == call.id).order_by(Round.opened_at)).all()
        award_round = next((r for r in rounds if r.kind == "award"), None)
        others = []  # a special mention may go to any eligible project, finalist or not
        if award_round is not None and award_round.released_at is None:
            others = s.execute(select(*brief).where(Application.call_id == call.id,
                                                    Application.stage == "not_advanced")
                               .order_by(Application.category, Application.reference)).all()
        steps = _funnel(by_stage)
        context.update(
            waiting=waiting, waiting_total=counts.get("submitted", 0), finalists=finalists, listed=LISTED,
            counts=counts, steps=steps,
            funnel_svg=Markup(charts.funnel(steps, title=f"Applications that reached each stage, {call.year}")),
            rounds=[_round_view(s, r, normalise, close_refusal if close_refusal and close_refusal["round_id"] == r.id
                                else None) for r in rounds],
            open_kinds=[k for k in ROUND_NAMES if k not in {r.kind for r in rounds}],
            award_round=award_round, others=others)
    s.rollback()
    return _page("review/dashboard.html", status, who={"name": principal.subject}, area="Secretariat",
                 home_url=url_for("review_secretariat_pages.dashboard"), **context)


@secretariat_pages.get("")
def dashboard():
    principal = _require("secretariat")
    with _db().session() as s:
        return _dashboard(s, principal)


def _operate(principal: Principal, operation, done: str | None = None, call_id: str | None = None):
    """Run one of jury's operations in one transaction and come back to the dashboard. A refusal
    rolls back (keeping what it asks to keep, e.g. the ties it found) and is shown there."""
    with _db().session() as s:
        try:
            result = operation(s)
            message = done(result) if callable(done) else done
            s.commit()
        except jury.Refused as exc:
            s.commit() if exc.keep else s.rollback()
            flash(_sentence(exc.message) + _details(exc), "error")
            return _dashboard(s, principal, exc.status)
    if message:
        flash(message, "ok")
    return redirect(url_for("review_secretariat_pages.dashboard", call=call_id) if call_id
                    else url_for("review_secretariat_pages.dashboard"), 303)


def _details(exc: jury.Refused) -> str:
    """A refusal's field errors, in words (jury's messages already say what to do)."""
    if not exc.errors:
        return ""
    parts = [f"{field}: {'; '.join(map(str, problems)) if isinstance(problems, list) else problems}"
             for field, problems in exc.errors.items()]
    return " (" + "; ".join(parts) + ")"


def _call_of_round(round_id: str) -> str | None:
    with _db().session() as s:
        rnd = s.get(Round, round_id)
        return rnd.call_id if rnd else None


@secretariat_pages.post("/applications/<application_id>/screen")
def screen(application_id):
    principal = _require("secretariat")
    _check_csrf()
    eligible = request.form.get("eligible") == "yes"
    return _operate(principal, lambda s: jury.screen(s, application_id, eligible, request.form.get("reason", ""),
                                                     _actor(principal), _now()),
                    lambda app: f"{app.reference} is {STAGE_NAMES.get(app.stage, app.stage).lower()}.",
                    request.form.get("call"))


@secretariat_pages.post("/calls/<call_id>/rounds")
def open_round(call_id):
    principal = _require("secretariat")
    _check_csrf()
    settings, errors = {}, []
    for name in ("jurors_per_application", "advance_per_category", "min_reviews"):
        raw = request.form.get(name, "").strip()
        if raw:
            try:
                settings[name] = int(raw)
            except ValueError:
                errors.append(name.replace("_", " "))
    if request.form.get("peer_scores") in ("after_own", "never"):
        settings["peer_scores"] = request.form["peer_scores"]
    due = request.form.get("due_at", "").strip()
    if due:
        try:
            settings["due_at"] = datetime.fromisoformat(due).replace(tzinfo=timezone.utc)
        except ValueError:
            errors.append("due date")
    if errors:
        flash(f"Not opened: {', '.join(errors)} must be a number or a date.", "error")
        return redirect(url_for("review_secretariat_pages.dashboard", call=call_id), 303)
    kind = request.form.get("kind", "")
    return _operate(principal, lambda s: jury.open_round(s, call_id, kind, settings, _actor(principal), _now()),
                    lambda rnd: f"{ROUND_NAMES.get(rnd.kind, rnd.kind)}: round opened.", call_id)


@secretariat_pages.post("/rounds/<round_id>/assign")
def assign(round_id):
    principal = _require("secretariat")
    _check_csrf()
    jury_url = current_app.extensions["prize"]["settings"].review_public_url + "/jury"
    return _operate(principal, lambda s: jury.auto_assign(s, round_id, _actor(principal), _now(), jury_url=jury_url),
                    lambda r: f"Assigned: {r['added']} new assignment(s) over {r['applications']} application(s); "
                              f"{r['jurors_notified']} juror(s) notified.", _call_of_round(round_id))


@secretariat_pages.post("/rounds/<round_id>/close")
def close(round_id):
    """Close a round. When jury refuses because of ties at the cut (or applications short of
    reviews), the dashboard lists them with a decision for each; sending those closes it."""
    principal = _require("secretariat")
    _check_csrf()
    decisions = {name[len("decision-"):]: value for name, value in request.form.items()
                 if name.startswith("decision-") and value}
    normalise = request.form.get("normalise") == "1"
    with _db().session() as s:
        try:
            result = jury.close_round(s, round_id, _actor(principal), _now(), decisions=decisions, normalise=normalise)
            s.commit()
        except jury.Refused as exc:
            s.commit() if exc.keep else s.rollback()
            flash(_sentence(exc.message) + _details(exc), "error")
            refusal = dict(exc.details or {}, round_id=round_id) if exc.details else None
            return _dashboard(s, principal, exc.status, close_refusal=refusal)
        call_id = result["round"].call_id
        message = (f"Round closed: {result['advanced']} finalist(s), {result['eliminated']} not advanced. "
                   "Nothing reaches the applicants before you release the results.")
    flash(message, "ok")
    return redirect(url_for("review_secretariat_pages.dashboard", call=call_id) + "#finalists", 303)


@secretariat_pages.post("/applications/<application_id>/award")
def award(application_id):
    principal = _require("secretariat")
    _check_csrf()
    outcome, title = request.form.get("outcome", ""), request.form.get("award", "")
    return _operate(principal, lambda s: jury.decide_award(s, application_id, outcome, title, _actor(principal),
                                                           _now()),
                    lambda app: f"{app.reference}: {OUTCOME_NAMES.get(app.outcome, app.outcome)} recorded "
                                "(embargoed until released).", request.form.get("call"))


@secretariat_pages.post("/special-mentions")
def special_mention():
    """The award form for an application chosen from a list (those that did not advance)."""
    return award(request.form.get("application_id", ""))


@secretariat_pages.post("/calls/<call_id>/release")
def release(call_id):
    principal = _require("secretariat")
    _check_csrf()
    kind = request.form.get("kind", "")
    return _operate(principal, lambda s: jury.release(s, call_id, kind, _actor(principal), _now()),
                    lambda r: ("Already released." if r["already"] else
                               f"Released: {r['released']} result(s) of the {ROUND_NAMES.get(kind, kind).lower()}."),
                    call_id)


EXPORTS = {"csv": (exports.round_csv, "text/csv"),
           "xlsx": (exports.round_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}


@secretariat_pages.get("/rounds/<round_id>/export.<suffix>")
def export(round_id, suffix):
    """Every score and comment of the round, then the standings, as the API's exports (the
    browser holds a page session, not the bearer token the API asks for)."""
    principal = _require("secretariat")
    if suffix not in EXPORTS:
        abort(404)
    build, mimetype = EXPORTS[suffix]
    with _db().session() as s:
        rnd = s.get(Round, round_id)
        if rnd is None:
            abort(404)
        try:
            body = build(s, rnd.id, request.args.get("normalise") == "1")
        except jury.Refused as exc:
            flash(_sentence(exc.message), "error")
            return _dashboard(s, principal, exc.status)
        name = f"round-{rnd.kind}-{rnd.id[:8]}.{suffix}"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                      "Cache-Control": "no-store"})
