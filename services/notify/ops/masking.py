"""What the secretariat is shown of an email: its one-time sign-in links and codes masked.

A sign-in email (and a juror's invitation) carries a link or code that still works while the
secretariat reads the outbox: shown whole, anyone with the outbox could sign in as the applicant
or juror. So the outbox pages and the API mask them after rendering; the stored email, the one
delivered and the one Resend sends again, stays whole.
"""
from __future__ import annotations

import re

MASK = "••••••"
_URL_SAFE = "A-Za-z0-9_-"
# The token of any /signin/ link (a service's prefix before it or not); /api/signin/token, the
# address an API code is posted to, is no secret.
_LINK_TOKEN = re.compile(rf"(?<=/signin/)(?!token(?![{_URL_SAFE}]))[{_URL_SAFE}]+")
# An API code wherever it stands (the text, a curl line, HTML-escaped JSON): shared.signin's
# secrets are 43 URL-safe characters (new_secret). A longer run is masked too: it could hold one.
_SECRET = re.compile(rf"(?<![{_URL_SAFE}])[{_URL_SAFE}]{{43,}}(?![{_URL_SAFE}])")


def mask_signin_secrets(text: str) -> str:
    """``text`` (an email's subject, text or HTML as rendered) with every sign-in link's token
    and every sign-in code replaced by ``MASK``."""
    return _SECRET.sub(MASK, _LINK_TOKEN.sub(MASK, text))
