"""What the emails say in each language besides their template files: the names of the
categories, rounds and pages the handlers put in them, and dates written the language's way
(Babel's CLDR data, so a new language needs no month table).

The languages an email can be written in are those that have every template file and an entry
in each table here (ops/templates.complete_languages); tests/notify/test_email_languages.py fails
when a language offered on the pages lacks any of it.
"""
from __future__ import annotations

import re
from datetime import date, datetime

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, get_month_names

DEFAULT_LANGUAGE = "en"
# Babel's locale of a language's emails where it is not the language itself: the emails write
# British English ("10 October 2026"); "pt" is Brazilian Portuguese in CLDR already.
LOCALES = {"en": "en_GB"}

CATEGORY_TITLES = {
    "en": {"tech_innovacity": "Tech-InnovaCity", "human_centricity": "Human-CentriCity",
           "leadership": "Leadership"},
    "ko": {"tech_innovacity": "Tech-InnovaCity (기술혁신도시)", "human_centricity": "Human-CentriCity (포용도시)",
           "leadership": "리더십"},
    "pt": {"tech_innovacity": "Tech-InnovaCity (Cidade da Inovação Tecnológica)",
           "human_centricity": "Human-CentriCity (Cidade Centrada nas Pessoas)", "leadership": "Liderança"},
}

ROUND_TITLES = {
    "en": {"finalist": "selection of finalists", "award": "selection of the winners"},
    "ko": {"finalist": "결선 진출작 선정", "award": "수상작 선정"},
    "pt": {"finalist": "seleção dos finalistas", "award": "seleção dos vencedores"},
}

# Where a sign-in link leads, by audience: (place in a sentence, site in a subject line).
SIGNIN_PLACES = {
    "en": {"applicant": ("the applicant portal", "portal"), "juror": ("the jury's pages", "jury pages"),
           "staff": ("the staff pages", "staff pages")},
    "ko": {"applicant": ("신청 포털", "신청 포털"), "juror": ("심사 페이지", "심사 페이지"),
           "staff": ("직원 페이지", "직원 페이지")},
    "pt": {"applicant": ("o portal de candidaturas", "portal de candidaturas"),
           "juror": ("as páginas do júri", "páginas do júri"), "staff": ("as páginas da equipe", "páginas da equipe")},
}

# A draft reminder lists what is missing: the call's documents by the secretariat's titles, the
# application's own fields (its title, its summary) by these. English: the event's own titles.
FIELD_TITLES = {
    "en": {},
    "ko": {"title": "제목", "summary": "요약"},
    "pt": {"title": "Título", "summary": "Resumo"},
}

TABLES = {"CATEGORY_TITLES": CATEGORY_TITLES, "ROUND_TITLES": ROUND_TITLES, "SIGNIN_PLACES": SIGNIN_PLACES,
          "FIELD_TITLES": FIELD_TITLES}


def missing_words(language: str) -> list[str]:
    """The tables above that have no entry for ``language`` (empty: its words are all here)."""
    return [name for name, table in TABLES.items() if language not in table]


def locale_of(language: str) -> str:
    return LOCALES.get(language, language)


def day(moment: date | datetime, language: str) -> str:
    """A date in a sentence: "10 October 2026", "2026년 10월 10일", "10 de outubro de 2026"."""
    return format_date(moment, "long", locale=locale_of(language))


def month(moment: date | datetime, language: str) -> str:
    """A month's name beside a day ("by 14 August", "8월 14일까지", "até 14 de agosto")."""
    return format_date(moment, "MMMM", locale=locale_of(language))


def label(language: str) -> str:
    """A language as the staff pages name it: its own name, then the English one ("한국어 Korean",
    "Português Portuguese", "English")."""
    try:
        locale = Locale.parse(language)
    except (ValueError, UnknownLocaleError):
        return language
    own, english = locale.get_display_name(language) or language, locale.get_display_name("en") or language
    own = own[:1].upper() + own[1:]
    return english if own == english else f"{own} {english}"


# --- the sample data in a language (previews and checks of the templates in it) -----------------

_ENGLISH_MONTHS = {name: number for number, name in get_month_names("wide", locale=locale_of("en")).items()}
_ENGLISH_DAY = re.compile(r"(\d{1,2}) ([A-Z][a-z]+) (\d{4})")


def _in(language: str, table: dict, english) -> object:
    """``english``, a value of ``table["en"]``, as ``table[language]`` says it (else unchanged)."""
    for key, value in table[DEFAULT_LANGUAGE].items():
        if value == english:
            return table[language][key]
    return english


def _day_in(language: str, english: str) -> str:
    """``english`` with the date it starts with ("14 July 2026 18:00 ...") in ``language``."""
    found = _ENGLISH_DAY.match(english)
    if not found or found.group(2) not in _ENGLISH_MONTHS:
        return english
    moment = date(int(found.group(3)), _ENGLISH_MONTHS[found.group(2)], int(found.group(1)))
    return day(moment, language) + english[found.end():]


def localised(sample: dict, language: str) -> dict:
    """An English sample (samples.py) with the words the handlers write in the email's language
    written in ``language``, as the handlers would: categories, rounds, places, months and the
    ceremony's dates. English gives the sample back as it is."""
    if language == DEFAULT_LANGUAGE or missing_words(language):
        return dict(sample)
    fields = {title: key for key, title in (("title", "Title"), ("summary", "Summary"))}
    said = dict(sample)
    for key, value in sample.items():
        if key == "category_title":
            said[key] = _in(language, CATEGORY_TITLES, value)
        elif key == "round_title":
            said[key] = _in(language, ROUND_TITLES, value)
        elif key in ("place", "site"):
            said[key] = _in(language, {lang: {a: p[key == "site"] for a, p in places.items()}
                                       for lang, places in SIGNIN_PLACES.items()}, value)
        elif key in ("due_month", "closes_month") and value in _ENGLISH_MONTHS:
            said[key] = month(date(2026, _ENGLISH_MONTHS[value], 1), language)
        elif key == "closes":
            said[key] = _day_in(language, value)
        elif key == "ceremony" and isinstance(value, dict):
            said[key] = {**value, "date": _day_in(language, value["date"]), "rsvp_by": _day_in(language, value["rsvp_by"])}
        elif key == "applications":
            said[key] = [{**a, "category_title": _in(language, CATEGORY_TITLES, a["category_title"])} for a in value]
        elif key == "missing":
            said[key] = [{**m, "title": FIELD_TITLES[language].get(fields.get(m["title"], ""), m["title"])}
                         for m in value]
    return said
