"""review's JSON API per audience: jury.py (jurors) and secretariat.py, schemas beside them."""
from . import jury, secretariat

blueprints = secretariat.blueprints + jury.blueprints
