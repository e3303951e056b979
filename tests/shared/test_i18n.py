"""Languages of the applicants' and jurors' pages (shared.i18n): the catalogues are complete and
current, a language switch is on every page and is remembered, and staff read English."""
from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from shared import i18n
from tests.support.stack import KAOHSIUNG, open_signin_link, register, signin_events

ROOT = Path(__file__).resolve().parents[2]


def _extracted() -> set:
    """The English messages the code and templates use now, as `make messages` extracts them."""
    import configparser
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "babel.cfg")
    method_map = [(section.split(":", 1)[1].strip(), section.split(":", 1)[0].strip()) for section in cfg.sections()]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), method_map, keywords=keywords):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def test_the_template_holds_every_message_the_pages_use_and_no_other():
    with (ROOT / "shared/locales/messages.pot").open("rb") as fh:
        template = {m.id for m in read_po(fh) if m.id}
    used = _extracted()
    assert used - template == set(), "run `make messages`: these messages are not in the template"
    assert template - used == set(), "run `make messages`: the template holds messages no page uses"


def test_every_catalogue_translates_every_message_of_the_english_template():
    languages = i18n.catalogue_languages()
    assert {"ko", "pt"} <= set(languages)
    for language in languages:
        assert i18n.missing_messages(language) == [], f"{language}: untranslated messages"
    assert i18n.offered_languages() == ("en", *[lang for lang in languages if lang != "en"])


def test_a_catalogue_lacking_a_message_is_not_offered(tmp_path, monkeypatch):
    (tmp_path / "ko" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "messages.pot").write_text('msgid "Language"\nmsgstr ""\n\nmsgid "Change"\nmsgstr ""\n')
    (tmp_path / "ko" / "LC_MESSAGES" / "messages.po").write_text('msgid "Language"\nmsgstr "언어"\n')
    monkeypatch.setattr(i18n, "LOCALES", tmp_path)
    monkeypatch.setattr(i18n, "TEMPLATE", tmp_path / "messages.pot")
    for cached in (i18n._catalogue, i18n.offered_languages):
        cached.cache_clear()
    try:
        assert i18n.missing_messages("ko") == ["Change"]
        assert i18n.offered_languages() == ("en",)
    finally:
        monkeypatch.undo()
        for cached in (i18n._catalogue, i18n.offered_languages):
            cached.cache_clear()


def test_names_and_direction_of_languages():
    assert i18n.language_name("ko") == "한국어"
    assert i18n.language_name("pt") == "Português"
    assert i18n.text_direction("ar") == "rtl" and i18n.text_direction("ko") == "ltr"


def test_an_anonymous_visitor_reads_their_browsers_language_until_they_switch(stack):
    client = stack.apps["intake"].test_client()
    page = client.get("/register", headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="ko" dir="ltr">' in page and "본문 바로가기" in page
    assert client.get("/register", headers={"Accept-Language": "pl"}).get_data(as_text=True).count('lang="en"') >= 1
    token = client.get_cookie("prize_csrf") or None
    csrf = token.value if token else ""
    moved = client.post("/language", data={"language": "pt", "next": "/register", "csrf_token": csrf})
    assert moved.status_code == 303 and moved.headers["Location"].endswith("/register")
    page = client.get("/register", headers={"Accept-Language": "ko"}).get_data(as_text=True)
    assert '<html lang="pt"' in page and "Pular para o conteúdo" in page


def test_the_switch_refuses_a_language_without_a_catalogue_and_a_foreign_next(stack):
    client = stack.apps["intake"].test_client()
    client.get("/register")
    csrf = client.get_cookie("prize_csrf").value
    assert client.post("/language", data={"language": "pl", "csrf_token": csrf}).status_code == 400
    assert client.post("/language", data={"language": "ko", "csrf_token": "forged"}).status_code == 403
    away = client.post("/language", data={"language": "ko", "next": "//evil.example/x", "csrf_token": csrf})
    assert away.headers["Location"].endswith("/") and "evil" not in away.headers["Location"]


def test_a_signed_in_applicants_switch_becomes_their_language(stack):
    intake = stack.clients["intake"]
    applicant, _ = register(intake)
    client = stack.apps["intake"].test_client()
    assert client.post("/api/signin", json={"email": KAOHSIUNG["contact_email"], "purpose": "browser"}).status_code == 202
    from urllib.parse import urlparse
    assert open_signin_link(client, urlparse(signin_events(client, KAOHSIUNG["contact_email"])[-1]["url"]).path).status_code == 303
    page = client.get("/portal").get_data(as_text=True)
    assert '<html lang="en"' in page
    import re
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/language", data={"language": "ko", "next": "/portal", "csrf_token": csrf}).status_code == 303
    # the applicant's own record now says Korean (emails follow it), whatever the browser asks
    from services.intake.models import Applicant
    with stack.apps["intake"].extensions["prize"]["db"].session() as s:
        assert s.get(Applicant, applicant["id"]).language == "ko"
    page = client.get("/portal", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="ko"' in page


def test_staff_pages_stay_in_english_whatever_the_browser_asks(stack):
    client = stack.apps["intake"].test_client()
    page = client.get("/secretariat/signin", headers={"Accept-Language": "ko"}).get_data(as_text=True)
    assert '<html lang="en"' in page and 'lang="ko"' not in page
