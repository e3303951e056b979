"""Alembic, one migration history per service, run from code (``prize db upgrade``)."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config


def alembic_config(service: str, url: str) -> Config:
    import importlib
    package = importlib.import_module(f"services.{service}")
    folder = Path(package.__file__).parent / "migrations"
    cfg = Config()
    cfg.set_main_option("script_location", str(folder))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["service"] = service
    return cfg


def upgrade(service: str, url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, url), revision)


def run_migrations(context, target_metadata, service: str) -> None:
    """The body of every service's ``env.py``."""
    from sqlalchemy import engine_from_config, pool

    from .db import make_engine

    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    version_table = f"alembic_version_{service}"
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                          version_table=version_table)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url, poolclass=pool.NullPool) if url.startswith("sqlite") else \
        engine_from_config({"sqlalchemy.url": url}, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          version_table=version_table, render_as_batch=url.startswith("sqlite"))
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
