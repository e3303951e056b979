"""The registry as files: the list as CSV or XLSX (cells a spreadsheet would run as formulas kept
as text), and one application's documents as a ZIP streamed from the document store. Flask-free."""
from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from datetime import datetime, timezone
from typing import Iterable, Iterator

from shared.storage import download_name

from .regions import REGION_LABELS

COLUMNS = (("reference", "reference"), ("edition", "year"), ("organisation", "organisation"),
           ("contact", "contact_name"), ("email", "contact_email"), ("city", "city"), ("country", "country"),
           ("region", "region"), ("applicant type", "type"), ("category", "category"), ("title", "title"),
           ("status", "status"), ("review stage", "stage"), ("completeness %", "completeness"),
           ("submitted at", "submitted_at"), ("last activity", "last_activity"),
           ("applicant id", "applicant_id"), ("application id", "application_id"))

# A spreadsheet runs a cell starting with one of these as a formula (CSV/formula injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# XML 1.0 cannot carry these (openpyxl refuses them): one stray character must not fail the file.
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def neutral(value, xml: bool = False):
    """A cell as text a spreadsheet shows and never runs: a leading = + - @ tab or CR gets an
    apostrophe; times as ISO 8601 UTC; numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, (int, float)):
        return value
    text = str(value)
    if xml:
        text = _NOT_IN_XML.sub("", text)
    return "'" + text if text[:1] in FORMULA_START else text


def _values(row: dict, xml: bool = False) -> list:
    shown = {**row, "region": REGION_LABELS.get(row["region"], row["region"])}
    return [neutral(shown[key], xml) for _, key in COLUMNS]


def registry_csv(rows: Iterable[dict]) -> Iterator[str]:
    """The list as CSV lines (UTF-8 with BOM from the caller, CRLF), header first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([title for title, _ in COLUMNS])
    for row in rows:
        writer.writerow(_values(row))
        if out.tell() > 64 * 1024:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def registry_xlsx(rows: Iterable[dict]) -> bytes:
    """The list as one worksheet (openpyxl's write-only mode: rows are not kept in memory)."""
    from openpyxl import Workbook
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Applications")
    sheet.freeze_panes = "A2"
    sheet.append([title for title, _ in COLUMNS])
    for row in rows:
        sheet.append(_values(row, xml=True))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- the documents as a ZIP ----------------------------------------------------------------------

_UNSAFE = re.compile(r'[<>:"/\\|?*]+')


def archive_name(number: int, kind: str, filename: str, content_type: str, taken: set[str]) -> str:
    """A file name inside the archive: numbered, the document's kind, then the applicant's name
    with the extension of the checked type; no folder, no control character, no character a
    file system refuses, no leading dot; at most 120 characters; unique (case aside)."""
    name = download_name(filename, content_type).replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", "".join(c for c in name if unicodedata.category(c)[0] != "C"))
    name = _UNSAFE.sub("_", name).strip(" .") or "document"
    kind = re.sub(r"[^a-z0-9_]+", "_", kind.lower()) or "document"
    stem, dot, extension = name.rpartition(".")
    if not dot or len(extension) > 8:
        stem, extension = name, ""
    stem = stem[:100 - len(kind)]
    candidate, n = f"{number:02d}-{kind}-{stem}{'.' + extension if extension else ''}", 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{number:02d}-{kind}-{stem}-{n}{'.' + extension if extension else ''}"
    return candidate


class _Pipe(io.RawIOBase):
    """Where zipfile writes: kept until taken, never seekable (so zipfile writes as it goes)."""

    def __init__(self):
        self.chunks: list[bytes] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        self.size += len(data)
        return len(data)

    def take(self) -> bytes:
        data, self.chunks, self.size = b"".join(self.chunks), [], 0
        return data


def stream_zip(storage, entries: list[tuple[str, str]], first: Iterable[tuple[str, bytes]] = ()) -> Iterator[bytes]:
    """The ZIP of ``entries`` ([(name, storage key)]), made while it is sent: each file is read
    from the store in chunks and written on, so no whole file or archive is held in memory. A
    file the store no longer has is left out and named in MISSING.txt (the answer has started
    by then: the archive stays whole instead of breaking off). ``first``: small files made here
    ([(name, bytes)]), written before the stored ones."""
    pipe, missing = _Pipe(), []
    stamp = datetime.now(timezone.utc).timetuple()[:6]
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, content in first:
            archive.writestr(zipfile.ZipInfo(name, date_time=stamp), content, compress_type=zipfile.ZIP_DEFLATED)
            yield pipe.take()
        for name, key in entries:
            if storage.stat(key) is None:
                missing.append(name)
                continue
            with archive.open(zipfile.ZipInfo(name, date_time=stamp), "w", force_zip64=True) as member:
                for chunk in storage.iter_chunks(key):
                    member.write(chunk)
                    if pipe.size >= 256 * 1024:
                        yield pipe.take()
            yield pipe.take()
        if missing:
            archive.writestr(zipfile.ZipInfo("MISSING.txt", date_time=stamp), "The document store no longer has:\n"
                             + "".join(f"- {name}\n" for name in missing), compress_type=zipfile.ZIP_DEFLATED)
    yield pipe.take()
