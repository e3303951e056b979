"""The outreach funnel of an edition (issue 17, the funnel): prospects met, invited, registered,
drafting, submitted, eligible, finalist, winner, counted from intake's own tables (prospects,
outreach invitations, applications and the decisions review told it of) by the database; by
region, country, event where met and owner; beside the previous edition (the latest with a
smaller year); as a page with its chart and table, as CSV and as JSON; for every staff role and
nobody else. Rows are written straight through intake's models."""
from __future__ import annotations

import csv
import io
import re
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, insert

from services.intake.models import (Applicant, Application, Call, OutreachInvitation, Prospect, StatusUpdate)
from services.intake.ops import funnel as ops
from services.intake.ops import staff as staff_ops
from services.intake.ops.regions import REGION_OF_COUNTRY
from shared.auth import issue_token
from shared.config import load_settings
from tests.conftest import env_for
from tests.intake.test_edition_dashboard import _staff_browser
from tests.support.stack import Stack, auth, register

NOW = datetime.now(timezone.utc)
EXPO = "Smart City Summit and Expo 2023"
GA = "WeGO General Assembly 2026"
FORMULA = "=HYPERLINK(\"http://evil.example\")"
STAGES = list(ops.STAGES)


@pytest.fixture
def intake(tmp_path):
    s = Stack(load_settings(env_for(None, tmp_path / "var", "embedded")), services=("intake",))
    yield s
    s.stop()


@pytest.fixture(params=["embedded", "real"])
def both(request, tmp_path):
    s = Stack(load_settings(env_for(request, tmp_path / "var", request.param)), services=("intake",))
    yield s
    s.stop()


def _db(stack):
    return stack.apps["intake"].extensions["prize"]["db"]


def _call(s, year: int) -> str:
    call_id = str(uuid.uuid4())
    s.add(Call(id=call_id, year=year, theme=f"Theme {year}", opens_at=NOW - timedelta(days=30),
               closes_at=NOW + timedelta(days=30), time_zone="Asia/Seoul", score_min=1, score_max=10,
               categories=[], status="open", created_at=NOW, documents=[]))
    return call_id


class Seed:
    """Prospects, invitations, applicants, applications and decisions, written in one session."""

    def __init__(self, session):
        self.s, self.n = session, 0

    def prospect(self, call_id, country="TW", met_at=EXPO, owner="kim@wego.example", invited=None) -> Prospect:
        self.n += 1
        p = Prospect(id=str(uuid.uuid4()), call_id=call_id, organisation=f"City {self.n}", country=country,
                     region=REGION_OF_COUNTRY.get(country, "other"), email=f"p{self.n}@city.example",
                     met_at=met_at, owner=owner, created_at=NOW, created_by="test", updated_at=NOW, updated_by="test")
        self.s.add(p)
        self.s.flush()
        for call in ([invited] if isinstance(invited, str) else invited or []):
            self.s.add(OutreachInvitation(id=str(uuid.uuid4()), prospect_id=p.id, call_id=call,
                                          token_hash=uuid.uuid4().hex * 2, event_id=str(uuid.uuid4()), sent_at=NOW,
                                          sent_by="kim@wego.example", expires_at=NOW + timedelta(days=14)))
        return p

    def applicant(self, prospect: Prospect | None = None, country="TW") -> str:
        self.n += 1
        applicant_id = str(uuid.uuid4())
        self.s.add(Applicant(id=applicant_id, type="city_government", organisation=f"Applicant {self.n}",
                             country=country, city="City", contact_name="Contact", region="other",
                             contact_email=f"a{self.n}@city.example", language="en", created_at=NOW))
        self.s.flush()
        if prospect is not None:
            prospect.applicant_id = applicant_id
        return applicant_id

    def application(self, applicant_id: str, call_id: str, status="submitted", *stages, category="tech_innovacity"):
        self.n += 1
        app_id = str(uuid.uuid4())
        self.s.add(Application(id=app_id, reference=f"R-{self.n}", call_id=call_id, applicant_id=applicant_id,
                               category=category, status=status, created_at=NOW, updated_at=NOW,
                               submitted_at=NOW if status != "draft" else None))
        self.s.flush()
        for i, stage in enumerate(stages):
            self.s.add(StatusUpdate(event_id=str(uuid.uuid4()), application_id=app_id, stage=stage,
                                    occurred_at=NOW + timedelta(minutes=i)))
        return app_id

    def reached(self, call_id, country, *steps, invited=True, met_at=EXPO, owner="kim@wego.example", prospect_call="same"):
        """A prospect of ``call_id`` that got as far as ``steps`` say (registered, then an
        application's status and decisions)."""
        p = self.prospect(call_id if prospect_call == "same" else prospect_call, country, met_at, owner,
                          invited=call_id if invited else None)
        if steps:
            applicant = self.applicant(p, country)
            if len(steps) > 1:
                self.application(applicant, call_id, steps[1], *steps[2:])
            return p, applicant
        return p, None


def seed_editions(db) -> dict:
    """2027 (the edition shown) with eleven prospects at every stage, 2026 before it with two,
    2025 with one (not the previous edition), and 2028 after it."""
    with db.session() as s, s.begin():
        ids = {year: _call(s, year) for year in (2025, 2026, 2027, 2028)}
        e, seed = ids[2027], Seed(s)
        seed.reached(e, "PL", invited=False, met_at=GA)                        # met
        seed.reached(e, "TW")                                                   # invited
        seed.reached(e, "KR", "registered")                                     # registered (nothing in 2027)
        seed.reached(e, "HU", "registered", "draft", met_at=GA)                 # drafting
        _, five = seed.reached(e, "TH", "registered", "submitted")              # submitted, and a draft
        seed.application(five, e, "draft", category="human_centricity")
        seed.reached(e, "BR", "registered", "submitted", "eligible", prospect_call=None)  # invited for 2027 only
        seed.reached(e, "BR", "registered", "submitted", "eligible", "finalist", invited=False,
                     owner="lee@wego.example")                                  # came by themselves
        seed.reached(e, "TW", "registered", "submitted", "eligible", "finalist", "winner")
        seed.reached(e, "AU", "registered", "submitted", "eligible", "finalist", "special_mention")
        seed.reached(e, "PL", "registered", "withdrawn", "eligible", met_at=GA)  # withdrawn: drafting only
        seed.reached(e, "ZZ", "registered", "submitted", "eligible", "ineligible", met_at=FORMULA)  # reversed
        seed.application(seed.applicant(None, "KR"), e, "submitted", "eligible")  # without outreach
        seed.application(seed.applicant(None, "JP"), e, "draft")                  # without outreach
        p = ids[2026]
        seed.reached(p, "TW", "registered", "submitted", "eligible", "finalist", "winner")
        seed.reached(p, "PL", invited=False)
        seed.reached(ids[2025], "PL", invited=False)
    return ids


def _cell(html: str, id_: str) -> str:
    return re.search(rf'id="{id_}">([^<]*)<', html).group(1)


def test_each_stage_counts_who_reached_it_and_the_funnel_never_grows(both):
    ids = seed_editions(_db(both))
    found = ops.funnel(_db(both), ids[2027], "region")
    current = found["current"]
    assert dict(zip(STAGES, current.total)) == {"met": 11, "invited": 10, "registered": 9, "drafting": 8,
                                                "submitted": 6, "eligible": 4, "finalist": 3, "winner": 2}
    assert all(a >= b for a, b in zip(current.total, current.total[1:]))
    assert current.uninvited == 1
    assert current.outreach == [8, 6, 4, 3, 2] and current.without == [2, 1, 1, 0, 0]
    regions = {g["key"]: g["counts"] for g in current.groups}
    assert regions == {"asia_pacific": [5, 5, 4, 3, 3, 2, 2, 2], "europe": [3, 2, 2, 2, 0, 0, 0, 0],
                       "latin_america": [2, 2, 2, 2, 2, 2, 1, 0], "other": [1, 1, 1, 1, 1, 0, 0, 0]}
    assert [g["title"] for g in current.groups][:2] == ["Asia and the Pacific", "Europe"]  # the biggest first
    for counts in regions.values():
        assert all(a >= b for a, b in zip(counts, counts[1:]))
    # the previous edition is 2026 (the latest with a smaller year), not 2025 nor 2028
    assert found["previous"].call.year == 2026
    assert found["previous"].total == [2, 1, 1, 1, 1, 1, 1, 1]
    rows = {r["stage"]: r for r in found["stages"]}
    assert (rows["met"]["previous"], rows["met"]["difference"], rows["met"]["conversion"]) == (2, 9, None)
    assert (rows["winner"]["count"], rows["winner"]["previous"], rows["winner"]["difference"]) == (2, 1, 1)
    assert rows["submitted"]["conversion"] == 75.0  # 6 of 8 drafting


def test_breakdowns_by_country_event_and_owner(intake):
    ids = seed_editions(_db(intake))
    by = {key: {g["title"]: g["counts"] for g in ops.funnel(_db(intake), ids[2027], key)["current"].groups}
          for key in ("country", "event", "owner")}
    assert by["country"]["BR"] == [2, 2, 2, 2, 2, 2, 1, 0] and by["country"]["PL"] == [2, 1, 1, 1, 0, 0, 0, 0]
    assert by["event"][GA] == [3, 2, 2, 2, 0, 0, 0, 0] and by["event"][FORMULA][4] == 1
    assert by["owner"] == {"kim@wego.example": [10, 9, 8, 7, 5, 3, 2, 2], "lee@wego.example": [1, 1, 1, 1, 1, 1, 1, 0]}
    with pytest.raises(ValueError, match="unknown breakdown"):
        ops.funnel(_db(intake), ids[2027], "category")
    assert ops.funnel(_db(intake), str(uuid.uuid4())) is None


def test_the_first_edition_has_nothing_to_compare_with(intake):
    ids = seed_editions(_db(intake))
    found = ops.funnel(_db(intake), ids[2025])
    assert found["previous"] is None and found["current"].total == [1, 0, 0, 0, 0, 0, 0, 0]
    html = _staff_browser(intake).get(f"/secretariat/editions/{ids[2025]}/funnel").get_data(as_text=True)
    assert 'id="no-previous"' in html and 'id="previous-met"' not in html


def test_the_page_shows_the_chart_the_table_and_the_previous_edition(intake):
    ids = seed_editions(_db(intake))
    observer = _staff_browser(intake, "observer")  # every staff role reads it
    r = observer.get(f"/secretariat/editions/{ids[2027]}/funnel?by=owner")
    html = r.get_data(as_text=True)
    assert r.status_code == 200, html[:500]
    assert [int(_cell(html, f"stage-{s}")) for s in STAGES] == [11, 10, 9, 8, 6, 4, 3, 2]
    assert [int(_cell(html, f"previous-{s}")) for s in STAGES] == [2, 1, 1, 1, 1, 1, 1, 1]
    assert _cell(html, "difference-met") == "+9" and _cell(html, "difference-finalist") == "+2"
    assert _cell(html, "conversion-submitted") == "75.0%" and _cell(html, "conversion-met") == "–"
    assert _cell(html, "without-drafting") == "2" and _cell(html, "outreach-drafting") == "8"
    # the chart draws the same numbers, readable by a screen reader
    assert re.findall(r'data-stage="(\w+)" data-value="(\d+)"', html) == [(s, str(n)) for s, n in
                                                                          zip(STAGES, [11, 10, 9, 8, 6, 4, 3, 2])]
    assert 'role="img"' in html and "Met: 11 (2 in 2026)" in html
    groups = re.search(r'id="funnel-groups".*?</table>', html, re.S).group(0)
    assert "lee@wego.example</th>" in groups and '<option value="owner" selected>' in html
    assert f'/secretariat/editions/{ids[2027]}/funnel.csv?by=owner' in html
    dashboard = observer.get(f"/secretariat/editions/{ids[2027]}/dashboard").get_data(as_text=True)
    assert f'href="/secretariat/editions/{ids[2027]}/funnel"' in dashboard
    bad = observer.get(f"/secretariat/editions/{ids[2027]}/funnel?by=category")
    assert bad.status_code == 400 and "region, country, event, owner" in bad.get_data(as_text=True)
    assert observer.get(f"/secretariat/editions/{uuid.uuid4()}/funnel").status_code == 404


def test_the_csv_has_both_editions_and_keeps_formulas_as_text(intake):
    ids = seed_editions(_db(intake))
    r = _staff_browser(intake, "jury_chair").get(f"/secretariat/editions/{ids[2027]}/funnel.csv?by=event")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert 'filename="funnel-2027-by-event.csv"' in r.headers["Content-Disposition"]
    text = r.get_data(as_text=True)
    assert text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert lines[0] == ["edition", "breakdown", "group", "who"] + STAGES
    rows = {(line[0], line[2], line[3]): line[4:] for line in lines[1:]}
    assert rows[("2027", "All", "prospects")] == ["11", "10", "9", "8", "6", "4", "3", "2"]
    assert rows[("2027", GA, "prospects")] == ["3", "2", "2", "2", "0", "0", "0", "0"]
    assert rows[("2027", "All", "applicants without outreach")] == ["", "", "", "2", "1", "1", "0", "0"]
    assert rows[("2026", "All", "prospects")] == ["2", "1", "1", "1", "1", "1", "1", "1"]
    assert ("2027", "'" + FORMULA, "prospects") in rows and ("2027", FORMULA, "prospects") not in rows


def test_only_staff_read_the_funnel(intake):
    ids = seed_editions(_db(intake))
    client = intake.clients["intake"]
    _, applicant = register(client)
    juror = issue_token(intake.settings.secret_key, "juror", str(uuid.uuid4()))
    staff = {role: _staff_browser(intake, role) for role in ("admin", "secretariat", "jury_chair", "observer")}
    for path in (f"/secretariat/editions/{ids[2027]}/funnel", f"/secretariat/editions/{ids[2027]}/funnel.csv"):
        assert client.get(path).status_code in (302, 303)  # to the staff sign-in
        for token in (applicant, juror):
            r = client.get(path, headers=auth(token))
            assert r.status_code == 403 and "11" not in r.get_data(as_text=True)
        for role, browser in staff.items():
            assert browser.get(path).status_code == 200, (path, role)
    api = f"/api/calls/{ids[2027]}/funnel"
    assert client.get(api).status_code == 401
    for token in (applicant, juror):
        assert client.get(api, headers=auth(token)).status_code == 403


def test_the_api_gives_the_pages_figures(intake):
    ids = seed_editions(_db(intake))
    db, client = _db(intake), intake.clients["intake"]
    member = staff_ops.add_member(db, "observer@wego.example", "Observer", "observer", "en", "test")
    secret, _ = staff_ops.create_token(db, member["id"], "funnel script", 1)
    body = client.get(f"/api/calls/{ids[2027]}/funnel?by=country", headers=auth(secret)).get_json()
    assert body["by"] == "country" and body["year"] == 2027
    assert [(s["stage"], s["count"], s["previous"]) for s in body["funnel"]][:3] == [
        ("met", 11, 2), ("invited", 10, 1), ("registered", 9, 1)]
    br = next(g for g in body["current"]["groups"] if g["key"] == "BR")
    assert br["counts"] == dict(zip(STAGES, [2, 2, 2, 2, 2, 2, 1, 0]))
    assert body["current"]["applicants"]["without_outreach"] == {
        "drafting": 2, "submitted": 1, "eligible": 1, "finalist": 0, "winner": 0}
    assert body["previous"]["year"] == 2026 and body["current"]["registered_uninvited"] == 1
    r = client.get(f"/api/calls/{ids[2027]}/funnel?by=category", headers=auth(secret))
    assert r.status_code == 422 and "by" in str(r.get_json())
    assert client.get(f"/api/calls/{uuid.uuid4()}/funnel", headers=auth(secret)).status_code == 404


def _bulk(db, call_id: str, prospects: int, applications: int) -> None:
    """Many prospects, a share of them applicants with an application and decisions (core inserts)."""
    rows_p, rows_a, rows_app, rows_s, rows_i = [], [], [], [], []
    for n in range(prospects):
        pid, aid = str(uuid.uuid4()), (str(uuid.uuid4()) if n < applications else None)
        country = ("TW", "PL", "BR", "KR", "HU")[n % 5]
        rows_p.append({"id": pid, "call_id": call_id, "organisation": f"Bulk {n}", "applicant_type": "city_government",
                       "city": "", "country": country, "region": REGION_OF_COUNTRY[country], "contact_name": "",
                       "email": f"bulk{n}-{call_id[:8]}@city.example", "language": "en", "met_at": f"Event {n % 7}",
                       "met_on": "", "notes": "", "owner": f"owner{n % 4}@wego.example", "applicant_id": aid,
                       "version": 1, "created_at": NOW, "created_by": "t", "updated_at": NOW, "updated_by": "t"})
        if n % 2:
            rows_i.append({"id": str(uuid.uuid4()), "prospect_id": pid, "call_id": call_id, "token_hash": uuid.uuid4().hex * 2,
                           "event_id": str(uuid.uuid4()), "sent_at": NOW, "sent_by": "t", "expires_at": NOW})
        if aid:
            app_id = str(uuid.uuid4())
            rows_a.append({"id": aid, "type": "city_government", "organisation": f"Bulk {n}", "country": country,
                           "city": "", "contact_name": "", "contact_email": f"bulk{n}-{call_id[:8]}@city.example",
                           "language": "en", "created_at": NOW, "region": "other"})
            rows_app.append({"id": app_id, "reference": f"B-{call_id[:8]}-{n}", "call_id": call_id, "applicant_id": aid,
                             "category": "tech_innovacity", "title": "", "summary": "", "status": ("draft", "submitted")[n % 2],
                             "created_at": NOW, "updated_at": NOW, "answers": {}, "revision": 1})
            for i, stage in enumerate(("eligible", "finalist", "winner")[: n % 4]):
                rows_s.append({"event_id": str(uuid.uuid4()), "application_id": app_id, "stage": stage, "detail": "",
                               "occurred_at": NOW + timedelta(seconds=i)})
    with db.engine.begin() as conn:
        for table, rows in ((Applicant, rows_a), (Prospect, rows_p), (OutreachInvitation, rows_i),
                            (Application, rows_app), (StatusUpdate, rows_s)):
            if rows:
                conn.execute(insert(table.__table__), rows)


def _statements(db, call_id: str, by: str) -> tuple[int, float, dict]:
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        started = time.perf_counter()
        found = ops.funnel(db, call_id, by)
        return len(seen), time.perf_counter() - started, found
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_counting_is_a_few_queries_whatever_the_number_of_prospects(intake):
    db = _db(intake)
    with db.session() as s, s.begin():
        small, big, before = _call(s, 2030), _call(s, 2031), _call(s, 2029)
    _bulk(db, small, 5, 3)
    _bulk(db, before, 5, 3)
    _bulk(db, big, 10_000, 2_400)
    few, _, _ = _statements(db, small, "region")
    many, seconds, found = _statements(db, big, "owner")
    assert few == many <= 8, (few, many)  # the call, the one before, and per edition two GROUP BY queries
    assert found["current"].total[0] == 10_000 and found["current"].total[2] == 2_400
    assert found["current"].total[4] == 1_200  # the odd ones are submitted
    assert seconds < 2, seconds  # ~0.05 s here (SQLite; PostgreSQL ~0.08 s): counted by the database
