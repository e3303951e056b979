"""Every staff page of intake, review and notify × every staff role, in a browser session: an
observer and a jury chair read every page and are refused every form (with the form's own CSRF
token, so the refusal is the role's), only an admin opens the staff list; without a session
every page leads to the staff sign-in."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone

import pytest

from shared.staff import store
from tests.support.stack import Stack

ROLES = ("admin", "secretariat", "jury_chair", "observer")
ANY_ID = "0f0f0f0f-0000-4000-8000-000000000000"
VALUES = {"name": "signin_link", "language": "en", "token": "x" * 43}
# pages that are no staff pages: the operators' token form and the hand-off and sign-out routes
NOT_STAFF_PAGES = {"/secretariat/signin", "/secretariat/signout"}
# every role manages its own API tokens (named exactly: revoking a deadline exception is a change)
OWN_TOKENS = {"/secretariat/tokens", "/secretariat/tokens/<token_id>/revoke"}
# looks that are the first step of sending (issue 17's invitations to apply): only for those who may send
WRITE_LOOKS = {"/secretariat/outreach/invite"}


@pytest.fixture
def stack(embedded_settings):
    s = Stack(embedded_settings)
    yield s
    s.stop()


def _tables(svc):
    return __import__(f"services.{svc}.models", fromlist=["staff_tables"]).staff_tables


def _browsers(stack) -> dict[str, dict]:
    """For each role: a member copied to every service and a browser session on each."""
    now = datetime.now(timezone.utc)
    browsers = {}
    for role in ROLES:
        member = {"staff_id": str(uuid.uuid4()), "email": f"{role}@wego.example", "name": role.title(),
                  "language": "en", "role": role, "active": True, "version": 1, "changed_by": "test"}
        browsers[role] = {}
        for svc, app in stack.apps.items():
            with app.extensions["prize"]["db"].session() as s, s.begin():
                store.apply_member(s, _tables(svc), member, now)
                secret = store.open_session(s, _tables(svc), member["staff_id"], "family-" + role, now)
                csrf = s.execute(_tables(svc).sessions.select().where(
                    _tables(svc).sessions.c.id_hash == store.hash_secret(secret))).one().csrf_token
            client = app.test_client()
            client.set_cookie(f"prize_staff_{svc}", secret)
            browsers[role][svc] = (client, csrf)
    return browsers


def _staff_pages(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/secretariat") and rule.rule not in NOT_STAFF_PAGES and "/static/" not in rule.rule:
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: VALUES.get(m.group(1), ANY_ID), rule.rule)
            for method in sorted(rule.methods & {"GET", "POST"}):
                yield method, rule.rule, path


def test_every_staff_page_by_role(stack):
    browsers = _browsers(stack)
    checked = 0
    for svc, app in stack.apps.items():
        for method, rule, path in _staff_pages(app):
            anonymous = getattr(app.test_client(), method.lower())(path)
            assert anonymous.status_code == 302 and "/staff/" in anonymous.headers["Location"], (svc, method, rule)
            for role in ROLES:
                client, csrf = browsers[role][svc]
                r = client.get(path) if method == "GET" else client.post(path, data={"csrf_token": csrf})
                checked += 1
                text = r.get_data().decode("utf-8", "replace")  # some staff pages are downloads (XLSX, ZIP)
                admin_only = rule.startswith("/secretariat/staff")
                if admin_only and role != "admin":
                    assert r.status_code == 403 and "administrator" in text, (svc, method, rule, role)
                elif ((method == "POST" or rule in WRITE_LOOKS) and role in ("observer", "jury_chair")
                      and rule not in OWN_TOKENS):
                    assert r.status_code == 403 and "can read but not" in text, (svc, method, rule, role, r.status_code)
                else:  # allowed: whatever the page answers for a made-up id, it is not the role's refusal
                    assert r.status_code != 403 or "can read but not" not in text, (svc, method, rule, role)
    assert checked >= 100, checked


def test_a_form_without_its_token_is_refused_for_every_role(stack):
    browsers = _browsers(stack)
    for svc, app in stack.apps.items():
        for method, rule, path in _staff_pages(app):
            if method != "POST":
                continue
            for role in ROLES:
                client, _ = browsers[role][svc]
                r = client.post(path, data={"csrf_token": "forged"})
                assert r.status_code == 403, (svc, rule, role, r.status_code)
