"""Email templates: Jinja2 files per template and language, plain text and HTML (autoescaped)."""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, select_autoescape

FOLDER = Path(__file__).parent / "templates" / "email"
DEFAULT_LANGUAGE = "en"

_env = Environment(
    loader=FileSystemLoader(FOLDER),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,  # a missing value fails loudly instead of mailing a blank
    keep_trailing_newline=True,
)

CATEGORY_TITLES = {
    "en": {"tech_innovacity": "Tech-InnovaCity", "human_centricity": "Human-CentriCity",
           "leadership": "Leadership"},
    "ko": {"tech_innovacity": "Tech-InnovaCity (기술혁신도시)", "human_centricity": "Human-CentriCity (포용도시)",
           "leadership": "리더십"},
}

ROUND_TITLES = {
    "en": {"finalist": "selection of finalists", "award": "selection of the winners"},
    "ko": {"finalist": "결선 진출작 선정", "award": "수상작 선정"},
}

# Month names for dates in subject lines ("by 14 August", "8월 14일까지"), not locale-dependent.
MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"),
    "ko": tuple(f"{m}월" for m in range(1, 13)),
}

# Where a sign-in link leads, by audience: (place in a sentence, site in a subject line).
SIGNIN_PLACES = {
    "en": {"applicant": ("the applicant portal", "portal"), "juror": ("the jury's pages", "jury pages")},
    "ko": {"applicant": ("신청 포털", "신청 포털"), "juror": ("심사 페이지", "심사 페이지")},
}


def language_for(template: str, wanted: str | None) -> str:
    """The recipient's language if we have this template in it, else English."""
    if wanted and (FOLDER / f"{template}.{wanted}.txt").exists():
        return wanted
    return DEFAULT_LANGUAGE


def render(template: str, language: str, context: dict) -> tuple[str, str, str]:
    """Return (subject, text, html)."""
    try:
        text_tpl = _env.get_template(f"{template}.{language}.txt")
        html_tpl = _env.get_template(f"{template}.{language}.html")
    except TemplateNotFound as exc:
        raise LookupError(f"no email template {exc.name}") from exc
    ctx = text_tpl.new_context(dict(context))
    subject = "".join(text_tpl.blocks["subject"](ctx)).strip()
    text = "".join(text_tpl.blocks["text"](ctx)).strip() + "\n"
    html = html_tpl.render(**context)
    return subject, text, html
