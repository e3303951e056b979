"""shared.signin without a service: hashing, expiry, single use, rate limits, sessions, and the
Flask part configured for a second kind of person (jurors), on SQLite."""
from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from flask import g
from sqlalchemy import Column, MetaData, String, Table, func, insert, select, update
from sqlalchemy.orm import Session as DbSession

from shared import signin as ss
from shared.db import NAMING_CONVENTION, Database, make_engine
from shared.events import ValidationError, make_event, parse_message
from shared.outbox import define_outbox
from shared.signin.links import check_link
from shared.web import create_service_app, require_role

T0 = datetime(2026, 7, 14, 9, 0, tzinfo=timezone.utc)
JUROR = "5d0c5a4e-4a47-4c55-9d59-5cf1a2b1c0aa"


def _schema():
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    jurors = Table("jurors", metadata, Column("id", String(36), primary_key=True),
                   Column("name", String(200)), Column("email", String(320), unique=True),
                   Column("language", String(5)))
    tables = ss.define_signin_tables(metadata, subject_column="juror_id", subject_table="jurors")
    outbox = define_outbox(metadata)
    return metadata, jurors, tables, outbox


@pytest.fixture
def db(tmp_path):
    metadata, jurors, tables, outbox = _schema()
    engine = make_engine(f"sqlite:///{tmp_path / 'signin.sqlite'}")
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(jurors).values(id=JUROR, name="Kim Ji-woo", email="ji-woo@example.org", language="ko"))
    yield SimpleNamespace(engine=engine, tables=tables, jurors=jurors, outbox=outbox)
    engine.dispose()


def _tx(db):
    s = DbSession(db.engine)
    s.begin()
    return s


# --- secrets and time -------------------------------------------------------------------------

def test_only_the_sha256_of_a_secret_is_kept():
    assert ss.hash_secret("abc") == hashlib.sha256(b"abc").hexdigest()
    assert len(ss.hash_secret("x" * 200)) == 64
    assert ss.hash_secret("abc") != ss.hash_secret("abd")


def test_new_secrets_are_long_random_and_never_contain_a_dot():
    made = {ss.new_secret() for _ in range(200)}
    assert len(made) == 200
    # shared.web reads a bearer token with a dot as a signed token: opaque ones must have none
    assert all(len(s) >= 43 and "." not in s for s in made)


def test_expiry_includes_the_instant_itself_and_reads_naive_times_as_utc():
    assert ss.is_expired(T0, T0)
    assert ss.is_expired(T0 - timedelta(microseconds=1), T0)
    assert not ss.is_expired(T0 + timedelta(microseconds=1), T0)
    assert ss.is_expired(T0.replace(tzinfo=None), T0)
    assert not ss.is_expired((T0 + timedelta(seconds=1)).replace(tzinfo=None), T0)


# --- tables -----------------------------------------------------------------------------------

def test_tables_are_named_after_the_subject():
    _, _, tables, _ = _schema()
    assert tables.links.name == "signin_links" and tables.sessions.name == "sessions"
    assert set(tables.links.c.keys()) == {"token_hash", "juror_id", "email", "client", "purpose",
                                          "created_at", "expires_at", "used_at"}
    assert set(tables.sessions.c.keys()) == {"id_hash", "juror_id", "kind", "csrf_token", "created_at",
                                             "expires_at", "last_seen_at", "revoked_at"}
    assert tables.links.c.juror_id.nullable and not tables.sessions.c.juror_id.nullable
    assert [fk.target_fullname for fk in tables.sessions.c.juror_id.foreign_keys] == ["jurors.id"]
    assert {i.name for i in tables.links.indexes} == {"ix_signin_links_juror_id", "ix_signin_links_email",
                                                      "ix_signin_links_client", "ix_signin_links_created_at"}


def test_intake_keeps_its_table_and_column_names():
    from services.intake.models import Session, SignInLink, signin_tables
    assert SignInLink.__table__ is signin_tables.links and Session.__table__ is signin_tables.sessions
    assert "applicant_id" in SignInLink.__table__.c and "applicant_id" in Session.__table__.c
    assert (SignInLink.__table__.name, Session.__table__.name) == ("signin_links", "sessions")


# --- links: single use, expiry ----------------------------------------------------------------

def test_a_link_signs_in_once(db):
    with _tx(db) as s:
        token, expires_at = ss.issue_link(s, db.tables, JUROR, "ji-woo@example.org", "browser", "1.2.3.4", T0)
        assert expires_at == T0 + timedelta(minutes=15)
        stored = s.execute(select(db.tables.links)).one()
        assert stored.token_hash == ss.hash_secret(token) and token not in stored
        assert ss.consume_link(s, db.tables, token, "browser", T0 + timedelta(minutes=1)) == JUROR
        with pytest.raises(ss.LinkRefused) as refused:
            ss.consume_link(s, db.tables, token, "browser", T0 + timedelta(minutes=2))
        assert (refused.value.status, refused.value.message) == (
            410, "This sign-in link has already been used: it works only once.")
        s.commit()


def test_a_link_expires_after_15_minutes(db):
    with _tx(db) as s:
        token, _ = ss.issue_link(s, db.tables, JUROR, "ji-woo@example.org", "api", "1.2.3.4", T0)
        with pytest.raises(ss.LinkRefused) as refused:
            ss.consume_link(s, db.tables, token, "api", T0 + timedelta(minutes=15), noun="sign-in code")
        assert (refused.value.status, refused.value.message) == (
            410, "This sign-in code has expired: it works for 15 minutes.")
        # still unused, so it is refused as expired and not as used
        assert s.scalar(select(db.tables.links.c.used_at)) is None
        assert ss.consume_link(s, db.tables, token, "api", T0 + timedelta(minutes=14, seconds=59)) == JUROR


@pytest.mark.parametrize("case", ["unknown", "empty", "too long", "other purpose", "unknown address"])
def test_links_that_are_not_valid_are_a_400(db, case):
    with _tx(db) as s:
        token, _ = ss.issue_link(s, db.tables, JUROR, "ji-woo@example.org", "browser", "c", T0)
        nobody, _ = ss.issue_link(s, db.tables, None, "nobody@example.org", "browser", "c", T0)
        given, purpose = {"unknown": ("nope", "browser"), "empty": ("", "browser"),
                          "too long": (token + "x" * 200, "browser"), "other purpose": (token, "api"),
                          "unknown address": (nobody, "browser")}[case]
        with pytest.raises(ss.LinkRefused) as refused:
            ss.consume_link(s, db.tables, given, purpose, T0)
        assert (refused.value.status, refused.value.message) == (400, "This sign-in link is not valid.")
    with _tx(db) as s:  # nothing was spent
        assert s.scalar(select(func.count()).select_from(db.tables.links)
                        .where(db.tables.links.c.used_at.is_not(None))) == 0


def test_checking_a_link_spends_nothing_and_refuses_as_spending_would(db):
    """The link's page (a GET, which mail scanners make) checks it; only its button spends it."""
    with _tx(db) as s:
        token, _ = ss.issue_link(s, db.tables, JUROR, "ji-woo@example.org", "browser", "c", T0)
        old, _ = ss.issue_link(s, db.tables, JUROR, "ji-woo@example.org", "browser", "c", T0 - timedelta(minutes=15))
        for _ in range(3):
            assert check_link(s, db.tables, token, "browser", T0 + timedelta(minutes=1)) is None
        assert s.scalar(select(func.count()).select_from(db.tables.links)
                        .where(db.tables.links.c.used_at.is_not(None))) == 0
        assert ss.consume_link(s, db.tables, token, "browser", T0 + timedelta(minutes=2)) == JUROR
        for given, purpose, expected in [
                (token, "browser", (410, "This sign-in link has already been used: it works only once.")),
                (old, "browser", (410, "This sign-in link has expired: it works for 15 minutes.")),
                (old, "api", (400, "This sign-in link is not valid.")), ("nope", "browser", (400, "This sign-in link is not valid.")),
                ("", "browser", (400, "This sign-in link is not valid."))]:
            with pytest.raises(ss.LinkRefused) as checked:
                check_link(s, db.tables, given, purpose, T0 + timedelta(minutes=3))
            with pytest.raises(ss.LinkRefused) as spent:
                ss.consume_link(s, db.tables, given, purpose, T0 + timedelta(minutes=3))
            assert (checked.value.status, checked.value.message) == (spent.value.status, spent.value.message) == expected


def test_lifetimes_in_messages():
    assert [ss.describe_lifetime(timedelta(minutes=m)) for m in (1, 15, 90, 120, 24 * 60, 7 * 24 * 60)] == [
        "1 minute", "15 minutes", "90 minutes", "2 hours", "1 day", "7 days"]


def test_a_link_issued_for_longer_says_so_when_it_has_expired(db):
    with _tx(db) as s:
        token, _ = ss.issue_link(s, db.tables, JUROR, "ji-woo@example.org", "browser", "invitation", T0,
                                 lifetime=timedelta(days=7))
        with pytest.raises(ss.LinkRefused) as refused:
            ss.consume_link(s, db.tables, token, "browser", T0 + timedelta(days=7))
        assert refused.value.message == "This sign-in link has expired: it works for 7 days."
        assert ss.consume_link(s, db.tables, token, "browser", T0 + timedelta(days=6)) == JUROR


def test_unknown_purposes_are_refused_before_anything_is_stored(db):
    with _tx(db) as s, pytest.raises(ValueError):
        ss.issue_link(s, db.tables, JUROR, "ji-woo@example.org", "carrier pigeon", "c", T0)


# --- rate limits ------------------------------------------------------------------------------

def test_rate_limit_arithmetic():
    limits = ss.RateLimits(per_address=3, per_client=10)
    assert [limits.allows(sent, limits.per_address) for sent in range(5)] == [True, True, True, False, False]
    assert ss.RateLimits.from_config({}) == ss.RateLimits(5, 20, timedelta(minutes=15))
    assert ss.RateLimits.from_config({"SIGNIN_LIMIT_PER_ADDRESS": "7", "SIGNIN_LIMIT_PER_CLIENT": 50}) == \
        ss.RateLimits(7, 50)


def test_the_address_limit_counts_the_last_15_minutes(db):
    limits = ss.RateLimits(per_address=3, per_client=100)
    with _tx(db) as s:
        ss.issue_link(s, db.tables, JUROR, "a@example.org", "browser", "old", T0 - timedelta(minutes=15))
        for i in range(3):
            ss.check_rate(s, db.tables, "a@example.org", f"client-{i}", limits, T0)
            ss.issue_link(s, db.tables, JUROR, "a@example.org", "browser", f"client-{i}", T0)
        with pytest.raises(ss.RateLimited) as limited:
            ss.check_rate(s, db.tables, "a@example.org", "client-9", limits, T0)
        assert limited.value.message == "too many sign-in requests for this address; try again in 15 minutes"
        ss.check_rate(s, db.tables, "b@example.org", "client-9", limits, T0)  # another address may
        ss.check_rate(s, db.tables, None, "client-9", limits, T0)  # registration counts no address
        # once the oldest is 15 minutes old, it no longer counts
        ss.check_rate(s, db.tables, "a@example.org", "client-9", limits, T0 + timedelta(minutes=15))


def test_the_client_limit_counts_every_address_and_unknown_ones(db):
    limits = ss.RateLimits(per_address=100, per_client=2)
    with _tx(db) as s:
        ss.issue_link(s, db.tables, JUROR, "a@example.org", "browser", "10.0.0.1", T0)
        ss.issue_link(s, db.tables, None, "nobody@example.org", "browser", "10.0.0.1", T0)
        for email in ("c@example.org", None):
            with pytest.raises(ss.RateLimited) as limited:
                ss.check_rate(s, db.tables, email, "10.0.0.1", limits, T0 + timedelta(minutes=1))
            assert limited.value.message == "too many sign-in requests from your network; try again in 15 minutes"
        ss.check_rate(s, db.tables, "c@example.org", "10.0.0.2", limits, T0)


# --- sessions ---------------------------------------------------------------------------------

def test_sessions_open_with_a_new_id_are_found_by_kind_and_expire(db):
    with _tx(db) as s:
        first, expires_at = ss.open_session(s, db.tables, JUROR, "browser", T0)
        second, _ = ss.open_session(s, db.tables, JUROR, "browser", T0)
        assert first != second and expires_at == T0 + timedelta(hours=12)
        row = ss.find_session(s, db.tables, first, "browser", T0 + timedelta(hours=1))
        assert (row.juror_id, row.id_hash, row.kind) == (JUROR, ss.hash_secret(first), "browser")
        assert len(row.csrf_token) >= 43
        assert ss.find_session(s, db.tables, first, "api", T0) is None  # a cookie is not a bearer token
        assert ss.find_session(s, db.tables, first, "browser", T0 + timedelta(hours=12)) is None
        assert ss.find_session(s, db.tables, "x" * 201, "browser", T0) is None
        assert ss.find_session(s, db.tables, "", "browser", T0) is None


def test_revoked_sessions_are_gone(db):
    with _tx(db) as s:
        secret, _ = ss.open_session(s, db.tables, JUROR, "api", T0)
        assert ss.revoke_session(s, db.tables, ss.hash_secret(secret), T0) is True
        assert ss.revoke_session(s, db.tables, ss.hash_secret(secret), T0) is False  # once
        assert ss.find_session(s, db.tables, secret, "api", T0) is None


def test_last_seen_is_written_at_most_every_5_minutes(db):
    with _tx(db) as s:
        secret, _ = ss.open_session(s, db.tables, JUROR, "api", T0)
        row = ss.find_session(s, db.tables, secret, "api", T0)
        assert ss.touch_session(s, db.tables, row, T0 + timedelta(minutes=5)) is False
        assert ss.touch_session(s, db.tables, row, T0 + timedelta(minutes=5, seconds=1)) is True
        assert s.scalar(select(db.tables.sessions.c.last_seen_at)) == T0 + timedelta(minutes=5, seconds=1)


# --- the signin.requested contract carries a juror --------------------------------------------

BASE_EVENT = {"email": "ji-woo@example.org", "contact_name": "Kim Ji-woo", "language": "ko",
              "purpose": "browser", "url": "http://127.0.0.1:8002/signin/abc", "expires_at": T0.isoformat()}


def test_signin_requested_for_an_applicant_defaults_its_audience():
    event = make_event("signin.requested", {**BASE_EVENT, "applicant_id": JUROR}, producer="intake")
    assert event.data["audience"] == "applicant" and "juror_id" not in event.data
    del event.data["audience"]  # as events from before jurors: the consumer reads "applicant"
    assert parse_message(json.loads(json.dumps(event.to_message()))).data["audience"] == "applicant"


def test_signin_requested_for_a_juror():
    event = make_event("signin.requested", {**BASE_EVENT, "juror_id": JUROR, "audience": "juror"},
                       producer="review")
    parsed = parse_message(json.loads(json.dumps(event.to_message())))
    assert (str(parsed.data["juror_id"]), parsed.data["audience"]) == (JUROR, "juror")
    assert "applicant_id" not in parsed.data


@pytest.mark.parametrize("data, errors", [
    ({}, {"_schema": ["exactly one of applicant_id, juror_id and staff_id is required"]}),
    ({"applicant_id": JUROR, "juror_id": JUROR},
     {"_schema": ["exactly one of applicant_id, juror_id and staff_id is required"]}),
    ({"juror_id": JUROR, "staff_id": JUROR},
     {"_schema": ["exactly one of applicant_id, juror_id and staff_id is required"]}),
    ({"juror_id": JUROR}, {"audience": ["must be 'juror' for an event with juror_id"]}),
    ({"applicant_id": JUROR, "audience": "juror"}, {"audience": ["must be 'applicant' for an event with applicant_id"]}),
    ({"staff_id": JUROR, "audience": "applicant"}, {"audience": ["must be 'staff' for an event with staff_id"]}),
    ({"juror_id": JUROR, "audience": "secretariat"}, {"audience": ["Must be one of: applicant, juror, staff."]}),
])
def test_signin_requested_needs_exactly_one_subject_of_its_audience(data, errors):
    with pytest.raises(ValidationError) as exc_info:
        make_event("signin.requested", {**BASE_EVENT, **data}, producer="review")
    assert exc_info.value.messages == {"data": errors}


# --- the web part, for jurors -----------------------------------------------------------------

@pytest.fixture
def jury(tmp_path):
    """A bare app that signs jurors in with shared.signin (API only: no templates here)."""
    from shared.config import load_settings
    from tests.conftest import embedded_env
    settings = load_settings(embedded_env(tmp_path / "var", PRIZE_REVIEW_PUBLIC_URL="https://jury.example.org/"))
    metadata, jurors, tables, outbox = _schema()
    database = Database(f"sqlite:///{tmp_path / 'jury.sqlite'}", "jurytest")
    metadata.create_all(database.engine)
    with database.engine.begin() as conn:
        conn.execute(insert(jurors).values(id=JUROR, name="Kim Ji-woo", email="ji-woo@example.org", language="ko"))

    def find_juror(s, email):
        return s.execute(select(jurors).where(jurors.c.email == email)).first()

    def juror_event(juror, link):
        return {"juror_id": juror.id, "audience": "juror", "email": juror.email, "contact_name": juror.name,
                "language": juror.language, **link.event_fields()}

    flow = ss.SignIn(role="juror", tables=tables, outbox=outbox, producer="review", find_subject=find_juror,
                     event_data=juror_event, import_name=__name__, accepted_message="On its way if invited.",
                     public_url_setting="review_public_url", cookie_name="prize_jury_session")
    app = create_service_app("jurytest", settings, database, title="jury", blueprints=[flow.api],
                             test_config={"SIGNIN_LIMIT_PER_ADDRESS": 2})
    app.register_blueprint(flow.pages)
    flow.init_app(app)

    @app.get("/api/me")
    @require_role("juror")
    def me():
        return {"role": g.principal.role, "subject": g.principal.subject, "kind": ss.current_session().kind}

    yield SimpleNamespace(app=app, client=app.test_client(), db=database, tables=tables, outbox=outbox, flow=flow)
    database.dispose()


def _events(jury) -> list[dict]:
    with jury.db.engine.connect() as conn:
        return [json.loads(b)["data"] for b in conn.execute(select(jury.outbox.c.body)
                                                            .order_by(jury.outbox.c.seq)).scalars()]


def test_a_juror_signs_in_for_the_api_and_out_again(jury):
    r = jury.client.post("/api/signin", json={"email": "Ji-Woo@Example.org", "purpose": "api"})
    assert r.status_code == 202 and r.get_json() == {"message": "On its way if invited."}
    (event,) = _events(jury)
    assert (event["juror_id"], event["audience"], event["purpose"]) == (JUROR, "juror", "api")
    assert event["url"] == "https://jury.example.org/api/signin/token"
    r = jury.client.post("/api/signin/token", json={"token": event["code"]})
    assert r.status_code == 201
    token = r.get_json()["token"]
    r = jury.client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert r.get_json() == {"role": "juror", "subject": JUROR, "kind": "api"}
    assert jury.client.post("/api/signin/token", json={"token": event["code"]}).status_code == 410
    assert jury.client.delete("/api/session", headers={"Authorization": f"Bearer {token}"}).status_code == 204
    assert jury.client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_juror_signs_in_with_a_link_under_the_services_cookie(jury):
    jury.client.post("/api/signin", json={"email": "ji-woo@example.org"})
    (event,) = _events(jury)
    assert event["url"].startswith("https://jury.example.org/signin/") and event["code"] is None
    r = _press_sign_in(jury, event["url"].removeprefix("https://jury.example.org"))
    assert r.status_code == 303 and r.headers["Location"] == "/portal"
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("prize_jury_session=") and "Secure" in cookie and "HttpOnly" in cookie
    assert jury.client.get("/api/me").get_json() == {"role": "juror", "subject": JUROR, "kind": "browser"}
    # a cookie request that changes something needs the session's CSRF token
    assert jury.client.post("/logout").status_code == 403
    with jury.db.engine.connect() as conn:
        csrf = conn.execute(select(jury.tables.sessions.c.csrf_token)).scalar_one()
    r = jury.client.post("/logout", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 303 and r.headers["Location"] == "/"
    assert jury.client.get("/api/me").status_code == 401


def test_unknown_addresses_get_the_same_answer_and_count_for_the_limits(jury):
    for _ in range(2):
        r = jury.client.post("/api/signin", json={"email": "stranger@example.org"})
        assert r.status_code == 202 and r.get_json() == {"message": "On its way if invited."}
    assert _events(jury) == []
    r = jury.client.post("/api/signin", json={"email": "stranger@example.org"})
    assert r.status_code == 429 and r.headers["Retry-After"] == "900"
    with jury.db.engine.begin() as conn:  # 15 minutes later
        conn.execute(update(jury.tables.links).values(created_at=datetime.now(timezone.utc) - timedelta(minutes=16)))
    assert jury.client.post("/api/signin", json={"email": "stranger@example.org"}).status_code == 202


def test_an_invitation_link_is_not_announced_and_lasts_its_lifetime(jury):
    with jury.app.test_request_context("/"), jury.db.session() as s, s.begin():
        juror = s.execute(select(_jurors(jury)).where(_jurors(jury).c.id == JUROR)).one()
        link = jury.flow.issue_link(s, juror, juror.email, "browser", "invitation",
                                    lifetime=timedelta(days=7), announce=False)
        assert jury.flow.issue_link(s, None, "nobody@example.org", "browser", "invitation") is None
    assert _events(jury) == []
    assert link.url.startswith("https://jury.example.org/signin/") and link.code is None
    assert timedelta(days=7) - timedelta(minutes=1) < link.expires_at - datetime.now(timezone.utc) <= timedelta(days=7)
    r = _press_sign_in(jury, link.url.removeprefix("https://jury.example.org"))
    assert r.status_code == 303
    assert jury.client.get("/api/me").get_json()["subject"] == JUROR


def _press_sign_in(jury, path: str):
    """The POST of a link's Sign in button, with the double-submit CSRF cookie and field its page
    carries (this bare app has no templates for the page itself: intake's and review's tests open it)."""
    token = ss.new_secret()
    jury.client.set_cookie(ss.ANONYMOUS_CSRF_COOKIE, token)
    return jury.client.post(path, data={"csrf_token": token})


def _jurors(jury):
    return jury.tables.links.metadata.tables["jurors"]


def test_a_stale_cookie_of_the_service_is_cleared(jury):
    jury.client.set_cookie("prize_jury_session", "stale-" + uuid.uuid4().hex)
    r = jury.client.get("/api/me")
    assert r.status_code == 401
    assert any(c.startswith("prize_jury_session=;") for c in r.headers.getlist("Set-Cookie"))
