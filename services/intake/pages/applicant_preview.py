"""The applicant's preview of a draft and its submission (on the portal's blueprint,
pages/applicant.py): what the preview shows, what still stops submission in the page's words."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, url_for

from shared.i18n import _

from .. import rules
from ..models import Call
from ..ops import documents as docs
from ..ops import portal as portal_reads
from ..ops import submission
from ..web import _db
from .applicant import _criteria, _doc_titles, _own_application, _render, _signed_in_applicant, portal


def _missing_items(missing: list[str], criteria: list[dict], doc_titles: dict) -> list[str]:
    """What stops submission (rules' names: title, answers.<key>, documents.<key>) in the page's words."""
    numbered = {c["key"]: f"{i}. {c['title']}" for i, c in enumerate(criteria, 1)}
    items = []
    for name in missing:
        part, _dot, rest = name.partition(".")
        key, _space, over = rest.partition(" ")
        if part == "title":
            items.append(_("the project title"))
        elif part == "summary":
            items.append(_("the summary"))
        elif part == "answers" and over:
            limit = next((c["word_limit"] for c in criteria if c["key"] == key), "")
            items.append(_("a shorter answer to %(criterion)s (at most %(limit)s words)",
                           criterion=numbered.get(key, key), limit=limit))
        elif part == "answers":
            items.append(_("the answer to %(criterion)s", criterion=numbered.get(key, key)))
        else:
            items.append(doc_titles.get(rest, rest))
    return items


@portal.get("/portal/applications/<application_id>/preview")
def preview(application_id):
    with _db().session() as s:
        applicant = _signed_in_applicant(s)
        row = _own_application(s, applicant, application_id)
        call = s.get(Call, row.call_id)
        criteria, titles = _criteria(call, row.category), _doc_titles(call)
        _counts, missing, _done = rules.assess(row, call, docs.missing_documents(s, row, call))
        return _render("portal/preview.html", applicant, application=row, call=call, criteria=criteria,
                       category=rules.category_terms(call, row.category),
                       documents=portal_reads.documents_of(s, row.id), doc_titles=titles,
                       missing=_missing_items(missing, criteria, titles))


def _refused_submission(exc: rules.RuleViolation, application_id: str) -> str:
    """The refusal of a submission in the page's words (the API keeps its English message)."""
    if exc.status == 404:
        abort(404)
    if exc.status == 422:
        return _("Not submitted: the application is incomplete. The list below says what is missing.")
    if "withdrawn" in exc.message:
        return _("Not submitted: this application was withdrawn.")
    if "kept changing" in exc.message:
        return _("Not submitted: the application was being changed elsewhere at the same moment. Please try again.")
    return _("Not submitted: the call is not open for submissions now.")


@portal.post("/portal/applications/<application_id>/submit")
def submit(application_id):
    # The JSON API holds the one submission path (outbox event, idempotency); the page
    # calls the same view so the rules cannot drift apart.
    with _db().session() as s:
        applicant = _signed_in_applicant(s)
        _own_application(s, applicant, application_id)
    try:
        submission.submit_application(_db(), application_id, applicant.id,
                                      public_url=current_app.extensions["prize"]["settings"].public_url)
    except rules.RuleViolation as exc:
        flash(_refused_submission(exc, application_id), "error")
        return redirect(url_for("portal.preview", application_id=application_id))
    flash(_("Submitted. We have sent an acknowledgement to your contact email."), "ok")
    return redirect(url_for("portal.status", application_id=application_id))
