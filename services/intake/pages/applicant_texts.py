"""What the applicant's pages say about codes and refusals, in the page's language: applicant
types, statuses, countries, languages, and the registration and profile forms' errors said as a
person would say them. The API keeps its own (English, validator-like) messages; only the pages
map a field and the kind of its error to a sentence here."""
from __future__ import annotations

from flask_babel import get_locale
from marshmallow import validate

from shared.i18n import _l, language_name, ngettext, offered_languages

from ..ops.regions import country_choices, country_name
from ..rules import SAME_ADDRESS

APPLICANT_TYPE_NAMES = {
    "city_government": _l("City or regional government"),
    "institution": _l("Institution (public agency, NGO, university, association)"),
    "corporation": _l("Corporation"),
    "individual": _l("Individual (Leadership category only)"),
}

STATUS_NAMES = {
    "draft": _l("Draft"), "submitted": _l("Submitted"), "withdrawn": _l("Withdrawn"),
    "eligible": _l("Eligible"), "ineligible": _l("Not eligible"), "finalist": _l("Finalist"),
    "not_advanced": _l("Not advanced"), "winner": _l("Winner"), "special_mention": _l("Special mention"),
    "not_awarded": _l("Not awarded"),
}


def page_language() -> str:
    locale = get_locale()
    return str(locale) if locale is not None else "en"


def countries() -> tuple[tuple[str, str], ...]:
    """(code, name) of every country, named and sorted in the page's language."""
    return country_choices(page_language())


def country(code: str | None) -> str:
    return country_name(code, page_language())


def languages() -> list[tuple[str, str]]:
    """(code, own name) of the languages offered: only those the pages are translated into."""
    return [(code, language_name(code)) for code in offered_languages()]


# --- the forms' errors ------------------------------------------------------------------------

EMPTY = {
    "type": _l("Please choose whom you apply as."),
    "organisation": _l("Please give your organisation's name."),
    "country": _l("Please choose your country."),
    "city": _l("Please give your city."),
    "contact_name": _l("Please give the contact person's name."),
    "contact_email": _l("Please give the contact person's email address."),
    "language": _l("Please choose the language of our pages and emails."),
}
NOT_LISTED = {
    "type": _l("Please choose one of the listed ways to apply."),
    "country": _l("Please choose your country from the list."),
    "language": _l("Please choose one of the languages offered."),
}
EMAIL_FIELDS = ("contact_email", "secondary_email")
EMAIL_LIKE = _l("Please give an email address like name@city.gov.")
SECOND_ADDRESS = _l("Please give a second email address that differs from the contact email.")
CHECK = _l("Please check this field.")


def _longest(schema, field: str) -> int | None:
    found = schema.fields.get(field)
    for rule in getattr(found, "validators", ()):
        if isinstance(rule, validate.Length) and rule.max is not None:
            return rule.max
    return None


def _problems(messages) -> list[str]:
    if isinstance(messages, dict):
        return [p for value in messages.values() for p in _problems(value)]
    if isinstance(messages, (list, tuple)):
        return [str(m) for m in messages]
    return [str(messages)]


def human_error(field: str, value, messages, schema) -> str:
    """One sentence for what is wrong with ``field``, from the value sent and the kind of error."""
    if field == "secondary_email" and SAME_ADDRESS in _problems(messages):
        return str(SECOND_ADDRESS)
    if value is None or str(value).strip() == "":
        return str(EMPTY.get(field, CHECK))
    longest = _longest(schema, field)
    if longest is not None and len(str(value)) > longest:
        return ngettext("Please shorten this to %(num)d character at most.",
                        "Please shorten this to %(num)d characters at most.", longest)
    if field in EMAIL_FIELDS:
        return str(EMAIL_LIKE)
    return str(NOT_LISTED.get(field, CHECK))


def human_errors(form: dict, messages: dict, schema) -> dict[str, list[str]]:
    """The API's field errors (marshmallow's, or a rule's) as the page says them: field -> [sentence]."""
    return {field: [human_error(field, form.get(field), problems, schema)] for field, problems in messages.items()}


def error_summary(errors: dict, order) -> list[tuple[str, str]]:
    """(field id, sentence) of each error, in the form's order: the summary's links."""
    names = [name for name in order if name in errors] + [name for name in errors if name not in order]
    return [(name, " ".join(errors[name])) for name in names]
