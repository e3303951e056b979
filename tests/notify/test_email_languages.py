"""The language of every email (issue 15): a person reads every email in the language they chose
when notify has all of them in it, else every email in English, never a mix, and the fallback is
logged with what is missing. Every language the pages offer has every email, so adding a
language to the pages without its emails fails here. Dates are written each language's way
(Babel), the same as before in English and Korean. The secretariat previews and edits the
Portuguese templates like the others, and a group email says who reads English for want of
wording in their language.

No mocks: the emails go from the events through notify's worker to a real SMTP server (aiosmtpd)
on PostgreSQL and RabbitMQ, and the pages are notify's own."""
from __future__ import annotations

import logging
import shutil
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from services.notify.models import Delivery
from services.notify.ops import languages, messages, templates
from services.notify.samples import SAMPLES
from shared import i18n
from shared.events import make_event
from tests.notify.test_notify_decisions import (Mailbox, decided, publish, released, screened, stack,  # noqa: F401
                                                submitted)
from tests.notify.test_notify_outbox_page import csrf_of, sign_in
from tests.notify.test_template_catalogue import browser_of, field, form_of, notify  # noqa: F401 (fixture)
from tests.support.stack import wait_until

PRIZE = "Prêmio Cidade Inteligente de Seul"
ENGLISH_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                  "October", "November", "December")


# --- which languages are complete ------------------------------------------------------------------

def test_every_language_the_pages_offer_has_every_email():
    """A language offered on the portal and the jury pages must have every email (text and HTML)
    and its words in ops/languages.py; else its people would read the pages in it and the emails
    in English."""
    for language in i18n.offered_languages():
        assert templates.missing_emails(language) == [], f"{language} is offered on the pages but lacks these emails"
        assert language in templates.complete_languages()
    assert {"en", "ko", "pt"} <= set(templates.complete_languages())
    people = templates.translated_templates()
    assert "delivery_failed_alert" not in people and {"submission_ack", "signin_link", "juror_invited"} <= set(people)
    for name in people:
        assert {"en", "ko", "pt"} <= set(templates.available()[name]), name


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A copy of the email templates notify reads instead of its own, to take a file away."""
    copy = tmp_path / "email"
    shutil.copytree(templates.FOLDER, copy)
    monkeypatch.setattr(templates, "FOLDER", copy)
    return copy


def test_a_language_lacking_one_email_is_not_complete_and_its_readers_get_english_all_through(folder, caplog):
    (folder / "finalist_notice.pt.html").unlink()
    assert templates.missing_emails("pt") == ["finalist_notice.pt.html"]
    assert templates.complete_languages() == ("en", "ko")
    with caplog.at_level(logging.WARNING, logger="prize.notify.templates"):
        # not only the missing email: every email, so nobody reads a mix of languages
        assert templates.language_for("submission_ack", "pt") == "en"
    [said] = [r.getMessage() for r in caplog.records if r.name == "prize.notify.templates"]
    assert "submission_ack in English for a reader of 'pt'" in said and "finalist_notice.pt.html" in said


def test_a_language_lacking_its_words_is_not_complete(folder, monkeypatch):
    monkeypatch.delitem(languages.ROUND_TITLES, "pt")
    assert templates.missing_emails("pt") == ["languages.ROUND_TITLES"]
    assert "pt" not in templates.complete_languages()


def test_the_language_of_an_email(caplog):
    with caplog.at_level(logging.INFO, logger="prize.notify.templates"):
        assert templates.language_for("finalist_notice", "pt") == "pt"
        assert templates.language_for("finalist_notice", "ko") == "ko"
        assert templates.language_for("finalist_notice", None) == "en"
        assert templates.language_for("delivery_failed_alert", "pt") == "en"  # the secretariat's own: English
    assert caplog.records == []  # nothing fell back
    with caplog.at_level(logging.WARNING, logger="prize.notify.templates"):
        assert templates.language_for("finalist_notice", "es") == "en"
    [said] = [r.getMessage() for r in caplog.records]
    assert "finalist_notice in English for a reader of 'es'" in said and "award_winner.es.txt" in said


# --- dates and words per language ------------------------------------------------------------------

def test_dates_read_as_before_in_english_and_korean_and_the_portuguese_way():
    for year in (2026, 2099):
        for month in range(1, 13):
            for day in (1, 9, 28):
                moment = datetime(year, month, day, 18, 0, tzinfo=timezone.utc)
                assert languages.day(moment, "en") == f"{day} {ENGLISH_MONTHS[month - 1]} {year}"
                assert languages.day(moment, "ko") == f"{year}년 {month}월 {day}일"
                assert languages.month(moment, "en") == ENGLISH_MONTHS[month - 1]
                assert languages.month(moment, "ko") == f"{month}월"
    moment = datetime(2099, 10, 10, tzinfo=timezone.utc)
    assert (languages.day(moment, "pt"), languages.month(moment, "pt")) == ("10 de outubro de 2099", "outubro")
    assert languages.label("pt") == "Português Portuguese" and languages.label("en") == "English"


def test_the_samples_are_written_in_the_templates_language():
    for name in SAMPLES:
        assert templates.sample_of(name, "en") == SAMPLES[name], name  # English: the sample as it is
    assert set(templates.sample_of("review_reminder", "pt")) == set(SAMPLES["review_reminder"])
    jury = templates.sample_of("review_reminder", "pt")
    assert (jury["round_title"], jury["due_month"]) == ("seleção dos finalistas", "agosto")
    assert [a["category_title"] for a in jury["applications"]] == [
        "Tech-InnovaCity (Cidade da Inovação Tecnológica)", "Human-CentriCity (Cidade Centrada nas Pessoas)"]
    ceremony = templates.sample_of("award_winner", "pt")["ceremony"]
    assert (ceremony["date"], ceremony["rsvp_by"]) == ("28 de outubro de 2026", "30 de setembro de 2026")
    assert templates.sample_of("submission_ack", "pt")["closes"].startswith("14 de julho de 2026 18:00 (Asia/Seoul")
    assert templates.sample_of("signin_link", "pt")["place"] == "o portal de candidaturas"
    assert [m["title"] for m in templates.sample_of("draft_reminder", "pt")["missing"]] == ["Resumo", "Application form"]
    assert templates.sample_of("draft_reminder", "ko")["closes_month"] == "7월"


# --- through the real send path: events, notify's worker, an SMTP server -----------------------------

CEREMONY = {"starts_at": datetime(2099, 10, 10, 9, 0, tzinfo=timezone.utc), "time_zone": "Asia/Seoul",
            "venue": "Seoul City Hall", "address": "110 Sejong-daero, Jung-gu",
            "rsvp_by": datetime(2099, 9, 20, 9, 0, tzinfo=timezone.utc)}


def _invited(application_id: str, reference: str, email: str, language: str):
    return make_event("ceremony.invited", {
        "application_id": application_id, "reference": reference, "call_id": str(uuid.uuid4()), "year": 2026,
        "name": "João Conceição", "email": email, "language": language, "organisation": "Prefeitura de Guarulhos",
        "title": "Guarulhos escuta", "ceremony": CEREMONY, "url": "https://apply.example.org/ceremony/x",
        "basis": "finalist", "invited_at": datetime.now(timezone.utc)}, producer="intake")


def _decisions(reference: str, email: str, language: str) -> list:
    """An application's whole way to an award, as intake's and review's events tell notify."""
    application_id, sub = submitted(reference, "Guarulhos escuta: orçamento participativo por SMS", email, language,
                                    organisation="Prefeitura de Guarulhos", contact_name="João Conceição")
    return [sub, screened(application_id, reference, True),
            decided("application.advanced", application_id, reference),
            released(application_id, "finalist"),
            decided("award.decided", application_id, reference, outcome="winner", award="Grand Prize"),
            _invited(application_id, reference, email, language), released(application_id, "award")]


def test_a_portuguese_applicant_reads_every_email_in_portuguese_and_a_spanish_one_in_english(stack, smtp_server):  # noqa: F811
    box = Mailbox(stack, smtp_server)
    pt_email, es_email = "joao@guarulhos.example.br", "lucia@montevideo.example.uy"
    publish(stack, *_decisions("SSCP-2026-GRU001", pt_email, "pt"), *_decisions("SSCP-2026-MVD002", es_email, "es"))
    wanted = 5  # acknowledgement, eligibility, finalist, ceremony invitation, award
    assert wait_until(lambda: len(box.to(pt_email)) >= wanted and len(box.to(es_email)) >= wanted, timeout=60), \
        (box.subjects(pt_email), box.subjects(es_email))
    box.drain()

    assert sorted(box.subjects(pt_email)) == sorted([
        "Candidatura recebida: SSCP-2026-GRU001 — Guarulhos escuta: orçamento participativo por SMS",
        "Candidatura aprovada na análise de elegibilidade: SSCP-2026-GRU001 — Guarulhos escuta: orçamento "
        "participativo por SMS",
        f"Finalista do {PRIZE} 2026: SSCP-2026-GRU001 — Guarulhos escuta: orçamento participativo por SMS",
        f"Convite para a cerimônia de premiação do {PRIZE} 2026, 10 de outubro de 2099: confirme até "
        "20 de setembro de 2099",
        f"Candidatura vencedora do {PRIZE} 2026: SSCP-2026-GRU001 — Guarulhos escuta: orçamento participativo por SMS",
    ])
    for message in box.to(pt_email):
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert text.startswith("Prezado(a) João Conceição,") and '<html lang="pt"' in html
        assert "Secretaria da WeGO, em nome do Governo Metropolitano de Seul" in text and "Dear " not in text
    [award] = [m for m in box.to(pt_email) if str(m["Subject"]).startswith("Candidatura vencedora")]
    text = award.get_body(("plain",)).get_content()
    assert "Tech-InnovaCity (Cidade da Inovação Tecnológica)" in text
    assert "10 de outubro de 2099, 18:00 (Asia/Seoul; 2099-10-10 09:00 UTC)" in text  # the ceremony, the Brazilian way
    assert "até 20 de setembro de 2099" in text

    # Spanish has no emails: English, every one of them, dates included (not Spanish dates in English words)
    spanish = box.to(es_email)
    assert len(spanish) == wanted and all('<html lang="en"' in m.get_body(("html",)).get_content() for m in spanish)
    [award] = [m for m in spanish if str(m["Subject"]).startswith("Winner of the Seoul Smart City Prize 2026")]
    assert "10 October 2099, 18:00 (Asia/Seoul; 2099-10-10 09:00 UTC)" in award.get_body(("plain",)).get_content()
    with stack.apps["notify"].extensions["prize"]["db"].session() as s:
        rows = s.execute(select(Delivery.recipient, Delivery.language)).all()
    assert {lang for to, lang in rows if to == pt_email} == {"pt"}
    assert {lang for to, lang in rows if to == es_email} == {"en"}


# --- the secretariat previews and edits the Portuguese templates -------------------------------------

PT_PAGE = "/secretariat/templates/finalist_notice/pt"


def test_the_templates_page_lists_the_portuguese_version_of_every_email(notify):  # noqa: F811
    page = browser_of(notify, "secretariat").get("/secretariat/templates").get_data(as_text=True)
    for name in templates.translated_templates():
        card = page[page.index(f'id="tpl-{name}"'):]
        card = card[:card.index("</li>")]
        assert f'href="/secretariat/templates/{name}/pt" lang="pt">Português Portuguese</a>' in card, name
    alert = page[page.index('id="tpl-delivery_failed_alert"'):]
    assert "Português" not in alert[:alert.index("</li>")]


def test_the_secretariat_edits_the_portuguese_wording_and_the_next_portuguese_email_uses_it(notify):  # noqa: F811
    client = browser_of(notify, "secretariat")
    page, csrf = form_of(client, PT_PAGE + "?edition=2026")
    assert "(<span lang=\"pt\">Português Portuguese</span>)" in page and 'id="other-languages"' in page
    assert 'name="body" rows="20" lang="pt"' in page
    assert f"Finalista do {PRIZE} 2026: SSCP-2026-KHH001" in page  # the preview, with Portuguese sample data
    assert "Tech-InnovaCity (Cidade da Inovação Tecnológica)" in page
    subject, body = field(page, "subject"), field(page, "body")
    assert subject == f"Finalista do {PRIZE} {{{{ year }}}}: {{{{ reference }}}} — {{{{ title }}}}"
    assert body.startswith("Prezado(a) {{ contact_name }},\n\nParabéns:")
    r = client.post(PT_PAGE + "?edition=2026", data={"csrf_token": csrf, "action": "preview", "subject": subject,
                                                     "body": body.replace("Parabéns:", "Parabéns, de coração:")})
    assert r.status_code == 200 and "Parabéns, de coração: o júri" in r.get_data(as_text=True)
    r = client.post(PT_PAGE + "?edition=2026", data={"csrf_token": csrf, "action": "save", "subject": subject,
                                                     "body": body.replace("Parabéns:", "Parabéns, de coração:")})
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    sample = {**templates.sample_of("finalist_notice", "pt"), "year": 2026}
    with notify.db.session() as s:
        _, text, html = templates.render("finalist_notice", "pt", sample, s)
        english = templates.render("finalist_notice", "en", {**SAMPLES["finalist_notice"], "year": 2026}, s)
    assert "Parabéns, de coração: o júri selecionou" in text and '<html lang="pt">' in html
    assert "Congratulations: the jury" in english[1]  # the English wording is its own


def test_the_api_previews_the_portuguese_template(notify):  # noqa: F811
    from tests.support.stack import auth
    r = notify.clients["notify"].get("/api/templates/review_reminder/pt/preview",
                                     headers=auth(notify.secretariat_token()))
    assert r.status_code == 200, r.get_json()
    shown = r.get_json()
    assert shown["subject"] == f"Lembrete: 2 candidaturas para avaliar até 14 de agosto ({PRIZE})"
    assert "seleção dos finalistas" in shown["text"]


# --- group emails: Portuguese wording, and who reads English for want of it ----------------------------

def test_a_group_email_opens_the_portuguese_wording_and_says_who_reads_english(notify):  # noqa: F811
    client = notify.clients["notify"]
    assert sign_in(client, notify.secretariat_token()).status_code == 303
    form = client.get("/secretariat/messages/new").get_data(as_text=True)
    for lang in ("en", "ko", "pt"):  # open, not folded away: the languages of every other email
        opened = form.index(f'<fieldset id="lang-{lang}">')
        assert "<details>" not in form[opened - 30:opened], lang
    assert "<details><summary>Spanish (optional)</summary>" in form

    db = notify.apps["notify"].extensions["prize"]["db"]
    message = messages.create(db, 2027, "drafts", {"en": {"subject": "Two weeks left", "body": "Dear {{ name }}"},
                                                   "pt": {"subject": "Faltam duas semanas", "body": "Prezado(a) {{ name }}"}},
                              by="test")
    messages.find_members(db, message.id, by="test")
    with db.session() as s, s.begin():
        messages.members_arrived(s, {"message_id": message.id, "part": 1, "parts": 1, "refused": None, "recipients": [
            {"email": "joao@guarulhos.example.br", "language": "pt", "name": "João"},
            {"email": "kim@seoul.example.kr", "language": "ko", "name": "Kim"},
            {"email": "lin@kcg.example.tw", "language": "en", "name": "Lin"}]})
    found = messages.overview(db, message.id)
    assert found["unwritten"] == {"ko": 1} and found["samples"]["pt"]["subject"] == "Faltam duas semanas"
    page = client.get(f"/secretariat/messages/{message.id}/send").get_data(as_text=True)
    assert "1 in Portuguese" in page and "2 in English" in page
    assert "(of whom 1 reads Korean: you wrote nothing in that language)" in page
    language, subject, _, html = messages.render(found["message"], {"language": "pt", "name": "João"})
    assert (language, subject) == ("pt", "Faltam duas semanas") and '<html lang="pt">' in html
    assert csrf_of(page)
