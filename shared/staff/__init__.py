"""Staff: the secretariat's people, their roles, sessions, API tokens and the hand-off between services.

intake owns the staff list (who, with which role, active or not) and signs staff in; it tells
review and notify by events (``staff.changed``, ``staff.token_changed``, ``staff.signed_out``),
which keep a copy. Each service keeps its own revocable staff sessions: a signed, one-minute,
single-use hand-off in a redirect moves a signed-in person from one service's pages to
another's without a service-to-service call (see docs/staff.md).

Modules: ``roles`` (who may do what: pure), ``tables`` (the tables every service has),
``store`` (Flask-free operations on them), ``handoff`` (the signed hand-off), ``handlers``
(the staff events, as every service applies them) and ``web`` (the Flask side: cookies,
CSRF, the hand-off and sign-out routes, the checks every staff page and API call makes).
"""
