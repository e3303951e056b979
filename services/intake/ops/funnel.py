"""The outreach funnel of one edition: from the organisations the secretariat met to the winners,
per region, country, event where met or owner, compared with the previous edition (the latest
edition with a smaller year). Flask-free; the page, the CSV and the API read ``funnel``.

Who is counted. For edition E, the funnel counts *prospects* (prospects table): those whose
``call_id`` is E, and those with an outreach invitation for E (whatever their ``call_id``). Each
prospect is counted once, at the furthest stage it reached, and every stage counts the prospects
that reached at least that stage, so the funnel never grows from one stage to the next:

- met: every prospect of E's outreach (as above);
- invited: sent an invitation to apply for E (outreach_invitations), or got further without one
  (``uninvited`` says how many registered without an invitation for E);
- registered: the prospect became an applicant (``Prospect.applicant_id``), whenever that was;
- drafting: that applicant has an application in E, whatever its status (draft, submitted or
  withdrawn: a withdrawn application was started, and counts no further, as on the dashboard);
- submitted: an application in E is submitted (and not withdrawn);
- eligible, finalist, winner: review's decisions on a submitted application, as intake keeps
  them in status_updates, the latest of each kind winning (a screening reversed from eligible to
  ineligible is not eligible); they count as soon as they are made, before their release, as on
  the edition dashboard (ops/dashboard.py, whose decision names this module reuses): eligible =
  screened eligible, or any later decision; finalist = "finalist", or any award decision;
  winner = a winner *or a special mention* (both are the edition's laureates, announced and
  invited to the ceremony; the dashboard's "Winners" counts winners only).
An applicant with several applications in E counts at its furthest one.

Beside it, ``applicants``: every applicant with an application in E, split into those linked to a
prospect (of any edition: outreach brought them) and those not linked to any ("without
outreach"), from drafting on, so the secretariat sees outreach's share of the edition.

Counting is done by the database (GROUP BY on the furthest stage, one query per edition and
table), never per row here: a handful of queries whatever the number of prospects.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import case, exists, func, or_, select

from ..models import Application, Call, OutreachInvitation, Prospect, StatusUpdate
from .dashboard import FINALIST, SCREENING
from .regions import REGION_LABELS

STAGES = ("met", "invited", "registered", "drafting", "submitted", "eligible", "finalist", "winner")
STAGE_TITLES = {"met": "Met", "invited": "Invited", "registered": "Registered", "drafting": "Drafting",
                "submitted": "Submitted", "eligible": "Eligible", "finalist": "Finalist",
                "winner": "Winner or special mention"}
LEVEL = {stage: n for n, stage in enumerate(STAGES)}
AWARDS = ("winner", "special_mention", "not_awarded")
LAUREATES = ("winner", "special_mention")
BREAKDOWNS = {"region": "Region", "country": "Country", "event": "Event where met", "owner": "Owner"}
_COLUMNS = {"region": Prospect.region, "country": Prospect.country, "event": Prospect.met_at,
            "owner": Prospect.owner}
_BLANK = {"event": "(no event recorded)", "owner": "(nobody)", "country": "(no country)", "region": "Other"}


@dataclass
class Figures:
    """One edition's funnel: ``total`` and each group's counts per stage (in STAGES order)."""
    call: Call
    total: list[int]
    groups: list[dict] = field(default_factory=list)  # {"key", "title", "counts"}
    uninvited: int = 0  # registered or further without an invitation for this edition
    outreach: list[int] = field(default_factory=list)  # applicants of E linked to a prospect, drafting on
    without: list[int] = field(default_factory=list)  # applicants of E linked to none, drafting on


def _latest(stages) -> object:
    """The latest of these decisions on the application of the enclosing query."""
    return (select(StatusUpdate.stage)
            .where(StatusUpdate.application_id == Application.id, StatusUpdate.stage.in_(list(stages)))
            .order_by(StatusUpdate.occurred_at.desc()).limit(1).correlate(Application).scalar_subquery())


def _application_level():
    """The furthest stage (a level of LEVEL) the application of the enclosing query reached."""
    screening, finalist, award = _latest(SCREENING), _latest(FINALIST), _latest(AWARDS)
    return case(
        (Application.status != "submitted", LEVEL["drafting"]),
        (award.in_(LAUREATES), LEVEL["winner"]),
        (or_(finalist == "finalist", award.is_not(None)), LEVEL["finalist"]),
        (or_(screening == "eligible", finalist.is_not(None), award.is_not(None)), LEVEL["eligible"]),
        else_=LEVEL["submitted"])


def _furthest_application(call_id: str):
    """Per applicant of the edition, the furthest stage any of its applications reached."""
    return (select(Application.applicant_id.label("applicant_id"), func.max(_application_level()).label("level"))
            .where(Application.call_id == call_id).group_by(Application.applicant_id).subquery("furthest"))


def _cumulative(at_level: dict[int, int]) -> list[int]:
    """Counts at each level -> counts of those who reached at least each stage."""
    out, running = [], 0
    for n in reversed(range(len(STAGES))):
        running += at_level.get(n, 0)
        out.append(running)
    return out[::-1]


def _title(by: str, key: str) -> str:
    if not key:
        return _BLANK[by]
    return REGION_LABELS.get(key, key) if by == "region" else key


def _prospects(session, call_id: str, by: str) -> tuple[list[dict], int]:
    """The edition's prospects grouped by ``by`` and furthest stage (and whether invited): one
    row per prospect inside, counted outside. Its applications are looked up by the applicant's
    index (a correlated subquery): the same plan whatever the database's statistics say."""
    # an IN over the edition's invitations, not a correlated EXISTS: read once, whatever the planner knows
    invited = Prospect.id.in_(select(OutreachInvitation.prospect_id).where(OutreachInvitation.call_id == call_id))
    furthest = (select(func.max(_application_level()))
                .where(Application.applicant_id == Prospect.applicant_id, Application.call_id == call_id)
                .correlate(Prospect).scalar_subquery())
    level = func.coalesce(furthest, case((Prospect.applicant_id.is_not(None), LEVEL["registered"]),
                                         (invited, LEVEL["invited"]), else_=LEVEL["met"]))
    each = (select(func.coalesce(_COLUMNS[by], "").label("key"), level.label("level"),
                   case((invited, 1), else_=0).label("was_invited"))
            .where(or_(Prospect.call_id == call_id, invited)).subquery("each"))
    rows = session.execute(select(each.c.key, each.c.level, each.c.was_invited, func.count())
                           .group_by(each.c.key, each.c.level, each.c.was_invited)).all()
    levels: dict[str, dict[int, int]] = {}
    uninvited = 0
    for key, lvl, was_invited, n in rows:
        bucket = levels.setdefault(key, {})
        bucket[lvl] = bucket.get(lvl, 0) + n
        if not was_invited and lvl >= LEVEL["registered"]:
            uninvited += n
    groups = [{"key": key, "title": _title(by, key), "counts": _cumulative(at)} for key, at in levels.items()]
    groups.sort(key=lambda g: (-g["counts"][0], g["title"].lower()))
    return groups, uninvited


def _applicants(session, furthest) -> tuple[list[int], list[int]]:
    """The edition's applicants from drafting on: linked to a prospect, and linked to none."""
    linked = exists(select(Prospect.id).where(Prospect.applicant_id == furthest.c.applicant_id))
    each = select(case((linked, 1), else_=0).label("linked"), furthest.c.level.label("level")).subquery("each")
    rows = session.execute(select(each.c.linked, each.c.level, func.count()).group_by(each.c.linked, each.c.level))
    found: dict[int, dict[int, int]] = {0: {}, 1: {}}
    for is_linked, lvl, n in rows:
        found[is_linked][lvl] = n
    first = LEVEL["drafting"]
    return _cumulative(found[1])[first:], _cumulative(found[0])[first:]


def figures(session, call: Call, by: str) -> Figures:
    groups, uninvited = _prospects(session, call.id, by)
    total = [sum(g["counts"][i] for g in groups) for i in range(len(STAGES))]
    outreach, without = _applicants(session, _furthest_application(call.id))
    return Figures(call=call, total=total, groups=groups, uninvited=uninvited, outreach=outreach, without=without)


def previous_call(session, call: Call) -> Call | None:
    """The edition before: the latest with a smaller year."""
    return session.scalars(select(Call).where(Call.year < call.year).order_by(Call.year.desc()).limit(1)).first()


def funnel(db, call_id: str, by: str = "region") -> dict | None:
    """The edition's funnel and the previous edition's, grouped ``by`` (a key of BREAKDOWNS);
    None if there is no such edition. Raises ValueError for an unknown breakdown."""
    if by not in BREAKDOWNS:
        raise ValueError(f"unknown breakdown {by!r}: one of {', '.join(BREAKDOWNS)}")
    with db.session() as s:
        call = s.get(Call, str(call_id))
        if call is None:
            return None
        current = figures(s, call, by)
        before = previous_call(s, call)
        previous = figures(s, before, by) if before is not None else None
        s.expunge_all()
    return {"by": by, "current": current, "previous": previous, "stages": _stage_rows(current, previous)}


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _stage_rows(current: Figures, previous: Figures | None) -> list[dict]:
    """Per stage: the count, the conversion from the stage before, the previous edition's count and
    the difference."""
    rows = []
    for i, stage in enumerate(STAGES):
        n = current.total[i]
        before = previous.total[i] if previous is not None else None
        rows.append({"stage": stage, "title": STAGE_TITLES[stage], "count": n,
                     "conversion": _percent(n, current.total[i - 1]) if i else None,
                     "previous": before, "difference": None if before is None else n - before,
                     "previous_conversion": (_percent(before, previous.total[i - 1])
                                             if previous is not None and i else None)})
    return rows


def share(current: Figures) -> list[dict]:
    """From drafting on: applicants through outreach, without it, and outreach's share."""
    return [{"stage": stage, "title": STAGE_TITLES[stage], "outreach": o, "without": w,
             "share": _percent(o, o + w)}
            for stage, o, w in zip(STAGES[LEVEL["drafting"]:], current.outreach, current.without)]


# --- as the API and the CSV give it ----------------------------------------------------------------

def _by_stage(counts: list[int], stages=STAGES) -> dict[str, int]:
    return dict(zip(stages, counts))


def _edition_json(f: Figures) -> dict:
    return {"call_id": f.call.id, "year": f.call.year, "counts": _by_stage(f.total),
            "groups": [{"key": g["key"], "title": g["title"], "counts": _by_stage(g["counts"])} for g in f.groups],
            "registered_uninvited": f.uninvited,
            "applicants": {"outreach": _by_stage(f.outreach, STAGES[LEVEL["drafting"]:]),
                           "without_outreach": _by_stage(f.without, STAGES[LEVEL["drafting"]:])}}


def as_json(found: dict) -> dict:
    """``funnel``'s answer as the API gives it: stages by key, each edition's groups."""
    current, previous = found["current"], found["previous"]
    return {"call_id": current.call.id, "year": current.call.year, "by": found["by"],
            "funnel": [{k: row[k] for k in ("stage", "title", "count", "conversion", "previous", "difference")}
                       for row in found["stages"]],
            "current": _edition_json(current), "previous": _edition_json(previous) if previous else None}


CSV_HEADER = ("edition", "breakdown", "group", "who") + STAGES


def csv_rows(found: dict) -> list[list]:
    """The CSV's lines after the header: for each edition (this one, then the previous), a line per
    group, the total, and the edition's applicants without outreach (from drafting on; the stages
    before are left empty). Cells are neutralised by the caller (registry_export.neutral)."""
    by = BREAKDOWNS[found["by"]].lower()
    lines = []
    for f in (found["current"], found["previous"]):
        if f is None:
            continue
        for g in f.groups:
            lines.append([f.call.year, by, g["title"], "prospects", *g["counts"]])
        lines.append([f.call.year, by, "All", "prospects", *f.total])
        before = [""] * LEVEL["drafting"]
        lines.append([f.call.year, by, "All", "applicants through outreach", *before, *f.outreach])
        lines.append([f.call.year, by, "All", "applicants without outreach", *before, *f.without])
    return lines
