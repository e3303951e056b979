"""Each service's migration history builds exactly the schema its models describe."""
from __future__ import annotations

import pytest
from alembic import command

from shared.migrations import alembic_config, upgrade

SERVICES = ("intake", "review", "notify")


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_match_the_models_on_sqlite(tmp_path, service):
    url = f"sqlite:///{tmp_path / (service + '.sqlite')}"
    upgrade(service, url)
    command.check(alembic_config(service, url))  # raises if the models differ from the schema


@pytest.mark.postgres
@pytest.mark.parametrize("service", SERVICES)
def test_migrations_match_the_models_on_postgres(pg_database_urls, service):
    url = pg_database_urls[service].replace("postgresql://", "postgresql+psycopg://")
    upgrade(service, url)
    command.check(alembic_config(service, url))
