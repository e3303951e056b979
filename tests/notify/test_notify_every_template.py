"""Every email template, end to end: from the event that triggers it to the email at a real SMTP
server (aiosmtpd), on both stacks (SQLite + the embedded broker; PostgreSQL + RabbitMQ).

CASES is the table: one small function per template that makes its triggering event happen and
returns what must arrive (an ``Expect``). Mostly the real producing action runs: a registration
(signin_link) and a submission (submission_ack) over intake's API, intake's draft-reminder job, an
invitation over review's API (juror_invited), review's reminder job, and for the decisions and
the digests a small edition (``Edition``: submissions over intake's API, taken in by review's own
handlers, then screening, jurors invited, a finalist round assigned and closed with the
secretariat's decisions, awards and both releases over review's API). Each producer's outbox is
published by the project's relay (shared.outbox.OutboxRelay). One event is built with
shared.events.make_event (so it passes its contract) and published with shared.bus.Publisher:
delivery_failed_alert's application.submitted, whose two contacts the SMTP server refuses with 550.
Either way notify's real worker consumes the event from the broker, renders, records and sends.

For every template and every language it exists in: exactly one email of that template, to the
right recipient only, in that language (the HTML's lang attribute, the sign-off, the subject),
with what matters in it, non-ASCII intact, the HTML autoescaped; and the same events published
again send nothing more. To add a template: write its case function and put it in CASES (the
meta-test fails until then).

One stack per kind is shared by the module (each case uses its own addresses and references).
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parseaddr
from typing import Callable

import pytest

from services.intake.ops import reminders as intake_reminders
from services.intake.models import outbox as intake_outbox
from services.notify.ops.templates import FOLDER
from services.review.ops import reminders as review_reminders
from services.review.models import Juror
from services.review.models import outbox as review_outbox
from shared.bus import Publisher
from shared.config import load_settings
from shared.events import Event, make_event
from shared.outbox import OutboxRelay
from tests.conftest import embedded_env, real_env
from tests.notify.test_notify_decisions import submitted
from tests.review.test_review_reminders import DUE
from tests.review.test_review_reminders import Scene as ReviewScene
from tests.support.smtp import RecordingSMTPServer, _Handler
from tests.support.stack import (Stack, auth, open_call, register, signin_events, start_draft,
                                 submit_application, wait_until)

PUBLIC_URL = "https://apply.e2e.example.org"
REVIEW_URL = "https://jury.e2e.example.org"
SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
# How each language signs off; an email in one language must not carry the other's greeting.
SIGNOFF = {"en": "WeGO Secretariat, on behalf of the Seoul Metropolitan Government",
           "ko": "서울특별시를 대신하여, WeGO 사무국",
           "pt": "Secretaria da WeGO, em nome do Governo Metropolitano de Seul"}
FOREIGN = {"en": ("님께", "Prezado"), "ko": ("Dear ", "Prezado"), "pt": ("Dear ", "님께")}
NAMES = {"en": "Lin Mei-hua", "ko": "박지우", "pt": "João Conceição"}
CATEGORY = {"en": "Tech-InnovaCity", "ko": "Tech-InnovaCity (기술혁신도시)",
            "pt": "Tech-InnovaCity (Cidade da Inovação Tecnológica)"}
PRIZE = "Prêmio Cidade Inteligente de Seul"


def _templates_in_folder() -> dict[str, list[str]]:
    """{template: [languages]} of the files in services/notify/templates/email."""
    found: dict[str, set[str]] = {}
    for path in FOLDER.glob("*.*.txt"):
        name, language, _ = path.name.split(".")
        found.setdefault(name, set()).add(language)
    return {name: sorted(languages) for name, languages in sorted(found.items())}


TEMPLATES = _templates_in_folder()


@dataclass
class Expect:
    """What one case must deliver: one email of ``template`` to ``recipient`` and nobody else."""
    recipient: str
    subject: str
    text: list[str]
    html: list[str]
    escaped: bool = True  # the case put SCRIPT in a field the HTML shows
    signoff: str | None = None  # default: SIGNOFF[language]
    events: list[tuple] | None = None  # what caused it; default: all the case published
    also: tuple[str, ...] = ()  # others the same event mails with this template (their own wording)


# ---- the stack shared by the module ----------------------------------------------------------

class _RefusingHandler(_Handler):
    """Refuses the recipients in ``server.refused`` at RCPT with 550, as a real server does."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.server.refused:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"


class RecordingPublisher(Publisher):
    """The project's publisher, keeping what it published so that a case can publish it again."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.published: list[tuple] = []

    def publish_many(self, messages) -> int:
        messages = list(messages)
        count = super().publish_many(messages)
        self.published.extend(messages)
        return count


class Env:
    """One stack: intake, review and notify apps in this process, notify's worker on a thread."""

    def __init__(self, kind: str, stack: Stack, smtp: RecordingSMTPServer, publisher: RecordingPublisher):
        self.kind, self.stack, self.smtp, self.publisher = kind, stack, smtp, publisher
        self.intake, self.review = stack.clients["intake"], stack.clients["review"]
        self.sec = stack.secretariat_token()
        self.secretariat = parseaddr(stack.settings.mail_from)[1]
        self._call_id: str | None = None
        self._relays = {svc: OutboxRelay(stack.apps[svc].extensions["prize"]["db"], table, publisher)
                        for svc, table in (("intake", intake_outbox), ("review", review_outbox))}
        self.markers = 0
        self.edition: Edition | None = None

    def db(self, service: str):
        return self.stack.apps[service].extensions["prize"]["db"]

    @property
    def call_id(self) -> str:
        """intake's open call (closing 2099-07-14 18:00 in Seoul), made on first use."""
        if self._call_id is None:
            self._call_id = open_call(self.intake, self.sec)["id"]
        return self._call_id

    def relay(self, service: str) -> int:
        """Publish the service's outbox the way its worker does (one pass of its relay)."""
        count = 0
        while n := self._relays[service].run_once():
            count += n
        return count

    def publish(self, *events: Event) -> None:
        self.publisher.publish_many([(e.routing_key, e.to_message(), e.correlation_id) for e in events])

    def unique(self) -> str:
        return uuid.uuid4().hex[:6].upper()

    def emails(self, template: str, event_ids: set[str]) -> list[dict]:
        """The emails of ``template`` that these events caused (by the delivery key in each)."""
        found = []
        for m in list(self.smtp.messages):
            key = "".join(str(m["message"]["X-Prize-Delivery-Key"]).split())  # unfolded
            event_id, name = key.split(":")[:2]
            if name == template and event_id in event_ids:
                found.append(m)
        return found

    def drain(self) -> None:
        """Publish an invitation after everything else and wait for it: notify handles its queue
        in order, so once this email has arrived every event published before it was handled."""
        self.markers += 1
        address = f"marker{self.markers}@drain.example.org"
        self.publish(make_event("juror.invited", {
            "juror_id": str(uuid.uuid4()), "name": "Marker", "email": address, "language": "en",
            "url": "https://jury.example.org/signin/marker",
            "expires_at": datetime.now(timezone.utc) + timedelta(days=1)}, producer="review"))
        assert wait_until(lambda: any(m["to"] == [address] for m in list(self.smtp.messages)), timeout=30), \
            "the marker email never arrived: notify's worker is stuck"


def _real_databases(admin_url: str):
    import psycopg
    suffix = uuid.uuid4().hex[:10]
    names = {svc: f"prize_t{suffix}_{svc}" for svc in ("intake", "review", "notify")}
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for name in names.values():
            conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0]

    def drop():
        with psycopg.connect(admin_url, autocommit=True) as conn:
            for name in names.values():
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {svc: f"{base}/{name}" for svc, name in names.items()}, drop


@pytest.fixture(scope="module", params=["embedded", "real"])
def env(request, tmp_path_factory):
    smtp = RecordingSMTPServer()
    smtp.refused = set()
    smtp.controller.handler = _RefusingHandler(smtp)
    smtp.start()
    var = tmp_path_factory.mktemp(f"every-template-{request.param}") / "var"
    extra = {"PRIZE_MAIL_URL": smtp.url, "PRIZE_PUBLIC_URL": PUBLIC_URL, "PRIZE_REVIEW_PUBLIC_URL": REVIEW_URL}
    cleanups = [smtp.stop]
    if request.param == "real":
        rabbitmq_url = request.getfixturevalue("rabbitmq_url")
        urls, drop = _real_databases(request.getfixturevalue("postgres_admin_url"))
        namespace = "t" + uuid.uuid4().hex[:10]

        def forget_broker():
            from tests.support.broker import delete_topology
            delete_topology(rabbitmq_url, namespace)
        cleanups += [drop, forget_broker]
        settings = load_settings(real_env(var, urls, namespace, **extra))
    else:
        settings = load_settings(embedded_env(var, **extra))
    stack = None
    publisher = RecordingPublisher(settings.broker_url, settings.namespace)
    try:
        stack = Stack(settings)
        # Connect (and declare the topology) before the worker does: on the embedded broker the
        # first opener creates the SQLite file, and two at once can find it locked.
        publisher.publish_many([])
        stack.start_workers(["notify"])
        yield Env(request.param, stack, smtp, publisher)
    finally:
        publisher.close()
        if stack is not None:
            stack.stop()
        for cleanup in reversed(cleanups):
            cleanup()


# ---- one case per template: trigger it, say what must arrive -----------------------------------

def _address(env: Env, who: str, domain: str = "e2e.example.org") -> str:
    return f"{who}-{env.unique().lower()}@{domain}"


def submission_ack(env: Env, lang: str) -> Expect:
    """The real action: an applicant registers, completes and submits over intake's API."""
    email = _address(env, "city", "kcg.example.tw")
    _, token = register(env.intake, contact_email=email, contact_name=NAMES[lang], language=lang)
    title = f"{SCRIPT} Hydrogen buses for 高雄 {env.unique()}"
    application = submit_application(env.intake, token, env.call_id, title=title)
    env.relay("intake")
    reference = application["reference"]
    subject = {"en": f"Application received: {reference} — {title}",
               "ko": f"신청서 접수 완료: {reference} — {title}",
               "pt": f"Candidatura recebida: {reference} — {title}"}[lang]
    status_page = f"{PUBLIC_URL}/portal/applications/{application['id']}/status"  # where the PDF is
    return Expect(email, subject,
                  text=[NAMES[lang], reference, title, "Kaohsiung City Government", "高雄 Kaohsiung",
                        CATEGORY[lang], {"en": "14 July 2099 18:00 (Asia/Seoul; 2099-07-14 09:00 UTC)",
                                         "ko": "2099년 7월 14일 18:00 (Asia/Seoul; 2099-07-14 09:00 UTC)",
                                         "pt": "14 de julho de 2099 18:00 (Asia/Seoul; 2099-07-14 09:00 UTC)"}[lang],
                        status_page],
                  html=[reference, "高雄 Kaohsiung", "Kaohsiung City Government", f'href="{status_page}"'])


WITHIN_15 = {"en": "within 15 minutes", "ko": "15분 안에", "pt": "em até 15 minutos"}


def signin_link(env: Env, lang: str) -> Expect:
    """The real action: registration, which mails a link that signs in to the portal."""
    email = _address(env, "signin", "kcg.example.tw")
    name = f"{SCRIPT} {NAMES[lang]}"
    r = env.intake.post("/api/applicants", json={
        "type": "city_government", "organisation": "高雄市政府", "country": "TW", "city": "高雄",
        "contact_name": name, "contact_email": email, "language": lang, "privacy_consent": 1})
    assert r.status_code == 202, r.get_json()
    [event] = signin_events(env.intake, email)
    assert event["purpose"] == "browser" and event["url"].startswith(f"{PUBLIC_URL}/signin/")
    env.relay("intake")
    subject = {"en": "Sign in to the Seoul Smart City Prize portal", "ko": "서울스마트도시상 신청 포털 로그인",
               "pt": f"Seu link de acesso: portal de candidaturas do {PRIZE}"}[lang]
    return Expect(email, subject, text=[name, event["url"], WITHIN_15[lang]],
                  html=[f'href="{event["url"]}"'])


def signin_link_already_registered(env: Env, lang: str) -> Expect:
    """The real action: a second registration of a registered address, which mails its applicant
    a sign-in link saying they are registered (the answer to the registration does not tell)."""
    email = _address(env, "again", "kcg.example.tw")
    name = f"{SCRIPT} {NAMES[lang]}"
    body = {"type": "city_government", "organisation": "高雄市政府", "country": "TW", "city": "高雄",
            "contact_name": name, "contact_email": email, "language": lang, "privacy_consent": 1}
    assert env.intake.post("/api/applicants", json=body).status_code == 202
    env.relay("intake")
    before = len(env.publisher.published)
    r = env.intake.post("/api/applicants", json={**body, "organisation": "Someone else", "contact_name": "Impostor"})
    assert r.status_code == 202, r.get_json()
    first, event = signin_events(env.intake, email)
    assert event["reason"] == "already_registered" and "reason" not in first
    env.relay("intake")
    subject = {"en": "You are already registered: sign in to the Seoul Smart City Prize portal",
               "ko": "이미 등록된 주소입니다: 서울스마트도시상 신청 포털 로그인",
               "pt": f"Endereço já cadastrado. Seu link de acesso: portal de candidaturas do {PRIZE}"}[lang]
    return Expect(email, subject, text=[name, event["url"], {"en": "registered already", "ko": "이미 등록되어",
                                                             "pt": "já está cadastrado"}[lang], WITHIN_15[lang]],
                  html=[f'href="{event["url"]}"'], events=env.publisher.published[before:])


def draft_reminder(env: Env, lang: str) -> Expect:
    """The real job: intake's draft reminders, run at seven days before the call closes."""
    email = _address(env, "draft", "busan.example.kr")
    _, token = register(env.intake, contact_email=email, contact_name=NAMES[lang], language=lang)
    title = f"{SCRIPT} Smart harbour for 부산 {env.unique()}"
    draft = start_draft(env.intake, token, env.call_id, title=title, summary="")
    with env.db("intake").session() as s:
        assert intake_reminders.due_reminders(s, datetime(2099, 7, 7, 9, 1, tzinfo=timezone.utc),
                                              public_url=PUBLIC_URL) >= 1
    env.relay("intake")
    reference, url = draft["reference"], f"{PUBLIC_URL}/portal/applications/{draft['id']}"
    subject = {"en": f"Reminder: application {reference} is not submitted yet; the call closes on 14 July "
                     "(Seoul Smart City Prize)",
               "ko": f"[알림] 신청서 {reference} 미제출: 7월 14일 접수 마감 (서울스마트도시상)",
               "pt": f"Lembrete: a candidatura {reference} ainda não foi enviada; as inscrições se encerram em "
                     f"14 de julho ({PRIZE})"}[lang]
    return Expect(email, subject,
                  text=[NAMES[lang], title, url, "2099-07-14 18:00 Asia/Seoul", "2099-07-14 09:00 UTC",
                        "  - Application form (PDF)", {"en": "  - Summary", "ko": "  - 요약", "pt": "  - Resumo"}[lang]],
                  html=[f'href="{url}"', "Application form (PDF)"])


def juror_invited(env: Env, lang: str) -> Expect:
    """The real action: the secretariat invites a juror over review's API."""
    email = _address(env, "juror", "usp.example.br")
    name = f"{SCRIPT} Dr. Ana Souza 김민준"
    r = env.review.post("/api/jurors", headers=auth(env.sec), json={
        "name": name, "email": email, "country": "BR", "organisation": "Universidade de São Paulo",
        "expertise": ["tech_innovacity"], "languages": [lang], "language": lang})
    assert r.status_code == 201, r.get_json()
    env.relay("review")
    [published] = [body for key, body, *_ in env.publisher.published
                   if key == "juror.invited" and email in str(body)]
    data = json.loads(published)["data"] if isinstance(published, str) else published["data"]
    assert data["url"].startswith(f"{REVIEW_URL}/signin/")
    expires = datetime.fromisoformat(data["expires_at"]).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    subject = {"en": "Invitation to the jury of the Seoul Smart City Prize", "ko": "서울스마트도시상 심사위원 위촉 안내",
               "pt": f"Convite para o júri do {PRIZE}"}[lang]
    return Expect(email, subject, text=[name, data["url"], expires], html=[f'href="{data["url"]}"'])


def review_assigned(env: Env, lang: str) -> Expect:
    """The real path (Edition): the finalist round's six eligible applications assigned one juror
    each, balanced over the jurors review knows (the edition's two, and any invited before): one
    digest to each juror listing theirs."""
    if env.edition is None:
        env.edition = Edition(env)
    juror = env.edition.jurors[lang]
    [message] = [m for m in env.edition.events if m[0] == "review.assigned" and juror["id"] in str(m[1])]
    data = json.loads(message[1])["data"]
    titles = {app["id"]: (app["reference"], app["title"]) for app in env.edition.apps.values()}
    listed = [titles[a["application_id"]] for a in data["applications"]]  # ours, not the event's word
    assert listed and data["url"] == f"{REVIEW_URL}/jury"
    n = len(listed)
    subject = {"en": f"{n} application{'s' if n != 1 else ''} to score for the 2026 Seoul Smart City Prize "
                     "(selection of finalists)",
               "ko": f"2026 서울스마트도시상 결선 진출작 선정: 평가할 신청서 {n}건",
               "pt": f"{n} candidatura{'s' if n != 1 else ''} para avaliar no {PRIZE} 2026 (seleção dos finalistas)"}[lang]
    return Expect(juror["email"], subject,
                  text=[juror["name"], f"{REVIEW_URL}/jury"]
                  + [f"{reference}  {title} ({CATEGORY[lang]})" for reference, title in listed],
                  html=[f'href="{REVIEW_URL}/jury"'] + [reference for reference, _ in listed],
                  events=[message])


def review_reminder(env: Env, lang: str) -> Expect:
    """The real job: review's reminders, run three days before the round's due date."""
    scene = ReviewScene(env.db("review"))
    reference, title = f"SSCP-2026-R{env.unique()}", f"{SCRIPT} Pocket parks for 高雄"
    application = scene.application(reference, title)
    juror = scene.juror(f"Kim Min-jun {env.unique()}", language=lang)
    scene.assign(scene.round(), application, juror)
    with env.db("review").session() as s:
        assert review_reminders.due_reminders(s, DUE - timedelta(days=3) + timedelta(minutes=1),
                                              review_url=REVIEW_URL) >= 1
    env.relay("review")
    with env.db("review").session() as s:
        row = s.get(Juror, juror)
        email, name = row.email, row.name
    subject = {"en": "Reminder: 1 application to score by 14 August (Seoul Smart City Prize)",
               "ko": "[알림] 8월 14일까지 평가할 신청서 1건 (서울스마트도시상)",
               "pt": f"Lembrete: 1 candidatura para avaliar até 14 de agosto ({PRIZE})"}[lang]
    return Expect(email, subject,
                  text=[name, f"{reference}  {title} ({CATEGORY[lang]})", "2026-08-14 09:00 UTC",
                        f"{REVIEW_URL}/jury"],
                  html=[reference, "Pocket parks for 高雄", f'href="{REVIEW_URL}/jury"'])


OUTCOMES = ("winner", "not_awarded", "eliminated", "ineligible")
LANGUAGES = ("en", "ko", "pt")  # the decision path is built once for all of them
INELIGIBLE = f"{SCRIPT} The project started after the call closed (高雄)."


class Edition:
    """The real decision path, built once per stack: applicants submit over intake's API; review
    takes in those events with its own handlers, screens them, closes a finalist round with the
    secretariat's decisions, records the awards and releases both rounds over its API; both
    outboxes are published by their relays. For each language one application of each outcome:
    advanced then winner, advanced then not awarded, eliminated, ineligible."""

    def __init__(self, env: Env):
        from services.review.handlers import HANDLERS
        from services.review.models import inbox as review_inbox
        from shared.events import parse_message
        from shared.inbox import InboxDispatcher

        before = len(env.publisher.published)
        self.apps: dict[tuple[str, str], dict] = {}
        for lang in LANGUAGES:
            for outcome in OUTCOMES:
                email = _address(env, outcome.replace("_", "-"), "seoul.example.kr")
                _, token = register(env.intake, contact_email=email, contact_name=NAMES[lang], language=lang,
                                    organisation="서울특별시 Seoul")
                title = f"{SCRIPT} 스마트 버스 정류장 高雄 {env.unique()}"
                application = submit_application(env.intake, token, env.call_id, title=title)
                self.apps[lang, outcome] = {"id": application["id"], "reference": application["reference"],
                                            "title": title, "email": email}
        env.relay("intake")
        # review's consumer, fed the very messages intake's relay published
        dispatch = InboxDispatcher(env.db("review"), review_inbox, review_outbox, "review", HANDLERS)
        for key, body, *_ in env.publisher.published:
            if key == "call.opened" or (key == "application.submitted" and any(
                    a["id"] in body for a in self.apps.values())):
                dispatch(parse_message(json.loads(body)))
        review, sec = env.review, auth(env.sec)
        for (lang, outcome), app in self.apps.items():
            eligible = outcome != "ineligible"
            r = review.post(f"/api/applications/{app['id']}/screening", headers=sec,
                            json={"eligible": eligible, "reason": "" if eligible else INELIGIBLE,
                                  "send_now": True})  # not held for the undo window
            assert r.status_code == 200, r.get_json()
        self.jurors: dict[str, dict] = {}
        for lang in LANGUAGES:  # they get the assignment digests (review_assigned)
            email, name = _address(env, f"juror-{lang}", "kaist.example.kr"), f"{SCRIPT} 김민준 Kim {lang}"
            r = review.post("/api/jurors", headers=sec, json={
                "name": name, "email": email, "country": "BR", "organisation": f"KAIST {lang}",
                "expertise": ["tech_innovacity"], "languages": [lang], "language": lang})
            assert r.status_code == 201, r.get_json()
            self.jurors[lang] = {"id": r.get_json()["id"], "email": email, "name": name}
        r = review.post("/api/rounds", headers=sec, json={
            "call_id": env.call_id, "kind": "finalist", "jurors_per_application": 1,
            "advance_per_category": 1, "min_reviews": 1})
        assert r.status_code == 201, r.get_json()
        round_id = r.get_json()["id"]
        r = review.post(f"/api/rounds/{round_id}/assign", headers=sec)
        assert r.status_code == 200 and r.get_json()["added"] == 3 * len(LANGUAGES), r.get_json()
        decisions = {app["id"]: "eliminate" if outcome == "eliminated" else "advance"
                     for (lang, outcome), app in self.apps.items() if outcome != "ineligible"}
        r = review.post(f"/api/rounds/{round_id}/close", headers=sec, json={"decisions": decisions})
        assert r.status_code == 200, r.get_json()
        r = review.post("/api/rounds", headers=sec, json={"call_id": env.call_id, "kind": "award"})
        assert r.status_code == 201, r.get_json()
        for (lang, outcome), app in self.apps.items():
            if outcome in ("winner", "not_awarded"):
                r = review.post(f"/api/applications/{app['id']}/award", headers=sec, json={
                    "outcome": outcome, "award": "Grand Prize 대상" if outcome == "winner" else ""})
                assert r.status_code == 200, r.get_json()
        for round_ in ("finalist", "award"):
            r = review.post(f"/api/calls/{env.call_id}/release", headers=sec, json={"round": round_})
            assert r.status_code == 200, r.get_json()
        env.relay("review")
        self.events = env.publisher.published[before:]


def _edition(env: Env, lang: str, outcome: str) -> tuple[dict, list[tuple]]:
    """The application of this outcome and language, and the events about it (its own alone)."""
    if env.edition is None:
        env.edition = Edition(env)
    app = env.edition.apps[lang, outcome]
    return app, [m for m in env.edition.events if app["id"] in str(m[1])]


def eligibility_result(env: Env, lang: str) -> Expect:
    """The real path (Edition): screened not eligible, with the reason."""
    app, events = _edition(env, lang, "ineligible")
    reference, title = app["reference"], app["title"]
    subject = {"en": f"Eligibility screening: not eligible: {reference} — {title}",
               "ko": f"자격 심사 결과: 부적격: {reference} — {title}",
               "pt": f"Resultado da análise de elegibilidade: não elegível: {reference} — {title}"}[lang]
    return Expect(app["email"], subject, text=[NAMES[lang], reference, title, INELIGIBLE, CATEGORY[lang]],
                  html=[reference, "The project started after the call closed (高雄)."], events=events)


def finalist_notice(env: Env, lang: str) -> Expect:
    """The real path (Edition): advanced when the finalist round closed, mailed at its release."""
    app, events = _edition(env, lang, "winner")
    reference, title = app["reference"], app["title"]
    subject = {"en": f"Finalist of the Seoul Smart City Prize 2026: {reference} — {title}",
               "ko": f"2026 서울스마트도시상 결선 진출: {reference} — {title}",
               "pt": f"Finalista do {PRIZE} 2026: {reference} — {title}"}[lang]
    return Expect(app["email"], subject, text=[NAMES[lang], "서울특별시 Seoul", reference, title, CATEGORY[lang]],
                  html=[reference, "서울특별시 Seoul"], events=events)


def not_advanced(env: Env, lang: str) -> Expect:
    """The real path (Edition): eliminated when the finalist round closed, mailed at its release."""
    app, events = _edition(env, lang, "eliminated")
    reference, title = app["reference"], app["title"]
    subject = {"en": f"Seoul Smart City Prize 2026: result of the selection of finalists for {reference}",
               "ko": f"2026 서울스마트도시상 결선 진출작 선정 결과: {reference}",
               "pt": f"{PRIZE} 2026: resultado da seleção dos finalistas ({reference})"}[lang]
    return Expect(app["email"], subject, text=[NAMES[lang], reference, title,
                                               {"en": "did not select", "ko": "선정되지 않았음", "pt": "não selecionou"}[lang]],
                  html=[reference], events=events)


def award_winner(env: Env, lang: str) -> Expect:
    """The real path (Edition): a finalist awarded the Grand Prize, mailed at the award round's release."""
    app, events = _edition(env, lang, "winner")
    reference, title = app["reference"], app["title"]
    subject = {"en": f"Winner of the Seoul Smart City Prize 2026: {reference} — {title}",
               "ko": f"2026 서울스마트도시상 수상: {reference} — {title}",
               "pt": f"Candidatura vencedora do {PRIZE} 2026: {reference} — {title}"}[lang]
    return Expect(app["email"], subject, text=[NAMES[lang], "서울특별시 Seoul", reference, title, "Grand Prize 대상",
                                               {"en": "invitation to the ceremony", "ko": "시상식 초청장",
                                                "pt": "convite para a cerimônia"}[lang]],
                  html=[reference, "Grand Prize 대상"], events=events)


def not_awarded(env: Env, lang: str) -> Expect:
    """The real path (Edition): a finalist not awarded, mailed at the award round's release."""
    app, events = _edition(env, lang, "not_awarded")
    reference, title = app["reference"], app["title"]
    subject = {"en": f"Seoul Smart City Prize 2026: result of the selection of the winners for {reference}",
               "ko": f"2026 서울스마트도시상 수상작 선정 결과: {reference}",
               "pt": f"{PRIZE} 2026: resultado da seleção dos vencedores ({reference})"}[lang]
    return Expect(app["email"], subject, text=[NAMES[lang], reference, title,
                                               {"en": "did not select", "ko": "수상작으로 선정되지 않았음",
                                                "pt": "não selecionou"}[lang]],
                  html=[reference], events=events)


def delivery_failed_alert(env: Env, lang: str) -> Expect:
    """Built and published: a submission whose contact and second contact the SMTP server both
    refuse with 550; the acknowledgement fails for good and the secretariat is told."""
    domain = f"gone-{env.unique().lower()}.example.br"
    primary, secondary = f"ana@{domain}", f"second@{domain}"
    env.smtp.refused.update({primary, secondary})
    reference, title = f"SSCP-2026-F{env.unique()}", f"{SCRIPT} Digital inclusion for 高雄"
    _, event = submitted(reference, title, primary, lang)
    env.publish(event)
    return Expect(env.secretariat, f"Email failed for good: submission_ack to {secondary}",
                  text=[primary, secondary, "submission_ack", f"application.submitted {event.id}", "550",
                        f"Application received: {reference} — {title}"],
                  html=[primary, "submission_ack", reference],
                  signoff="An email to a city could not be delivered, and no other contact is left to try.")


# ---- the award ceremony: intake invites released finalists, takes answers and reminds ----------

CEREMONY = {"starts_at": "2099-10-10T18:00:00+09:00", "time_zone": "Asia/Seoul", "venue": "COEX, Seoul",
            "address": "513 Yeongdong-daero, Gangnam-gu", "rsvp_by": "2099-09-20T18:00:00+09:00"}
CEREMONY_DAY = {"en": "10 October 2099", "ko": "2099년 10월 10일", "pt": "10 de outubro de 2099"}
RSVP_DAY = {"en": "20 September 2099", "ko": "2099년 9월 20일", "pt": "20 de setembro de 2099"}


def _invited(env: Env, lang: str) -> tuple[dict, str, str]:
    """A submission over intake's API, made a released finalist (review's two events, to notify
    over the broker and to intake through its inbox): intake invites it to the edition's
    ceremony, set here on first use. Returns (application, contact email, API token)."""
    from services.intake.handlers import HANDLERS, inviter
    from services.intake.models import inbox as intake_inbox
    from shared.events import parse_message
    from shared.inbox import InboxDispatcher, bind

    if not getattr(env, "ceremony_set", False):
        r = env.intake.put(f"/api/calls/{env.call_id}/ceremony", headers=auth(env.sec), json=CEREMONY)
        assert r.status_code == 200, r.get_json()
        env.ceremony_set = True
    email = _address(env, "guest", "beyoglu.example.tr")
    _, token = register(env.intake, contact_email=email, contact_name=NAMES[lang], language=lang,
                        organisation="Beyoğlu Belediyesi")
    application = submit_application(env.intake, token, env.call_id, title=f"{SCRIPT} Erişilebilir Beyoğlu {env.unique()}")
    env.relay("intake")
    now = datetime.now(timezone.utc)
    decisions = [make_event("application.advanced", {"application_id": application["id"], "reference": application["reference"],
                                                     "round": "finalist", "decided_at": now}, producer="review"),
                 make_event("results.released", {"application_id": application["id"], "round": "finalist",
                                                  "released_at": now}, producer="review")]
    env.publish(*decisions)
    dispatch = InboxDispatcher(env.db("intake"), intake_inbox, intake_outbox, "intake", bind(HANDLERS, invite=inviter(PUBLIC_URL)))
    for event in decisions:
        dispatch(parse_message(json.loads(json.dumps(event.to_message()))))
    return application, email, token


def _of(env: Env, before: int, type_: str, application_id: str) -> list[tuple]:
    """The messages of ``type_`` about this application published since ``before``."""
    return [m for m in env.publisher.published[before:] if m[0] == type_ and application_id in str(m[1])]


def ceremony_invitation(env: Env, lang: str) -> Expect:
    """The real path: intake invites the released finalist (intake's handler of the release)."""
    before = len(env.publisher.published)
    app, email, _ = _invited(env, lang)
    env.relay("intake")
    events = _of(env, before, "ceremony.invited", app["id"])
    assert len(events) == 1
    url = f"{PUBLIC_URL}/portal/applications/{app['id']}/ceremony"
    subject = {"en": f"Invitation to the Seoul Smart City Prize 2026 award ceremony, {CEREMONY_DAY['en']}: "
                     f"please confirm by {RSVP_DAY['en']}",
               "ko": f"2026 서울스마트도시상 시상식 초청 ({CEREMONY_DAY['ko']}): {RSVP_DAY['ko']}까지 참석 여부를 "
                     "알려 주십시오",
               "pt": f"Convite para a cerimônia de premiação do {PRIZE} 2026, {CEREMONY_DAY['pt']}: "
                     f"confirme até {RSVP_DAY['pt']}"}[lang]
    return Expect(email, subject, text=[NAMES[lang], app["reference"], app["title"], "Beyoğlu Belediyesi", url,
                                        "18:00 (Asia/Seoul; 2099-10-10 09:00 UTC)", "513 Yeongdong-daero",
                                        {"en": "among the finalists", "ko": "결선 진출작", "pt": "entre as finalistas"}[lang]],
                  html=[f'href="{url}"', "Beyoğlu Belediyesi"], events=events)


def rsvp_received(env: Env, lang: str) -> Expect:
    """The real action: the invited answer over intake's API."""
    app, email, token = _invited(env, lang)
    env.relay("intake")
    before = len(env.publisher.published)
    delegate = f"{SCRIPT} Ayşe Yılmaz"
    r = env.intake.put(f"/api/applications/{app['id']}/ceremony", headers=auth(token), json={
        "attending": True, "delegates": [{"name": delegate, "role": "Head of Smart City Office"}],
        "accessibility": "Step-free access 휠체어", "visa_letter": True, "visa_details": "AYSE YILMAZ, Türkiye",
        "privacy_consent": 1})
    assert r.status_code == 200, r.get_json()
    env.relay("intake")
    events = _of(env, before, "ceremony.rsvp_received", app["id"])
    subject = {"en": f"Answer received: attending the Seoul Smart City Prize 2026 award ceremony ({app['reference']})",
               "ko": f"참석 답변 접수: 2026 서울스마트도시상 시상식 참석 ({app['reference']})",
               "pt": f"Resposta recebida: presença confirmada na cerimônia de premiação do {PRIZE} 2026 "
                     f"({app['reference']})"}[lang]
    return Expect(email, subject, text=[NAMES[lang], f"{delegate}, Head of Smart City Office",
                                        "Step-free access 휠체어", "AYSE YILMAZ, Türkiye"],
                  html=["Head of Smart City Office", "Step-free access 휠체어"], events=events)


def rsvp_reminder(env: Env, lang: str) -> Expect:
    """The real job: intake's RSVP reminders, run the day before the RSVP date."""
    from services.intake.ops import ceremony

    app, email, _ = _invited(env, lang)
    env.relay("intake")
    before = len(env.publisher.published)
    with env.db("intake").session() as s:
        assert ceremony.due_rsvp_reminders(s, datetime(2099, 9, 20, 0, 0, tzinfo=timezone.utc),
                                           public_url=PUBLIC_URL) >= 1
    env.relay("intake")
    events = _of(env, before, "ceremony.rsvp_reminder", app["id"])
    assert len(events) == 1
    url = f"{PUBLIC_URL}/portal/applications/{app['id']}/ceremony"
    subject = {"en": f"Reminder: please answer by {RSVP_DAY['en']}: Seoul Smart City Prize 2026 award ceremony, "
                     f"{CEREMONY_DAY['en']} ({app['reference']})",
               "ko": f"안내: {RSVP_DAY['ko']}까지 답변해 주십시오: 2026 서울스마트도시상 시상식 {CEREMONY_DAY['ko']} "
                     f"({app['reference']})",
               "pt": f"Lembrete: responda até {RSVP_DAY['pt']}: cerimônia de premiação do {PRIZE} 2026, "
                     f"{CEREMONY_DAY['pt']} ({app['reference']})"}[lang]
    return Expect(email, subject, text=[NAMES[lang], app["reference"], app["title"], url],
                  html=[f'href="{url}"'], events=events)


def ceremony_changed(env: Env, lang: str) -> Expect:
    """The real action: the secretariat moves the ceremony to another venue after inviting."""
    app, email, _ = _invited(env, lang)
    env.relay("intake")
    before = len(env.publisher.published)
    venue = f"Seoul City Hall {env.unique()}"
    r = env.intake.put(f"/api/calls/{env.call_id}/ceremony", headers=auth(env.sec), json={**CEREMONY, "venue": venue})
    assert r.status_code == 200, r.get_json()
    env.relay("intake")
    events = _of(env, before, "ceremony.changed", app["id"])
    assert len(events) == 1
    subject = {"en": "Change to the Seoul Smart City Prize 2026 award ceremony: new venue",
               "ko": "2026 서울스마트도시상 시상식 변경 안내: 장소",
               "pt": f"Alteração na cerimônia de premiação do {PRIZE} 2026: novo local"}[lang]
    return Expect(email, subject, text=[NAMES[lang], venue, app["reference"], "Beyoğlu Belediyesi"],
                  html=[venue], escaped=False, events=events)


def _contact_email_changed(env: Env, lang: str, addressee: str) -> Expect:
    """The real action: the secretariat moves a city's sign-in address over intake's API; one
    applicant.updated mails both the new address and the old one, each its own wording."""
    old, new = _address(env, "officer", "kcg.example.tw"), _address(env, "successor", "kcg.example.tw")
    name = f"{SCRIPT} {NAMES[lang]}"
    applicant, _ = register(env.intake, contact_email=old, contact_name=name, language=lang)
    env.relay("intake")
    before = len(env.publisher.published)
    r = env.intake.put(f"/api/applicants/{applicant['id']}/contact-email", headers=auth(env.sec),
                       json={"contact_email": new.upper(), "reason": "the officer retired"})
    assert r.status_code == 200, r.get_json()
    env.relay("intake")
    events = [m for m in env.publisher.published[before:] if m[0] == "applicant.updated"]
    assert len(events) == 1
    notice = {"en": "Security notice: ", "ko": "보안 알림: ", "pt": "Aviso de segurança: "}[lang] if addressee == "old" else ""
    subject = notice + {"en": "Your sign-in address for the Seoul Smart City Prize was changed",
                        "ko": "서울스마트도시상 로그인 주소가 변경되었습니다",
                        "pt": f"{'s' if notice else 'S'}eu endereço de acesso ao {PRIZE} foi alterado"}[lang]
    if addressee == "old":
        words = {"en": "If you did not ask for this, reply to the secretariat", "ko": "요청하지 않으셨다면 즉시 사무국에 회신",
                 "pt": "responda imediatamente à secretaria"}
        recipient, also = old, (new,)
    else:
        words = {"en": "From now on, sign-in links", "ko": "앞으로 로그인 링크", "pt": "A partir de agora, os links de acesso"}
        recipient, also = new, (old,)
    return Expect(recipient, subject, text=[name, old, new, words[lang]], html=[old, new],
                  events=events, also=also)


def contact_email_changed(env: Env, lang: str) -> Expect:
    return _contact_email_changed(env, lang, "new")


def contact_email_changed_old(env: Env, lang: str) -> Expect:
    return _contact_email_changed(env, lang, "old")

# --- outreach (issue 17, the invitations lane): each with the unsubscribe link --------------------

def _prospect(env: Env, lang: str, domain: str) -> tuple[str, str, str]:
    """A prospect of the secretariat's (what the prospects pages store): (id, address, organisation)."""
    from services.intake.models import Prospect
    pid, email, now = str(uuid.uuid4()), _address(env, "mayor", domain), datetime.now(timezone.utc)
    organisation = f"{SCRIPT} City of Lublin {env.unique()}"
    with env.db("intake").session() as s, s.begin():
        s.add(Prospect(id=pid, organisation=organisation, applicant_type="city_government", city="Lublin",
                       country="PL", region="europe", contact_name=NAMES[lang], email=email, language=lang,
                       met_at="Smart City Summit and Expo 2023", met_on="2023-03-28", notes="", owner="",
                       version=1, created_at=now, created_by="test", updated_at=now, updated_by="test"))
    return pid, email, organisation


def _outreach_events(env: Env, before: int, type_: str, pid: str) -> list[tuple]:
    return [m for m in env.publisher.published[before:] if m[0] == type_ and pid in str(m[1])]


def outreach_invitation(env: Env, lang: str) -> Expect:
    """The real action: the secretariat invites a prospect over intake's API."""
    pid, email, organisation = _prospect(env, lang, "lublin.example.pl")
    before = len(env.publisher.published)
    r = env.intake.post(f"/api/calls/{env.call_id}/outreach/invitations", headers=auth(env.sec),
                        json={"prospect_ids": [pid]})
    assert r.status_code == 201, r.get_json()
    env.relay("intake")
    events = _outreach_events(env, before, "outreach.invited", pid)
    url = (events[0][1] if isinstance(events[0][1], dict) else json.loads(events[0][1]))["data"]["url"]
    subject = {"en": "Invitation to apply for the 2026 Seoul Smart City Prize",
               "ko": "2026 서울스마트도시상 신청 초대",
               "pt": f"Convite para se candidatar ao {PRIZE} 2026"}[lang]
    return Expect(email, subject, text=[NAMES[lang], url, organisation, "/unsubscribe/"],
                  html=[f'href="{url}"', "/unsubscribe/"], events=events)


def outreach_reminder(env: Env, lang: str) -> Expect:
    """The real job: intake's outreach reminders, three days before the call closes, to a prospect
    invited who has not registered."""
    from services.intake.ops import outreach_reminders
    pid, email, organisation = _prospect(env, lang, "budapest.example.hu")
    r = env.intake.post(f"/api/calls/{env.call_id}/outreach/invitations", headers=auth(env.sec),
                        json={"prospect_ids": [pid]})
    assert r.status_code == 201, r.get_json()
    env.relay("intake")
    before = len(env.publisher.published)
    with env.db("intake").session() as s:
        assert outreach_reminders.due_outreach_reminders(s, datetime(2099, 7, 11, 9, 1, tzinfo=timezone.utc),
                                                         public_url=PUBLIC_URL) >= 1
    env.relay("intake")
    events = _outreach_events(env, before, "outreach.reminder", pid)
    subject = {"en": "Reminder: register to apply before 14 July 2099 (Seoul Smart City Prize 2026)",
               "ko": "[알림] 신청 등록을 해 주십시오: 2099년 7월 14일 마감 (2026 서울스마트도시상)",
               "pt": f"Lembrete: cadastre-se para se candidatar até 14 de julho de 2099 ({PRIZE} 2026)"}[lang]
    return Expect(email, subject, text=[organisation, f"{PUBLIC_URL}/portal/register?invitation=", "/unsubscribe/"],
                  html=["/unsubscribe/"], events=events)


# --- the edition's events (issue 17): intake's own operations invite a prospect, who answers ---

EVENT_SIGNOFF = {"en": "WeGO Secretariat", "ko": "WeGO 사무국", "pt": "Secretaria da WeGO"}


def _event_invited(env: Env, lang: str) -> tuple[dict, str]:
    from tests.support.events import add_prospect, invite, new_event
    email = _address(env, "prospect", "lublin.example.pl")
    add_prospect(env.db("intake"), env.call_id, email, contact_name=NAMES[lang], language=lang,
                 organisation=f"{SCRIPT} Urząd Miasta Lublin")
    event = new_event(env.db("intake"), env.call_id, name=f"Mayors Forum {env.unique()}",
                      starts_at=datetime(2099, 10, 10, 9, 0, tzinfo=timezone.utc),
                      rsvp_by=datetime(2099, 9, 20, 9, 0, tzinfo=timezone.utc))
    assert invite(env.db("intake"), event["id"], "picked", PUBLIC_URL,
                  picked=[_prospect_id(env, email)]) == 1
    return event, email


def _prospect_id(env: Env, email: str) -> str:
    from services.intake.models import Prospect
    with env.db("intake").session() as s:
        return s.query(Prospect).filter_by(email=email).one().id


def event_invitation(env: Env, lang: str) -> Expect:
    """The real action: the secretariat invites a picked prospect to an edition's event."""
    before = len(env.publisher.published)
    event, email = _event_invited(env, lang)
    env.relay("intake")
    events = _of(env, before, "event.invited", event["id"])
    assert len(events) == 1
    subject = {"en": f"Invitation: {event['name']}, {CEREMONY_DAY['en']} (Seoul Smart City Prize 2026)",
               "ko": f"초청: {event['name']}, {CEREMONY_DAY['ko']} (2026 서울스마트도시상)",
               "pt": f"Convite: {event['name']}, {CEREMONY_DAY['pt']} ({PRIZE} 2026)"}[lang]
    return Expect(email, subject, text=[NAMES[lang], "Urząd Miasta Lublin", f"{PUBLIC_URL}/events/rsvp/",
                                        "18:00 (Asia/Seoul; 2099-10-10 09:00 UTC)", "110 Sejong-daero"],
                  html=[f'href="{PUBLIC_URL}/events/rsvp/', "Urząd Miasta Lublin"], events=events,
                  signoff=EVENT_SIGNOFF[lang])


def event_rsvp_received(env: Env, lang: str) -> Expect:
    """The real action: the invited prospect answers through their link (intake's RSVP page)."""
    from tests.support.events import rsvp_path
    event, email = _event_invited(env, lang)
    env.relay("intake")
    before = len(env.publisher.published)
    page = env.intake.get(rsvp_path(env.db("intake"), email))
    assert page.status_code == 200
    csrf = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    delegate = f"{SCRIPT} Zofia Wiśniewska"
    r = env.intake.post(rsvp_path(env.db("intake"), email), data={
        "csrf_token": csrf, "attending": "yes", "delegate0_name": delegate, "delegate0_role": "Deputy mayor",
        "delegate0_email": "", "delegate1_name": "", "accessibility": "Step-free access 휠체어"})
    assert r.status_code == 303, r.get_data(as_text=True)
    env.relay("intake")
    events = _of(env, before, "event.rsvp_received", event["id"])
    subject = {"en": f"Answer received: attending {event['name']} ({CEREMONY_DAY['en']})",
               "ko": f"답변 접수: {event['name']} ({CEREMONY_DAY['ko']}) 참석",
               "pt": f"Resposta recebida: presença confirmada em {event['name']} ({CEREMONY_DAY['pt']})"}[lang]
    return Expect(email, subject, text=[NAMES[lang], f"{delegate}, Deputy mayor", "Step-free access 휠체어"],
                  html=["Deputy mayor", "Step-free access 휠체어"], events=events, signoff=EVENT_SIGNOFF[lang])


# template (or "template/variant") -> the function that makes it happen. Every template in the
# folder needs one; a variant is a second case of the same template.
CASES: dict[str, Callable[[Env, str], Expect]] = {
    "submission_ack": submission_ack,
    "signin_link": signin_link,
    "signin_link/already_registered": signin_link_already_registered,
    "draft_reminder": draft_reminder,
    "juror_invited": juror_invited,
    "review_assigned": review_assigned,
    "review_reminder": review_reminder,
    "eligibility_result": eligibility_result,
    "finalist_notice": finalist_notice,
    "not_advanced": not_advanced,
    "award_winner": award_winner,
    "not_awarded": not_awarded,
    "delivery_failed_alert": delivery_failed_alert,
    "ceremony_invitation": ceremony_invitation,
    "rsvp_received": rsvp_received,
    "rsvp_reminder": rsvp_reminder,
    "ceremony_changed": ceremony_changed,
    "contact_email_changed": contact_email_changed,
    "contact_email_changed/old": contact_email_changed_old,
    "event_invitation": event_invitation,
    "event_rsvp_received": event_rsvp_received,
    "outreach_invitation": outreach_invitation,
    "outreach_reminder": outreach_reminder,
}


def _template(case: str) -> str:
    return case.split("/")[0]


def test_every_template_in_the_folder_has_an_end_to_end_case():
    missing = sorted(set(TEMPLATES) - {_template(c) for c in CASES})
    gone = sorted({_template(c) for c in CASES} - set(TEMPLATES))
    assert not missing, f"templates without an end-to-end case: {missing}; add a case function to CASES"
    assert not gone, f"cases of templates that no longer exist: {gone}"
    for name, languages in TEMPLATES.items():
        for language in languages:
            assert (FOLDER / f"{name}.{language}.html").exists(), f"{name}.{language}.txt has no .html"


@pytest.mark.parametrize("case,lang", [(name, lang) for name in CASES for lang in TEMPLATES.get(_template(name), ["en"])])
def test_the_event_brings_one_email_to_the_right_person_in_their_language(env, case, lang):
    template = _template(case)
    before = len(env.publisher.published)
    expect = CASES[case](env, lang)
    published = expect.events if expect.events is not None else env.publisher.published[before:]
    event_ids = {str(body["id"]) if isinstance(body, dict) else _id_of(body) for _, body, *_ in published}
    assert wait_until(lambda: env.emails(template, event_ids), timeout=30), \
        f"no {template} email arrived; the SMTP server has {[m['to'] for m in env.smtp.messages]}"

    # the same events published again (a relay that died before marking them sent): nothing more
    env.publisher.publish_many(published)
    env.drain()
    emails = env.emails(template, event_ids)
    assert sorted(m["to"] for m in emails) == sorted([[r] for r in (expect.recipient, *expect.also)]), \
        "not exactly one email each, to the right people"
    [message] = [m["message"] for m in emails if m["to"] == [expect.recipient]]

    assert message["To"] == expect.recipient
    assert str(message["Subject"]) == expect.subject
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert f'<html lang="{lang}"' in html
    assert (expect.signoff or SIGNOFF[lang]) in text and not any(foreign in text for foreign in FOREIGN[lang])
    for part in expect.text:
        assert part in text, f"{part!r} is not in the text:\n{text}"
    for part in expect.html:
        assert part in html, f"{part!r} is not in the HTML:\n{html}"
    if expect.escaped:
        assert ESCAPED in html and "<script" not in html.lower()
        assert SCRIPT in text  # plain text is not escaped


def _id_of(body: str) -> str:
    return str(json.loads(body)["id"])
