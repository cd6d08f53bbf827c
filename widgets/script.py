"""Scripted takes: ``parley chat --script FILE`` plays a person at the keyboard.

:class:`ScriptRunner` is a Textual auto-pilot (``App.run(auto_pilot=...)``, or called
with the pilot of ``run_test``). For each line of the script it presses the line's
keys into the input box one by one (``type_delay`` seconds apart, so the typing is
visible), presses Enter, waits until that turn's ``turn_finished`` has arrived and
is on screen, then pauses ``pause`` seconds. At the end it can save an SVG screenshot
and quit the app.

It learns when a turn is over from :class:`TurnWatcher`, a pass-through
:class:`parley.app.backend.ChatBackend` that notes the turn ids ``say`` returns and the
items ``follow`` yields; the app itself is driven only through keys and its public
attributes (``prompt``, ``items_seen``, ``loaded``, ``quitting``).

Every wait is woken by what it waits for, never by a timer: the watcher's ``updated``
event (started, a line sent, an item through ``follow``) and the app's (items on
screen, quitting). A wait runs as an app worker, so the app closing (its workers
cancelled) ends it too. The screenshot is rendered on the UI loop (it reads the screen)
and written in the I/O thread pool; the file is complete before the runner goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path

from textual.pilot import Pilot
from textual.worker import WorkerCancelled, WorkerFailed

from parley.app.backend import ChatBackend
from parley.app.errors import ParleyError
from parley.app.protocol import items as it
from parley.app.protocol.shapes import AgentInfo, SessionHeader
from parley.app.view import Turns
from parley.widgets.app import ParleyApp
from parley.widgets.threads import in_thread

#: seconds a scripted turn may take before the script gives up
TURN_TIMEOUT = 120.0


def read_script(path: Path | str) -> list[str]:
    """The lines to type: every line of the file, without its line ending, except
    blank lines and lines whose first non-blank character is ``#`` (comments).
    Tabs become four spaces (Tab would move the focus). Raises ``OSError``."""
    text = Path(path).read_text(encoding="utf-8")
    lines = []
    for raw in text.splitlines():
        line = raw.replace("\t", "    ").rstrip()
        if line.strip() and not line.lstrip().startswith("#"):
            lines.append(line)
    return lines


class TurnWatcher:
    """Wraps a :class:`parley.app.backend.ChatBackend` and records what passes through it:
    ``turns`` (the ids ``say`` returned, or the exception it raised, in order),
    ``finished`` (turn id → its ``turn_finished`` item, from the view's
    :class:`parley.app.view.Turns`), ``items_seen`` and whether
    :meth:`start` completed (``start_done``, ``start_error``); ``updated`` is set
    whenever one of these changes. Every other attribute is the wrapped backend's."""

    def __init__(self, backend: ChatBackend) -> None:
        self.backend = backend
        self.is_replay = backend.is_replay
        self.turns: list[str | BaseException] = []
        self.session_turns = Turns()
        self.items_seen = 0
        self.start_done = False
        self.start_error: BaseException | None = None
        self.updated = asyncio.Event()

    @property
    def finished(self) -> dict[str, it.TurnFinished]:
        return self.session_turns.finished

    def __getattr__(self, name: str) -> object:
        """Any other attribute of the wrapped backend (an implementation's own, such as
        :class:`parley.app.backend.ItemsBackend`'s ``items``): ``object``, to be
        narrowed by the caller, as the protocol does not promise it."""
        return getattr(self.backend, name)

    @property
    def agent_log_path(self) -> Path | None:
        return self.backend.agent_log_path

    @property
    def event_log_path(self) -> Path | None:
        return self.backend.event_log_path

    @property
    def header(self) -> SessionHeader:
        return self.backend.header

    async def start(self) -> AgentInfo:
        try:
            info = await self.backend.start()
        except BaseException as e:
            self.start_error = e
            raise
        finally:
            self.start_done = True
            self.updated.set()
        return info

    async def follow(self) -> AsyncIterator[it.ChatItem]:
        async for item in self.backend.follow():
            self.items_seen += 1
            self.session_turns.fold(item)
            self.updated.set()
            yield item

    async def say(self, text: str) -> str:
        try:
            turn_id: str = await self.backend.say(text)
        except Exception as e:
            self.turns.append(e)
            self.updated.set()
            raise
        self.turns.append(turn_id)
        self.updated.set()
        return turn_id

    async def cancel(self) -> list[str]:
        return list(await self.backend.cancel())

    async def agent_info(self) -> AgentInfo:
        return await self.backend.agent_info()

    async def agent_alive(self) -> bool:
        return bool(await self.backend.agent_alive())

    async def restart(self) -> AgentInfo:
        return await self.backend.restart()

    async def close(self) -> None:
        await self.backend.close()


class ScriptAborted(ParleyError):
    """The script cannot go on (the message says why)."""


@dataclass
class ScriptRunner:
    """See the module docstring. After the run, ``error`` says why the script
    stopped early (``None`` when every line was sent and answered), ``statuses``
    holds each turn's ``turn_finished`` status and ``screenshot_path`` the SVG
    written."""

    lines: list[str]
    watcher: TurnWatcher
    type_delay: float = 0.04
    pause: float = 1.0
    exit_after: bool = False
    screenshot: Path | None = None
    start_timeout: float = 90.0
    turn_timeout: float = TURN_TIMEOUT
    error: str | None = None
    statuses: list[str] = field(default_factory=list)
    screenshot_path: str | None = None

    async def __call__(self, pilot: Pilot[object] | Pilot[None]) -> None:
        """Drive the app of ``pilot`` (Textual's ``auto_pilot`` passes a
        ``Pilot[object]``, a test's ``run_test`` a ``Pilot[None]``)."""
        app = pilot.app
        if not isinstance(app, ParleyApp):
            raise TypeError(f"a script drives parley's chat app, not {type(app).__name__}")
        try:
            await self._run(pilot, app)
        except ScriptAborted as e:
            self.error = str(e)
        except Exception as e:  # the app must still get its screenshot and quit
            self.error = f"the script failed: {type(e).__name__}: {e}"
        if not app.is_running:
            return
        if self.error:
            app.notify(f"Script stopped: {self.error}", severity="error", markup=False)
        elif not self.exit_after:
            app.notify(f"Script done: {len(self.statuses)} turns.", markup=False)
        if self.screenshot is not None:
            await pilot.pause()
            path = self.screenshot.resolve()
            svg = app.export_screenshot()  # on the loop: it reads the screen
            await in_thread(write_svg, path, svg)
            self.screenshot_path = str(path)
        if self.exit_after:
            await app.action_quit()

    async def _wait(
        self, app: ParleyApp, ready: Callable[[], object], timeout: float, what: str
    ) -> None:
        """Until ``ready()``: rechecked each time the watcher or the app is updated.
        Raises :class:`ScriptAborted` after ``timeout`` seconds, or when the app quits
        or closes meanwhile."""
        w = self.watcher

        async def until_ready() -> None:
            while True:
                w.updated.clear()
                app.updated.clear()
                if ready() or app.quitting:
                    return
                await _first_of(w.updated.wait(), app.updated.wait())

        if not app.is_running:
            raise ScriptAborted("the app was closed")
        waiter = app.run_worker(until_ready(), group="script-wait", exit_on_error=False)
        try:
            await asyncio.wait_for(waiter.wait(), timeout)
        except asyncio.TimeoutError:
            raise ScriptAborted(f"{what} took more than {timeout:g} s") from None
        except WorkerCancelled:  # the app closed: its workers are cancelled
            raise ScriptAborted("the app was closed") from None
        except WorkerFailed as e:  # ready() raised
            raise e.error from None
        if not ready():  # the app quits
            raise ScriptAborted("the app was closed")

    async def _run(self, pilot: Pilot[object] | Pilot[None], app: ParleyApp) -> None:
        w = self.watcher
        await self._wait(app, lambda: w.start_done, self.start_timeout, "starting the agent")
        if w.start_error is not None:
            raise ScriptAborted(f"the agent did not start: {w.start_error}")
        with contextlib.suppress(ScriptAborted):  # a session with no items yet never loads
            await self._wait(app, app.loaded.is_set, 5, "loading the session")
        for n, line in enumerate(self.lines):
            app.prompt.focus()
            for ch in line:
                await pilot.press(ch)
                if self.type_delay > 0:
                    await asyncio.sleep(self.type_delay)
            sent = len(w.turns)
            await pilot.press("enter")

            def was_sent(s: int = sent) -> bool:
                return len(w.turns) > s

            await self._wait(app, was_sent, 30, f"sending line {n + 1}")
            turn = w.turns[sent]
            if isinstance(turn, BaseException):
                raise ScriptAborted(f"line {n + 1} was not sent: {turn}")

            def finished(t: str = turn) -> bool:
                return t in w.finished

            await self._wait(app, finished, self.turn_timeout, f"turn {turn}")
            await self._wait(app, lambda: app.items_seen >= w.items_seen, 10, "showing the turn")
            await pilot.pause()
            self.statuses.append(w.finished[turn].status)
            if self.pause > 0 and n < len(self.lines) - 1:
                await asyncio.sleep(self.pause)


def write_svg(path: Path, svg: str) -> None:
    """Write the screenshot ``svg`` to ``path`` (UTF-8). Blocking: run it in the I/O
    pool. Raises ``OSError``."""
    path.write_text(svg, encoding="utf-8")


async def _first_of(*waits: Coroutine[object, object, object]) -> None:
    """Until the first of ``waits`` is done; the others are cancelled."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
