from alembic import context

from services.notify.models import metadata
from shared.migrations import run_migrations

run_migrations(context, metadata, "notify")
