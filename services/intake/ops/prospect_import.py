"""Prospects from a CSV: a preview of every line before anything is stored, then a confirm that
stores exactly the preview's new lines.

The file's bytes are read as UTF-8 (with or without a byte-order mark), UTF-16 (with its mark,
little- or big-endian) or, failing strict UTF-8, Excel's Windows-1252; the preview says which.
Columns are found by their header's name (any case, in any order; a comma, semicolon or tab
between them); unknown columns are ignored and named. Each line is new, already a prospect (the
same address: skipped, naming it), a duplicate of an earlier line, or an error with its reasons
(ops.prospects.check, as for the form).

The preview's fingerprint is a hash of the file's bytes (and the edition chosen) and one of the
existing prospects' addresses among the file's: the confirm recomputes both and refuses (409,
saying which changed) when either differs. After a confirm the file's new addresses are
prospects, so a second confirm of the same preview (a double submit) is refused and creates
nobody twice; a concurrent one meets the unique address. New lines are stored with bulk inserts.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from shared.refusals import Refused

from ..models import Call, Prospect
from .prospects import check, email_of
from .registry_export import neutral

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
SHOWN = 50  # problem lines shown on the preview; all of them are in its download
COLUMNS = ("organisation", "city", "country", "contact_name", "email", "language", "met_at", "met_on", "notes",
           "owner", "type")
REQUIRED = ("organisation", "email", "country")
ALIASES = {"organization": "organisation", "contact": "contact_name", "name": "contact_name",
           "applicant_type": "type", "e-mail": "email", "event": "met_at"}
ENCODINGS = {"utf-8-sig": "UTF-8 with a byte-order mark", "utf-8": "UTF-8", "utf-16-le": "UTF-16 little-endian",
             "utf-16-be": "UTF-16 big-endian", "cp1252": "Windows-1252 (Excel)"}
CHUNK = 500


def _file_error(message: str) -> Refused:
    return Refused(422, message, {"json": {"csv": [message]}})


def decode(raw: bytes) -> tuple[str, str]:
    """(text, encoding) of the file: by its byte-order mark, else strict UTF-8, else Windows-1252."""
    if len(raw) > MAX_BYTES:
        raise _file_error(f"the file is too big: at most {MAX_BYTES // (1024 * 1024)} MB")
    if raw.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif raw.startswith(codecs.BOM_UTF16_LE):
        candidates = ["utf-16-le"]
    elif raw.startswith(codecs.BOM_UTF16_BE):
        candidates = ["utf-16-be"]
    else:
        candidates = ["utf-8", "cp1252"]
    for encoding in candidates:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        text = text.lstrip("\ufeff")
        if "\x00" in text:
            raise _file_error("the file has NUL characters: is it UTF-16 without a byte-order mark? Save it as "
                              "CSV UTF-8 and upload it again")
        return text, encoding
    raise _file_error(f"the file cannot be read as {ENCODINGS[candidates[0]]}"
                      + (" or Windows-1252" if len(candidates) > 1 else "") + ": save it as CSV UTF-8")


def _header(first_line: str) -> str:
    """The delimiter: whichever of , ; tab the header line has most of."""
    return max((",", ";", "\t"), key=first_line.count)


@dataclass
class Preview:
    encoding: str
    columns: list[str]
    ignored: list[str]
    call_id: str | None
    counts: dict = field(default_factory=dict)
    problems: list[dict] = field(default_factory=list)  # every line not new, in file order
    new: list[dict] = field(default_factory=list)  # the fields of every new line
    fingerprint: str = ""

    def as_dict(self, shown: int | None = None) -> dict:
        return {"encoding": self.encoding, "encoding_label": ENCODINGS[self.encoding], "columns": self.columns,
                "ignored_columns": self.ignored, "call_id": self.call_id, "counts": self.counts,
                "fingerprint": self.fingerprint,
                "problems": self.problems if shown is None else self.problems[:shown],
                "new": [{"line": r["line"], "organisation": r["organisation"], "email": r["email"],
                         "country": r["country"]} for r in (self.new if shown is None else self.new[:shown])]}


def _lines(text: str):
    """(header names, ignored names, iterator of (line number, {column: value}))."""
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_header(first))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        header = []
    names = [ALIASES.get(h.strip().casefold(), h.strip().casefold().replace(" ", "_")) for h in header]
    missing = [c for c in REQUIRED if c not in names]
    if not any(h.strip() for h in header) or missing:
        raise _file_error("the first line must name the columns, with at least organisation, email and country "
                          f"(missing: {', '.join(missing) or 'all'}); the others: {', '.join(COLUMNS)}")
    twice = sorted({n for n in names if n in COLUMNS and names.count(n) > 1})
    if twice:
        raise _file_error(f"a column is named twice: {', '.join(twice)}")
    ignored = [h.strip() for h, n in zip(header, names) if n not in COLUMNS and h.strip()]

    def rows():
        try:
            for cells in reader:
                if any(c.strip() for c in cells):
                    yield reader.line_num, {n: cells[i] for i, n in enumerate(names) if n in COLUMNS and i < len(cells)}
        except csv.Error as exc:
            raise _file_error(f"line {reader.line_num} cannot be read: {exc}")
    return [n for n in names if n in COLUMNS], ignored, rows()


def _known(s, emails: list[str]) -> dict[str, tuple[str, str]]:
    """The existing prospects among these addresses: email → (id, organisation)."""
    found = {}
    for start in range(0, len(emails), CHUNK):
        for email, pid, org in s.execute(select(Prospect.email, Prospect.id, Prospect.organisation)
                                         .where(Prospect.email.in_(emails[start:start + CHUNK]))):
            found[email] = (pid, org)
    return found


def _file_hash(raw: bytes, call_id: str | None) -> str:
    return hashlib.sha256((call_id or "").encode() + b"\n" + raw).hexdigest()[:32]


def _known_hash(known: dict) -> str:
    return hashlib.sha256("\n".join(sorted(known)).encode()).hexdigest()[:32]


def _problem(line: int, fields: dict, status: str, reasons: list[str], **extra) -> dict:
    return {"line": line, "status": status, "organisation": fields.get("organisation", ""),
            "email": fields.get("email", ""), "reasons": reasons, **extra}


def preview(s, raw: bytes, call_id: str | None = None, actor: str = "") -> Preview:
    """Every line checked against the form's rules, the file's earlier lines and the prospects."""
    text, encoding = decode(raw)
    columns, ignored, rows = _lines(text)
    if call_id and s.get(Call, call_id) is None:
        raise Refused(422, "call_id: no such edition", {"json": {"call_id": ["no such edition"]}})
    result, seen, checked = Preview(encoding, columns, ignored, call_id or None), {}, []
    for number, (line, cells) in enumerate(rows):
        if number >= MAX_ROWS:
            raise _file_error(f"the file is too big: at most {MAX_ROWS:,} lines at once")
        fields, problems = check({**cells, "applicant_type": cells.get("type", ""), "call_id": call_id},
                                 email_of(actor))
        checked.append((line, fields, problems))
    known = _known(s, sorted({f["email"] for _, f, p in checked if f["email"] and "email" not in p}))
    for line, fields, problems in checked:
        if problems:
            result.problems.append(_problem(line, fields, "error", [f"{k}: {m}" for k, ms in problems.items()
                                                                      for m in ms]))
        elif fields["email"] in seen:
            result.problems.append(_problem(line, fields, "duplicate", [
                f"the same address as line {seen[fields['email']]}: skipped"], duplicate_of=seen[fields["email"]]))
        elif fields["email"] in known:
            pid, org = known[fields["email"]]
            result.problems.append(_problem(line, fields, "existing", [f"already a prospect: {org}: skipped"],
                                            prospect_id=pid))
        else:
            result.new.append({**fields, "line": line})
        if not problems:
            seen.setdefault(fields["email"], line)
    result.counts = {"lines": len(checked), "new": len(result.new)} | {
        k: sum(p["status"] == k for p in result.problems) for k in ("existing", "duplicate", "error")}
    result.fingerprint = f"{_file_hash(raw, call_id)}.{_known_hash(known)}"
    return result


def confirm(s, raw: bytes, fingerprint: str, call_id: str | None, who: str, now: datetime) -> dict:
    """Store the new lines of the preview ``fingerprint`` came from, in bulk; 409 when the file or
    the prospects it relied on changed, or when it was imported already. The caller commits."""
    result = preview(s, raw, call_id, who)
    file_part, _, known_part = (fingerprint or "").partition(".")
    if file_part != result.fingerprint.split(".")[0]:
        raise Refused(409, "this is not the file (or the edition) that was previewed: preview it again")
    if known_part != result.fingerprint.split(".")[1]:
        if not result.new and result.counts["existing"]:
            raise Refused(409, "this file was imported already: nobody was created twice")
        raise Refused(409, "prospects with addresses in this file were added or changed since the preview: "
                           "preview it again")
    rows = [{**{k: v for k, v in r.items() if k != "line"}, "id": str(uuid.uuid4()), "version": 1,
             "created_at": now, "created_by": who, "updated_at": now, "updated_by": who} for r in result.new]
    try:
        for start in range(0, len(rows), CHUNK):
            s.execute(insert(Prospect), rows[start:start + CHUNK])
        s.flush()
    except IntegrityError:  # a concurrent confirm of the same preview got there first
        s.rollback()
        raise Refused(409, "this file was imported already: nobody was created twice")
    return {"created": len(rows), "skipped": len(result.problems), "counts": result.counts,
            "encoding": result.encoding}


def problems_csv(result: Preview) -> str:
    """Every line that will not be imported, with its reasons (UTF-8 with BOM, for spreadsheets;
    cells a spreadsheet would run are kept as text)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "result", "organisation", "email", "reasons"])
    for p in result.problems:
        writer.writerow([p["line"], p["status"], neutral(p["organisation"]), neutral(p["email"]),
                         neutral("; ".join(p["reasons"]))])
    return "\ufeff" + out.getvalue()
