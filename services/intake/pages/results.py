"""The public results (issue 17): a page per released edition, the list of released editions, the
edition as JSON, an Atom feed across released editions, and the approved photos. No sign-in.

The embargo (ops/results.py decides when an edition is released): before its release an
edition's page, JSON and photos answer exactly as a year with no edition does (404, ``no-store``,
the same body), so whether results exist cannot be probed; the list and the feed leave it out.
After it, answers are public for a short while (``max-age``) with an ETag (a hash of the body,
so a change such as a new photo is a new ETag) and Last-Modified, and a conditional request for
what the client already holds is answered 304. Nothing is cached in the server: each request
reads the database, so no answer outlives the release nor precedes it.

The page is in the visitor's language (their browser's, or the one chosen on the portal: hence
``Vary: Accept-Language, Cookie``) and carries nothing of the visitor: no applicant, no form and
so no CSRF token (a language switch is a form: these pages follow the browser's language)."""
from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from flask import json as flask_json

from shared.i18n import _, ngettext
from shared.storage import StorageError

from ..ops import results as ops
from ..ops.regions import country_name
from ..web import _db, _public_url, storage
from . import results_feed

results_pages = Blueprint("intake_results", __name__, url_prefix="/results", template_folder="../templates")
PAGE_AGE = 300  # seconds a released edition's answers may be reused without asking again
INDEX_AGE = 0  # the list: revalidated each time (an edition newly released shows at once)


def _language() -> str:
    from flask_babel import get_locale
    return str(get_locale() or "en")


def _cacheable(response: Response, max_age: int, last_modified=None, vary_language: bool = False) -> Response:
    """Public for ``max_age`` seconds, with an ETag of the body; 304 when the client has it."""
    response.headers["Cache-Control"] = f"public, max-age={max_age}" if max_age else "public, no-cache"
    if vary_language:
        response.vary.update(("Accept-Language", "Cookie"))
    if last_modified is not None:
        response.last_modified = last_modified
    response.add_etag()
    return response.make_conditional(request)


def not_published():
    """What an unknown year and an edition under embargo both answer (and nothing else may)."""
    response = Response(render_template("portal/results_missing.html", applicant=None, languages=[]), 404)
    response.headers["Cache-Control"] = "no-store"
    return response


def figures_sentence(figures: dict) -> str:
    """"N applications from M cities in K countries", in the page's language."""
    return _("%(applications)s from %(cities)s in %(countries)s",
             applications=ngettext("%(num)s application", "%(num)s applications", figures["applications"]),
             cities=ngettext("%(num)s city", "%(num)s cities", figures["cities"]),
             countries=ngettext("%(num)s country", "%(num)s countries", figures["countries"]))


def _released(year: int):
    with _db().session() as s:
        found = ops.released_results(s, year)
        if found is None:
            abort(not_published())
        call, results = found
        return call, results, results.by_category(call.categories)


@results_pages.get("")
def index():
    with _db().session() as s:
        editions = [{"year": call.year, "theme": call.theme, "figures": found.figures,
                     "released_at": found.released_at} for call, found in ops.released_editions(s)]
    html = render_template("portal/results_index.html", applicant=None, languages=[], editions=editions,
                           figures_sentence=figures_sentence)
    return _cacheable(Response(html), INDEX_AGE, vary_language=True)


@results_pages.get("/<int:year>")
def edition(year: int):
    call, results, categories = _released(year)
    language = _language()
    html = render_template("portal/results.html", applicant=None, languages=[], call=call, results=results,
                           categories=categories, figures=figures_sentence(results.figures),
                           country=lambda code: country_name(code, language))
    return _cacheable(Response(html), PAGE_AGE, results.last_modified, vary_language=True)


@results_pages.get("/<int:year>.json")
def edition_json(year: int):
    call, results, categories = _released(year)
    body = results_feed.edition_json(call, results, categories, _public_url())
    response = Response(flask_json.dumps(body, ensure_ascii=False, indent=1) + "\n", mimetype="application/json")
    response.headers["Access-Control-Allow-Origin"] = "*"  # WeGO's website reads it from its own origin
    return _cacheable(response, PAGE_AGE, results.last_modified)


@results_pages.get("/feed.atom")
def feed():
    with _db().session() as s:
        editions = [(call, found, found.by_category(call.categories)) for call, found in ops.released_editions(s)]
    body = results_feed.atom(editions, _public_url())
    response = Response(body, mimetype="application/atom+xml")
    response.headers["Access-Control-Allow-Origin"] = "*"
    newest = max((found.last_modified for _, found, _ in editions if found.last_modified), default=None)
    return _cacheable(response, PAGE_AGE if editions else INDEX_AGE, newest)


@results_pages.get("/<int:year>/photos/<application_id>")
def photo(year: int, application_id: str):
    """An approved photo of a released winner or special mention, streamed from the store."""
    with _db().session() as s:
        doc = ops.photo_document(s, year, application_id)
        if doc is None:
            abort(not_published())
        key, content_type, size, sha256 = doc.storage_key, doc.content_type, doc.size, doc.sha256
    try:
        chunks = storage().iter_chunks(key)
        first = next(chunks, b"")
    except StorageError:
        abort(not_published())

    def body():
        yield first
        yield from chunks
    response = Response(body(), mimetype=content_type, direct_passthrough=True)
    if size:
        response.content_length = size
    response.headers["Cache-Control"] = f"public, max-age={PAGE_AGE}"
    response.set_etag(sha256 or key)
    return response.make_conditional(request)

