"""Helpers for the chat UI tests (no tests here): polling, sending, reading the
transcript's entries, and a demo-agent daemon shared by a module."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO, ROOT, Parley
from textual.content import Content
from textual.dom import DOMNode
from textual.widgets import Static

from parley.app.agent.launcher import AgentSpec
from parley.app.backend import DaemonBackend, ItemsBackend
from parley.widgets.app import ParleyApp, make_app
from parley.widgets.transcript import Entry, ItemEntry, Notice

RECORDING = ROOT / "testdata" / "recordings" / "demo-session.jsonl"
SIZE = (120, 40)


async def wait_until(
    pilot: Any, predicate: Callable[[], Any], timeout: float = 20.0, what: str = ""
) -> Any:
    """Poll ``predicate`` (letting the app run between polls) until it is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or predicate}")
        await pilot.pause(0.05)


async def send(pilot: Any, text: str) -> None:
    """Put ``text`` in the input box and press Enter."""
    app: ParleyApp = pilot.app
    app.prompt.focus()
    app.prompt.insert(text)
    await pilot.press("enter")


def shown(node: DOMNode, selector: str) -> Content:
    """What the :class:`Static` matching ``selector`` under ``node`` shows (its content,
    styled spans included)."""
    visual = node.query_one(selector, Static).visual
    assert isinstance(visual, Content), visual
    return visual


def rows(app: ParleyApp, kind: str | None = None) -> list[ItemEntry]:
    """The transcript's shown entries of chat items (not notices), of block ``kind``
    (``"tool"``, ``"agent"``…) if given."""
    return [
        e for e in app.transcript.shown
        if isinstance(e, ItemEntry) and (kind is None or e.kind == kind)
    ]  # fmt: skip


def notices(app: ParleyApp, variant: str | None = None) -> list[Notice]:
    """The transcript's notices (with the class ``variant``, e.g. ``"queued"``)."""
    return [
        e for e in app.transcript.entries
        if isinstance(e, Notice) and (variant is None or variant in e.classes)
    ]  # fmt: skip


def drawn_with(app: ParleyApp, entry: Entry, variant: str) -> bool:
    """Whether the transcript draws ``entry`` with the component class
    ``transcript--{variant}`` (its bar and colours, e.g. ``tool-done``, ``late``)."""
    return f"transcript--{variant}" in app.transcript.classes_of(entry)


async def click_entry(pilot: Any, entry: Entry) -> None:
    """Scroll the transcript to ``entry`` and click its first line."""
    transcript = pilot.app.transcript
    transcript.scroll_to_entry(entry)
    await pilot.pause()
    region = transcript.entry_region(entry)
    assert region is not None, "not laid out"
    y = region.y - round(transcript.scroll_y) + transcript.gutter.top
    await pilot.click(transcript, offset=(transcript.gutter.left + 4, y))


def after_user(app: ParleyApp, text: str) -> list[ItemEntry]:
    """The entries after the last user message ``text`` (the turn's, and later)."""
    all_rows = rows(app)
    for i in range(len(all_rows) - 1, -1, -1):
        item = all_rows[i].item
        if item is not None and getattr(item, "text", None) == text and item.type == "user_message":
            return all_rows[i + 1 :]
    return []


def demo_spec() -> AgentSpec:
    return AgentSpec.resolve(str(DEMO), ROOT)


def recorded_app(**kwargs: Any) -> ParleyApp:
    """The app on the recorded demo session, spinners and cursor frozen."""
    return make_app(ItemsBackend.from_log(RECORDING, agent_log=None), frozen=True, **kwargs)


async def started(pilot: Any, timeout: float = 60.0) -> ParleyApp:
    """Wait until the app's backend started and its first items are on screen."""
    app: ParleyApp = pilot.app
    await wait_until(pilot, lambda: app.started and app.loaded.is_set(), timeout, "app started")
    return app


@pytest.fixture(scope="module")
def module_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A PARLEY_HOME of the module's own (set in this process, for the daemons it
    starts and the backends that find them)."""
    home = tmp_path_factory.mktemp("parley-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PARLEY_HOME", str(home))
        mp.setenv("NO_COLOR", "1")
        mp.delenv("PARLEY_SESSION", raising=False)
        yield home


@pytest.fixture(scope="module")
def demo_daemon(module_home: Path) -> Iterator[Parley]:
    """One daemon running the demo agent for the whole module; stopped at the end."""
    p = Parley(module_home)
    p("start", str(DEMO), check=True)
    try:
        yield p
    finally:
        p.stop_quietly()


def attached_app(**kwargs: Any) -> tuple[ParleyApp, DaemonBackend]:
    """The app on a backend for the demo agent (it attaches to a running daemon)."""
    backend = DaemonBackend(demo_spec())
    return make_app(backend, **kwargs), backend
