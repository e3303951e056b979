"""What the jurors' pages say when the desk or the invitation says no, in the juror's language.

The operations' messages are the API's, in English (ops/desk.py, ops/juror_admin.py); a page
shows the sentence of the refusal's case instead: ``desk.Refusal.code`` names it, the field
errors are the desk's named messages, and the invitation's few refusals are known by their
words. Anything not listed here is shown in the operation's English, as a sentence.
"""
from __future__ import annotations

import re

from shared.i18n import _l, local_number

from ..ops import desk, juror_admin
from ..ops.common import Refused

REFUSALS = {
    "inactive": _l("This juror account is not active. Please ask the secretariat."),
    "invalid": _l("Some scores or comments cannot be saved: see the notes beside them."),
    "must_stay_complete": _l("A submitted review must stay complete: every criterion needs a score and a comment."),
    "already_submitted": _l("These scores were already submitted. Change a score to revise them."),
    "criteria_unknown": _l("The criteria of this call have not reached the jury yet. Please try again later."),
    "incomplete": _l("Every criterion needs a score and a comment before you submit: see the notes beside them."),
    "stale": _l("These scores were saved elsewhere (another tab or device) since you opened this page."),
    "conflict_reason": _l("Please say why you are in conflict."),
}
ROUND_CLOSED = {"finalist": _l("The finalist round is closed; its scores are locked."),
                "award": _l("The award round is closed; its scores are locked.")}

# The invitation's refusals (juror_admin.answer_invitation), by their exact words.
INVITATION = {
    "this juror account is not active; ask the secretariat": REFUSALS["inactive"],
    "answer accept or decline": _l("Please answer: accept or decline."),
    "tell the secretariat why you decline": _l("Tell the secretariat why you decline."),
    f"the reason is too long: at most {juror_admin.MAX_REASON} characters":
        _l("The reason is too long: please keep it within %(most)s characters."),
}


def _sentence(message: str) -> str:
    message = str(message)
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def refusal_text(exc: Refused) -> str:
    """The refusal as a sentence in the page's language."""
    code = getattr(exc, "code", "")
    if code == "round_closed":
        return str(ROUND_CLOSED.get(exc.details.get("round"), ROUND_CLOSED["finalist"]))
    known = REFUSALS.get(code) if code else INVITATION.get(exc.message)
    if known is None:
        return _sentence(exc.message)
    return str(known) % {"most": local_number(juror_admin.MAX_REASON)}


def _pattern(template: str) -> re.Pattern:
    """A desk message template ("must be between {low} and {high}") as a pattern naming its values."""
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>.+?)", re.escape(template)) + "$")


# The desk's field errors and their sentences; the values of a template come to the sentence.
FIELD_ERRORS = [
    (_pattern(desk.NOT_A_NUMBER), _l("Please give the score as a number.")),
    (_pattern(desk.OFF_SCALE), _l("Please give a score from %(low)s to %(high)s.")),
    (_pattern(desk.TOO_LONG), _l("Please keep the comment within %(most)s characters.")),
    (_pattern(desk.NOT_SCORED), _l("Please give a score.")),
    (_pattern(desk.NO_COMMENT), _l("Please write a comment.")),
    (_pattern(desk.UNKNOWN_CRITERION), _l("This category is not scored on this criterion.")),
]


def field_error_text(message: str) -> str:
    for pattern, sentence in FIELD_ERRORS:
        found = pattern.match(message)
        if found:
            values = {key: _number(value) for key, value in found.groupdict().items()}
            return str(sentence) % {"most": local_number(desk.MAX_COMMENT), **values}
    return _sentence(message)


def _number(text: str) -> str:
    try:
        return local_number(float(text) if "." in text else int(text))
    except ValueError:
        return text


def field_errors(errors: dict) -> dict:
    """The desk's field errors ({"scores": {key: [message]}, "comments": {...}}) in the page's
    language; anything else as it came."""
    return {kind: {key: [field_error_text(m) for m in messages] for key, messages in fields.items()}
            if isinstance(fields, dict) else fields for kind, fields in errors.items()}
