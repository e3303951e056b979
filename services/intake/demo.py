"""A complete sample edition for trying the portal: ``prize demo``.

Everything goes through intake's own API (in-process, with the app's test client) so the demo
obeys the same rules and writes the same outbox events as real use: with the workers running,
review screens the submitted applications and notify mails the contacts. Running it again finds
what it made before (the call by year, applicants by contact email, applications by category)
and adds nothing twice.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from shared.auth import issue_token

from . import rules
from .demo_outreach import load_outreach
from .models import Applicant

YEAR = 2026
SEOUL = ZoneInfo("Asia/Seoul")

# (applicant, category, application or None for "registered only", submit?)
APPLICANTS = [
    ({"type": "city_government", "organisation": "Kaohsiung City Government (高雄市政府)",
      "country": "TW", "city": "高雄 Kaohsiung", "contact_name": "林美華 Lin Mei-hua",
      "contact_email": "mei.lin@kcg.demo.example.tw", "language": "ko",
      "secondary_name": "陳志明 Chen Chih-ming", "secondary_email": "chen.cm@kcg.demo.example.tw"},
     "tech_innovacity", "Hydrogen buses for the harbour", "Clean mobility for 高雄's port district.", True),
    ({"type": "city_government", "organisation": "Prefeitura de Guarulhos", "country": "BR",
      "city": "Guarulhos", "contact_name": "João Conceição", "contact_email": "joao.conceicao@guarulhos.demo.example.br",
      "language": "pt"},
     "human_centricity", "Saúde na palma da mão", "Atendimento de saúde por aplicativo para todos os bairros.", True),
    ({"type": "city_government", "organisation": "Beyoğlu Belediyesi", "country": "TR", "city": "Beyoğlu",
      "contact_name": "Ayşe Yılmaz", "contact_email": "ayse.yilmaz@beyoglu.demo.example.tr", "language": "en"},
     "human_centricity", "Erişilebilir Beyoğlu", "Engelsiz sokaklar için açık veri haritası.", False),
    ({"type": "city_government", "organisation": "Urząd Miasta Lublin", "country": "PL", "city": "Lublin",
      "contact_name": "Zofia Wiśniewska", "contact_email": "zofia.wisniewska@lublin.demo.example.pl", "language": "en"},
     "tech_innovacity", "Lublin Digital Twin", "A digital twin for planning with residents.", True),
    ({"type": "institution", "organisation": "Budapest Főváros Önkormányzata", "country": "HU",
      "city": "Budapest", "contact_name": "Kovács Ádám", "contact_email": "adam.kovacs@budapest.demo.example.hu",
      "language": "en"},
     "tech_innovacity", "Okos közvilágítás", "Smart street lighting across the districts.", False),
    ({"type": "individual", "organisation": "City of Ryde", "country": "AU", "city": "City of Ryde",
      "contact_name": "Siobhán O'Connor", "contact_email": "siobhan.oconnor@ryde.demo.example.au", "language": "en"},
     "leadership", "Leading a data-driven council", "Open data and citizen dashboards for Ryde.", True),
]


def _closing_time(now: datetime) -> datetime:
    # The 2026 call normally closes on 14 July in Seoul; when the demo runs after that, it closes
    # 60 days ahead so the sample applications can still be submitted.
    nominal = datetime(YEAR, 7, 14, 18, 0, tzinfo=SEOUL)
    if nominal > now + timedelta(days=7):
        return nominal
    later = (now + timedelta(days=60)).astimezone(SEOUL)
    return later.replace(hour=18, minute=0, second=0, microsecond=0)


def _answers(category: str, title: str) -> dict:
    keys = [k for k, _ in (rules.LEADERSHIP_CRITERIA if category == "leadership" else rules.PROJECT_CRITERIA)]
    return {k: f"{title}: what we did for {k.replace('_', ' ')}, with figures and partners." for k in keys}


class DemoError(Exception):
    pass


def _sample_pdf(title: str) -> bytes:
    """A one-page PDF naming the project: enough for the document check (it reads the content)."""
    text = title.encode("ascii", "replace").replace(b"\\", b"/").replace(b"(", b"[").replace(b")", b"]")
    stream = b"BT /F1 18 Tf 72 720 Td (" + text + b") Tj ET"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    body, offsets = b"%PDF-1.4\n", []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(body))
        body += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return body + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


def _post_form(url: str, fields: dict, filename: str, content_type: str, body: bytes) -> None:
    """POST a presigned upload form to an object store (S3) as a browser would."""
    import urllib.request
    import uuid
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f"Content-Type: {content_type}\r\n\r\n".encode() + body + f"\r\n--{boundary}--\r\n".encode())
    request = urllib.request.Request(url, data=b"".join(parts), method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
    except OSError as exc:
        raise DemoError(f"uploading {filename} to the document store failed: {exc}") from exc


def _upload_forms(app, client, headers: dict, application: dict, call: dict) -> None:
    """Upload and check a sample PDF for each document the call requires, as the portal does:
    a presigned form from intake, the file sent to the store, then intake's check."""
    import io
    from urllib.parse import urlsplit

    from shared.storage import FileStorage

    from .web import storage
    listed = _ok(client.get(f"/api/applications/{application['id']}/documents", headers=headers), 200)
    verified = {d["kind"] for d in listed if d["status"] == "verified"}
    for wanted in call.get("documents") or []:
        if not wanted.get("required") or wanted["key"] in verified:
            continue
        body, filename = _sample_pdf(application["title"]), f"{wanted['key']}.pdf"
        started = _ok(client.post(f"/api/applications/{application['id']}/documents", headers=headers, json={
            "kind": wanted["key"], "filename": filename, "content_type": "application/pdf",
            "size": len(body)}), 201)
        form = started["upload"]
        with app.app_context():
            embedded = isinstance(storage(), FileStorage)
        if embedded:  # intake itself plays the store: hand it the form in-process
            url = urlsplit(form["url"])
            r = client.post(f"{url.path}?{url.query}", content_type="multipart/form-data", data={
                **form["fields"], "file": (io.BytesIO(body), filename, "application/pdf")})
            if r.status_code != 204:
                raise DemoError(f"uploading {filename}: {r.status_code} {r.get_json()}")
        else:
            _post_form(form["url"], form["fields"], filename, "application/pdf", body)
        _ok(client.post(f"/api/documents/{started['document']['id']}/complete", headers=headers), 200)


def _ok(response, *statuses):
    if response.status_code not in statuses:
        raise DemoError(f"{response.request.method} {response.request.path}: {response.status_code} "
                        f"{response.get_json()}")
    return response.get_json()


def load_demo(app, now: datetime | None = None) -> dict:
    """Load the sample edition into intake; returns counts of what exists afterwards."""
    now = now or datetime.now(timezone.utc)
    secret = app.config["SECRET_KEY"]
    client = app.test_client()
    sec = {"Authorization": "Bearer " + issue_token(secret, "secretariat", "prize-demo")}
    # Registrations each mail a sign-in link; the per-client limit is for the public, not us.
    app.config["SIGNIN_LIMIT_PER_CLIENT"] = max(app.config.get("SIGNIN_LIMIT_PER_CLIENT") or 0, 1000)
    call = _demo_call(client, sec, now)
    db = app.extensions["prize"]["db"]
    counts = {"call": call["id"], "applicants": 0, "drafts": 0, "submitted": 0}
    # the cities met at the Smart City Summit and Expo 2023, some invited: before the applicants
    # register, so that each registration finds its prospect
    counts.update(load_outreach(client, sec, call["id"], _ok))
    for person, category, title, summary, submit in APPLICANTS:
        applicant_id = _demo_applicant(client, db, person)
        counts["applicants"] += 1
        # The demo acts for the applicant without their mailbox: a signed applicant token.
        headers = {"Authorization": "Bearer " + issue_token(secret, "applicant", applicant_id)}
        application = _demo_application(app, client, headers, call, person, category, title, summary, submit)
        counts["submitted" if application["status"] == "submitted" else "drafts"] += 1
    return counts


def _demo_call(client, sec: dict, now: datetime) -> dict:
    """The demo's edition, opened, with its ceremony (created once)."""
    call = next((c for c in _ok(client.get("/api/calls"), 200) if c["year"] == YEAR), None)
    if call is None:
        # the default terms: every criterion answered, the application form (PDF) required
        call = _ok(client.post("/api/calls", headers=sec, json={
            "year": YEAR, "theme": "Smart cities for everyone: technology that leaves no one behind",
            "opens_at": datetime(YEAR, 1, 15, 9, 0, tzinfo=SEOUL).isoformat(),
            "closes_at": _closing_time(now).isoformat(), "time_zone": "Asia/Seoul",
            "score_min": 1, "score_max": 10,
        }), 201)
    call = _ok(client.post(f"/api/calls/{call['id']}/open", headers=sec), 200)
    # the award ceremony, about three months after the call closes (in 2024: 10 October, COEX);
    # finalists are invited when their round is released
    closes = datetime.fromisoformat(call["closes_at"]).astimezone(SEOUL)
    ceremony_at = (closes + timedelta(days=88)).replace(hour=18, minute=0, second=0, microsecond=0)
    if client.get(f"/api/calls/{call['id']}/ceremony", headers=sec).status_code == 404 and ceremony_at > now:
        _ok(client.put(f"/api/calls/{call['id']}/ceremony", headers=sec, json={
            "starts_at": ceremony_at.isoformat(), "time_zone": "Asia/Seoul", "venue": "COEX, Seoul",
            "address": "513 Yeongdong-daero, Gangnam-gu, Seoul", "max_delegates": 3,
            "details": "Prizes are presented during Smart Life Week; the ceremony is livestreamed.",
            "rsvp_by": (ceremony_at - timedelta(days=20)).isoformat()}), 200)
    return call


def _demo_applicant(client, db, person: dict) -> str:
    """The id of the demo applicant ``person``, registered (with consent to the notice) if new."""
    email = person["contact_email"].lower()
    with db.session() as s:
        applicant_id = s.scalar(select(Applicant.id).where(Applicant.contact_email == email))
    if applicant_id is None:  # registering again would only mail the applicant a sign-in link
        notice = _ok(client.get("/api/privacy-notice"), 200)  # the demo's people agree to the notice
        _ok(client.post("/api/applicants", json={**person, "privacy_consent": notice["version"]}), 202)
        with db.session() as s:
            applicant_id = s.scalar(select(Applicant.id).where(Applicant.contact_email == email))
    return applicant_id


def _demo_application(app, client, headers: dict, call: dict, person: dict, category: str, title: str,
                      summary: str, submit: bool) -> dict:
    """The applicant's application in ``category``: written (half of it for a draft) and, for
    ``submit``, with its forms uploaded and submitted."""
    mine = [a for a in _ok(client.get("/api/applications", headers=headers), 200)
            if a["call_id"] == call["id"] and a["category"] == category]
    if mine:
        application = mine[0]
    else:
        application = _ok(client.post("/api/applications", headers=headers, json={
            "call_id": call["id"], "category": category, "title": title, "summary": summary}), 201)
    if application["status"] != "draft":
        return application
    answers = _answers(category, title)
    if not submit:  # a draft half-way through: some sections still empty
        answers = dict(list(answers.items())[:2])
    application = _ok(client.patch(f"/api/applications/{application['id']}", headers=headers, json={
        "answers": answers, "location": person["city"], "start_date": f"{YEAR - 1}-03-01",
        "budget": "USD 1,200,000", "partners": "University partners, residents' associations",
        "revision": application["revision"]}), 200)
    if submit:
        _upload_forms(app, client, headers, application, call)
        application = _ok(client.post(f"/api/applications/{application['id']}/submit", headers=headers), 200)
    return application


DEMO_ADMIN = {"email": "secretariat@wego-cities.org", "name": "WeGO Secretariat (demo)"}
DEMO_SECRETARIAT = {"email": "jiwon.park@wego-cities.org", "name": "Park Ji-won (demo)"}


def ensure_demo_admin(db) -> dict | None:
    """The demo's first staff member, an admin, unless staff exist already; return it if added."""
    from .ops import staff as staff_ops
    if staff_ops.members(db):
        return None
    return staff_ops.add_member(db, DEMO_ADMIN["email"], DEMO_ADMIN["name"], "admin", "en", "prize demo")


def ensure_demo_staff(db) -> list[dict]:
    """The demo's admin and a secretariat member, on a staff list that is the demo's own (empty,
    or started by the demo's admin); a real staff list is left alone. Return who was added."""
    from .ops import staff as staff_ops
    added = [m for m in [ensure_demo_admin(db)] if m]
    emails = {m["email"] for m in staff_ops.members(db)}
    if DEMO_ADMIN["email"] in emails and DEMO_SECRETARIAT["email"] not in emails:
        added.append(staff_ops.add_member(db, DEMO_SECRETARIAT["email"], DEMO_SECRETARIAT["name"],
                                          "secretariat", "en", "prize demo"))
    return added


def applicant_link(app, email: str, client: str = "prize demo") -> str | None:
    """A one-time sign-in link for the applicant with ``email``, made as a sign-in request makes it
    (the same one-time token and 15 minutes), printed instead of mailed; None for no such applicant."""
    from .accounts import applicant_signin
    from .ops.applicants import signin_subject
    db = app.extensions["prize"]["db"]
    with app.test_request_context(), db.session() as s, s.begin():
        applicant = signin_subject(s, email.strip().lower())
        if applicant is None:
            return None
        return applicant_signin.issue_link(s, applicant, applicant.contact_email, "browser", client,
                                           announce=False).url
