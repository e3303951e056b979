"""Sample data of every email template: exactly the context keys its handler (handlers.py) or the
sender (delivery.py) gives it, with realistic values.

Used to preview a template and to check a stored override on save: a variable that is not here is
one the real emails do not have. Written in English; ops/templates.sample_of gives a template's
sample in its language (ops/languages.localised: the categories, rounds, pages, months and dates
that the handlers write in the email's language), so a Korean or Portuguese preview reads as the
email will. Every template file needs an entry (tests/unit/test_notify_samples.py
fails otherwise); keep each one a plain dict.
"""
from __future__ import annotations

_APPLICATION = {
    "contact_name": "Lin Mei-hua", "organisation": "Kaohsiung City Government",
    "reference": "SSCP-2026-KHH001", "title": "Hydrogen buses for the harbour of 高雄", "year": 2026,
    "category_title": "Tech-InnovaCity",
}

_CEREMONY = {
    "date": "28 October 2026", "time": "18:30", "time_zone": "Asia/Seoul", "utc": "2026-10-28 09:30 UTC",
    "venue": "Seoul City Hall, Multipurpose Hall", "address": "110 Sejong-daero, Jung-gu, Seoul",
    "details": "Dress code: business attire. Please arrive by 18:00 for badges.",
    "rsvp_by": "30 September 2026", "rsvp_by_utc": "2026-09-30 14:59 UTC",
    "url": "https://apply.wego-cities.example/ceremony/rsvp/abc123",
}

_JURY_APPLICATIONS = [
    {"reference": "SSCP-2026-KHH001", "title": "Hydrogen buses for the harbour of 高雄",
     "category_title": "Tech-InnovaCity"},
    {"reference": "SSCP-2026-GRU004", "title": "Guarulhos listens: participatory budgeting by SMS",
     "category_title": "Human-CentriCity"},
]

_OUTREACH = {
    "name": "Agnieszka Nowak", "organisation": "City of Lublin", "year": 2026,
    "url": "https://apply.wego-cities.example/portal/register?invitation=Jx3kQ9",
    "closes": "14 July 2026 18:00 (Asia/Seoul; 2026-07-14 09:00 UTC)", "closes_day": "14 July 2026",
    "unsubscribe_url": "https://notify.wego-cities.example/unsubscribe/eyJlIjoiYSJ9",
}

SAMPLES: dict[str, dict] = {
    "outreach_invitation": {**_OUTREACH, "expires_at": "2026-06-20 09:00 UTC"},
    "outreach_reminder": {**_OUTREACH, "registered": False, "reminder": "14d"},
    "submission_ack": {
        **_APPLICATION, "city": "高雄 Kaohsiung", "submitted_at": "2026-07-14 09:00 UTC",
        "closes": "14 July 2026 18:00 (Asia/Seoul; 2026-07-14 09:00 UTC)",
        "status_url": "https://apply.example.org/portal/applications/0b0e5c1a-8f3e-4a55-9a7e-3d2f1c6b9e01/status",
    },
    "eligibility_result": {
        **_APPLICATION, "eligible": False,
        "reason": "The application form is not signed by the mayor or a deputy mayor.",
    },
    "finalist_notice": dict(_APPLICATION),
    "not_advanced": dict(_APPLICATION),
    "not_awarded": dict(_APPLICATION),
    "award_winner": {
        **_APPLICATION, "outcome": "winner", "award": "Grand Prize", "ceremony": dict(_CEREMONY),
    },
    "ceremony_invitation": {**_APPLICATION, "ceremony": dict(_CEREMONY), "finalist": True},
    "rsvp_received": {
        "name": "Lin Mei-hua", "year": 2026, "reference": "SSCP-2026-KHH001",
        "title": "Hydrogen buses for the harbour of 高雄", "organisation": "Kaohsiung City Government", "ceremony": dict(_CEREMONY),
        "attending": True, "changed": False,
        "delegates": [{"name": "Chen Chi-mai", "role": "Mayor", "email": "mayor@kcg.example.tw"},
                      {"name": "Lin Mei-hua", "role": "Director, Smart City Office", "email": ""}],
        "substitute": {"name": "Wang Yu-ting", "role": "Deputy Director", "email": "wang@kcg.example.tw"},
        "accessibility": "One wheelchair user in the delegation.", "visa_letter": True,
        "visa_details": "Chen Chi-mai, passport of Taiwan", "comments": "We will arrive on 27 October.",
    },
    "rsvp_reminder": {
        "name": "Ana Souza", "year": 2026, "reference": "SSCP-2026-GRU004",
        "title": "Guarulhos listens: participatory budgeting by SMS",
        "organisation": "Prefeitura de Guarulhos", "ceremony": dict(_CEREMONY), "overdue": False,
    },
    "ceremony_changed": {
        "name": "Lin Mei-hua", "year": 2026, "reference": "SSCP-2026-KHH001",
        "title": "Hydrogen buses for the harbour of 高雄", "organisation": "Kaohsiung City Government",
        "ceremony": dict(_CEREMONY), "changes": ["starts_at", "venue"],
    },
    # the edition's events (issue 17): handlers_events.py
    "event_invitation": {
        "name": "Zofia Wiśniewska", "organisation": "Urząd Miasta Lublin", "year": 2026,
        "event_name": "WeGO Mayors Forum 2026", "kind": "mayors_forum", "max_delegates": 3,
        "event": {**_CEREMONY, "url": "https://apply.wego-cities.example/events/rsvp/abc123"},
        "unsubscribe_url": "https://notify.wego-cities.example/unsubscribe/abc123",
    },
    "event_rsvp_received": {
        "name": "Zofia Wiśniewska", "organisation": "Urząd Miasta Lublin", "year": 2026,
        "event_name": "WeGO Mayors Forum 2026", "kind": "mayors_forum", "max_delegates": 3,
        "event": {**_CEREMONY, "url": "https://apply.wego-cities.example/events/rsvp/abc123"},
        "attending": True, "changed": False,
        "delegates": [{"name": "Zofia Wiśniewska", "role": "Deputy Mayor", "email": "zofia@lublin.example.pl"}],
        "substitute": None, "accessibility": "", "visa_letter": False, "visa_details": "", "comments": "",
    },
    "signin_link": {
        "contact_name": "Ana Souza", "purpose": "browser",
        "url": "https://apply.wego-cities.example/signin/6f1c0d0e", "place": "the applicant portal",
        "site": "portal", "already_registered": False, "code": "", "minutes": 30, "expires_at": "2026-07-14 09:30 UTC",
        # a staff invitation's (shared.staff): who invited them, as what, where to sign in afterwards
        "invited": False, "invited_by": "Ada Kim <ada@wego.example>", "role_label": "Secretariat",
        "signin_page": "https://apply.wego-cities.example/staff/signin",
    },
    "contact_email_changed": {
        "contact_name": "Lin Mei-hua", "organisation": "Kaohsiung City Government",
        "new_email": "smartcity@kcg.example.tw", "old_email": "mei.lin@kcg.example.tw", "addressee": "old",
        "changed_at": "2026-07-14 09:00 UTC",
    },
    "juror_invited": {
        "name": "Ana Souza", "url": "https://jury.wego-cities.example/signin/9b2e7a11",
        "expires_at": "2026-07-21 09:00 UTC",
    },
    "review_assigned": {
        "name": "Ana Souza", "year": 2026, "url": "https://jury.wego-cities.example/jury", "count": 2,
        "round_title": "selection of finalists", "due_at": "2026-08-14 09:00 UTC",
        "applications": list(_JURY_APPLICATIONS),
    },
    "review_reminder": {
        "name": "Ana Souza", "year": 2026, "url": "https://jury.wego-cities.example/jury", "count": 2,
        "round_title": "selection of finalists", "due_at": "2026-08-14 09:00 UTC",
        "due_day": 14, "due_month": "August", "applications": list(_JURY_APPLICATIONS),
    },
    "draft_reminder": {
        "name": "Lin Mei-hua", "year": 2026, "url": "https://apply.wego-cities.example/applications/4d1e",
        "reference": "SSCP-2026-KHH001", "title": "Hydrogen buses for the harbour of 高雄", "reminder": "7d",
        "category_title": "Tech-InnovaCity", "closes_at": "2026-07-14 09:00 UTC",
        "closes_local": "2026-07-14 18:00 Asia/Seoul", "closes_day": 14, "closes_month": "July",
        "missing": [{"title": "Summary", "over_limit": True}, {"title": "Application form", "over_limit": False}],
    },
    "delivery_failed_alert": {
        "recipient": "second@guarulhos.example.br", "also_tried": ["ana.souza@guarulhos.example.br"],
        "template": "submission_ack", "subject": "Application received: SSCP-2026-GRU004 — Guarulhos listens",
        "error": "550 5.1.1 <second@guarulhos.example.br>: Recipient address rejected: User unknown",
        "event_type": "application.submitted", "event_id": "0b0e5c1a-8f3e-4a55-9a7e-3d2f1c6b9e01",
        "failed_at": "2026-07-14 09:05 UTC",
    },
}
