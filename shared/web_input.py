"""What every service's API checks of its input before any view: a body is JSON that parses, and
text (in the body or the query) holds no NUL and is valid UTF-8; and how its OpenAPI document says
so (NO_NUL_PATTERN, NOT_BLANK_PATTERN, NotBlank)."""
from __future__ import annotations

import json
from urllib.parse import unquote_to_bytes

from flask import Flask, request
from marshmallow import ValidationError, validate

from .web_errors import json_error

BODY_METHODS = {"POST", "PUT", "PATCH"}

# The before-request check refuses NUL in any text; a string the document does not otherwise
# constrain says so with this pattern, so a client (or a generator of test requests) knows.
NO_NUL_PATTERN = "^[^\\x00]*$"
# Text that is not blank as str.strip() sees it (its whitespace, which is not the regex's \s).
_SPACES = "".join(f"\\u{c:04x}" for c in range(0x3001) if chr(c).isspace())
NOT_BLANK_PATTERN = f"^[^\\x00]*[^\\x00{_SPACES}][^\\x00]*$"


class NotBlank(validate.Validator):
    """Text with something in it besides whitespace; documented as NOT_BLANK_PATTERN."""

    error = "must not be empty"

    def __call__(self, value):
        if not value.strip():
            raise ValidationError(self.error)
        return value



def _install_body_checks(app: Flask) -> None:
    """Before any API view: a body must be JSON that parses, and its text must be storable.

    flask-smorest would read a non-JSON body as "no body" (a puzzling 422 about missing fields)
    and lets a JSON parser RecursionError through as a 500. PostgreSQL refuses NUL in text, and
    nothing can encode a lone surrogate: JSON's "\\ud800" escape parses into a Python str that
    every later step (SQLite, PostgreSQL, an email, a log line) fails to write as UTF-8.
    """
    @app.before_request
    def _check_body():
        if request.routing_exception is not None or not request.path.startswith("/api/"):
            return None  # 404/405 answer first; pages may take forms
        bad_args = _bad_query_args(request.query_string)
        if bad_args:
            return json_error(422, _problems_message("query arguments", bad_args), errors={"query": bad_args})
        if request.method not in BODY_METHODS:
            return None
        raw = request.get_data(cache=True)  # over MAX_CONTENT_LENGTH: 413
        if not raw:
            return None
        if not request.is_json:
            return json_error(415, "request body must be JSON (Content-Type: application/json), "
                                   f"not {request.mimetype or 'untyped'}")
        try:
            body = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            return json_error(400, f"request body is not valid JSON: {reason}",
                              errors={"json": ["Invalid JSON body."]})
        bad = _bad_text_paths(body)
        if bad:
            return json_error(422, _problems_message("text", bad), errors={"json": bad})
        return None


NUL = "may not contain NUL characters"
NOT_UTF8 = "must be valid UTF-8 text (a lone surrogate is not)"
NOT_UTF8_ARG = "must be valid UTF-8 text"
_SUMMARIES = {NUL: "may not contain NUL characters", NOT_UTF8: "must be valid UTF-8 (no lone surrogates)",
              NOT_UTF8_ARG: "must be valid UTF-8 text"}


def _problems_message(what: str, bad: dict[str, list[str]]) -> str:
    kinds = sorted({p for problems in bad.values() for p in problems}, key=list(_SUMMARIES).index)
    return f"{what} " + " and ".join(_SUMMARIES[k] for k in kinds)


def _text_problems(value: str) -> list[str]:
    problems = [NUL] if "\x00" in value else []
    if value.isascii():
        return problems
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        problems.append(NOT_UTF8)
    return problems


def _printable_name(name: str) -> str:
    """A field name as the 422 can carry it: a lone surrogate in it shown as its escape."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def _bad_query_args(query_string: bytes) -> dict[str, list[str]]:
    """Query arguments that hold NUL, or whose percent-decoded bytes are not UTF-8.

    Werkzeug keeps an undecodable escape such as %FF as the literal text "%FF", so a view would
    search for (or store) characters the client never meant; read the raw bytes instead.
    """
    found: dict[str, list[str]] = {}
    if not query_string:
        return found
    for pair in query_string.split(b"&"):
        if not pair:
            continue
        key, _, value = (unquote_to_bytes(part.replace(b"+", b" ")) for part in pair.partition(b"="))
        try:
            name = key.decode("utf-8")
            problems = _text_problems(name) + _text_problems(value.decode("utf-8"))
        except UnicodeDecodeError:
            name, problems = key.decode("utf-8", "backslashreplace"), [NOT_UTF8_ARG]
        if problems:
            known = found.setdefault(_printable_name(name), [])
            known += [p for p in problems if p not in known]
    return found


def _bad_text_paths(body) -> dict[str, list[str]]:
    """Dotted paths of the strings (keys or values) of a JSON document that hold NUL or a lone
    surrogate, each with its problems."""
    found: dict[str, list[str]] = {}
    stack = [("", body)]
    while stack:  # iterative: a document may be nested nearly as deep as the parser allows
        path, node = stack.pop()
        if isinstance(node, str):
            problems = _text_problems(node)
            if problems:
                found.setdefault(path or "_schema", []).extend(problems)
        elif isinstance(node, dict):
            for key, value in node.items():
                sub = f"{path}.{_printable_name(key)}" if path else _printable_name(key)
                problems = _text_problems(key)
                if problems:
                    found.setdefault(sub, []).extend(problems)
                stack.append((sub, value))
        elif isinstance(node, list):
            stack.extend((f"{path}.{i}" if path else str(i), v) for i, v in enumerate(node))
    return {path: list(dict.fromkeys(problems)) for path, problems in sorted(found.items())}

