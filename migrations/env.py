"""Alembic environment: migrations run against the models' metadata
(service/store/models.py), SQLite in batch mode."""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context

from service.store.db import make_engine
from service.store.models import ONLY_ON, Base

config = context.config
target_metadata = Base.metadata


def _is_search_index(name: str | None, type_: str, parent_names: object) -> bool:
    """The full-text indexes of revision 0007 (FTS5 tables and their shadow tables on SQLite,
    an expression GIN index on PostgreSQL) are the database's own machinery, not models:
    `alembic check` compares everything else."""
    if name is None:
        return False
    if type_ == "table":
        return name.endswith("_fts") or "_fts_" in name
    return type_ == "index" and name.endswith("_search")


def _include_name(name: str | None, type_: str, parent_names: object) -> bool:
    return not _is_search_index(name, type_, parent_names)


def _include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """A model's index made on one database only (Index.info[ONLY_ON], service/store/models.py)
    is compared on that one only."""
    only_on = getattr(obj, "info", {}).get(ONLY_ON) if type_ == "index" and not reflected else None
    return only_on is None or only_on == context.get_bind().dialect.name


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    return url or os.environ.get("PARLEY_DB", "sqlite:///parley.db")


def run_migrations_offline() -> None:
    context.configure(
        url=_url(), target_metadata=target_metadata, render_as_batch=True,
        include_name=_include_name,
    )  # fmt: skip
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection, target_metadata=target_metadata, render_as_batch=True,
                include_name=_include_name, include_object=_include_object,
            )  # fmt: skip
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
