"""intake's JSON API of staff: who am I, the list, inviting and changing members (admins). The
daily work is on the pages (/secretariat/staff, /secretariat/tokens); this is for integrators."""
from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from shared.events.common import LANGUAGES
from shared.signin import client_address
from shared.staff.roles import STAFF_ROLES
from shared.web import NotBlank, require_role, staff_need

from ..ops import staff as ops
from ..web import _db, _public_url

staff = Blueprint("staff", __name__, url_prefix="/api/staff",
                  description="The secretariat's staff: members, roles, deactivation (admins change them)")
SECURITY = [{"bearer": []}]


class StaffOut(Schema):
    id = fields.String(required=True)
    email = fields.Email(required=True)
    name = fields.String(required=True)
    language = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(STAFF_ROLES))
    active = fields.Boolean(required=True)
    version = fields.Integer(required=True)
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)
    changed_by = fields.String(required=True)


class StaffInvite(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=320))
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), NotBlank()])
    role = fields.String(required=True, validate=validate.OneOf(STAFF_ROLES))
    language = fields.String(load_default="en", validate=validate.OneOf(LANGUAGES))


class StaffChange(Schema):
    name = fields.String(validate=[validate.Length(min=1, max=200), NotBlank()])
    language = fields.String(validate=validate.OneOf(LANGUAGES))
    role = fields.String(validate=validate.OneOf(STAFF_ROLES))
    active = fields.Boolean()


class MeOut(Schema):
    subject = fields.String(required=True)
    role = fields.String(required=True)
    actor = fields.String(required=True)


@staff.route("/me")
class MeView(MethodView):
    @require_role("secretariat")
    @staff.doc(security=SECURITY)
    @staff.response(200, MeOut)
    def get(self):
        """Who this token is: the staff member (or operator), their role, and how records name them."""
        return {"subject": g.principal.subject, "role": g.principal.staff_role, "actor": g.principal.who}


@staff.route("")
class StaffListView(MethodView):
    @require_role("secretariat")
    @staff_need("manage_staff")
    @staff.doc(security=SECURITY)
    @staff.response(200, StaffOut(many=True))
    def get(self):
        """Every staff member, active first (administrators only)."""
        return ops.members(_db())

    @require_role("secretariat")
    @staff_need("manage_staff")
    @staff.doc(security=SECURITY)
    @staff.arguments(StaffInvite)
    @staff.response(201, StaffOut)
    @staff.alt_response(409, description="the address is a staff member already")
    def post(self, data):
        """Invite someone: they get a sign-in link that works once, within 7 days."""
        return ops.invite(_db(), data["email"], data["name"], data["role"], data["language"], g.principal.who,
                          _public_url(), client_address())


@staff.route("/<uuid:staff_id>")
class StaffView(MethodView):
    @require_role("secretariat")
    @staff_need("manage_staff")
    @staff.doc(security=SECURITY)
    @staff.response(200, StaffOut)
    def get(self, staff_id):
        """One staff member (administrators only)."""
        return ops.member(_db(), str(staff_id))

    @require_role("secretariat")
    @staff_need("manage_staff")
    @staff.doc(security=SECURITY)
    @staff.arguments(StaffChange)
    @staff.response(200, StaffOut)
    @staff.alt_response(409, description="an administrator cannot deactivate themselves or change their own role")
    def patch(self, data, staff_id):
        """Change a member's name, language or role, or deactivate them (their sessions and API
        tokens end on every service within seconds) or reactivate them."""
        return ops.change_member(_db(), str(staff_id), data, g.principal.subject, g.principal.who)
