"""Documents of an application: uploaded straight to object storage, checked by intake.

The browser gets a presigned form from intake and sends the file to the store itself; intake
then reads the stored object once, as a stream, to check it before listing it. Only on the
embedded stack (``file://``) does intake receive the bytes, through ``/storage/...`` below.

Keys: a form may write only under ``applications/<application>/`` (``key_prefix``), and it
stays valid for its whole TTL, after the check too. So the check first copies the upload,
inside the store, to ``verified/applications/<application>/<document>/<attempt>``, which no
form reaches; it checks and hashes that copy, and a document that passes points at the copy
from then on: what is served is what was hashed, whatever is posted again with the form.
"""
from __future__ import annotations

import logging
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path

from flask import current_app, g, jsonify, redirect, request, send_file
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from werkzeug.formparser import FormDataParser

from shared.storage import (ALLOWED_TYPES, FileStorage, StorageError, check_copy, content_disposition,
                            open_storage)
from shared.web import json_error, require_role

from .models import Application, Call, Document

log = logging.getLogger("prize.intake.documents")

documents = Blueprint("documents", __name__, url_prefix="/api",
                      description="Documents of an application: presigned upload, check, download")
storage_routes = Blueprint("storage", __name__, url_prefix="/storage",
                           description="The embedded file store's signed upload and download")

FORM_OVERHEAD = 64 * 1024  # the multipart boundaries and the few small fields around the file


class RuleViolation(Exception):
    def __init__(self, message: str, status: int, field: str | None = None):
        super().__init__(message)
        self.message, self.status, self.field = message, status, field


def _now() -> datetime:
    return datetime.now(timezone.utc)


# ---- domain (no Flask) ----

def key_prefix(application_id: str) -> str:
    """Where the application's upload forms may write (their ``starts-with $key`` condition)."""
    return f"applications/{application_id}/"


def upload_key(application_id: str, document_id: str) -> str:
    return key_prefix(application_id) + document_id


def verified_prefix(application_id: str) -> str:
    """Where the application's checked copies live: outside every upload form's reach."""
    return f"verified/applications/{application_id}/"


def new_verified_key(application_id: str, document_id: str) -> str:
    # one key per check: two checks of a document running at once never write the same key
    return f"{verified_prefix(application_id)}{document_id}/{uuid.uuid4().hex}"


def missing_documents(session, application, call) -> list[str]:
    """Keys of the call's required documents that this application has no verified file for."""
    required = [d["key"] for d in (call.documents or []) if d.get("required")]
    if not required:
        return []
    verified = set(session.scalars(select(Document.kind).where(
        Document.application_id == application.id, Document.status == "verified")).all())
    return [k for k in required if k not in verified]


def new_document(application, call, kind: str, filename: str, content_type: str, size: int) -> Document:
    if application.status != "draft":
        raise RuleViolation(f"the application is {application.status}; documents can change only in a draft", 409)
    kinds = [d["key"] for d in (call.documents or [])]
    if kind not in kinds:
        raise RuleViolation(f"unknown document kind {kind!r}; this call asks for: {', '.join(kinds) or 'none'}",
                            422, "kind")
    if content_type not in ALLOWED_TYPES:
        raise RuleViolation(f"{content_type} files are not accepted; send PDF, DOCX, PPTX, XLSX, JPEG, PNG or MP4",
                            415, "content_type")
    if size > call.max_upload_bytes:
        raise RuleViolation(f"the file is {size} bytes; the limit is {call.max_upload_bytes} bytes", 413, "size")
    doc_id = str(uuid.uuid4())
    return Document(id=doc_id, application_id=application.id, kind=kind, filename=filename,
                    content_type=content_type, storage_key=upload_key(application.id, doc_id),
                    size=size, status="pending", rejection_reason="", created_at=_now())


def record_check(document: Document, result, verified_key: str) -> None:
    """Apply a check's result to the row. A document that passed points at the checked copy
    from now on; the objects are the caller's to remove once this is committed (settle_check)."""
    if result.ok:
        document.status, document.size, document.sha256 = "verified", result.size, result.sha256
        document.storage_key, document.verified_at = verified_key, _now()
    else:
        document.status, document.rejection_reason = "rejected", result.reason
        log.info("document %s rejected: %s", document.id, result.reason)


def settle_check(storage, upload: str, verified_key: str, ok: bool | None) -> None:
    """After a check: passed (``ok``), the upload goes and the copy stays; refused, both go;
    not recorded (``None``: the document changed meanwhile), this check's copy goes."""
    keys = [verified_key] if ok is None else [upload] if ok else [upload, verified_key]
    for key in keys:
        try:
            storage.delete(key)
        except Exception:  # a leftover is swept at a later check; the answer stands
            log.exception("could not remove %s", key)


def sweep(session, storage, application_id: str) -> None:
    """Remove the application's objects that no document owns.

    A store that enforces its policies never holds uploads under a key no document owns; one
    that does not (moto, a misconfigured proxy) may. An upload form also outlives its check,
    so a file posted again with it lands on a key its document no longer uses. And a check
    that did not finish leaves its copy behind. None of these is ever listed or served.
    The keys are listed before the rows are read: a key is removed only if a committed row
    said it is no document's (a new document's upload is never caught in between).
    """
    uploads = storage.list_keys(key_prefix(application_id))
    copies = storage.list_keys(verified_prefix(application_id))
    rows = session.execute(select(Document.id, Document.status, Document.storage_key).where(
        Document.application_id == application_id)).all()
    known = {r.storage_key for r in rows if r.status != "rejected"}
    checking = {r.id for r in rows if r.status == "pending"}  # a check may be copying it now
    for key in uploads:
        if key not in known and not key.endswith(".type"):
            storage.delete(key)
            log.warning("removed stray object %s", key)
    for key in copies:
        document_id = key[len(verified_prefix(application_id)):].split("/", 1)[0]
        if key not in known and document_id not in checking and not key.endswith(".type"):
            storage.delete(key)
            log.info("removed a copy no document uses: %s", key)


# ---- HTTP ----

class DocumentCreate(Schema):
    kind = fields.String(required=True, validate=validate.Length(min=1, max=50))
    filename = fields.String(required=True, validate=validate.Length(min=1, max=255))
    content_type = fields.String(required=True, validate=validate.Length(min=1, max=100))
    size = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**62))


class DocumentOut(Schema):
    id = fields.String()
    application_id = fields.String()
    kind = fields.String()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer(allow_none=True)
    sha256 = fields.String(allow_none=True)
    status = fields.String()
    rejection_reason = fields.String()
    created_at = fields.AwareDateTime()
    verified_at = fields.AwareDateTime(allow_none=True)


class UploadForm(Schema):
    url = fields.String()
    fields_ = fields.Dict(data_key="fields")


class DocumentCreated(Schema):
    document = fields.Nested(DocumentOut)
    upload = fields.Nested(UploadForm)


def _db():
    return current_app.extensions["prize"]["db"]


def storage():
    ext = current_app.extensions["prize"]
    if "storage" not in ext:
        settings = ext["settings"]
        ext["storage"] = open_storage(settings.storage_url, settings.secret_key, settings.public_url)
    return ext["storage"]


def _too_large(message: str, **extra):
    # the app's own 413 handler speaks of the 1 MB API body limit; this is about the file
    body, status = json_error(413, message, **extra)
    body.status_code = status
    raise HTTPException(response=body)


def _fail(exc: RuleViolation):
    if exc.status == 413:
        _too_large(exc.message, errors={"json": {exc.field: [exc.message]}})
    if exc.field:
        abort(exc.status, message=exc.message, errors={"json": {exc.field: [exc.message]}})
    abort(exc.status, message=exc.message)


def _own_application(s, application_id, *, lock=False) -> Application:
    row = s.get(Application, str(application_id), with_for_update=lock)
    principal = g.principal
    if row is None or (principal.role == "applicant" and row.applicant_id != principal.subject):
        abort(404, message=f"no application {application_id}")
    return row


def _own_document(s, document_id, *, lock=False) -> tuple[Document, Application]:
    """The document and its application if the caller may see them; the same 404 otherwise."""
    doc = s.get(Document, str(document_id), with_for_update=lock)
    app_row = doc and s.get(Application, doc.application_id)
    principal = g.principal
    if doc is None or (principal.role == "applicant" and app_row.applicant_id != principal.subject):
        abort(404, message=f"no document {document_id}")
    return doc, app_row


@documents.route("/applications/<uuid:application_id>/documents")
class ApplicationDocumentsView(MethodView):
    @require_role("applicant", "secretariat")
    @documents.doc(security=[{"bearer": []}])
    @documents.response(200, DocumentOut(many=True))
    def get(self, application_id):
        """The application's documents, with their check status."""
        with _db().session() as s:
            _own_application(s, application_id)
            return s.scalars(select(Document).where(Document.application_id == str(application_id))
                             .order_by(Document.created_at)).all()

    @require_role("applicant")
    @documents.doc(security=[{"bearer": []}])
    @documents.arguments(DocumentCreate)
    @documents.response(201, DocumentCreated)
    def post(self, data, application_id):
        """Start an upload: returns the form to POST the file to (straight to storage)."""
        with _db().session() as s, s.begin():
            app_row = _own_application(s, application_id, lock=True)
            call = s.get(Call, app_row.call_id)
            try:
                doc = new_document(app_row, call, **data)
            except RuleViolation as exc:
                _fail(exc)
            s.add(doc)
            upload = storage().presign_upload(doc.storage_key, doc.content_type, call.max_upload_bytes,
                                              key_prefix(app_row.id))
        return {"document": doc, "upload": {"url": upload["url"], "fields_": upload["fields"]}}


@documents.route("/documents/<uuid:document_id>")
class DocumentView(MethodView):
    @require_role("applicant", "secretariat")
    @documents.doc(security=[{"bearer": []}])
    @documents.response(200, DocumentOut)
    def get(self, document_id):
        """One document."""
        with _db().session() as s:
            return _own_document(s, document_id)[0]

    @require_role("applicant")
    @documents.doc(security=[{"bearer": []}])
    @documents.response(204)
    def delete(self, document_id):
        """Remove a document (only while the application is a draft)."""
        with _db().session() as s, s.begin():
            doc, app_row = _own_document(s, document_id, lock=True)
            if app_row.status != "draft":
                abort(409, message=f"the application is {app_row.status}; documents can change only in a draft")
            storage().delete(doc.storage_key)
            upload = upload_key(doc.application_id, doc.id)
            if upload != doc.storage_key:  # verified: a file posted again with the form may be there
                storage().delete(upload)
            s.delete(doc)


@documents.route("/documents/<uuid:document_id>/complete")
class CompleteView(MethodView):
    @require_role("applicant")
    @documents.doc(security=[{"bearer": []}])
    @documents.response(200, DocumentOut)
    def post(self, document_id):
        """The upload is done: check the file (size, type by content, SHA-256) before listing it."""
        frozen = "the application is {}; documents can change only in a draft"
        with _db().session() as s:
            doc, app_row = _own_document(s, document_id)
            pending = doc.status == "pending"
            if pending and app_row.status != "draft":
                abort(409, message=frozen.format(app_row.status))
            application_id, upload, content_type = doc.application_id, doc.storage_key, doc.content_type
            limit = s.get(Call, app_row.call_id).max_upload_bytes
        store = storage()
        if not pending:
            result = verified_key = None
        else:
            # Reading a large object takes a while: no transaction or row lock is held meanwhile.
            # The copy is what gets hashed and kept: the upload form can still write the upload.
            verified_key = new_verified_key(application_id, str(document_id))
            result = check_copy(store, upload, verified_key, content_type, limit)
        committed = None  # the recorded outcome, once committed
        try:
            with _db().session() as s, s.begin():
                doc, app_row = _own_document(s, document_id, lock=True)  # deleted meanwhile: 404
                outcome = None
                if result is not None and doc.status == "pending":
                    if app_row.status != "draft":
                        abort(409, message=frozen.format(app_row.status))
                    record_check(doc, result, verified_key)
                    outcome = result.ok
                status, reason = doc.status, doc.rejection_reason
            committed = outcome
        finally:
            if verified_key is not None:
                settle_check(store, upload, verified_key, committed)
        if committed is not None:
            try:
                with _db().session() as s:
                    sweep(s, store, application_id)
            except Exception:  # the check is recorded; the next one sweeps again
                log.exception("sweeping application %s", application_id)
        if status == "rejected":
            abort(422, message=f"the file was refused and removed: {reason}",
                  errors={"file": [reason]})
        return doc


@documents.route("/documents/<uuid:document_id>/download")
class DownloadView(MethodView):
    @require_role("applicant", "secretariat")
    @documents.doc(security=[{"bearer": []}])
    @documents.response(302)
    def get(self, document_id):
        """A short-lived link to the file: a redirect, or ``{url}`` with ``?format=json``."""
        with _db().session() as s:
            doc, _ = _own_document(s, document_id)
            if doc.status != "verified":
                abort(409, message=f"the document is {doc.status}; only checked files can be downloaded")
            url = storage().download_url(doc.storage_key, doc.filename, doc.content_type)
        if request.args.get("format") == "json":
            return jsonify({"url": url})
        response = redirect(url, 302)
        response.headers["Cache-Control"] = "no-store"
        return response


# ---- the embedded file store's side of the presigned interface ----
#
# On S3 intake never sees a document's bytes. A local folder has no server of its own, so on
# the embedded stack intake's web app plays that part: the same signed policy (key, type,
# size range, expiry) is checked here as S3 would, and the body is streamed to disk in chunks
# by werkzeug's multipart parser, so a large file never sits in memory. These routes live
# outside /api/ because the API reads whole JSON bodies of at most 1 MB.

def _file_storage() -> FileStorage:
    store = storage()
    if not isinstance(store, FileStorage):
        abort(404, message="this deployment stores documents in S3")
    return store


@storage_routes.route("/upload")
class FileUploadView(MethodView):
    @storage_routes.response(204)
    def post(self):
        """Receive a file for a signed upload form (embedded stack only)."""
        store = _file_storage()
        try:
            policy = store.read_upload_policy(request.args.get("policy", ""), request.args.get("signature", ""))
        except StorageError as exc:
            abort(403, message=f"upload refused: {exc}")
        low, high = policy["content_length_range"]
        if request.content_length is not None and request.content_length > high + FORM_OVERHEAD:
            _too_large(f"the file is over the limit of {high} bytes")
        temps, handles = [], []

        def to_disk(total_content_length, content_type, filename, content_length=None):
            path = store.incoming_path()
            temps.append(path)
            handles.append(open(path, "wb+"))
            return handles[-1]

        parser = FormDataParser(to_disk, max_content_length=high + FORM_OVERHEAD,
                                max_form_memory_size=FORM_OVERHEAD)
        try:
            _, form, files = parser.parse_from_environ(request.environ)
            upload = files.get("file")
            if upload is None:
                abort(400, message="the form has no file field")
            upload.stream.flush()
            size = os.fstat(upload.stream.fileno()).st_size
            store.check_upload_fields(policy, form)
            if size > high:
                _too_large(f"the file is {size} bytes; the limit is {high} bytes")
            if size < low:
                abort(400, message=f"the file is {size} bytes; it must be at least {low}")
            upload.stream.close()
            store.put_from(policy["key"], Path(upload.stream.name), policy["content_type"])
        except StorageError as exc:
            abort(403, message=f"upload refused: {exc}")
        finally:
            for handle in handles:
                handle.close()
            for path in temps:
                path.unlink(missing_ok=True)
        return ""


@storage_routes.route("/download")
class FileDownloadView(MethodView):
    def get(self):
        """Serve a file for a signed download link (embedded stack only)."""
        store = _file_storage()
        try:
            grant = store.read_download(request.args.get("policy", ""), request.args.get("signature", ""))
        except StorageError as exc:
            abort(403, message=f"download refused: {exc}")
        path = store.path(grant["key"])
        if not path.is_file():
            abort(404, message="no such file")
        response = send_file(path, mimetype=grant["content_type"], conditional=False, max_age=0)
        response.headers["Content-Disposition"] = content_disposition(grant["filename"])
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "private, no-store"
        return response


blueprints: list = [documents, storage_routes]
