"""intake's HTML pages, per audience: the applicant portal and the secretariat's pages (the
sign-in pages live with accounts). ``blueprints`` is what app.py registers; ``secure_pages``
sets their headers."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, request

from ..web import storage
from ..accounts import page_blueprints as signin_pages
from . import applicant_account, applicant_documents, applicant_preview, applicant_status, my_data  # noqa: F401  (their routes are on the portal blueprint)
from . import privacy  # noqa: F401  (its routes are on the portal blueprint)
from . import outreach, outreach_portal  # noqa: F401  (invitations to apply: secretariat's and portal's blueprints)
from . import funnel  # noqa: F401  (issue 17, the funnel: its routes are on the dashboard's blueprint)
from .applications import applications
from .applicant import portal
from .dashboard import dashboard_pages
from .editions import editions
from .erasure import erasure_pages
from .results import results_pages
from .results_staff import results_staff
from .edition_events import events_pages  # the edition's events (issue 17)
from .event_rsvp import event_rsvp  # the events' answer page, by the link's token (issue 17)
from .language import page_language  # noqa: F401  (app.py wires it)
from .secretariat import refusal as staff_refusal  # noqa: F401  (app.py wires it)
from .secretariat import secretariat
from .staff import signed_out_here, staff_pages  # noqa: F401
from . import prospects_import  # noqa: F401  (issue 17: its routes are on the prospects blueprint)
from .prospects import prospect_pages

blueprints = signin_pages + [portal, secretariat, editions, applications, staff_pages, dashboard_pages, erasure_pages,
                               results_pages, results_staff]
blueprints += [prospect_pages, events_pages, event_rsvp]  # issue 17: outreach


# Only intake's own script and stylesheet run on its pages. Styles allow 'unsafe-inline' for the
# style attributes of a few forms (never scripts). connect-src names the document store too: on
# S3 the edit page's script sends the file straight to the bucket.
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
               "connect-src 'self'{upload}; object-src 'none'; frame-ancestors 'none'; form-action 'self'{services}; "
               "base-uri 'none'")


def _upload_origin() -> str:
    """The origin upload forms post to, from a form signed for nothing (signing is local to
    both stores: no request is sent); asked once per app."""
    ext = current_app.extensions["prize"]
    if "upload_origin" not in ext:
        url = urlsplit(storage().presign_upload("page-policy", "application/pdf", 1, "page-policy")["url"])
        ext["upload_origin"] = f"{url.scheme}://{url.netloc}" if url.scheme and url.netloc else ""
    return ext["upload_origin"]


def _other_services() -> str:
    """review's and notify's origins: a staff sign-in form redirects there (a hand-off), and
    browsers hold form redirects to form-action too."""
    settings = current_app.extensions["prize"]["settings"]
    origins = []
    for service in ("review", "notify"):
        url = urlsplit(settings.service_url(service))
        origins.append(f" {url.scheme}://{url.netloc}")
    return "".join(origins)


def secure_pages(app, blueprints) -> None:
    """Every response of these page blueprints (applicant portal, sign-in, secretariat) may not
    be framed and keeps its address to this site; a header a view set itself stays (the sign-in
    pages' stricter "no-referrer")."""
    names = {bp.name for bp in blueprints}

    @app.after_request
    def _page_headers(response):
        if request.blueprint not in names:
            return response
        upload = _upload_origin()
        response.headers.setdefault("Content-Security-Policy", PAGE_POLICY.format(
            upload=f" {upload}" if upload else "", services=_other_services()))
        response.headers.setdefault("X-Frame-Options", "DENY")  # browsers that predate frame-ancestors
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response
