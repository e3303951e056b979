"""The edition's privacy notice on the Editions pages: the secretariat reads the notice applicants
read (the default notice until it writes its own), writes it as plain paragraphs, and sees every
version with who wrote it and when. The rules are ops/privacy.py's, as for
``PUT /api/calls/{id}/privacy-notice``. The form carries the version it was built from: a change
made by someone else meanwhile is refused (409) with what was typed kept."""
from __future__ import annotations

from flask import flash, redirect, request, url_for

from shared.refusals import Refused

from ..ops import privacy as ops_privacy
from ..ops import privacy_text
from ..web import _db, _now, notice_terms
from .editions import INVALID, editions, first_upper, load, show
from .secretariat import _require

STALE = ("Someone else changed this privacy notice since you opened this page (it is now version {version}). "
         "Nothing was saved: your text is kept below. Read their version, then save again to replace it with yours.")


def _page(call, status: int = 200, *, text: str | None = None, version: int | None = None, errors=None,
          error: str = ""):
    notice = ops_privacy.notice_of(call)
    terms = notice_terms()
    return show("privacy.html", status, call=call, notice=notice,
                default_text=privacy_text.english(terms.email, terms.travel_data_days),
                text=notice.english(terms) if text is None else text,
                version=notice.version if version is None else version,
                versions=ops_privacy.notice_versions(_db(), call.id), days=terms.travel_data_days,
                errors=errors or {}, error=error)


@editions.route("/<call_id>/privacy", methods=["GET", "POST"])
def privacy_notice(call_id):
    principal = _require()
    call = load(call_id)
    if request.method == "GET":
        return _page(call)
    text = request.form.get("text", "")
    raw_version = request.form.get("version", "")
    version = int(raw_version) if raw_version.isascii() and raw_version.isdigit() and len(raw_version) < 10 else 0
    problem = ops_privacy.check_text(ops_privacy.normalised(text))
    if problem:
        return _page(call, 422, text=text, version=version, errors={"text": [f"The notice {problem}."]},
                     error=INVALID)
    try:
        notice, changed = ops_privacy.change_notice(_db(), call.id, text, principal.who, _now(),
                                                    expected_version=version, terms=notice_terms())
    except ops_privacy.StaleNotice as exc:
        return _page(load(call.id), 409, text=text, version=version,
                     error=STALE.format(version=exc.details["version"]))
    except Refused as exc:
        return _page(call, exc.status, text=text, version=version, error=first_upper(exc.message) + ".")
    if not changed:
        flash("The privacy notice is unchanged: nothing was saved.", "ok")
    elif notice.is_default:
        flash(f"The {call.year} edition's privacy notice is the default notice again, as version {notice.version}.",
              "ok")
    else:
        flash(f"The {call.year} edition's privacy notice is saved as version {notice.version}. Consents given from "
              "now on name this version.", "ok")
    return redirect(url_for("intake_editions.privacy_notice", call_id=call.id), 303)
