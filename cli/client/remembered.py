"""Where chat-client keeps a remembered login (chat/1 "Staying signed in", `--remember`): a
file per server and user that only its user can read, holding the server's token.

The file is $XDG_STATE_HOME/parley/tokens/HOST_PORT_USER (by default under
~/.local/state), mode 0600 in directories of mode 0700, written whole (a new file renamed
over the old one), so a crash never leaves half a token. A token is a password's equal for as
long as it lives, so a file that anyone but its owner could read (group or other permission
bits, or another owner) is never used: the client says why and asks for the password instead.
The file holds the token alone, on one line; the client never prints it.

This is the client's edge to the file system for tokens; the login's logic (when to use,
keep or delete the token) is in cli/client/login.py.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

MAX_TOKEN_CHARS = 512  # far above what a server gives (Parley's: 43); a longer file is junk
_UNSAFE_IN_NAMES = re.compile(r"[^A-Za-z0-9.-]")  # an IPv6 host's colons, say


class Keeper(Protocol):
    """What the login needs of where tokens are kept: TokenFiles, or a dict in tests."""

    wanted: bool  # --remember: ask for a token at a password login

    def load(self, user: str) -> str | None: ...  # UnsafeTokenFile: not to be used

    def save(self, user: str, token: str) -> None: ...  # OSError: could not be kept

    def forget(self, user: str) -> None: ...

    def path(self, user: str) -> Path: ...


class UnsafeTokenFile(Exception):
    """A token file that must not be used; the text says why and what to do, for the user."""


def tokens_dir(env: Mapping[str, str], home: Path) -> Path:
    """$XDG_STATE_HOME/parley/tokens, by default ~/.local/state/parley/tokens (the XDG base
    directory rules: state is what should survive a restart but is no user data)."""
    state = env.get("XDG_STATE_HOME", "")
    base = Path(state) if state and Path(state).is_absolute() else home / ".local" / "state"
    return base / "parley" / "tokens"


class TokenFiles:
    """The remembered logins for one server (`host`, `port`), a file per user. `wanted`:
    the user asked (`--remember`) for a token at the next password login."""

    def __init__(
        self, host: str, port: int, *, wanted: bool, env: Mapping[str, str] = os.environ,
        home: Path | None = None,
    ) -> None:  # fmt: skip
        self.wanted = wanted
        self._dir = tokens_dir(env, home if home is not None else Path.home())
        self._server = f"{_UNSAFE_IN_NAMES.sub('_', host)}_{port}"

    def path(self, user: str) -> Path:
        return self._dir / f"{self._server}_{user}"  # a username is safe in a file name

    def load(self, user: str) -> str | None:
        """The token kept for `user`, or None. UnsafeTokenFile when the file must not be
        used (readable by others, not the user's own, not a regular file)."""
        path = self.path(user)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            return None
        except OSError as exc:  # a symbolic link (ELOOP), no permission...
            raise UnsafeTokenFile(f"{path} cannot be used ({exc.strerror}); delete it.") from exc
        with os.fdopen(fd, "rb") as file:
            _check_private(path, os.fstat(file.fileno()))
            text = file.read(MAX_TOKEN_CHARS + 2).decode("ascii", "replace").strip()
        if not text or len(text) > MAX_TOKEN_CHARS or not text.isprintable():
            raise UnsafeTokenFile(f"{path} does not hold a token; delete it.")
        return text

    def save(self, user: str, token: str) -> None:
        """Keep `token` for `user`: a new private file renamed over any old one. OSError when
        it cannot be kept (the caller says so: the login works, only not remembered)."""
        path = self.path(user)
        _private_dirs(path.parent)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as file:
                file.write(token + "\n")
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def forget(self, user: str) -> None:
        """Delete `user`'s token file, if any (a failure to is not worth a word: the token in
        it no longer works, or the server revokes it)."""
        try:
            self.path(user).unlink(missing_ok=True)
        except OSError:
            pass


def _check_private(path: Path, status: os.stat_result) -> None:
    if not stat.S_ISREG(status.st_mode):
        raise UnsafeTokenFile(f"{path} is not a regular file; delete it.")
    if status.st_uid != os.getuid():
        raise UnsafeTokenFile(f"{path} belongs to another user, so it is not used; delete it.")
    mode = stat.S_IMODE(status.st_mode)
    if mode & 0o077:
        raise UnsafeTokenFile(
            f"{path} can be read by other users (mode {mode:04o}), so its login is not used: "
            f"delete it, or make it private (chmod 600) if nobody else could have read it."
        )


def _private_dirs(directory: Path) -> None:
    """`directory` and its parent `parley` made if missing, 0700 (mkdir's mode is masked by
    the umask, hence the chmod); one of ours that others may enter is closed to them."""
    for level in (directory.parent, directory):
        level.mkdir(mode=0o700, parents=True, exist_ok=True)
        status = level.stat()
        if status.st_uid == os.getuid() and stat.S_IMODE(status.st_mode) & 0o077:
            level.chmod(0o700)
