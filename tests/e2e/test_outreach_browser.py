"""Outreach to results in a real browser (issue 17's "done when"): Playwright driving Debian's
Chromium, the three services over real HTTP with their workers running and every email going to
a real SMTP server, on the embedded stack.

A staff member signs in by an emailed link, imports the cities met at the Smart City Summit and
Expo from a CSV (its bad line shown before anything is stored), picks Lublin on the prospects
list and invites it to apply, looking at the email before sending. Lublin's officer follows the
link in the email: the registration form is filled in with what the secretariat knew; they
register, sign in, write and submit. The funnel moves on the secretariat's page. Until the award
round is released the public results page and both feeds show nothing; review's API then screens,
decides and releases (as the secretariat's pages do, tested elsewhere), and the public page and
feeds show Lublin as the winner with the edition's figures, and the funnel shows a winner.

Main pages are shot into docs/img/outreach-*.png at 1280x900 and 390x844; none may scroll
sideways at 390 px."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest
from playwright.sync_api import expect

from services.intake.ops import staff as staff_ops
from tests.e2e.test_whole_edition_browser import (DOCS_IMG, PHONE, SIDEWAYS, STAFF, STAFF_NAME, WIDE,  # noqa: F401
                                                  latest_mail, link_in, new_page, reload_until, served,
                                                  sign_in_staff)
from tests.support.stack import auth, open_call, wait_until

pytestmark = pytest.mark.e2e

YEAR = 2026
LUBLIN = "zofia.wisniewska@lublin.example.pl"
MET = "Smart City Summit and Expo 2023, Taipei"
MET_CSV = f'"{MET}"'  # the comma quoted, as a spreadsheet writes it
CSV = ("organisation,city,country,contact_name,email,language,met_at,met_on,notes,type\n"
       f"Urząd Miasta Lublin,Lublin,Poland,Zofia Wiśniewska,{LUBLIN},en,{MET_CSV},2023-03-28,Digital twin,city_government\n"
       f"Chiang Mai Municipality,Chiang Mai,TH,Somchai Jaidee,somchai@chiangmai.example.th,en,{MET_CSV},2023-03-29,,\n"
       f"Atlantis City Hall,Atlantis,Atlantis,Nobody,mayor@atlantis.example,en,{MET_CSV},2023-03-29,,\n")
TITLE = "Lublin digital twin for planning with residents"
ATOM = "{http://www.w3.org/2005/Atom}"


def test_a_prospect_invited_registers_filled_in_submits_and_wins_in_public(served, new_page, smtp_server, tmp_path):  # noqa: F811
    stack, urls = served
    intake, sec = stack.clients["intake"], stack.secretariat_token()
    staff_ops.add_member(stack.apps["intake"].extensions["prize"]["db"], STAFF, STAFF_NAME, "admin", "en", "test")
    call_id = open_call(intake, sec, year=YEAR)["id"]
    shoot = Shots()
    staff = new_page()
    sign_in_staff(staff, smtp_server, urls)

    import_prospects(staff, urls, call_id, tmp_path, shoot)
    invite_lublin(staff, urls, call_id, shoot)
    application_id = lublin_registers_and_submits(new_page(), smtp_server, tmp_path, shoot)

    funnel = urls["intake"] + f"/secretariat/editions/{call_id}/funnel"
    staff.goto(funnel)
    reload_until(staff, lambda: staff.locator("#stage-submitted").inner_text().strip() == "1", "a submission")
    stages = {s: staff.locator(f"#stage-{s}").inner_text().strip() for s in ("met", "invited", "registered", "drafting")}
    assert stages == {"met": "2", "invited": "1", "registered": "1", "drafting": "1"}, stages
    assert staff.locator("#stage-winner").inner_text().strip() == "0"
    shoot(staff, "outreach-4-funnel")

    embargoed(intake)
    release_lublin_as_winner(stack, call_id, application_id)
    assert wait_until(lambda: intake.get(f"/results/{YEAR}").status_code == 200, timeout=30)

    visitor = new_page()
    visitor.goto(urls["intake"] + f"/results/{YEAR}")
    main = visitor.locator("main")
    expect(main).to_contain_text(TITLE)
    expect(main).to_contain_text("Lublin")
    expect(visitor.locator("#figures")).to_contain_text("1 application")
    shoot(visitor, "outreach-5-results")
    feed = intake.get(f"/results/{YEAR}.json").get_json()
    assert TITLE in json.dumps(feed, ensure_ascii=False)
    atom = ET.fromstring(intake.get("/results/feed.atom").data)
    assert any(TITLE in (e.findtext(f"{ATOM}title") or "") + (e.findtext(f"{ATOM}content") or "")
               + (e.findtext(f"{ATOM}summary") or "") for e in atom.iter(f"{ATOM}entry"))

    staff.goto(funnel)
    reload_until(staff, lambda: staff.locator("#stage-winner").inner_text().strip() == "1", "the winner")
    assert not shoot.sideways, shoot.sideways


class Shots:
    """Each page at 1280x900 and 390x844 into docs/img/<name>(-phone).png; pages wider than the
    phone's screen are kept for the test's end."""

    def __init__(self):
        self.sideways: list[tuple[str, str, int]] = []

    def __call__(self, page, name: str) -> None:
        page.set_viewport_size(WIDE)
        page.screenshot(path=str(DOCS_IMG / f"{name}.png"), full_page=True)
        page.set_viewport_size(PHONE)
        width, inner = page.evaluate(SIDEWAYS)
        if width > inner:
            self.sideways.append((name, page.url, width))
        page.screenshot(path=str(DOCS_IMG / f"{name}-phone.png"), full_page=True)
        page.set_viewport_size(WIDE)


def import_prospects(page, urls, call_id: str, tmp_path, shoot) -> None:
    """The CSV's bad line (an unknown country) is shown before anything is stored; the two good
    lines are stored for the edition."""
    page.goto(urls["intake"] + "/secretariat/prospects")
    page.get_by_role("link", name="Import from CSV").click()
    upload = tmp_path / "met-in-taipei.csv"
    upload.write_bytes(CSV.encode("utf-8-sig"))  # as Excel saves "CSV UTF-8"
    page.get_by_label("A CSV file").set_input_files(str(upload))
    page.get_by_label("For the edition").select_option(call_id)
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("main")).to_contain_text("Atlantis")
    shoot(page, "outreach-1-import-preview")
    page.get_by_role("button", name=re.compile(r"^Store 2 new prospect")).click()
    page.goto(urls["intake"] + "/secretariat/prospects")
    expect(page.locator("main")).to_contain_text("Chiang Mai Municipality")
    expect(page.locator("main")).not_to_contain_text("Atlantis City Hall")


def invite_lublin(page, urls, call_id: str, shoot) -> None:
    page.get_by_label("Choose Urząd Miasta Lublin").check()
    page.locator("#invite-call").select_option(call_id)
    page.get_by_role("button", name="Invite to apply").click()
    page.get_by_role("heading", name=f"Invite 1 prospect to apply to the {YEAR} edition?").wait_for()
    shoot(page, "outreach-2-invite-look")
    page.get_by_role("button", name="Send 1 invitation").click()
    page.get_by_role("heading", name=f"Invitations to apply to the {YEAR} edition").wait_for()


def lublin_registers_and_submits(page, smtp_server, tmp_path, shoot) -> str:
    """From the invitation's link: the form is filled in; register, sign in, write, submit."""
    mail = latest_mail(smtp_server, LUBLIN, f"Invitation to apply for the {YEAR} Seoul Smart City Prize")
    assert mail["List-Unsubscribe"] and mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    page.goto(link_in(mail, r"http://\S+/portal/register\?invitation=[\w-]+"))
    assert page.get_by_label("Organisation (or your name, for an individual)").input_value() == "Urząd Miasta Lublin"
    assert page.get_by_label("Country").input_value() == "PL"
    assert page.get_by_label("City", exact=True).input_value() == "Lublin"
    assert page.get_by_label("Contact person", exact=True).input_value() == "Zofia Wiśniewska"
    assert page.get_by_label("Contact email", exact=True).input_value() == LUBLIN
    shoot(page, "outreach-3-register-filled")
    page.get_by_label("I have read the privacy notice").check()
    page.get_by_role("button", name="Register and send me a sign-in link").click()
    signin = latest_mail(smtp_server, LUBLIN, "Sign in")
    page.goto(link_in(signin, r"http://127\.0\.0\.1:\d+/signin/[\w-]+"))
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("button", name="Start").first.click()
    page.get_by_label("Project title").fill(TITLE)
    page.get_by_label("Summary").fill("A city model residents use to weigh plans before they are built.")
    for area in page.locator("textarea[data-criterion]").all():
        area.fill("Residents shaped every step, with figures from three districts.")
    pdf = tmp_path / "application-form.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + b"0" * 2_000 + b"\n%%EOF\n")
    page.get_by_label("File").set_input_files(str(pdf))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload-state")).to_have_text(re.compile(r"^Uploaded and checked"))
    page.get_by_role("button", name="Save and preview").click()
    page.get_by_role("button", name="Submit application").click()
    assert "/status" in page.url
    return re.search(r"/portal/applications/([0-9a-f-]{36})", page.url).group(1)


def embargoed(intake) -> None:
    """Before the award round's release: the page, the JSON and the Atom feed show nothing."""
    assert intake.get(f"/results/{YEAR}").status_code == 404
    assert intake.get(f"/results/{YEAR}.json").status_code == 404
    atom = intake.get("/results/feed.atom")
    assert atom.status_code in (200, 404)
    assert TITLE not in atom.get_data(as_text=True)


def release_lublin_as_winner(stack, call_id: str, application_id: str) -> None:
    """Review's API, as its pages do: eligible, a finalist, the winner, both rounds released."""
    review, sec = stack.clients["review"], auth(stack.secretariat_token())
    assert wait_until(lambda: review.post(f"/api/applications/{application_id}/screening", headers=sec, json={
        "eligible": True, "reason": "", "send_now": True}).status_code == 200, timeout=30)
    juror = review.post("/api/jurors", headers=sec, json={
        "name": "Kenji Sato", "email": "kenji.sato@kyoto-u.example.jp", "country": "JP",
        "organisation": "Kyoto University", "expertise": ["tech_innovacity"], "languages": ["en"], "language": "en"})
    assert juror.status_code == 201, juror.get_json()
    rounds = {}
    for kind, body in (("finalist", {"jurors_per_application": 1, "advance_per_category": 1, "min_reviews": 1}),
                       ("award", {})):
        if kind == "finalist":
            r = review.post("/api/rounds", headers=sec, json={"call_id": call_id, "kind": kind, **body})
            assert r.status_code == 201, r.get_json()
            rounds[kind] = r.get_json()["id"]
            assert review.post(f"/api/rounds/{rounds[kind]}/assign", headers=sec).status_code == 200
            r = review.post(f"/api/rounds/{rounds[kind]}/close", headers=sec,
                            json={"decisions": {application_id: "advance"}})
            assert r.status_code == 200, r.get_json()
        else:
            r = review.post("/api/rounds", headers=sec, json={"call_id": call_id, "kind": kind})
            assert r.status_code == 201, r.get_json()
            r = review.post(f"/api/applications/{application_id}/award", headers=sec,
                            json={"outcome": "winner", "award": "Grand Prize"})
            assert r.status_code == 200, r.get_json()
    for round_ in ("finalist", "award"):
        r = review.post(f"/api/calls/{call_id}/release", headers=sec, json={"round": round_})
        assert r.status_code == 200, r.get_json()
