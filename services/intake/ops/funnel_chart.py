"""The funnel as a chart, drawn on the server as one inline SVG (no script, no CDN): a bar per
stage for the edition, and under it a thinner one for the previous edition, each as long as its
count relative to the largest. An accessible image (role="img", a title and a description that
reads every number out); the page shows the same numbers in a table beside it. Every text is
XML-escaped. Bars carry data-stage/data-value so tests can check what was drawn."""
from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

INK, MUTED, LINE = "#1d2330", "#4d5566", "#d5dae3"
THIS, BEFORE = "#0b5cad", "#8a93a3"
FONT = 'font-family="system-ui, sans-serif"'


def _num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _text(x: float, y: float, text: str, anchor: str = "start", fill: str = INK) -> str:
    return (f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}" font-size="13" fill="{fill}" {FONT}>'
            f'{escape(text)}</text>')


def _description(rows: list[dict], year: int, previous_year: int | None) -> str:
    parts = []
    for row in rows:
        part = f"{row['title']}: {row['count']}"
        if row["previous"] is not None:
            part += f" ({row['previous']} in {previous_year})"
        parts.append(part)
    return f"The {year} outreach funnel. " + "; ".join(parts) + "."


def funnel_svg(rows: list[dict], year: int, previous_year: int | None, width: int = 640) -> str:
    """``rows``: ops.funnel's stage rows (title, count, previous)."""
    label_w, count_w, bar_h, prev_h, gap = 200, 60, 18, 8, 12
    row_h = bar_h + (prev_h + 2 if previous_year else 0) + gap
    height = gap + len(rows) * row_h + (24 if previous_year else 0)
    biggest = max([r["count"] for r in rows] + [r["previous"] or 0 for r in rows] + [1])
    area = width - label_w - count_w
    title = f"Outreach funnel {year}" + (f", compared with {previous_year}" if previous_year else "")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="funnel-chart" viewBox="0 0 {width} {height}" '
             f'width="100%" style="max-width: {width}px; height: auto" role="img" aria-label={quoteattr(title)} '
             f'aria-describedby="funnel-chart-desc">',
             f"<title>{escape(title)}</title>",
             f'<desc id="funnel-chart-desc">{escape(_description(rows, year, previous_year))}</desc>',
             f'<line x1="{label_w}" y1="0" x2="{label_w}" y2="{height}" stroke="{LINE}"/>']
    for i, row in enumerate(rows):
        y = gap + i * row_h
        length = area * row["count"] / biggest
        parts.append(_text(label_w - 8, y + bar_h - 4, row["title"], anchor="end"))
        parts.append(f'<rect x="{label_w}" y="{_num(y)}" width="{_num(length)}" height="{bar_h}" fill="{THIS}" '
                     f'data-stage={quoteattr(row["stage"])} data-value="{row["count"]}"/>')
        parts.append(_text(label_w + length + 6, y + bar_h - 4, str(row["count"])))
        if previous_year and row["previous"] is not None:
            before = area * row["previous"] / biggest
            py = y + bar_h + 2
            parts.append(f'<rect x="{label_w}" y="{_num(py)}" width="{_num(before)}" height="{prev_h}" '
                         f'fill="{BEFORE}" data-stage={quoteattr(row["stage"])} data-previous="{row["previous"]}"/>')
    if previous_year:
        y = height - 8
        parts.append(f'<rect x="{label_w}" y="{y - 10}" width="12" height="10" fill="{THIS}"/>')
        parts.append(_text(label_w + 18, y, str(year), fill=MUTED))
        parts.append(f'<rect x="{label_w + 70}" y="{y - 8}" width="12" height="6" fill="{BEFORE}"/>')
        parts.append(_text(label_w + 88, y, str(previous_year), fill=MUTED))
    parts.append("</svg>")
    return "\n".join(parts)
