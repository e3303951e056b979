"""What a stored document must be, checked after upload (its size, first bytes and hash, on a copy
no upload form can overwrite), and the names it is downloaded under. Part of shared.storage,
which re-exports these names."""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from .storage import Storage

# What an applicant may upload: the declared type, and the first bytes a real file of it has.
ALLOWED_TYPES = {
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "video/mp4": ".mp4",
}
# An OOXML file is a zip; its parts' names (stored in clear in the local headers) say which kind.
OOXML_PART = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": b"word/",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": b"ppt/",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": b"xl/",
}


class StorageError(Exception):
    pass


def magic_matches(content_type: str, head: bytes) -> bool:
    """Do the first bytes of a file look like the declared type? (a lying name is not enough)"""
    if content_type == "application/pdf":
        return head.startswith(b"%PDF-")
    if content_type == "image/png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if content_type == "image/jpeg":
        return head.startswith(b"\xff\xd8\xff")
    if content_type == "video/mp4":
        return len(head) >= 12 and head[4:8] == b"ftyp"
    if content_type in OOXML_PART:
        return head.startswith(b"PK\x03\x04")
    return False


@dataclass
class CheckResult:
    ok: bool
    reason: str = ""
    size: int = 0
    sha256: str = ""


def _check_stat(info: tuple[int, str | None] | None, content_type: str, max_bytes: int) -> CheckResult | None:
    """What a stored object's size and type alone refuse, or None."""
    if info is None:
        return CheckResult(False, "no file was uploaded for this document")
    size, stored_type = info
    if size == 0:
        return CheckResult(False, "the file is empty")
    if size > max_bytes:
        return CheckResult(False, f"the file is {size} bytes; the limit is {max_bytes} bytes", size)
    if stored_type is not None and stored_type != content_type:
        return CheckResult(False, f"the file was stored as {stored_type}, not {content_type}", size)
    return None


def check_object(storage: "Storage", key: str, content_type: str, max_bytes: int) -> CheckResult:
    """Size, magic bytes and SHA-256 of a stored object, read as a stream in chunks.

    Everything the upload policy says is checked again here: a storage that does not enforce
    its policies (moto, a misconfigured proxy) must not let a wrong file through.
    """
    refused = _check_stat(storage.stat(key), content_type, max_bytes)
    if refused is not None:
        return refused
    digest, seen, head, tail = hashlib.sha256(), 0, b"", b""
    marker = OOXML_PART.get(content_type)
    marker_found = marker is None
    for chunk in storage.iter_chunks(key):
        if len(head) < 16:
            head += chunk[:16 - len(head)]
        digest.update(chunk)
        seen += len(chunk)
        if seen > max_bytes:  # the object grew after stat, or stat lied
            return CheckResult(False, f"the file is over the limit of {max_bytes} bytes", seen)
        if not marker_found:
            window = tail + chunk
            marker_found = marker in window
            tail = window[-len(marker):]
    if not magic_matches(content_type, head):
        return CheckResult(False, f"the file's content is not {ALLOWED_TYPES.get(content_type, content_type)} "
                                  f"({content_type}) as declared", seen)
    if not marker_found:
        return CheckResult(False, f"the file is a zip archive but not {ALLOWED_TYPES[content_type]}", seen)
    return CheckResult(True, size=seen, sha256=digest.hexdigest())


def check_copy(storage: "Storage", key: str, copy_key: str, content_type: str, max_bytes: int) -> CheckResult:
    """Copy an uploaded object to ``copy_key`` and check the copy, not the upload.

    An upload form stays valid until it expires, so whoever holds it may write the upload's
    key again at any time, even while it is being read. ``copy_key`` lies outside every
    upload form's key prefix: the bytes hashed there are the bytes that will be served, and
    nothing can change them afterwards. A copy is made even if the check then fails; the
    caller removes it. What the upload's size or type alone refuses is not copied at all.
    """
    info = storage.stat(key)
    refused = _check_stat(info, content_type, max_bytes)
    if refused is not None:
        return refused
    try:
        storage.copy(key, copy_key, size=info[0])
    except StorageError:  # removed between stat and copy
        return CheckResult(False, "no file was uploaded for this document")
    try:
        return check_object(storage, copy_key, content_type, max_bytes)
    except StorageError:  # the copy was removed while it was read (its document deleted)
        return CheckResult(False, "the file was removed while it was checked")


def safe_filename(name: str, fallback: str = "document") -> str:
    """An ASCII name for the plain ``filename=`` parameter: no path, quotes or controls."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]+", "_", ascii_name).strip(" ._")
    return ascii_name[:150] or fallback


# Other spellings of a type's extension that a download may keep as the applicant wrote them.
EXTENSION_ALIASES = {"image/jpeg": (".jpeg",)}


def download_name(filename: str, content_type: str) -> str:
    """The name a checked file is downloaded under: the applicant's stem with the extension of
    the type the check proved (its first bytes), never the one the applicant typed: a PDF
    uploaded as ``evil.html`` must not be saved as a page a browser would open."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    extension = ALLOWED_TYPES.get(content_type)
    if extension is None:
        return name
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem = name
    if dot and f".{suffix}".lower() in (extension, *EXTENSION_ALIASES.get(content_type, ())):
        return name
    return (stem.strip() or "document") + extension


def content_disposition(filename: str) -> str:
    """``attachment`` with a sanitised ASCII name and the real one as RFC 5987 ``filename*``."""
    cleaned = "".join(c for c in filename.replace("\\", "/").rsplit("/", 1)[-1]
                      if unicodedata.category(c)[0] != "C")[:200] or "document"
    return f'attachment; filename="{safe_filename(cleaned)}"; filename*=UTF-8\'\'{quote(cleaned, safe="")}'
