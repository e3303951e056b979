"""The applicant's documents on the portal's pages (on the portal's blueprint, pages/applicant.py):
delete with a plain form (the page's script does the same through the API, without leaving the
page), download under the name of the checked type, and the PDF of the submitted application."""
from __future__ import annotations

from flask import abort, flash, redirect, url_for

from shared.i18n import _
from shared.refusals import Refused

from ..ops import documents as docs
from ..ops import submission_copy
from ..web import _db, storage
from .applicant import _own_application, _signed_in_applicant, portal


def _signed_in_id() -> str:
    with _db().session() as s:
        return _signed_in_applicant(s).id


def _own_document(applicant_id: str, document_id: str):
    """The applicant's document; 404 for anything else (another applicant's, none at all), alike."""
    try:
        return docs.read_document(_db(), document_id, applicant_id)
    except Refused:
        abort(404)


def _documents_of(application_id: str):
    return redirect(url_for("portal.edit", application_id=application_id, _anchor="documents"), 303)


@portal.post("/portal/documents/<document_id>/delete")
def delete_document(document_id):
    """Delete one document of a draft: its row and its file."""
    applicant_id = _signed_in_id()
    doc = _own_document(applicant_id, document_id)
    try:
        docs.remove_document(_db(), storage(), document_id, applicant_id)
    except Refused as exc:
        if exc.status == 404:  # deleted meanwhile (another tab): it is gone, as asked
            return _documents_of(doc.application_id)
        flash(_("This application has been submitted; its documents can no longer change."), "error")
        return redirect(url_for("portal.status", application_id=doc.application_id), 303)
    flash(_("Deleted %(name)s.", name=doc.filename), "ok")
    return _documents_of(doc.application_id)


@portal.get("/portal/documents/<document_id>")
def download_document(document_id):
    """A checked document: a short-lived link to the store, named with its checked type's extension."""
    applicant_id = _signed_in_id()
    doc = _own_document(applicant_id, document_id)
    try:
        url = docs.download_url(_db(), storage(), document_id, applicant_id)
    except Refused:  # not checked (yet, or ever): nothing to download
        flash(_("%(name)s cannot be downloaded: it has not passed its check.", name=doc.filename), "error")
        return _documents_of(doc.application_id)
    response = redirect(url, 302)
    response.headers["Cache-Control"] = "no-store"
    return response


@portal.get("/portal/applications/<application_id>/submission.pdf")
def submission_pdf(application_id):
    """The PDF of the application as submitted (its owner's only). Made by the worker after the
    submission; if it has not been made yet, it is made now."""
    with _db().session() as s:
        applicant = _signed_in_applicant(s)
        row = _own_application(s, applicant, application_id)
        submitted = row.submitted_at is not None
    if not submitted:
        flash(_("The PDF of the application is made when it is submitted."), "error")
        return _documents_of(application_id)
    url = submission_copy.download_url(_db(), storage(), application_id)
    response = redirect(url, 302)
    response.headers["Cache-Control"] = "no-store"
    return response
