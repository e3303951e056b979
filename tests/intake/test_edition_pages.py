"""The secretariat's Editions pages on intake (pages/editions.py): every page and form per staff
role, the bad input each form must answer with a 422 (or a 409 when someone else changed the
edition meanwhile) keeping what was typed, and the API's close and revoke-with-who."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone

import pytest

from services.intake.models import Call, DeadlineException, outbox
from shared.staff import store
from services.intake.models import staff_tables
from tests.support.stack import auth, open_call, register

ROLES = ("admin", "secretariat", "jury_chair", "observer")
BASE = "/secretariat/editions"


# --- the API: closing early, and who revoked an exception --------------------------------------

def test_api_close_is_a_versioned_change_with_who_and_why_and_a_second_close_changes_nothing(stack, intake, sec):
    call = open_call(intake, sec)
    r = intake.post(f"/api/calls/{call['id']}/close", headers=auth(sec), json={"reason": "the jury asked"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["version"] == call["version"] + 1
    assert datetime.fromisoformat(body["closes_at"]) <= datetime.now(timezone.utc)
    versions = intake.get(f"/api/calls/{call['id']}/versions").get_json()
    assert (versions[-1]["changed_by"], versions[-1]["reason"]) == ("operator test-secretariat", "the jury asked")
    again = intake.post(f"/api/calls/{call['id']}/close", headers=auth(sec), json={"reason": "twice"})
    assert again.status_code == 200 and again.get_json()["version"] == body["version"]


def test_api_close_needs_a_reason_an_open_call_and_the_secretariat(stack, intake, sec):
    draft = intake.post("/api/calls", headers=auth(sec), json={
        "year": 2031, "theme": "t", "opens_at": "2031-01-01T00:00:00+09:00",
        "closes_at": "2031-06-01T00:00:00+09:00"}).get_json()
    assert intake.post(f"/api/calls/{draft['id']}/close", headers=auth(sec), json={"reason": "x"}).status_code == 409
    call = open_call(intake, sec)
    assert intake.post(f"/api/calls/{call['id']}/close", headers=auth(sec), json={}).status_code == 422
    assert intake.post(f"/api/calls/{call['id']}/close", json={"reason": "x"}).status_code in (401, 403)
    assert intake.post(f"/api/calls/{uuid.uuid4()}/close", headers=auth(sec), json={"reason": "x"}).status_code == 404


def test_api_revoke_records_who_revoked(stack, intake, sec):
    """Defect: revoking an exception kept when but not who."""
    call = open_call(intake, sec)
    applicant, _ = register(intake)
    granted = intake.post(f"/api/calls/{call['id']}/exceptions", headers=auth(sec), json={
        "applicant_id": applicant["id"], "closes_at": "2099-12-31T00:00:00+00:00", "reason": "flood"}).get_json()
    r = intake.delete(f"/api/calls/{call['id']}/exceptions/{granted['id']}", headers=auth(sec))
    assert r.status_code == 200
    assert r.get_json()["revoked_by"] == "operator test-secretariat"
    listed = intake.get(f"/api/calls/{call['id']}/exceptions", headers=auth(sec)).get_json()
    assert listed[0]["revoked_by"] == "operator test-secretariat"


# --- browsers of each staff role on intake ----------------------------------------------------

def _browser(stack, role: str):
    """A browser session of a member of ``role`` on intake, and its CSRF token."""
    app = stack.apps["intake"]
    now = datetime.now(timezone.utc)
    member = {"staff_id": str(uuid.uuid4()), "email": f"{role}-{uuid.uuid4().hex[:6]}@wego.example",
              "name": f"{role.title()} Kim", "language": "en", "role": role, "active": True, "version": 1,
              "changed_by": "test"}
    with app.extensions["prize"]["db"].session() as s, s.begin():
        store.apply_member(s, staff_tables, member, now)
        secret = store.open_session(s, staff_tables, member["staff_id"], str(uuid.uuid4()), now)
        csrf = s.execute(staff_tables.sessions.select().where(
            staff_tables.sessions.c.id_hash == store.hash_secret(secret))).one().csrf_token
    client = app.test_client()
    client.set_cookie("prize_staff_intake", secret)
    client.csrf, client.who = csrf, f"{member['name']} <{member['email']}>"
    return client


@pytest.fixture
def sec_browser(stack):
    return _browser(stack, "secretariat")


def _db(stack):
    return stack.apps["intake"].extensions["prize"]["db"]


def _text(r) -> str:
    return r.get_data(as_text=True)


def _marker(html: str) -> str:
    return re.search(r'name="marker" value="([^"]*)"', html).group(1)


NEW = {"year": "2031", "theme": "Cities that listen", "time_zone": "Asia/Seoul", "opens_at": "2031-01-05T09:00",
       "closes_at": "2031-06-30T18:00", "score_min": "1", "score_max": "10"}


def _create(browser, **changes):
    r = browser.post(f"{BASE}/new", data={"csrf_token": browser.csrf, **NEW, **changes})
    assert r.status_code == 303, _text(r)
    return r.headers["Location"].rsplit("/", 1)[1]


def test_a_member_creates_an_edition_in_its_time_zone_and_sees_it_listed(stack, sec_browser):
    assert sec_browser.get(f"{BASE}/new").status_code == 200
    call_id = _create(sec_browser, time_zone="Europe/Madrid")
    with _db(stack).session() as s:
        call = s.get(Call, call_id)
        assert (call.status, call.time_zone, call.year) == ("draft", "Europe/Madrid", 2031)
        assert call.opens_at.replace(tzinfo=timezone.utc) == datetime(2031, 1, 5, 8, 0, tzinfo=timezone.utc)
        assert call.closes_at.replace(tzinfo=timezone.utc) == datetime(2031, 6, 30, 16, 0, tzinfo=timezone.utc)
    page = sec_browser.get(f"{BASE}/{call_id}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    text = _text(page)
    assert "05 January 2031, 09:00 (Europe/Madrid)" in text and "30 June 2031, 18:00 (Europe/Madrid)" in text
    assert "Cities that listen" in _text(sec_browser.get(BASE))
    home = _text(sec_browser.get("/secretariat"))
    assert "PUT /api" not in home and f"{BASE}/{call_id}" in home


def _pages(call_id: str) -> list[str]:
    return [BASE, f"{BASE}/new", f"{BASE}/{call_id}", f"{BASE}/{call_id}/terms",
            f"{BASE}/{call_id}/categories/leadership", f"{BASE}/{call_id}/documents", f"{BASE}/{call_id}/open",
            f"{BASE}/{call_id}/close", f"{BASE}/{call_id}/exceptions", f"{BASE}/{call_id}/ceremony"]


def test_every_role_reads_every_page_only_admin_and_secretariat_change_and_strangers_sign_in(stack, sec_browser):
    call_id = _create(sec_browser)
    for role in ROLES:
        browser = _browser(stack, role)
        for path in _pages(call_id):
            r = browser.get(path)
            assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store", (role, path)
            if role in ("observer", "jury_chair") and path.endswith(("/new", "/terms", "/leadership", "/documents",
                                                                       "/exceptions", "/ceremony")):
                assert "<fieldset disabled" in _text(r) and "can read this page but not change" in _text(r), path
            elif role == "secretariat" and "/editions/" in path and not path.endswith((call_id, "/close")):
                assert f'<input type="hidden" name="csrf_token" value="{browser.csrf}">\n' in _text(r), path
        forms = [p for i, p in enumerate(_pages(call_id)) if i not in (0, 2)]
        for path in forms + [f"{BASE}/{call_id}/exceptions/{uuid.uuid4()}/revoke"]:
            r = browser.post(path, data={"csrf_token": browser.csrf, **NEW, "reason": "r"})
            if role in ("observer", "jury_chair"):
                assert r.status_code == 403 and "can read but not change" in _text(r), (role, path)
            else:
                assert r.status_code != 403 and r.status_code < 500, (role, path, r.status_code)
    with _db(stack).session() as s:
        assert s.get(Call, call_id).status == "draft"  # a POST without its confirmation's marker opens nothing
    for path in _pages(call_id):
        r = stack.apps["intake"].test_client().get(path)
        assert r.status_code == 302 and r.headers["Location"].startswith("/staff/signin"), path


def test_an_unknown_edition_is_a_404_page(sec_browser):
    for path in _pages(str(uuid.uuid4()))[2:]:
        assert sec_browser.get(path).status_code == 404, path
    call_id = _create(sec_browser)
    assert sec_browser.get(f"{BASE}/{call_id}/categories/nothing").status_code == 404


@pytest.mark.parametrize("changes, field, words", [
    ({"theme": "", "year": ""}, "theme", "is required"),
    ({"theme": "x" * 301}, "theme", "at most 300"),
    ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "Choose a time zone"),
    ({"closes_at": "2031-01-01T09:00"}, "closes_at", "after the opening time"),
    ({"opens_at": "next tuesday"}, "opens_at", "date and time"),
    ({"opens_at": "2031-13-45T99:99"}, "opens_at", "date and time"),
    ({"score_max": "1"}, "score_max", "greater than the lowest"),
    ({"year": "99999"}, "year", "between 2000 and 2100"),
])
def test_creating_with_bad_input_is_a_422_naming_the_field_with_the_typed_values_kept(sec_browser, changes, field,
                                                                                       words):
    r = sec_browser.post(f"{BASE}/new", data={"csrf_token": sec_browser.csrf, **NEW, **changes})
    assert r.status_code == 422
    text = _text(r)
    error = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', text)
    assert error and words in error.group(1), text
    assert f'aria-describedby="{field}' in text or f'aria-describedby="{field}-hint {field}-error"' in text
    for name, value in {**NEW, **changes}.items():
        if name != "time_zone" and value and len(value) < 100:
            assert f'value="{value}"' in text, name
    assert "Nothing was saved" in text and f'<a href="#{field}">' in text  # the summary leads to the field


def test_a_second_edition_of_the_same_year_is_a_409_next_to_the_year(sec_browser):
    _create(sec_browser)
    r = sec_browser.post(f"{BASE}/new", data={"csrf_token": sec_browser.csrf, **NEW, "theme": "Again"})
    assert r.status_code == 409 and 'id="year-error"' in _text(r) and 'value="Again"' in _text(r)


def _terms(browser, call_id, **changes):
    page = _text(browser.get(f"{BASE}/{call_id}/terms"))
    data = {"csrf_token": browser.csrf, "marker": _marker(page), "theme": NEW["theme"], "time_zone": "Asia/Seoul",
            "opens_at": NEW["opens_at"], "closes_at": NEW["closes_at"], "score_min": "1", "score_max": "10"}
    return browser.post(f"{BASE}/{call_id}/terms", data={**data, **changes})


def test_a_draft_is_simply_edited_and_the_time_zone_reads_the_dates(stack, sec_browser):
    call_id = _create(sec_browser)
    r = _terms(sec_browser, call_id, theme="Cities that care", time_zone="America/Sao_Paulo",
               closes_at="2031-07-01T12:00")
    assert r.status_code == 303, _text(r)
    with _db(stack).session() as s:
        call = s.get(Call, call_id)
        assert (call.theme, call.version, call.time_zone) == ("Cities that care", 1, "America/Sao_Paulo")
        assert call.closes_at.replace(tzinfo=timezone.utc) == datetime(2031, 7, 1, 15, 0, tzinfo=timezone.utc)
    page = _text(sec_browser.get(f"{BASE}/{call_id}/terms"))
    assert 'value="2031-07-01T12:00"' in page and "<option selected>America/Sao_Paulo</option>" in page


def test_a_stale_form_is_a_409_that_keeps_the_typed_values(stack, sec_browser):
    call_id = _create(sec_browser)
    page = _text(sec_browser.get(f"{BASE}/{call_id}/terms"))
    other = _browser(stack, "admin")
    assert _terms(other, call_id, theme="Changed by the admin").status_code == 303
    r = sec_browser.post(f"{BASE}/{call_id}/terms", data={
        "csrf_token": sec_browser.csrf, "marker": _marker(page), "theme": "My own theme", "time_zone": "Asia/Seoul",
        "opens_at": NEW["opens_at"], "closes_at": NEW["closes_at"], "score_min": "1", "score_max": "10"})
    assert r.status_code == 409
    assert "Someone else changed this edition" in _text(r) and 'value="My own theme"' in _text(r)
    with _db(stack).session() as s:
        assert s.get(Call, call_id).theme == "Changed by the admin"
    # sent again from the page the 409 gave, it replaces theirs
    r = sec_browser.post(f"{BASE}/{call_id}/terms", data={
        "csrf_token": sec_browser.csrf, "marker": _marker(_text(r)), "theme": "My own theme",
        "time_zone": "Asia/Seoul", "opens_at": NEW["opens_at"], "closes_at": NEW["closes_at"], "score_min": "1",
        "score_max": "10"})
    assert r.status_code == 303


def test_an_open_editions_change_needs_a_reason_and_makes_a_version_with_who_when_why(stack, intake, sec,
                                                                                    sec_browser):
    call = open_call(intake, sec, year=2032)
    r = _terms(sec_browser, call["id"], theme="Open and changed", opens_at="2026-01-01T00:00",
               closes_at="2099-07-14T18:00")
    assert r.status_code == 422 and 'id="reason-error"' in _text(r) and 'value="Open and changed"' in _text(r)
    r = _terms(sec_browser, call["id"], theme="Open and changed", opens_at="2026-01-01T00:00",
               closes_at="2099-07-14T18:00", reason="a typo in the theme")
    assert r.status_code == 303
    page = _text(sec_browser.get(f"{BASE}/{call['id']}"))
    assert "Version history" in page and "a typo in the theme" in page and sec_browser.who.split(" <")[0] in page
    with _db(stack).session() as s:
        assert s.get(Call, call["id"]).version == 2
        assert s.execute(outbox.select().where(outbox.c.type == "call.opened")).all().__len__() == 2


def _category_form(browser, call_id, key="leadership"):
    """The category form as the page fills it: {field: value} (checked boxes only)."""
    html = _text(browser.get(f"{BASE}/{call_id}/categories/{key}"))
    data = {"csrf_token": browser.csrf}
    for m in re.finditer(r'<input id="([^"]+)" name="[^"]+" type="text" value="([^"]*)"', html):
        data[m.group(1)] = m.group(2)
    for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html):
        data[m.group(1)] = m.group(2)
    for m in re.finditer(r'<textarea id="([^"]+)"[^>]*>([^<]*)</textarea>', html):
        data[m.group(1)] = m.group(2)
    boxes = [m.groups() for m in re.finditer(r'<input type="checkbox"(?: id="[^"]+")? name="([^"]+)" value="([^"]+)" checked',
                                                   html)]
    return data, boxes


def _post_category(browser, call_id, changes, key="leadership", drop=()):
    data, boxes = _category_form(browser, call_id, key)
    data.update(changes)
    body = [(k, v) for k, v in data.items()] + [b for b in boxes if b[0] not in drop]
    from werkzeug.datastructures import MultiDict
    return browser.post(f"{BASE}/{call_id}/categories/{key}", data=MultiDict(body))


def test_criteria_are_edited_added_and_removed(stack, sec_browser):
    call_id = _create(sec_browser)
    r = _post_category(sec_browser, call_id, {"title": "Leadership award", "c0-weight": "2.5", "c0-word_limit": "300",
                                              "c0-guidance": "Line one\nLine two", "c4-title": "Courage",
                                              "c4-weight": "1", "c1-remove": "1"})
    assert r.status_code == 303, _text(r)
    with _db(stack).session() as s:
        leadership = next(c for c in s.get(Call, call_id).categories if c["key"] == "leadership")
    assert leadership["title"] == "Leadership award"
    assert [c["key"] for c in leadership["criteria"]] == ["vision", "collaboration", "influence", "courage"]
    assert (leadership["criteria"][0]["weight"], leadership["criteria"][0]["word_limit"],
            leadership["criteria"][0]["guidance"]) == (2.5, 300, ["Line one", "Line two"])


@pytest.mark.parametrize("changes, field, words", [
    ({"c0-weight": "0"}, "c0-weight", "more than 0"),
    ({"c0-weight": "-2"}, "c0-weight", "more than 0"),
    ({"c0-weight": "heavy"}, "c0-weight", "a number"),
    ({"c1-title": "Vision and innovation in the use of technology and data"}, "c1-title", "Two criteria"),
    ({"title": "Tech-InnovaCity"}, "title", "Another category"),
    ({"title": ""}, "title", "is required"),
    ({"c0-title": "y" * 301}, "c0-title", "at most 300"),
    ({"c0-word_limit": "0"}, "c0-word_limit", "between 1 and 100000"),
    ({"rows": "lots"}, "title", ""),  # an odd row count is read as the default, not a 500
])
def test_bad_criteria_are_a_422_next_to_the_field(stack, sec_browser, changes, field, words):
    call_id = _create(sec_browser)
    r = _post_category(sec_browser, call_id, changes)
    if not words:
        assert r.status_code in (303, 422)
        return
    assert r.status_code == 422, _text(r)
    error = re.search(rf'id="{field}-error">([^<]*)<', _text(r))
    assert error and words in error.group(1), _text(r)
    assert all(f'value="{v}"' in _text(r) for k, v in changes.items() if "title" in k and v and len(v) < 100)


def test_a_category_without_applicant_types_or_the_last_category_withdrawn_is_refused(stack, sec_browser):
    call_id = _create(sec_browser)
    r = _post_category(sec_browser, call_id, {}, drop=("applicant_types",))
    assert r.status_code == 422 and 'id="applicant_types-error"' in _text(r)
    for key in ("tech_innovacity", "human_centricity"):
        assert _post_category(sec_browser, call_id, {}, key=key, drop=("offered",)).status_code == 303
    r = _post_category(sec_browser, call_id, {}, drop=("offered",))
    assert r.status_code == 422 and "at least one category" in _text(r)
    with _db(stack).session() as s:
        assert [c["key"] for c in s.get(Call, call_id).categories] == ["leadership"]
    # offered again from the defaults
    assert _post_category(sec_browser, call_id, {"offered": "1"}, key="tech_innovacity").status_code == 303


def test_documents_and_the_upload_limit(stack, sec_browser):
    call_id = _create(sec_browser)
    base = {"csrf_token": sec_browser.csrf, "marker": _marker(_text(sec_browser.get(f"{BASE}/{call_id}/documents"))),
            "rows": "4", "d0-key": "application_form", "d0-title": "Application form (PDF)", "d0-required": "1",
            "d1-key": "supporting_material", "d1-title": "Supporting material", "max_upload_mb": "20"}
    for changes, field in (({"max_upload_mb": "0"}, "max_upload_mb"), ({"max_upload_mb": "ten"}, "max_upload_mb"),
                           ({"d2-title": "Supporting material"}, "d2-title"), ({"d0-title": "z" * 301}, "d0-title")):
        r = sec_browser.post(f"{BASE}/{call_id}/documents", data={**base, **changes})
        assert r.status_code == 422 and f'id="{field}-error"' in _text(r), changes
    r = sec_browser.post(f"{BASE}/{call_id}/documents", data={**base, "d2-title": "Letter of support",
                                                              "d2-required": "1", "d1-remove": "1"})
    assert r.status_code == 303, _text(r)
    with _db(stack).session() as s:
        call = s.get(Call, call_id)
        assert [(d["key"], d["required"]) for d in call.documents] == [("application_form", True),
                                                                        ("letter_of_support", True)]
        assert call.max_upload_bytes == 20 * 1024 * 1024


def _confirm(browser, path, **data):
    page = _text(browser.get(path))
    return page, browser.post(path, data={"csrf_token": browser.csrf, "marker": _marker(page), **data})


def test_opening_after_its_confirmation_once_however_often_it_is_pressed(stack, sec_browser):
    call_id = _create(sec_browser)
    page, r = _confirm(sec_browser, f"{BASE}/{call_id}/open")
    assert "register and apply" in page and "call.opened" in page and "05 January 2031, 09:00 (Asia/Seoul)" in page
    assert r.status_code == 303
    again = sec_browser.post(f"{BASE}/{call_id}/open", data={"csrf_token": sec_browser.csrf, "marker": _marker(page)})
    assert again.status_code == 303 and "open already" in _text(sec_browser.get(again.headers["Location"]))
    with _db(stack).session() as s:
        assert s.get(Call, call_id).status == "open"
        assert len(s.execute(outbox.select().where(outbox.c.type == "call.opened")).all()) == 1


def test_a_confirmation_replayed_after_the_draft_changed_is_refused_as_stale(stack, sec_browser):
    call_id = _create(sec_browser)
    page = _text(sec_browser.get(f"{BASE}/{call_id}/open"))
    assert _terms(_browser(stack, "admin"), call_id, closes_at="2031-03-01T18:00").status_code == 303
    r = sec_browser.post(f"{BASE}/{call_id}/open", data={"csrf_token": sec_browser.csrf, "marker": _marker(page)})
    assert r.status_code == 409 and "changed since this confirmation" in _text(r)
    assert "01 March 2031, 18:00 (Asia/Seoul)" in _text(r)  # the confirmation shows the terms as they are now
    with _db(stack).session() as s:
        assert s.get(Call, call_id).status == "draft"
    assert sec_browser.post(f"{BASE}/{call_id}/open", data={"csrf_token": sec_browser.csrf,
                                                            "marker": _marker(_text(r))}).status_code == 303


def test_closing_early_needs_a_reason_is_versioned_and_a_second_click_changes_nothing(stack, intake, sec,
                                                                                     sec_browser):
    call = open_call(intake, sec, year=2033)
    path = f"{BASE}/{call['id']}/close"
    page, r = _confirm(sec_browser, path, reason="")
    assert "Exceptions" in page or "exception" in page
    assert r.status_code == 422 and 'id="reason-error"' in _text(r)
    r = sec_browser.post(path, data={"csrf_token": sec_browser.csrf, "marker": _marker(page), "reason": "w" * 2001})
    assert r.status_code == 422 and "at most 2000" in _text(r)
    r = sec_browser.post(path, data={"csrf_token": sec_browser.csrf, "marker": _marker(page),
                                     "reason": "the board decided"})
    assert r.status_code == 303
    again = sec_browser.post(path, data={"csrf_token": sec_browser.csrf, "marker": _marker(page),
                                         "reason": "the board decided"})
    assert again.status_code == 303 and "closed already" in _text(sec_browser.get(again.headers["Location"]))
    versions = intake.get(f"/api/calls/{call['id']}/versions").get_json()
    assert [(v["changed_by"], v["reason"]) for v in versions] == [(sec_browser.who, "the board decided")]
    assert "Closed" in _text(sec_browser.get(f"{BASE}/{call['id']}"))


def test_closing_replayed_after_a_change_is_stale_and_a_draft_has_nothing_to_close(stack, intake, sec, sec_browser):
    call = open_call(intake, sec, year=2034)
    page = _text(sec_browser.get(f"{BASE}/{call['id']}/close"))
    assert intake.patch(f"/api/calls/{call['id']}", headers=auth(sec),
                        json={"theme": "New theme", "reason": "typo"}).status_code == 200
    r = sec_browser.post(f"{BASE}/{call['id']}/close", data={"csrf_token": sec_browser.csrf, "marker": _marker(page),
                                                             "reason": "done"})
    assert r.status_code == 409 and "changed since this confirmation" in _text(r) and ">done</textarea>" in _text(r)
    draft_id = _create(sec_browser)
    r = sec_browser.post(f"{BASE}/{draft_id}/close", data={"csrf_token": sec_browser.csrf, "reason": "x"})
    assert r.status_code == 303 and "nothing to close" in _text(sec_browser.get(r.headers["Location"]))


def _grant(browser, call_id, **changes):
    data = {"csrf_token": browser.csrf, "applicant": "mei.lin@kcg.example.tw", "closes_at": "2099-12-31T12:00",
            "reason": "flood in the city hall"}
    return browser.post(f"{BASE}/{call_id}/exceptions", data={**data, **changes})


def test_an_exception_is_granted_by_address_or_reference_and_revoked_with_who(stack, intake, sec, sec_browser):
    from tests.support.stack import start_draft
    call = open_call(intake, sec, year=2035)
    applicant, token = register(intake)
    r = _grant(sec_browser, call["id"], applicant="  MEI.LIN@kcg.example.tw ")
    assert r.status_code == 303, _text(r)
    listed = _text(sec_browser.get(r.headers["Location"]))
    assert "Kaohsiung City Government" in listed and "31 December 2099, 12:00 (Asia/Seoul)" in listed
    draft = start_draft(intake, token, call["id"])
    assert _grant(sec_browser, call["id"], applicant=draft["reference"].lower()).status_code == 303
    with _db(stack).session() as s:
        rows = s.query(DeadlineException).order_by(DeadlineException.granted_at).all()
        assert [(e.applicant_id, e.granted_by) for e in rows] == [(applicant["id"], sec_browser.who)] * 2
        first = rows[0].id
    revoke = f"{BASE}/{call['id']}/exceptions/{first}/revoke"
    admin = _browser(stack, "admin")
    assert admin.post(revoke, data={"csrf_token": admin.csrf}).status_code == 303
    r = sec_browser.post(revoke, data={"csrf_token": sec_browser.csrf})
    assert r.status_code == 303 and "revoked already, by Admin Kim" in _text(sec_browser.get(r.headers["Location"]))
    with _db(stack).session() as s:
        assert s.get(DeadlineException, first).revoked_by == admin.who
    assert "revoked by Admin Kim" in _text(sec_browser.get(f"{BASE}/{call['id']}/exceptions"))
    api = intake.get(f"/api/calls/{call['id']}/exceptions", headers=auth(sec)).get_json()
    assert api[0]["revoked_by"] == admin.who
    assert sec_browser.post(f"{BASE}/{call['id']}/exceptions/{uuid.uuid4()}/revoke",
                            data={"csrf_token": sec_browser.csrf}).status_code == 404


@pytest.mark.parametrize("changes, field, words", [
    ({"applicant": ""}, "applicant", "is required"),
    ({"applicant": "a" * 321}, "applicant", "at most 320"),
    ({"applicant": "nobody@nowhere.example"}, "applicant", "No applicant"),
    ({"applicant": "SSCP-2035-NOPE00"}, "applicant", "No applicant"),
    ({"closes_at": ""}, "closes_at", "is required"),
    ({"closes_at": "soon"}, "closes_at", "date and time"),
    ({"closes_at": "2030-01-01T00:00"}, "closes_at", "after the edition's closing time"),
    ({"reason": ""}, "reason", "is required"),
    ({"reason": "r" * 2001}, "reason", "at most 2000"),
])
def test_bad_exceptions_are_a_422_next_to_the_field(stack, intake, sec, sec_browser, changes, field, words):
    call = open_call(intake, sec, year=2035)
    register(intake)
    r = _grant(sec_browser, call["id"], **changes)
    assert r.status_code == 422, _text(r)
    error = re.search(rf'id="{field}-error">([^<]*)<', _text(r))
    assert error and words in error.group(1).replace("&#39;", "'"), _text(r)
    typed = {**{"applicant": "mei.lin@kcg.example.tw", "reason": "flood in the city hall"}, **changes}
    assert all(v in _text(r) for v in typed.values() if v and len(v) < 100)


CEREMONY = {"time_zone": "Asia/Seoul", "starts_at": "2099-10-10T18:00", "rsvp_by": "2099-09-20T18:00",
            "venue": "COEX, Seoul", "address": "513 Yeongdong-daero", "details": "Dress: smart",
            "max_delegates": "3"}


def test_the_ceremony_is_set_and_changed_in_its_own_time_zone(stack, intake, sec, sec_browser):
    call = open_call(intake, sec, year=2036)
    path = f"{BASE}/{call['id']}/ceremony"
    page, r = _confirm(sec_browser, path, **CEREMONY)
    assert r.status_code == 303, _text(r)
    cer = intake.get(f"/api/calls/{call['id']}/ceremony", headers=auth(sec)).get_json()
    assert cer["starts_at"] == "2099-10-10T09:00:00+00:00" and cer["updated_by"] == sec_browser.who
    page, r = _confirm(sec_browser, path, **{**CEREMONY, "time_zone": "Europe/Madrid", "venue": "IFEMA, Madrid"})
    assert r.status_code == 303
    page = _text(sec_browser.get(path))
    assert 'value="2099-10-10T18:00"' in page and "10 October 2099, 18:00 (Europe/Madrid)" in page
    # a form built before someone else's change is refused, the typed values kept
    other = _browser(stack, "admin")
    assert _confirm(other, path, **{**CEREMONY, "venue": "Seoul City Hall"})[1].status_code == 303
    r = sec_browser.post(path, data={"csrf_token": sec_browser.csrf, "marker": _marker(page),
                                     **{**CEREMONY, "venue": "Busan"}})
    assert r.status_code == 409 and "Someone else changed this ceremony" in _text(r) and 'value="Busan"' in _text(r)


@pytest.mark.parametrize("changes, field", [
    ({"time_zone": "Asia/Atlantis"}, "time_zone"), ({"venue": ""}, "venue"), ({"venue": "v" * 301}, "venue"),
    ({"rsvp_by": "2099-10-11T18:00"}, "rsvp_by"), ({"starts_at": "2001-01-01T00:00"}, "starts_at"),
    ({"max_delegates": "0"}, "max_delegates"), ({"max_delegates": "many"}, "max_delegates"),
    ({"starts_at": ""}, "starts_at"),
])
def test_a_bad_ceremony_is_a_422_next_to_the_field(stack, intake, sec, sec_browser, changes, field):
    call = open_call(intake, sec, year=2037)
    r = sec_browser.post(f"{BASE}/{call['id']}/ceremony", data={"csrf_token": sec_browser.csrf, "marker": "",
                                                                **{**CEREMONY, **changes}})
    assert r.status_code == 422 and f'id="{field}-error"' in _text(r), _text(r)
    assert 'value="COEX, Seoul"' in _text(r) or field == "venue"


def test_a_nul_in_any_form_is_a_422_not_a_database_error(stack, intake, sec, sec_browser):
    r = sec_browser.post(f"{BASE}/new", data={"csrf_token": sec_browser.csrf, **NEW, "theme": "a\x00b"})
    assert r.status_code == 422 and 'id="theme-error"' in _text(r)
    call_id = _create(sec_browser, year="2039")
    assert _post_category(sec_browser, call_id, {"c0-guidance": "x\x00y"}).status_code == 422
    call = open_call(intake, sec, year=2038)
    page = _text(sec_browser.get(f"{BASE}/{call['id']}/close"))
    r = sec_browser.post(f"{BASE}/{call['id']}/close", data={"csrf_token": sec_browser.csrf, "marker": _marker(page),
                                                             "reason": "\x00"})
    assert r.status_code == 422


@pytest.fixture
def pg_stack(real_settings):
    from tests.support.stack import Stack
    s = Stack(real_settings, services=("intake",))
    yield s
    s.stop()


def test_the_pages_on_postgresql(pg_stack):
    """The same path on PostgreSQL (row locks, NUL refused before the database, UTC round trips)."""
    stack, intake, sec = pg_stack, pg_stack.clients["intake"], pg_stack.secretariat_token()
    member = _browser(stack, "secretariat")
    test_a_member_creates_an_edition_in_its_time_zone_and_sees_it_listed(stack, member)
    call_id = re.search(rf'{BASE}/([0-9a-f-]{{36}})"', _text(member.get(BASE))).group(1)
    page = _text(member.get(f"{BASE}/{call_id}/terms"))
    assert _terms(_browser(stack, "admin"), call_id, theme="Theirs").status_code == 303
    r = member.post(f"{BASE}/{call_id}/terms", data={"csrf_token": member.csrf, "marker": _marker(page),
                                                     **{k: v for k, v in NEW.items() if k != "year"}})
    assert r.status_code == 409
    _, r = _confirm(member, f"{BASE}/{call_id}/open")
    assert r.status_code == 303
    test_a_nul_in_any_form_is_a_422_not_a_database_error(stack, intake, sec, _browser(stack, "admin"))
    test_an_exception_is_granted_by_address_or_reference_and_revoked_with_who(stack, intake, sec, member)
    test_the_ceremony_is_set_and_changed_in_its_own_time_zone(stack, intake, sec, member)


def test_who_created_opened_and_last_changed_an_edition_is_shown(stack, sec_browser):
    call_id = _create(sec_browser)
    admin = _browser(stack, "admin")
    assert _terms(admin, call_id, theme="Edited by the admin").status_code == 303
    assert _confirm(sec_browser, f"{BASE}/{call_id}/open")[1].status_code == 303
    who = re.search(r'<p class="hint" id="who">(.*?)</p>', _text(sec_browser.get(f"{BASE}/{call_id}")), re.S).group(1)
    name = sec_browser.who.split(" <")[0]
    assert f"Created by {name}" in who and f"Opened by {name}" in who and "Last changed by Admin Kim" in who


def test_the_secretariat_home_says_closed_once_an_edition_closed_early(stack, intake, sec, sec_browser):
    call = open_call(intake, sec, year=2040)
    assert intake.post(f"/api/calls/{call['id']}/close", headers=auth(sec), json={"reason": "x"}).status_code == 200
    row = re.search(rf'{call["id"]}".*?</tr>', _text(sec_browser.get("/secretariat")), re.S).group(0)
    assert '<td data-label="Call">closed</td>' in row
