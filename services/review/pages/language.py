"""The jury pages' languages (shared.i18n): who is signed in, and recording a juror's choice."""
from __future__ import annotations

from datetime import datetime, timezone

from shared.i18n import PageLanguage
from flask import request

from shared.signin import csrf_token, form_csrf_ok, pagesession

from ..current import db as _db
from ..models import Juror
from ..ops import juror_admin
from .common import _csrf, _principal


def _person():
    principal = _principal()
    if principal is None:
        return None
    if principal.role != "juror":
        return principal.role, None
    with _db().session() as s:
        juror = s.get(Juror, principal.subject)
        return "juror", getattr(juror, "language", None)


def _set_person(language: str) -> None:
    principal = _principal()
    with _db().session() as s, s.begin():
        juror_admin.update_juror(s, principal.subject, {"language": language}, f"juror:{principal.subject}",
                                 datetime.now(timezone.utc))


def _token() -> str:
    """The token the page's own forms carry: the sign-in pages' (shared.signin), else the jury
    pages' page-session token, so the switch and the page's form share one."""
    return csrf_token() if request.path.startswith("/signin") else _csrf()


def _token_ok() -> bool:
    return form_csrf_ok() or pagesession.page_csrf_ok(_csrf())


page_language = PageLanguage(_person, _set_person, _token, _token_ok)
