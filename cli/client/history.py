"""Where each user's chat prompt history is kept: one private file per user under the XDG
data directory, as prompt_toolkit's FileHistory reads and appends it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from prompt_toolkit.history import FileHistory, History, InMemoryHistory


def history_path(env: Mapping[str, str], home: Path, user: str) -> Path:
    """Where `user`'s input history lives: $XDG_DATA_HOME/parley/history-USER, by default
    ~/.local/share/parley/history-USER (the XDG base directory rules)."""
    data = env.get("XDG_DATA_HOME", "")
    base = Path(data) if data and Path(data).is_absolute() else home / ".local" / "share"
    return base / "parley" / f"history-{user}"


def open_history(user: str) -> History:
    """The user's history file, created private (0600, in a 0700 directory): it holds every
    line typed at the chat prompt. Where it cannot be kept, history lasts this run only."""
    path = history_path(os.environ, Path.home(), user)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600))
    except OSError:
        return InMemoryHistory()
    return FileHistory(path)
