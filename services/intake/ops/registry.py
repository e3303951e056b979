"""The secretariat's registry: every applicant with their applications, as one list to search,
filter, sort and page. Flask-free; the pages and the API parse the arguments (``lenient_query``
or their schema) and call ``search`` or ``export_rows``.

One row per application, and one row for an applicant without any ("registered"; with an
edition chosen: without any in that edition). Everything is computed in SQL, so a page costs
the same few statements for 30 rows or 30,000: the editions' terms (to know what each category
requires), one count and one page (LIMIT/OFFSET). Completeness is rules.assess's measure, the
share of the required parts filled (title, summary, each required answer with a non-blank
word, each required document checked), built from each edition's terms as a CASE.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Mapping

from sqlalchemy import Float, and_, case, cast, exists, func, literal, not_, null, or_, select, type_coerce

from shared.db import UTCDateTime
from shared.events.common import APPLICANT_TYPES, CATEGORIES

from ..models import Applicant, Application, Call, Document, StatusUpdate
from ..rules import RELEASED_PREFIX, as_utc
from .regions import REGION_LABELS, REGION_OF_COUNTRY, countries_of, region_of

PAGE_SIZE = 50
MAX_TEXT = 200  # a search longer than any name or address is cut, not refused
MAX_PAGE = 100_000
EXPORT_LIMIT = 100_000
STAGES = ("eligible", "ineligible", "finalist", "not_advanced", "winner", "special_mention", "not_awarded")
STATUSES = ("registered", "draft", "submitted", "withdrawn") + STAGES
SORTS = ("activity", "organisation", "contact", "email", "reference", "title", "edition", "category", "country",
         "region", "type", "status", "completeness")
DIRECTIONS = ("asc", "desc")
REGIONS = tuple(REGION_LABELS)
# Python's str.split() (rules.word_count) splits on these too; a blank answer is one of only these.
WHITESPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006" \
             "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


@dataclass(frozen=True)
class RegistryQuery:
    q: str = ""
    year: int | None = None
    category: str = ""
    country: str = ""
    region: str = ""
    type: str = ""
    status: str = ""
    sort: str = "activity"
    direction: str = "desc"
    page: int = 1

    def args(self, **changes) -> dict:
        """The query string of this query with ``changes``: only what differs from the default,
        so links stay short and shareable."""
        changed, default = asdict(replace(self, **changes)), asdict(RegistryQuery())
        return {k: v for k, v in changed.items() if v != default[k] and v not in ("", None)}


def lenient_query(args: Mapping[str, str]) -> RegistryQuery:
    """A query from a page's arguments, whatever they are: unknown values are dropped, numbers
    clamped and long text cut, so a hand-edited or stale link still shows a list."""
    def text(name: str) -> str:
        return str(args.get(name) or "").strip()[:MAX_TEXT]

    def number(name: str, low: int, high: int) -> int | None:
        try:
            return min(max(int(text(name)[:12]), low), high)
        except ValueError:
            return None

    year = number("year", 2000, 2100)
    country = text("country").upper()
    return RegistryQuery(
        q=text("q"), year=year if text("year") == str(year) else None,
        category=text("category") if text("category") in CATEGORIES else "",
        country=country if len(country) == 2 and country.isascii() and country.isalpha() else "",
        region=text("region") if text("region") in REGIONS else "",
        type=text("type") if text("type") in APPLICANT_TYPES else "",
        status=text("status") if text("status") in STATUSES else "",
        sort=text("sort") if text("sort") in SORTS else "activity",
        direction=text("direction") if text("direction") in DIRECTIONS else "desc",
        page=number("page", 1, MAX_PAGE) or 1)


@dataclass
class RegistryPage:
    query: RegistryQuery
    items: list[dict]
    total: int
    page: int
    pages: int
    page_size: int = PAGE_SIZE


# --- the SQL -----------------------------------------------------------------------------------

def _latest_stage():
    """The latest review stage intake heard of (screening and decisions; release markers aside)."""
    return (select(StatusUpdate.stage)
            .where(StatusUpdate.application_id == Application.id,
                   not_(StatusUpdate.stage.startswith(RELEASED_PREFIX, autoescape=True)))
            .order_by(StatusUpdate.occurred_at.desc(), StatusUpdate.event_id.desc())
            .limit(1).correlate(Application).scalar_subquery())


def _status():
    return case((Application.id.is_(None), literal("registered")),
                (Application.status == "submitted", func.coalesce(_latest_stage(), "submitted")),
                else_=Application.status)


def _filled(expr, dialect: str):
    """1 if ``expr`` holds a word (rules.word_count > 0), else 0."""
    trimmed = (func.btrim if dialect == "postgresql" else func.trim)(func.coalesce(expr, ""), WHITESPACE)
    return case((trimmed != "", 1), else_=0)


def _document_checked(kind: str):
    return case((exists().where(Document.application_id == Application.id, Document.status == "verified",
                                Document.kind == kind), 1), else_=0)


def _completeness(calls: list, dialect: str):
    """(parts filled, parts required) of each application under its edition's terms."""
    filled, required = [], []
    base = _filled(Application.title, dialect) + _filled(Application.summary, dialect)
    for call in calls:
        documents = [d["key"] for d in (call.documents or []) if d.get("required")]
        for terms in call.categories or []:
            criteria = [c["key"] for c in terms["criteria"] if c.get("required")]
            parts = [_filled(Application.answers[key].as_string(), dialect) for key in criteria]
            parts += [_document_checked(key) for key in documents]
            when = and_(Application.call_id == call.id, Application.category == terms["key"])
            filled.append((when, sum(parts, base)))
            required.append((when, literal(2 + len(parts))))
    if not filled:
        return null(), null()
    return case(*filled, else_=None), case(*required, else_=None)


def _last_activity(dialect: str):
    """The latest of: registration, the application's last change (save, submit, withdraw) and
    its last upload or check."""
    documents = (select(func.max(func.coalesce(Document.verified_at, Document.created_at)))
                 .where(Document.application_id == Application.id).correlate(Application).scalar_subquery())
    if dialect == "postgresql":  # greatest() passes over NULLs
        latest = func.greatest(Applicant.created_at, Application.updated_at, documents)
    else:  # SQLite's max(a, b, ...) is NULL if one is; the stored texts sort as the times do
        latest = func.max(Applicant.created_at, func.coalesce(Application.updated_at, Applicant.created_at),
                          func.coalesce(documents, Applicant.created_at))
    return type_coerce(latest, UTCDateTime)


def _columns(calls: list, dialect: str) -> dict:
    filled, required = _completeness(calls, dialect)
    return {
        "status": _status(), "filled": filled, "required": required, "last_activity": _last_activity(dialect),
        "region": case(REGION_OF_COUNTRY, value=Applicant.country, else_=literal("other")),
        "ratio": cast(filled, Float) / required,
    }


def _filters(query: RegistryQuery, cols: dict) -> list:
    where = []
    if query.q:
        where.append(or_(*(column.icontains(query.q, autoescape=True) for column in (
            Applicant.organisation, Applicant.contact_name, Applicant.contact_email, Application.reference,
            Application.title))))
    for value, column in ((query.category, Application.category), (query.country, Applicant.country),
                          (query.type, Applicant.type)):
        if value:
            where.append(column == value)
    if query.region == "other":
        where.append(Applicant.country.not_in(list(REGION_OF_COUNTRY)))
    elif query.region:
        where.append(Applicant.country.in_(countries_of(query.region)))
    if query.status == "registered":
        where.append(Application.id.is_(None))
    elif query.status in ("draft", "submitted", "withdrawn"):
        where.append(Application.status == query.status)
    elif query.status:
        where.append(and_(Application.status == "submitted", cols["status"] == query.status))
    return where


def _order(query: RegistryQuery, cols: dict) -> list:
    key = {"activity": cols["last_activity"], "organisation": func.lower(Applicant.organisation),
           "contact": func.lower(Applicant.contact_name), "email": Applicant.contact_email,
           "reference": Application.reference, "title": func.lower(Application.title), "edition": Call.year,
           "category": Application.category, "country": Applicant.country, "region": cols["region"],
           "type": Applicant.type, "status": cols["status"], "completeness": cols["ratio"]}[query.sort]
    first = key.desc() if query.direction == "desc" else key.asc()
    # ties are broken the same way every time, so no row shows on two pages or on none
    return [first.nulls_last(), Applicant.id.asc(), Application.id.asc().nulls_first()]


def _base(select_, query: RegistryQuery, cols: dict):
    edition = Application.__table__.join(Call.__table__, Call.id == Application.call_id)
    joined = Application.applicant_id == Applicant.id
    if query.year is not None:  # in the join: an applicant with nothing in this edition stays, as registered
        joined = and_(joined, Call.year == query.year)
    return select_.select_from(Applicant).outerjoin(edition, joined).where(*_filters(query, cols))


def _calls(s) -> list:
    return list(s.execute(select(Call.id, Call.year, Call.categories, Call.documents)).all())


def _row(r) -> dict:
    status = r.status if r.application_id else "registered"
    lifecycle = "submitted" if status in STAGES else status
    return {
        "applicant_id": r.applicant_id, "application_id": r.application_id, "reference": r.reference,
        "year": r.year, "title": r.title, "organisation": r.organisation, "contact_name": r.contact_name,
        "contact_email": r.contact_email, "city": r.city, "country": r.country, "region": region_of(r.country),
        "type": r.type, "category": r.category, "status": lifecycle,
        "stage": status if status in STAGES else None,
        "completeness": None if not r.required else int(round(100 * r.filled / r.required)),
        "last_activity": as_utc(r.last_activity) if r.last_activity else None, "submitted_at": r.submitted_at,
    }


def _selected(cols: dict):
    return select(Applicant.id.label("applicant_id"), Applicant.organisation, Applicant.contact_name,
                  Applicant.contact_email, Applicant.city, Applicant.country, Applicant.type,
                  Application.id.label("application_id"), Application.reference, Application.title,
                  Application.category, Application.submitted_at, Call.year, cols["status"].label("status"),
                  cols["filled"].label("filled"), cols["required"].label("required"),
                  cols["last_activity"].label("last_activity"))


def search(db, query: RegistryQuery) -> RegistryPage:
    """One page of the registry and how many rows match in all: three statements, whatever the
    size. A page past the last shows the last."""
    with db.session() as s:
        dialect = s.get_bind().dialect.name
        cols = _columns(_calls(s), dialect)
        total = s.scalar(_base(select(func.count()), query, cols))
        pages = max(1, math.ceil(total / PAGE_SIZE))
        page = min(query.page, pages)
        rows = s.execute(_base(_selected(cols), query, cols).order_by(*_order(query, cols))
                         .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return RegistryPage(replace(query, page=page), [_row(r) for r in rows], total, page, pages)


def export_rows(db, query: RegistryQuery) -> list[dict]:
    """Every row the query matches (no paging, at most EXPORT_LIMIT), in its order: the export."""
    with db.session() as s:
        cols = _columns(_calls(s), s.get_bind().dialect.name)
        rows = s.execute(_base(_selected(cols), query, cols).order_by(*_order(query, cols))
                         .limit(EXPORT_LIMIT)).all()
    return [_row(r) for r in rows]


def choices(db) -> dict:
    """What the filters offer: the editions and the countries that applicants come from."""
    with db.session() as s:
        years = list(s.scalars(select(Call.year).order_by(Call.year.desc())))
        countries = list(s.scalars(select(Applicant.country).distinct().order_by(Applicant.country)))
    return {"years": years, "countries": countries, "categories": list(CATEGORIES), "types": list(APPLICANT_TYPES),
            "regions": REGION_LABELS, "statuses": list(STATUSES)}

