"""chat-admin's `purge-dms`: the retention rule for the record of direct messages.

Its own module (cli/admin.py registers it) because cli/admin.py is long enough; the same
thin shape: parse, call service.admin, say what happened.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli import admin_render as render
from cli.admin_db import NOT_GIVEN, DbUrl, open_store
from cli.admin_typer import BadValue
from cli.admin_typer import fail as _fail
from service.admin import dm_record
from service.wire.timeutil import parse_since, utc_now

Before = Annotated[
    str,
    typer.Option(
        "--before",
        metavar="WHEN",
        help="Remove what was sent before WHEN: a duration back from now (90s, 15m, 2h, 30d, "
        "1w) or an ISO date/time in local time (2026-11-24, 2026-11-24T09:30) or with a zone "
        "(2026-11-24T09:30Z).",
        show_default=False,
    ),
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def purge_dms(before: Before, yes: Yes = False, db: DbUrl = NOT_GIVEN) -> None:
    """Remove acknowledged direct messages sent before WHEN from the users' records.

    The server keeps every direct message after its recipient has seen it, as the record
    `dm_history` shows; by default nothing is ever removed. Messages not yet delivered are
    never removed, however old. `conversations` still lists a partner whose messages are all
    gone, with the time of the last one.
    """
    try:
        moment = parse_since(before, utc_now())
    except ValueError as error:
        raise BadValue(str(error)) from None
    with open_store(db) as store:
        count = dm_record.purgeable_dms(store, moment)
        when = moment.astimezone().isoformat(timespec="seconds")
        question = (
            f"Remove {render.count(count, 'acknowledged direct message')} sent before {when}?"
        )
        if count and not yes and not typer.confirm(question):
            _fail("not confirmed; nothing was removed")
        gone = dm_record.purge_dms(store, moment) if count else 0
    typer.echo(f"Removed {render.count(gone, 'acknowledged direct message')} sent before {when}.")
