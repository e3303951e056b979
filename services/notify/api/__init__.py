"""notify's JSON API: the secretariat's (api/secretariat.py) and SNS's endpoint (api/sns.py)."""
from .secretariat import blueprints as _secretariat
from .sns import blueprints as _sns

blueprints = [*_secretariat, *_sns]
