"""The public results (issue 17, "Results, public"): an edition's page, its JSON, the Atom feed and
the approved photos show nothing until intake holds the release of every award decision of the
edition, then the winners and special mentions (never a not_awarded application) and the figures;
the HTTP caching of each answer (no-store before, a short public max-age, ETag and 304 after).

Review's decisions reach intake as its consumer hands them over: parsed from JSON, through the
inbox and intake's own handlers (as in test_ceremony.py). Intake alone, embedded stack."""
from __future__ import annotations

import io
import json
import re
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import pytest
from pypdf import PdfReader

from services.intake.handlers import HANDLERS, inviter
from services.intake.models import inbox, outbox
from shared.events import make_event, parse_message
from shared.inbox import InboxDispatcher, bind
from shared.config import load_settings
from shared.staff import store
from tests.conftest import env_for
from tests.support.stack import (Stack, auth, complete_new_draft, open_call, register, start_draft, submit_application,
                                 upload_document)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
ATOM = "{http://www.w3.org/2005/Atom}"
NOW = datetime.now(timezone.utc)


def deliver(stack, type_, data):
    event = make_event(type_, data, producer="review", correlation_id=str(data["application_id"]))
    db = stack.apps["intake"].extensions["prize"]["db"]
    InboxDispatcher(db, inbox, outbox, "intake", bind(HANDLERS, invite=inviter("http://localhost")))(
        parse_message(json.loads(json.dumps(event.to_message()))))


def decide(stack, app, outcome, award=""):
    deliver(stack, "award.decided", {"application_id": app["id"], "reference": app["reference"], "outcome": outcome,
                                      "award": award, "decided_at": datetime.now(timezone.utc)})


def release(stack, app):
    deliver(stack, "results.released", {"application_id": app["id"], "round": "award",
                                        "released_at": datetime.now(timezone.utc)})


def staff_browser(stack, role="secretariat"):
    app = stack.apps["intake"]
    from services.intake.models import staff_tables
    member = {"staff_id": str(uuid.uuid4()), "email": f"{role}@wego.example", "name": f"Yuna {role}",
              "language": "en", "role": role, "active": True, "version": 1, "changed_by": "test"}
    with app.extensions["prize"]["db"].session() as s, s.begin():
        store.apply_member(s, staff_tables, member, NOW)
        secret = store.open_session(s, staff_tables, member["staff_id"], "family-" + role, NOW)
    client = app.test_client()
    client.set_cookie("prize_staff_intake", secret)
    return client


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


class Edition:
    """2026: a winner (with a checked photo among its documents), a special mention, a not_awarded
    application, one withdrawn, a draft; five cities in four countries among the submitted ones
    (Seoul twice, written differently)."""

    def __init__(self, stack):
        self.stack, self.intake, self.sec = stack, stack.clients["intake"], stack.secretariat_token()
        self.call = open_call(self.intake, self.sec)
        self.apps, self.tokens = {}, {}
        people = {
            "kaohsiung": ({}, "tech_innovacity", "=HYPERLINK(\"http://evil.example\")Hydrogen buses"),
            "lublin": ({"organisation": "Urząd Miasta Lublin", "country": "PL", "city": "Lublin",
                        "contact_email": "zofia@lublin.example.pl"}, "tech_innovacity", "Lublin digital twin"),
            "seoul": ({"organisation": "서울특별시", "country": "KR", "city": "Seoul",
                       "contact_email": "jiwoo@seoul.example.kr"}, "human_centricity", "Seoul air"),
            "sdf": ({"organisation": "Seoul Digital Foundation", "type": "institution", "country": "KR",
                     "city": " seoul ", "contact_email": "minji@sdf.example.kr"}, "human_centricity", "Open data"),
            "guarulhos": ({"organisation": "Prefeitura de Guarulhos", "country": "BR", "city": "Guarulhos",
                           "contact_email": "ana@guarulhos.example.br"}, "tech_innovacity", "Withdrawn later"),
            "lisboa": ({"organisation": "Lisboa", "country": "PT", "city": "Lisboa",
                        "contact_email": "ana@lisboa.example.pt"}, "tech_innovacity", "Only a draft"),
        }
        for key, (fields, category, title) in people.items():
            _, self.tokens[key] = register(self.intake, **fields)
            if key == "lisboa":
                self.apps[key] = start_draft(self.intake, self.tokens[key], self.call["id"], category, title=title)
            elif key == "kaohsiung":
                draft = complete_new_draft(self.intake, self.tokens[key], self.call["id"], category, title=title,
                                           summary="Clean mobility for 高雄.")
                self.photo = upload_document(self.intake, self.tokens[key], draft["id"], kind="supporting_material",
                                             body=PNG, filename="buses.png", content_type="image/png")
                r = self.intake.post(f"/api/applications/{draft['id']}/submit", headers=auth(self.tokens[key]))
                assert r.status_code == 200, r.get_json()
                self.apps[key] = r.get_json()
            else:
                self.apps[key] = submit_application(self.intake, self.tokens[key], self.call["id"], category,
                                                    title=title, summary=f"{title}: what the city did.")
        r = self.intake.post(f"/api/applications/{self.apps['guarulhos']['id']}/withdraw", json={"reason": "merged"},
                             headers=auth(self.tokens["guarulhos"]))
        assert r.status_code == 200, r.get_json()

    def decide_all(self):
        decide(self.stack, self.apps["kaohsiung"], "winner", "Grand Prize")
        decide(self.stack, self.apps["seoul"], "special_mention")
        decide(self.stack, self.apps["lublin"], "not_awarded")

    def release_all(self):
        for key in ("kaohsiung", "seoul", "lublin"):
            release(self.stack, self.apps[key])


@pytest.fixture
def edition(stack):
    return Edition(stack)


@pytest.fixture(params=["embedded", "real"])
def both_stacks(request, tmp_path):
    """The embedded stack (SQLite) and the real one (PostgreSQL, RabbitMQ), for the main test."""
    s = Stack(load_settings(env_for(request, tmp_path / "var", request.param)), services=("intake",))
    yield s
    s.stop()


PUBLIC = ("/results/2026", "/results/2026.json")


def assert_unpublished(intake, edition):
    unknown = intake.get("/results/1999")
    assert intake.get("/results/99999999999999999999").get_data() == unknown.get_data()
    for path in PUBLIC + (f"/results/2026/photos/{edition.apps['kaohsiung']['id']}",):
        r = intake.get(path)
        assert r.status_code == 404, path
        assert r.headers["Cache-Control"] == "no-store", path
        assert r.get_data() == unknown.get_data(), f"{path} tells an embargoed edition from a missing one"
        # a cache revalidating what it might hold gets the same 404, never a 304
        assert intake.get(path, headers={"If-None-Match": "*"}).status_code == 404
    feed = ET.fromstring(intake.get("/results/feed.atom").get_data())
    assert feed.findall(f"{ATOM}entry") == []
    listing = intake.get("/results").get_data(as_text=True)
    assert "2026" not in listing and "No results have been published yet." in listing
    for secret in ("Hydrogen", "Seoul air", "Grand Prize", "서울특별시"):
        for path in ("/results", "/results/feed.atom"):
            assert secret not in intake.get(path).get_data(as_text=True)


def test_nothing_is_public_until_every_award_decision_is_released_then_winners_and_figures_are(both_stacks):
    stack, intake, edition = both_stacks, both_stacks.clients["intake"], Edition(both_stacks)
    assert_unpublished(intake, edition)
    edition.decide_all()
    assert_unpublished(intake, edition)
    release(stack, edition.apps["kaohsiung"])
    release(stack, edition.apps["seoul"])  # lublin's marker not here yet: the round is not all released
    assert_unpublished(intake, edition)
    # what a cache may hold of "nothing yet": revalidated each time, so it never outlives the release
    nothing_yet = {path: intake.get(path) for path in ("/results", "/results/feed.atom")}
    for path, r in nothing_yet.items():
        assert r.headers["Cache-Control"] == "public, no-cache", path
        assert intake.get(path, headers={"If-None-Match": r.headers["ETag"]}).status_code == 304, path
    release(stack, edition.apps["lublin"])
    for path, r in nothing_yet.items():
        again = intake.get(path, headers={"If-None-Match": r.headers["ETag"]})
        assert again.status_code == 200, path
        assert {"/results": "The winners of 2026", "/results/feed.atom": "Hydrogen buses"}[path] in \
            again.get_data(as_text=True), path

    r = intake.get("/results/2026")
    html = r.get_data(as_text=True)
    assert r.status_code == 200, html[:500]
    assert "10 applications" not in html
    assert "4 applications from 3 cities in 3 countries" in html  # no draft, no withdrawn; Seoul once
    assert "Grand Prize" in html and "서울특별시" in html and "Special mention" in html
    assert "Tech-InnovaCity" in html and "Human-CentriCity" in html and "South Korea" in html
    assert "Lublin digital twin" not in html  # not awarded: never shown
    assert "Only a draft" not in html and "Withdrawn later" not in html
    assert 'lang="en"' in html and "csrf_token" not in html  # nothing of the visitor in a public page

    data = intake.get("/results/2026.json").get_json()
    assert data["figures"] == {"applications": 4, "cities": 3, "countries": 3,
                               "text": "4 applications from 3 cities in 3 countries"}
    awards = {a["organisation"]: a for c in data["categories"] for a in c["awards"]}
    assert set(awards) == {"Kaohsiung City Government", "서울특별시"}
    assert awards["Kaohsiung City Government"]["outcome"] == "winner"
    assert awards["Kaohsiung City Government"]["country_name"] == "Taiwan"
    assert awards["서울특별시"]["outcome"] == "special_mention"
    assert [e["year"] for e in [data]] == [2026] and data["released_at"].endswith("Z")
    assert "2026" in intake.get("/results").get_data(as_text=True)


def test_the_page_speaks_the_visitors_language_and_varies_on_it(stack, intake, edition):
    edition.decide_all()
    edition.release_all()
    english = intake.get("/results/2026")
    korean = intake.get("/results/2026", headers={"Accept-Language": "ko"})
    assert {"Accept-Language", "Cookie"} <= set(english.vary)
    assert 'lang="ko"' in korean.get_data(as_text=True)
    assert english.headers["ETag"] != korean.headers["ETag"]


def test_a_released_edition_is_cached_briefly_with_a_validator_and_a_new_photo_is_a_new_etag(stack, intake, edition):
    edition.decide_all()
    edition.release_all()
    for path in PUBLIC + ("/results/feed.atom",):
        r = intake.get(path)
        assert r.status_code == 200, path
        assert r.headers["Cache-Control"] == "public, max-age=300", path
        assert r.headers["ETag"] and r.headers["Last-Modified"], path
        again = intake.get(path, headers={"If-None-Match": r.headers["ETag"]})
        assert again.status_code == 304 and again.get_data() == b"", path
        assert intake.get(path, headers={"If-None-Match": '"stale"'}).status_code == 200
    listing = intake.get("/results")
    assert listing.headers["Cache-Control"] == "public, no-cache"
    assert intake.get("/results", headers={"If-None-Match": listing.headers["ETag"]}).status_code == 304

    before = intake.get("/results/2026")
    staff = staff_browser(stack)
    winner = edition.apps["kaohsiung"]["id"]
    page = staff.get(f"/secretariat/editions/{edition.call['id']}/results").get_data(as_text=True)
    r = staff.post(f"/secretariat/editions/{edition.call['id']}/results/photos/{winner}",
                   data={"csrf_token": csrf(page), "document_id": edition.photo["id"]})
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    after = intake.get("/results/2026", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200, "a cached page without the photo was declared current"
    assert f"/results/2026/photos/{winner}" in after.get_data(as_text=True)


def test_the_photo_is_served_only_for_an_approved_image_of_a_released_award(stack, intake, edition):
    staff = staff_browser(stack)
    results_page = f"/secretariat/editions/{edition.call['id']}/results"
    winner, loser = edition.apps["kaohsiung"]["id"], edition.apps["lublin"]["id"]
    edition.decide_all()
    page = staff.get(results_page)
    assert page.status_code == 200 and "buses.png" in page.get_data(as_text=True)
    token = csrf(page.get_data(as_text=True))
    # not an award: refused; a PDF of the winner: refused; nothing changed either time
    assert staff.post(f"{results_page}/photos/{loser}", data={"csrf_token": token,
                                                              "document_id": edition.photo["id"]}).status_code == 404
    pdf = next(d for d in intake.get(f"/api/applications/{winner}/documents",
                                     headers=auth(edition.tokens["kaohsiung"])).get_json()
               if d["content_type"] == "application/pdf")
    assert staff.post(f"{results_page}/photos/{winner}", data={"csrf_token": token,
                                                               "document_id": pdf["id"]}).status_code == 422
    observer = staff_browser(stack, "observer")
    r = observer.post(f"{results_page}/photos/{winner}", data={
        "csrf_token": csrf(observer.get(results_page).get_data(as_text=True)), "document_id": edition.photo["id"]})
    assert r.status_code == 403
    r = staff.post(f"{results_page}/photos/{winner}", data={"csrf_token": token, "document_id": edition.photo["id"]})
    assert r.status_code == 303
    assert "Approved by Yuna secretariat" in staff.get(results_page).get_data(as_text=True)

    photo = f"/results/2026/photos/{winner}"
    assert intake.get(photo).status_code == 404  # approved, but not released
    edition.release_all()
    r = intake.get(photo)
    assert r.status_code == 200 and r.get_data() == PNG and r.mimetype == "image/png"
    assert r.headers["Cache-Control"] == "public, max-age=300"
    assert intake.get(photo, headers={"If-None-Match": r.headers["ETag"]}).status_code == 304
    assert intake.get(f"/results/2026/photos/{loser}").status_code == 404
    assert intake.get(f"/results/2027/photos/{winner}").status_code == 404
    # the approval taken back: gone at once
    token = csrf(staff.get(results_page).get_data(as_text=True))
    assert staff.post(f"{results_page}/photos/{winner}", data={"csrf_token": token, "document_id": ""}).status_code == 303
    assert intake.get(photo).status_code == 404


def test_the_atom_feed_is_valid_atom_with_an_entry_per_edition_and_per_award(stack, intake, edition):
    edition.decide_all()
    edition.release_all()
    r = intake.get("/results/feed.atom")
    assert r.mimetype == "application/atom+xml"
    feed = ET.fromstring(r.get_data())
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert feed.find(f"{ATOM}{required}") is not None and feed.find(f"{ATOM}{required}").text, required
    assert feed.find(f"{ATOM}author/{ATOM}name").text
    assert feed.find(f"{ATOM}link[@rel='self']").get("href").endswith("/results/feed.atom")
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 3  # the edition, the winner, the special mention
    ids = [e.find(f"{ATOM}id").text for e in entries]
    assert len(set(ids)) == 3 and f"urn:uuid:{edition.apps['kaohsiung']['id']}" in ids
    for entry in entries:
        for required in ("id", "title", "updated"):
            assert entry.find(f"{ATOM}{required}").text, required
        datetime.fromisoformat(entry.find(f"{ATOM}updated").text.replace("Z", "+00:00"))
        assert entry.find(f"{ATOM}link[@rel='alternate']") is not None
    text = r.get_data(as_text=True)
    assert "Lublin digital twin" not in text and "4 applications from 3 cities in 3 countries" in text


def test_the_press_kit_is_the_secretariats_and_only_after_the_release(stack, intake, edition):
    from shared.auth import issue_token
    base = f"/secretariat/editions/{edition.call['id']}/results"
    staff = staff_browser(stack)
    edition.decide_all()
    for kind in ("csv", "pdf"):
        r = staff.get(f"{base}/press-kit.{kind}")
        assert r.status_code == 409 and "not released yet" in r.get_data(as_text=True)
    edition.release_all()
    applicant_browser = stack.apps["intake"].test_client()
    juror = auth(issue_token(stack.settings.secret_key, "juror", str(uuid.uuid4())))
    for kind in ("csv", "pdf"):
        path = f"{base}/press-kit.{kind}"
        assert intake.get(path).status_code == 302  # anonymous: to the staff sign-in
        assert applicant_browser.get(path).status_code == 302
        assert intake.get(path, headers=auth(edition.tokens["kaohsiung"])).status_code == 403
        assert intake.get(path, headers=juror).status_code == 403
        assert intake.get(f"{base}", headers=juror).status_code == 403
    r = staff.get(f"{base}/press-kit.csv")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    text = r.get_data(as_text=True)
    assert text.startswith("\ufeffsection,item,value")
    assert "figures,applications,4" in text and "figures,cities,3" in text and "figures,countries,3" in text
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text  # kept as text, never a formula
    assert "Lublin digital twin" not in text and "city,Lublin,1" in text and "Guarulhos" not in text
    r = staff.get(f"{base}/press-kit.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    pdf = PdfReader(io.BytesIO(r.get_data()))
    assert len(pdf.pages) == 1
    printed = pdf.pages[0].extract_text()
    assert "4 applications from 3 cities in 3 countries" in printed and "Grand Prize" in printed
    assert "Lublin digital twin" not in printed
    # an operator with the secretariat's token has it too
    assert intake.get(f"{base}/press-kit.csv", headers=auth(edition.sec)).status_code == 200
    dashboard = staff.get(f"/secretariat/editions/{edition.call['id']}/dashboard").get_data(as_text=True)
    assert f'href="{base}"' in dashboard


def test_a_late_decision_without_its_release_puts_the_edition_back_under_embargo(stack, intake, edition):
    edition.decide_all()
    edition.release_all()
    assert intake.get("/results/2026").status_code == 200
    decide(stack, edition.apps["sdf"], "special_mention")  # not released: never shown half-done
    assert intake.get("/results/2026").status_code == 404
    release(stack, edition.apps["sdf"])
    assert "Seoul Digital Foundation" in intake.get("/results/2026").get_data(as_text=True)
