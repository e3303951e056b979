"""The press kit of a released edition, for the secretariat: the figures, the winners' and special
mentions' texts and the list of the applicants' cities, as CSV (one table, its ``section`` column
saying which part a row belongs to; cells a spreadsheet would run as formulas kept as text) and
as a one-page PDF (WeasyPrint; summaries are shortened until the page holds everything).
In English, as the secretariat's pages are. Flask-free."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from .regions import country_name
from .registry_export import neutral
from .results import Results, figures_en

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
HEADER = ("section", "item", "value", "category", "outcome", "award", "organisation", "city", "country",
          "title", "summary")
OUTCOME = {"winner": "Winner", "special_mention": "Special mention"}
# (the summaries' longest length in characters, a smaller type) tried in turn until the PDF is
# one page; past the last, the list of cities is cut short too (the CSV has them all)
LAYOUTS = ((600, False), (360, False), (200, False), (200, True), (100, True), (0, True))
CITIES_AT_MOST = 250  # more than a page holds in any layout: the rest are counted, not named


def rows(call, results: Results, categories) -> list[tuple]:
    f = results.figures
    found = [("figures", "applications", f["applications"]), ("figures", "cities", f["cities"]),
             ("figures", "countries", f["countries"]), ("figures", "sentence", figures_en(f)),
             ("figures", "released", f"{results.released_at.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC")]
    found = [r + ("",) * (len(HEADER) - 3) for r in found]
    for title, awards in categories:
        for a in awards:
            found.append(("award", a.reference, "", title, OUTCOME[a.outcome], a.award, a.organisation, a.city,
                          country_name(a.country, "en"), a.title, a.summary))
    for city, country, count in results.cities:
        found.append(("city", city, count, "", "", "", "", city, country_name(country, "en"), "", ""))
    return found


def press_csv(call, results: Results, categories) -> str:
    """UTF-8 text (the caller adds the BOM), CRLF lines, header first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows(call, results, categories):
        writer.writerow([neutral(v) for v in row])
    return out.getvalue()


def _shorten(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    return "" if limit == 0 else text[:limit].rsplit(" ", 1)[0] + " …"


def _no_fetching(url: str, *args, **kwargs):
    raise ValueError(f"the press kit fetches nothing ({url[:80]})")


def render_html(call, results: Results, categories, limit: int, made_at: datetime, small: bool = False,
                cities_shown: int | None = None) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))
    cities = [f"{city} ({country_name(country, 'en')})" for city, country, _ in results.cities]
    if cities_shown is not None and cities_shown < len(cities):
        cities = cities[:cities_shown] + [f"and {len(cities) - cities_shown} more (the CSV lists them all)"]
    shown = [(title, [{"outcome": OUTCOME[a.outcome], "award": a.award, "organisation": a.organisation,
                       "place": f"{a.city}, {country_name(a.country, 'en')}", "title": a.title,
                       "summary": _shorten(a.summary, limit)} for a in awards]) for title, awards in categories]
    return env.get_template("secretariat/press_kit_pdf.html").render(
        small=small, year=call.year, theme=call.theme, figures=figures_en(results.figures), categories=shown, cities=cities,
        released=f"{results.released_at.astimezone(timezone.utc):%d %B %Y}",
        made_at=f"{made_at.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC")


def press_pdf(call, results: Results, categories, made_at: datetime) -> bytes:
    """One A4 page: the summaries shortened (then the type made smaller) as much as needed for
    everything to fit; an edition with very many cities gets its list cut short last."""
    from weasyprint import HTML  # loaded where PDFs are made

    def render(limit: int, small: bool, cities_shown: int | None = None):
        return HTML(string=render_html(call, results, categories, limit, made_at, small, cities_shown),
                    url_fetcher=_no_fetching).render()
    cap = CITIES_AT_MOST if len(results.cities) > CITIES_AT_MOST else None
    for limit, small in LAYOUTS:
        document = render(limit, small, cap)
        if len(document.pages) == 1:
            return document.write_pdf()
    shown = min(len(results.cities), CITIES_AT_MOST)
    while shown > 0 and len(document.pages) > 1:
        shown //= 2
        document = render(0, True, shown)
    return document.copy(document.pages[:1]).write_pdf()
