"""Alembic environment: migrations run against the models' metadata
(service/store/models.py), SQLite in batch mode."""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context

from service.store.db import make_engine
from service.store.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    return url or os.environ.get("PARLEY_DB", "sqlite:///parley.db")


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection, target_metadata=target_metadata, render_as_batch=True
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


# Only the bare `alembic` command sets up logging from alembic.ini; chat-server and chat-admin
# keep their own logging configuration.
if config.config_file_name is not None and not config.get_main_option("sqlalchemy.url"):
    fileConfig(config.config_file_name)

if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
