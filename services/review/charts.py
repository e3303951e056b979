"""Charts for the secretariat's dashboard, drawn on the server as SVG strings (no CDN, no JS).

Plain data in, one ``<svg>`` string out. Every text is XML-escaped, so a label may hold
anything an applicant or juror typed. Each chart is an accessible image: ``role="img"``, an
``aria-label``, a ``<title>`` and a ``<desc>`` that reads the numbers out; the page shows the
same numbers in a table beside it for those who prefer one.

Shapes carry ``data-label`` / ``data-value`` attributes so that tests (and anyone inspecting the
page) can check what was drawn against what was meant.
"""
from __future__ import annotations

import re
from typing import Mapping, Sequence
from xml.sax.saxutils import escape, quoteattr

FONT = 'font-family="system-ui, sans-serif"'
INK, MUTED, LINE = "#1d2330", "#5b6475", "#d5dae3"
PALETTE = ("#0b5cad", "#1b7a3a", "#9a5b00", "#7a3fa0", "#b3261e", "#2f7f8f")
FUNNEL_COLOURS = ("#0b5cad", "#2f7f8f", "#1b7a3a", "#9a5b00")


def _num(value: float) -> str:
    """A coordinate or value without float noise: 12, 12.5, 3.333."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _label(value: float) -> str:
    """A number as a person reads it: 7, 7.5, 7.33."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "chart"


def _open(chart_id: str, width: int, height: int, title: str, description: str) -> list[str]:
    cid = _slug(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id={quoteattr(cid)} '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" preserveAspectRatio="xMinYMin meet" '
        f'role="img" aria-label={quoteattr(title)} aria-describedby={quoteattr(cid + "-desc")}>',
        f'<title id={quoteattr(cid + "-title")}>{escape(title)}</title>',
        f'<desc id={quoteattr(cid + "-desc")}>{escape(description)}</desc>',
    ]


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = 13, fill: str = INK,
          weight: str = "normal", css: str = "") -> str:
    klass = f' class="{css}"' if css else ""
    return (f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}" font-size="{size}" '
            f'font-weight="{weight}" fill="{fill}" {FONT}{klass}>{escape(text)}</text>')


def _empty(chart_id: str, title: str, message: str, width: int = 640) -> str:
    parts = _open(chart_id, width, 60, title, message)
    parts.append(_text(width / 2, 35, message, anchor="middle", fill=MUTED))
    parts.append("</svg>")
    return "\n".join(parts)


def funnel(steps: Sequence[tuple[str, int]], *, title: str = "Applications by stage",
           chart_id: str = "funnel", width: int = 640) -> str:
    """Centred bars, one per stage, each as wide as its count relative to the largest
    (submitted → eligible → finalist → winner); the share of the first stage is printed beside."""
    if not steps:
        return _empty(chart_id, title, "No applications yet.", width)
    row, gap, label_w = 44, 8, 130
    height = len(steps) * (row + gap) + gap
    biggest = max((count for _, count in steps), default=0)
    first = steps[0][1]
    description = "; ".join(f"{label}: {count}" for label, count in steps) + "."
    parts = _open(chart_id, width, height, title, description)
    area = width - label_w - 70  # room for the count on the right
    centre = label_w + area / 2
    for i, (label, count) in enumerate(steps):
        y = gap + i * (row + gap)
        bar = area * count / biggest if biggest else 0.0
        colour = FUNNEL_COLOURS[i % len(FUNNEL_COLOURS)]
        parts.append(_text(label_w - 10, y + row / 2 + 5, label, anchor="end", weight="600"))
        parts.append(f'<rect class="bar" x="{_num(centre - bar / 2)}" y="{_num(y)}" width="{_num(bar)}" '
                     f'height="{row}" rx="4" fill="{colour}" data-label={quoteattr(label)} '
                     f'data-value="{count}"><title>{escape(f"{label}: {count}")}</title></rect>')
        share = f" ({round(100 * count / first)} %)" if first and i else ""
        parts.append(_text(label_w + area + 8, y + row / 2 + 5, f"{count}{share}", css="value"))
    parts.append("</svg>")
    return "\n".join(parts)


def progress(rows: Sequence[tuple[str, int, int]], *, title: str = "Juror progress",
             chart_id: str = "progress", width: int = 640) -> str:
    """A horizontal bar per person: the whole bar is what they were given, the filled part what
    they have done (``(label, done, total)``). Bars share one scale, so loads compare too."""
    if not rows:
        return _empty(chart_id, title, "Nobody is assigned yet.", width)
    row, gap, label_w = 22, 10, 190
    height = len(rows) * (row + gap) + gap
    biggest = max((total for _, _, total in rows), default=0) or 1
    area = width - label_w - 90
    description = "; ".join(f"{label}: {done} of {total} done" for label, done, total in rows) + "."
    parts = _open(chart_id, width, height, title, description)
    for i, (label, done, total) in enumerate(rows):
        y = gap + i * (row + gap)
        whole, filled = area * total / biggest, area * min(done, total) / biggest
        parts.append(_text(label_w - 10, y + row / 2 + 5, label, anchor="end"))
        parts.append(f'<rect class="total" x="{label_w}" y="{y}" width="{_num(whole)}" height="{row}" rx="3" '
                     f'fill="#e6e9ef" stroke="{LINE}" data-label={quoteattr(label)} data-value="{total}"/>')
        parts.append(f'<rect class="done" x="{label_w}" y="{y}" width="{_num(filled)}" height="{row}" rx="3" '
                     f'fill="#1b7a3a" data-label={quoteattr(label)} data-value="{done}">'
                     f'<title>{escape(f"{label}: {done} of {total} done")}</title></rect>')
        parts.append(_text(label_w + whole + 8, y + row / 2 + 5, f"{done} of {total}", css="value"))
    parts.append("</svg>")
    return "\n".join(parts)


def strip_plot(groups: Mapping[str, Sequence[float]], *, scale: tuple[float, float],
               title: str = "Weighted totals by category", chart_id: str = "scores",
               width: int = 640) -> str:
    """One row per group (a category): a dot per value (an application's mean weighted total)
    on the call's scale, a short line at the group's mean. Dots that would overlap are spread
    vertically, in a fixed pattern, so the same data always draws the same picture."""
    low, high = scale
    if high <= low:
        raise ValueError("scale must be (min, max) with min < max")
    if not any(groups.values()):
        return _empty(chart_id, title, "No scores yet.", width)
    row, label_w, right, top, axis_h = 56, 150, 24, 10, 34
    names = list(groups)
    height = top + len(names) * row + axis_h
    area = width - label_w - right
    x_of = lambda v: label_w + area * (min(max(v, low), high) - low) / (high - low)  # noqa: E731

    def summary(name: str) -> str:
        values = list(groups[name])
        if not values:
            return f"{name}: none"
        mean = sum(values) / len(values)
        return (f"{name}: {len(values)} applications, from {_label(min(values))} to "
                f"{_label(max(values))}, mean {_label(mean)}")

    description = f"Scale {_label(low)} to {_label(high)}. " + "; ".join(summary(n) for n in names) + "."
    parts = _open(chart_id, width, height, title, description)
    for i, name in enumerate(names):
        y0 = top + i * row
        mid = y0 + row / 2
        colour = PALETTE[i % len(PALETTE)]
        values = sorted(groups[name])
        parts.append(f'<line x1="{label_w}" y1="{_num(mid)}" x2="{label_w + area}" y2="{_num(mid)}" '
                     f'stroke="{LINE}"/>')
        parts.append(_text(label_w - 10, mid + 5, name, anchor="end", weight="600"))
        seen: dict[int, int] = {}
        for value in values:
            bucket = round(x_of(value) / 6)  # dots closer than ~6 px share a bucket
            k = seen.get(bucket, 0)
            seen[bucket] = k + 1
            offset = ((k + 1) // 2) * 7 * (1 if k % 2 else -1)  # 0, +7, -7, +14, -14 ...
            offset = max(-row / 2 + 6, min(row / 2 - 6, offset))
            parts.append(f'<circle class="dot" cx="{_num(x_of(value))}" cy="{_num(mid + offset)}" r="4.5" '
                         f'fill="{colour}" fill-opacity="0.75" data-label={quoteattr(name)} '
                         f'data-value="{_num(value)}"><title>{escape(f"{name}: {_label(value)}")}</title></circle>')
        if values:
            mean = sum(values) / len(values)
            parts.append(f'<line class="mean" x1="{_num(x_of(mean))}" y1="{_num(y0 + 8)}" x2="{_num(x_of(mean))}" '
                         f'y2="{_num(y0 + row - 8)}" stroke="{INK}" stroke-width="2" data-value="{_num(mean)}"/>')
    axis_y = top + len(names) * row + 4
    parts.append(f'<line x1="{label_w}" y1="{axis_y}" x2="{label_w + area}" y2="{axis_y}" stroke="{MUTED}"/>')
    for tick in _ticks(low, high):
        x = x_of(tick)
        parts.append(f'<line x1="{_num(x)}" y1="{axis_y}" x2="{_num(x)}" y2="{axis_y + 5}" stroke="{MUTED}"/>')
        parts.append(_text(x, axis_y + 20, _label(tick), anchor="middle", size=12, fill=MUTED))
    parts.append("</svg>")
    return "\n".join(parts)


def _ticks(low: float, high: float) -> list[float]:
    """About five round ticks across the scale, both ends included."""
    span = high - low
    step = next(s for s in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000, float("inf"))
                if span / s <= 10)
    if step == float("inf"):
        return [low, high]
    ticks, value = [], low
    while value <= high + 1e-9:
        ticks.append(round(value, 6))
        value += step
    if ticks[-1] != high:
        ticks.append(high)
    return ticks
