"""Inviting jurors from a CSV (columns name, email, language, categories; country and
organisation optional): a preview, then a confirm that invites exactly the previewed new rows.

The preview lists every line as new, already a juror (skipped) or an error with its reasons;
its token is a hash of the CSV and of every juror's id, address and version, so a confirm is
refused as stale (409) when the file or the jurors changed since. A second confirm of the same
preview (a double submit) finds the jurors it created and is refused the same way: nothing is
created twice (and the unique address would refuse it anyway).
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.events.common import CATEGORIES

from ..models import Juror
from .common import Refused
from .juror_admin import field_errors
from .jurors import invite_juror

REQUIRED = ("name", "email", "language", "categories")
OPTIONAL = ("country", "organisation")
MAX_BYTES = 100_000
MAX_ROWS = 500
# categories by key or by their names, in any case ("Tech-InnovaCity", "tech_innovacity")
CATEGORY_NAMES = {"tech_innovacity": "Tech-InnovaCity", "human_centricity": "Human-CentriCity",
                  "leadership": "Leadership"}
_ALIASES = {**{k: k for k in CATEGORIES}, **{v.casefold(): k for k, v in CATEGORY_NAMES.items()}}


def _file_error(message: str):
    return Refused(422, message, errors={"csv": [message]})


def _lines(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """(header, [(line number, cells)]) of the CSV; refuses an empty, too big or malformed file."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise _file_error(f"the CSV is too big: at most {MAX_BYTES // 1000} kB")
    if "\x00" in text:
        raise _file_error("the CSV is not text")
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        rows = [(reader.line_num, cells) for cells in reader if any(c.strip() for c in cells)]
    except csv.Error as exc:
        raise _file_error(f"the CSV cannot be read: {exc}")
    if not rows:
        raise _file_error("the CSV is empty: its first line names the columns name, email, language, categories")
    header = [c.strip().casefold() for c in rows[0][1]]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if missing or unknown or len(set(header)) != len(header):
        parts = ([f"missing column(s): {', '.join(missing)}"] if missing else []) + \
                ([f"unknown column(s): {', '.join(unknown)}"] if unknown else []) + \
                (["a column is named twice"] if len(set(header)) != len(header) else [])
        raise _file_error("the first line must name the columns name, email, language, categories "
                          f"(country and organisation may follow): {'; '.join(parts)}")
    if len(rows) - 1 > MAX_ROWS:
        raise _file_error(f"the CSV is too big: at most {MAX_ROWS} jurors at once")
    return header, rows[1:]


def _row(header: list[str], line: int, cells: list[str]) -> dict:
    values = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(header)}
    names = [c.strip() for c in re.split(r"[;|,]", values.get("categories", "")) if c.strip()]
    categories = [_ALIASES.get(c.casefold(), c) for c in names]
    row = {"line": line, "name": values["name"], "email": values["email"].lower(),
           "language": values["language"].lower() or "en", "categories": list(dict.fromkeys(categories)),
           "country": values.get("country", "").upper(), "organisation": values.get("organisation", ""),
           "status": "new", "errors": [], "juror_id": None}
    problems = field_errors({k: row[k] for k in ("name", "email", "language", "categories", "country",
                                                 "organisation")})
    if len(cells) > len(header):
        problems.setdefault("line", []).append(f"{len(cells)} cells for {len(header)} columns")
    row["errors"] = [f"{field}: {message}" for field, messages in problems.items() for message in messages]
    return row


def _fingerprint(session: Session, text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8"))
    for juror_id, email, version in session.execute(select(Juror.id, Juror.email, Juror.version).order_by(Juror.id)):
        digest.update(f"\n{juror_id}:{email}:{version}".encode())
    return digest.hexdigest()


def preview(session: Session, text: str) -> dict:
    """Every line as new, existing (already a juror) or error, with counts and the token a confirm
    needs. Refuses (422) only a file it cannot read as a whole."""
    header, lines = _lines(text)
    rows, seen = [], {}
    existing = dict(session.execute(select(Juror.email, Juror.id)).all())
    for line, cells in lines:
        row = _row(header, line, cells)
        if row["email"] and not row["errors"]:
            if row["email"] in seen:
                row["errors"].append(f"email: the same address as line {seen[row['email']]} (a duplicate in the CSV)")
            elif row["email"] in existing:
                row["status"], row["juror_id"] = "existing", existing[row["email"]]
            seen.setdefault(row["email"], line)
        if row["errors"]:
            row["status"] = "error"
        rows.append(row)
    counts = {key: sum(r["status"] == key for r in rows) for key in ("new", "existing", "error")}
    return {"rows": rows, "counts": counts, "token": _fingerprint(session, text)}


def refuse_errors(result: dict) -> None:
    """A 422 naming each line in error (the preview's rows go along)."""
    bad = {f"line {r['line']}": r["errors"] for r in result["rows"] if r["errors"]}
    if bad:
        first = next(iter(bad.items()))
        raise Refused(422, f"{len(bad)} line(s) of the CSV have errors, e.g. {first[0]}: {first[1][0]}",
                      errors={"csv": bad}, rows=result["rows"], counts=result["counts"])


def confirm(session: Session, text: str, token: str, actor: str, now: datetime) -> dict:
    """Invite the new rows of the preview that ``token`` came from. 409 when stale or done."""
    result = preview(session, text)
    if token != result["token"]:
        news = [r for r in result["rows"] if r["status"] == "new"]
        if not news and result["counts"]["existing"]:
            raise Refused(409, "these jurors were already imported: nothing was created twice")
        raise Refused(409, "the CSV or the jurors changed since the preview: preview it again")
    refuse_errors(result)
    created = []
    try:
        for row in result["rows"]:
            if row["status"] != "new":
                continue
            created.append(invite_juror(session, {
                "name": row["name"], "email": row["email"], "country": row["country"],
                "organisation": row["organisation"], "expertise": row["categories"], "languages": [row["language"]],
                "language": row["language"]}, actor, now))
    except IntegrityError:  # a concurrent confirm of the same preview got there first
        raise Refused(409, "these jurors were already imported: nothing was created twice")
    return {"created": created, "skipped": result["counts"]["existing"], "counts": result["counts"]}

