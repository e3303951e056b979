"""The portal's languages (shared.i18n): who is signed in, and recording an applicant's choice."""
from __future__ import annotations

from shared.i18n import PageLanguage
from shared.signin import csrf_token, form_csrf_ok
from shared.web import current_principal

from ..ops import applicants
from ..web import _db


def _person():
    principal = current_principal()
    if principal is None:
        return None
    if principal.role != "applicant":
        return principal.role, None
    applicant = applicants.read_applicant(_db(), principal.subject)
    return "applicant", getattr(applicant, "language", None)


def _set_person(language: str) -> None:
    principal = current_principal()
    applicants.update_own_record(_db(), principal.subject, {"language": language})


page_language = PageLanguage(_person, _set_person, csrf_token, form_csrf_ok)
