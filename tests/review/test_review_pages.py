"""review's pages through the Flask client: jurors see their assignments and nothing else, the
secretariat runs the rounds; every form needs its CSRF token; what applicants typed is escaped.

The data arrives the way it does in production: call.opened and application.submitted through
review's inbox and event handlers; jurors, screening, rounds and assignments through the
secretariat's operations (services/review/ops/).
"""
from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select

from services.review.ops import decisions, jurors, rounds
from services.review.handlers import HANDLERS
from services.review.models import AccessDenial, Application, inbox, outbox
from shared.auth import issue_token
from shared.events import make_event, parse_message
from shared.inbox import InboxDispatcher
from tests.support.stack import Stack, open_signin_link

CRITERIA = [
    {"key": "problem", "title": "Problem recognition and innovation", "weight": 1.0,
     "guidance": ["The policy problem is well identified and important", "Citizens took part in identifying it"]},
    {"key": "design", "title": "Project design", "weight": 1.0,
     "guidance": ["Technology appropriate to the problem", "An evidence-based design process"]},
]
SECRETARIAT = "secretariat:test"


# --- setting up review the way production does ------------------------------------------------

class Review:
    """review's app plus the events and secretariat operations that fill it."""

    def __init__(self, app):
        self.app = app
        self.db = app.extensions["prize"]["db"]
        self._dispatcher = InboxDispatcher(self.db, inbox, outbox, "review", HANDLERS)
        self.secret = app.config["SECRET_KEY"]

    def deliver(self, event) -> None:
        """As review's consumer does: the message as it travels, read back, then handled once."""
        self._dispatcher(parse_message(event.to_message()))

    def open_call(self, year: int = 2026) -> str:
        call_id = str(uuid.uuid4())
        self.deliver(make_event("call.opened", {
            "call_id": call_id, "year": year, "theme": "Smart cities for everyone",
            "opens_at": "2026-01-01T00:00:00+09:00", "closes_at": "2026-07-14T18:00:00+09:00",
            "time_zone": "Asia/Seoul", "score_min": 0, "score_max": 10,
            "categories": [{"key": "tech_innovacity", "title": "Tech-InnovaCity",
                            "applicant_types": ["city_government", "institution", "corporation"],
                            "criteria": CRITERIA}]}, producer="intake"))
        return call_id

    def submit(self, call_id: str, title: str = "Hydrogen buses for the harbour", country: str = "TW",
               organisation: str = "Kaohsiung City Government", email: str = "mei.lin@kcg.example.tw",
               city: str = "高雄 Kaohsiung") -> str:
        application_id = str(uuid.uuid4())
        self.deliver(make_event("application.submitted", {
            "application_id": application_id, "reference": f"SSCP-2026-{application_id[:6].upper()}",
            "call_id": call_id, "year": 2026, "category": "tech_innovacity", "title": title,
            "summary": "Clean mobility for the harbour district, planned with its residents.",
            "submitted_at": datetime.now(timezone.utc).isoformat(),
            "applicant": {"id": str(uuid.uuid4()), "type": "city_government", "organisation": organisation,
                          "country": country, "city": city, "contact_name": "Lin Mei-hua",
                          "contact_email": email, "language": "en"},
            "answers": {"problem": "Diesel buses foul the harbour air; residents mapped the worst streets.",
                        "design": "Fuel-cell buses on the two busiest lines, chosen in open workshops."},
            "project": {"location": "Kaohsiung harbour", "start_date": "2024-03-01", "budget": "USD 12 million",
                        "partners": "Taiwan Hydrogen Association"},
            "documents": [{"id": str(uuid.uuid4()), "kind": "application_form", "filename": "application-form.pdf",
                           "content_type": "application/pdf", "size": 2048, "sha256": hashlib.sha256(b"x").hexdigest(),
                           "storage_key": f"verified/{application_id}/application-form.pdf"}]},
            producer="intake"))
        return application_id

    def invite(self, name: str, email: str, country: str, organisation: str = "Independent") -> str:
        with self.app.app_context(), self.db.session() as s, s.begin():
            juror = jurors.invite_juror(s, {"name": name, "email": email, "country": country,
                                          "organisation": organisation, "expertise": ["tech_innovacity"]},
                                      SECRETARIAT, datetime.now(timezone.utc))
            return juror.id

    def screen_all(self, call_id: str) -> None:
        with self.db.session() as s, s.begin():
            for app_id in s.scalars(select(Application.id).where(Application.call_id == call_id,
                                                                  Application.stage == "submitted")):
                decisions.screen(s, app_id, True, "", SECRETARIAT, datetime.now(timezone.utc))

    def open_round(self, call_id: str, **settings) -> str:
        settings.setdefault("due_at", datetime.now(timezone.utc) + timedelta(days=14))
        with self.db.session() as s, s.begin():
            return rounds.open_round(s, call_id, "finalist", settings, SECRETARIAT, datetime.now(timezone.utc)).id

    def assign(self, round_id: str) -> dict:
        with self.db.session() as s, s.begin():
            return rounds.auto_assign(s, round_id, SECRETARIAT, datetime.now(timezone.utc))

    def invitation_path(self, juror_id: str) -> str:
        """The path of the one-time sign-in link the juror's invitation carries (juror.invited)."""
        with self.db.engine.connect() as conn:
            bodies = conn.execute(select(outbox.c.body).where(outbox.c.type == "juror.invited")).scalars().all()
        data = [json.loads(b)["data"] for b in bodies]
        return urlparse(next(d["url"] for d in data if d["juror_id"] == juror_id)).path

    def juror_browser(self, juror_id: str):
        """A browser of this juror, signed in the way jurors sign in: a one-time link (as the
        invitation or /signin mails it), opened once."""
        from services.review.accounts import jury_signin
        from services.review.models import Juror
        with self.app.test_request_context(), self.db.session() as s, s.begin():
            juror = s.get(Juror, juror_id)
            link = jury_signin.issue_link(s, juror, juror.email, "browser", "test", announce=False)
        client = self.app.test_client()
        r = open_signin_link(client, urlparse(link.url).path)
        assert (r.status_code, r.headers["Location"]) == (303, "/jury"), r.get_data(as_text=True)
        return client

    def secretariat_browser(self):
        client = self.app.test_client()
        page = client.get("/secretariat/signin").get_data(as_text=True)
        r = client.post("/secretariat/signin", data={"csrf_token": csrf_of(page),
                                                     "token": issue_token(self.secret, "secretariat", "test")})
        assert r.status_code == 303 and r.headers["Location"].endswith("/secretariat")
        return client


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def confirm_form(page: str, form_id: str | None = None) -> dict:
    """The hidden fields of a preview's confirmation form (pages/rounds.py): its CSRF token and
    the preview's fingerprint."""
    if form_id:
        page = page[page.index(f'id="{form_id}"'):]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.split("</form>")[0]))


def without_session_values(page: bytes) -> bytes:
    """A page without what is this browser's own: its forms' CSRF token and the language switch's
    way back (the address it asked for). Two not-found pages compare equal through it."""
    return re.sub(rb'name="(csrf_token|next)" value="[^"]*"', rb'name="\1" value=""', page)


def form_fields(page: str) -> dict:
    """The hidden fields of the scoring form."""
    form = page[page.index('id="scoring-form"'):]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)[:3])


@pytest.fixture
def review(embedded_settings):
    stack = Stack(embedded_settings, services=("review",))
    yield Review(stack.apps["review"])
    stack.stop()


@pytest.fixture
def scene(review):
    """One call, one application from Kaohsiung (TW); Ana (BR) assigned to it, Ben (TW, same
    country: conflicted), Cho (KR, invited after the assignment: not assigned)."""
    call_id = review.open_call()
    app_id = review.submit(call_id)
    ana = review.invite("Ana Souza", "ana@guarulhos.example.br", "BR")
    ben = review.invite("Ben Wu", "ben@taipei.example.tw", "TW")
    review.screen_all(call_id)
    round_id = review.open_round(call_id, jurors_per_application=1, advance_per_category=1, min_reviews=1)
    review.assign(round_id)
    cho = review.invite("Cho Min-ji", "minji@seoul.example.kr", "KR")
    return {"call": call_id, "app": app_id, "round": round_id, "ana": ana, "ben": ben, "cho": cho}


# --- tests ------------------------------------------------------------------------------------

def test_review_pages_send_an_anonymous_visitor_to_sign_in(review):
    client = review.app.test_client()
    for path in ("/jury", f"/jury/applications/{uuid.uuid4()}", f"/jury/applications/{uuid.uuid4()}/conflict"):
        r = client.get(path)
        assert r.status_code == 302 and r.headers["Location"] == "/signin", path  # the passwordless sign-in
    for path in ("/secretariat",):
        r = client.get(path)  # staff sign in at intake, which hands them back here
        assert r.status_code == 302
        assert r.headers["Location"] == "http://127.0.0.1:8001/staff/go?service=review&next=%2Fsecretariat"
    assert client.get("/jury/signin").headers["Location"] == "/signin"
    page = client.get("/signin").get_data(as_text=True)
    assert "The email address you were invited with" in page and 'name="csrf_token"' in page


def test_review_jury_needs_a_real_sign_in(review, scene):
    # a signed token in the address is no way in: jurors sign in with one-time links only
    r = review.app.test_client().get("/jury?token=" + issue_token(review.secret, "juror", scene["ana"]))
    assert r.status_code == 302 and "/signin" in r.headers["Location"]


def test_review_pages_render_only_for_their_role(review, scene):
    juror, office = review.juror_browser(scene["ana"]), review.secretariat_browser()
    assert juror.get("/jury").status_code == 200
    assert juror.get("/secretariat").status_code == 403
    assert office.get("/secretariat").status_code == 200
    assert office.get("/jury").status_code == 403
    assert office.get(f"/jury/applications/{scene['app']}").status_code == 403


def test_review_application_page_of_a_conflicted_or_unassigned_juror_looks_missing(review, scene):
    ana = review.juror_browser(scene["ana"])
    page = ana.get(f"/jury/applications/{scene['app']}")
    assert page.status_code == 200
    assert "Diesel buses foul the harbour air" in page.get_data(as_text=True)
    missing = ana.get(f"/jury/applications/{uuid.uuid4()}")
    assert missing.status_code == 404
    for who in ("ben", "cho"):  # conflicted (same country), not assigned
        browser = review.juror_browser(scene[who])
        for suffix in ("", "/conflict"):
            r = browser.get(f"/jury/applications/{scene['app']}{suffix}")
            assert r.status_code == 404, (who, suffix)
            # word for word the page of a nonexistent id (but for this browser's own form token)
            assert without_session_values(r.get_data()) == without_session_values(missing.get_data())
        assert "Hydrogen" not in browser.get("/jury").get_data(as_text=True)
    with review.db.session() as s:
        assert s.scalar(select(func.count()).select_from(AccessDenial)) >= 5  # every refusal is kept


def test_review_forms_refuse_a_post_without_its_csrf_token(review, scene):
    ana = review.juror_browser(scene["ana"])
    page = ana.get(f"/jury/applications/{scene['app']}").get_data(as_text=True)
    fields = form_fields(page)
    without = {k: v for k, v in fields.items() if k != "csrf_token"}
    r = ana.post(f"/jury/applications/{scene['app']}/scores", data={**without, "score-problem": "7"})
    assert r.status_code == 403
    r = ana.post(f"/jury/applications/{scene['app']}/scores",
                 data={**without, "csrf_token": "wrong", "score-problem": "7"})
    assert r.status_code == 403
    r = ana.post(f"/jury/applications/{scene['app']}/conflict", data={"reason": "I advised them"})
    assert r.status_code == 403
    office = review.secretariat_browser()
    assert office.post(f"/secretariat/rounds/{scene['round']}/close").status_code == 403
    assert office.post(f"/secretariat/rounds/{scene['round']}/assign").status_code == 403
    assert review.app.test_client().post("/secretariat/signin", data={
        "token": issue_token(review.secret, "secretariat", "x")}).status_code == 403
    # nothing was saved or closed
    page = ana.get(f"/jury/applications/{scene['app']}").get_data(as_text=True)
    assert 'name="score-problem"' in page and form_fields(page)["revision"] == fields["revision"]


def test_review_pages_escape_what_applicants_typed(review):
    call_id = review.open_call()
    app_id = review.submit(call_id, title="<script>alert(1)</script>", organisation="<b>Ryde</b> & Co",
                           country="AU", email="it@ryde.example.au")
    ana = review.invite("Ana Souza", "ana@guarulhos.example.br", "BR")
    review.screen_all(call_id)
    round_id = review.open_round(call_id, jurors_per_application=1)
    review.assign(round_id)
    pages = [review.juror_browser(ana).get(path).get_data(as_text=True)
             for path in ("/jury", f"/jury/applications/{app_id}")]
    pages.append(review.secretariat_browser().get("/secretariat").get_data(as_text=True))
    for page in pages:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<script>alert(1)" not in page


def test_review_juror_scores_and_submits_without_javascript(review, scene):
    ana = review.juror_browser(scene["ana"])
    path = f"/jury/applications/{scene['app']}"
    fields = form_fields(ana.get(path).get_data(as_text=True))
    r = ana.post(path + "/scores", data={**fields, "action": "save", "score-problem": "8", "comment-problem": "Clear."})
    assert r.status_code == 303 and r.headers["Location"] == path
    page = ana.get(path).get_data(as_text=True)
    assert 'value="8"' in page and "Clear." in page
    # submitting an incomplete review is refused, with the missing fields named beside them
    fields = form_fields(page)
    r = ana.post(path + "/scores", data={**fields, "action": "submit", "score-problem": "8", "comment-problem": "Clear."})
    assert r.status_code == 422
    assert "Please write a comment." in r.get_data(as_text=True)
    fields = form_fields(ana.get(path).get_data(as_text=True))
    r = ana.post(path + "/scores", data={**fields, "action": "submit", "score-problem": "8", "comment-problem": "Clear.",
                                         "score-design": "6.5", "comment-design": "Sound, costly."})
    assert r.status_code == 303 and r.headers["Location"] == "/jury"
    assert "1 of 1 scored" in ana.get("/jury").get_data(as_text=True)


def test_review_autosave_answers_json_and_refuses_a_stale_revision(review, scene):
    ana = review.juror_browser(scene["ana"])
    path = f"/jury/applications/{scene['app']}"
    fields = form_fields(ana.get(path).get_data(as_text=True))
    headers = {"Accept": "application/json"}
    r = ana.post(path + "/scores", data={**fields, "score-problem": "7"}, headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["revision"] == int(fields["revision"]) + 1 and r.get_json()["criteria_scored"] == 1
    r = ana.post(path + "/scores", data={**fields, "score-problem": "9"}, headers=headers)  # the old revision
    assert r.status_code == 409 and r.get_json()["revision"] == int(fields["revision"]) + 1
    r = ana.post(path + "/scores", data={**fields, "revision": str(int(fields["revision"]) + 1),
                                         "score-problem": "11"}, headers=headers)
    assert r.status_code == 422 and "problem" in r.get_json()["errors"]["scores"]


def test_review_juror_declares_a_conflict_and_the_application_leaves_their_pages(review, scene):
    ana = review.juror_browser(scene["ana"])
    path = f"/jury/applications/{scene['app']}/conflict"
    page = ana.get(path).get_data(as_text=True)
    r = ana.post(path, data={"csrf_token": csrf_of(page), "reason": ""})
    assert r.status_code == 422
    r = ana.post(path, data={"csrf_token": csrf_of(page), "reason": "I advised Kaohsiung on this project."})
    assert r.status_code == 303 and r.headers["Location"] == "/jury"
    assert "Hydrogen" not in ana.get("/jury").get_data(as_text=True)
    assert ana.get(f"/jury/applications/{scene['app']}").status_code == 404


def test_review_secretariat_dashboard_draws_its_charts(review, scene):
    page = review.secretariat_browser().get("/secretariat").get_data(as_text=True)
    assert page.count('role="img"') >= 3  # funnel, juror progress, score distribution
    assert 'id="funnel"' in page and "Ana Souza" in page


def test_review_secretariat_closing_a_tied_round_shows_the_ties_then_closes(review):
    call_id = review.open_call()
    first = review.submit(call_id, title="Hydrogen buses", country="AU", email="a@ryde.example.au")
    second = review.submit(call_id, title="Smart lighting", country="PL", email="b@lublin.example.pl")
    ana = review.invite("Ana Souza", "ana@guarulhos.example.br", "BR")
    review.screen_all(call_id)
    round_id = review.open_round(call_id, jurors_per_application=1, advance_per_category=1, min_reviews=1)
    review.assign(round_id)
    browser = review.juror_browser(ana)
    for app_id in (first, second):  # equal scores: a tie at the cut of one finalist
        path = f"/jury/applications/{app_id}"
        fields = form_fields(browser.get(path).get_data(as_text=True))
        r = browser.post(path + "/scores", data={**fields, "action": "submit", "score-problem": "7", "score-design": "7",
                                                 "comment-problem": "Good.", "comment-design": "Good."})
        assert r.status_code == 303
    office = review.secretariat_browser()
    # closing shows the cut first: the tie, with a decision for each
    preview = office.get(f"/secretariat/rounds/{round_id}/close").get_data(as_text=True)
    assert "Tied at the cut" in preview and f'name="decision-{first}"' in preview
    fields = confirm_form(preview, "confirm-close")
    r = office.post(f"/secretariat/rounds/{round_id}/close", data=fields)
    assert r.status_code == 422  # not decided: nothing closes
    refused = r.get_data(as_text=True)
    assert f'id="decision-{first}-error"' in refused and f'name="decision-{second}"' in refused
    r = office.post(f"/secretariat/rounds/{round_id}/close", data={
        **fields, f"decision-{first}": "advance", f"decision-{second}": "eliminate"})
    assert r.status_code == 303
    page = office.get(r.headers["Location"]).get_data(as_text=True)
    assert "Round closed: 1 finalist(s), 1 not advanced" in page
    finalists = page[page.index('id="finalists"'):]
    assert "Hydrogen buses" in finalists and "Smart lighting" not in finalists


def _score_and_submit(browser, app_id: str, score: str = "7") -> None:
    path = f"/jury/applications/{app_id}"
    fields = form_fields(browser.get(path).get_data(as_text=True))
    r = browser.post(path + "/scores", data={**fields, "action": "submit", "score-problem": score, "score-design": score,
                                             "comment-problem": "Convincing.", "comment-design": "Feasible."})
    assert r.status_code == 303, r.get_data(as_text=True)


def test_review_juror_sees_other_scores_only_after_submitting_their_own(review):
    call_id = review.open_call()
    app_id = review.submit(call_id)
    ana = review.invite("Ana Souza", "ana@guarulhos.example.br", "BR")
    dev = review.invite("Dev Patel", "dev@pune.example.in", "IN")
    review.screen_all(call_id)
    review.assign(review.open_round(call_id, jurors_per_application=2))
    ana_browser, dev_browser = review.juror_browser(ana), review.juror_browser(dev)
    path = f"/jury/applications/{app_id}"
    assert "Other jurors’ scores" not in ana_browser.get(path).get_data(as_text=True)
    _score_and_submit(dev_browser, app_id, "4")
    assert "Other jurors’ scores" not in ana_browser.get(path).get_data(as_text=True)  # not before her own
    _score_and_submit(ana_browser, app_id, "9")
    page = ana_browser.get(path).get_data(as_text=True)
    peers = page[page.index("Other jurors’ scores"):]
    assert "juror 1" in peers and ">4<" in peers and "Dev Patel" not in peers
    # 9 and 4 on a 0-10 scale: the spread is past the threshold, the secretariat sees a flag
    dashboard = review.secretariat_browser().get("/secretariat").get_data(as_text=True)
    flags = dashboard[dashboard.index("<h3>Disagreement flags</h3>"):]
    assert "spread 5" in flags and "Hydrogen buses for the harbour" in flags


def test_review_document_links_are_short_lived_and_only_for_the_assigned_juror(review, scene):
    ana = review.juror_browser(scene["ana"])
    page = ana.get(f"/jury/applications/{scene['app']}").get_data(as_text=True)
    link = re.search(r'href="(/jury/applications/[^"]+/documents/[^"]+)"', page).group(1)
    r = ana.get(link)
    assert r.status_code == 303 and "/storage/download?policy=" in r.headers["Location"]
    assert r.headers["Referrer-Policy"] == "no-referrer"
    missing = ana.get(f"/jury/applications/{scene['app']}/documents/{uuid.uuid4()}")
    assert missing.status_code == 404
    ben = review.juror_browser(scene["ben"])
    r = ben.get(link)
    assert r.status_code == 404 and without_session_values(r.get_data()) == without_session_values(missing.get_data())


def test_review_stale_scoring_form_keeps_what_was_typed(review, scene):
    ana = review.juror_browser(scene["ana"])
    path = f"/jury/applications/{scene['app']}"
    old = form_fields(ana.get(path).get_data(as_text=True))
    r = ana.post(path + "/scores", data={**old, "score-problem": "5"})  # another tab saves first
    assert r.status_code == 303
    r = ana.post(path + "/scores", data={**old, "score-problem": "6", "comment-problem": "Second thoughts."})
    assert r.status_code == 409
    page = r.get_data(as_text=True)
    assert "Not saved" in page and 'value="6"' in page and "Second thoughts." in page
    r = ana.post(path + "/scores", data={**form_fields(page), "score-problem": "6"})  # the juror keeps it
    assert r.status_code == 303
    assert 'value="6"' in ana.get(path).get_data(as_text=True)


def test_review_secretariat_opens_the_award_round_decides_and_releases(review):
    call_id = review.open_call()
    best = review.submit(call_id, title="Hydrogen buses", country="AU", email="a@ryde.example.au")
    other = review.submit(call_id, title="Smart lighting", country="PL", email="b@lublin.example.pl")
    ana = review.invite("Ana Souza", "ana@guarulhos.example.br", "BR")
    review.screen_all(call_id)
    round_id = review.open_round(call_id, jurors_per_application=1, advance_per_category=1, min_reviews=1)
    review.assign(round_id)
    browser = review.juror_browser(ana)
    _score_and_submit(browser, best, "8")
    _score_and_submit(browser, other, "5")
    office = review.secretariat_browser()
    token = csrf_of(office.get("/secretariat").get_data(as_text=True))
    call = {"csrf_token": token, "call": call_id}
    r = office.get(f"/secretariat/calls/{call_id}/release?kind=finalist")
    assert r.status_code == 409 and "Close the finalist round before releasing" in r.get_data(as_text=True)
    closing = confirm_form(office.get(f"/secretariat/rounds/{round_id}/close").get_data(as_text=True), "confirm-close")
    assert office.post(f"/secretariat/rounds/{round_id}/close", data=closing).status_code == 303
    r = office.post(f"/secretariat/calls/{call_id}/rounds",
                    data={**call, "kind": "award", "jurors_per_application": "1", "min_reviews": "1"})
    assert r.status_code == 303
    r = office.post(f"/secretariat/applications/{best}/award",
                    data={**call, "outcome": "winner", "award": "Grand Prize 대상"})
    assert r.status_code == 303
    page = office.get(r.headers["Location"]).get_data(as_text=True)
    assert "Winner recorded (embargoed until released)" in page and "Grand Prize 대상" in page
    assert "Selection of the winners" in page and page.count('role="img"') >= 5  # a second round's charts
    assert f'<option value="{other}">' in page  # did not advance: may still get a special mention
    r = office.post("/secretariat/special-mentions", data={**call, "application_id": other, "outcome": "special_mention",
                                                           "award": "Inclusive lighting"})
    assert r.status_code == 303
    assert "Special mention recorded" in office.get(r.headers["Location"]).get_data(as_text=True)
    preview = office.get(f"/secretariat/calls/{call_id}/release?kind=award").get_data(as_text=True)
    assert ">2 email(s)<" in preview
    r = office.post(f"/secretariat/calls/{call_id}/release",
                    data={**confirm_form(preview, "confirm-release"), "year": "2026"})
    assert r.status_code == 303
    assert "Released: 2 result(s)" in office.get(r.headers["Location"]).get_data(as_text=True)


def test_review_sign_out_ends_the_page_session(review, scene):
    ana = review.juror_browser(scene["ana"])
    token = csrf_of(ana.get("/jury").get_data(as_text=True))
    assert ana.post("/signout", data={}).status_code == 403
    r = ana.post("/signout", data={"csrf_token": token})
    assert (r.status_code, r.headers["Location"]) == (307, "/logout")  # the sign-in session ends there
    r = ana.post("/logout", data={"csrf_token": token})
    assert r.status_code in (302, 303) and r.headers["Location"].endswith("/signin")
    assert ana.get("/jury").status_code == 302


def test_review_page_session_ends_after_twelve_hours(review, monkeypatch):
    from datetime import datetime, timedelta, timezone

    from shared.staff import store, web as staff_web
    # the secretariat's staff session (its pasted token is not kept); jurors' sessions are
    # shared.signin's, which expire on their own (tests/shared/test_shared_signin.py)
    office = review.secretariat_browser()
    assert office.get("/secretariat").status_code == 200
    later = datetime.now(timezone.utc) + store.SESSION_LIFETIME + timedelta(minutes=1)
    monkeypatch.setattr(staff_web, "_now", lambda: later)
    assert office.get("/secretariat").status_code == 302


def test_review_dashboard_before_any_call_says_so(review):
    page = review.secretariat_browser().get("/secretariat")
    assert page.status_code == 200 and "Review has not heard of any call yet" in page.get_data(as_text=True)


def test_review_scores_lock_when_the_round_closes(review, scene):
    ana = review.juror_browser(scene["ana"])
    _score_and_submit(ana, scene["app"])
    office = review.secretariat_browser()
    preview = office.get(f"/secretariat/rounds/{scene['round']}/close").get_data(as_text=True)
    r = office.post(f"/secretariat/rounds/{scene['round']}/close", data=confirm_form(preview, "confirm-close"))
    assert r.status_code == 303
    path = f"/jury/applications/{scene['app']}"
    page = ana.get(path).get_data(as_text=True)
    assert "This round is closed: your scores are locked." in page and "<fieldset disabled" in page
    r = ana.post(path + "/scores", data={**form_fields(page), "score-problem": "2"})
    assert r.status_code == 409 and "Not saved: The finalist round is closed" in r.get_data(as_text=True)


def test_review_secretariat_downloads_the_round_exports(review, scene):
    _score_and_submit(review.juror_browser(scene["ana"]), scene["app"])
    office = review.secretariat_browser()
    r = office.get(f"/secretariat/rounds/{scene['round']}/export.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv" and "attachment" in r.headers["Content-Disposition"]
    assert "Convincing." in r.get_data(as_text=True)
    r = office.get(f"/secretariat/rounds/{scene['round']}/export.xlsx")
    assert r.status_code == 200 and r.get_data()[:2] == b"PK"
    assert office.get(f"/secretariat/rounds/{scene['round']}/export.pdf").status_code == 404
    assert review.juror_browser(scene["ana"]).get(f"/secretariat/rounds/{scene['round']}/export.csv").status_code == 403


def test_review_pages_work_with_the_passwordless_sign_in_of_the_invitation(review, scene):
    """The juror opens the one-time link of their invitation (shared.signin): the pages take that
    session and its CSRF token."""
    client = review.app.test_client()
    r = open_signin_link(client, review.invitation_path(scene["ana"]))
    assert r.status_code == 303 and r.headers["Location"] == "/jury"
    page = client.get("/jury").get_data(as_text=True)
    assert "0 of 1 scored" in page
    path = f"/jury/applications/{scene['app']}"
    fields = form_fields(client.get(path).get_data(as_text=True))
    assert client.post(path + "/scores", data={**fields, "csrf_token": "forged", "score-problem": "7"}).status_code == 403
    r = client.post(path + "/scores", data={**fields, "score-problem": "7"})
    assert r.status_code == 303
    r = client.post("/signout", data={"csrf_token": fields["csrf_token"]})
    assert r.status_code in (303, 307)
    client.post(r.headers["Location"], data={"csrf_token": fields["csrf_token"]})
    assert client.get("/jury").status_code == 302
