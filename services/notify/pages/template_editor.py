"""The template page's two editors and who gets which (the routes are in pages/secretariat.py).

- The people's editor (every staff member who may change things): the subject and the plain text,
  with ``{{ placeholders }}`` only; the HTML is made from the text (ops/plain_wording.py).
- The raw editor (administrators): the Jinja sources of the text and the HTML, as stored.

An operator's token (``prize token secretariat``) acts as an administrator: operators run the
system (shared.web.operator_principal gives it the staff role admin; a principal of the
secretariat without a staff role can only be such a token). The server decides: a form with raw
sources from anyone else is refused (403), hiding the raw editor is not the protection.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import request

from shared.auth import Principal
from shared.staff.roles import can

from ..ops import editions
from ..ops.templates import TemplateProblem

RAW_FIELDS = ("text_source", "html_source")


def may_edit_raw(principal: Principal) -> bool:
    """Whether ``principal`` may write the raw Jinja: an administrator, or an operator's token."""
    return principal.role == "secretariat" and editions.may_write_raw(principal.staff_role)


def may_change(principal: Principal) -> bool:
    """Whether ``principal`` may change a wording at all (observers and jury chairs read)."""
    return principal.role == "secretariat" and (principal.staff_role is None or can(principal.staff_role, "write"))


def raw_refusal(principal: Principal) -> str:
    said = editions.raw_refusal(principal.staff_role)
    return said[0].upper() + said[1:] + "."


def editor_for(principal: Principal) -> str:
    """Which editor the page shows: "raw" for those who may (unless they ask for the people's
    with ?editor=people), else "people"."""
    if may_edit_raw(principal) and request.values.get("editor") != "people":
        return "raw"
    return "people"


@dataclass
class Outcome:
    """What a POST of either editor came to: ``saved`` (the stored row), or the form again with what
    was typed, its ``problems`` by field and, for a Preview, what it renders (``tried``)."""
    typed: dict
    problems: dict = field(default_factory=dict)
    tried: dict | None = None
    saved: object = None


def _typed(editor: str) -> dict:
    names = RAW_FIELDS if editor == "raw" else ("subject", "body")
    return {n: request.form.get(n, "").replace("\r\n", "\n") for n in names}


def submit(db, name: str, language: str, edition: int, editor: str, by: str) -> Outcome:
    """Preview (``action=preview``: rendered, nothing stored) or save (editions.save, so the
    sandbox, the budget and the checks apply) what the ``editor`` form sent."""
    typed = _typed(editor)
    outcome = Outcome(typed)
    try:
        if editor == "raw":
            sources = typed["text_source"], typed["html_source"]
        else:
            parts = editions.current_wording(db, name, language, edition).parts
            sources = editions.people_sources(name, language, edition, typed["subject"].strip(), typed["body"], parts)
        if request.form.get("action") == "preview":
            outcome.tried = editions.try_wording(name, language, edition, *sources)
        else:
            outcome.saved = editions.save(db, name, language, edition, *sources, by=by)
    except TemplateProblem as exc:
        outcome.problems = exc.problems
    return outcome
