"""The one way an operation says no: ``Refused(status, message, errors=None, **details)``.

Operations raise it (or a subclass named for the case) without knowing about HTTP frameworks;
shared.web maps it once to the JSON error of the API (``{code, status, message, errors?,
...details}``), and pages map it once to the page's error. ``status`` is the HTTP status the
refusal means: 404 not found (or not yours), 409 a state that forbids it, 422 invalid input
(``errors`` then names the fields: ``{"field": ["problem", ...]}``), 403, 429.
"""
from __future__ import annotations


class Refused(Exception):
    def __init__(self, status: int, message: str, errors: dict | None = None, **details):
        super().__init__(message)
        self.status, self.message, self.errors, self.details = status, message, errors, details

    def body(self) -> dict:
        """The JSON error's fields beyond code and status."""
        body = {"message": self.message}
        if self.errors:
            body["errors"] = self.errors
        body.update(self.details)
        return body
