"""The round's XLSX export survives what applicants and jurors typed: control characters that XML
1.0 cannot hold (openpyxl refuses them with IllegalCharacterError) are dropped from the cells, and
text a spreadsheet would run as a formula stays text even when a control character hid its "=".
Through the secretariat's API and the secretariat's page, on both stacks."""
from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from tests.review.test_review_pages import Review as Pages
from tests.review.test_review_secretariat import Review, open_round, screen_all

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Every character XML 1.0 refuses that a JSON string can carry (lone surrogates are refused at
# the door since issue 11, item 5), next to the controls it allows (tab, newline).
TITLE = "Bus\u0001 lanes\u000b for\u001f every\u0008one\ufffe\uffff\tnow"
TITLE_CLEAN = "Bus lanes for everyone\tnow"
SNEAKY = "\u0001=HYPERLINK(\"http://evil.example\",\"open\")"
COMMENT = "Strong\u0002 plan,\u0007 weak\u000c budget.\nSee annex\u001b."
COMMENT_CLEAN = "Strong plan, weak budget.\nSee annex."


@pytest.fixture(params=["embedded", "real"])
def settings(request):
    return request.getfixturevalue(f"{request.param}_settings")


@pytest.fixture
def review(settings):
    r = Review(settings)
    yield r
    r.stop()


def _round_with_dirty_text(review: Review) -> tuple[str, list[str]]:
    review.open_call()
    apps = [review.submit(TITLE, "KR", "Seoul Metropolitan Government", "lee@seoul.example.kr", "Seoul"),
            review.submit(SNEAKY, "PL", "Lublin City Office", "anna@lublin.example.eu", "Lublin")]
    juror = review.invite("Jonas Weber", "jonas@tum.example.de", "DE", "TU München")["id"]
    screen_all(review, {"A": apps[0], "B": apps[1]})
    rnd = open_round(review, jurors_per_application=1, advance_per_category=1, min_reviews=1)
    r = review.client.post(f"/api/rounds/{rnd['id']}/assign", headers=review.sec)
    assert r.status_code == 200, r.get_json()
    me = review.token("juror", juror)
    listing = review.client.get("/api/jury/assignments", headers=me).get_json()
    ids = [a["id"] for rd in listing["rounds"] for a in rd["assignments"]]
    assert len(ids) == 2, listing
    for assignment_id in ids:
        state = review.client.get(f"/api/jury/assignments/{assignment_id}", headers=me).get_json()
        r = review.client.patch(f"/api/jury/assignments/{assignment_id}", headers=me, json={
            "revision": state["revision"], "scores": {"problem": 7, "design": 6},
            "comments": {"problem": COMMENT, "design": SNEAKY}})
        assert r.status_code == 200, r.get_json()
        r = review.client.post(f"/api/jury/assignments/{assignment_id}/submit", headers=me)
        assert r.status_code == 200, r.get_json()
    return rnd["id"], apps


def _check_book(data: bytes) -> None:
    book = load_workbook(io.BytesIO(data))
    scores = list(book["Scores"].iter_rows(values_only=True))
    cols = {name: i for i, name in enumerate(scores[0])}
    titles = {row[cols["title"]] for row in scores[1:]}
    comments = [row[cols["comment"]] for row in scores[1:]]
    assert titles == {TITLE_CLEAN, "'" + SNEAKY[1:]}, titles
    assert sorted(set(comments)) == sorted({COMMENT_CLEAN, "'" + SNEAKY[1:]}), comments
    standings = list(book["Standings"].iter_rows(values_only=True))
    title_col = standings[0].index("title")
    assert {row[title_col] for row in standings[1:]} == {TITLE_CLEAN, "'" + SNEAKY[1:]}
    # nothing became a formula: every cell is a plain value
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)


def test_xlsx_export_drops_characters_xml_cannot_hold(review):
    round_id, _apps = _round_with_dirty_text(review)

    r = review.client.get(f"/api/rounds/{round_id}/export.xlsx", headers=review.sec)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    assert r.mimetype == XLSX
    _check_book(r.get_data())

    office = Pages(review.stack.apps["review"]).secretariat_browser()
    r = office.get(f"/secretariat/rounds/{round_id}/export.xlsx")
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    _check_book(r.get_data())

    # the CSV keeps the text as typed (CSV can carry it), formulas still guarded
    r = review.client.get(f"/api/rounds/{round_id}/export.csv", headers=review.sec)
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    cols = {name: i for i, name in enumerate(rows[0])}
    assert {row[cols["title"]] for row in rows[1:rows.index([])]} == {TITLE, "'" + SNEAKY}
