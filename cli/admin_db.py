"""chat-admin's way into the database: the store, once the schema is at head.

When the schema is missing or old, the refusal is one sentence telling the operator what to
run. Refusals are AccountError, which chat-admin's exception boundary (`cli.admin_typer`) prints
as one `Error:` line with exit 1. The schema itself is Alembic's business (`service.db`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from service import db
from service.accounts import AccountError
from service.db import Schema, describe_url, migrate_to_head
from service.store import Store


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
    remedy = "run `chat-admin db upgrade` (or start chat-server once)"
    if state.schema is Schema.NO_FILE:
        return f"there is no database at {url}; {remedy}, or check --db / PARLEY_DB"
    if state.schema is Schema.EMPTY:
        return f"the database at {url} has no Parley schema; {remedy}"
    return (
        f"the database at {url} is at schema revision {state.current} but this chat-admin "
        f"needs {state.head}; run `chat-admin db upgrade`"
    )
