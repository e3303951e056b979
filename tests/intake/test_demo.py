"""`prize demo` loads a sample edition through intake's API; running it twice adds nothing."""
from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from click.testing import CliRunner
from sqlalchemy import func, select

from services.intake.demo import APPLICANTS, load_demo
from services.intake import rules as domain
from services.intake.demo_outreach import MET_KAOHSIUNG, MET_TAIPEI, PROSPECTS
from services.intake.models import (Applicant, Application, Call, Ceremony, Document, OutreachInvitation, Prospect,
                                   outbox)


def _counts(db):
    with db.session() as s:
        return (s.scalar(select(func.count()).select_from(Call)),
                s.scalar(select(func.count()).select_from(Applicant)),
                s.scalar(select(func.count()).select_from(Application)),
                s.scalar(select(func.count()).select_from(outbox)))


def test_demo_loads_open_call_applicants_drafts_and_submissions(stack):
    app = stack.apps["intake"]
    counts = load_demo(app)
    submitted = sum(1 for *_, submit in APPLICANTS if submit)
    assert counts["applicants"] == len(APPLICANTS)
    assert counts["submitted"] == submitted
    assert counts["drafts"] == len(APPLICANTS) - submitted
    db = app.extensions["prize"]["db"]
    with db.session() as s:
        call = s.scalars(select(Call)).one()
        assert (call.year, call.status, call.time_zone) == (2026, "open", "Asia/Seoul")
        assert [c["key"] for c in call.categories] == ["tech_innovacity", "human_centricity", "leadership"]
        cities = set(s.scalars(select(Applicant.city)).all())
        assert "高雄 Kaohsiung" in cities and "Beyoğlu" in cities
        # only languages the portal is translated into (Kaohsiung reads Korean, Beyoğlu English)
        assert set(s.scalars(select(Applicant.language)).all()) == {"pt", "en", "ko"}
        bodies = s.scalars(select(outbox.c.body).where(outbox.c.type == "application.submitted")).all()
        # the default terms: every criterion required, and the application form
        assert all(c["required"] for t in call.categories for c in t["criteria"])
        assert [d["key"] for d in call.documents if d["required"]] == ["application_form"]
        forms = s.execute(select(Application.status, Document.kind, Document.status)
                          .join(Document, Document.application_id == Application.id)).all()
        assert sorted(forms) == [("submitted", "application_form", "verified")] * submitted
        ceremony = s.scalars(select(Ceremony)).one()  # set, in the future, after the call closes
        assert ceremony.venue == "COEX, Seoul" and ceremony.time_zone == "Asia/Seoul"
        assert domain.as_utc(call.closes_at) < domain.as_utc(ceremony.rsvp_by) < domain.as_utc(ceremony.starts_at)
    assert len(bodies) == submitted
    assert {json.loads(b)["data"]["applicant"]["city"] for b in bodies} >= {"高雄 Kaohsiung", "Guarulhos"}


def test_demo_run_twice_does_not_duplicate(stack):
    app = stack.apps["intake"]
    db = app.extensions["prize"]["db"]
    load_demo(app)
    first = _counts(db)
    load_demo(app)
    assert _counts(db)[:3] == first[:3]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(outbox).where(
            outbox.c.type.in_(["application.submitted", "call.opened"]))) == \
            sum(1 for *_, submit in APPLICANTS if submit) + 1


def test_demo_command_reports_what_it_loaded_and_prints_working_links(tmp_path, free_port, monkeypatch):
    """Without the services running (review cannot have heard of the applications) the demo says
    so, and still prints one-time links for the staff and the applicants; each is a sign-in link
    stored as a request stores it, and opens a session once."""
    from services import cli
    from shared.config import load_settings
    from tests.conftest import embedded_env
    from tests.support.stack import Stack
    # review's port: one nothing listens on
    embedded_settings = load_settings(embedded_env(tmp_path / "var", PRIZE_REVIEW_PORT=str(free_port())))
    monkeypatch.setattr(cli, "_settings", lambda: embedded_settings)
    result = CliRunner().invoke(cli.main, ["demo"])
    assert result.exit_code == 0, result.output
    assert "6 applicants, 2 drafts, 4 submitted; 6 prospects met at the Smart City Summit and Expo 2023, " \
           "3 invited to apply" in result.output
    assert "demo: staff admin secretariat@wego-cities.org added" in result.output
    assert "demo: staff secretariat jiwon.park@wego-cities.org added" in result.output
    assert "start the services (make run), then run prize demo again for the jurors" in result.output
    links = re.findall(r"^  (admin|secretariat|juror|applicant) .*\n\s+(\S+)", result.output, re.M)
    assert [role for role, _ in links] == ["admin", "secretariat", "juror", "applicant", "applicant"]
    juror = links[2][1]
    assert juror == "(not"  # not there yet: the line says why
    stack = Stack(embedded_settings, services=("intake",))
    try:
        client = stack.clients["intake"]
        for role, url in [links[0], links[3]]:
            path = urlsplit(url).path
            assert url.startswith(embedded_settings.public_url)
            page = client.get(path)
            assert page.status_code == 200 and b"Sign in" in page.data
            csrf = re.search(rb'name="csrf_token" value="([^"]+)"', page.data)
            opened = client.post(path, data={"csrf_token": csrf[1].decode() if csrf else ""})
            assert opened.status_code in (302, 303), (role, opened.status_code, opened.data[:300])
            assert urlsplit(opened.headers["Location"]).path in ("/secretariat", "/portal"), role
            client.cookie_jar.clear() if hasattr(client, "cookie_jar") else None
            again = client.post(path, data={"csrf_token": csrf[1].decode() if csrf else ""})
            assert again.status_code not in (302, 303), role  # a link works once
    finally:
        stack.stop()


def test_demo_never_prints_links_in_production(tmp_path, free_port, monkeypatch):
    from services import cli
    from shared.config import load_settings
    from tests.conftest import embedded_env
    embedded_settings = load_settings(embedded_env(tmp_path / "var", PRIZE_REVIEW_PORT=str(free_port())))
    monkeypatch.setattr(cli, "_settings", lambda: embedded_settings)
    monkeypatch.setenv("PRIZE_ENV", "production")
    refused = CliRunner().invoke(cli.main, ["demo", "--links"])
    assert refused.exit_code == 1 and "http" not in refused.output
    loaded = CliRunner().invoke(cli.main, ["demo"])
    assert loaded.exit_code == 0, loaded.output
    assert "/signin/" not in loaded.output and "no sign-in link is printed" in loaded.output


def test_demo_staff_leave_a_real_staff_list_alone(stack):
    from services.intake.demo import ensure_demo_staff
    from services.intake.ops import staff as staff_ops
    db = stack.apps["intake"].extensions["prize"]["db"]
    staff_ops.add_member(db, "director@wego-cities.org", "Director", "admin", "en", "test")
    assert ensure_demo_staff(db) == []
    assert [m["email"] for m in staff_ops.members(db)] == ["director@wego-cities.org"]


def test_demo_adds_a_first_admin_once_and_only_without_staff(stack):
    from services.intake.demo import DEMO_ADMIN, ensure_demo_admin
    from services.intake.ops import staff as staff_ops
    db = stack.apps["intake"].extensions["prize"]["db"]
    added = ensure_demo_admin(db)
    assert (added["email"], added["role"], added["active"]) == (DEMO_ADMIN["email"], "admin", True)
    assert ensure_demo_admin(db) is None  # again: nothing added
    assert [m["email"] for m in staff_ops.members(db)] == [DEMO_ADMIN["email"]]


def test_demo_loads_the_cities_met_in_2023_as_prospects_some_invited_some_registered(stack):
    """Issue 17: the six cities of the 2023 meetings are prospects met at the Smart City Summit and
    Expo; Lublin, Budapest and Chiang Mai are invited (one invitation event each, even run twice);
    every demo applicant among them is linked to its prospect; Chiang Mai registered nowhere."""
    app = stack.apps["intake"]
    counts = load_demo(app)
    load_demo(app)
    assert (counts["prospects"], counts["invited"]) == (6, 3)
    db = app.extensions["prize"]["db"]
    with db.session() as s:
        prospects = {p.city: p for p in s.scalars(select(Prospect))}
        assert len(prospects) == len(PROSPECTS) == 6
        assert {p.met_at for p in prospects.values()} == {MET_TAIPEI, MET_KAOHSIUNG}
        call = s.scalars(select(Call)).one()
        assert {p.call_id for p in prospects.values()} == {call.id}
        invited = {prospects_city for prospects_city, p in prospects.items()
                   if s.scalar(select(func.count()).select_from(OutreachInvitation)
                               .where(OutreachInvitation.prospect_id == p.id))}
        assert invited == {"Lublin", "Budapest", "เชียงใหม่ Chiang Mai"}
        registered = {city for city, p in prospects.items() if p.applicant_id}
        assert registered == {"Lublin", "Budapest", "Guarulhos", "高雄 Kaohsiung", "City of Ryde"}
        for p in prospects.values():
            if p.applicant_id:
                assert s.get(Applicant, p.applicant_id).contact_email == p.email
        assert s.scalar(select(func.count()).select_from(outbox).where(outbox.c.type == "outreach.invited")) == 3
