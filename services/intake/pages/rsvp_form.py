"""The answer (RSVP) form's pieces shared by the award ceremony's page (pages/applicant_status.py)
and the edition events' page (pages/event_rsvp.py): reading the posted fields, the checks of names
and addresses the API's schema makes, the refusals of ops/rsvp_rules.py in the reader's language,
and what the form shows (what was just posted when refused, else the answer on record). The
fields themselves are the template portal/_rsvp_fields.html."""
from __future__ import annotations

from shared.i18n import _l

from .. import rules
from ..ops import consents
from . import privacy as privacy_pages

PEOPLE_KEYS = ("name", "role", "email")


def read(form) -> dict:
    """The answer as ops.rsvp_rules.checked_answer takes it, from the page's form fields."""
    def person(prefix: str) -> dict:
        return {k: form.get(f"{prefix}_{k}", "").strip() for k in PEOPLE_KEYS}

    delegates, i = [], 0
    while f"delegate{i}_name" in form and i < 20:
        delegates.append(person(f"delegate{i}"))
        i += 1
    revision = form.get("revision", "")
    return {"attending": form.get("attending") == "yes", "answered": form.get("attending") in ("yes", "no"),
            "delegates": [d for d in delegates if any(d.values())], "substitute": person("substitute"),
            "accessibility": form.get("accessibility", "")[:2000], "visa_letter": form.get("visa_letter") == "yes",
            "visa_details": form.get("visa_details", "")[:2000], "comments": form.get("comments", "")[:2000],
            "revision": int(revision) if revision.isdigit() else None,
            "privacy_consent": privacy_pages.given_version(form.get("privacy_consent"))}


PERSON_ERRORS = {"name": _l("Please give this person's full name (at most 200 characters)."),
                 "role": _l("Please keep the role to at most 200 characters."),
                 "email": _l("Please give a valid email address, such as name@city.example, or leave it empty.")}


def check_people(data: dict) -> dict:
    """What the API's schema checks of names and addresses, for the page: field -> message."""
    from marshmallow import ValidationError as SchemaError

    from ..api.schemas_ceremony import Attendee
    errors = {}
    people = [(f"delegate{i}", d) for i, d in enumerate(data["delegates"])]
    if data["substitute"] and any(data["substitute"].values()):
        people.append(("substitute", data["substitute"]))
    for prefix, p in people:
        try:
            Attendee().load({**p, "email": p.get("email") or None})
        except SchemaError as exc:
            for key, messages in exc.messages.items():
                errors[f"{prefix}_{key}"] = str(PERSON_ERRORS[key]) if key in PERSON_ERRORS else " ".join(messages)
    return errors


REFUSALS = (("at least one person", _l("Name at least one person who will attend.")),
            ("a delegation has at most", _l("A delegation has at most %(num)d people.")),
            ("name as in their passport", _l("For a visa invitation letter, give each person's name as in their "
                                             "passport and their nationality.")),
            ("the ceremony has started", _l("The ceremony has started: answers can no longer be given or changed.")),
            ("the event has started", _l("The event has started: answers can no longer be given or changed.")),
            ("changed elsewhere", _l("This answer was changed elsewhere in the meantime (in another tab, or by a "
                                     "colleague): reload the page and answer again.")),
            ("given elsewhere", _l("This answer was given elsewhere at the same moment: reload the page.")))


def refusal(exc: rules.RuleViolation, invitation: dict) -> str:
    """A refusal of the RSVP rules (English, as the API answers it) as the page says it."""
    if isinstance(exc, consents.ConsentRefused):
        return privacy_pages.consent_message(exc, privacy_pages.TRAVEL_CONSENT_MISSING)
    message = exc.message
    for fragment, sentence in REFUSALS:
        if fragment in message:
            return str(sentence) % {"num": invitation["max_delegates"]}
    return message


def values(invitation: dict, form) -> dict:
    """What the form shows: what was just posted (when refused), else the answer on record."""
    size = invitation["max_delegates"]
    if form is not None:
        return {"attending": form.get("attending", ""), "revision": form.get("revision", ""),
                "delegates": [{k: form.get(f"delegate{i}_{k}", "") for k in PEOPLE_KEYS} for i in range(size)],
                "substitute": {k: form.get(f"substitute_{k}", "") for k in PEOPLE_KEYS},
                **{k: form.get(k, "") for k in ("accessibility", "visa_details", "comments")},
                "visa_letter": form.get("visa_letter") == "yes",
                "privacy_consent": bool(privacy_pages.given_version(form.get("privacy_consent")))}
    rsvp = invitation["rsvp"] or {}
    blank = {"name": "", "role": "", "email": ""}
    delegates = [{**blank, **{k: v or "" for k, v in d.items()}} for d in rsvp.get("delegates", [])][:size]
    return {"attending": "" if not rsvp else ("yes" if rsvp["attending"] else "no"),
            "revision": rsvp.get("revision", ""),
            "delegates": delegates + [dict(blank) for _ in range(size - len(delegates))],
            "substitute": {**blank, **{k: v or "" for k, v in (rsvp.get("substitute") or {}).items()}},
            "accessibility": rsvp.get("accessibility", ""), "visa_details": rsvp.get("visa_details", ""),
            "comments": rsvp.get("comments", ""), "visa_letter": rsvp.get("visa_letter", False)}
