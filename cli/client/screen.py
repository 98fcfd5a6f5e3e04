"""Where lines appear: above the prompt, in order, without disturbing what is being typed.

All lines are written by the asyncio loop's thread, in batches: while the prompt runs, through
prompt_toolkit's `run_in_terminal` (erase the prompt, write, redraw it with the typed text
intact); otherwise straight to the terminal. `when_shown()` runs a callback once every line
so far is really on the terminal. chat/1 deletes a message when the client acks it, so the
ack waits for that moment, not for a buffer somewhere between us and the screen.

Lines are broken at spaces to the terminal's width when they are printed (`render.wrap`),
so a long message never splits a word. `bell()` rings the terminal bell once with the next
batch, however many things asked for it; `Screen(bell=False)` (`--no-bell`) keeps it quiet.

This does the job patch_stdout does, but knows when the text is out; patch_stdout still
guards against stray prints (warnings, tracebacks) while the prompt runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from prompt_toolkit import PromptSession
from prompt_toolkit.application import run_in_terminal
from prompt_toolkit.application.current import set_app

from cli.client import layout
from cli.client import render as r

BELL = "\a"


class Screen:
    def __init__(self, session: PromptSession[str], colour: bool, *, bell: bool = True) -> None:
        self._session = session
        self._colour = colour
        self._bell_enabled = bell
        self._waiting: list[str] = []  # rendered rows not yet written
        self._after: list[Callable[[], None]] = []  # callbacks due once those are written
        self._ring = False  # a bell is due with the next batch
        self._writer: asyncio.Task[None] | None = None

    def out(self, line: r.Line) -> None:
        width = self._session.output.get_size().columns
        self._waiting.extend(r.to_ansi(row, self._colour) for row in layout.wrap(line, width))
        self._wake()

    def bell(self) -> None:
        if self._bell_enabled:
            self._ring = True
            self._wake()

    def when_shown(self, callback: Callable[[], None]) -> None:
        """Run `callback` once every line printed so far is on the terminal."""
        self._after.append(callback)
        self._wake()

    async def wait_shown(self) -> None:
        while self._writer is not None and not self._writer.done():
            await self._writer

    def _wake(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all())

    async def _write_all(self) -> None:
        while self._waiting or self._after or self._ring:
            text = "".join(line + "\n" for line in self._waiting) + (BELL if self._ring else "")
            callbacks = self._after
            self._waiting, self._after, self._ring = [], [], False
            if text:
                await self._write(text)
            for callback in callbacks:
                callback()

    async def _write(self, text: str) -> None:
        app = self._session.app
        if app.is_running:
            with set_app(app):  # run_in_terminal finds the prompt through this context
                await run_in_terminal(lambda: self._write_now(text))
        else:
            self._write_now(text)

    def _write_now(self, text: str) -> None:
        output = self._session.output
        output.enable_autowrap()
        output.write_raw(text)
        output.flush()
