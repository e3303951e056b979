"""The applicant's account pages, on the portal's blueprint (pages/applicant.py): registration
and the applicant's own record. Each uses the same schema and rules as its API
(POST /api/applicants, PATCH /api/applicants/me); a refused field is said as a person would say
it, in the page's language (applicant_texts.py), beside the field and in a summary at the top of
the form that links to it."""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from marshmallow import ValidationError

from shared.i18n import _
from shared.signin.web import form_expired_text, rate_limit_text

from ..web import _db
from . import applicant_texts as texts
from .applicant import _render, _signed_in_applicant, portal

REGISTER_FIELDS = ("type", "organisation", "country", "city", "contact_name", "contact_email",
                   "secondary_name", "secondary_email", "language")
PROFILE_FIELDS = ("organisation", "city", "contact_name", "secondary_name", "secondary_email", "language")
SECOND_CONTACT = ("secondary_name", "secondary_email")


def _form_page(template: str, applicant, form: dict, errors: dict, order, **context):
    """A form page with its choices (countries and languages named in the page's language) and
    the summary of its errors, in the form's order."""
    chosen = form.get("language")
    language = chosen if chosen in dict(texts.languages()) else texts.page_language()
    return _render(template, applicant, form={**form, "language": language}, errors=errors,
                   summary=texts.error_summary(errors, order), countries=texts.countries(),
                   languages_offered=texts.languages(), type_names=texts.APPLICANT_TYPE_NAMES, **context)


def _expired() -> None:
    flash(form_expired_text(), "error")


@portal.route("/register", methods=["GET", "POST"])
def register():
    """Registration as a plain form: the same schema and rules as POST /api/applicants, and the
    same answer whether the address was registered already or not."""
    return registration()


def registration(invitation: str | None = None, prefilled: dict | None = None, gone=None):
    """The registration form and its submission; with an invitation to apply (pages/outreach_portal.py):
    ``prefilled`` fills the form first, the submission uses the invitation, and ``gone(state)``
    answers a link used or expired since the form was shown."""
    from ..accounts import RateLimited, applicant_signin, client_address, form_csrf_ok
    from ..api.schemas import ApplicantCreate
    from ..ops.applicants import register_applicant
    from ..ops.consents import ConsentRefused
    from ..web import notice_terms
    from . import privacy as privacy_pages

    from ..ops.outreach_links import InvitationGone

    form, errors = dict(prefilled or {}), {}
    privacy = privacy_pages.registration_box()  # the notice the consent box agrees to
    extra = {"invitation": invitation} if invitation else {}
    order = REGISTER_FIELDS + ("privacy_consent",)
    if request.method == "POST":
        form = {k: request.form.get(k, "").strip() for k in REGISTER_FIELDS}
        if not form_csrf_ok():
            _expired()
            return _form_page("portal/register.html", None, form, {}, order, privacy=privacy, **extra), 403
        data = {k: v for k, v in form.items() if v != "" or k not in SECOND_CONTACT}
        if "country" in data:
            data["country"] = data["country"].upper()
        consent = privacy_pages.given_version(request.form.get("privacy_consent"))
        if consent is not None:
            data["privacy_consent"] = form["privacy_consent"] = consent
        try:
            loaded = ApplicantCreate().load(data)
            register_applicant(_db(), applicant_signin, loaded, client_address(), notice_terms(), invitation=invitation)
        except ValidationError as exc:
            errors = texts.human_errors(form, exc.messages, ApplicantCreate())
            if "privacy_consent" in exc.messages:
                errors["privacy_consent"] = [str(privacy_pages.CONSENT_MISSING)]
        except ConsentRefused as exc:
            errors, form["privacy_consent"] = {"privacy_consent": [privacy_pages.consent_message(exc)]}, None
        except RateLimited as exc:
            flash(rate_limit_text(exc), "error")
            return _form_page("portal/register.html", None, form, {}, order, privacy=privacy, **extra), 429
        except InvitationGone as exc:
            return gone(exc.state)
        else:
            # ops' own message is the API's (English); the page says the same in its language
            message = _("Check the inbox of %(email)s: a sign-in link is on its way to it. It works once, "
                        "within 15 minutes.", email=loaded["contact_email"].strip().lower())
            return _render("signin/sent.html", None, message=message), 202
    return (_form_page("portal/register.html", None, form, errors, order, privacy=privacy, **extra),
            (422 if errors else 200))


def _profile_values(applicant) -> dict:
    return {k: getattr(applicant, k) or "" for k in PROFILE_FIELDS}


def _fixed(applicant) -> dict:
    """What the page shows but does not change (the sign-in address, the type, the country)."""
    return {"type": texts.APPLICANT_TYPE_NAMES.get(applicant.type, applicant.type),
            "country": texts.country(applicant.country), "contact_email": applicant.contact_email}


@portal.route("/portal/profile", methods=["GET", "POST"])
def profile():
    """The applicant's own record: the same schema and rules as PATCH /api/applicants/me."""
    from ..accounts import form_csrf_ok
    from ..api.schemas import ApplicantCreate, ApplicantUpdate
    from ..ops.applicants import ChangeRefused, update_own_record

    with _db().session() as s:
        applicant = _signed_in_applicant(s)
    # the read session is closed before any write (on SQLite a reader would hold the lock)
    form, errors, status = _profile_values(applicant), {}, 200
    if request.method == "POST":
        form = {k: request.form.get(k, "").strip() for k in PROFILE_FIELDS}
        if not form_csrf_ok():
            _expired()
            return _form_page("portal/profile.html", applicant, form, {}, PROFILE_FIELDS, fixed=_fixed(applicant)), 403
        # an emptied second contact is cleared; every other field must stay filled
        data = {k: (v if v != "" or k not in SECOND_CONTACT else None) for k, v in form.items()}
        try:
            saved = update_own_record(_db(), applicant.id, ApplicantUpdate().load(data))
        except ValidationError as exc:
            errors, status = texts.human_errors(form, exc.messages, ApplicantCreate()), 422
        except ChangeRefused as exc:
            errors, status = texts.human_errors(form, {exc.field: [exc.problem]}, ApplicantCreate()), 422
        else:
            if saved is None:  # the applicant is gone since the page was read
                abort(redirect("/signin"))
            flash(_("Saved. Our emails use these details from now on."), "ok")
            return redirect(url_for("portal.profile"))
    return _form_page("portal/profile.html", applicant, form, errors, PROFILE_FIELDS, fixed=_fixed(applicant)), status
