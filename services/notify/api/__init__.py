"""notify's JSON API: the secretariat's (api/secretariat.py, group emails in api/messages.py) and
SNS's endpoint (api/sns.py)."""
from .messages import blueprints as _messages
from .secretariat import blueprints as _secretariat
from .sns import blueprints as _sns

blueprints = [*_secretariat, *_messages, *_sns]
