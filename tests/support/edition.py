"""One edition in every state a page can show, on the three services served over real HTTP with
their workers running (embedded stack), and the browser signed in as each kind of person: what
the accessibility tests (tests/e2e/test_axe_every_page.py) walk through.

The edition: two staff members (one signs in, with a personal API token); an open 2026 call with its ceremony and a 2027 draft; four applications submitted
(three screened eligible, one waiting for screening) and a draft; two jurors who accepted; the
finalist round scored and closed (not released, so its release preview can be shown) and the award
round open with a review in progress; two finalists invited to the ceremony, one of them answered;
a group email to the jurors with reviews pending, addressed; in intake, the award decisions of the
finalists (a winner with an approved public photo, a special mention) and their release, so the
public results show. Everything goes through the services' APIs and events, as in production; only
the releases (and the award decisions) reach intake by hand, since review's rounds stay unreleased."""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from werkzeug.serving import make_server

from services.intake.handlers import HANDLERS as INTAKE_HANDLERS
from services.intake.handlers import inviter
from services.intake.models import inbox as intake_inbox
from services.intake.models import outbox as intake_outbox
from services.intake.ops import public_photos
from services.intake.ops import staff as staff_ops
from shared.auth import issue_token
from shared.events import make_event, parse_message
from shared.inbox import InboxDispatcher, bind
from tests.api.test_staff_accounts import _copied
from tests.support.stack import (SERVICES, KAOHSIUNG, Stack, auth, complete_new_draft, open_call, register,
                                 start_draft, submit_application, upload_document, wait_until)

STAFF, STAFF_NAME = "seo.yuna@wego.example", "Seo Yuna"
APPLICANT = KAOHSIUNG["contact_email"]
# (registration, category, title); the first is the applicant who signs in
APPLICANTS = {
    "kaohsiung": ({}, "tech_innovacity", "Hydrogen buses for the harbour"),
    "lublin": ({"organisation": "Urząd Miasta Lublin", "country": "PL", "city": "Lublin",
                "contact_name": "Zofia Wiśniewska", "contact_email": "zofia@lublin.example.pl"},
               "tech_innovacity", "Lublin digital twin"),
    "beyoglu": ({"organisation": "Beyoğlu Belediyesi", "country": "TR", "city": "Beyoğlu",
                 "contact_name": "Ayşe Yılmaz", "contact_email": "ayse.yilmaz.smart-city-office@beyoglu.example.tr"},
                "human_centricity", "Accessible Beyoğlu"),
    "chiangmai": ({"organisation": "Chiang Mai Municipality", "country": "TH", "city": "Chiang Mai",
                   "contact_name": "Somchai Jaidee", "contact_email": "somchai@chiangmai.example.th"},
                  "human_centricity", "Clean air for Chiang Mai"),  # left waiting for screening
}
# every juror gives these to every criterion of the finalist round: one finalist per category
SCORES = {"kaohsiung": 8, "lublin": 6, "beyoglu": 7}
JURORS = {"kenji.sato@kyoto-u.example.jp": ("Kenji Sato", "JP"), "ana@guarulhos.example.br": ("Ana Souza", "BR")}


@dataclass
class Edition:
    stack: Stack
    urls: dict
    call_id: str = ""
    draft_call_id: str = ""
    apps: dict = field(default_factory=dict)  # name -> intake's application
    draft_id: str = ""
    jurors: dict = field(default_factory=dict)  # email -> juror id
    rounds: dict = field(default_factory=dict)  # kind -> round id
    message_id: str = ""
    delivery_id: str = ""
    photo_id: str = ""  # kaohsiung's PNG, its approved public photo
    prospects: dict = field(default_factory=dict)  # issue 17: organisation -> prospect id
    outreach: dict = field(default_factory=dict)  # invitations to apply (issue 17): see _outreach
    event_id: str = ""  # the edition's Mayors Forum (issue 17), guests invited, one answered
    event_rsvp_path: str = ""  # a guest's answer page (/events/rsvp/<token>)

    @property
    def sec(self) -> dict:
        return auth(self.stack.secretariat_token())

    def client(self, svc: str):
        return self.stack.clients[svc]


class _Slot:
    """A WSGI app filled in later: the servers bind their ports first (no race for a free port),
    then the services are made with settings that know those ports."""
    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


def serve(settings_for) -> tuple[Stack, dict, list]:
    """The three services over real HTTP, each on a port of its own, with their workers running.
    ``settings_for(urls)`` makes the settings. Returns (stack, urls, servers)."""
    slots = {svc: _Slot() for svc in SERVICES}
    servers = {svc: make_server("127.0.0.1", 0, slots[svc], threaded=True) for svc in SERVICES}
    urls = {svc: f"http://127.0.0.1:{server.server_port}" for svc, server in servers.items()}
    stack = Stack(settings_for(urls)).start_workers()
    for svc, server in servers.items():
        slots[svc].app = stack.apps[svc]
        threading.Thread(target=server.serve_forever, daemon=True).start()
    return stack, urls, list(servers.values())


def _ok(response, status: int = 200):
    assert response.status_code == status, (response.request.path, response.status_code, response.get_json())
    return response.get_json()


def seed(stack: Stack, urls: dict) -> Edition:
    e = Edition(stack, urls)
    db = stack.apps["intake"].extensions["prize"]["db"]
    member = staff_ops.add_member(db, STAFF, STAFF_NAME, "admin", "en", "a11y test")  # as `prize staff add` does
    staff_ops.create_token(db, member["id"], "monthly export script (finance office)", 30)
    staff_ops.add_member(db, "kim.minji.secretariat-office@wego.example", "Kim Min-ji", "secretariat", "en", STAFF)
    _intake(e)
    _review(e)
    _ceremony(e)
    _results(e)
    _funnel(e)
    _events(e)
    _notify(e)
    _prospects(e)  # issue 17
    _outreach(e)
    for svc in ("review", "notify"):  # they learn of staff by events
        assert wait_until(lambda s=svc: _copied(stack, s, STAFF, active=True), timeout=30), svc
    return e


def _intake(e: Edition) -> None:
    intake, sec = e.client("intake"), e.stack.secretariat_token()
    e.call_id = open_call(intake, sec)["id"]
    starts = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=60)
    _ok(intake.put(f"/api/calls/{e.call_id}/ceremony", headers=auth(sec), json={
        "starts_at": starts.isoformat(), "time_zone": "Asia/Seoul", "venue": "COEX, Seoul",
        "address": "513 Yeongdong-daero, Gangnam-gu", "rsvp_by": (starts - timedelta(days=14)).isoformat(),
        "max_delegates": 3}))
    e.draft_call_id = _ok(intake.post("/api/calls", headers=auth(sec), json={
        "year": 2027, "theme": "Cities that listen", "opens_at": "2026-11-01T09:00:00+09:00",
        "closes_at": "2099-06-30T18:00:00+09:00", "time_zone": "Asia/Seoul"}), 201)["id"]
    for name, (fields, category, title) in APPLICANTS.items():
        _, token = register(intake, **fields)
        summary = f"{title}: what the city did, with its residents."
        if name == "kaohsiung":  # with a photo among its documents, for the public results
            draft = complete_new_draft(intake, token, e.call_id, category, title=title, summary=summary)
            e.photo_id = upload_document(intake, token, draft["id"], kind="supporting_material", body=tiny_png(),
                                         filename="harbour-buses.png", content_type="image/png")["id"]
            e.apps[name] = _ok(intake.post(f"/api/applications/{draft['id']}/submit", headers=auth(token)))
        else:
            e.apps[name] = submit_application(intake, token, e.call_id, category, title=title, summary=summary)
        e.apps[name]["token"] = token
    e.draft_id = start_draft(intake, e.apps["kaohsiung"]["token"], e.call_id, "human_centricity",
                             title="Open data for every district", summary="A portal residents asked for.")["id"]


def _review(e: Edition) -> None:
    review, sec = e.client("review"), e.sec
    assert wait_until(lambda: _ok(review.get("/api/applications", headers=sec))["total"] == len(e.apps),
                      timeout=30), "review never heard of the applications"
    for name, app in e.apps.items():
        if name != "chiangmai":
            _ok(review.post(f"/api/applications/{app['id']}/screening", headers=sec,
                            json={"eligible": True, "reason": "", "send_now": True}))
    for email, (name, country) in JURORS.items():
        juror = _ok(review.post("/api/jurors", headers=sec, json={
            "name": name, "email": email, "country": country, "organisation": "University",
            "expertise": ["tech_innovacity", "human_centricity"], "language": "en"}), 201)
        e.jurors[email] = juror["id"]
        _ok(review.post("/api/jury/invitation", headers=_juror(e, juror["id"]), json={"answer": "accept"}))
    e.rounds["finalist"] = _open_and_assign(e, "finalist")
    by_id = {app["id"]: name for name, app in e.apps.items()}
    for juror_id in e.jurors.values():
        for item, keys in _assignments(e, juror_id, "finalist"):
            _score(e, juror_id, item, {k: SCORES[by_id[item["application_id"]]] for k in keys}, submit=True)
    _ok(review.post(f"/api/rounds/{e.rounds['finalist']}/close", headers=sec, json={}))
    e.rounds["award"] = _open_and_assign(e, "award")
    juror_id = next(iter(e.jurors.values()))
    item, keys = _assignments(e, juror_id, "award")[0]
    _score(e, juror_id, item, {keys[0]: 9}, submit=False)  # a review in progress


def _juror(e: Edition, juror_id: str) -> dict:
    return auth(issue_token(e.stack.settings.secret_key, "juror", juror_id))


def _open_and_assign(e: Edition, kind: str) -> str:
    review = e.client("review")
    body = {"call_id": e.call_id, "kind": kind, "jurors_per_application": 2, "min_reviews": 1}
    if kind == "finalist":
        body["advance_per_category"] = 1
    round_id = _ok(review.post("/api/rounds", headers=e.sec, json=body), 201)["id"]
    _ok(review.post(f"/api/rounds/{round_id}/assign", headers=e.sec))
    return round_id


def _assignments(e: Edition, juror_id: str, kind: str) -> list[tuple[dict, list[str]]]:
    review, headers = e.client("review"), _juror(e, juror_id)
    mine = _ok(review.get("/api/jury/assignments", headers=headers))
    items = [a for r in mine["rounds"] if r["kind"] == kind for a in r["assignments"]]
    found = []
    for item in items:
        application = _ok(review.get(f"/api/jury/applications/{item['application_id']}", headers=headers))
        found.append((item, [c["key"] for c in application["criteria"]]))
    return found


def _score(e: Edition, juror_id: str, item: dict, scores: dict, submit: bool) -> None:
    review, headers = e.client("review"), _juror(e, juror_id)
    saved = _ok(review.patch(f"/api/jury/assignments/{item['id']}", headers=headers, json={
        "scores": scores, "comments": {k: f"Scored {v}: the residents' evidence." for k, v in scores.items()},
        "revision": item["revision"]}))
    if submit:
        _ok(review.post(f"/api/jury/assignments/{item['id']}/submit", headers=headers,
                        json={"revision": saved["revision"]}))


def _ceremony(e: Edition) -> None:
    """The finalists' results released to intake (review's round stays unreleased, for its
    preview): both are invited; Beyoğlu answers, with a long delegation."""
    intake, db = e.client("intake"), e.stack.apps["intake"].extensions["prize"]["db"]
    finalists = [e.apps["kaohsiung"], e.apps["beyoglu"]]
    for app in finalists:  # review's decision has reached intake (the applicant sees it at release)
        assert wait_until(lambda a=app: _decided(db, a["id"]), timeout=30), app["title"]
    dispatch = InboxDispatcher(db, intake_inbox, intake_outbox, "intake",
                               bind(INTAKE_HANDLERS, invite=inviter(e.urls["intake"])))
    for app in finalists:
        event = make_event("results.released", {"application_id": app["id"], "round": "finalist",
                                                 "released_at": datetime.now(timezone.utc)}, producer="review")
        dispatch(parse_message(json.loads(json.dumps(event.to_message()))))
    beyoglu = e.apps["beyoglu"]
    _ok(intake.put(f"/api/applications/{beyoglu['id']}/ceremony", headers=auth(beyoglu["token"]), json={
        "attending": True, "delegates": [
            {"name": "Ayşe Yılmaz", "role": "Head of the Smart City Office", "email": APPLICANTS["beyoglu"][0]["contact_email"]},
            {"name": "Mehmet Demir", "role": "Deputy Mayor for Digital Transformation"}],
        "substitute": {"name": "Elif Kaya", "role": "Project manager"},
        "accessibility": "Step-free access for one delegate, as in https://beyoglu.bel.tr/engelsiz-beyoglu/erisilebilirlik-rehberi-2026",
        "visa_letter": True, "privacy_consent": 1, "visa_details": "AYSE YILMAZ, Türkiye, U12345678; MEHMET DEMIR, Türkiye, U87654321",
        "comments": "Arriving on 9 October."}))


def _results(e: Edition) -> None:
    """The award round of 2026 as intake learns it: Kaohsiung wins (its photo approved), Beyoğlu
    gets a special mention, and both are released, so the public results page has content."""
    db = e.stack.apps["intake"].extensions["prize"]["db"]
    dispatch = InboxDispatcher(db, intake_inbox, intake_outbox, "intake",
                               bind(INTAKE_HANDLERS, invite=inviter(e.urls["intake"])))
    now = datetime.now(timezone.utc)
    for name, outcome, award in (("kaohsiung", "winner", "Grand Prize"), ("beyoglu", "special_mention", "")):
        app = e.apps[name]
        for type_, data in (("award.decided", {"application_id": app["id"], "reference": app["reference"],
                                               "outcome": outcome, "award": award, "decided_at": now}),
                            ("results.released", {"application_id": app["id"], "round": "award", "released_at": now})):
            event = make_event(type_, data, producer="review")
            dispatch(parse_message(json.loads(json.dumps(event.to_message()))))
    public_photos.approve(db, e.call_id, e.apps["kaohsiung"]["id"], e.photo_id, STAFF, now)


def tiny_png(width: int = 48, height: int = 32) -> bytes:
    """A real PNG (a harbour-blue rectangle), so the browser draws the public photo."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + b"\x0b\x5c\xad" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
def _events(e: Edition) -> None:
    """The edition's Mayors Forum (issue 17): two prospects met in Taipei (one opted out), the
    applicants and a prospect invited; the prospect answers with a delegation and a visa letter."""
    from tests.support.events import add_prospect, invite, new_event, rsvp_path
    db = e.stack.apps["intake"].extensions["prize"]["db"]
    ryde = add_prospect(db, e.call_id, "mayor.office@ryde.example.au", organisation="City of Ryde", country="AU",
                        region="asia_pacific", city="Ryde", contact_name="Jordan Smith")
    add_prospect(db, e.call_id, "smartcity@guarulhos.example.br", organisation="Prefeitura de Guarulhos",
                 country="BR", region="latin_america", language="pt", opted_out_at=datetime.now(timezone.utc))
    event = new_event(db, e.call_id, name="WeGO Mayors Forum 2026", max_delegates=3)
    e.event_id = event["id"]
    invite(db, e.event_id, "picked", e.urls["intake"], picked=[ryde])
    invite(db, e.event_id, "applicants", e.urls["intake"])
    e.event_rsvp_path = rsvp_path(db, "mayor.office@ryde.example.au")
    from services.intake.ops import event_rsvp
    event_rsvp.answer(db, e.event_rsvp_path.rsplit("/", 1)[1], {
        "attending": True, "delegates": [{"name": "Jordan Smith", "role": "Mayor of Ryde"},
                                         {"name": "Priya Raman", "role": "Smart city lead", "email": "priya@ryde.example.au"}],
        "substitute": {"name": "Alex Chen", "role": "Deputy general manager"}, "visa_letter": True,
        "visa_details": "JORDAN SMITH, Australia", "privacy_consent": 1, "accessibility": "", "comments": ""},
        datetime.now(timezone.utc), e.urls["intake"])


def _decided(db, application_id: str) -> bool:
    from services.intake.models import StatusUpdate
    with db.session() as s:
        return s.scalar(select(StatusUpdate.event_id).where(StatusUpdate.application_id == application_id,
                                                            StatusUpdate.stage == "finalist")) is not None


def _notify(e: Edition) -> None:
    notify, sec = e.client("notify"), e.sec
    message = _ok(notify.post("/api/messages", headers=sec, json={
        "year": 2026, "audience": "jurors_pending",
        "texts": {"en": {"subject": "Three days left, {{ name }}",
                         "body": "Dear {{ name }},\n\nyour reviews of the award round wait for you."}}}), 201)
    e.message_id = message["id"]
    _ok(notify.post(f"/api/messages/{e.message_id}/members", headers=sec), 202)
    assert wait_until(lambda: _ok(notify.get(f"/api/messages/{e.message_id}", headers=sec))["message"]["status"] == "addressed",
                      timeout=30), "review never answered with the jurors"
    deliveries = wait_until(lambda: _ok(notify.get("/api/deliveries", headers=sec))["items"], timeout=30)
    e.delivery_id = deliveries[0]["id"]


# --- issue 17: outreach -------------------------------------------------------------------------

PROSPECTS = [  # two of the cities met at the 2023 Smart City Summit and Expo
    {"organisation": "Budapest Főváros Önkormányzata", "city": "Budapest", "country": "HU",
     "contact_name": "Bálint Kovács", "email": "balint.kovacs@budapest.example.hu", "language": "en",
     "met_at": "Smart City Summit and Expo", "met_on": "2023-03-28", "notes": "Asked about the Leadership category."},
    {"organisation": "City of Ryde", "city": "Ryde", "country": "AU", "contact_name": "Olivia Chen",
     "email": "olivia.chen@ryde.example.au", "met_at": "Smart City Summit and Expo", "met_on": "2023-03-29"},
]


def _prospects(e: Edition) -> None:
    for body in PROSPECTS:
        made = _ok(e.client("intake").post("/api/prospects", headers=e.sec, json={**body, "call_id": e.call_id}), 201)
        e.prospects[body["organisation"]] = made["id"]


# --- signing the browser in -----------------------------------------------------------------------

def outbox_signins(stack: Stack, service: str) -> list[dict]:
    """The data of a service's signin.requested events (the one-time links it had mailed), oldest first."""
    from importlib import import_module
    outbox = import_module(f"services.{service}.models").outbox
    with stack.apps[service].extensions["prize"]["db"].engine.connect() as conn:
        bodies = conn.execute(select(outbox.c.body).where(outbox.c.type == "signin.requested")
                              .order_by(outbox.c.seq)).scalars().all()
    return [json.loads(b)["data"] for b in bodies]


# --- invitations to apply (issue 17, the invitations lane) ---------------------------------------

def _prospect(db, email: str, organisation: str, city: str, country: str, language: str) -> str:
    import uuid
    from services.intake.models import Prospect
    pid, now = str(uuid.uuid4()), datetime.now(timezone.utc)
    with db.session() as s, s.begin():
        s.add(Prospect(id=pid, organisation=organisation, applicant_type="city_government", city=city,
                       country=country, region="other", contact_name="", email=email, language=language,
                       met_at="Smart City Summit and Expo 2023", met_on="2023-03-28", notes="", owner=STAFF,
                       version=1, created_at=now, created_by="a11y test", updated_at=now, updated_by="a11y test"))
    return pid


def _outreach(e: Edition) -> None:
    """Prospects: one to invite on the walk (``to_invite``), one invited whose link is still valid
    (``link``), one invited who registered since (``registered_link``), and an unsubscribe link."""
    from services.notify.ops.optout import Unsubscribe
    intake, db = e.client("intake"), e.stack.apps["intake"].extensions["prize"]["db"]
    e.outreach["to_invite"] = _prospect(db, "prezydent@lublin.example.pl", "Miasto Lublin", "Lublin", "PL", "en")
    invited = _prospect(db, "smart@budapest.example.hu", "Budapest Főváros", "Budapest", "HU", "en")
    joined = _prospect(db, "info@ryde.example.au", "City of Ryde", "Ryde", "AU", "en")
    _ok(intake.post(f"/api/calls/{e.call_id}/outreach/invitations", headers=e.sec,
                    json={"prospect_ids": [invited, joined]}), 201)
    with db.engine.connect() as conn:
        bodies = conn.execute(select(intake_outbox.c.body).where(intake_outbox.c.type == "outreach.invited")
                              .order_by(intake_outbox.c.seq)).scalars().all()
    urls = {json.loads(b)["data"]["email"]: json.loads(b)["data"]["url"] for b in bodies}
    register(intake, organisation="City of Ryde", country="AU", city="Ryde", contact_name="Jordan Lee",
             contact_email="info@ryde.example.au")
    base = e.urls["intake"]
    e.outreach["link"] = urls["smart@budapest.example.hu"].split(base, 1)[-1]
    e.outreach["registered_link"] = urls["info@ryde.example.au"].split(base, 1)[-1]
    e.outreach["unsubscribe"] = Unsubscribe.of(e.stack.settings).url("smart@budapest.example.hu").split(
        e.urls["notify"], 1)[-1]
# --- the outreach funnel (issue 17): prospects met at the 2023 Summit, some invited and registered ---

FUNNEL_PROSPECTS = (("Lublin", "PL", "lublin"), ("Budapest", "HU", None), ("Chiang Mai", "TH", "chiangmai"),
                    ("Guarulhos", "BR", None), ("Kaohsiung", "TW", "kaohsiung"), ("City of Ryde", "AU", None))


def _funnel(e: Edition) -> None:
    """Six prospects of the 2026 edition met at the Smart City Summit and Expo, four invited, three
    of them the applicants they became (written through intake's models, as the prospects pages
    would); the 2027 draft's funnel then compares with 2026."""
    import uuid
    from services.intake.models import Application, OutreachInvitation, Prospect
    from services.intake.ops.regions import REGION_OF_COUNTRY
    db, now = e.stack.apps["intake"].extensions["prize"]["db"], datetime.now(timezone.utc)
    with db.session() as s, s.begin():
        for n, (city, country, applicant) in enumerate(FUNNEL_PROSPECTS):
            prospect = Prospect(
                id=str(uuid.uuid4()), call_id=e.call_id, organisation=f"{city} city government", city=city,
                country=country, region=REGION_OF_COUNTRY.get(country, "other"), email=f"funnel-{n}@city.example",
                met_at="Smart City Summit and Expo 2023", met_on="2023-03-28", owner=STAFF, created_at=now,
                created_by=STAFF, updated_at=now, updated_by=STAFF,
                applicant_id=s.get(Application, e.apps[applicant]["id"]).applicant_id if applicant else None)
            s.add(prospect)
            s.flush()
            if n < 4 or applicant:
                s.add(OutreachInvitation(id=str(uuid.uuid4()), prospect_id=prospect.id, call_id=e.call_id,
                                         token_hash=uuid.uuid4().hex * 2, event_id=str(uuid.uuid4()), sent_at=now,
                                         sent_by=STAFF, expires_at=now + timedelta(days=14)))
