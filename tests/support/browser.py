"""Debian's Chromium for the browser tests, found where apt puts it, never downloaded."""

from __future__ import annotations

import importlib.util
from pathlib import Path

CHROMIUM_PATHS = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
# What a headless Chromium in a container needs (root: no sandbox), and nothing that phones
# home or spends the two cores on background work.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]  # fmt: skip


def chromium_path() -> str | None:
    for path in CHROMIUM_PATHS:
        if Path(path).is_file():
            return path
    return None


def why_no_browser() -> str | None:
    """Why the browser tests cannot run here, in one line, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (scripts/bootstrap installs it)"
    if chromium_path() is None:
        return (
            f"no Chromium at {' or '.join(CHROMIUM_PATHS)} (scripts/test installs it with "
            "apt-get when run as root)"
        )
    return None
