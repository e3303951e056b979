"""What each email template is for, in people's words: its title, why and to whom it is sent, the
events that send it (read from handlers.py and ops/claims.py) and what each of its variables holds.

Pure data for the templates pages and the API. tests/notify/test_template_catalogue.py keeps it
true: every template file has an entry here, and each entry names exactly the variables of the
template's sample data (samples.py), so neither can change without the other.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Who receives the emails, in the order the templates page shows them.
AUDIENCES = {
    "applicants": "Applicants (the cities' contact people)",
    "prospects": "Prospects (organisations the secretariat invites to apply)",
    "guests": "Ceremony guests",
    "jurors": "Jurors",
    "staff": "The secretariat",
}


@dataclass(frozen=True)
class Entry:
    title: str
    purpose: str
    audience: str
    events: tuple[str, ...]
    variables: dict[str, str] = field(default_factory=dict)


# What a variable holds when several templates share its name (a template may say it otherwise).
_SAID = {
    "reference": "the application's reference, e.g. SSCP-2026-KHH001",
    "title": "the application's title",
    "year": "the edition: the call's year, e.g. 2026",
    "category_title": "the application's category, in the email's language (e.g. Tech-InnovaCity)",
    "organisation": "the applying organisation, e.g. Kaohsiung City Government",
    "contact_name": "the name of the application's contact person",
    "name": "the recipient's name",
    "ceremony": ("the award ceremony: ceremony.date, ceremony.time, ceremony.time_zone, ceremony.utc, "
                 "ceremony.venue, ceremony.address, ceremony.details, ceremony.rsvp_by, ceremony.rsvp_by_utc "
                 "and ceremony.url (the RSVP link)"),
    "url": "the link the recipient follows",
    "expires_at": "when the link stops working, in UTC, e.g. 2026-07-21 09:00 UTC",
    "applications": ("the applications in question, a list: each has reference, title and category_title "
                     "(shown with a loop; only the raw editor can change its wording)"),
    "count": "how many applications",
    "round_title": "the jury round, in the email's language, e.g. selection of finalists",
    "due_at": "when the reviews are due, in UTC",
}


def _vars(*names: str, **own: str) -> dict[str, str]:
    """The variables ``names`` described as _SAID says, and ``own`` described as given."""
    return {**{n: _SAID[n] for n in names}, **own}


_APPLICATION = ("reference", "title", "year", "category_title", "organisation", "contact_name")
_GUEST = ("name", "reference", "title", "year", "organisation", "ceremony")
_OUTREACH = {"name": "the contact person's name (empty when unknown: the email greets the organisation)",
             "organisation": "the invited organisation, e.g. City of Lublin",
             "closes": "when the call closes, local time and UTC",
             "closes_day": "the closing day, in the email's language, e.g. 14 July 2026",
             "unsubscribe_url": "the link that stops outreach emails to this address"}

_EVENT_VARS = {
    "name": "the invited person's name (empty if unknown)", "organisation": "their organisation",
    "year": _SAID["year"], "event_name": "the event's name, e.g. WeGO Mayors Forum 2026",
    "kind": "the kind of event: general_assembly, mayors_forum, ceremony or other",
    "max_delegates": "the largest delegation the event takes",
    "event": ("the event: event.date, event.time, event.time_zone, event.utc, event.venue, event.address, "
              "event.details, event.rsvp_by, event.rsvp_by_utc and event.url (the personal RSVP link)")}

CATALOGUE: dict[str, Entry] = {
    "submission_ack": Entry(
        "Application received",
        "Sent to the applicant's contact as soon as an application is submitted, confirming its reference.",
        "applicants", ("application.submitted",),
        _vars(*_APPLICATION, city="the applying city, e.g. 高雄 Kaohsiung",
              submitted_at="when it was submitted, in UTC", closes="when the call closes, local time and UTC",
              status_url="the application's status page, where the applicant downloads the PDF of the "
                         "application as submitted (empty for an application submitted before the PDF)")),
    "eligibility_result": Entry(
        "Eligibility result",
        "Sent to the applicant's contact when the secretariat has screened the application: eligible or not, and why.",
        "applicants", ("application.screened",),
        _vars(*_APPLICATION, eligible="yes or no: whether the application passed the screening",
              reason="why it is not eligible (empty when it is)")),
    "finalist_notice": Entry(
        "Finalist notice",
        "Sent to each finalist's contact when the secretariat releases the finalist round.",
        "applicants", ("results.released", "application.advanced"), _vars(*_APPLICATION)),
    "not_advanced": Entry(
        "Not selected as a finalist",
        "Sent to the contact of each application the jury did not select when the finalist round is released.",
        "applicants", ("results.released", "application.eliminated"), _vars(*_APPLICATION)),
    "award_winner": Entry(
        "Award winner",
        "Sent to the contact of each winner or special mention when the secretariat releases the award round, "
        "with the ceremony invitation when it is known.",
        "applicants", ("results.released", "award.decided"),
        _vars(*_APPLICATION, "ceremony", outcome="winner or special_mention",
              award="the award's name, e.g. Grand Prize")),
    "not_awarded": Entry(
        "Not awarded",
        "Sent to the contact of each finalist without an award when the award round is released.",
        "applicants", ("results.released", "award.decided"), _vars(*_APPLICATION)),
    "draft_reminder": Entry(
        "Draft reminder",
        "Sent to an applicant whose application is still a draft some days before the call closes, "
        "listing what stops its submission.",
        "applicants", ("application.draft_reminder",),
        _vars("name", "year", "reference", "title", "category_title",
              url="the link to the draft", reminder="which reminder this is, e.g. 7d (seven days before)",
              closes_at="when the call closes, in UTC", closes_local="when the call closes, local time",
              closes_day="the closing day of the month, e.g. 14", closes_month="the closing month, in the email's language, e.g. July",
              missing="what is still missing, a list: each has title and over_limit (shown with a loop)")),
    "contact_email_changed": Entry(
        "Sign-in address changed",
        "Sent to both the new and the old address when the secretariat moves an applicant's sign-in address.",
        "applicants", ("applicant.updated",),
        _vars("contact_name", "organisation", new_email="the new sign-in address", old_email="the previous address",
              addressee="which address this email goes to: new or old", changed_at="when it changed, in UTC")),
    "signin_link": Entry(
        "Sign-in link or code",
        "Sent to whoever asks to sign in (applicants, jurors and staff) and to staff invited by an administrator: "
        "a one-time link, or a code for the API.",
        "applicants", ("signin.requested",),
        _vars("url", "expires_at", contact_name="the name of the person signing in",
              purpose="browser (a link) or api (a code)", place="where the link leads, e.g. the applicant portal",
              site="the site named in the subject, e.g. portal", already_registered="yes if the address was registered already",
              code="the one-time code (API sign-in only)", minutes="how many minutes the link or code works",
              invited="yes for a staff invitation", invited_by="who invited the staff member",
              role_label="the invited member's role, e.g. Secretariat",
              signin_page="the staff sign-in page, for later visits")),
    "ceremony_invitation": Entry(
        "Ceremony invitation",
        "Sent to each finalist's contact when the secretariat sends the invitations to the award ceremony.",
        "guests", ("ceremony.invited",),
        _vars(*_APPLICATION, "ceremony", finalist="yes if the application is a finalist")),
    "rsvp_received": Entry(
        "RSVP confirmation",
        "Sent to the invited contact each time they answer the ceremony invitation, repeating what was recorded.",
        "guests", ("ceremony.rsvp_received",),
        _vars(*_GUEST, attending="yes if they attend", changed="yes if this changes an earlier answer",
              delegates="the delegation, a list: each has name, role and email (shown with a loop)",
              substitute="who comes instead, if anyone: substitute.name, substitute.role, substitute.email",
              accessibility="accessibility needs", visa_letter="yes if they need a visa invitation letter",
              visa_details="for whom the visa letter is", comments="their comments")),
    "rsvp_reminder": Entry(
        "RSVP reminder",
        "Sent to an invited contact who has not answered, the day before the RSVP date or after it.",
        "guests", ("ceremony.rsvp_reminder",),
        _vars(*_GUEST, overdue="yes if the RSVP date has passed")),
    "ceremony_changed": Entry(
        "Ceremony changed",
        "Sent to every invited contact when the secretariat changes the ceremony's date, place or RSVP date.",
        "guests", ("ceremony.changed",),
        _vars(*_GUEST, changes="what changed, a list of starts_at, venue, rsvp_by...")),
    # the edition's events (issue 17): handlers_events.py
    "event_invitation": Entry(
        "Event invitation",
        "Sent to each prospect or applicant the secretariat invites to one of the edition's events (the General "
        "Assembly, the Mayors Forum, the ceremony), with their personal link to answer. An outreach email: it "
        "carries an unsubscribe link and is not sent to an opted-out address.",
        "guests", ("event.invited",), _EVENT_VARS | {
            "unsubscribe_url": "the link that stops outreach emails to this address (empty: none shown)"}),
    "event_rsvp_received": Entry(
        "Event RSVP confirmation",
        "Sent to the invited person each time they answer an event invitation, repeating what was recorded.",
        "guests", ("event.rsvp_received",), _EVENT_VARS | {
            "attending": "yes if they attend", "changed": "yes if this changes an earlier answer",
            "delegates": "the delegation, a list: each has name, role and email (shown with a loop)",
            "substitute": "who comes instead, if anyone: substitute.name, substitute.role, substitute.email",
            "accessibility": "accessibility needs", "visa_letter": "yes if they need a visa invitation letter",
            "visa_details": "for whom the visa letter is", "comments": "their comments"}),
    "juror_invited": Entry(
        "Jury invitation",
        "Sent to a juror when the secretariat invites them, with the link that signs them in to the jury's pages.",
        "jurors", ("juror.invited",), _vars("name", "url", "expires_at")),
    "review_assigned": Entry(
        "Reviews assigned",
        "Sent to a juror once per round with every application newly assigned to them.",
        "jurors", ("review.assigned",), _vars("name", "year", "url", "count", "round_title", "due_at", "applications")),
    "review_reminder": Entry(
        "Review reminder",
        "Sent to a juror before the round's due date, listing the reviews they still have to do.",
        "jurors", ("review.reminder",),
        _vars("name", "year", "url", "count", "round_title", "due_at", "applications",
              due_day="the due day of the month, e.g. 14", due_month="the due month, in the email's language, e.g. August")),
    # --- outreach (issue 17): each carries the unsubscribe link (ops/optout.py) ---
    "outreach_invitation": Entry(
        "Invitation to apply",
        "Sent to a prospect when the secretariat invites them to apply, with a single-use registration link "
        "that fills in what we know of them. Not sent to an address that opted out.",
        "prospects", ("outreach.invited",), _vars("year", "url", **_OUTREACH,
              expires_at="when the registration link stops working, in UTC")),
    "outreach_reminder": Entry(
        "Reminder to apply",
        "Sent to an invited prospect before the call closes (14 and 3 days before) if they have not registered, "
        "or have registered and not submitted. Not sent to an address that opted out.",
        "prospects", ("outreach.reminder",), _vars("year", "url", **_OUTREACH,
              registered="yes if they registered (the email asks them to submit), no if not (to register)",
              reminder="which reminder this is, e.g. 14d (fourteen days before)")),
    "delivery_failed_alert": Entry(
        "Email failed: alert",
        "Sent to the secretariat's address when an email to a city fails for good (notify itself sends it).",
        "staff", (),
        {"recipient": "the address the failed email was for", "also_tried": "the other addresses tried, a list",
         "template": "the failed email's template code name", "subject": "the failed email's subject",
         "error": "the mail server's last answer", "event_type": "the event that caused the email",
         "event_id": "that event's id", "failed_at": "when it failed for good, in UTC"}),
}


def entry(name: str) -> Entry:
    """The catalogue entry of template ``name``; KeyError for a name it does not know."""
    return CATALOGUE[name]


def by_audience(names) -> dict[str, list[str]]:
    """The template ``names`` grouped by audience (AUDIENCES' order), each group in catalogue order;
    a name without an entry (a file newer than the catalogue) goes under "staff" last."""
    order = list(CATALOGUE)
    groups: dict[str, list[str]] = {a: [] for a in AUDIENCES}
    for name in sorted(names, key=lambda n: order.index(n) if n in CATALOGUE else len(order)):
        groups[CATALOGUE[name].audience if name in CATALOGUE else "staff"].append(name)
    return {a: ns for a, ns in groups.items() if ns}


def facts(name: str) -> dict:
    """The entry as plain data (for the API): title, purpose, audience, events and variables."""
    e = CATALOGUE.get(name)
    if e is None:
        return {"title": name, "purpose": "", "audience": "staff", "events": [], "variables": []}
    return {"title": e.title, "purpose": e.purpose, "audience": e.audience, "events": list(e.events),
            "variables": [{"name": n, "description": d} for n, d in sorted(e.variables.items())]}
