"""intake's JSON API, per audience: applicant.py (accounts, applications, the ceremony
invitation), secretariat.py (editions and their privacy notices, exceptions, sign-in addresses, the ceremony;
dashboard.py: an edition's figures), privacy.py (the privacy notice that applies now) and
documents.py (uploads and the embedded store). ``blueprints`` is what app.py registers."""
from __future__ import annotations

from ..accounts import blueprints as signin_blueprints
from . import applicant, dashboard, documents, secretariat, staff  # noqa: F401  (dashboard.py: a route on secretariat.calls)
from . import outreach  # noqa: F401  (a route on secretariat.calls: invitations to apply)
from . import funnel  # noqa: F401  (issue 17, the funnel: a route on secretariat.calls)
from .privacy import privacy
from .registry import registry_api
from .prospects import prospects_api  # issue 17: outreach's prospects
from .common import applicants, ceremonies

blueprints = ([applicants] + signin_blueprints + [secretariat.calls, applicant.applications]
              + documents.blueprints + [ceremonies, staff.staff, registry_api, privacy]
              + [prospects_api])
