"""notify's HTML pages: the secretariat's outbox and email templates (pages/secretariat.py)."""
from .secretariat import blueprints

__all__ = ["blueprints"]
