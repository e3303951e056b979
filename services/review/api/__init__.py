"""review's JSON API per audience: jury.py (jurors) and secretariat.py (+ jurors.py: managing
jurors), schemas beside them."""
from . import jurors, jury, secretariat  # noqa: F401  (jurors.py adds routes to secretariat's blueprint)

blueprints = secretariat.blueprints + jury.blueprints
