"""The secretariat's Applications pages and API (ops/registry.py, ops/registry_record.py,
ops/registry_export.py, pages/applications.py, api/registry.py), on SQLite and PostgreSQL:
search, every filter, every sort both ways, paging, completeness against rules.assess, an
application read as submitted, the CSV, XLSX and ZIP, who may see them, bad arguments, and the
number of SQL statements a page costs with 3,000 rows."""
from __future__ import annotations

import csv
import io
import json
import re
import uuid
import zipfile
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from sqlalchemy import event, insert

from services.intake.handlers import HANDLERS, inviter
from services.intake.models import Applicant, Application, Document, inbox, outbox
from services.intake.ops import registry
from shared.auth import issue_token
from shared.config import load_settings
from shared.events import make_event, parse_message
from shared.inbox import InboxDispatcher, bind
from shared.staff import store
from tests.conftest import embedded_env
from tests.support.stack import (PDF, Stack, auth, complete_draft, open_call, register, start_draft,
                                 submit_application, upload_document)

LIST = "/secretariat/applications"
API = "/api/secretariat/applications"
ROLES = ("admin", "secretariat", "jury_chair", "observer")


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request, tmp_path):
    """intake alone, on SQLite or on a fresh PostgreSQL database (no broker needed here)."""
    extra = {}
    if request.param == "postgresql":
        extra["PRIZE_INTAKE_DATABASE_URL"] = request.getfixturevalue("pg_database_urls")["intake"]
    stack = Stack(load_settings(embedded_env(tmp_path / "var", **extra)), services=("intake",))
    yield stack
    stack.stop()


def _deliver(stack, type_: str, data: dict) -> None:
    """An event from review, handled by intake's consumer as the worker would."""
    db = stack.apps["intake"].extensions["prize"]["db"]
    message = make_event(type_, data, producer="review").to_message()
    InboxDispatcher(db, inbox, outbox, "intake", bind(HANDLERS, invite=inviter("http://127.0.0.1:8001")))(
        parse_message(json.loads(json.dumps(message, default=str))))


@pytest.fixture
def world(served):
    """Six applicants as the secretariat meets them: submitted and screened, draft, complete
    draft, registered only, withdrawn, and one whose names a spreadsheet would run."""
    intake, sec = served.clients["intake"], served.secretariat_token()
    call = open_call(intake, sec)
    kaohsiung, k_token = register(intake)
    submitted = submit_application(intake, k_token, call["id"])
    _deliver(served, "application.screened", {"application_id": submitted["id"], "reference": submitted["reference"],
                                             "eligible": True, "screened_at": datetime.now(timezone.utc)})
    lublin, l_token = register(intake, organisation="Lublin City Office", country="PL", city="Lublin",
                               contact_name="Anna Nowak", contact_email="anna@lublin.example.pl")
    draft = start_draft(intake, l_token, call["id"], "human_centricity", title="Inclusive e-buses",
                        summary="Low-floor electric buses.")
    r = intake.patch(f"/api/applications/{draft['id']}", headers=auth(l_token),
                     json={"answers": {"problem": "Older residents could not board.", "design": "   "}})
    assert r.status_code == 200, r.get_json()
    guarulhos, g_token = register(intake, type="institution", organisation="Instituto Guarulhos Digital",
                                  country="BR", city="Guarulhos", contact_name="João Silva",
                                  contact_email="joao@guarulhos.example.br")
    complete = complete_draft(intake, g_token, start_draft(intake, g_token, call["id"], title="Bairro conectado")["id"])
    chiang_mai, _ = register(intake, type="corporation", organisation="Chiang Mai Smart Co", country="TH",
                             city="Chiang Mai", contact_name="Somchai P.", contact_email="somchai@cm.example.th")
    beyoglu, b_token = register(intake, type="individual", organisation="Ayşe Yılmaz", country="TR", city="Beyoğlu",
                                contact_name="Ayşe Yılmaz", contact_email="ayse@beyoglu.example.tr")
    withdrawn = submit_application(intake, b_token, call["id"], "leadership", title="Digital Beyoğlu")
    r = intake.post(f"/api/applications/{withdrawn['id']}/withdraw", headers=auth(b_token), json={"reason": "moved"})
    assert r.status_code == 200, r.get_json()
    ryde, _ = register(intake, organisation="=HYPERLINK(\"http://evil.example\",\"Ryde\")", country="AU",
                       city="-2+3", contact_name="@SUM(A1)", contact_email="ryde@ryde.example.au")
    return SimpleNamespace(stack=served, app=served.apps["intake"], intake=intake, sec=sec, call=call,
                           db=served.apps["intake"].extensions["prize"]["db"],
                           kaohsiung=kaohsiung, k_token=k_token, submitted=submitted, lublin=lublin,
                           l_token=l_token, draft=draft, guarulhos=guarulhos, complete=complete,
                           chiang_mai=chiang_mai, beyoglu=beyoglu, withdrawn=withdrawn, ryde=ryde)


def _list(w, **args) -> dict:
    r = w.intake.get(API, headers=auth(w.sec), query_string=args)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _orgs(w, **args) -> list[str]:
    return [row["organisation"] for row in _list(w, **args)["items"]]


# --- the list: search, filters, sort, paging ----------------------------------------------------

def test_registry_lists_every_applicant_with_status_stage_region_and_completeness(world):
    rows = {r["organisation"]: r for r in _list(world)["items"]}
    assert len(rows) == 6
    k = rows["Kaohsiung City Government"]
    assert (k["status"], k["stage"], k["region"], k["year"], k["completeness"]) == (
        "submitted", "eligible", "asia_pacific", 2026, 100)
    assert (rows["Lublin City Office"]["status"], rows["Lublin City Office"]["region"]) == ("draft", "europe")
    assert rows["Chiang Mai Smart Co"]["status"] == "registered"
    assert rows["Chiang Mai Smart Co"]["application_id"] is None and rows["Chiang Mai Smart Co"]["completeness"] is None
    assert rows["Ayşe Yılmaz"]["status"] == "withdrawn" and rows["Ayşe Yılmaz"]["stage"] is None
    assert rows["Instituto Guarulhos Digital"]["region"] == "latin_america"
    assert all(r["last_activity"] for r in rows.values())


def test_registry_completeness_is_what_the_application_itself_says(world):
    """The SQL measure equals rules.assess's (the application's own API answer), blank-only
    answers counting as not filled."""
    for row in _list(world)["items"]:
        if row["application_id"]:
            own = world.intake.get(f"/api/applications/{row['application_id']}", headers=auth(world.sec)).get_json()
            assert row["completeness"] == own["completeness"], row["organisation"]
    lublin = next(r for r in _list(world, q="lublin")["items"])
    assert lublin["completeness"] == 33  # title, summary, 1 of 6 answers; 0 of 1 documents: 3 of 9


def test_registry_search_matches_organisation_contact_email_reference_and_title_in_any_case(world):
    assert _orgs(world, q="KAOHSIUNG") == ["Kaohsiung City Government"]
    assert _orgs(world, q="anna nowak") == ["Lublin City Office"]
    assert _orgs(world, q="joao@guarulhos") == ["Instituto Guarulhos Digital"]
    assert _orgs(world, q=world.submitted["reference"].lower()) == ["Kaohsiung City Government"]
    assert _orgs(world, q="inclusive e-BUSES") == ["Lublin City Office"]
    assert _orgs(world, q="100%_") == []  # LIKE's wildcards are searched for, not used
    assert _list(world, q="nobody-at-all")["total"] == 0


FILTERS = [
    ({"year": 2026}, {"Kaohsiung City Government", "Lublin City Office", "Instituto Guarulhos Digital",
                      "Chiang Mai Smart Co", "Ayşe Yılmaz", "=HYPERLINK(\"http://evil.example\",\"Ryde\")"}),
    ({"category": "human_centricity"}, {"Lublin City Office"}),
    ({"category": "leadership"}, {"Ayşe Yılmaz"}),
    ({"country": "BR"}, {"Instituto Guarulhos Digital"}),
    ({"region": "asia_pacific"}, {"Kaohsiung City Government", "Chiang Mai Smart Co",
                                  "=HYPERLINK(\"http://evil.example\",\"Ryde\")"}),
    ({"region": "europe"}, {"Lublin City Office", "Ayşe Yılmaz"}),
    ({"region": "africa"}, set()),
    ({"type": "corporation"}, {"Chiang Mai Smart Co"}),
    ({"type": "institution"}, {"Instituto Guarulhos Digital"}),
    ({"status": "registered"}, {"Chiang Mai Smart Co", "=HYPERLINK(\"http://evil.example\",\"Ryde\")"}),
    ({"status": "draft"}, {"Lublin City Office", "Instituto Guarulhos Digital"}),
    ({"status": "submitted"}, {"Kaohsiung City Government"}),
    ({"status": "eligible"}, {"Kaohsiung City Government"}),
    ({"status": "ineligible"}, set()),
    ({"status": "withdrawn"}, {"Ayşe Yılmaz"}),
    ({"status": "draft", "region": "europe"}, {"Lublin City Office"}),
]


def test_registry_filters_each_alone_and_together(world):
    for args, expected in FILTERS:
        found = _list(world, **args)
        assert {r["organisation"] for r in found["items"]} == expected, args
        assert found["total"] == len(expected), args


def test_registry_edition_filter_shows_applicants_without_an_application_there_as_registered(world):
    open_call(world.intake, world.sec, year=2027)
    assert _list(world, year=2027, status="registered")["total"] == 6
    assert _list(world, year=2027, status="draft")["total"] == 0
    assert _list(world, year=2026, status="registered")["total"] == 2


def test_registry_sorts_by_every_column_both_ways(world):
    for sort in registry.SORTS:
        _check_sort(world, sort)


def _check_sort(world, sort):
    up, down = _list(world, sort=sort, direction="asc")["items"], _list(world, sort=sort, direction="desc")["items"]
    assert len(up) == len(down) == 6
    assert {r["applicant_id"] for r in up} == {r["applicant_id"] for r in down}
    key = {"activity": "last_activity", "organisation": "organisation", "contact": "contact_name",
           "email": "contact_email", "reference": "reference", "title": "title", "edition": "year",
           "category": "category", "country": "country", "region": "region", "type": "type",
           "status": None, "completeness": "completeness"}[sort]
    if key is not None:
        def values(rows):
            present = [r[key] for r in rows if r[key] is not None]
            return [v.lower() if isinstance(v, str) and key in ("organisation", "contact_name", "title") else v
                    for v in present]
        assert values(up) == sorted(values(up)), sort
        assert values(down) == sorted(values(down), reverse=True), sort
        assert [r[key] for r in up if r[key] is None] == [r[key] for r in up[len(values(up)):]]  # empty ones last


def test_registry_sorts_by_organisation_and_completeness_in_the_order_expected(world):
    assert _orgs(world, sort="organisation", direction="asc")[:3] == [
        "=HYPERLINK(\"http://evil.example\",\"Ryde\")", "Ayşe Yılmaz", "Chiang Mai Smart Co"]
    by_completeness = [r["completeness"] for r in _list(world, sort="completeness", direction="desc")["items"]]
    assert by_completeness == [100, 100, 100, 33, None, None]


def _bulk(db, count: int, call_id: str, *, country="KR") -> None:
    """``count`` applicants, each with a draft with a checked form and a screened submission
    every third: straight into the tables, as thousands of real ones would be."""
    now = datetime.now(timezone.utc)
    applicants, applications, documents = [], [], []
    for n in range(count):
        applicant_id, application_id = str(uuid.uuid4()), str(uuid.uuid4())
        applicants.append({"id": applicant_id, "type": "city_government", "organisation": f"Bulk City {n:05d}",
                           "country": country, "city": "Seoul", "contact_name": f"Officer {n}",
                           "contact_email": f"officer{n}-{applicant_id[:6]}@bulk.example", "language": "ko",
                           "created_at": now - timedelta(minutes=n)})
        applications.append({"id": application_id, "reference": f"SSCP-2026-B{n:05d}", "call_id": call_id,
                             "applicant_id": applicant_id, "category": "tech_innovacity", "title": f"Project {n}",
                             "summary": "s", "status": "submitted" if n % 3 == 0 else "draft",
                             "created_at": now, "updated_at": now - timedelta(seconds=n),
                             "answers": {"problem": "yes"}, "revision": 1})
        documents.append({"id": str(uuid.uuid4()), "application_id": application_id, "kind": "application_form",
                          "filename": "f.pdf", "content_type": "application/pdf",
                          "storage_key": f"bulk/{application_id}", "status": "verified", "created_at": now})
    with db.session() as s, s.begin():
        for model, rows in ((Applicant, applicants), (Application, applications), (Document, documents)):
            s.execute(insert(model), rows)


def test_registry_pages_hold_50_rows_and_the_total_and_never_repeat_a_row(world):
    _bulk(world.db, 120, world.call["id"])
    seen = []
    for page in (1, 2, 3):
        found = _list(world, page=page, sort="organisation", direction="asc")
        assert (found["total"], found["pages"], found["page"], found["page_size"]) == (126, 3, page, 50)
        assert len(found["items"]) == (50 if page < 3 else 26)
        seen += [(r["applicant_id"], r["application_id"]) for r in found["items"]]
    assert len(seen) == len(set(seen)) == 126
    past = _list(world, page=99)
    assert (past["page"], len(past["items"])) == (3, 26)  # past the last page: the last
    assert _list(world, country="KR", status="submitted")["total"] == 40


# --- one application, read as submitted ------------------------------------------------------------

def test_record_shows_the_submission_and_the_applicant_as_submitted_after_a_rename(world):
    r = world.intake.patch("/api/applicants/me", headers=auth(world.k_token),
                           json={"organisation": "Kaohsiung City (renamed)"})
    assert r.status_code == 200, r.get_json()
    r = world.intake.patch(f"/api/applications/{world.submitted['id']}", headers=auth(world.k_token),
                           json={"title": "Changed after submission"})
    assert r.status_code == 409  # the content is frozen: the record below is what review got
    record = world.intake.get(f"{API}/{world.submitted['id']}", headers=auth(world.sec)).get_json()
    assert (record["source"], record["status"], record["stage"]) == ("submission", "submitted", "eligible")
    assert record["applicant"]["organisation"] == "Kaohsiung City Government"
    assert record["applicant_now"]["organisation"] == "Kaohsiung City (renamed)"
    assert record["applicant_changed"] == ["organisation"]
    assert record["title"] == "Hydrogen buses for the harbour" and record["completeness"] == 100
    assert [d["kind"] for d in record["documents"]] == ["application_form"]
    assert [t["stage"] for t in record["timeline"]] == ["draft", "submitted", "eligible"]
    page = world.intake.get(f"{LIST}/{world.submitted['id']}", headers=auth(world.sec))
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "As submitted" in text
    assert "Kaohsiung City Government" in text and "(now: Kaohsiung City (renamed))" in text
    assert "Changed after submission" not in text


def test_record_of_a_draft_says_it_is_a_draft_and_shows_the_latest_save(world):
    r = world.intake.patch(f"/api/applications/{world.draft['id']}", headers=auth(world.l_token),
                           json={"title": "Inclusive e-buses, second thoughts"})
    assert r.status_code == 200
    record = world.intake.get(f"{API}/{world.draft['id']}", headers=auth(world.sec)).get_json()
    assert (record["source"], record["title"], record["completeness"]) == (
        "draft", "Inclusive e-buses, second thoughts", 33)
    assert "documents.application_form" in record["missing"]
    text = world.intake.get(f"{LIST}/{world.draft['id']}", headers=auth(world.sec)).get_data(as_text=True)
    assert "Draft, not submitted" in text and "Inclusive e-buses, second thoughts" in text


def test_record_of_a_withdrawn_application_shows_its_submission_and_the_withdrawal(world):
    record = world.intake.get(f"{API}/{world.withdrawn['id']}", headers=auth(world.sec)).get_json()
    assert (record["source"], record["status"], record["withdrawal_reason"]) == ("submission", "withdrawn", "moved")
    text = world.intake.get(f"{LIST}/{world.withdrawn['id']}", headers=auth(world.sec)).get_data(as_text=True)
    assert "Withdrawn" in text and "moved" in text


def test_record_of_an_unknown_application_is_a_404(world):
    assert world.intake.get(f"{API}/{uuid.uuid4()}", headers=auth(world.sec)).status_code == 404
    for path in (f"{LIST}/{uuid.uuid4()}", f"{LIST}/not-an-id", f"{LIST}/{uuid.uuid4()}/documents.zip",
                 f"{LIST}/documents/{uuid.uuid4()}"):
        r = world.intake.get(path, headers=auth(world.sec))
        assert r.status_code == 404 and "no such" in r.get_data(as_text=True).lower(), path


def test_a_document_link_leads_to_the_stored_file_named_by_its_checked_type(world):
    record = world.intake.get(f"{API}/{world.submitted['id']}", headers=auth(world.sec)).get_json()
    r = world.intake.get(f"{LIST}/documents/{record['documents'][0]['id']}", headers=auth(world.sec))
    assert r.status_code == 302 and r.headers["Cache-Control"] == "no-store"
    target = urlsplit(r.headers["Location"])
    body = world.intake.get(f"{target.path}?{target.query}")
    assert body.status_code == 200 and body.data == PDF


# --- exports ----------------------------------------------------------------------------------------

def _csv(world, **args) -> list[dict]:
    r = world.intake.get(f"{LIST}/export.csv", headers=auth(world.sec), query_string=args)
    assert r.status_code == 200 and r.mimetype == "text/csv" and r.headers["Cache-Control"] == "no-store"
    assert r.headers["Content-Disposition"].startswith('attachment; filename="applications-')
    text = r.get_data(as_text=True)
    assert text.startswith("\ufeff") and "\r\n" in text
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_csv_export_has_every_filtered_row_and_neutralises_formulas(world):
    rows = _csv(world)
    assert len(rows) == 6
    ryde = next(r for r in rows if "HYPERLINK" in r["organisation"])
    assert ryde["organisation"] == "'=HYPERLINK(\"http://evil.example\",\"Ryde\")"
    assert (ryde["contact"], ryde["city"], ryde["status"]) == ("'@SUM(A1)", "'-2+3", "registered")
    k = next(r for r in rows if r["organisation"] == "Kaohsiung City Government")
    assert (k["reference"], k["region"], k["review stage"], k["completeness %"]) == (
        world.submitted["reference"], "Asia and the Pacific", "eligible", "100")
    assert [r["organisation"] for r in _csv(world, status="draft", sort="organisation", direction="asc")] == [
        "Instituto Guarulhos Digital", "Lublin City Office"]


def test_xlsx_export_opens_in_openpyxl_with_the_filters_and_formulas_as_text(world):
    import openpyxl
    r = world.intake.get(f"{LIST}/export.xlsx", headers=auth(world.sec), query_string={"region": "asia_pacific"})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(r.data)).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][:3] == ["reference", "edition", "organisation"]
    assert len(rows) == 4
    cells = [c for row in rows for c in row if isinstance(c, str)]
    assert "'=HYPERLINK(\"http://evil.example\",\"Ryde\")" in cells and "'@SUM(A1)" in cells and "'-2+3" in cells
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_neutral_cell_covers_every_formula_start():
    from services.intake.ops.registry_export import neutral
    for text in ("=1+1", "+1", "-1", "@A1", "\t=1", "\r=1"):
        assert neutral(text) == "'" + text
    assert neutral("Seoul") == "Seoul" and neutral(42) == 42 and neutral(None) == ""
    assert neutral("a\x01b", xml=True) == "ab"


def test_documents_zip_holds_the_submitted_files_under_safe_unique_names(world):
    intake, token = world.intake, world.k_token
    second = start_draft(intake, token, world.call["id"], "human_centricity", title="Smart shelters")
    complete_draft(intake, token, second["id"])
    for name in ("../../etc/passwd.pdf", "..\\..\\boot.ini", "photos.html", "photos.html", "사진 자료.pdf"):
        upload_document(intake, token, second["id"], kind="supporting_material", filename=name)
    r = intake.post(f"/api/applications/{second['id']}/documents", headers=auth(token), json={
        "kind": "supporting_material", "filename": "pending.pdf", "content_type": "application/pdf", "size": len(PDF)})
    assert r.status_code == 201  # never completed: not part of what is submitted
    assert intake.post(f"/api/applications/{second['id']}/submit", headers=auth(token)).status_code == 200
    r = intake.get(f"{LIST}/{second['id']}/documents.zip", headers=auth(world.sec))
    assert r.status_code == 200 and r.mimetype == "application/zip" and r.headers["Cache-Control"] == "no-store"
    assert r.headers["Content-Disposition"] == f'attachment; filename="{second["reference"]}-documents.zip"'
    archive = zipfile.ZipFile(io.BytesIO(r.data))
    names = archive.namelist()
    assert names == ["01-application_form-application-form.pdf", "02-supporting_material-passwd.pdf",
                     "03-supporting_material-boot.pdf",
                     "04-supporting_material-photos.pdf", "05-supporting_material-photos.pdf",
                     "06-supporting_material-사진 자료.pdf"]
    for name in names:
        assert "/" not in name and "\\" not in name and not name.startswith(".") and not name.split("-", 2)[2].startswith(".")
        assert archive.read(name) == PDF
    assert archive.testzip() is None


# --- who may see them, and what bad arguments get -------------------------------------------------

def _urls(w) -> list[str]:
    doc = w.intake.get(f"{API}/{w.submitted['id']}", headers=auth(w.sec)).get_json()["documents"][0]["id"]
    return [LIST, f"{LIST}?status=draft", f"{LIST}/export.csv", f"{LIST}/export.xlsx", f"{LIST}/{w.submitted['id']}",
            f"{LIST}/{w.draft['id']}", f"{LIST}/{w.submitted['id']}/documents.zip", f"{LIST}/documents/{doc}"]


def _staff_browser(w, role: str):
    member = {"staff_id": str(uuid.uuid4()), "email": f"{role}@wego.example", "name": role.title(),
              "language": "en", "role": role, "active": True, "version": 1, "changed_by": "test"}
    from services.intake.models import staff_tables
    now = datetime.now(timezone.utc)
    with w.db.session() as s, s.begin():
        store.apply_member(s, staff_tables, member, now)
        secret = store.open_session(s, staff_tables, member["staff_id"], "family-" + role, now)
    client = w.app.test_client()
    client.set_cookie("prize_staff_intake", secret)
    return client


def test_every_staff_role_reads_every_page_and_nothing_is_cached(world):
    for role in ROLES:
        client = _staff_browser(world, role)
        for url in _urls(world):
            r = client.get(url)
            assert r.status_code in (200, 302), (role, url, r.status_code)
            assert r.headers["Cache-Control"] == "no-store", (role, url)
        assert client.get(API).status_code == 401  # the API takes tokens, not the pages' cookie


def test_applicants_and_jurors_get_nothing_from_these_pages_or_the_api(world):
    """An applicant's portal session is no staff sign-in (to the staff sign-in page), their token
    or a juror's is refused (403); nothing of another applicant shows in any answer."""
    portal = world.app.test_client()
    r = portal.post("/api/signin", json={"email": world.lublin["contact_email"], "purpose": "browser"})
    assert r.status_code == 202
    from tests.support.stack import open_signin_link, signin_events
    assert open_signin_link(portal, urlsplit(signin_events(world.intake, world.lublin["contact_email"])[-1]["url"]).path).status_code == 303
    juror = issue_token(world.stack.settings.secret_key, "juror", str(uuid.uuid4()))
    for url in _urls(world):
        r = portal.get(url)
        assert r.status_code == 302 and r.headers["Location"].startswith("/staff/signin"), url
        for token in (world.l_token, world.k_token, juror):
            r = world.app.test_client().get(url, headers=auth(token))
            assert r.status_code == 403 and "Kaohsiung" not in r.get_data(as_text=True), url
        r = world.app.test_client().get(url)
        assert r.status_code == 302 and r.headers["Location"].startswith("/staff/signin"), url
    for url in (API, f"{API}/{world.submitted['id']}", f"{API}/{world.draft['id']}"):
        for token in (world.l_token, world.k_token, juror):
            r = world.app.test_client().get(url, headers=auth(token))
            assert r.status_code == 403 and "Kaohsiung" not in r.get_data(as_text=True), url
        assert portal.get(url).status_code == 403  # the portal cookie is an applicant's
        assert world.app.test_client().get(url).status_code == 401


BAD_ARGUMENTS = [
    {"page": "-1"}, {"page": "abc"}, {"page": "99999999999999999999"}, {"sort": "unknown"},
    {"direction": "sideways"}, {"year": "99999"}, {"year": "2026; DROP TABLE applicants"},
    {"country": "<script>"}, {"status": "bogus"}, {"region": "atlantis"}, {"q": "x" * 10_000},
    {"q": "%' OR 1=1 --"}, {"category": "∞"}]


def test_bad_arguments_are_clamped_on_the_pages_and_refused_by_the_api(world):
    for args in BAD_ARGUMENTS:
        _check_bad(world, args)


def _check_bad(world, args):
    r = world.intake.get(f"{LIST}/export.csv", headers=auth(world.sec), query_string=args)
    assert r.status_code == 200, (args, r.status_code)
    r = world.intake.get(LIST, headers=auth(world.sec), query_string=args)
    if args.get("q", "").startswith("%"):
        assert r.status_code == 200
    else:  # to the list without what it cannot use (a long search cut to 200 characters)
        assert r.status_code == 302 and r.headers["Cache-Control"] == "no-store", args
        assert r.headers["Location"] in (LIST, f"{LIST}?q={'x' * 200}", f"{LIST}?page={registry.MAX_PAGE}"), args
        assert world.intake.get(r.headers["Location"], headers=auth(world.sec)).status_code == 200
    r = world.intake.get(API, headers=auth(world.sec), query_string=args)
    if args.get("q") == "%' OR 1=1 --":
        assert r.status_code == 200 and r.get_json()["total"] == 0
    else:
        assert r.status_code == 422, (args, r.status_code)


def test_the_filter_form_s_empty_fields_lead_to_the_short_url_to_share(world):
    r = world.intake.get(LIST, headers=auth(world.sec), query_string={
        "q": "", "year": "", "status": "draft", "country": "", "sort": "activity", "direction": "desc"})
    assert (r.status_code, r.headers["Location"]) == (302, f"{LIST}?status=draft")


def test_the_list_page_keeps_the_filters_in_its_links_and_labels_every_field(world):
    text = world.intake.get(LIST, headers=auth(world.sec), query_string={"status": "draft", "region": "europe"}) \
        .get_data(as_text=True)
    assert "Lublin City Office" in text and "Instituto Guarulhos" not in text
    for field in ("q", "year", "category", "status", "country", "region", "type"):
        assert f'<label for="{field}">' in text and f'id="{field}"' in text, field
    assert re.search(r'href="/secretariat/applications/export\.csv\?[^"]*status=draft', text)
    assert re.search(r'href="/secretariat/applications\?[^"]*sort=organisation', text)
    home = world.intake.get("/secretariat", headers=auth(world.sec)).get_data(as_text=True)
    assert 'href="/secretariat/applications"' in home


# --- cost: a page is a bounded number of statements, whatever the size --------------------------

def _statements(db, action) -> int:
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def test_a_page_costs_the_same_few_statements_for_6_rows_and_3006(world):
    def page():
        r = world.intake.get(LIST, headers=auth(world.sec), query_string={"sort": "completeness", "status": "draft"})
        assert r.status_code == 200

    def ops():
        registry.search(world.db, registry.RegistryQuery(sort="status", region="asia_pacific"))
    few = (_statements(world.db, page), _statements(world.db, ops))
    _bulk(world.db, 3000, world.call["id"])
    assert _list(world)["total"] == 3006
    many = (_statements(world.db, page), _statements(world.db, ops))
    assert many == few, (few, many)
    assert many[1] <= 4, many  # the editions' terms, the count, the page (and a BEGIN on some drivers)


def test_documents_zip_names_a_file_the_store_lost_instead_of_breaking_off(world):
    store = world.app.extensions["prize"]["storage"]
    with world.db.session() as s:
        key = s.query(Document).filter(Document.application_id == world.submitted["id"]).one().storage_key
    store.delete(key)
    r = world.intake.get(f"{LIST}/{world.submitted['id']}/documents.zip", headers=auth(world.sec))
    archive = zipfile.ZipFile(io.BytesIO(r.data))
    assert archive.namelist() == ["MISSING.txt"]
    assert "01-application_form-application-form.pdf" in archive.read("MISSING.txt").decode()
