"""chat-admin: the operator's command line over the database chat-server uses.

Thin Typer commands: parse, call service.admin.accounts, render with cli.admin_render; the store
comes from cli.admin_db, which also says what to do about a missing schema. Every command
opens the database for a few short transactions, so it is safe while chat-server runs; the
server reads accounts per request and sees each change at once.

Errors an operator can act on are one line on stderr and exit 1; bad arguments are usage
errors and exit 2. `cli.admin_typer.AdminGroup` is the one place exceptions become those lines.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from cli import admin_render as render
from cli.admin_db import NOT_GIVEN, DbUrl, DbUrlFirst, open_store, schema_advice
from cli.admin_dms import purge_dms
from cli.admin_typer import AdminCommand, AdminGroup, BadValue
from cli.admin_typer import fail as _fail
from service.admin import accounts
from service.admin import rooms as room_admin
from service.store import Store
from service.store.db import Schema, database_state, describe_url, migrate_to_head
from service.wire.timeutil import parse_since, utc_now

app = typer.Typer(
    cls=AdminGroup,
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
    cls=AdminGroup,
    help="Create or upgrade the database schema (Alembic under the hood).",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")


@app.callback()
def _options_before_the_command(db: DbUrlFirst = None) -> None:
    """The group's own options; each command reads them as it resolves its own --db."""


def _valid_name(name: str | None) -> str | None:
    """A name that breaks the chat/1 rule is a usage error, whatever the command."""
    problem = None if name is None else accounts.username_problem(name)
    if problem is not None:
        raise BadValue(problem)
    return name


UserName = Annotated[
    str,
    typer.Argument(
        metavar="NAME",
        callback=_valid_name,
        help="The username; typed in another case, it names the one account equal to it "
        "ignoring case.",
        show_default=False,
    ),
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


PASSWORD_TRIES = 3  # as passwd(1): a typo costs a new try, not the whole command


def _new_password(from_stdin: bool) -> str:
    """Asked twice with hidden input (again after a refusal, up to PASSWORD_TRIES times), or
    one line from stdin, which a script cannot retype: refused at once. Nothing changes before
    a password is accepted."""
    if from_stdin:
        password = sys.stdin.read().removesuffix("\n").removesuffix("\r")
        if "\n" in password:
            _fail("--password-stdin reads a single line, but got several; nothing changed")
        if (problem := accounts.password_problem(password)) is not None:
            _fail(f"{problem}; nothing changed")
        return password
    for tries in range(1, PASSWORD_TRIES + 1):
        password, problem = _typed_password()
        if problem is None:
            return password
        if tries < PASSWORD_TRIES:  # the last refusal is said once, by _fail
            typer.echo(f"{problem}; try again", err=True)
    _fail(f"{problem} ({PASSWORD_TRIES} tries); nothing changed")


def _typed_password() -> tuple[str, str | None]:
    """One try at the terminal: the password and why it is refused (None: accepted)."""
    password = typer.prompt("Password", hide_input=True, default="", show_default=False)
    if (problem := accounts.password_problem(password)) is not None:
        return password, problem
    again = typer.prompt("Repeat password", hide_input=True, default="", show_default=False)
    return password, None if again == password else "the two passwords differ"


def _account(store: Store, name: str) -> str:
    """The account NAME means: NAME itself, else the one account equal to it ignoring case
    (names are unique ignoring case, chat/1 precise point 14), named on stderr so that stdout
    stays what the command prints. A name that matches nothing is returned as typed, for the
    command's own "there is no user" refusal."""
    if store.users.user_exists(name):
        return name
    holder = store.users.name_taken_by(name)
    if holder is None:
        return name
    typer.echo(f"Note: no user {name}; using {holder} (names are unique ignoring case).", err=True)
    return holder


# --- accounts -----------------------------------------------------------------------------


@app.command(cls=AdminCommand)
def adduser(name: UserName, password_stdin: PasswordStdin = False, db: DbUrl = NOT_GIVEN) -> None:
    """Add a user who can then log in with chat-client.

    Asks for the password twice without showing it. Names follow the chat/1 rule: 1 to 32
    letters, digits, '_', '.' or '-'. Passwords need at least 8 characters. A new, empty
    database gets the Parley schema first.
    """
    with open_store(db, create_schema=True) as store:
        if (problem := accounts.new_name_problem(store, name)) is not None:
            _fail(problem)  # before the password prompt: `Alice` when `alice` exists, too
        accounts.add_user(store, name, _new_password(password_stdin), utc_now())
    typer.echo(f"Added user {name}.")


@app.command(cls=AdminCommand)
def passwd(name: UserName, password_stdin: PasswordStdin = False, db: DbUrl = NOT_GIVEN) -> None:
    """Set a new password for NAME, and lift any lockout.

    The new password works for the next login. NAME's open sessions end within about two
    seconds (bye kicked) and NAME's remembered logins (login tokens) are revoked: whoever
    logged in with the old password, or stays signed in with a token, is out.
    """
    with open_store(db) as store:
        name = _account(store, name)
        if not store.users.user_exists(name):
            _fail(f"there is no user {name}")
        online = accounts.set_password(store, name, _new_password(password_stdin))
    ended = f"; {name}'s open sessions end within seconds" if online else ""
    typer.echo(f"Changed the password of {name}; any lockout is lifted{ended}.")


@app.command(cls=AdminCommand)
def kick(name: UserName, db: DbUrl = NOT_GIVEN) -> None:
    """End every open session of NAME (phone, laptop, terminal...).

    The server ends them within about two seconds with bye kicked, and others see NAME go
    offline. NAME's remembered logins (login tokens) are revoked too, so a client that
    stays signed in asks for the password again. NAME may log in again at once with it; to
    keep them out, change the password (passwd) or delete the account (deluser).
    """
    with open_store(db) as store:
        name = _account(store, name)
        online = accounts.kick(store, name)
    if online:
        typer.echo(f"Asked the server to end {name}'s sessions; they end within seconds.")
    else:
        typer.echo(f"{name} is not online; no session to end.")


@app.command(cls=AdminCommand)
def deluser(
    name: UserName,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    db: DbUrl = NOT_GIVEN,
) -> None:
    """Delete the account NAME for good.

    Goes with it: every block by or of NAME, NAME's login history and remembered logins
    (login tokens); NAME's room memberships go too (NAME leaves every room). Direct messages
    to and from NAME stay in the other users' records under the name NAME, as what they said
    in rooms stays in the rooms' history; the messages not yet delivered to NAME never will
    be. A session of NAME's still
    open ends within about two seconds (bye account_deleted), and others see NAME go offline.
    """
    with open_store(db) as store:
        name = _account(store, name)
        question = _deletion_question(accounts.footprint(store, name))
        if not yes and not typer.confirm(question):
            _fail(f"not confirmed; {name} was not deleted")
        gone = accounts.delete_user(store, name)
    typer.echo(
        f"Deleted user {name} with {render.count(gone.blocks, 'block')} and "
        f"{render.count(gone.login_periods, 'login record')}; "
        f"{render.count(gone.pending_messages, 'message')} waiting for them "
        "will not be delivered (kept in the senders' records)."
    )


def _deletion_question(footprint: accounts.Footprint) -> str:
    question = (
        f"Delete user {footprint.name}, "
        f"{render.count(footprint.pending_messages, 'message')} waiting for them "
        "(never delivered then), "
        f"{render.count(footprint.blocks, 'block')} by or of them and "
        f"{render.count(footprint.login_periods, 'login record')}?"
    )
    if footprint.online:
        question += f" ({footprint.name} is online now: that session ends within seconds.)"
    return question


@app.command(cls=AdminCommand)
def users(as_json: AsJson = False, db: DbUrl = NOT_GIVEN) -> None:
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


@app.command(cls=AdminCommand)
def unlock(name: UserName, db: DbUrl = NOT_GIVEN) -> None:
    """Lift NAME's lockout and reset the count of wrong passwords.

    Takes effect at once, also for a running server.
    """
    with open_store(db) as store:
        name = _account(store, name)
        before = accounts.unlock(store, name, utc_now())
    if before.locked_until is not None:
        typer.echo(f"Unlocked {name} (was locked until {render.local_time(before.locked_until)}).")
    elif before.failures:
        failures = render.count(before.failures, "failed attempt")
        typer.echo(f"{name} was not locked and had {failures}; reset to 0.")
    else:
        typer.echo(f"{name} was not locked and had no failed attempts.")


# --- history and blocks -------------------------------------------------------------------


@app.command(cls=AdminCommand)
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
        str | None,
        typer.Option(metavar="NAME", callback=_valid_name, help="Only this user's sessions."),
    ] = None,
    failed: Annotated[
        bool,
        typer.Option(
            "--failed",
            help="Failed logins instead of sessions: when, the name, the address and why, as "
            "chat-server logs them (kept 30 days). A name without an account shows as its "
            "first 2 characters and a digest: it may be a password typed as a name.",
        ),
    ] = False,
    as_json: AsJson = False,
    db: DbUrl = NOT_GIVEN,
) -> None:
    """Login history: who logged in when, from where, for how long, and why it ended.

    A logout time of `online` means the session is still open. `end reason` is logout,
    timeout (idle), disconnected (the client went away), shutdown, protocol_error,
    slow_consumer or server_restart (still open at a crash, closed when the server started
    again); `-` for sessions recorded before Parley kept it. With --failed: the failed
    logins instead. Times are local, with the zone; --json gives RFC 3339 UTC.
    """
    now = utc_now()
    moment = _since(since, now)
    if failed:
        _failed_logins(moment, user, as_json, db)
        return
    with open_store(db) as store:
        user = None if user is None else _account(store, user)
        logins = accounts.login_history(store, since=moment, user=user)
    if as_json:
        render.show_json(render.history_json(logins, now))
    else:
        render.show_table(render.history_listing(logins, now))


def _failed_logins(since: datetime | None, user: str | None, as_json: bool, db: str) -> None:
    with open_store(db) as store:
        user = None if user is None else _account(store, user)
        failures = accounts.failed_logins(store, since=since, user=user)
    if as_json:
        render.show_json(render.failed_logins_json(failures))
    else:
        render.show_table(render.failed_logins_listing(failures))


def _since(text: str | None, now: datetime) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_since(text, now)
    except ValueError as error:
        raise BadValue(str(error)) from None


@app.command(cls=AdminCommand)
def blocks(
    name: Annotated[
        str | None,
        typer.Argument(
            metavar="NAME",
            callback=_valid_name,
            help="Only blocks by or of this user.",
            show_default=False,
        ),
    ] = None,
    as_json: AsJson = False,
    db: DbUrl = NOT_GIVEN,
) -> None:
    """Who blocks whom. A blocked user's messages to the blocker are refused."""
    with open_store(db) as store:
        name = None if name is None else _account(store, name)
        found = accounts.list_blocks(store, name)
    if as_json:
        render.show_json(render.blocks_json(found))
    else:
        render.show_table(render.blocks_listing(found, involving=name))


# --- import -------------------------------------------------------------------------------


def _existing_file(path: Path) -> Path:
    if path.is_dir():
        raise BadValue(f"{path} is a directory, not a credentials file")
    if not path.exists():
        raise BadValue(f"there is no file {path}")
    return path


@app.command("import-credentials", cls=AdminCommand)
def import_credentials(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            callback=_existing_file,
            help="A credentials.txt: a username and a password per line, separated by a space.",
            show_default=False,
        ),
    ],
    db: DbUrl = NOT_GIVEN,
) -> None:
    """Add the users of a plain-text credentials.txt: one `username password` per line.

    That is how chat servers written before Parley kept their accounts, with the
    passwords in clear.

    Each password is hashed (argon2id) and never printed. Names that exist are skipped;
    lines breaking a rule (username rule, 8+ character password, two fields) are rejected
    with their line number, and the exit code is then 1. Blank and `#` lines are ignored.
    A new, empty database gets the Parley schema first.
    """
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        where = f"byte {error.object[error.start]:#04x} at offset {error.start}"
        _fail(f"cannot read {file}: it is not UTF-8 text ({where})")
    except OSError as error:
        _fail(f"cannot read {file}: {error.strerror or error}")
    lines = accounts.parse_credentials(text)
    with open_store(db, create_schema=True) as store:
        results = accounts.import_credentials(store, lines, utc_now())
    for result in results:
        typer.echo(_import_line(result))
    counts = {o: sum(r.outcome is o for r in results) for o in accounts.Outcome}
    typer.echo(", ".join(f"{o.value} {n}" for o, n in counts.items()))
    rejected = counts[accounts.Outcome.REJECTED]
    if rejected:
        others = len(results) > rejected
        rest = "the others were added or skipped" if others else "nothing was added"
        _fail(f"{render.count(rejected, 'line')} rejected; {rest}")


def _import_line(result: accounts.ImportResult) -> str:
    name = f" {result.name}" if result.name else ""
    if result.outcome is accounts.Outcome.SKIPPED:
        return f"line {result.line_no}: skipped{name} (the user exists)"
    if result.outcome is accounts.Outcome.REJECTED:
        return f"line {result.line_no}: rejected{name}: {result.reason}"
    return f"line {result.line_no}: added{name}"


# --- schema -------------------------------------------------------------------------------


@db_app.command("upgrade", cls=AdminCommand)
def db_upgrade(db: DbUrl = NOT_GIVEN) -> None:
    """Bring the database schema up to date (creates the database if it does not exist).

    chat-server does the same when it starts; run this after installing a new Parley version
    to prepare the database before restarting the server, or to create one for adduser.
    """
    before = database_state(db)
    if before.schema is Schema.CURRENT:
        typer.echo(f"{describe_url(db)} is up to date (schema revision {before.head}).")
        return
    migrate_to_head(db)
    start = f"schema revision {before.current}" if before.current else "no schema"
    typer.echo(f"Upgraded {describe_url(db)} from {start} to schema revision {before.head}.")


@db_app.command("current", cls=AdminCommand)
def db_current(db: DbUrl = NOT_GIVEN) -> None:
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
        raise BadValue(str(error)) from None


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


EmptyRooms = Annotated[
    bool,
    typer.Option(
        "--empty",
        help="Only rooms without members (everyone left; a room stays until deleted).",
    ),
]


@app.command(cls=AdminCommand)
def rooms(empty: EmptyRooms = False, as_json: AsJson = False, db: DbUrl = NOT_GIVEN) -> None:
    """List the rooms: created, creator, members, messages and last activity.

    A room is made by the first user who joins it and stays, with its history, until
    `chat-admin delroom` deletes it, also when every member has left (`--empty` lists those).
    `last activity` is the newest message or join.
    """
    with open_store(db) as store:
        found = room_admin.list_rooms(store, empty=empty)
    if as_json:
        render.show_json(render.rooms_json(found))
    else:
        render.show_table(render.rooms_listing(found, empty=empty))


@app.command("room-history", cls=AdminCommand)
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
    db: DbUrl = NOT_GIVEN,
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


def _maybe_room_name(value: str | None) -> str | None:
    return None if value is None else _room_name(value)


@app.command(cls=AdminCommand)
def delroom(
    room: Annotated[
        str | None,
        typer.Argument(
            metavar="ROOM",
            callback=_maybe_room_name,
            help="The room, e.g. general or '#general' (quote a leading #: the shell reads it "
            "as the start of a comment).",
            show_default=False,
        ),
    ] = None,
    empty: Annotated[
        bool,
        typer.Option("--empty", help="Instead of ROOM: every room without members, at once."),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    db: DbUrl = NOT_GIVEN,
) -> None:
    """Delete ROOM (or, with --empty, every room without members) for good, with its
    memberships and its whole history.

    Members online get no event; their next request about the room finds it gone. A later
    `join` of the same name makes a new, empty room.
    """
    if (room is None) == (not empty):
        raise BadValue("name either a ROOM or --empty (see chat-admin delroom --help)")
    if room is None:
        _delete_empty_rooms(yes, db)
        return
    with open_store(db) as store:
        summary = room_admin.room_summary(store, room)
        question = (
            f"Delete room {summary.name} with {render.count(summary.members, 'member')} and "
            f"{render.count(summary.messages, 'message')}?"
        )
        if not yes and not typer.confirm(question):
            _fail(f"not confirmed; {room} was not deleted")
        gone = room_admin.delete_room(store, room)
    typer.echo(
        f"Deleted room {gone.name} with {render.count(gone.members, 'member')} and "
        f"{render.count(gone.messages, 'message')}."
    )


EMPTY_ROOMS_NAMED = 10  # delroom --empty's question names this many, then counts the rest


def _delete_empty_rooms(yes: bool, db: str) -> None:
    with open_store(db) as store:
        found = room_admin.list_rooms(store, empty=True)
        if not found:
            typer.echo("There are no empty rooms.")
            return
        messages = render.count(sum(r.messages for r in found), "message")
        shown = ", ".join(r.name for r in found[:EMPTY_ROOMS_NAMED])
        more = len(found) - EMPTY_ROOMS_NAMED
        names = shown + (
            f" and {more} more (chat-admin rooms --empty lists them)" if more > 0 else ""
        )
        question = f"Delete {render.count(len(found), 'empty room')} ({names}) with {messages}?"
        if not yes and not typer.confirm(question):
            _fail("not confirmed; no room was deleted")
        gone = room_admin.delete_empty_rooms(store, {r.name for r in found})
    messages = render.count(sum(r.messages for r in gone), "message")
    typer.echo(f"Deleted {render.count(len(gone), 'empty room')} with {messages}.")


app.command("purge-dms", cls=AdminCommand)(purge_dms)  # cli/admin_dms.py


def main() -> None:
    """The chat-admin console script."""
    app(prog_name="chat-admin")


if __name__ == "__main__":
    main()
