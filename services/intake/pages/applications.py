"""The secretariat's Applications pages: every applicant and application in one list (search,
filters as a GET form, so a URL is shareable; sort links; 50 a page), its export as CSV or XLSX
with the same filters, one application read as submitted (a draft as the draft it is) with its
documents, and those documents as one ZIP.

Staff read these pages (every role; observers and jury chairs too), as do operators with a
secretariat token; an applicant's portal session or token is no staff sign-in and gets nothing.
The lists and records come from ops/registry.py and ops/registry_record.py.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, request, stream_with_context, url_for

from shared.refusals import Refused
from shared.storage import safe_filename

from ..ops import documents as document_ops
from ..ops import registry, registry_export, registry_record
from ..ops.regions import REGION_LABELS
from ..web import _db, _now, storage
from .applicant import TYPE_LABELS
from .secretariat import _page, _require

applications = Blueprint("intake_applications", __name__, url_prefix="/secretariat/applications",
                         template_folder="../templates")

CATEGORY_LABELS = {"tech_innovacity": "Tech-InnovaCity", "human_centricity": "Human-CentriCity",
                   "leadership": "Leadership"}
STATUS_LABELS = {"registered": "Registered, no draft", "draft": "Draft", "submitted": "Submitted (any stage)",
                 "withdrawn": "Withdrawn", "eligible": "Eligible", "ineligible": "Not eligible",
                 "finalist": "Finalist", "not_advanced": "Not advanced", "winner": "Winner",
                 "special_mention": "Special mention", "not_awarded": "Not awarded"}
STAGE_LABELS = {**STATUS_LABELS, "draft": "Draft started", "submitted": "Submitted"}
COLUMNS = (("reference", "Application"), ("organisation", "Applicant"), ("edition", "Edition"),
           ("category", "Category"), ("country", "Country"), ("region", "Region"), ("type", "Type"),
           ("status", "Status"), ("completeness", "Complete"), ("activity", "Last activity"))
LABELS = {"categories": CATEGORY_LABELS, "statuses": STATUS_LABELS, "types": TYPE_LABELS, "regions": REGION_LABELS,
          "stages": STAGE_LABELS}


def _not_found(message: str):
    abort(_page("secretariat/staff_message.html", 404, title="Not found", message=message))


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"  # names, addresses, answers
    return response


@applications.get("")
def index():
    """The list: filters and search from the query string, sort links, a pager."""
    _require("read")
    query = registry.lenient_query(request.args)
    canonical = {k: str(v) for k, v in query.args().items()}
    if request.args.to_dict(flat=False) != {k: [v] for k, v in canonical.items()}:
        # the form sends every field, empty ones too: the short URL (what differs from the
        # defaults, unknown values dropped) is the one to share and bookmark
        return _no_store(redirect(url_for("intake_applications.index", **canonical), 302))
    found = registry.search(_db(), query)
    return _page("secretariat/applications/list.html", found=found, query=query, columns=COLUMNS,
                 choices=registry.choices(_db()), labels=LABELS,
                 first=(found.page - 1) * found.page_size + 1 if found.total else 0,
                 last=(found.page - 1) * found.page_size + len(found.items))


def _export_name(query: registry.RegistryQuery, suffix: str) -> str:
    parts = ["applications", str(query.year or "all")] + [v for v in (query.category, query.status) if v]
    return f"{'-'.join(parts)}-{_now():%Y%m%d}.{suffix}"


@applications.get("/export.csv")
def export_csv():
    """The whole filtered list (every page) as CSV: UTF-8 with BOM, one line per row."""
    _require("read")
    query = registry.lenient_query(request.args)
    rows = registry.export_rows(_db(), query)
    body = stream_with_context(_with_bom(registry_export.registry_csv(rows)))
    return _no_store(Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{_export_name(query, "csv")}"'}))


def _with_bom(lines):
    yield "\ufeff"
    yield from lines


@applications.get("/export.xlsx")
def export_xlsx():
    """The whole filtered list as one worksheet."""
    _require("read")
    query = registry.lenient_query(request.args)
    body = registry_export.registry_xlsx(registry.export_rows(_db(), query))
    return _no_store(Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                              headers={"Content-Disposition":
                                       f'attachment; filename="{_export_name(query, "xlsx")}"'}))


@applications.get("/<application_id>")
def record(application_id):
    """One application as submitted (or the draft as it stands), its documents and stages."""
    _require("read")
    try:
        found = registry_record.read_record(_db(), application_id)
    except Refused:
        _not_found("There is no such application.")
    return _page("secretariat/applications/record.html", app=found, labels=LABELS,
                 back=_back_link())


def _back_link() -> str:
    """Back to the list this record was opened from (a local path only), else the whole list."""
    target = request.args.get("back", "")
    list_path = url_for("intake_applications.index")
    if target.startswith(list_path) and not target.startswith("//") and len(target) <= 2000 \
            and all(32 <= ord(ch) != 127 for ch in target):
        return target
    return list_path


@applications.get("/<application_id>/documents.zip")
def documents_zip(application_id):
    """The application's checked documents (those submitted) as one ZIP, streamed."""
    _require("read")
    try:
        reference, entries = registry_record.zip_entries(_db(), application_id)
    except Refused:
        _not_found("There is no such application.")
    body = stream_with_context(registry_export.stream_zip(storage(), entries))
    return _no_store(Response(body, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{safe_filename(reference)}-documents.zip"'}))


@applications.get("/documents/<document_id>")
def document(document_id):
    """One checked document: a short-lived link to the store (the applicant's name, the checked
    type's extension), after the staff check."""
    _require("read")
    try:
        url = document_ops.download_url(_db(), storage(), document_id, None)
    except Refused as exc:
        if exc.status == 404:
            _not_found("There is no such document.")
        abort(_page("secretariat/staff_message.html", exc.status, title="Cannot download", message=exc.message))
    return _no_store(redirect(url, 302))


blueprints = [applications]
