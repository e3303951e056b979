"""Every staff role × every endpoint of intake, review and notify: an observer reads and is refused
every write; a jury chair reads, proposes award decisions and is refused the rest; only an admin
manages staff. Personal API tokens of members whose copies each service holds, as its staff
handlers store them."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from shared.signin.common import hash_secret
from shared.staff import store
from tests.support.stack import Stack, auth

UNSAFE = ("post", "put", "patch", "delete")
ROLES = ("admin", "secretariat", "jury_chair", "observer")
# what a jury chair may change: award decisions stay embargoed until the secretariat releases them
JURY_CHAIR_WRITES = {("review", "post", "/api/decisions/{application_id}/award")}


@pytest.fixture
def stack(embedded_settings):
    s = Stack(embedded_settings)
    yield s
    s.stop()


def _tokens(stack) -> dict[str, str]:
    """A member of each role with a personal token, copied to every service."""
    now = datetime.now(timezone.utc)
    tokens = {}
    for role in ROLES:
        member = {"staff_id": str(uuid.uuid4()), "email": f"{role}@wego.example", "name": role.title(),
                  "language": "en", "role": role, "active": True, "version": 1, "changed_by": "test"}
        secret = store.new_token_secret()
        token = {"token_id": str(uuid.uuid4()), "staff_id": member["staff_id"], "name": "t",
                 "token_hash": hash_secret(secret), "expires_at": now + timedelta(days=1), "revoked": False}
        for svc, app in stack.apps.items():
            tables = __import__(f"services.{svc}.models", fromlist=["staff_tables"]).staff_tables
            with app.extensions["prize"]["db"].session() as s, s.begin():
                store.apply_member(s, tables, member, now)
                store.apply_token(s, tables, token, now)
        tokens[role] = secret
    return tokens


def _operations(app):
    spec = app.extensions["prize"]["api"].spec.to_dict()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            # /api/session: signing out of one's own session, not a change to the prize's data
            if method in UNSAFE + ("get",) and op.get("security") and path != "/api/session":
                yield path, method


KNOWN = {"name": "signin_link", "language": "en", "edition": "2026"}


def _concrete(path: str) -> str:
    """The path with a value its route takes for each parameter (a missing id is fine: the role
    is checked before anything is looked up)."""
    return re.sub(r"\{([^}]+)\}", lambda m: KNOWN.get(m.group(1), "0f0f0f0f-0000-4000-8000-000000000000"), path)


def test_every_write_is_refused_to_an_observer_and_a_jury_chair_and_reads_are_allowed(stack):
    tokens = _tokens(stack)
    checked = {"write": 0, "read": 0}
    for svc, app in stack.apps.items():
        client = stack.clients[svc]
        for path, method in _operations(app):
            url = _concrete(path)
            for role in ("observer", "jury_chair"):
                r = getattr(client, method)(url, headers=auth(tokens[role]), json={})
                message = (r.get_json(silent=True) or {}).get("message", "")
                if method == "get":
                    checked["read"] += 1
                    if path.startswith("/api/staff") and path != "/api/staff/me":
                        assert r.status_code == 403 and "administrator" in message, (svc, path, role)
                    elif r.status_code == 403:  # an applicant's or juror's own endpoint, not a staff role's
                        assert "needs the role" in message, (svc, method, path, role, message)
                    continue
                checked["write"] += 1
                if role == "jury_chair" and (svc, method, path) in JURY_CHAIR_WRITES:
                    assert r.status_code != 403, (svc, method, path, role)
                    continue
                assert r.status_code == 403, (svc, method, path, role, r.status_code, r.get_json())
    assert checked["write"] >= 60 and checked["read"] >= 40, checked


def test_only_an_admin_manages_staff_and_nobody_changes_their_own_role(stack):
    tokens = _tokens(stack)
    intake = stack.clients["intake"]
    for role in ("secretariat", "jury_chair", "observer"):
        assert intake.get("/api/staff", headers=auth(tokens[role])).status_code == 403
        r = intake.post("/api/staff", headers=auth(tokens[role]),
                        json={"email": "new@wego.example", "name": "New", "role": "admin"})
        assert r.status_code == 403, role
    r = intake.get("/api/staff/me", headers=auth(tokens["observer"]))
    assert r.status_code == 200 and r.get_json()["role"] == "observer"
    # the admin's own members exist only as copies here (intake's list is what an admin invites into)
    r = intake.post("/api/staff", headers=auth(tokens["admin"]),
                    json={"email": "min@wego.example", "name": "Min", "role": "observer"})
    assert r.status_code == 201, r.get_json()
    member = r.get_json()
    r = intake.patch(f"/api/staff/{member['id']}", headers=auth(tokens["admin"]), json={"role": "superuser"})
    assert r.status_code == 422 and "role" in r.get_json()["errors"]["json"]
    r = intake.patch(f"/api/staff/{member['id']}", headers=auth(tokens["admin"]), json={"role": "secretariat"})
    assert r.status_code == 200 and r.get_json()["role"] == "secretariat" and r.get_json()["version"] == 2
    me = intake.get("/api/staff/me", headers=auth(tokens["admin"])).get_json()
    r = intake.patch(f"/api/staff/{me['subject']}", headers=auth(tokens["admin"]), json={"active": False})
    assert r.status_code in (404, 409)  # the admin copied here is no member of intake's list


def test_what_a_member_changes_is_recorded_by_name(stack):
    """Who did it: a change of an edition's terms by a secretariat member's token names them; an
    operator's token names the operator."""
    from tests.support.stack import open_call
    tokens = _tokens(stack)
    intake = stack.clients["intake"]
    call = open_call(intake, tokens["secretariat"])
    r = intake.patch(f"/api/calls/{call['id']}", headers=auth(tokens["secretariat"]),
                     json={"theme": "Cities that listen", "reason": "the board's wording"})
    assert r.status_code == 200, r.get_json()
    r = intake.patch(f"/api/calls/{call['id']}", headers=auth(stack.secretariat_token()),
                     json={"theme": "Cities that listen again", "reason": "typo"})
    assert r.status_code == 200, r.get_json()
    versions = intake.get(f"/api/calls/{call['id']}/versions", headers=auth(tokens["observer"])).get_json()
    assert [v["changed_by"] for v in versions][-2:] == ["Secretariat <secretariat@wego.example>",
                                                        "operator test-secretariat"]
