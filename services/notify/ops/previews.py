"""The email the secretariat is about to cause, rendered as notify will send it: to the
applicant's address, in their language, in the edition's wording (a stored override, if any).

Asked for by a signed link (shared.email_preview) that another service's confirmation page
embeds; nothing is recorded and nothing is sent.
"""
from __future__ import annotations

from shared.email_preview import Preview
from shared.refusals import Refused

from ..models import Recipient, Suppression
from ..samples import SAMPLES
from . import templates
from .contexts import application_context, ceremony_context

# The templates an applicant gets because of a decision, which a confirmation page may preview.
APPLICATION_TEMPLATES = ("eligibility_result", "finalist_notice", "not_advanced", "award_winner", "not_awarded")


# Outreach emails: their variables are the event's whole data (the prospect is intake's, unknown here).
OUTREACH_TEMPLATES = ("outreach_invitation",)


def _outreach(db, wanted: Preview, unsubscribe) -> dict:
    from ..outreach import context_of
    from .optout import opted_out
    d = wanted.variables
    try:
        language = templates.language_for(wanted.template, d.get("language"))
        to = str(d["email"])
        context = context_of(d, language, unsubscribe.url(to, wanted.template) if unsubscribe else "")
    except (KeyError, TypeError, ValueError) as exc:
        raise Refused(422, f"this preview lacks what the email needs ({exc})") from None
    with db.session() as s:
        subject, text, html = templates.render(wanted.template, language, context, s)
        suppressed = s.get(Suppression, to.lower()) is not None or opted_out(s, to) is not None
    return {"template": wanted.template, "language": language, "to": to, "suppressed": suppressed,
            "subject": subject, "text": text, "html": html}


def preview(db, wanted: Preview, unsubscribe=None) -> dict:
    """Subject, text and HTML of ``wanted``, with whom it goes to and in which language."""
    if wanted.template in OUTREACH_TEMPLATES:
        return _outreach(db, wanted, unsubscribe)
    if wanted.template not in APPLICATION_TEMPLATES:
        raise Refused(404, f"no preview of {wanted.template}")
    with db.session() as s:
        recipient = s.get(Recipient, wanted.application_id)
        if recipient is None or not recipient.contact_email:
            raise Refused(404, "notify has not yet recorded this application's submission, so it cannot show "
                               "the email; it is sent once the submission is recorded")
        language = templates.language_for(wanted.template, recipient.language)
        # only the variables this template's emails have; the recipient's own details are notify's
        own = application_context(recipient, language, {})
        extra = {k: v for k, v in wanted.variables.items()
                 if k in SAMPLES[wanted.template] and k not in own and k != "ceremony"}
        if wanted.template == "award_winner":
            extra["ceremony"] = ceremony_context(recipient.ceremony, language) if recipient.ceremony else None
        subject, text, html = templates.render(wanted.template, language,
                                               application_context(recipient, language, extra), s)
        suppressed = s.get(Suppression, recipient.contact_email.lower()) is not None
        return {"template": wanted.template, "language": language, "to": recipient.contact_email,
                "suppressed": suppressed, "subject": subject, "text": text, "html": html}
