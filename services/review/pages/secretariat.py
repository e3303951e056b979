"""The secretariat's dashboard (server-rendered): rounds, awards and exports; screening is
screening.py's, and assigning, closing and releasing go through a preview first (rounds.py)."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Response, abort, flash, redirect, request, url_for
from markupsafe import Markup

from shared.auth import Principal
from shared.staff.web import staff_web

from .. import charts
from ..current import db as _db
from ..models import Round
from ..ops import dashboard as edition_ops, decisions as decide, exports, rounds as round_ops, standings as standing_ops
from ..ops.common import Refused
from .common import (CATEGORY_NAMES, ROUND_NAMES, _check_csrf, _now, _page, _require, _sentence,
                     secretariat_pages)

# --- the secretariat --------------------------------------------------------------------------

@secretariat_pages.route("/signin", methods=["GET", "POST"])
def signin():
    """Operators: paste the token of `prize token secretariat` once; this browser keeps a staff
    session (named for the operator). Staff sign in at intake and come here by a hand-off."""
    error = ""
    if request.method == "POST":
        _check_csrf()
        response = redirect(url_for("review_secretariat_pages.dashboard"), 303)
        if staff_web().adopt_operator_token(response, request.form.get("token", "")):
            return response
        error = "This is not a valid secretariat token, or it has expired. Print a new one with: prize token secretariat"
    return _page("review/secretariat_signin.html", 401 if error else 200, error=error, area="Secretariat",
                 home_url=url_for("review_secretariat_pages.dashboard"),
                 staff_signin_url=staff_web().signin_url(url_for("review_secretariat_pages.dashboard")))


def _actor(principal: Principal) -> str:
    """Who did it, in the history: the staff member's name and address, or the operator's name."""
    return f"secretariat:{principal.who}"


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


def _round_view(s, rnd: Round, normalise: bool) -> dict:
    view = {"round": rnd, "name": ROUND_NAMES.get(rnd.kind, rnd.kind), "summary": round_ops.round_summary(s, rnd),
            "progress": edition_ops.progress(s, rnd.id), "standings": None, "error": "",
            "flags": [], "scores_svg": None, "category_names": CATEGORY_NAMES}
    view["progress_svg"] = Markup(charts.progress(
        [(p["name"], p["done"], p["total"]) for p in view["progress"]],
        title=f"Juror progress, {view['name'].lower()}", chart_id=f"progress-{rnd.kind}"))
    try:
        view["standings"] = standing_ops.standings(s, rnd.id, normalise=normalise)
    except Refused as exc:
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


def _dashboard(s, principal: Principal, status: int = 200):
    calls = edition_ops.calls(s)
    wanted = request.values.get("call")
    call = next((c for c in calls if c.id == wanted), calls[0] if calls else None)
    normalise = request.values.get("normalise") == "1"
    context = {"calls": calls, "call": call, "normalise": normalise, "rounds": [],
               "stage_names": STAGE_NAMES, "outcome_names": OUTCOME_NAMES, "category_names": CATEGORY_NAMES,
               "kinds": ROUND_NAMES}
    if call is not None:
        found = edition_ops.edition(s, call, LISTED)
        rounds = found["rounds"]
        steps = _funnel(found["by_stage"])
        context.update(
            waiting=found["waiting"], waiting_total=found["counts"].get("submitted", 0),
            finalists=found["finalists"], listed=LISTED, counts=found["counts"], steps=steps,
            funnel_svg=Markup(charts.funnel(steps, title=f"Applications that reached each stage, {call.year}")),
            rounds=[_round_view(s, r, normalise) for r in rounds],
            open_kinds=[k for k in ROUND_NAMES if k not in {r.kind for r in rounds}],
            award_round=found["award_round"], others=found["others"])
    s.rollback()
    return _page("review/dashboard.html", status, who={"name": principal.who}, area="Secretariat",
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
        except Refused as exc:
            s.commit() if exc.keep else s.rollback()
            flash(_sentence(exc.message) + _details(exc), "error")
            return _dashboard(s, principal, exc.status)
    if message:
        flash(message, "ok")
    return redirect(url_for("review_secretariat_pages.dashboard", call=call_id) if call_id
                    else url_for("review_secretariat_pages.dashboard"), 303)


def _details(exc: Refused) -> str:
    """A refusal's field errors, in words (jury's messages already say what to do)."""
    if not exc.errors:
        return ""
    parts = [f"{field}: {'; '.join(map(str, problems)) if isinstance(problems, list) else problems}"
             for field, problems in exc.errors.items()]
    return " (" + "; ".join(parts) + ")"


def _call_of_round(round_id: str) -> str | None:
    with _db().session() as s:
        rnd = edition_ops.find_round(s, round_id)
        return rnd.call_id if rnd else None


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
    return _operate(principal, lambda s: round_ops.open_round(s, call_id, kind, settings, _actor(principal), _now()),
                    lambda rnd: f"{ROUND_NAMES.get(rnd.kind, rnd.kind)}: round opened.", call_id)


@secretariat_pages.post("/applications/<application_id>/award")
def award(application_id):
    principal = _require("secretariat")
    _check_csrf()
    outcome, title = request.form.get("outcome", ""), request.form.get("award", "")
    return _operate(principal, lambda s: decide.decide_award(s, application_id, outcome, title, _actor(principal),
                                                           _now()),
                    lambda app: f"{app.reference}: {OUTCOME_NAMES.get(app.outcome, app.outcome)} recorded "
                                "(embargoed until released).", request.form.get("call"))


@secretariat_pages.post("/special-mentions")
def special_mention():
    """The award form for an application chosen from a list (those that did not advance)."""
    return award(request.form.get("application_id", ""))


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
        rnd = edition_ops.find_round(s, round_id)
        if rnd is None:
            abort(404)
        try:
            body = build(s, rnd.id, request.args.get("normalise") == "1")
        except Refused as exc:
            flash(_sentence(exc.message), "error")
            return _dashboard(s, principal, exc.status)
        name = f"round-{rnd.kind}-{rnd.id[:8]}.{suffix}"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                      "Cache-Control": "no-store"})
