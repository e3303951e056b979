"""review's server-rendered pages per audience: jury.py, secretariat.py, screening.py (the
secretariat's screening), jurors.py (managing jurors), rounds.py (the looks before assigning,
closing and releasing) and front.py (`/`: what this service is, and where jurors and staff go);
common.py: what they share."""
from . import front, jurors, jury, rounds, screening, secretariat  # noqa: F401  (their routes register on the blueprints below)
from .language import page_language  # noqa: F401  (app.py wires it)
from .common import jury_pages, pages, secretariat_pages, staff_refusal  # noqa: F401  (app.py wires it)

blueprints = [pages, jury_pages, secretariat_pages]
