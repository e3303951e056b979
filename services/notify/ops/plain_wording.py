"""The people's editor of an email's wording: a subject and a plain text whose only markup is
placeholders such as ``{{ reference }}``, turned into the Jinja sources a stored override keeps.

What people may not write, the template's structure, is kept: each condition, loop or other
statement of the current wording (``{% if eligible %}...{% endif %}``) is shown as a part,
``[[part 2: if eligible]]``, that can be moved or deleted but not changed, and is put back verbatim
on save. Statements typed by hand are refused (TemplateProblem, on the field "subject" or "body").
The HTML is made from the text by ``html_of``: paragraphs and links, the typed words escaped, the
placeholders left to Jinja's autoescape. Flask-free; the check, the sandbox and the budget are
ops/templates.check's, as for any stored override.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

from .templates import TemplateProblem

_BLOCK = r"\{%%-?\s*block\s+%s\s*-?%%\}(.*?)\{%%-?\s*endblock(?:\s+%s)?\s*-?%%\}"
# Jinja's tags in a block: statements ({% %}, with the keyword), expressions ({{ }}), comments
_TAG = re.compile(r"\{%-?\s*(\w*)(.*?)-?%\}|\{\{(.*?)\}\}|\{#.*?#\}", re.S)
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_PLACEHOLDER = re.compile(rf"\s*({_NAME}(?:\.{_NAME})*)\s*")
_OPENERS = {"if", "for", "with", "filter", "macro", "call", "autoescape", "raw", "block", "trans"}
# What people type: a part, a placeholder, or the start of markup that is not theirs to write
_PIECE = re.compile(r"\[\[part (\d+)(?::[^\]\n]*)?\]\]|\{\{(.*?)\}\}|\{%|%\}|\{#|#\}|\{\{", re.S)
_LINK = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)]")

STATEMENTS_REFUSED = ("only placeholders such as {{ reference }} can be written here: statements ({% ... %}) "
                      "and comments ({# ... #}) are for an administrator's raw editor")


@dataclass
class Wording:
    """A template's wording as people edit it, and the parts (Jinja sources) its markers stand for."""
    subject: str
    body: str
    parts: list[str]


def _block(source: str, name: str) -> str | None:
    found = re.search(_BLOCK % (name, name), source, re.S)
    return found.group(1) if found else None


def _summary(statement: str) -> str:
    """A part's few words: its opening statement, e.g. "if eligible" or "for a in applications"."""
    words = " ".join(statement.strip("{%-# }").split())
    words = words.replace("[", "(").replace("]", ")")
    return words if len(words) <= 40 else words[:39] + "…"


def _split(block: str, parts: list[str]) -> str:
    """The block's source with every structure replaced by its part marker (appended to ``parts``)."""
    out, depth, start, pos, opening = [], 0, 0, 0, ""
    for tag in _TAG.finditer(block):
        keyword, expression = tag.group(1), tag.group(3)
        if depth == 0:
            out.append(block[pos:tag.start()])
            if expression is not None and not (expression[:1] == "-" or expression[-1:] == "-") \
                    and _PLACEHOLDER.fullmatch(expression):
                out.append("{{ " + expression.strip() + " }}")  # a placeholder people can write too
                pos = tag.end()
                continue
            start, opening = tag.start(), tag.group(0)
        if keyword is not None and tag.group(0).startswith("{%"):
            if keyword in _OPENERS or (keyword == "set" and "=" not in tag.group(2)):
                depth += 1
            elif keyword.startswith("end"):
                depth = max(0, depth - 1)
        if depth == 0:
            parts.append(block[start:tag.end()])
            out.append(f"[[part {len(parts)}: {_summary(opening)}]]")
            pos = tag.end()
    if depth:  # an unclosed statement (it would not have compiled): the rest is one part
        parts.append(block[start:])
        out.append(f"[[part {len(parts)}: {_summary(opening)}]]")
    else:
        out.append(block[pos:])
    return "".join(out)


def wording_of(text_source: str) -> Wording:
    """The subject and text of a stored or file source (its ``subject`` and ``text`` blocks) as
    people edit them; an empty wording when a block is missing."""
    parts: list[str] = []
    subject, body = _block(text_source, "subject"), _block(text_source, "text")
    return Wording(_split(subject or "", parts).strip(), _split(body or "", parts).strip("\n"), parts)


def _pieces(typed: str, parts: list[str], variables: set[str], said: list[str]):
    """What was typed as (kind, value) pieces: "text", "placeholder" (its name), "part" (its
    index); what is wrong is added to ``said`` (each problem once)."""
    pieces, pos = [], 0
    for found in _PIECE.finditer(typed):
        pieces.append(("text", typed[pos:found.start()]))
        pos = found.end()
        number, expression = found.group(1), found.group(2)
        if number is not None:
            if 1 <= int(number) <= len(parts):
                pieces.append(("part", int(number) - 1))
            else:
                _say(said, f"there is no [[part {number}]] in this email's wording")
        elif expression is not None:
            name = _PLACEHOLDER.fullmatch(expression)
            if name is None or "{%" in expression or "{#" in expression:
                _say(said, STATEMENTS_REFUSED if ("{%" in expression or "|" in expression or "(" in expression)
                     else f"{{{{{expression}}}}} is not a placeholder: write one as {{{{ reference }}}}")
            elif name.group(1).split(".")[0] not in variables:
                _say(said, f"unknown placeholder {{{{ {name.group(1)} }}}}; this email has: "
                           + ", ".join(sorted(variables)))
            else:
                pieces.append(("placeholder", name.group(1)))
        elif found.group(0) == "{{":
            _say(said, "a placeholder is not closed: write it as {{ reference }}")
        else:
            _say(said, STATEMENTS_REFUSED)
    pieces.append(("text", typed[pos:]))
    return [p for p in pieces if p != ("text", "")]


def _say(said: list[str], problem: str) -> None:
    if problem not in said:
        said.append(problem)


def _jinja(pieces, parts: list[str]) -> str:
    """The pieces as Jinja: the text as typed (it holds no markup), placeholders, parts verbatim."""
    return "".join(value if kind == "text" else "{{ " + value + " }}" if kind == "placeholder" else parts[value]
                   for kind, value in pieces)


def _escaped_text(text: str) -> str:
    """Typed words as HTML: escaped, line breaks kept, web addresses made links."""
    out, pos = [], 0
    for link in _LINK.finditer(text):
        out.append(html.escape(text[pos:link.start()]))
        address = html.escape(link.group(0))
        out.append(f'<a href="{address}">{address}</a>')
        pos = link.end()
    out.append(html.escape(text[pos:]))
    return "".join(out).replace("\n", "<br>\n")


def _part_html(source: str) -> str:
    """A part's Jinja in the HTML: its statements and expressions as they are, its words escaped."""
    words, tags, pos = [], [], 0
    for tag in _TAG.finditer(source):
        words.append(source[pos:tag.start()])
        tags.append(tag.group(0))
        pos = tag.end()
    words.append(source[pos:])
    # Jinja's whitespace control ({%- and -%}) takes the line breaks next to a tag: so do their <br>
    for i, tag in enumerate(tags):
        if tag[2:3] == "-":
            words[i] = words[i].rstrip()
        if tag[-3:-2] == "-":
            words[i + 1] = words[i + 1].lstrip()
    return "".join(_escaped_text(w) + (tags[i] if i < len(tags) else "") for i, w in enumerate(words))


def html_of(pieces, parts: list[str], links: set[str], language: str) -> str:
    """The HTML source made from the body's pieces: a paragraph per run of lines without a blank
    line between them; a placeholder in ``links`` (one holding a web address) becomes a link."""
    paragraphs, current = [], []
    for kind, value in pieces:
        if kind == "text":
            chunks = re.split(r"\n[ \t]*\n\s*", value)
            for i, chunk in enumerate(chunks):
                if i:
                    paragraphs.append(current)
                    current = []
                if chunk:
                    current.append(_escaped_text(chunk))
        elif kind == "placeholder":
            current.append(f'<a href="{{{{ {value} }}}}">{{{{ {value} }}}}</a>' if value in links
                           else f"{{{{ {value} }}}}")
        else:
            current.append(_part_html(parts[value]))
    paragraphs.append(current)
    body = "\n".join("<p>" + "".join(p).strip().removesuffix("<br>").strip() + "</p>"
                     for p in paragraphs if "".join(p).strip())
    return (f'<!doctype html>\n<html lang="{html.escape(language)}"><body style="font-family:sans-serif;'
            f'line-height:1.5">\n{body}\n</body></html>\n')


def _unwrapped(body: str) -> str:
    """The body with its hard wraps undone, for the HTML: a line of 60 characters or more followed
    by a line that is not indented (a list's item) and not empty is one line; shorter lines
    ("Dear Lin Mei-hua,", a signature) keep their break."""
    lines = body.split("\n")
    out = lines[0]
    for before, line in zip(lines, lines[1:]):
        joined = len(before.rstrip()) >= 60 and line.strip() and not line[:1].isspace() and "[[part" not in before + line
        out += (" " + line) if joined else ("\n" + line)
    return out


def _links(sample: dict) -> set[str]:
    """The placeholders whose sample value is a web address (``url``, ``ceremony.url``...)."""
    found = set()
    for name, value in sample.items():
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            found.add(name)
        elif isinstance(value, dict):
            found |= {f"{name}.{k}" for k in _links(value)}
    return found


def sources_of(subject: str, body: str, parts: list[str], sample: dict, language: str) -> tuple[str, str]:
    """The (text, html) Jinja sources of a wording typed in the people's editor; TemplateProblem
    naming the "subject" and "body" problems (statements, unknown placeholders, unknown parts)."""
    variables = set(sample)
    problems: dict[str, list[str]] = {"subject": [], "body": []}
    subject_pieces = _pieces(subject.strip(), parts, variables, problems["subject"])
    body_pieces = _pieces(body.strip("\n"), parts, variables, problems["body"])
    if not subject.strip():
        problems["subject"].append("the subject is empty")
    if not body.strip():
        problems["body"].append("the text is empty")
    problems = {f: ps for f, ps in problems.items() if ps}
    if problems:
        raise TemplateProblem(problems)
    text_source = ("{% block subject %}" + _jinja(subject_pieces, parts) + "{% endblock %}\n"
                   "{% block text %}" + _jinja(body_pieces, parts) + "\n{% endblock %}\n")
    html_pieces = _pieces(_unwrapped(body.strip("\n")), parts, variables, [])
    return text_source, html_of(html_pieces, parts, _links(sample), language)


def as_people_problems(problems: dict[str, list[str]]) -> dict[str, list[str]]:
    """ops/templates.check's problems of generated sources, said of the people's fields: those of
    the subject on "subject", the rest on "body"."""
    found: dict[str, list[str]] = {}
    for field, said in problems.items():
        for problem in said:
            where = "subject" if "subject" in problem and field == "text_source" else "body"
            if problem not in found.setdefault(where, []):  # the text and the HTML fail alike
                found[where].append(problem)
    return found
