"""Prospects from a CSV (ops/prospect_import.py): every encoding a spreadsheet saves, each line's
verdict in the preview before anything is stored, the confirm that stores exactly the preview's
new lines (refused when the file or the prospects changed; a double submit creates nobody twice),
and 10,000 lines through the pages."""
from __future__ import annotations

import base64
import io
import re
import time

import pytest

from services.intake.models import Prospect
from tests.intake.test_edition_pages import _browser
from tests.support.stack import auth, open_call

API = "/api/prospects/import"
PAGES = "/secretariat/prospects/import"
HEADER = "organisation,city,country,contact_name,email,language,met_at,met_on,notes,owner,type\n"
CITIES = (HEADER
          + "Urząd Miasta Lublin,Lublin,PL,Zofia Wiśniewska,zofia@lublin.example.pl,en,Smart City Summit and Expo,"
            "2023-03-28,,,city_government\n"
          + "Budapest Főváros,Budapest,hungary,Bálint Kovács,balint@budapest.example.hu,English,Smart City Summit and "
            "Expo,2023-03-28,\"digital twin, mobility\",kim@wego.example,City government\n"
          + "Ciudad de México,Ciudad de México,Mexico,José Ñúñez,jose@cdmx.example.mx,es,Mayors Forum,,,,\n")


def _db(stack):
    return stack.apps["intake"].extensions["prize"]["db"]


def _count(stack) -> int:
    with _db(stack).session() as s:
        return s.query(Prospect).count()


def _preview(intake, sec, raw: bytes, **extra):
    r = intake.post(f"{API}?dry_run=1", headers=auth(sec),
                    json={"content_base64": base64.b64encode(raw).decode(), **extra})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


@pytest.mark.parametrize("encoding,raw,label", [
    ("utf-8", CITIES.encode("utf-8"), "UTF-8"),
    ("utf-8-sig", CITIES.encode("utf-8-sig"), "UTF-8 with a byte-order mark"),
    ("utf-16-le", CITIES.encode("utf-16-le").join([b"\xff\xfe", b""]), "UTF-16 little-endian"),
    ("utf-16-be", CITIES.encode("utf-16-be").join([b"\xfe\xff", b""]), "UTF-16 big-endian"),
    ("cp1252", CITIES.replace("Urząd", "Urzad").replace("Wiś", "Wis").replace("Főváros", "Fovaros").encode("cp1252"), "Windows-1252 (Excel)"),
])
def test_each_encoding_is_read_and_named(stack, intake, sec, encoding, raw, label):
    body = _preview(intake, sec, raw)
    assert (body["encoding"], body["encoding_label"]) == (encoding, label)
    assert body["counts"] == {"lines": 3, "new": 3, "existing": 0, "duplicate": 0, "error": 0}, body["problems"]
    created = intake.post(API, headers=auth(sec), json={"content_base64": base64.b64encode(raw).decode(),
                                                        "fingerprint": body["fingerprint"]})
    assert created.status_code == 200 and created.get_json()["created"] == 3
    with _db(stack).session() as s:
        mexico = s.query(Prospect).filter_by(email="jose@cdmx.example.mx").one()
        assert (mexico.contact_name, mexico.country, mexico.region, mexico.language) == \
            ("José Ñúñez", "MX", "latin_america", "es")
        budapest = s.query(Prospect).filter_by(email="balint@budapest.example.hu").one()
        assert (budapest.country, budapest.language, budapest.applicant_type, budapest.owner, budapest.notes) == \
            ("HU", "en", "city_government", "kim@wego.example", "digital twin, mobility")
        assert budapest.created_by == "operator test-secretariat"


def test_broken_files_are_a_422_naming_the_problem(intake, sec):
    for raw, says in ((b"\x81\x8d\x8f not cp1252 either", "cannot be read"),
                      (CITIES.encode("utf-16-le"), "NUL"),  # UTF-16 without its mark
                      (b"name,phone\nx,1\n", "missing: organisation, email, country"),
                      (b"", "missing"),
                      (b"organisation,email,country,email\nA,a@x.example,KR,b@x.example\n", "named twice")):
        r = intake.post(f"{API}?dry_run=1", headers=auth(sec), json={"content_base64": base64.b64encode(raw).decode()})
        assert r.status_code == 422 and says in r.get_json()["message"], (raw[:20], r.get_json())
        assert "csv" in r.get_json()["errors"]["json"]
    r = intake.post(f"{API}?dry_run=1", headers=auth(sec), json={"content_base64": "not base64!"})
    assert r.status_code == 422 and "content_base64" in r.get_json()["errors"]["json"]
    assert intake.post(f"{API}?dry_run=1", headers=auth(sec), json={}).status_code == 422
    assert intake.post(API, headers=auth(sec), json={"csv": CITIES}).status_code == 422  # no fingerprint


def test_each_line_is_new_existing_duplicate_or_an_error_with_its_reason(stack, intake, sec):
    intake.post("/api/prospects", headers=auth(sec), json={"organisation": "Lublin (met before)", "country": "PL",
                                                           "email": "zofia@lublin.example.pl"})
    text = ("Organisation;E-mail;Country;Met_On;Language;Phone\n"  # semicolons, another case, an alias, a column ignored
            "Urząd Miasta Lublin;ZOFIA@lublin.example.pl;PL;;;1\n"
            "Chiang Mai;somchai@chiangmai.example.th;Thailand;2023-03-29;;2\n"
            "Chiang Mai again;Somchai@chiangmai.example.th;TH;;;3\n"
            ";nobody@x.example;KR;;;4\n"
            "Atlantis;king@atlantis.example;Atlantis;;;5\n"
            "Guarulhos;ana@guarulhos;BR;;;6\n"
            "Ryde;mayor@ryde.example.au;AU;28/03/2023;;7\n"
            "Kaohsiung;kh@kaohsiung.example.tw;TW;;klingon;8\n")
    body = intake.post(f"{API}?dry_run=1", headers=auth(sec), json={"csv": text}).get_json()
    assert body["counts"] == {"lines": 8, "new": 1, "existing": 1, "duplicate": 1, "error": 5}
    assert body["ignored_columns"] == ["Phone"]
    problems = {p["line"]: (p["status"], " ".join(p["reasons"])) for p in body["problems"]}
    assert problems[2][0] == "existing" and "already a prospect: Lublin (met before)" in problems[2][1]
    assert problems[4] == ("duplicate", "the same address as line 3: skipped")
    assert problems[5][0] == "error" and "organisation: is required" in problems[5][1]
    assert "unknown country 'Atlantis'" in problems[6][1]
    assert "email: is not a valid email address" in problems[7][1]
    assert "bad date '28/03/2023'" in problems[8][1]
    assert "unknown language 'klingon'" in problems[9][1]
    assert [n["email"] for n in body["new"]] == ["somchai@chiangmai.example.th"]
    assert _count(stack) == 1  # a preview stores nothing


def test_a_confirm_is_refused_when_the_file_or_the_prospects_changed_and_a_double_submit_creates_nobody_twice(
        stack, intake, sec):
    call = open_call(intake, sec)
    body = intake.post(f"{API}?dry_run=1", headers=auth(sec), json={"csv": CITIES, "call_id": call["id"]}).get_json()
    changed = intake.post(API, headers=auth(sec), json={"csv": CITIES + "Ryde,Ryde,AU,,m@ryde.example,,,,,,\n",
                                                        "call_id": call["id"], "fingerprint": body["fingerprint"]})
    assert changed.status_code == 409 and "not the file" in changed.get_json()["message"]
    other_edition = intake.post(API, headers=auth(sec), json={"csv": CITIES, "fingerprint": body["fingerprint"]})
    assert other_edition.status_code == 409
    intake.post("/api/prospects", headers=auth(sec), json={"organisation": "Mexico City", "country": "MX",
                                                           "email": "jose@cdmx.example.mx"})
    stale = intake.post(API, headers=auth(sec), json={"csv": CITIES, "call_id": call["id"],
                                                      "fingerprint": body["fingerprint"]})
    assert stale.status_code == 409 and "added or changed since the preview" in stale.get_json()["message"]
    assert _count(stack) == 1
    body = intake.post(f"{API}?dry_run=1", headers=auth(sec), json={"csv": CITIES, "call_id": call["id"]}).get_json()
    assert body["counts"]["new"] == 2 and body["counts"]["existing"] == 1
    confirm = {"csv": CITIES, "call_id": call["id"], "fingerprint": body["fingerprint"]}
    first = intake.post(API, headers=auth(sec), json=confirm)
    assert first.status_code == 200 and first.get_json()["created"] == 2
    second = intake.post(API, headers=auth(sec), json=confirm)
    assert second.status_code == 409 and "imported already" in second.get_json()["message"]
    assert _count(stack) == 3
    with _db(stack).session() as s:
        assert {p.call_id for p in s.query(Prospect).filter(Prospect.email != "jose@cdmx.example.mx")} == {call["id"]}


def _big_file(rows: int) -> bytes:
    """``rows`` lines in Excel's encoding: every 250th in a country nobody knows, every 400th (from
    the 101st) the address of an earlier line (never one in error)."""
    out = io.StringIO()
    out.write(HEADER)
    for i in range(rows):
        country = "Narnia" if i % 250 == 249 else ("France", "KR", "br", "Viet Nam", "Türkiye")[i % 5]
        email = f"contact{i - 2}@city{i - 2}.example" if i % 400 == 100 else f"contact{i}@city{i}.example"
        out.write(f"Ville n°{i},Cité {i},{country},Contact {i},{email},fr,Smart City Summit and Expo,2023-03-28,"
                  f"\"notes, with a comma {i}\",,city_government\n")
    return out.getvalue().replace("ü", "u").encode("cp1252")


def test_ten_thousand_lines_through_the_pages(stack):
    browser = _browser(stack, "secretariat")
    raw = _big_file(10_000)
    assert len(raw) > 1024 * 1024  # bigger than an API body
    started = time.monotonic()
    r = browser.post(PAGES, data={"csrf_token": browser.csrf, "call_id": "", "file": (io.BytesIO(raw), "met.csv")},
                     content_type="multipart/form-data")
    text = r.get_data(as_text=True)
    assert r.status_code == 200, text[-2000:]
    assert "Windows-1252 (Excel)" in text, re.findall(r'class="flash[^>]*>[^<]*', text)
    errors, duplicates = 10_000 // 250, 10_000 // 400
    news = 10_000 - errors - duplicates
    assert f"<strong>{news:,}</strong> new" in text, re.search(r'<ul id="counts">.*?</ul>', text, re.S).group(0)
    assert f"{errors} with errors" in text
    assert f"{duplicates} duplicates" in text
    assert "the first 50 of 65" in text and len(re.findall(r'<td data-label="Line">', text)) == 50
    assert '<td data-label="Line">251</td>' in text and "unknown country &#39;Narnia&#39;" in text
    form = {name: re.search(f'name="{name}" value="([^"]*)"', text).group(1) for name in ("content", "fingerprint")}
    problems = browser.post(f"{PAGES}/problems.csv", data={"csrf_token": browser.csrf, "call_id": "", **form})
    lines = problems.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert problems.status_code == 200 and len(lines) == 1 + errors + duplicates
    assert lines[1].startswith("102,duplicate,") and lines[2].startswith("251,error,"), lines[1:3]
    done = browser.post(f"{PAGES}/confirm", data={"csrf_token": browser.csrf, "call_id": "", **form})
    assert done.status_code == 303, done.get_data(as_text=True)[-2000:]
    assert _count(stack) == news
    again = browser.post(f"{PAGES}/confirm", data={"csrf_token": browser.csrf, "call_id": "", **form})
    assert again.status_code == 409 and "imported already" in again.get_data(as_text=True)
    assert _count(stack) == news
    elapsed = time.monotonic() - started
    assert elapsed < 20, elapsed
    with _db(stack).session() as s:
        row = s.query(Prospect).filter_by(email="contact7@city7.example").one()
        assert (row.organisation, row.country, row.region, row.notes) == \
            ("Ville n°7", "BR", "latin_america", "notes, with a comma 7")


def test_the_import_pages_refuse_readers_and_a_tampered_form(stack):
    browser = _browser(stack, "secretariat")
    r = browser.post(PAGES, data={"csrf_token": browser.csrf, "file": (io.BytesIO(CITIES.encode()), "c.csv")},
                     content_type="multipart/form-data")
    assert r.status_code == 200 and "UTF-8" in r.get_data(as_text=True)
    text = r.get_data(as_text=True)
    fingerprint = re.search(r'name="fingerprint" value="([^"]*)"', text).group(1)
    tampered = browser.post(f"{PAGES}/confirm", data={"csrf_token": browser.csrf, "content": "AAAA",
                                                      "fingerprint": fingerprint})
    assert tampered.status_code == 422 and _count(stack) == 0
    empty = browser.post(PAGES, data={"csrf_token": browser.csrf}, content_type="multipart/form-data")
    assert empty.status_code == 422 and "Choose a CSV file" in empty.get_data(as_text=True)
    observer = _browser(stack, "observer")
    r = observer.post(PAGES, data={"csrf_token": observer.csrf, "file": (io.BytesIO(CITIES.encode()), "c.csv")},
                      content_type="multipart/form-data")
    assert r.status_code == 403 and _count(stack) == 0


@pytest.fixture
def pg_stack(real_settings):
    from tests.support.stack import Stack
    s = Stack(real_settings, services=("intake",))
    yield s
    s.stop()


def test_on_postgresql_the_list_and_the_import_work_the_same(pg_stack):
    """The SQL of the list (status, search, region) and the bulk insert, on PostgreSQL."""
    intake, sec = pg_stack.clients["intake"], pg_stack.secretariat_token()
    raw = _big_file(1_000)
    body = _preview(intake, sec, raw)
    assert body["counts"]["new"] == 1_000 - 4 - 3, body["counts"]
    done = intake.post(API, headers=auth(sec), json={"content_base64": base64.b64encode(raw).decode(),
                                                     "fingerprint": body["fingerprint"]})
    assert done.status_code == 200 and done.get_json()["created"] == 993
    again = intake.post(API, headers=auth(sec), json={"content_base64": base64.b64encode(raw).decode(),
                                                      "fingerprint": body["fingerprint"]})
    assert again.status_code == 409 and _count(pg_stack) == 993
    found = intake.get("/api/prospects?q=CITÉ%2077&region=latin_america&status=met&sort=organisation&direction=asc",
                       headers=auth(sec)).get_json()
    assert [i["organisation"] for i in found["items"]] == ["Ville n°77", "Ville n°772", "Ville n°777"]
    assert intake.get("/api/prospects?q=cité%20772", headers=auth(sec)).get_json()["total"] == 1
    page = intake.get("/api/prospects?region=europe&page=2&sort=status", headers=auth(sec)).get_json()
    assert page["total"] > 300 and page["pages"] == -(-page["total"] // 50) and len(page["items"]) == 50
    assert {i["country"] for i in page["items"]} <= {"FR", "TR"}
