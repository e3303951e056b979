"""The jury pages' languages (shared.i18n): who is signed in, and recording a juror's choice."""
from __future__ import annotations

from datetime import datetime, timezone

from shared.i18n import PageLanguage
from shared.signin.csrf import csrf_token, form_csrf_ok

from ..current import db as _db
from ..models import Juror
from ..ops import juror_admin
from .common import _principal


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


# The switch's form carries the token of the sign-in pages' forms (the session's once signed in,
# else the anonymous double-submit cookie's), so every form of a page shares one token.
page_language = PageLanguage(_person, _set_person, csrf_token, form_csrf_ok)
