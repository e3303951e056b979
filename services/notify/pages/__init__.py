"""notify's HTML pages: the secretariat's outbox and email templates (pages/secretariat.py), the
preview of an email another service's page is about to cause (pages/previews.py), and `/`, what
this service is (pages/front.py)."""
from .front import front_pages
from .messages import message_pages
from .previews import preview_pages
from .unsubscribe import unsubscribe_pages
from .secretariat import blueprints as secretariat_blueprints, staff_refusal

blueprints = [*secretariat_blueprints, message_pages, preview_pages, unsubscribe_pages, front_pages]

__all__ = ["blueprints", "staff_refusal"]
