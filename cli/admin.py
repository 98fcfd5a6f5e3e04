"""chat-admin: the operator's command line over the database chat-server uses.

Thin Typer commands: parse, call service.accounts, render with cli.admin_render; the store
comes from cli.admin_db, which also says what to do about a missing schema. Every command
opens the database for a few short transactions, so it is safe while chat-server runs; the
server reads accounts per request and sees each change at once.

Errors an operator can act on are one line on stderr and exit 1; bad arguments are usage
errors and exit 2. `_AdminGroup.invoke` is the one place exceptions become those lines.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from cli import admin_render as render
from cli.admin_db import open_store, schema_advice
from service import accounts, db, room_admin
from service.accounts import AccountError
from service.config import DEFAULT_DB_URL
from service.db import Schema, database_state, describe_url, migrate_to_head
from service.timeutil import parse_since, utc_now


class _AdminGroup(TyperGroup):
    """The CLI's exception boundary: a refusal or a broken database is one line, no traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except AccountError as refusal:
            _fail(str(refusal))
        except (typer.Exit, typer.Abort, typer.TyperException, EOFError, BrokenPipeError):
            raise  # Typer's own signals: exits, usage errors, Ctrl-D at a prompt, `| head`
        except Exception as error:  # e.g. the file is not a database, or a lock timed out
            first_line = (str(error).strip().splitlines() or [""])[0]
            kind = type(error).__name__
            _fail(first_line if kind in first_line else f"{kind}: {first_line}")


app = typer.Typer(
    cls=_AdminGroup,
    help=(
        "Manage Parley accounts and read login history. Works on the same database as "
        "chat-server (--db or PARLEY_DB), and is safe to use while the server runs."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
db_app = typer.Typer(
    help="Create or upgrade the database schema (Alembic under the hood).",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")


def _check_db_url(value: str) -> str:
    if not db.is_database_url(value):
        raise typer.BadParameter(
            f"{value!r} is not a database URL; for a SQLite file write sqlite:///{value} "
            "(relative to the current directory) or sqlite:////absolute/path.db"
        )
    return value


DbUrl = Annotated[
    str,
    typer.Option(
        "--db",
        metavar="URL",
        envvar="PARLEY_DB",
        callback=_check_db_url,
        help="Database URL, the same one chat-server uses. sqlite:///parley.db is the file "
        "parley.db in the current directory; sqlite:////srv/parley.db an absolute path.",
    ),
]
UserName = Annotated[
    str, typer.Argument(metavar="NAME", help="The username (case-sensitive).", show_default=False)
]
AsJson = Annotated[
    bool, typer.Option("--json", help="Print JSON for programs (times in RFC 3339 UTC).")
]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from standard input (one line) instead of asking twice; "
        "for scripts, e.g. `printf '%s\\n' \"$PW\" | chat-admin adduser alice --password-stdin`.",
    ),
]


def _fail(message: str) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(1)


def _check_name(name: str) -> None:
    problem = accounts.username_problem(name)
    if problem is not None:
        raise typer.BadParameter(problem, param_hint="'NAME'")


def _new_password(from_stdin: bool) -> str:
    """Asked twice with hidden input, or one line from stdin; refused before anything changes."""
    if from_stdin:
        password = sys.stdin.read().removesuffix("\n").removesuffix("\r")
        if "\n" in password:
            _fail("--password-stdin reads a single line, but got several; nothing changed")
    else:
        password = typer.prompt("Password", hide_input=True, default="", show_default=False)
    problem = accounts.password_problem(password)
    if problem is not None:
        _fail(f"{problem}; nothing changed")
    if not from_stdin:
        again = typer.prompt("Repeat password", hide_input=True, default="", show_default=False)
        if again != password:
            _fail("the two passwords differ; nothing changed")
    return password


# --- accounts -----------------------------------------------------------------------------


@app.command()
def adduser(
    name: UserName, password_stdin: PasswordStdin = False, db: DbUrl = DEFAULT_DB_URL
) -> None:
    """Add a user who can then log in with chat-client.

    Asks for the password twice without showing it. Names follow the chat/1 rule: 1 to 32
    letters, digits, '_', '.' or '-'. Passwords need at least 8 characters. A new, empty
    database gets the Parley schema first.
    """
    _check_name(name)
    with open_store(db, create_schema=True) as store:
        if store.user_exists(name):
            _fail(f"there is already a user {name}")
        accounts.add_user(store, name, _new_password(password_stdin), utc_now())
    typer.echo(f"Added user {name}.")


@app.command()
def passwd(
    name: UserName, password_stdin: PasswordStdin = False, db: DbUrl = DEFAULT_DB_URL
) -> None:
    """Set a new password for NAME, and lift any lockout.

    The new password works for the next login; a session already open stays open.
    """
    with open_store(db) as store:
        if not store.user_exists(name):
            _fail(f"there is no user {name}")
        accounts.set_password(store, name, _new_password(password_stdin))
    typer.echo(f"Changed the password of {name}; any lockout is lifted.")


@app.command()
def deluser(
    name: UserName,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    db: DbUrl = DEFAULT_DB_URL,
) -> None:
    """Delete the account NAME for good.

    Goes with it: the messages stored for NAME and not yet delivered, every block by or of
    NAME, and NAME's login history. Messages NAME sent to others stay with their recipients.
    """
    with open_store(db) as store:
        question = _deletion_question(accounts.footprint(store, name))
        if not yes and not typer.confirm(question):
            _fail(f"not confirmed; {name} was not deleted")
        gone = accounts.delete_user(store, name)
    typer.echo(
        f"Deleted user {name} with {gone.pending_messages} stored messages, "
        f"{gone.blocks} blocks and {gone.login_periods} login records."
    )


def _deletion_question(footprint: accounts.Footprint) -> str:
    question = (
        f"Delete user {footprint.name}, {footprint.pending_messages} messages waiting for them, "
        f"{footprint.blocks} blocks by or of them and {footprint.login_periods} login records?"
    )
    if footprint.online:
        question += f" ({footprint.name} is online now: that session stays open until it ends.)"
    return question


@app.command()
def users(as_json: AsJson = False, db: DbUrl = DEFAULT_DB_URL) -> None:
    """List the accounts: created, last login, lockout and undelivered messages.

    `failures` counts consecutive wrong passwords; `locked until` is set while a lockout lasts
    (lift it with `chat-admin unlock NAME`); `pending` counts messages stored for the user.
    """
    with open_store(db) as store:
        found = accounts.list_users(store, utc_now())
    if as_json:
        render.show_json(render.users_json(found))
    else:
        render.show_table(render.users_listing(found))


@app.command()
def unlock(name: UserName, db: DbUrl = DEFAULT_DB_URL) -> None:
    """Lift NAME's lockout and reset the count of wrong passwords.

    Takes effect at once, also for a running server.
    """
    with open_store(db) as store:
        before = accounts.unlock(store, name, utc_now())
    if before.locked_until is not None:
        typer.echo(f"Unlocked {name} (was locked until {render.local_time(before.locked_until)}).")
    else:
        typer.echo(f"{name} was not locked; reset {before.failures} failed attempts to 0.")


# --- history and blocks -------------------------------------------------------------------


@app.command()
def history(
    since: Annotated[
        str | None,
        typer.Option(
            metavar="WHEN",
            help="Only sessions open at some time since WHEN: a duration back from now "
            "(90s, 15m, 2h, 7d, 1w) or an ISO date/time in local time (2026-11-24, "
            "2026-11-24T09:30) or with a zone (2026-11-24T09:30Z).",
            show_default=False,
        ),
    ] = None,
    user: Annotated[
        str | None, typer.Option(metavar="NAME", help="Only this user's sessions.")
    ] = None,
    as_json: AsJson = False,
    db: DbUrl = DEFAULT_DB_URL,
) -> None:
    """Login history: who logged in when, from where, and for how long.

    A logout time of `online` means the session is still open. Times are local, with the
    zone; --json gives RFC 3339 UTC.
    """
    now = utc_now()
    moment = _since(since, now)
    with open_store(db) as store:
        logins = accounts.login_history(store, since=moment, user=user)
    if as_json:
        render.show_json(render.history_json(logins, now))
    else:
        render.show_table(render.history_listing(logins, now))


def _since(text: str | None, now: datetime) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_since(text, now)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="'--since'") from None


@app.command()
def blocks(
    name: Annotated[
        str | None,
        typer.Argument(metavar="NAME", help="Only blocks by or of this user.", show_default=False),
    ] = None,
    as_json: AsJson = False,
    db: DbUrl = DEFAULT_DB_URL,
) -> None:
    """Who blocks whom. A blocked user's messages to the blocker are refused."""
    with open_store(db) as store:
        found = accounts.list_blocks(store, name)
    if as_json:
        render.show_json(render.blocks_json(found))
    else:
        render.show_table(render.blocks_listing(found))


# --- import -------------------------------------------------------------------------------


@app.command("import-credentials")
def import_credentials(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help="A credentials.txt: `username password` per line.",
            exists=True,
            dir_okay=False,
            show_default=False,
        ),
    ],
    db: DbUrl = DEFAULT_DB_URL,
) -> None:
    """Add the users of the original assignment's credentials.txt.

    Each password is hashed (argon2id) and never printed. Names that exist are skipped;
    lines breaking a rule (username rule, 8+ character password, two fields) are rejected
    with their line number, and the exit code is then 1. Blank and `#` lines are ignored.
    A new, empty database gets the Parley schema first.
    """
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        _fail(f"cannot read {file}: {error}")
    lines = accounts.parse_credentials(text)
    with open_store(db, create_schema=True) as store:
        results = accounts.import_credentials(store, lines, utc_now())
    for result in results:
        typer.echo(_import_line(result))
    counts = {o: sum(r.outcome is o for r in results) for o in accounts.Outcome}
    typer.echo(", ".join(f"{o.value} {n}" for o, n in counts.items()))
    if counts[accounts.Outcome.REJECTED]:
        _fail(f"{counts[accounts.Outcome.REJECTED]} lines rejected; the others were imported")


def _import_line(result: accounts.ImportResult) -> str:
    name = f" {result.name}" if result.name else ""
    if result.outcome is accounts.Outcome.SKIPPED:
        return f"line {result.line_no}: skipped{name} (the user exists)"
    if result.outcome is accounts.Outcome.REJECTED:
        return f"line {result.line_no}: rejected{name}: {result.reason}"
    return f"line {result.line_no}: added{name}"


# --- schema -------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(db: DbUrl = DEFAULT_DB_URL) -> None:
    """Bring the database schema up to date (creates the database if it does not exist).

    chat-server does the same when it starts; run this after installing a new Parley version
    to prepare the database before restarting the server, or to create one for adduser.
    """
    before = database_state(db)
    if before.schema is Schema.CURRENT:
        typer.echo(f"{describe_url(db)} is up to date (schema revision {before.head}).")
        return
    migrate_to_head(db)
    start = before.current or "no schema"
    typer.echo(f"Upgraded {describe_url(db)} from {start} to schema revision {before.head}.")


@db_app.command("current")
def db_current(db: DbUrl = DEFAULT_DB_URL) -> None:
    """Show the database's schema revision and whether it needs `chat-admin db upgrade`."""
    state = database_state(db)
    if state.schema is Schema.CURRENT:
        typer.echo(f"{state.current} (up to date)")
    else:
        _fail(schema_advice(db, state))


# --- rooms --------------------------------------------------------------------------------


def _room_name(value: str) -> str:
    try:
        return room_admin.room_name(value)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


RoomName = Annotated[
    str,
    typer.Argument(
        metavar="ROOM",
        callback=_room_name,
        help="The room, e.g. general or '#general' (quote a leading #: the shell reads it as "
        "the start of a comment).",
        show_default=False,
    ),
]


@app.command()
def rooms(as_json: AsJson = False, db: DbUrl = DEFAULT_DB_URL) -> None:
    """List the rooms: created, creator, members, messages and last activity.

    A room is made by the first user who joins it and stays, with its history, until
    `chat-admin delroom` deletes it. `last activity` is the newest message or join.
    """
    with open_store(db) as store:
        found = room_admin.list_rooms(store)
    if as_json:
        render.show_json(render.rooms_json(found))
    else:
        render.show_table(render.rooms_listing(found))


@app.command("room-history")
def room_history(
    room: RoomName,
    since: Annotated[
        str | None,
        typer.Option(
            metavar="WHEN",
            help="Only messages sent since WHEN: a duration back from now (90s, 15m, 2h, 7d, "
            "1w) or an ISO date/time in local time (2026-11-24, 2026-11-24T09:30) or with a "
            "zone (2026-11-24T09:30Z).",
            show_default=False,
        ),
    ] = None,
    as_json: AsJson = False,
    db: DbUrl = DEFAULT_DB_URL,
) -> None:
    """What was said in ROOM, oldest first, for moderation.

    Messages of deleted users stay, under the name they had. In the table, line breaks in a
    message show as \\n; --json gives the exact text.
    """
    moment = _since(since, utc_now())
    with open_store(db) as store:
        lines = room_admin.room_history(store, room, moment)
    if as_json:
        render.show_json(render.room_history_json(lines))
    else:
        render.show_table(render.room_history_listing(room, lines))


@app.command()
def delroom(
    room: RoomName,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    db: DbUrl = DEFAULT_DB_URL,
) -> None:
    """Delete ROOM for good, with its memberships and its whole history.

    Members online get no event; their next request about the room finds it gone. A later
    `join` of the same name makes a new, empty room.
    """
    with open_store(db) as store:
        summary = room_admin.room_summary(store, room)
        question = (
            f"Delete room {summary.name} with {summary.members} members and "
            f"{summary.messages} messages?"
        )
        if not yes and not typer.confirm(question):
            _fail(f"not confirmed; {room} was not deleted")
        gone = room_admin.delete_room(store, room)
    typer.echo(
        f"Deleted room {gone.name} with {gone.members} members and {gone.messages} messages."
    )


def main() -> None:
    """The chat-admin console script."""
    app(prog_name="chat-admin")


if __name__ == "__main__":
    main()
