"""notify's preview of an email another service's page is about to cause (ops/previews.py),
shown in that page's iframe. The signed link is the permission: it names one application and one
template, expires within the half hour, and the page is framed only by our own services."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, render_template

from shared.email_preview import PreviewRefused, read_token
from shared.refusals import Refused

from ..ops import previews
from ..ops.optout import Unsubscribe
from ..ops.masking import mask_signin_secrets
from ..web import _db
from .secretariat import EMAIL_POLICY

preview_pages = Blueprint("notify_previews", __name__, url_prefix="/preview", template_folder="../templates")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _framed_by() -> str:
    settings = current_app.extensions["prize"]["settings"]
    return " ".join(["'self'", *(_origin(settings.service_url(s)) for s in ("intake", "review"))])


def _respond(body: str, status: int, policy: str):
    response = current_app.make_response((body, status))
    response.headers["Cache-Control"] = "no-store"  # an applicant's name and address
    response.headers["Content-Security-Policy"] = policy
    response.headers["Referrer-Policy"] = "no-referrer"  # the link is the permission
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _shown(token: str) -> tuple[dict | None, str, int]:
    settings = current_app.extensions["prize"]["settings"]
    try:
        return previews.preview(_db(), read_token(settings.secret_key, token), Unsubscribe.of(settings)), "", 200
    except PreviewRefused as exc:
        return None, str(exc).capitalize() + ".", 403
    except Refused as exc:
        return None, exc.message[:1].upper() + exc.message[1:] + ".", exc.status


@preview_pages.get("/<token>")
def email(token: str):
    shown, problem, status = _shown(token)
    page = render_template("pages/preview.html", shown=shown, problem=problem, token=token,
                           masked=mask_signin_secrets)
    policy = (f"default-src 'self'; script-src 'none'; style-src 'self'; frame-src 'self'; "
              f"frame-ancestors {_framed_by()}; base-uri 'none'; form-action 'none'")
    return _respond(page, status, policy)


@preview_pages.get("/<token>/body.html")
def body(token: str):
    shown, _, status = _shown(token)
    if shown is None:
        abort(status)
    response = _respond(shown["html"], 200, EMAIL_POLICY)
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    return response
