"""The PDF of a submitted application: what it says (``pdf_view``, pure) and how it is drawn
(``render_pdf``: a Jinja template in the applicant's language, laid out by WeasyPrint).

Korean, Chinese and Thai answers need fonts with their glyphs: the template names Noto Sans CJK
(Debian's fonts-noto-cjk) and the Thai TLWG fonts (fonts-thai-tlwg), and fontconfig finds any
other script in what the machine has. The template fetches nothing: every URL is refused.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, select_autoescape

from shared import i18n
from shared.storage_checks import ALLOWED_TYPES, download_name

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
TEMPLATE = "portal/submission_pdf.html"
_environments: dict[str, Environment] = {}


def _moment(value) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _zone_offset(moment: datetime) -> str:
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign, minutes = ("+" if minutes >= 0 else "-"), abs(minutes)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def submission_times(submitted_at, time_zone: str | None) -> dict:
    """The submission time in the call's zone and in UTC, as the PDF writes them (to the second,
    the same in every language: a date read across borders must not be misread)."""
    utc = _moment(submitted_at).astimezone(timezone.utc)
    zone = time_zone or "UTC"
    local = utc.astimezone(ZoneInfo(zone))
    return {"local": f"{local:%Y-%m-%d %H:%M:%S} {zone} ({_zone_offset(local)})",
            "utc": f"{utc:%Y-%m-%d %H:%M:%S} UTC"}


def pdf_view(record: dict, call) -> dict:
    """What the PDF shows, from the submission's record (the application.submitted event's data)
    and the call's terms (the titles of the category, criteria and document kinds)."""
    terms = next((c for c in call.categories if c["key"] == record["category"]), {"title": record["category"],
                                                                                  "criteria": []})
    answers = dict(record.get("answers") or {})
    criteria = [{"title": c["title"], "answer": answers.pop(c["key"], "")} for c in terms.get("criteria", [])]
    criteria += [{"title": key, "answer": text} for key, text in sorted(answers.items())]  # none, by the rules
    kinds = {d["key"]: d["title"] for d in (call.documents or [])}
    # each file under the name it downloads as (the extension of its checked type)
    documents = [{"kind": kinds.get(d["kind"], d["kind"]), "filename": download_name(d["filename"], d["content_type"]),
                  "size": d["size"],
                  "type": ALLOWED_TYPES.get(d["content_type"], d["content_type"]).lstrip(".").upper(),
                  "sha256": d["sha256"]} for d in record.get("documents") or []]
    return {"reference": record["reference"], "year": record["year"], "title": record["title"],
            "summary": record.get("summary", ""), "category": terms["title"], "applicant": record["applicant"],
            "project": record.get("project") or {}, "criteria": criteria, "documents": documents,
            "submitted": submission_times(record["submitted_at"], record.get("time_zone"))}


def pdf_language(record: dict) -> str:
    """The applicant's language if the pages speak it, else English."""
    language = (record.get("applicant") or {}).get("language")
    return language if i18n.is_offered(language) else i18n.SOURCE_LANGUAGE


def _environment(language: str) -> Environment:
    if language not in _environments:
        env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                          extensions=["jinja2.ext.i18n"])
        env.install_gettext_translations(i18n.translations(language), newstyle=True)
        env.filters["number"] = lambda value: format_decimal(value, locale=language)
        _environments[language] = env
    return _environments[language]


def _no_fetching(url: str, *args, **kwargs):
    raise ValueError(f"the submission's PDF fetches nothing ({url[:80]})")


def render_html(view: dict, language: str, made_at: datetime) -> str:
    return _environment(language).get_template(TEMPLATE).render(
        lang=language, made_at=f"{made_at.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC", **view)


def render_pdf(view: dict, language: str, made_at: datetime) -> bytes:
    from weasyprint import HTML  # loaded where PDFs are made, not by every process importing ops
    return HTML(string=render_html(view, language, made_at), url_fetcher=_no_fetching).write_pdf()
