"""review's `/`, where `prize run`'s banner points: what this service is and where each person
goes from here (jurors to their sign-in, the secretariat to its pages), in the visitor's language.
It reads nothing from the database for an anonymous visitor: who is signed in is the request's
(shared.web's principal, read once for the language already)."""
from __future__ import annotations

from .common import _juror_signin_url, _page, _principal, pages


@pages.get("/")
def front():
    principal = _principal()
    juror = principal is not None and principal.role == "juror"
    return _page("review/front.html", area="Review", home_url="/", juror=juror,
                 juror_url="/jury" if juror else _juror_signin_url())
