"""Staff accounts across the three services, on the embedded and the real stack: an admin signs in
by an emailed link, invites a secretariat member and an observer; the member signs in once and
reaches review's and notify's staff pages by hand-offs; the observer reads and is refused every
write; deactivation and sign-out end sessions and tokens on every service.

Browsers are Flask test clients, one per service per person (a cookie belongs to one service's
origin); a hand-off is the URL one service redirects to and the next one opens.
"""
from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from services.intake.ops import staff as staff_ops
from shared.config import load_settings
from shared.staff.handoff import SALT, make_handoff
from tests.conftest import env_for
from tests.support.stack import Stack, auth, open_call, signin_events, wait_until


@pytest.fixture(params=["embedded", "real"])
def stack(request, tmp_path):
    s = Stack(load_settings(env_for(request, tmp_path / "var", request.param))).start_workers()
    yield s
    s.stop()


class _SignedLongAgo(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 120  # a hand-off lives 60 seconds


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


class Person:
    """One person's browsers: a test client per service."""

    def __init__(self, stack, email: str):
        self.stack, self.email = stack, email
        self.b = {svc: app.test_client() for svc, app in stack.apps.items()}

    def sign_in(self, invited: bool = False) -> None:
        intake = self.b["intake"]
        if not invited:
            page = intake.get("/staff/signin").get_data(as_text=True)
            r = intake.post("/staff/signin", data={"csrf_token": _csrf(page), "email": self.email})
            assert r.status_code == 202, r.get_data(as_text=True)
        url = signin_events(intake, self.email)[-1]["url"]
        path = _path(url)
        for _ in range(3):  # a mail scanner opening the link spends nothing
            page = intake.get(path)
            assert page.status_code == 200 and "Sign in" in page.get_data(as_text=True)
        r = intake.post(path, data={"csrf_token": _csrf(page.get_data(as_text=True))})
        assert r.status_code == 303 and r.headers["Location"] == "/secretariat", r.get_data(as_text=True)

    def go(self, service: str, next_path: str = "/secretariat"):
        """From intake's pages to another service's: no second sign-in, a hand-off."""
        r = self.b["intake"].get(f"/staff/go?service={service}&next={next_path}")
        assert r.status_code == 303 and "/staff/handoff?t=" in r.headers["Location"], r.headers.get("Location")
        handoff = _path(r.headers["Location"])
        r = self.b[service].get(handoff)
        assert r.status_code == 303 and r.headers["Location"] == next_path, r.get_data(as_text=True)
        return handoff

    def page(self, service: str, path: str):
        return self.b[service].get(path)

    def csrf(self, service: str, path: str) -> str:
        return _csrf(self.page(service, path).get_data(as_text=True))


def _copied(stack, service: str, email: str, **state) -> bool:
    from shared.staff.tables import StaffTables  # noqa: F401
    models = __import__(f"services.{service}.models", fromlist=["staff_tables"])
    t = models.staff_tables
    with stack.apps[service].extensions["prize"]["db"].session() as s:
        row = s.execute(select(t.members).where(t.members.c.email == email)).first()
    return row is not None and all(getattr(row, k) == v for k, v in state.items())


def _invite(admin: Person, email: str, name: str, role: str):
    csrf = admin.csrf("intake", "/secretariat/staff")
    return admin.b["intake"].post("/secretariat/staff", data={"csrf_token": csrf, "email": email, "name": name,
                                                              "role": role, "language": "en"})


def test_staff_sign_in_once_walk_every_service_and_get_cut_off_everywhere(stack):
    db = stack.apps["intake"].extensions["prize"]["db"]
    staff_ops.add_member(db, "Ada@WeGO.example", "Ada Admin", "admin", "en", "operator test")
    admin = Person(stack, "ada@wego.example")
    admin.sign_in()
    assert "Ada Admin" in admin.page("intake", "/secretariat").get_data(as_text=True)

    r = _invite(admin, "min@wego.example", "Min Secretariat", "secretariat")
    assert r.status_code == 303
    assert _invite(admin, "oli@wego.example", "Oli Observer", "observer").status_code == 303
    again = _invite(admin, "MIN@wego.example", "Min Again", "observer")
    assert again.status_code == 409 and "already" in again.get_data(as_text=True)
    invitation = signin_events(admin.b["intake"], "min@wego.example")[-1]
    assert invitation["reason"] == "staff_invited" and invitation["invited_by"] == "Ada Admin <ada@wego.example>"
    for svc in ("review", "notify"):
        assert wait_until(lambda: _copied(stack, svc, "min@wego.example", role="secretariat", active=True))

    min_ = Person(stack, "min@wego.example")
    min_.sign_in(invited=True)
    handoff = min_.go("review")
    page = min_.page("review", "/secretariat")
    assert page.status_code == 200 and "Min Secretariat" in page.get_data(as_text=True)
    min_.go("notify", "/secretariat/outbox")
    page = min_.page("notify", "/secretariat/outbox")
    assert page.status_code == 200 and "Min Secretariat" in page.get_data(as_text=True)
    # who did it: a resend names the member who pressed it
    from services.notify.models import Delivery
    notify_db = stack.apps["notify"].extensions["prize"]["db"]

    def first_delivery():
        with notify_db.session() as s:
            return s.scalars(select(Delivery.id).order_by(Delivery.created_at)).first()
    delivery_id = wait_until(first_delivery)
    assert delivery_id
    csrf = min_.csrf("notify", f"/secretariat/outbox/{delivery_id}")
    r = min_.b["notify"].post(f"/secretariat/outbox/{delivery_id}/resend", data={"csrf_token": csrf})
    assert r.status_code == 303
    with notify_db.session() as s:
        assert s.scalars(select(Delivery.requested_by).where(Delivery.requested_by.is_not(None))).all() == [
            "Min Secretariat <min@wego.example>"]
    # the bar leads back to intake, whose session is the same sign-in
    assert min_.page("intake", "/secretariat").status_code == 200

    # a hand-off works once, for one service
    fresh = stack.apps["review"].test_client()
    r = fresh.get(handoff)
    assert r.status_code == 400 and "used already" in r.get_data(as_text=True)
    r = min_.b["intake"].get("/staff/go?service=notify&next=/secretariat/outbox")
    assert stack.apps["review"].test_client().get(_path(r.headers["Location"]).replace(
        "/staff/handoff", "/staff/handoff")).status_code in (400,)  # notify's hand-off shown to review

    # a personal API token works on every service, with the member's role
    csrf = min_.csrf("intake", "/secretariat/tokens")
    r = min_.b["intake"].post("/secretariat/tokens", data={"csrf_token": csrf, "name": "export script", "days": "7"})
    assert r.status_code == 201
    token = re.search(r'id="new-token">([^<]+)<', r.get_data(as_text=True)).group(1)
    assert wait_until(lambda: stack.clients["review"].get("/api/calls", headers=auth(token)).status_code == 200)
    assert stack.clients["notify"].get("/api/deliveries", headers=auth(token)).status_code == 200

    # a hand-off taken before the deactivation, opened after it
    r = min_.b["intake"].get("/staff/go?service=notify&next=/secretariat/outbox")
    late_handoff = _path(r.headers["Location"])

    # the admin deactivates the member: every service refuses the next click and the token
    member_id = staff_ops.member_by_email(db, "min@wego.example")
    csrf = admin.csrf("intake", "/secretariat/staff")
    r = admin.b["intake"].post(f"/secretariat/staff/{member_id}", data={"csrf_token": csrf, "active": "0"})
    assert r.status_code == 303
    assert min_.page("intake", "/secretariat").status_code == 302
    for svc in ("review", "notify"):
        assert wait_until(lambda: _copied(stack, svc, "min@wego.example", active=False))
    assert min_.page("review", "/secretariat").status_code == 302
    assert min_.page("notify", "/secretariat/outbox").status_code == 302
    for svc, path in (("intake", "/api/staff/me"), ("review", "/api/calls"), ("notify", "/api/deliveries")):
        assert stack.clients[svc].get(path, headers=auth(token)).status_code == 401, svc
    r = stack.apps["notify"].test_client().get(late_handoff)
    assert r.status_code == 403 and "not active" in r.get_data(as_text=True)
    # and cannot sign in again
    page = min_.b["intake"].get("/staff/signin").get_data(as_text=True)
    before = len(signin_events(min_.b["intake"], "min@wego.example"))
    min_.b["intake"].post("/staff/signin", data={"csrf_token": _csrf(page), "email": "min@wego.example"})
    assert len(signin_events(min_.b["intake"], "min@wego.example")) == before

    # the observer reads everything and changes nothing
    oli = Person(stack, "oli@wego.example")
    oli.sign_in(invited=True)
    oli.go("review")
    assert oli.page("review", "/secretariat").status_code == 200
    open_call(stack.clients["intake"], stack.secretariat_token())
    csrf = oli.csrf("intake", "/secretariat/contact-email")
    r = oli.b["intake"].post("/secretariat/contact-email", data={"csrf_token": csrf, "current_email": "a@b.example",
                                                                 "contact_email": "c@d.example", "reason": "x"})
    assert r.status_code == 403 and "can read but not change" in r.get_data(as_text=True)
    assert oli.page("intake", "/secretariat/staff").status_code == 403
    oli.go("notify", "/secretariat/outbox")
    csrf = oli.csrf("notify", "/secretariat/outbox")
    r = oli.b["notify"].post("/secretariat/outbox/00000000-0000-4000-8000-000000000000/resend",
                             data={"csrf_token": csrf})
    assert r.status_code == 403

    # signing out on review ends the sign-in on every service
    r = oli.b["review"].post("/staff/signout", data={"csrf_token": oli.csrf("review", "/secretariat")})
    assert r.status_code == 303 and "/staff/signed-out?t=" in r.headers["Location"]
    assert oli.page("review", "/secretariat").status_code == 302
    r = oli.b["intake"].get(_path(r.headers["Location"]))
    assert r.status_code == 200 and "signed out" in r.get_data(as_text=True)
    assert oli.page("intake", "/secretariat").status_code == 302
    assert wait_until(lambda: oli.page("notify", "/secretariat/outbox").status_code == 302)


def test_a_hand_off_is_refused_when_forged_expired_or_for_another_service(stack):
    db = stack.apps["intake"].extensions["prize"]["db"]
    added = staff_ops.add_member(db, "kim@wego.example", "Kim", "secretariat", "en", "operator test")
    assert wait_until(lambda: _copied(stack, "review", "kim@wego.example"))
    secret = stack.settings.secret_key
    review = stack.apps["review"].test_client()
    for token, message in (
            (make_handoff("another-secret", added["id"], "f1", "review", "/secretariat"), "not valid"),
            (make_handoff(secret, added["id"], "f1", "notify", "/secretariat"), "for another service"),
            (make_handoff(secret, "0f0f0f0f-0000-4000-8000-000000000000", "f1", "review", "/secretariat"),
             "not active")):
        r = review.get("/staff/handoff", query_string={"t": token})
        assert r.status_code in (400, 403) and message in r.get_data(as_text=True), message
        assert review.get("/secretariat").status_code == 302
    # one older than its minute
    old = URLSafeTimedSerializer(secret, salt=SALT, signer=_SignedLongAgo).dumps(
        {"s": added["id"], "f": "f1", "a": "review", "p": "/secretariat", "n": "nonce-1"})
    r = review.get("/staff/handoff", query_string={"t": old})
    assert r.status_code == 400 and "expired" in r.get_data(as_text=True)
    # an outside next is not followed, nor one with CR/LF
    for wanted in ("https://evil.example/", "//evil.example/x", "/secretariat\r\nSet-Cookie: x=1"):
        r = review.get("/staff/handoff", query_string={"t": make_handoff(secret, added["id"], "f2", "review", wanted)})
        assert r.status_code == 303 and r.headers["Location"] == "/secretariat", wanted
