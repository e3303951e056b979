"""The jurors' pages in the juror's language (shared.i18n, pages/jury_text.py): a Korean juror reads
their assignments, the application and the scoring form in Korean and scores in Korean; the desk's
refusals are said in Korean on the page while the API keeps its English; the language switch
becomes the juror's language (their emails follow it); the secretariat's pages stay English."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from urllib.parse import urlparse

import pytest
from sqlalchemy import select

from services.review.models import Juror, outbox
from services.review.ops import jurors
from shared.auth import issue_token
from tests.review.test_review_pages import SECRETARIAT, Review, _score_and_submit, confirm_form, csrf_of, form_fields
from tests.support.stack import Stack, open_signin_link

HANGUL = re.compile("[\uac00-\ud7a3]")


@pytest.fixture
def review(embedded_settings):
    stack = Stack(embedded_settings, services=("review",))
    yield Review(stack.apps["review"])
    stack.stop()


def invite(review: Review, name: str, email: str, country: str, language: str) -> str:
    with review.app.app_context(), review.db.session() as s, s.begin():
        return jurors.invite_juror(s, {"name": name, "email": email, "country": country, "language": language,
                                       "organisation": "Independent", "expertise": ["tech_innovacity"]},
                                   SECRETARIAT, datetime.now(timezone.utc)).id


@pytest.fixture
def scene(review):
    """One application from Kaohsiung; Kim (KR, Korean) assigned to it, Ana (BR, English) not."""
    call_id = review.open_call()
    app_id = review.submit(call_id)
    kim = invite(review, "Kim Ji-woo", "jiwoo.kim@seoul.example.kr", "KR", "ko")
    review.screen_all(call_id)
    round_id = review.open_round(call_id, jurors_per_application=1, advance_per_category=1, min_reviews=1)
    review.assign(round_id)
    ana = invite(review, "Ana Souza", "ana@guarulhos.example.br", "BR", "en")
    return {"call": call_id, "app": app_id, "round": round_id, "kim": kim, "ana": ana}


def text_of(page: str) -> str:
    """What a person reads: the page without its tags, scripts or attribute values."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_a_korean_juror_reads_their_assignments_in_korean(review, scene):
    kim = review.juror_browser(scene["kim"])
    page = kim.get("/jury", headers={"Accept-Language": "en"}).get_data(as_text=True)  # their language, not the browser's
    assert '<html lang="ko" dir="ltr">' in page
    words = text_of(page)
    for korean in ("나의 심사 배정", "심사위원 초청", "1건 중 0건 평가 완료", "결선 진출작 선정", "테크-이노바시티",
                   "평가 전", "로그아웃", "본문 바로가기"):
        assert korean in words, korean
    assert re.search(r"마감 \d{4}년 \d{1,2}월 \d{1,2}일", words)  # the due date written the Korean way
    for english in ("My assignments", "scored", "Selection of finalists", "To do", "Sign out", "due "):
        assert english not in words, english
    assert "Hydrogen buses for the harbour" in words  # what the applicant wrote stays as written


def test_a_korean_juror_reads_the_application_and_the_scoring_form_in_korean(review, scene):
    kim = review.juror_browser(scene["kim"])
    page = kim.get(f"/jury/applications/{scene['app']}").get_data(as_text=True)
    assert '<html lang="ko"' in page
    words = text_of(page)
    for korean in ("요약", "제출 서류", "신청 주체", "지방정부", "신청서 양식", "결선 진출작 선정: 나의 점수",
                   "각 기준에 0에서 10 사이의 점수와 의견을 입력하십시오.", "평가 관점", "가중치 1", "저장", "점수 제출",
                   "이해충돌 신고"):
        assert korean in words, korean
    assert re.search(r"\d{4}년 \d{1,2}월 \d{1,2}일 제출", words)
    # the criteria and their guidance are the call's data: as the call gives them
    assert "Problem recognition and innovation" in words and "Citizens took part in identifying it" in words
    for english in ("Summary", "Documents", "What to look for", "Submit scores", "Save ", "Comment", "Weight"):
        assert english not in words, english
    # each score and comment box has its own label, naming its criterion
    for key, title in (("problem", "Problem recognition and innovation"), ("design", "Project design")):
        assert re.search(rf'<label for="score-{key}"><span class="visually-hidden">{title}: </span>점수 \(0–10\)</label>',
                         page), key
        assert re.search(rf'<label for="comment-{key}"><span class="visually-hidden">{title}: </span>의견</label>', page)
    # what review.js writes while it autosaves comes in Korean too
    assert 'data-text-saving="저장 중…"' in page and "data-text-saved=\"{time} 저장됨" in page


def test_a_korean_juror_scores_in_korean(review, scene):
    kim = review.juror_browser(scene["kim"])
    path = f"/jury/applications/{scene['app']}"
    fields = form_fields(kim.get(path).get_data(as_text=True))
    r = kim.post(path + "/scores", data={**fields, "action": "submit", "score-problem": "8", "comment-problem": "명확함."})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "제출되지 않았습니다: 제출하기 전에 모든 기준에 점수와 의견을 입력해야 합니다." in page
    # the error summary lists each problem with a link to its field, and takes focus (error-summary.js)
    summary = page[page.index('id="error-summary"'):page.index("</div>", page.index('id="error-summary"'))]
    assert 'tabindex="-1"' in summary and "다음 항목을 확인하십시오" in summary
    assert '<a href="#score-design">Project design, 점수: 점수를 입력하십시오.</a>' in summary
    assert '<a href="#comment-design">Project design, 의견: 의견을 작성하십시오.</a>' in summary
    assert 'id="comment-error-design">의견을 작성하십시오.</p>' in page and "error-summary.js" in page
    fields = form_fields(kim.get(path).get_data(as_text=True))
    r = kim.post(path + "/scores", data={**fields, "action": "submit", "score-problem": "8", "comment-problem": "명확함.",
                                         "score-design": "6.5", "comment-design": "타당하나 비용이 큼."})
    assert r.status_code == 303 and r.headers["Location"] == "/jury"
    words = text_of(kim.get("/jury").get_data(as_text=True))
    assert "점수를 제출했습니다. 감사합니다." in words and "1건 중 1건 평가 완료" in words and "제출 완료" in words


def test_a_refusal_is_said_in_korean_on_the_page_and_in_english_by_the_api(review, scene):
    kim = review.juror_browser(scene["kim"])
    path = f"/jury/applications/{scene['app']}"
    fields = form_fields(kim.get(path).get_data(as_text=True))
    # a score off the scale, autosaved by the page's script: the page's answer speaks Korean
    r = kim.post(path + "/scores", data={**fields, "score-problem": "11"}, headers={"Accept": "application/json"})
    assert r.status_code == 422
    assert r.get_json()["message"] == "일부 점수나 의견을 저장할 수 없습니다. 각 항목 옆의 안내를 확인하십시오."
    assert r.get_json()["errors"]["scores"]["problem"] == ["0에서 10 사이의 점수를 입력하십시오."]
    # the same save through the API: English, word for word the desk's
    api = review.app.test_client()
    bearer = {"Authorization": "Bearer " + issue_token(review.secret, "juror", scene["kim"]),
              "Accept-Language": "ko"}
    r = api.patch(f"/api/jury/assignments/{fields['assignment_id']}", headers=bearer,
                  json={"scores": {"problem": 11}, "revision": int(fields["revision"])})
    assert r.status_code == 422
    assert r.get_json()["message"] == "some scores or comments cannot be saved (see errors)"
    assert r.get_json()["errors"]["json"]["scores"]["problem"] == ["must be between 0 and 10"]
    assert not HANGUL.search(r.get_data(as_text=True))
    # the round closes: the page says so in Korean, the API in English
    _score_and_submit(kim, scene["app"])
    office = review.secretariat_browser()
    preview = office.get(f"/secretariat/rounds/{scene['round']}/close").get_data(as_text=True)
    assert office.post(f"/secretariat/rounds/{scene['round']}/close",
                       data=confirm_form(preview, "confirm-close")).status_code == 303
    page = kim.get(path).get_data(as_text=True)
    assert "이 라운드는 마감되었습니다. 점수를 더 이상 바꿀 수 없습니다." in page
    r = kim.post(path + "/scores", data={**form_fields(page), "score-problem": "2"})
    assert r.status_code == 409
    assert "저장되지 않았습니다: 결선 진출작 선정 라운드가 마감되어 점수를 더 이상 바꿀 수 없습니다." in r.get_data(as_text=True)
    r = api.patch(f"/api/jury/assignments/{fields['assignment_id']}", headers=bearer,
                  json={"scores": {"problem": 2}, "revision": int(form_fields(page)["revision"])})
    assert r.status_code == 409 and r.get_json()["message"] == "the finalist round is closed; its scores are locked"


def test_a_korean_juror_declares_a_conflict_and_declines_in_korean(review, scene):
    kim = review.juror_browser(scene["kim"])
    path = f"/jury/applications/{scene['app']}/conflict"
    page = kim.get(path).get_data(as_text=True)
    assert "이해충돌 사유" in text_of(page)
    r = kim.post(path, data={"csrf_token": csrf_of(page), "reason": " "})
    assert r.status_code == 422
    refused = r.get_data(as_text=True)
    assert '<a href="#reason">이해충돌 사유를 적어 주십시오.</a>' in refused and 'aria-invalid="true"' in refused
    home = kim.get("/jury").get_data(as_text=True)
    r = kim.post("/jury/invitation", data={"csrf_token": csrf_of(home), "answer": "decline", "reason": ""})
    assert r.status_code == 422 and "거절 사유를 사무국에 알려 주십시오." in r.get_data(as_text=True)
    r = kim.post(path, data={"csrf_token": csrf_of(page), "reason": "신청 기관의 자문을 맡았습니다."})
    assert r.status_code == 303
    words = text_of(kim.get("/jury").get_data(as_text=True))
    assert "이해충돌을 신고했습니다." in words and "아직 배정된 신청서가 없습니다." in words
    missing = kim.get(f"/jury/applications/{scene['app']}")
    assert missing.status_code == 404 and "찾을 수 없습니다" in missing.get_data(as_text=True)


def test_a_signed_in_jurors_switch_becomes_their_language_and_their_emails_follow(review, scene):
    ana = review.juror_browser(scene["ana"])
    page = ana.get("/jury").get_data(as_text=True)
    assert '<html lang="en"' in page and "Nothing is assigned to you yet." in page
    r = ana.post("/language", data={"language": "ko", "next": "/jury", "csrf_token": csrf_of(page)})
    assert r.status_code == 303 and r.headers["Location"].endswith("/jury")
    with review.db.session() as s:
        assert s.get(Juror, scene["ana"]).language == "ko"
    page = ana.get("/jury", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="ko"' in page and "아직 배정된 신청서가 없습니다." in page
    # her next sign-in email is written in Korean: the event that asks notify for it says so
    assert review.app.test_client().post("/api/signin", json={"email": "ana@guarulhos.example.br",
                                                              "purpose": "browser"}).status_code == 202
    with review.db.engine.connect() as conn:
        bodies = conn.execute(select(outbox.c.body).where(outbox.c.type == "signin.requested")).scalars().all()
    asked = [json.loads(b)["data"] for b in bodies]
    assert [d["language"] for d in asked if d["juror_id"] == scene["ana"]] == ["ko"]
    # and back to Portuguese, then English: each time her own language
    ana.post("/language", data={"language": "pt", "next": "/jury", "csrf_token": csrf_of(page)})
    assert "Ainda não há nada atribuído a você." in ana.get("/jury").get_data(as_text=True)
    assert ana.post("/language", data={"language": "xx", "csrf_token": csrf_of(page)}).status_code == 400
    with review.db.session() as s:
        assert s.get(Juror, scene["ana"]).language == "pt"


def test_the_sign_in_pages_speak_the_visitors_language_and_the_api_english(review, scene):
    client = review.app.test_client()
    korean = {"Accept-Language": "ko-KR,ko;q=0.9"}
    page = client.get("/signin", headers=korean).get_data(as_text=True)
    assert '<html lang="ko"' in page and "초청받은 이메일 주소" in page and "로그인 링크를 이메일로 받기" in page
    r = client.post("/signin", data={"csrf_token": csrf_of(page), "email": "nobody"}, headers=korean)
    assert r.status_code == 422 and "초청받은 이메일 주소를 입력하십시오." in r.get_data(as_text=True)
    r = client.post("/signin", data={"csrf_token": csrf_of(page), "email": "jiwoo.kim@seoul.example.kr"},
                    headers=korean)
    assert r.status_code == 202 and "15분 안에 한 번만 사용할 수 있습니다" in r.get_data(as_text=True)
    r = client.post("/api/signin", json={"email": "jiwoo.kim@seoul.example.kr", "purpose": "browser"}, headers=korean)
    assert r.status_code == 202 and r.get_json()["message"].startswith("If this address belongs to an invited juror")
    # a spent link: its page in Korean, the API's refusal in English
    link = urlparse(review.invitation_path(scene["kim"])).path
    assert open_signin_link(client, link, headers=korean).status_code == 303
    spent = review.app.test_client().get(link, headers=korean)
    assert spent.status_code == 410 and "이미 사용된 로그인 링크입니다." in spent.get_data(as_text=True)
    r = client.post("/api/signin/token", json={"token": "not-a-code"}, headers=korean)
    assert r.status_code == 400 and not HANGUL.search(r.get_data(as_text=True))


def test_the_secretariat_pages_stay_english_for_a_browser_asking_korean(review, scene):
    office = review.secretariat_browser()
    office.set_cookie("prize_lang", "ko")
    korean = {"Accept-Language": "ko-KR,ko;q=0.9"}
    for path in ("/secretariat", f"/secretariat/rounds/{scene['round']}/close", "/secretariat/jurors",
                 f"/secretariat/jurors/{scene['kim']}"):
        r = office.get(path, headers=korean)
        page = r.get_data(as_text=True)
        assert '<html lang="en"' in page and 'lang="ko"' not in page, path
        assert not HANGUL.search(text_of(page)), path
    page = office.get("/secretariat", headers=korean).get_data(as_text=True)
    assert "Selection of finalists" in page  # the round's name, lazily translated, reads English here
    # a juror who opens a secretariat page reads its refusal in English too
    r = review.juror_browser(scene["kim"]).get("/secretariat", headers=korean)
    assert r.status_code == 403 and '<html lang="en"' in r.get_data(as_text=True)
