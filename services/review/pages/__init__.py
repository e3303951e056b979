"""review's server-rendered pages per audience: jury.py, secretariat.py and screening.py (the
secretariat's screening); common.py: what they share."""
from . import jury, screening, secretariat  # noqa: F401  (their routes register on the blueprints below)
from .common import jury_pages, pages, secretariat_pages, staff_refusal  # noqa: F401  (app.py wires it)

blueprints = [pages, jury_pages, secretariat_pages]
