"""An edition's public results (issue 17, "Results, public"): whether its award round is released,
its winners and special mentions, and its figures. Flask-free: the public pages and feeds
(pages/results.py) and the secretariat's press kit (pages/results_staff.py) read these.

The embargo rule. intake learns review's award decisions (award.decided: a ``winner``,
``special_mention`` or ``not_awarded`` StatusUpdate row) and their release (results.released for
the award round: a ``released:award`` marker row per application). Review releases the award
round once, with one marker per decided application, and refuses any decision after it. So an
edition counts as **released** when intake holds at least one award decision for an application
of the edition that is not withdrawn, and an award release marker for every such application.
Until then nothing of the edition is public: while the markers are still arriving one by one,
the edition stays unreleased; a decision intake learns of later without its marker (it cannot
happen with review's rules) puts the edition back under embargo rather than show it half-done.
Only an application's latest award decision counts, and only ``winner`` and ``special_mention``
are ever shown (``not_awarded`` never).

The figures: the edition's submitted applications that are not withdrawn (drafts and withdrawn
applications do not count), the distinct cities (city name without case or surrounding spaces,
within its country) and the distinct countries of their applicants.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from shared.erasure import ERASED

from ..models import Applicant, Application, Call, Document, PublicPhoto, StatusUpdate
from ..rules import RELEASED_PREFIX, as_utc

AWARD_STAGES = ("winner", "special_mention", "not_awarded")
SHOWN = ("winner", "special_mention")
MARKER = RELEASED_PREFIX + "award"


@dataclass
class Award:
    application_id: str
    reference: str
    category: str  # the key; category_title is the call's title for it
    category_title: str
    outcome: str  # winner | special_mention
    award: str  # the award's name review gave ("Grand Prize"), may be ""
    organisation: str
    city: str
    country: str  # ISO 3166-1 alpha-2
    title: str
    summary: str
    photo: bool = False  # an approved photo can be served (photo_document finds it)
    photo_at: datetime | None = None


@dataclass
class Results:
    call_id: str
    year: int
    theme: str
    released: bool
    released_at: datetime | None
    awards: list[Award] = field(default_factory=list)
    figures: dict = field(default_factory=dict)  # applications, cities, countries
    cities: list[tuple[str, str, int]] = field(default_factory=list)  # (city, country, applications)
    waiting: int = 0  # decided applications whose release marker intake does not hold yet

    def by_category(self, categories: list[dict]) -> list[tuple[str, list[Award]]]:
        """(category title, its awards: winners first) in the call's order of categories."""
        order = {c["key"]: n for n, c in enumerate(categories or [])}
        keys = sorted({a.category for a in self.awards}, key=lambda k: (order.get(k, len(order)), k))
        return [(next(a.category_title for a in self.awards if a.category == k),
                 sorted((a for a in self.awards if a.category == k), key=lambda a: (SHOWN.index(a.outcome), a.reference)))
                for k in keys]

    @property
    def last_modified(self) -> datetime | None:
        moments = [self.released_at] + [a.photo_at for a in self.awards if a.photo]
        return max((m for m in moments if m is not None), default=None)


def _award_rows(s, call_id: str):
    """(application id, stage, occurred_at) of the award decisions and markers of the edition's
    applications that are not withdrawn, oldest first."""
    return s.execute(select(StatusUpdate.application_id, StatusUpdate.stage, StatusUpdate.occurred_at)
                     .join(Application, Application.id == StatusUpdate.application_id)
                     .where(Application.call_id == call_id, Application.status != "withdrawn",
                            StatusUpdate.stage.in_(AWARD_STAGES + (MARKER,)))
                     .order_by(StatusUpdate.occurred_at, StatusUpdate.event_id)).all()


def release_state(s, call_id: str) -> tuple[dict[str, str], datetime | None, int]:
    """(application id -> its latest award decision, the release's time or None while the
    edition is under embargo, how many decided applications still wait for their marker)."""
    decided: dict[str, str] = {}
    marked: dict[str, datetime] = {}
    for application_id, stage, at in _award_rows(s, call_id):
        if stage == MARKER:
            marked[application_id] = as_utc(at)
        else:
            decided[application_id] = stage
    waiting = sum(1 for a in decided if a not in marked)
    if not decided or waiting:
        return decided, None, waiting
    return decided, max(marked[a] for a in decided), 0


def _figures(s, call_id: str) -> tuple[dict, list[tuple[str, str, int]]]:
    rows = s.execute(select(Applicant.city, Applicant.country)
                     .join(Application, Application.applicant_id == Applicant.id)
                     .where(Application.call_id == call_id, Application.status == "submitted",
                            Application.submitted_at.is_not(None))).all()
    cities: dict[tuple[str, str], list] = {}
    for city, country in rows:
        name = (city or "").strip()
        if not name or name == ERASED:
            continue  # an erased individual's city is nobody's to count
        key = (country, name.casefold())
        cities.setdefault(key, [name, country, 0])[2] += 1
    listed = sorted((tuple(v) for v in cities.values()), key=lambda c: (c[1], c[0].casefold()))
    return ({"applications": len(rows), "cities": len(cities), "countries": len({c for _, c in rows})},
            listed)


def _awards(s, call: Call, decided: dict[str, str]) -> list[Award]:
    shown = [a for a, stage in decided.items() if stage in SHOWN]
    if not shown:
        return []
    titles = {c["key"]: c.get("title") or c["key"] for c in call.categories or []}
    details = {}
    for application_id, detail in s.execute(
            select(StatusUpdate.application_id, StatusUpdate.detail).where(
                StatusUpdate.application_id.in_(shown), StatusUpdate.stage.in_(AWARD_STAGES))
            .order_by(StatusUpdate.occurred_at, StatusUpdate.event_id)):
        details[application_id] = detail or ""
    photos = {p.application_id: p for p in s.scalars(select(PublicPhoto).where(PublicPhoto.application_id.in_(shown)))}
    found = []
    for app, applicant in s.execute(select(Application, Applicant).join(Applicant, Applicant.id == Application.applicant_id)
                                    .where(Application.id.in_(shown))):
        photo = photos.get(app.id)
        found.append(Award(app.id, app.reference, app.category, titles.get(app.category, app.category),
                           decided[app.id], details.get(app.id, ""), applicant.organisation, applicant.city,
                           applicant.country, app.title, app.summary,
                           photo=photo is not None and _usable(s.get(Document, photo.document_id), app.id),
                           photo_at=as_utc(photo.approved_at) if photo else None))
    return found


def _usable(doc: Document | None, application_id: str) -> bool:
    return (doc is not None and doc.application_id == application_id and doc.status == "verified"
            and (doc.content_type or "").startswith("image/"))


def edition_results(s, call: Call, *, embargoed_too: bool = False) -> Results:
    """The edition's results; before the release only the state (no awards, no figures) unless
    ``embargoed_too`` (the secretariat's own page, which prepares the photos)."""
    decided, released_at, waiting = release_state(s, call.id)
    found = Results(call.id, call.year, call.theme, released_at is not None, released_at, waiting=waiting)
    if found.released or embargoed_too:
        found.awards = _awards(s, call, decided)
        found.figures, found.cities = _figures(s, call.id)
    return found


def released_results(s, year: int) -> tuple[Call, Results] | None:
    """The edition of ``year`` and its results, or None: no such edition, or not released (the
    same None: whether results exist cannot be told before the release)."""
    if not 0 < year < 10000:  # no edition; and no integer the database cannot take
        return None
    call = s.scalar(select(Call).where(Call.year == year))
    if call is None:
        return None
    found = edition_results(s, call)
    return (call, found) if found.released else None


def released_editions(s) -> list[tuple[Call, Results]]:
    """Every released edition, newest first."""
    found = []
    for call in s.scalars(select(Call).order_by(Call.year.desc())):
        results = edition_results(s, call)
        if results.released:
            found.append((call, results))
    return found


def photo_document(s, year: int, application_id: str) -> Document | None:
    """The approved photo of a released winner or special mention of ``year``'s edition, or None."""
    found = released_results(s, year)
    if found is None:
        return None
    award = next((a for a in found[1].awards if a.application_id == application_id and a.photo), None)
    if award is None:
        return None
    return s.get(Document, s.get(PublicPhoto, application_id).document_id)


def figures_en(figures: dict) -> str:
    """"N applications from M cities in K countries", in English (feeds, press kit)."""
    def n(count: int, one: str, many: str) -> str:
        return f"{count} {one if count == 1 else many}"
    return (f"{n(figures['applications'], 'application', 'applications')} from "
            f"{n(figures['cities'], 'city', 'cities')} in {n(figures['countries'], 'country', 'countries')}")
