"""Who may do what: the four staff roles and what each may do (pure, no I/O)."""
from __future__ import annotations

STAFF_ROLES = ("admin", "secretariat", "jury_chair", "observer")

ROLE_LABELS = {
    "admin": "Administrator",
    "secretariat": "Secretariat",
    "jury_chair": "Jury chair",
    "observer": "Observer",
}

ROLE_DESCRIPTIONS = {
    "admin": "everything, and manages staff",
    "secretariat": "runs editions, applications, jurors, rounds, decisions, the ceremony and emails",
    "jury_chair": "reads standings and evidence, proposes decisions; cannot release results",
    "observer": "reads everything the secretariat sees; changes nothing",
}

# What a request needs, from least to most: reading; proposing decisions (a jury chair may);
# changing anything else; managing staff.
NEEDS = ("read", "propose", "write", "manage_staff")

_ALLOWED = {
    "read": frozenset(STAFF_ROLES),
    "propose": frozenset({"admin", "secretariat", "jury_chair"}),
    "write": frozenset({"admin", "secretariat"}),
    "manage_staff": frozenset({"admin"}),
}


def can(role: str | None, need: str) -> bool:
    """Whether a member of ``role`` may do what needs ``need``."""
    if need not in _ALLOWED:
        raise ValueError(f"unknown need {need!r}")
    return role in _ALLOWED[need]


def refusal(role: str | None, need: str) -> str:
    """The message of a 403 for a member of ``role`` asking for ``need``."""
    label = ROLE_LABELS.get(role or "", role or "unknown")
    if need == "manage_staff":
        return f"only an administrator manages staff; your role is {label}"
    if need == "propose":
        return f"your role ({label}) can read but not propose decisions"
    return f"your role ({label}) can read but not change anything here"
