"""intake's JSON API for documents (applicants upload, both audiences read), and the embedded
file store's side of the presigned interface. The operations are ops/documents.py."""
from __future__ import annotations

import os
from pathlib import Path

from flask import g, jsonify, redirect, request, send_file
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from werkzeug.exceptions import HTTPException
from werkzeug.formparser import FormDataParser

from shared.storage import FileStorage, StorageError, content_disposition
from shared.web import json_error, require_role

from ..ops import documents as ops
from ..web import _db, storage
from .common import owner

documents = Blueprint("documents", __name__, url_prefix="/api",
                      description="Documents of an application: presigned upload, check, download")
storage_routes = Blueprint("storage", __name__, url_prefix="/storage",
                           description="The embedded file store's signed upload and download")

FORM_OVERHEAD = 64 * 1024  # the multipart boundaries and the few small fields around the file


class DocumentCreate(Schema):
    kind = fields.String(required=True, validate=validate.Length(min=1, max=50))
    filename = fields.String(required=True, validate=validate.Length(min=1, max=255))
    content_type = fields.String(required=True, validate=validate.Length(min=1, max=100))
    size = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**62))
    # A document of the same kind and application that this file replaces once it passes the
    # check; until then both are listed, and if it fails the old one stays.
    replaces = fields.UUID(load_default=None, allow_none=True)


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
    replaces = fields.String(allow_none=True)


class UploadForm(Schema):
    url = fields.String()
    fields_ = fields.Dict(data_key="fields")


class DocumentCreated(Schema):
    document = fields.Nested(DocumentOut)
    upload = fields.Nested(UploadForm)



def _too_large(message: str, **extra):
    # the app's own 413 handler speaks of the 1 MB API body limit; this is about the file
    body, status = json_error(413, message, **extra)
    body.status_code = status
    raise HTTPException(response=body)


@documents.route("/applications/<uuid:application_id>/documents")
class ApplicationDocumentsView(MethodView):
    @require_role("applicant", "secretariat")
    @documents.doc(security=[{"bearer": []}])
    @documents.response(200, DocumentOut(many=True))
    def get(self, application_id):
        """The application's documents, with their check status."""
        return ops.list_documents(_db(), application_id, owner())

    @require_role("applicant")
    @documents.doc(security=[{"bearer": []}])
    @documents.arguments(DocumentCreate)
    @documents.response(201, DocumentCreated)
    def post(self, data, application_id):
        """Start an upload: returns the form to POST the file to (straight to storage)."""
        doc, upload = ops.start_upload(_db(), storage(), application_id, g.principal.subject, data)
        return {"document": doc, "upload": {"url": upload["url"], "fields_": upload["fields"]}}


@documents.route("/documents/<uuid:document_id>")
class DocumentView(MethodView):
    @require_role("applicant", "secretariat")
    @documents.doc(security=[{"bearer": []}])
    @documents.response(200, DocumentOut)
    def get(self, document_id):
        """One document."""
        return ops.read_document(_db(), document_id, owner())

    @require_role("applicant")
    @documents.doc(security=[{"bearer": []}])
    @documents.response(204)
    def delete(self, document_id):
        """Remove a document (only while the application is a draft)."""
        ops.remove_document(_db(), storage(), document_id, g.principal.subject)


@documents.route("/documents/<uuid:document_id>/complete")
class CompleteView(MethodView):
    @require_role("applicant")
    @documents.doc(security=[{"bearer": []}])
    @documents.response(200, DocumentOut)
    def post(self, document_id):
        """The upload is done: check the file (size, type by content, SHA-256) before listing it."""
        return ops.complete_upload(_db(), storage(), document_id, g.principal.subject)


@documents.route("/documents/<uuid:document_id>/download")
class DownloadView(MethodView):
    @require_role("applicant", "secretariat")
    @documents.doc(security=[{"bearer": []}])
    @documents.response(302)
    def get(self, document_id):
        """A short-lived link to the file: a redirect, or ``{url}`` with ``?format=json``."""
        url = ops.download_url(_db(), storage(), document_id, owner())
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
