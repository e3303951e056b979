"""The press kit's PDF stays one page whatever the edition holds (ops/press_kit.py shortens the
summaries until it fits), and its CSV keeps formulas as text. No stack: the operations alone."""
from __future__ import annotations

import io
from datetime import datetime, timezone
from types import SimpleNamespace

from pypdf import PdfReader

from services.intake.ops import press_kit
from services.intake.ops.results import Award, Results

RELEASED = datetime(2026, 9, 1, 9, 0, tzinfo=timezone.utc)


def _edition(awards_per_category: int, summary_words: int, cities: int):
    call = SimpleNamespace(year=2026, theme="Cities that listen", categories=[
        {"key": k, "title": t} for k, t in (("tech_innovacity", "Tech-InnovaCity"),
                                             ("human_centricity", "Human-CentriCity"), ("leadership", "Leadership"))])
    awards = [Award(f"id-{c}-{n}", f"SSCP-2026-{c[:2].upper()}{n}", c, t, "winner" if n == 0 else "special_mention",
                    "Grand Prize" if n == 0 else "", f"City government {c} {n}", f"Città {n}", "IT",
                    f"Project {n} of {t}", " ".join(["résidents data mobility"] * summary_words))
              for c, t in ((x["key"], x["title"]) for x in call.categories) for n in range(awards_per_category)]
    results = Results("call", 2026, call.theme, True, RELEASED, awards=awards,
                      figures={"applications": 812, "cities": cities, "countries": 71},
                      cities=[(f"Ciudad número {n}", "MX", 1) for n in range(cities)])
    return call, results, results.by_category(call.categories)


def _pages(data: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(data)).pages]


def test_a_small_edition_prints_whole_summaries_on_one_page():
    call, results, categories = _edition(1, 20, 5)
    pages = _pages(press_kit.press_pdf(call, results, categories, RELEASED))
    assert len(pages) == 1
    assert "812 applications from 5 cities in 71 countries" in pages[0]
    assert " ".join(pages[0].split()).count("résidents data mobility") == 3 * 20  # nothing shortened


def test_a_large_edition_is_shortened_to_one_page_with_every_winner_and_city():
    call, results, categories = _edition(4, 800, 150)  # twelve awards, 5000-character summaries
    pages = _pages(press_kit.press_pdf(call, results, categories, RELEASED))
    assert len(pages) == 1
    text = " ".join(pages[0].split())
    for award in results.awards:
        assert award.title in text
    assert "Ciudad número 149" in text


def test_the_csv_keeps_what_a_spreadsheet_would_run_as_text():
    call, results, categories = _edition(1, 3, 2)
    results.awards[0].organisation = "=cmd|' /C calc'!A0"
    results.awards[0].summary = "+1 lives better"
    text = press_kit.press_csv(call, results, categories)
    assert "\"'=cmd|' /C calc'!A0\"" in text or "'=cmd|' /C calc'!A0" in text
    assert "'+1 lives better" in text
    assert ",=cmd" not in text and ",+1 lives" not in text


def test_an_edition_of_very_many_cities_cuts_the_list_short_and_says_so():
    call, results, categories = _edition(1, 10, 1000)
    pages = _pages(press_kit.press_pdf(call, results, categories, RELEASED))
    assert len(pages) == 1
    text = " ".join(pages[0].split())
    assert "Ciudad número 0 " in text and "more (the CSV lists them all)" in text
