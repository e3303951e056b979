"""notify's pages for group emails (ops/messages.py): write to a group of one edition, see who
is in it and what each language's members will read, then send it once, after a confirmation
that counts every email it will cause."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for

from shared.events.common import LANGUAGES
from shared.refusals import Refused

from ..ops import messages, templates
from ..web import _db
from .secretariat import _check_csrf, _page, _require_secretariat

message_pages = Blueprint("notify_messages", __name__, url_prefix="/secretariat/messages",
                          template_folder="../templates")
LANGUAGE_NAMES = {"en": "English", "ko": "Korean", "es": "Spanish", "fr": "French", "zh": "Chinese",
                  "ar": "Arabic", "ru": "Russian", "pt": "Portuguese", "tr": "Turkish"}


def _typed() -> dict:
    form = request.form
    return {"year": form.get("year", "").strip()[:10], "audience": form.get("audience", ""),
            "texts": {lang: {"subject": form.get(f"subject_{lang}", "")[:1000],
                             "body": form.get(f"body_{lang}", "")[:40_000]} for lang in LANGUAGES}}


def _year(typed: dict):
    value = typed["year"]
    return int(value) if value.isascii() and value.isdigit() else None


def _form(status: int = 200, typed: dict | None = None, errors: dict | None = None, message=None):
    return _page("pages/group_message_form.html", status, typed=typed or {"year": "", "audience": "", "texts": {}},
                 errors=errors or {}, message=message, audiences=messages.AUDIENCE_TITLES,
                 variables=messages.VARIABLES, languages=LANGUAGES, language_names=LANGUAGE_NAMES,
                 open_languages=templates.complete_languages())


@message_pages.get("")
def message_list():
    _require_secretariat()
    return _page("pages/group_messages.html", rows=messages.listing(_db()), audiences=messages.AUDIENCE_TITLES)


@message_pages.route("/new", methods=["GET", "POST"])
def message_new():
    principal = _require_secretariat()
    if request.method == "GET":
        return _form()
    _check_csrf()
    typed = _typed()
    try:
        message = messages.create(_db(), _year(typed), typed["audience"], typed["texts"],
                                  by=f"secretariat:{principal.who}")
    except Refused as exc:
        return _form(exc.status, typed, exc.errors or {})
    flash("Saved as a draft. Nothing is sent: find who is in the group, then look at what it will send.", "ok")
    return redirect(url_for("notify_messages.message_view", message_id=message.id), 303)


def _overview(message_id: str) -> dict:
    try:
        return messages.overview(_db(), message_id)
    except Refused:
        abort(404)


@message_pages.get("/<message_id>")
def message_view(message_id):
    _require_secretariat()
    return _page("pages/group_message.html", **_overview(message_id), audiences=messages.AUDIENCE_TITLES,
                 language_names=LANGUAGE_NAMES)


@message_pages.route("/<message_id>/edit", methods=["GET", "POST"])
def message_edit(message_id):
    principal = _require_secretariat()
    message = _overview(message_id)["message"]
    if request.method == "GET":
        return _form(typed={"year": str(message.year), "audience": message.audience, "texts": message.texts,
                            "revision": message.revision}, message=message)
    _check_csrf()
    typed = {**_typed(), "year": str(message.year), "audience": message.audience,
             "revision": request.form.get("revision", "")}
    try:
        revision = int(typed["revision"])
    except ValueError:
        return _form(422, typed, {"revision": ["reload the page: this form lacks its revision"]}, message)
    try:
        messages.change(_db(), message_id, revision, typed["texts"], by=f"secretariat:{principal.who}")
    except Refused as exc:
        return _form(exc.status, typed, exc.errors or ({"form": [exc.message]} if exc.status == 409 else {}), message)
    flash("Saved. Nothing is sent.", "ok")
    return redirect(url_for("notify_messages.message_view", message_id=message_id), 303)


@message_pages.post("/<message_id>/members")
def message_members(message_id):
    principal = _require_secretariat()
    _check_csrf()
    message = messages.find_members(_db(), message_id, by=f"secretariat:{principal.who}")
    flash(f"Asked {messages.MESSAGE_AUDIENCES[message.audience]} who is in the group; "
          "this page shows them when the answer arrives (reload in a moment). Nothing is sent.", "ok")
    return redirect(url_for("notify_messages.message_view", message_id=message_id), 303)


@message_pages.get("/<message_id>/send")
def message_confirm(message_id):
    _require_secretariat()
    found = _overview(message_id)
    if found["message"].status != "addressed":
        flash("There is nothing to confirm yet: find who is in the group first.", "error")
        return redirect(url_for("notify_messages.message_view", message_id=message_id), 303)
    return _page("pages/group_message_send.html", **found, audiences=messages.AUDIENCE_TITLES, language_names=LANGUAGE_NAMES)


@message_pages.post("/<message_id>/send")
def message_send(message_id):
    principal = _require_secretariat()
    _check_csrf()
    try:
        message, queued = messages.send(_db(), message_id, request.form.get("fingerprint", ""),
                                        by=f"secretariat:{principal.who}")
    except Refused as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message[:1].upper() + exc.message[1:] + ".", "error")
        return redirect(url_for("notify_messages.message_view", message_id=message_id), 303)
    flash(f"Sending {queued} emails: each is in the outbox below." if queued
          else "This email was sent already; nothing more was sent.", "ok")
    return redirect(url_for("notify_messages.message_view", message_id=message_id), 303)
