"""The portal's entry pages in the applicant's language (Flask client): home, registration,
sign-in, dashboard and profile in Korean; countries from a list named in the page's language,
with the WeGO region kept; form errors said as a person says them, summed up at the top of the
form with links to the fields; only languages with a complete catalogue offered and accepted."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from services.intake.models import Applicant, signin_tables
from services.intake.ops import regions
from shared import i18n
from shared.events.common import LANGUAGES
from shared.migrations import upgrade
from tests.support.stack import (KAOHSIUNG, auth, open_call, open_signin_link, register, signin_events,
                                 start_draft)

KO = {"Accept-Language": "ko-KR,ko;q=0.9"}
EMAIL = KAOHSIUNG["contact_email"]
VALIDATOR_WORDS = ("Length must be", "Missing data", "Not a valid", "Must be one of", "must be an ISO")


def _html(response) -> str:
    return response.get_data(as_text=True)


def _csrf(client, path: str, **kwargs) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', _html(client.get(path, **kwargs))).group(1)


def _applicant(stack, email: str = EMAIL) -> Applicant:
    with stack.apps["intake"].extensions["prize"]["db"].session() as s:
        return s.scalars(select(Applicant).where(Applicant.contact_email == email)).one()


def _signed_in(stack, email: str = EMAIL):
    client = stack.apps["intake"].test_client()
    assert client.post("/api/signin", json={"email": email, "purpose": "browser"}).status_code == 202
    assert open_signin_link(client, urlparse(signin_events(client, email)[-1]["url"]).path).status_code == 303
    return client


def _options(html: str, select_id: str) -> list[tuple[str, str]]:
    block = re.search(rf'<select id="{select_id}".*?</select>', html, re.S).group(0)
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', block)


def _form(html: str) -> str:
    return re.search(r"<form method=\"post\"[^>]*class=\"card\".*?</form>", html, re.S).group(0)


# --- a Korean visitor ---------------------------------------------------------------------------

def test_a_korean_visitor_reads_home_register_and_signin_in_korean(stack, intake, sec):
    open_call(intake, sec, closes_at="2099-07-14T18:00:00+09:00")
    client = stack.apps["intake"].test_client()
    home = _html(client.get("/", headers=KO))
    assert '<html lang="ko" dir="ltr">' in home
    assert "<title>신청하기 · 서울스마트시티상</title>" in home
    assert "신청 마감: <strong>2099. 7. 14. 오후 6:00:00</strong> (Asia/Seoul)" in home  # the call's zone, Korean style
    assert ">신청자 등록</a>" in home and ">이미 등록했습니다: 로그인</a>" in home

    page = _html(client.get("/register", headers=KO))
    assert '<html lang="ko"' in page and "<h1>신청자 등록</h1>" in page
    assert "기관은 한 번만 등록하면 됩니다." in page and "Register your organisation" not in page
    assert '<label for="country">국가</label>' in page
    assert ">등록하고 로그인 링크 받기</button>" in page

    for path, sentence in (("/signin", "비밀번호는 없습니다. 15분 안에 한 번 로그인할 수 있는 링크를 이메일로 보내 드립니다."),
                           ("/signin/" + "x" * 43, "유효하지 않은 로그인 링크입니다.")):
        r = client.get(path, headers=KO)
        assert '<html lang="ko"' in _html(r) and sentence in _html(r), path
    sent = client.post("/signin", headers=KO, data={"email": "nobody@nowhere.example",
                                                    "csrf_token": _csrf(client, "/signin", headers=KO)})
    assert sent.status_code == 202
    assert "등록된 신청자의 주소라면 로그인 안내 메일이 발송되었습니다." in _html(sent)
    wrong = client.post("/signin", headers=KO, data={"email": "no-at-sign", "csrf_token": _csrf(client, "/signin")})
    assert wrong.status_code == 422 and "name@city.gov와 같은 형식으로" in _html(wrong)


def test_sign_in_refusals_are_said_in_korean(stack, intake):
    register(intake)
    client = stack.apps["intake"].test_client()
    link = urlparse(signin_events(intake, EMAIL)[0]["url"]).path  # the registration's browser link
    with stack.apps["intake"].extensions["prize"]["db"].session() as s, s.begin():
        s.execute(sa.update(signin_tables.links).values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    expired = client.get(link, headers=KO)
    assert expired.status_code == 410
    assert "로그인 링크의 유효 시간이 지났습니다. 링크는 15분 동안만 유효합니다." in _html(expired)
    token = _csrf(client, "/signin", headers=KO)
    answers = [client.post("/signin", headers=KO, data={"email": EMAIL, "csrf_token": token}) for _ in range(5)]
    assert [r.status_code for r in answers][-1] == 429  # 5 links an address in 15 minutes, registration's included
    assert "이 주소로 들어온 로그인 요청이 너무 많습니다. 15분 후에 다시 시도해 주세요." in _html(answers[-1])
    form = {**KAOHSIUNG, "csrf_token": token}
    again = client.post("/register", headers=KO, data=form)
    assert again.status_code == 429 and "15분 후에 다시 시도해 주세요." in _html(again)


def test_the_api_stays_english_for_a_korean_browser(intake):
    r = intake.post("/api/signin", headers=KO, json={"email": "nobody@nowhere.example"})
    assert r.get_json()["message"].startswith("If this address belongs to a registered applicant")


def test_the_country_select_names_countries_in_the_pages_language(stack):
    client = stack.apps["intake"].test_client()
    korean = _options(_html(client.get("/register", headers=KO)), "country")
    assert korean[0] == ("", "국가를 선택하세요")
    names = dict(korean[1:])
    assert (names["KR"], names["TW"], names["BR"], names["PL"]) == ("대한민국", "대만", "브라질", "폴란드")
    assert [name for _, name in korean[1:]] == sorted(name for _, name in korean[1:])  # 가나다 order
    assert set(names) == regions.country_codes() and len(names) == 249
    english = dict(_options(_html(client.get("/register", headers={"Accept-Language": "en"})), "country")[1:])
    assert english["KR"] == "South Korea"


def test_the_country_list_is_iso_3166_sorted_by_the_local_name():
    codes = regions.country_codes()
    assert {"KR", "TW", "AQ", "BV"} <= codes
    assert not codes & {"EU", "UN", "ZZ", "XK", "EA", "IC", "QO", "419", "001"}
    portuguese = [name for _, name in regions.country_choices("pt")]
    # accents sort with their letter, not after z
    assert portuguese.index("Austrália") < portuguese.index("Áustria") < portuguese.index("Azerbaijão")
    assert portuguese[-1] == "Zimbábue"


def test_the_registration_language_select_offers_only_translated_languages(stack):
    client = stack.apps["intake"].test_client()
    page = _html(client.get("/register", headers=KO))
    assert _options(page, "language") == [("en", "English"), ("ko", "한국어"), ("pt", "Português")]
    assert '<option value="ko" lang="ko" selected>' in page  # the page's language by default
    page = _html(client.get("/register", headers={"Accept-Language": "pt-BR"}))
    assert '<option value="pt" lang="pt" selected>' in page


# --- registration: the region kept, human errors ---------------------------------------------------

def test_registration_on_the_page_keeps_the_countrys_region(stack):
    client = stack.apps["intake"].test_client()
    form = {**{k: v for k, v in KAOHSIUNG.items()}, "language": "ko", "csrf_token": _csrf(client, "/register")}
    r = client.post("/register", headers=KO, data=form)
    assert r.status_code == 202
    assert f"{EMAIL} 받은편지함을 확인해 주세요." in _html(r)
    row = _applicant(stack)
    assert (row.country, row.region, row.language) == ("TW", "asia_pacific", "ko")


def test_the_api_keeps_the_region_and_shows_it(stack, intake):
    applicant, token = register(intake, country="BR", contact_email="ana@guarulhos.example.br")
    assert applicant["region"] == "latin_america"
    assert _applicant(stack, "ana@guarulhos.example.br").region == "latin_america"


def test_a_wrong_registration_says_what_to_do_in_korean_with_a_summary_linking_to_the_fields(stack):
    client = stack.apps["intake"].test_client()
    form = {**KAOHSIUNG, "organisation": "", "contact_email": "mei.lin-at-kcg", "country": "", "city": "x" * 201,
            "csrf_token": _csrf(client, "/register", headers=KO)}
    r = client.post("/register", headers=KO, data=form)
    assert r.status_code == 422
    html = _html(r)
    expected = {"organisation": "기관명을 입력해 주세요.", "country": "국가를 선택해 주세요.",
                "city": "200자 이내로 줄여 주세요.",
                "contact_email": "name@city.gov와 같은 형식의 이메일 주소를 입력해 주세요."}
    for field, sentence in expected.items():
        assert f'<p class="flash error" id="{field}-error">{sentence}</p>' in html, field
        assert f'aria-describedby="{field}-error" aria-invalid="true"' in html, field
    assert not any(words in html for words in VALIDATOR_WORDS)
    # the summary: first in the form, an alert that takes focus, a link to each field in form order
    form_html = _form(html)
    summary = re.search(r'<div class="flash error" id="error-summary"[^>]*>.*?</div>', form_html, re.S).group(0)
    assert form_html.index('id="error-summary"') < form_html.index("<input")
    assert 'role="alert"' in summary and 'tabindex="-1"' in summary and "data-error-summary" in summary
    assert "4개 항목을 고쳐 주세요" in summary
    assert re.findall(r'<li><a href="#([a-z_]+)">([^<]+)</a></li>', summary) == [
        (field, expected[field]) for field in ("organisation", "country", "city", "contact_email")]
    for field in expected:
        assert f'id="{field}"' in html  # each link has its target
    assert '<script src="/static/portal/form-errors.js" defer></script>' in html
    assert _html(client.get("/static/portal/form-errors.js")).count("focus()") == 1
    assert 'value="mei.lin-at-kcg"' in html  # what was typed is shown back


def test_the_same_mistakes_in_english_read_as_sentences(stack):
    client = stack.apps["intake"].test_client()
    english = {"Accept-Language": "en"}
    form = {**KAOHSIUNG, "organisation": " ", "contact_email": "mei.lin-at-kcg", "secondary_email": EMAIL,
            "csrf_token": _csrf(client, "/register", headers=english)}
    html = _html(client.post("/register", headers=english, data=form))
    assert "Please give your organisation&#39;s name." in html
    assert "Please give an email address like name@city.gov." in html
    assert "Please correct 2 fields" in html
    form.update(contact_email=EMAIL, organisation="Kaohsiung")
    html = _html(client.post("/register", headers=english, data=form))
    assert "Please give a second email address that differs from the contact email." in html
    assert not any(words in html for words in VALIDATOR_WORDS)


def test_a_page_without_errors_has_no_summary(stack):
    html = _html(stack.apps["intake"].test_client().get("/register"))
    assert "error-summary" not in html and "aria-invalid" not in html


# --- signed in: dashboard and profile -----------------------------------------------------------

def test_a_korean_applicant_reads_dashboard_and_profile_in_korean(stack, intake, sec):
    call = open_call(intake, sec)
    _, token = register(intake, language="ko")
    start_draft(intake, token, call["id"])
    browser = _signed_in(stack)
    dashboard = _html(browser.get("/portal", headers={"Accept-Language": "en"}))  # their own language wins
    assert '<html lang="ko"' in dashboard and "<h1>내 신청서</h1>" in dashboard
    assert "<strong>작성 중</strong>" in dashboard and ">이어서 작성하기</a>" in dashboard
    assert ">로그아웃</button>" in dashboard

    profile = _html(browser.get("/portal/profile"))
    assert "<h1>내 정보</h1>" in profile
    assert "<dd>대만</dd>" in profile and "<dd>시·지방정부</dd>" in profile  # the country by its Korean name
    assert _options(profile, "language") == [("en", "English"), ("ko", "한국어"), ("pt", "Português")]
    assert '<option value="ko" lang="ko" selected>' in profile

    form = {"organisation": "", "city": "고웅", "contact_name": "Lin Mei-hua", "secondary_name": "",
            "secondary_email": "chen@", "language": "ko", "csrf_token": _csrf(browser, "/portal/profile")}
    r = browser.post("/portal/profile", data=form)
    assert r.status_code == 422
    html = _html(r)
    assert re.findall(r'<li><a href="#([a-z_]+)">([^<]+)</a></li>', html) == [
        ("organisation", "기관명을 입력해 주세요."),
        ("secondary_email", "name@city.gov와 같은 형식의 이메일 주소를 입력해 주세요.")]
    assert "아무것도 저장되지 않았습니다." in html and not any(words in html for words in VALIDATOR_WORDS)
    form.update(organisation="高雄市政府", secondary_email="")
    r = browser.post("/portal/profile", data=form)
    assert r.status_code == 302
    assert "저장되었습니다. 앞으로 보내는 이메일에는 이 정보가 사용됩니다." in _html(browser.get("/portal/profile"))


# --- languages: only those offered ---------------------------------------------------------------

OFFERED = "en (English), ko (한국어), pt (Português)"


@pytest.mark.parametrize("language", ["pl", "es", "zh"])
def test_registering_in_a_language_without_a_catalogue_is_refused_saying_which_are_offered(intake, language):
    r = intake.post("/api/applicants", json={**KAOHSIUNG, "language": language})
    assert r.status_code == 422
    [message] = r.get_json()["errors"]["json"]["language"]
    assert message == (f"{language} is not offered: the portal has no complete translation into it; "
                       f"the languages offered are {OFFERED}")


def test_changing_ones_language_to_one_without_a_catalogue_is_refused(intake):
    _, token = register(intake)
    r = intake.patch("/api/applicants/me", headers=auth(token), json={"language": "pl"})
    assert r.status_code == 422
    assert OFFERED in r.get_json()["errors"]["json"]["language"][0]
    assert intake.patch("/api/applicants/me", headers=auth(token), json={"language": "pt"}).status_code == 200


@pytest.mark.parametrize("country", ["ZZ", "EU", "XX", "kr", "KOR"])
def test_an_unknown_country_code_is_a_422_naming_the_field(intake, country):
    r = intake.post("/api/applicants", json={**KAOHSIUNG, "country": country})
    assert r.status_code == 422
    assert list(r.get_json()["errors"]["json"]) == ["country"]


def test_the_event_contracts_accept_every_offered_language():
    assert set(i18n.offered_languages()) <= set(LANGUAGES)


def test_the_openapi_document_lists_the_countries_and_languages(intake):
    spec = intake.get("/openapi.json").get_json()
    properties = spec["components"]["schemas"]["ApplicantCreate"]["properties"]
    assert properties["language"]["enum"] == list(i18n.offered_languages())
    assert len(properties["country"]["enum"]) == 249
    assert "region" in spec["components"]["schemas"]["ApplicantOut"]["properties"]


# --- the migration fills the region of the applicants registered before it ----------------------

def test_migration_0010_gives_existing_applicants_the_region_of_their_country(tmp_path):
    url = f"sqlite:///{tmp_path / 'intake.sqlite'}"
    upgrade("intake", url, "0009")
    engine = sa.create_engine(url)
    rows = [("a", "TW"), ("b", "BR"), ("c", "PL"), ("d", "ZZ"), ("e", "ng")]
    with engine.begin() as conn:
        for key, country in rows:
            conn.execute(sa.text(
                "INSERT INTO applicants (id, type, organisation, country, city, contact_name, contact_email, "
                "language, created_at) VALUES (:id, 'city_government', 'Org', :country, 'City', 'Name', :email, "
                "'en', '2026-01-01 00:00:00')"), {"id": key, "country": country, "email": f"{key}@x.example"})
    upgrade("intake", url)
    with engine.connect() as conn:
        found = dict(conn.execute(sa.text("SELECT id, region FROM applicants")).all())
    engine.dispose()
    assert found == {"a": "asia_pacific", "b": "latin_america", "c": "europe", "d": "other", "e": "africa"}
