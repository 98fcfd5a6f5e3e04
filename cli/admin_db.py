"""chat-admin's way into the database: which one (--db, PARLEY_DB), and its store once the
schema is at head.

A URL that cannot name a Parley database is a usage error (BadValue, exit 2). When the schema
is missing or old, the refusal is one sentence telling the operator what to run: an
AccountError, which chat-admin's exception boundary (`cli.admin_typer`) prints as one
`Error:` line with exit 1. The schema itself is Alembic's business (`service.store.db`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from cli.admin_typer import BadValue
from service.admin.accounts import AccountError
from service.config import DB_ENVVAR, DEFAULT_DB_URL
from service.store import Store, db
from service.store.db import Schema, describe_url, migrate_to_head

NOT_GIVEN = ""  # a command's --db when absent: `database_url` looks further


def usable_url(value: str, source: str = "--db") -> str:
    problem = db.url_problem(value)
    if problem is not None:
        raise BadValue(problem if source == "--db" else f"{source}: {problem}")
    return value


def database_url(ctx: typer.Context, value: str) -> str:
    """The database a command uses: its own --db, else a --db before the command, else
    PARLEY_DB, else sqlite:///parley.db. The nearest, most explicit choice wins."""
    if value != NOT_GIVEN:
        return usable_url(value)
    before: str | None = ctx.find_root().params.get("db")
    if before is not None:
        return before  # checked as the group read it
    from_environment = os.environ.get(DB_ENVVAR, "")
    if from_environment:
        return usable_url(from_environment, DB_ENVVAR)
    return DEFAULT_DB_URL


def _maybe_usable_url(value: str | None) -> str | None:
    return None if value is None else usable_url(value)


_HELP = (
    "Database URL, the same one chat-server uses: sqlite:///parley.db is the file parley.db in "
    "the current directory, sqlite:////srv/parley.db an absolute path, "
    "postgresql+psycopg://USER@HOST/DATABASE a PostgreSQL database."
)
DbUrl = Annotated[  # a command's --db
    str,
    typer.Option(
        "--db",
        metavar="URL",
        callback=database_url,
        show_default=False,
        help=f"{_HELP} Default: a --db before the command, else ${DB_ENVVAR}, else "
        f"{DEFAULT_DB_URL}.",
    ),
]
DbUrlFirst = Annotated[  # the --db before the command, read by `database_url`
    str | None,
    typer.Option(
        "--db",
        metavar="URL",
        callback=_maybe_usable_url,
        show_default=False,
        help=f"{_HELP} For every command; a --db after the command wins. Default: "
        f"${DB_ENVVAR}, else {DEFAULT_DB_URL}.",
    ),
]


@contextmanager
def open_store(url: str, *, create_schema: bool = False) -> Iterator[Store]:
    """The store, once the schema is at head. `create_schema`: build it in a new database."""
    state = db.database_state(url)
    if state.schema is not Schema.CURRENT:
        if create_schema and state.schema in (Schema.NO_FILE, Schema.EMPTY):
            migrate_to_head(url)
            typer.echo(f"Note: created the Parley schema in {describe_url(url)}", err=True)
        else:
            raise AccountError(schema_advice(url, state))
    store = Store.open(url, group_commit=False)
    try:
        yield store
    finally:
        store.close()


def schema_advice(url: str, state: db.DatabaseState) -> str:
    """What to do about a database whose schema is not at head, as one sentence."""
    url = describe_url(url)  # a server database's password stays off the terminal
    remedy = "run chat-admin db upgrade (or start chat-server once)"
    if state.schema is Schema.NO_FILE:
        return f"there is no database at {url}; {remedy}, or check --db / PARLEY_DB"
    if state.schema is Schema.EMPTY:
        return f"the database at {url} has no Parley schema; {remedy}"
    return (
        f"the database at {url} is at schema revision {state.current} but this chat-admin "
        f"needs {state.head}; run chat-admin db upgrade"
    )
