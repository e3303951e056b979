"""review's JSON API per audience: jury.py (jurors) and secretariat.py (+ jurors.py: managing
jurors; screening.py: screening decisions), schemas beside them."""
from . import jurors, jury, screening, secretariat  # noqa: F401  (jurors.py and screening.py add routes to secretariat's blueprints)

blueprints = secretariat.blueprints + jury.blueprints
