"""Prospects: the organisations the secretariat met or wants as applicants (outreach, issue 17).
Flask-free; the pages (pages/prospects.py) and the API (api/prospects.py) call these.

``clean`` checks and normalises one prospect's fields (the form's, the API's and each line of a
CSV import, ops/prospect_import.py): organisation required, a valid address (lower-cased), an
ISO 3166 alpha-2 country (or its English name) whose region follows, a language and an
applicant type the prize knows, an ISO date or nothing for when they were met. ``create`` and
``edit`` store it with who did it; an edit names the ``version`` it read (a stale one is a 409
naming both versions). The list (``search``) is counted and paged in SQL, 50 a page.
"""
from __future__ import annotations

import math
import re
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from email.utils import parseaddr
from functools import lru_cache
from typing import Mapping

from babel import Locale
from sqlalchemy import case, exists, func, literal, or_, select
from sqlalchemy.exc import IntegrityError

from shared.events.common import APPLICANT_TYPES, LANGUAGES, is_email
from shared.refusals import Refused

from ..models import Applicant, Call, OutreachInvitation, Prospect
from .regions import REGION_LABELS, REGION_OF_COUNTRY, countries_of, country_codes, region_of

PAGE_SIZE = 50
MAX_TEXT = 200
MAX_PAGE = 100_000
TEXT_FIELDS = ("organisation", "applicant_type", "city", "country", "contact_name", "email", "language", "met_at",
               "met_on", "notes", "owner")
FIELDS = TEXT_FIELDS + ("call_id",)
LIMITS = {"organisation": 300, "city": 200, "contact_name": 200, "email": 320, "met_at": 300, "notes": 10_000,
          "owner": 320}
STATUSES = ("met", "invited", "registered", "opted_out")
STATUS_LABELS = {"met": "Met", "invited": "Invited", "registered": "Registered", "opted_out": "Opted out"}
SORTS = ("updated", "organisation", "contact", "email", "country", "region", "met_at", "met_on", "owner", "status")
DIRECTIONS = ("asc", "desc")
REGIONS = tuple(REGION_LABELS)
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class ProspectInvalid(Refused):
    """422: ``problems`` maps each field to what is wrong with it (the API's ``errors.json``)."""

    def __init__(self, problems: dict[str, list[str]]):
        first = next(iter(problems.items()))
        super().__init__(422, f"{first[0]}: {first[1][0]}" + (" (and more, see errors)" if len(problems) > 1 else ""),
                         {"json": problems})
        self.problems = problems


# --- one prospect's fields ---------------------------------------------------------------------

# Names spreadsheets use beside CLDR's English ones (the UN's, older ones, short ones).
COUNTRY_ALIASES = {"viet nam": "VN", "turkey": "TR", "turkiye": "TR", "korea": "KR", "republic of korea": "KR",
                   "korea, republic of": "KR", "usa": "US", "united states of america": "US", "uk": "GB",
                   "great britain": "GB", "russian federation": "RU", "czech republic": "CZ", "ivory coast": "CI",
                   "taiwan, province of china": "TW", "chinese taipei": "TW", "holland": "NL", "swaziland": "SZ",
                   "macedonia": "MK", "burma": "MM", "lao pdr": "LA", "iran, islamic republic of": "IR"}


@lru_cache(maxsize=None)
def _country_names() -> dict[str, str]:
    """English country names (casefolded) → code, some other names, and the codes themselves."""
    names = Locale("en").territories
    found = {names[code].casefold(): code for code in country_codes() if code in names}
    return {**COUNTRY_ALIASES, **found, **{code.casefold(): code for code in country_codes()}}


def country_code(text: str) -> str | None:
    """The ISO 3166 alpha-2 code of ``text``, a code or an English name in any case; else None."""
    return _country_names().get(" ".join(text.split()).casefold())


@lru_cache(maxsize=None)
def _language_names() -> dict[str, str]:
    names = Locale("en").languages
    return {**{names[code].casefold(): code for code in LANGUAGES if code in names},
            **{code: code for code in LANGUAGES}}


def language_code(text: str) -> str | None:
    return _language_names().get(text.strip().casefold())


def _type_key(text: str) -> str:
    return "_".join(text.strip().casefold().replace("-", " ").split())


def email_of(who: str) -> str:
    """The address in an audit name (``Name <email>``); "" for an operator."""
    return parseaddr(who)[1].lower() if "<" in who else ""


def _check_text(field: str, value: str, problems: dict) -> None:
    if "\x00" in value:
        problems.setdefault(field, []).append("may not contain NUL characters")
    elif field in LIMITS and len(value) > LIMITS[field]:
        problems.setdefault(field, []).append(f"is too long: at most {LIMITS[field]} characters")


def _check_values(out: dict, problems: dict) -> None:
    if not out["organisation"]:
        problems.setdefault("organisation", []).append("is required")
    code = country_code(out["country"]) if out["country"] else None
    if not out["country"]:
        problems.setdefault("country", []).append("is required: an ISO 3166 alpha-2 code such as KR")
    elif code is None:
        problems.setdefault("country", []).append(f"unknown country {out['country'][:60]!r}: an ISO 3166 alpha-2 "
                                                  "code (KR) or its English name (South Korea)")
    out["country"], out["region"] = code or out["country"][:2].upper(), region_of(code)
    for field in ("email", "owner"):
        if out[field] and field not in problems:
            if not is_email(out[field]):
                problems.setdefault(field, []).append("is not a valid email address")
    if not out["email"]:
        problems.setdefault("email", []).append("is required")
    language = language_code(out["language"] or "en")
    if language is None:
        problems.setdefault("language", []).append(f"unknown language {out['language'][:30]!r}: one of "
                                                   + ", ".join(LANGUAGES))
    out["language"] = language or out["language"]
    kind = _type_key(out["applicant_type"] or "city_government")
    if kind not in APPLICANT_TYPES:
        problems.setdefault("applicant_type", []).append("one of " + ", ".join(APPLICANT_TYPES))
    out["applicant_type"] = kind
    if out["met_on"] and not _is_date(out["met_on"]):
        problems.setdefault("met_on", []).append(f"bad date {out['met_on'][:30]!r}: YYYY-MM-DD, or empty")


def _is_date(text: str) -> bool:
    try:
        return bool(_DATE.match(text)) and date.fromisoformat(text) is not None
    except ValueError:
        return False


def check(data: Mapping[str, object], default_owner: str = "") -> tuple[dict, dict[str, list[str]]]:
    """(normalised fields, problems per field) of one prospect; nothing is looked up."""
    out, problems = {}, {}
    for field in TEXT_FIELDS:
        value = data.get(field)
        out[field] = " ".join(str(value).split()) if value is not None and field != "notes" else str(value or "")
        out[field] = out[field].strip()
        _check_text(field, out[field], problems)
    out["email"], out["owner"] = out["email"].lower(), (out["owner"] or default_owner).lower()
    _check_values(out, problems)
    out["call_id"] = str(data.get("call_id") or "") or None
    return out, problems


def clean(s, data: Mapping[str, object], default_owner: str = "") -> dict:
    """The checked fields, or ProspectInvalid (422) naming each field at fault."""
    out, problems = check(data, default_owner)
    if out["call_id"] and s.get(Call, out["call_id"]) is None:
        problems.setdefault("call_id", []).append("no such edition")
    if problems:
        raise ProspectInvalid(problems)
    return out


def already(s, email: str, but: str | None = None) -> None:
    """409 when another prospect has this address, naming it."""
    other = s.execute(select(Prospect.id, Prospect.organisation).where(
        Prospect.email == email, Prospect.id != (but or ""))).first()
    if other is not None:
        raise Refused(409, f"{email} is already a prospect: {other.organisation}", {"json": {"email": [
            f"already a prospect: {other.organisation}"]}}, prospect_id=other.id)


# --- create, edit, read -------------------------------------------------------------------------

def create(db, data: Mapping[str, object], who: str, now: datetime) -> dict:
    with db.session() as s, s.begin():
        fields = clean(s, data, email_of(who))
        already(s, fields["email"])
        row = Prospect(id=str(uuid.uuid4()), **fields, version=1, created_at=now, created_by=who, updated_at=now,
                       updated_by=who)
        s.add(row)
        try:
            s.flush()
        except IntegrityError:  # the same address stored meanwhile
            raise Refused(409, f"{fields['email']} is already a prospect", {"json": {"email": ["already a prospect"]}})
    return read(db, row.id)


def edit(db, prospect_id: str, data: Mapping[str, object], version: int | None, who: str, now: datetime) -> dict:
    """Change the fields given (the others stay); ``version`` is the one read: another is a 409."""
    with db.session() as s, s.begin():
        row = s.get(Prospect, prospect_id, with_for_update=True)
        if row is None:
            raise Refused(404, f"no prospect {prospect_id}")
        if version is not None and version != row.version:
            raise Refused(409, f"this prospect changed since version {version} was read: it is at version "
                               f"{row.version} (by {row.updated_by}); reload it and make the change again",
                          version=row.version)
        merged = {f: getattr(row, f) for f in FIELDS}
        merged.update({k: v for k, v in data.items() if k in FIELDS})
        fields = clean(s, merged, email_of(who))  # an owner emptied: the editor
        already(s, fields["email"], but=row.id)
        changed = {k: v for k, v in fields.items() if getattr(row, k) != v}
        if changed:
            for key, value in changed.items():
                setattr(row, key, value)
            row.version, row.updated_at, row.updated_by = row.version + 1, now, who
    return read(db, prospect_id)


def _status():
    invited = exists().where(OutreachInvitation.prospect_id == Prospect.id)
    return case((Prospect.applicant_id.is_not(None), literal("registered")),
                (Prospect.opted_out_at.is_not(None), literal("opted_out")),
                (invited, literal("invited")), else_=literal("met"))


def _row(p: Prospect, status: str, year: int | None) -> dict:
    out = {f: getattr(p, f) for f in FIELDS + ("id", "region", "applicant_id", "opted_out_at", "version",
                                                 "created_at", "created_by", "updated_at", "updated_by")}
    return {**out, "status": status, "year": year}


def read(db, prospect_id: str) -> dict:
    """One prospect with its invitations (newest first) and the applicant it became, if any."""
    with db.session() as s:
        found = s.execute(select(Prospect, _status(), Call.year).outerjoin(Call, Call.id == Prospect.call_id)
                          .where(Prospect.id == prospect_id)).first()
        if found is None:
            raise Refused(404, f"no prospect {prospect_id}")
        out = _row(*found)
        invitations = s.execute(select(OutreachInvitation, Call.year).join(Call, Call.id == OutreachInvitation.call_id)
                                .where(OutreachInvitation.prospect_id == prospect_id)
                                .order_by(OutreachInvitation.sent_at.desc())).all()
        out["invitations"] = [{"id": i.id, "year": year, "call_id": i.call_id, "sent_at": i.sent_at,
                               "sent_by": i.sent_by, "expires_at": i.expires_at, "used_at": i.used_at,
                               "applicant_id": i.applicant_id} for i, year in invitations]
        applicant = s.get(Applicant, out["applicant_id"]) if out["applicant_id"] else None
        out["applicant"] = None if applicant is None else {
            "id": applicant.id, "organisation": applicant.organisation, "contact_email": applicant.contact_email}
    return out


# --- the list ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProspectQuery:
    q: str = ""
    call_id: str = ""
    region: str = ""
    country: str = ""
    owner: str = ""
    met_at: str = ""
    status: str = ""
    sort: str = "updated"
    direction: str = "desc"
    page: int = 1

    def args(self, **changes) -> dict:
        """The query string with ``changes``: only what differs from the defaults."""
        changed, default = asdict(replace(self, **changes)), asdict(ProspectQuery())
        return {k: v for k, v in changed.items() if v != default[k] and v not in ("", None)}


def lenient_query(args: Mapping[str, str]) -> ProspectQuery:
    """A query from a page's arguments: unknown values dropped, long text cut, the page clamped."""
    def text(name: str) -> str:
        return str(args.get(name) or "").strip()[:MAX_TEXT]
    try:
        page = min(max(int(text("page")[:12]), 1), MAX_PAGE)
    except ValueError:
        page = 1
    country = text("country").upper()
    return ProspectQuery(
        q=text("q"), call_id=text("call_id")[:36], owner=text("owner").lower(), met_at=text("met_at"),
        country=country if len(country) == 2 and country.isascii() and country.isalpha() else "",
        region=text("region") if text("region") in REGIONS else "",
        status=text("status") if text("status") in STATUSES else "",
        sort=text("sort") if text("sort") in SORTS else "updated",
        direction=text("direction") if text("direction") in DIRECTIONS else "desc", page=page)


def _filters(query: ProspectQuery, status) -> list:
    where = []
    if query.q:
        where.append(or_(*(c.icontains(query.q, autoescape=True) for c in (
            Prospect.organisation, Prospect.contact_name, Prospect.email, Prospect.city))))
    for value, column in ((query.call_id, Prospect.call_id), (query.country, Prospect.country),
                          (query.owner, Prospect.owner), (query.met_at, Prospect.met_at), (query.status, status)):
        if value:
            where.append(column == value)
    if query.region == "other":
        where.append(Prospect.country.not_in(list(REGION_OF_COUNTRY)))
    elif query.region:
        where.append(Prospect.country.in_(countries_of(query.region)))
    return where


def _order(query: ProspectQuery, status) -> list:
    key = {"updated": Prospect.updated_at, "organisation": func.lower(Prospect.organisation),
           "contact": func.lower(Prospect.contact_name), "email": Prospect.email, "country": Prospect.country,
           "region": Prospect.region, "met_at": func.lower(Prospect.met_at), "met_on": Prospect.met_on,
           "owner": Prospect.owner, "status": status}[query.sort]
    return [key.desc() if query.direction == "desc" else key.asc(), Prospect.id.asc()]


@dataclass
class ProspectPage:
    query: ProspectQuery
    items: list[dict]
    total: int
    page: int
    pages: int
    page_size: int = PAGE_SIZE


def search(db, query: ProspectQuery) -> ProspectPage:
    """One page of prospects and how many match in all: two statements, whatever the size."""
    status = _status()
    with db.session() as s:
        total = s.scalar(select(func.count()).select_from(Prospect).where(*_filters(query, status)))
        pages = max(1, math.ceil(total / PAGE_SIZE))
        page = min(query.page, pages)
        rows = s.execute(select(Prospect, status, Call.year).outerjoin(Call, Call.id == Prospect.call_id)
                         .where(*_filters(query, status)).order_by(*_order(query, status))
                         .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return ProspectPage(replace(query, page=page), [_row(*r) for r in rows], total, page, pages)


def choices(db) -> dict:
    """What the filters and forms offer: editions, and the countries, owners and events in use."""
    with db.session() as s:
        editions = [{"id": i, "year": y, "theme": t} for i, y, t in
                    s.execute(select(Call.id, Call.year, Call.theme).order_by(Call.year.desc()))]

        def used(column):
            return [v for v in s.scalars(select(column).distinct().order_by(column)) if v]
        return {"editions": editions, "countries": used(Prospect.country), "owners": used(Prospect.owner),
                "events": used(Prospect.met_at), "regions": REGION_LABELS, "statuses": STATUS_LABELS,
                "types": list(APPLICANT_TYPES), "languages": list(LANGUAGES)}
