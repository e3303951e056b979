"""The outreach funnel of an edition (ops/funnel.py), for every staff role: met → invited →
registered → drafting → submitted → eligible → finalist → winner, by region, country, event where
met or owner, as a chart with its table, the previous edition beside; and the same as CSV. Its
routes are on the dashboard's blueprint (/secretariat/editions/<call_id>/...)."""
from __future__ import annotations

import csv
import io

from flask import Response, abort, request
from markupsafe import Markup

from ..ops import funnel as ops
from ..ops.funnel_chart import funnel_svg
from ..ops.registry_export import neutral
from ..web import _db
from .dashboard import dashboard_pages
from .secretariat import _page, _require


def _found(call_id: str) -> dict:
    """The funnel by the breakdown asked (?by=, region when none); a 400 page naming an unknown
    breakdown, a 404 for an unknown edition."""
    by = request.args.get("by") or "region"
    if by not in ops.BREAKDOWNS:
        abort(_page("secretariat/staff_message.html", 400, title="Unknown breakdown",
                    message=f"The funnel is broken down by one of: {', '.join(ops.BREAKDOWNS)} "
                            f"(not {by[:40]!r})."))
    found = ops.funnel(_db(), call_id, by)
    if found is None:
        abort(404)
    return found


@dashboard_pages.get("/<call_id>/funnel")
def edition_funnel(call_id):
    _require("read")
    found = _found(call_id)
    current, previous = found["current"], found["previous"]
    chart = funnel_svg(found["stages"], current.call.year, previous.call.year if previous else None)
    return _page("secretariat/funnel.html", **found, call=current.call, chart=Markup(chart),
                 breakdowns=ops.BREAKDOWNS, stage_keys=ops.STAGES, stage_titles=ops.STAGE_TITLES,
                 share=ops.share(current), drafting=ops.LEVEL["drafting"])


@dashboard_pages.get("/<call_id>/funnel.csv")
def edition_funnel_csv(call_id):
    """The page's figures as CSV (UTF-8 with BOM, CRLF): cells a spreadsheet would run as
    formulas (an owner or an event named "=...") are kept as text."""
    _require("read")
    found = _found(call_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(ops.CSV_HEADER)
    for line in ops.csv_rows(found):
        writer.writerow([neutral(cell) for cell in line])
    name = f"funnel-{found['current'].call.year}-by-{found['by']}.csv"
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
