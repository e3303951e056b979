"""The released results as data for WeGO's website and the press: one edition as JSON
(/results/<year>.json) and every released edition as an Atom 1.0 feed (/results/feed.atom: one
entry per edition with its figures, one per winner and special mention). In English, whatever
the reader's language: a feed is read by programs and newsrooms, not by one visitor.

Ids are permanent: the feed's is its own address, an edition's entry is
``<public url>/results/<year>``, a winner's ``urn:uuid:<application id>``."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timezone

from ..ops.regions import country_name
from ..ops.results import Award, Results, figures_en
from ..rules import as_utc

ATOM = "http://www.w3.org/2005/Atom"
OUTCOME = {"winner": "Winner", "special_mention": "Special mention"}
NO_RESULTS_YET = datetime(1970, 1, 1, tzinfo=timezone.utc)  # the empty feed's <updated>


def _iso(moment: datetime | None) -> str | None:
    return as_utc(moment).astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if moment else None


def page_url(base: str, year: int) -> str:
    return f"{base.rstrip('/')}/results/{year}"


def photo_url(base: str, year: int, application_id: str) -> str:
    return f"{page_url(base, year)}/photos/{application_id}"


def award_json(award: Award, year: int, base: str) -> dict:
    return {"id": award.application_id, "outcome": award.outcome, "award": award.award,
            "organisation": award.organisation, "city": award.city, "country": award.country,
            "country_name": country_name(award.country, "en"), "title": award.title, "summary": award.summary,
            "photo_url": photo_url(base, year, award.application_id) if award.photo else None}


def edition_json(call, results: Results, categories, base: str) -> dict:
    return {"year": call.year, "theme": call.theme, "url": page_url(base, call.year),
            "released_at": _iso(results.released_at),
            "figures": {**results.figures, "text": figures_en(results.figures)},
            "categories": [{"key": awards[0].category, "title": title,
                            "awards": [award_json(a, call.year, base) for a in awards]}
                           for title, awards in categories]}


def _text(parent, tag: str, text: str | None, **attrs) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    element.text = text
    return element


def _link(parent, href: str, rel: str = "alternate", type_: str = "text/html") -> None:
    ET.SubElement(parent, f"{{{ATOM}}}link", {"rel": rel, "href": href, "type": type_})


def _edition_entry(feed, call, results: Results, base: str) -> None:
    entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
    _text(entry, "id", page_url(base, call.year))
    _text(entry, "title", f"Seoul Smart City Prize {call.year}: the results")
    _text(entry, "published", _iso(results.released_at))
    _text(entry, "updated", _iso(results.last_modified))
    _link(entry, page_url(base, call.year))
    winners = "; ".join(f"{a.organisation} ({a.city}, {country_name(a.country, 'en')}): {a.title}"
                        for a in results.awards if a.outcome == "winner")
    _text(entry, "summary", f"{call.theme}. {figures_en(results.figures)}. Winners: {winners or 'none'}.")


def _award_entry(feed, call, results: Results, award: Award, base: str) -> None:
    entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
    _text(entry, "id", f"urn:uuid:{award.application_id}")
    label = OUTCOME[award.outcome] + (f", {award.award}" if award.award else "")
    _text(entry, "title", f"{call.year} {award.category_title}, {label}: {award.organisation}, {award.title}")
    _text(entry, "published", _iso(results.released_at))
    _text(entry, "updated", _iso(max(m for m in (results.released_at, award.photo_at if award.photo else None) if m)))
    _link(entry, f"{page_url(base, call.year)}#award-{award.application_id}")
    if award.photo:
        _link(entry, photo_url(base, call.year, award.application_id), "enclosure", "image/*")
    ET.SubElement(entry, f"{{{ATOM}}}category", {"term": award.category, "label": award.category_title})
    _text(entry, "summary", f"{award.organisation}, {award.city}, {country_name(award.country, 'en')}. "
                            f"{award.summary}".strip())


def atom(editions, base: str) -> bytes:
    """The feed of ``editions`` ([(call, results, by_category)], released only), newest first."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    self_url = f"{base.rstrip('/')}/results/feed.atom"
    _text(feed, "id", self_url)
    _text(feed, "title", "Seoul Smart City Prize: results")
    _text(feed, "subtitle", "The winners and special mentions of each edition, once released, and its figures")
    newest = max((r.last_modified for _, r, _ in editions if r.last_modified), default=NO_RESULTS_YET)
    _text(feed, "updated", _iso(newest))
    _link(feed, self_url, "self", "application/atom+xml")
    _link(feed, f"{base.rstrip('/')}/results")
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "WeGO, Seoul Smart City Prize secretariat")
    for call, results, categories in editions:
        _edition_entry(feed, call, results, base)
        for _, awards in categories:
            for award in awards:
                _award_entry(feed, call, results, award, base)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
