"""chat-admin's Typer classes: the one place exceptions become what the operator reads.

Every error is one `Error: ...` line on stderr, never a traceback or a box: exit 1 for a
refusal (AccountError), a database that cannot be opened (DatabaseUnavailable) or a failure
the command reports with `fail`; exit 2 for a usage error (a bad value, a missing argument, an
unknown option). docs/OPERATING.md's chat-admin section promises exactly this.

The classes also make `--help` show each parameter by its metavar alone: Typer 0.29 writes a
required argument as `{NAME}` in the usage line and each parameter's Python type (`<bool>`,
`<str>`) beside it, where `NAME`, `WHEN` and a flag's name say more.

Nothing here knows a command; cli.admin defines them.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from service.admin.accounts import AccountError
from service.store.db import DatabaseUnavailable


class BadValue(typer.BadParameter):
    """A usage error (exit 2) whose message says it all, shown without `Invalid value for`."""

    def format_message(self) -> str:
        return self.message


def fail(message: str) -> NoReturn:
    """A refusal or failure the operator can act on: one line on stderr, exit 1."""
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(1)


def usage_error_line(error: typer.TyperException) -> str:
    """Typer's message for a usage error as one of our lines: `Missing argument 'NAME'.` becomes
    `missing argument 'NAME' (see chat-admin adduser --help)`."""
    if isinstance(error, BadValue):
        return error.message
    text = error.format_message().strip().removesuffix(".")
    if text[1:2].islower():  # a capitalised word, not a name such as PARLEY_DB
        text = text[0].lower() + text[1:]
    ctx = getattr(error, "ctx", None)
    if ctx is not None:
        text += f" (see {ctx.command_path} --help)"
    return " ".join(text.split())


# --- help by metavar ----------------------------------------------------------------------


class _Argument(TyperArgument):
    def display_type_rich(self, ctx: Any) -> str | None:
        return None  # the metavar (NAME, FILE) and the help say what it is

    def get_usage_pieces(self, ctx: Any) -> list[str]:
        name = self.display_name_raw
        return [name if self.required else f"[{name}]"]


class _Option(TyperOption):
    def display_type_rich(self, ctx: Any) -> str | None:
        return None if self.is_flag else super().display_type_rich(ctx)


def _by_metavar(params: list[Any]) -> list[Any]:
    # Typer builds its own parameter objects; these subclasses add no state, only help text.
    for param in params:
        if type(param) is TyperArgument:
            param.__class__ = _Argument
        elif type(param) is TyperOption:
            param.__class__ = _Option
    return params


class AdminCommand(TyperCommand):
    """A chat-admin command: help by metavar (see the module docstring)."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _by_metavar(super().get_params(ctx))


# --- the group and its exception boundary -------------------------------------------------


class AdminGroup(TyperGroup):
    """chat-admin itself (and `chat-admin db`): the exception boundary and help by metavar."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _by_metavar(super().get_params(ctx))

    def invoke(self, ctx: Any) -> Any:
        """Refusals and unusable databases become one line; so does anything unforeseen."""
        try:
            return super().invoke(ctx)
        except (AccountError, DatabaseUnavailable) as refusal:
            fail(str(refusal))
        except (typer.Exit, typer.Abort, typer.TyperException, EOFError, BrokenPipeError):
            raise  # Typer's own signals: exits, usage errors, Ctrl-D at a prompt, `| head`
        except Exception as error:  # e.g. a lock that timed out, a disk that is full
            first_line = (str(error).strip().splitlines() or [""])[0]
            kind = type(error).__name__
            fail(first_line if kind in first_line else f"{kind}: {first_line}")

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Typer's main, with usage errors and aborts as one `Error:` line instead of a box."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            outcome = super().main(
                args, prog_name, complete_var, False, windows_expand_args, **extra
            )
        except typer.Abort:  # Ctrl-C or end of input at a prompt, which comes before any change
            typer.echo("Error: aborted; nothing changed", err=True)
            sys.exit(1)
        except typer.TyperException as error:
            # Typer has printed the help already for a bare `chat-admin` (as Typer's own check)
            if type(error).__name__ != "NoArgsIsHelpError":
                typer.echo(f"Error: {usage_error_line(error)}", err=True)
            sys.exit(error.exit_code)
        sys.exit(outcome if isinstance(outcome, int) else 0)
