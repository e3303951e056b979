from alembic import context

from services.review.models import metadata
from shared.migrations import run_migrations

run_migrations(context, metadata, "review")
