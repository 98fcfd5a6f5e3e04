"""chat-client's Screen: lines in order, callbacks only once the lines are out, and a prompt
whose half-typed line survives lines arriving above it."""

from __future__ import annotations

import asyncio
import io

from prompt_toolkit import PromptSession
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output.plain_text import PlainTextOutput

from cli.client import render as r
from cli.client.screen import Screen


def test_lines_then_callbacks_in_order() -> None:
    async def scenario() -> tuple[str, list[str]]:
        stream = io.StringIO()
        with create_pipe_input() as pipe:
            session: PromptSession[str] = PromptSession(input=pipe, output=PlainTextOutput(stream))
            screen = Screen(session, colour=False)
            seen: list[str] = []
            screen.out(r.note("one"))
            screen.when_shown(lambda: seen.append(stream.getvalue()))
            screen.out(r.note("two"))
            assert seen == []  # nothing is acknowledged synchronously
            await screen.wait_shown()
            return stream.getvalue(), seen

    written, seen = asyncio.run(scenario())
    assert written == "one\ntwo\n"
    assert seen[0].startswith("one\n")  # the callback saw its line on the terminal


def test_half_typed_line_survives_arriving_lines() -> None:
    async def scenario() -> tuple[str, str]:
        stream = io.StringIO()
        with create_pipe_input() as pipe:
            session: PromptSession[str] = PromptSession(input=pipe, output=PlainTextOutput(stream))
            screen = Screen(session, colour=False)
            prompt = asyncio.create_task(session.prompt_async("me> "))
            pipe.send_text("message bob hal")
            while session.app.current_buffer.text != "message bob hal":
                await asyncio.sleep(0)  # yield to the prompt until it has read the keys
            screen.out(r.note("12:00 carol: interrupting you"))
            await screen.wait_shown()
            pipe.send_text("f done\r")
            return await asyncio.wait_for(prompt, 5), stream.getvalue()

    typed, written = asyncio.run(scenario())
    assert typed == "message bob half done"
    assert "12:00 carol: interrupting you\n" in written


def _screen_output(lines: list[r.Line], *, bells: int = 0, bell: bool = True) -> str:
    async def scenario() -> str:
        stream = io.StringIO()
        output = PlainTextOutput(stream)
        output.get_size = lambda: Size(rows=24, columns=40)  # type: ignore[method-assign]
        with create_pipe_input() as pipe:
            session: PromptSession[str] = PromptSession(input=pipe, output=output)
            screen = Screen(session, colour=False, bell=bell)
            for line in lines:
                screen.out(line)
            for _ in range(bells):
                screen.bell()
            await screen.wait_shown()
            return stream.getvalue()

    return asyncio.run(scenario())


def test_long_lines_break_at_spaces_to_the_terminal_width() -> None:
    text = "a message long enough to need three rows on a forty column screen"
    written = _screen_output([[("time", "12:00 "), ("", f"bob: {text}")]])
    assert written == (
        "12:00 bob: a message long enough to need\n"
        "      three rows on a forty column\n"
        "      screen\n"
    )


def test_the_bell_rings_once_per_batch_and_not_at_all_when_off() -> None:
    assert _screen_output([r.note("bob: hi")], bells=3) == "bob: hi\n\a"
    assert _screen_output([r.note("bob: hi")], bells=3, bell=False) == "bob: hi\n"
