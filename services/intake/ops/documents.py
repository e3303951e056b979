"""Documents of an application: uploaded straight to object storage, checked by intake.

The browser gets a presigned form from intake and sends the file to the store itself; intake
then reads the stored object once, as a stream, to check it before listing it.

Keys: a form may write only under ``applications/<application>/`` (``key_prefix``), and it
stays valid for its whole TTL, after the check too. So the check first copies the upload,
inside the store, to ``verified/applications/<application>/<document>/<attempt>``, which no
form reaches; it checks and hashes that copy, and a document that passes points at the copy
from then on: what is served is what was hashed, whatever is posted again with the form.
Operations take the store (``storage``) as an argument; the views pass the app's.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timezone

from sqlalchemy import select

from shared.refusals import Refused
from shared.storage import ALLOWED_TYPES, check_copy

from ..models import Application, Call, Document
from ..rules import RuleViolation

log = logging.getLogger("prize.intake.documents")


def _now() -> datetime:
    return datetime.now(timezone.utc)


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


def new_document(application, call, kind: str, filename: str, content_type: str, size: int,
                 replaces: Document | None = None) -> Document:
    if application.status != "draft":
        raise RuleViolation(409, f"the application is {application.status}; documents can change only in a draft")
    kinds = [d["key"] for d in (call.documents or [])]
    if kind not in kinds:
        raise RuleViolation(422, f"unknown document kind {kind!r}; this call asks for: {', '.join(kinds) or 'none'}",
                            field="kind")
    if content_type not in ALLOWED_TYPES:
        raise RuleViolation(415, f"{content_type} files are not accepted; send PDF, DOCX, PPTX, XLSX, JPEG, PNG or MP4",
                            field="content_type")
    if size > call.max_upload_bytes:
        raise RuleViolation(413, f"the file is {size} bytes; the limit is {call.max_upload_bytes} bytes", field="size")
    if replaces is not None and replaces.kind != kind:
        raise RuleViolation(422, f"replaces: the document it replaces is of kind {replaces.kind}, not {kind}",
                            field="replaces")
    doc_id = str(uuid.uuid4())
    return Document(id=doc_id, application_id=application.id, kind=kind, filename=filename,
                    content_type=content_type, storage_key=upload_key(application.id, doc_id),
                    size=size, status="pending", rejection_reason="", created_at=_now(),
                    replaces=replaces.id if replaces is not None else None)


def replaced_document(s, application_id: str, document_id) -> Document:
    """The document an upload says it replaces: one of the same application (any other, or one
    that does not exist, is refused alike: nothing tells whether it exists elsewhere)."""
    doc = s.get(Document, str(document_id))
    if doc is None or doc.application_id != application_id or doc.status == "rejected":
        raise RuleViolation(422, f"replaces: no document {document_id} of this application", field="replaces")
    return doc


def retire_replaced(s, document: Document) -> list[str]:
    """Once ``document`` passed its check, the one it replaces goes (in the same transaction).
    Returns the store's keys to remove after the commit."""
    old = s.get(Document, document.replaces, with_for_update=True) if document.replaces else None
    if old is None or old.application_id != document.application_id:
        return []
    keys = [old.storage_key, upload_key(old.application_id, old.id)]
    s.delete(old)
    return keys


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
    _remove_objects(storage, [verified_key] if ok is None else [upload] if ok else [upload, verified_key])


def _remove_objects(storage, keys) -> None:
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


# ---- operations of the API ----

def own_application(s, application_id, applicant_id: str | None, *, lock=False) -> Application:
    """The application if ``applicant_id`` owns it (None: the secretariat); 404 otherwise."""
    row = s.get(Application, str(application_id), with_for_update=lock)
    if row is None or (applicant_id is not None and row.applicant_id != applicant_id):
        raise Refused(404, f"no application {application_id}")
    return row


def own_document(s, document_id, applicant_id: str | None, *, lock=False) -> tuple[Document, Application]:
    """The document and its application if the caller may see them; the same 404 otherwise."""
    doc = s.get(Document, str(document_id), with_for_update=lock)
    app_row = doc and s.get(Application, doc.application_id)
    if doc is None or (applicant_id is not None and app_row.applicant_id != applicant_id):
        raise Refused(404, f"no document {document_id}")
    return doc, app_row


def _frozen(app_row: Application) -> Refused:
    return Refused(409, f"the application is {app_row.status}; documents can change only in a draft")


def list_documents(db, application_id, applicant_id: str | None) -> list[Document]:
    with db.session() as s:
        own_application(s, application_id, applicant_id)
        return s.scalars(select(Document).where(Document.application_id == str(application_id))
                         .order_by(Document.created_at)).all()


def start_upload(db, storage, application_id, applicant_id: str, data: dict) -> tuple[Document, dict]:
    """A new pending document and the form to POST its file to (straight to storage)."""
    with db.session() as s, s.begin():
        app_row = own_application(s, application_id, applicant_id, lock=True)
        call = s.get(Call, app_row.call_id)
        replaces = data.pop("replaces", None)
        if replaces is not None:
            replaces = replaced_document(s, app_row.id, replaces)
        doc = new_document(app_row, call, replaces=replaces, **data)
        s.add(doc)
        upload = storage.presign_upload(doc.storage_key, doc.content_type, call.max_upload_bytes,
                                        key_prefix(app_row.id))
    return doc, upload


def read_document(db, document_id, applicant_id: str | None) -> Document:
    with db.session() as s:
        return own_document(s, document_id, applicant_id)[0]


def remove_document(db, storage, document_id, applicant_id: str) -> None:
    """Remove a document (only while the application is a draft)."""
    with db.session() as s, s.begin():
        doc, app_row = own_document(s, document_id, applicant_id, lock=True)
        if app_row.status != "draft":
            raise _frozen(app_row)
        storage.delete(doc.storage_key)
        upload = upload_key(doc.application_id, doc.id)
        if upload != doc.storage_key:  # verified: a file posted again with the form may be there
            storage.delete(upload)
        s.delete(doc)


def complete_upload(db, storage, document_id, applicant_id: str) -> Document:
    """The upload is done: check the file (size, type by content, SHA-256) before listing it."""
    with db.session() as s:
        doc, app_row = own_document(s, document_id, applicant_id)
        pending = doc.status == "pending"
        if pending and app_row.status != "draft":
            raise _frozen(app_row)
        application_id, upload, content_type = doc.application_id, doc.storage_key, doc.content_type
        limit = s.get(Call, app_row.call_id).max_upload_bytes
    if not pending:
        result = verified_key = None
    else:
        # Reading a large object takes a while: no transaction or row lock is held meanwhile.
        # The copy is what gets hashed and kept: the upload form can still write the upload.
        verified_key = new_verified_key(application_id, str(document_id))
        result = check_copy(storage, upload, verified_key, content_type, limit)
    committed, retired = None, []  # the recorded outcome, once committed; the replaced document's keys
    try:
        with db.session() as s, s.begin():
            doc, app_row = own_document(s, document_id, applicant_id, lock=True)  # deleted meanwhile: 404
            outcome, replaced = None, []
            if result is not None and doc.status == "pending":
                if app_row.status != "draft":
                    raise _frozen(app_row)
                record_check(doc, result, verified_key)
                outcome = result.ok
                if result.ok:
                    replaced = retire_replaced(s, doc)
            status, reason = doc.status, doc.rejection_reason
        committed, retired = outcome, replaced
    finally:
        if verified_key is not None:
            settle_check(storage, upload, verified_key, committed)
    _remove_objects(storage, retired)
    if committed is not None:
        try:
            with db.session() as s:
                sweep(s, storage, application_id)
        except Exception:  # the check is recorded; the next one sweeps again
            log.exception("sweeping application %s", application_id)
    if status == "rejected":
        raise Refused(422, f"the file was refused and removed: {reason}", {"file": [reason]})
    return doc


def download_url(db, storage, document_id, applicant_id: str | None) -> str:
    """A short-lived link to a checked file."""
    with db.session() as s:
        doc, _ = own_document(s, document_id, applicant_id)
        if doc.status != "verified":
            raise Refused(409, f"the document is {doc.status}; only checked files can be downloaded")
        return storage.download_url(doc.storage_key, doc.filename, doc.content_type)
