"""notify's HTML pages: the secretariat's outbox and email templates (pages/secretariat.py)."""
from .secretariat import blueprints, staff_refusal

__all__ = ["blueprints", "staff_refusal"]
