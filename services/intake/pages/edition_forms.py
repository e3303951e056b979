"""The Editions pages' forms: what the secretariat typed, turned into what ops.calls and
ops.guests take (the API's schemas then check it once more), or into errors next to the fields.
Dates are typed in ``<input type="datetime-local">`` and mean the edition's (or the ceremony's)
time zone; they are stored in UTC and shown back in that zone with its name."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from shared.events.common import APPLICANT_TYPES

from .. import rules

ZONES = sorted(available_timezones())
MB = 1024 * 1024
MAX_UPLOAD_MB = 5 * 1024
BLANK_ROWS = 2  # empty rows offered under a list (criteria, documents) to add to it without script
TYPE_LABELS = {"city_government": "City governments", "institution": "Institutions",
               "corporation": "Corporations", "individual": "Individuals (mayors, leaders)"}
assert set(TYPE_LABELS) == set(APPLICANT_TYPES)


class Form:
    """The typed values (kept as typed, to show them back) and the errors found, by field."""

    def __init__(self, values: dict):
        self.values = values
        self.errors: dict[str, list[str]] = {}
        for field, value in values.items():  # PostgreSQL stores no NUL (the API refuses it before any view)
            if isinstance(value, str) and "\x00" in value:
                self.error(field, "This field may not contain NUL characters.")

    def error(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def text(self, field: str, label: str, *, max_length: int, required: bool = True) -> str:
        value = (self.values.get(field) or "").strip()
        if required and not value:
            self.error(field, f"{label} is required.")
        elif len(value) > max_length:
            self.error(field, f"{label} may have at most {max_length} characters (this has {len(value)}).")
        return value

    def integer(self, field: str, label: str, low: int, high: int, *, required: bool = True) -> int | None:
        value = (self.values.get(field) or "").strip()
        if not value:
            if required:
                self.error(field, f"{label} is required.")
            return None
        try:
            number = int(value)
        except ValueError:
            self.error(field, f"{label} must be a whole number.")
            return None
        if not low <= number <= high:
            self.error(field, f"{label} must be between {low} and {high}.")
            return None
        return number

    def zone(self, field: str = "time_zone") -> str | None:
        value = (self.values.get(field) or "").strip()
        if not zone_known(value):
            self.error(field, "Choose a time zone from the list" + (f" ({value!r} is not one)." if value else "."))
            return None
        return value

    def moment(self, field: str, label: str, zone: str | None) -> datetime | None:
        """A datetime-local value in ``zone``, as UTC (None, with an error, if it is no date)."""
        value = (self.values.get(field) or "").strip()
        if not value:
            self.error(field, f"{label} is required.")
            return None
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?", value):
                raise ValueError(value)
            local = datetime.fromisoformat(value)
        except ValueError:
            self.error(field, f"{label} must be a date and time (YYYY-MM-DD HH:MM).")
            return None
        if not 2000 <= local.year <= 2100:
            self.error(field, f"{label} must be between the years 2000 and 2100.")
            return None
        if zone is None:
            return None  # the time zone's own error says why
        return local.replace(tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)

    @property
    def ok(self) -> bool:
        return not self.errors


def zone_known(name: str) -> bool:
    if not name or name not in ZONES:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def local_input(moment: datetime | None, zone: str) -> str:
    """What a datetime-local input shows for ``moment`` in ``zone``."""
    if moment is None:
        return ""
    return rules.as_utc(moment).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def shown(moment: datetime | None, zone: str) -> str:
    """A moment as the pages show it: "14 July 2026, 18:00 (Asia/Seoul)"."""
    return f"{rules.local_time(moment, zone)} ({zone})" if moment is not None else ""


def schema_errors(messages: dict, fields: dict[str, str] | None = None) -> dict[str, list[str]]:
    """marshmallow's errors, by the form's field names (nested ones flattened to their top field)."""
    fields = fields or {}
    out: dict[str, list[str]] = {}
    for name, problems in messages.items():
        if name == "json":
            for k, v in schema_errors(problems, fields).items():
                out.setdefault(k, []).extend(v)
            continue
        flat = problems if isinstance(problems, list) else [str(problems)]
        out.setdefault(fields.get(name, name), []).extend(str(p) for p in flat)
    return out


def reason_needed(form: Form, call) -> str | None:
    """An opened edition's change needs a reason (kept with its version); a draft's does not."""
    if call.status == "draft":
        return None
    return form.text("reason", "The reason for this change", max_length=2000)


# --- the edition's own terms ---

def parse_create(values: dict) -> tuple[dict, Form]:
    form = Form(values)
    zone = form.zone()
    data = {"year": form.integer("year", "The year", 2000, 2100),
            "theme": form.text("theme", "The theme", max_length=300),
            "opens_at": form.moment("opens_at", "The opening time", zone),
            "closes_at": form.moment("closes_at", "The closing time", zone),
            "time_zone": zone,
            "score_min": form.integer("score_min", "The lowest score", 0, 1000),
            "score_max": form.integer("score_max", "The highest score", 0, 1000)}
    _order(form, data)
    return data, form


def _order(form: Form, data: dict) -> None:
    if data.get("opens_at") and data.get("closes_at") and data["closes_at"] <= data["opens_at"]:
        form.error("closes_at", "The closing time must be after the opening time.")
    if data.get("score_min") is not None and data.get("score_max") is not None \
            and data["score_max"] <= data["score_min"]:
        form.error("score_max", "The highest score must be greater than the lowest.")


def create_values(call=None) -> dict:
    return {"year": "", "theme": "", "opens_at": "", "closes_at": "", "time_zone": "Asia/Seoul",
            "score_min": "1", "score_max": "10"}


def terms_values(call) -> dict:
    zone = call.time_zone
    return {"theme": call.theme, "opens_at": local_input(call.opens_at, zone),
            "closes_at": local_input(call.closes_at, zone), "time_zone": zone, "score_min": str(call.score_min),
            "score_max": str(call.score_max), "reason": ""}


def parse_terms(values: dict, call) -> tuple[dict, Form]:
    form = Form(values)
    zone = form.zone()
    data = {"theme": form.text("theme", "The theme", max_length=300),
            "opens_at": form.moment("opens_at", "The opening time", zone),
            "closes_at": form.moment("closes_at", "The closing time", zone),
            "time_zone": zone,
            "score_min": form.integer("score_min", "The lowest score", 0, 1000),
            "score_max": form.integer("score_max", "The highest score", 0, 1000)}
    _order(form, data)
    reason = reason_needed(form, call)
    if reason:
        data["reason"] = reason
    return data, form


# --- a category and its criteria ---

def _flat(prefix: str, rows: list[dict]) -> dict:
    """A list's rows as the form's field names ("c0-title"), which the errors are named by."""
    return {f"{prefix}{i}-{name}": value for i, row in enumerate(rows) for name, value in row.items()}


def slug(title: str) -> str:
    """A criterion's key from its title: lower-case ASCII letters, digits and underscores."""
    key = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")[:40]
    return key if key and key[0].isalpha() else ("c_" + key)[:40].rstrip("_") or "criterion"


def category_values(category: dict, offered: bool) -> dict:
    rows = [{"key": c["key"], "title": c["title"], "weight": _number(c.get("weight", 1)),
             "word_limit": str(c.get("word_limit") or ""), "required": bool(c.get("required", True)),
             "guidance": "\n".join(c.get("guidance") or []), "remove": False} for c in category["criteria"]]
    rows += [_blank_row() for _ in range(BLANK_ROWS)]
    return {"title": category["title"], "applicant_types": list(category["applicant_types"]), "offered": offered,
            "criteria": rows, "reason": ""}


def _blank_row() -> dict:
    return {"key": "", "title": "", "weight": "", "word_limit": "", "required": True, "guidance": "", "remove": False}


def _number(value) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def category_form_values(form_data, rows: int) -> dict:
    """What the category form sent, in the shape category_values gives (to show it back)."""
    def row(i):
        get = lambda name: (form_data.get(f"c{i}-{name}") or "")  # noqa: E731
        return {"key": get("key").strip(), "title": get("title"), "weight": get("weight"),
                "word_limit": get("word_limit"), "required": bool(get("required")), "guidance": get("guidance"),
                "remove": bool(get("remove"))}
    return {"title": form_data.get("title") or "", "applicant_types": form_data.getlist("applicant_types"),
            "offered": bool(form_data.get("offered")), "criteria": [row(i) for i in range(rows)],
            "reason": form_data.get("reason") or ""}


def parse_category(values: dict, key: str, call, other_titles: list[str]) -> tuple[dict | None, Form]:
    """The category as CategoryTerms holds it (None when it is no longer offered)."""
    form = Form({**values, **_flat("c", values["criteria"])})
    title = form.text("title", "The category's name", max_length=300)
    if title and title.casefold() in {t.casefold() for t in other_titles}:
        form.error("title", f"Another category of this edition is already called {title!r}.")
    types = values["applicant_types"]
    if not types:
        form.error("applicant_types", "Choose who may apply in this category.")
    elif any(t not in APPLICANT_TYPES for t in types):
        form.error("applicant_types", "Choose among the listed applicant types.")
    criteria, seen_titles, seen_keys = [], {}, set()
    for i, row in enumerate(values["criteria"]):
        if row["remove"] or not (row["key"] or row["title"].strip() or row["weight"].strip() or row["guidance"].strip()):
            continue  # removed, or a blank row left blank
        criterion = _criterion(form, i, row, seen_keys)
        name = criterion["title"].casefold()
        if name and name in seen_titles:
            form.error(f"c{i}-title", f"Two criteria are called {criterion['title']!r}: name each once.")
        seen_titles[name] = i
        criteria.append(criterion)
    if not criteria:
        form.error("criteria", "A category needs at least one criterion.")
    reason_needed(form, call)
    if not values["offered"]:
        return None, form
    return {"key": key, "title": title, "applicant_types": types, "criteria": criteria}, form


def _criterion(form: Form, i: int, row: dict, seen_keys: set) -> dict:
    title = form.text(f"c{i}-title", "The criterion's name", max_length=300)
    weight = None
    text = row["weight"].strip()
    try:
        weight = float(text)
        if not weight > 0 or weight > 1000:
            form.error(f"c{i}-weight", "The weight must be more than 0 (and at most 1000).")
    except ValueError:
        form.error(f"c{i}-weight", "The weight must be a number more than 0, e.g. 1 or 1.5.")
    limit = form.integer(f"c{i}-word_limit", "The word limit", 1, 100_000, required=False)
    guidance = [line.strip() for line in row["guidance"].splitlines() if line.strip()]
    for line in guidance:
        if len(line) > 500:
            form.error(f"c{i}-guidance", "Each line of guidance may have at most 500 characters.")
            break
    if len(guidance) > 20:
        form.error(f"c{i}-guidance", "At most 20 lines of guidance.")
    key = row["key"] or slug(title)
    base, n = key, 2
    while key in seen_keys:  # a new criterion whose title makes an existing key
        key, n = f"{base[:45]}_{n}", n + 1
    seen_keys.add(key)
    criterion = {"key": key[:50], "title": title, "weight": weight if weight and weight > 0 else 1.0,
                 "guidance": guidance, "required": row["required"]}
    if limit is not None:
        criterion["word_limit"] = limit
    return criterion


# --- required documents and the upload limit ---

def documents_values(call) -> dict:
    rows = [{"key": d["key"], "title": d["title"], "required": bool(d.get("required")), "remove": False}
            for d in call.documents or []]
    rows += [{"key": "", "title": "", "required": False, "remove": False} for _ in range(BLANK_ROWS)]
    mb = (call.max_upload_bytes or 50 * MB) / MB
    return {"documents": rows, "max_upload_mb": _number(round(mb, 2)), "reason": ""}


def documents_form_values(form_data, rows: int) -> dict:
    def row(i):
        return {"key": (form_data.get(f"d{i}-key") or "").strip(), "title": form_data.get(f"d{i}-title") or "",
                "required": bool(form_data.get(f"d{i}-required")), "remove": bool(form_data.get(f"d{i}-remove"))}
    return {"documents": [row(i) for i in range(rows)], "max_upload_mb": form_data.get("max_upload_mb") or "",
            "reason": form_data.get("reason") or ""}


def parse_documents(values: dict, call) -> tuple[dict, Form]:
    form = Form({**values, **_flat("d", values["documents"])})
    documents, titles, keys = [], set(), set()
    for i, row in enumerate(values["documents"]):
        if row["remove"] or not (row["key"] or row["title"].strip()):
            continue
        title = form.text(f"d{i}-title", "The document's name", max_length=300)
        if title.casefold() in titles:
            form.error(f"d{i}-title", f"Two documents are called {title!r}: name each once.")
        titles.add(title.casefold())
        key = row["key"] or slug(title)
        base, n = key, 2
        while key in keys:
            key, n = f"{base[:45]}_{n}", n + 1
        keys.add(key)
        documents.append({"key": key[:50], "title": title, "required": row["required"]})
    text = (values.get("max_upload_mb") or "").strip()
    size = None
    try:
        mb = float(text)
        if not 0 < mb <= MAX_UPLOAD_MB:
            raise ValueError(text)
        size = max(1, int(mb * MB))
    except ValueError:
        form.error("max_upload_mb", f"The largest upload must be a number of megabytes above 0, at most {MAX_UPLOAD_MB}.")
    data = {"documents": documents, "max_upload_bytes": size}
    reason = reason_needed(form, call)
    if reason:
        data["reason"] = reason
    return data, form


# --- deadline exceptions and the ceremony ---

def parse_exception(values: dict, zone: str) -> tuple[dict, Form]:
    form = Form(values)
    data = {"applicant": form.text("applicant", "The applicant's sign-in address or reference", max_length=320),
            "closes_at": form.moment("closes_at", "The new closing time", zone),
            "reason": form.text("reason", "The reason", max_length=2000)}
    return data, form


def ceremony_values(ceremony, call) -> dict:
    if ceremony is None:
        return {"starts_at": "", "time_zone": call.time_zone, "venue": "", "address": "", "details": "",
                "rsvp_by": "", "max_delegates": "3"}
    zone = ceremony.time_zone
    return {"starts_at": local_input(ceremony.starts_at, zone), "time_zone": zone, "venue": ceremony.venue,
            "address": ceremony.address or "", "details": ceremony.details or "",
            "rsvp_by": local_input(ceremony.rsvp_by, zone), "max_delegates": str(ceremony.max_delegates)}


def parse_ceremony(values: dict) -> tuple[dict, Form]:
    form = Form(values)
    zone = form.zone()
    data = {"starts_at": form.moment("starts_at", "The start", zone), "time_zone": zone,
            "venue": form.text("venue", "The venue", max_length=300),
            "address": form.text("address", "The address", max_length=1000, required=False),
            "details": form.text("details", "The programme notes", max_length=5000, required=False),
            "rsvp_by": form.moment("rsvp_by", "The date answers are asked by", zone),
            "max_delegates": form.integer("max_delegates", "The largest delegation", 1, 20)}
    if data["starts_at"] and data["rsvp_by"] and data["rsvp_by"] >= data["starts_at"]:
        form.error("rsvp_by", "Answers must be asked for before the ceremony starts.")
    if data["starts_at"] and data["starts_at"] <= datetime.now(timezone.utc):
        form.error("starts_at", "The ceremony must be in the future.")
    return data, form
