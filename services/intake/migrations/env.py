from alembic import context

from services.intake.models import metadata
from shared.migrations import run_migrations

run_migrations(context, metadata, "intake")
